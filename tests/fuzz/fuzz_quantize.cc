// Fuzz target: dllm-quantize (QuantizeModelFile) on a hostile input file. The first byte picks
// the target (quant::MixTargetNames, modulo their count), the rest is the GGUF file. What must
// hold:
//   - the call either succeeds or throws dllm::Error, and after an error nothing is left at the
//     output path;
//   - a written file parses again, holds the input's tensors in the input's order with the same
//     names and shapes, tensors whose type did not change byte for byte, and changed types only
//     from F32 / F16 / BF16 (the tool never requantizes);
//   - every converted block whose source values are finite with a largest magnitude in
//     [kCheckMin, kCheckMax] decodes to finite values within the type's bound of them (MaxError:
//     a fraction of the block's largest magnitude, loose enough for any of the reference's
//     rounding and scale searches, tight enough to catch a misplaced or garbled block; F32 from
//     F16 / BF16 exactly);
//   - when the input loads as a model, the output loads too.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fuzz_util.h"
#include "gguf/gguf.h"
#include "gguf/types.h"
#include "model/model.h"
#include "quant/mix.h"
#include "quant/quant.h"
#include "quantize.h"
#include "util/error.h"

namespace {

constexpr float kCheckMin = 1e-2f, kCheckMax = 1e4f;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_quantize: %s\n", what.c_str());
  std::abort();
}

// The largest |decoded − source| allowed, as a fraction of the block's largest |source|.
double MaxError(dllm::GgmlType t) {
  using dllm::GgmlType;
  switch (t) {
    case GgmlType::kF32: return 0;  // from F16 / BF16: exact
    case GgmlType::kF16:
    case GgmlType::kBF16: return 1.0 / 128;
    case GgmlType::kQ8_0: return 1.0 / 32;
    case GgmlType::kQ6_K: return 1.0 / 8;
    case GgmlType::kQ5_0:
    case GgmlType::kQ5_1:
    case GgmlType::kQ5_K: return 1.0 / 4;
    case GgmlType::kQ4_0:
    case GgmlType::kQ4_1:
    case GgmlType::kQ4_K: return 1.0 / 2;
    default: return 1.0;  // Q2_K, Q3_K
  }
}

// A scratch directory for this process's input and output files, removed at exit.
const std::filesystem::path& ScratchDir() {
  static const std::filesystem::path dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr && *base != 0 ? base : "/tmp") +
                       "/dllm-fuzz-quantize-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Fail("cannot create a scratch directory");
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(ScratchDir(), ec);
    });
    return std::filesystem::path(tmpl);
  }();
  return dir;
}

bool LoadsAsModel(std::unique_ptr<dllm::gguf::File> file) {
  try {
    dllm::Model::FromFile(std::move(file));
    return true;
  } catch (const dllm::Error&) {
    return false;
  }
}

// Checks the converted tensor `out` against its source `in` (see the file comment).
void CheckConverted(const dllm::gguf::TensorInfo& in, const dllm::gguf::TensorInfo& out) {
  using dllm::GgmlType;
  const auto src_type = static_cast<GgmlType>(in.type_id);
  const auto dst_type = static_cast<GgmlType>(out.type_id);
  if (src_type != GgmlType::kF32 && src_type != GgmlType::kF16 && src_type != GgmlType::kBF16) {
    Fail("tensor '" + in.name + "' was requantized from " + dllm::GgmlTypeName(in.type_id));
  }
  const int64_t row = static_cast<int64_t>(in.dims[0]);
  const int64_t rows = static_cast<int64_t>(in.n_elements / in.dims[0]);
  const size_t in_row_bytes = dllm::quant::RowBytes(src_type, row);
  const size_t out_row_bytes = dllm::quant::RowBytes(dst_type, row);
  if (out_row_bytes * static_cast<uint64_t>(rows) != out.n_bytes) {
    Fail("tensor '" + out.name + "': " + std::to_string(out.n_bytes) + " bytes for " +
         std::to_string(rows) + " rows of " + std::to_string(out_row_bytes));
  }
  const int64_t block = dllm::FindGgmlType(out.type_id)->block_size;
  const double bound = MaxError(dst_type);
  std::vector<float> x(static_cast<size_t>(row)), y(static_cast<size_t>(row));
  for (int64_t r = 0; r < rows; ++r) {
    dllm::quant::DequantizeRow(src_type, in.data + r * in_row_bytes, x.data(), row);
    dllm::quant::DequantizeRow(dst_type, out.data + r * out_row_bytes, y.data(), row);
    for (int64_t b0 = 0; b0 < row; b0 += block) {
      float amax = 0;
      bool finite = true;
      for (int64_t i = b0; i < b0 + block; ++i) {
        finite = finite && std::isfinite(x[i]);
        amax = std::max(amax, std::fabs(x[i]));
      }
      if (!finite || amax < kCheckMin || amax > kCheckMax) continue;
      for (int64_t i = b0; i < b0 + block; ++i) {
        if (!std::isfinite(y[i]) || std::fabs(double{y[i]} - x[i]) > bound * amax) {
          Fail("tensor '" + out.name + "' (" + dllm::GgmlTypeName(out.type_id) + "), row " +
               std::to_string(r) + ", value " + std::to_string(i) + ": " + std::to_string(x[i]) +
               " became " + std::to_string(y[i]) + " (block's largest magnitude " +
               std::to_string(amax) + ")");
        }
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const std::vector<std::string> targets = dllm::quant::MixTargetNames();
  const std::string& target = targets[data[0] % targets.size()];
  const std::string in_path = (ScratchDir() / "in.gguf").string();
  const std::string out_path = (ScratchDir() / "out.gguf").string();
  {
    std::FILE* f = std::fopen(in_path.c_str(), "wb");
    if (f == nullptr || std::fwrite(data + 1, 1, size - 1, f) != size - 1 || std::fclose(f) != 0) {
      Fail("cannot write " + in_path);
    }
  }
  std::error_code ec;
  std::filesystem::remove(out_path, ec);

  try {
    dllm::QuantizeModelFile(in_path, out_path, target);
  } catch (const dllm::Error& e) {
    if (dllm::fuzz::Verbose()) std::fprintf(stderr, "%s: %s\n", target.c_str(), e.what());
    if (std::filesystem::exists(out_path)) Fail("an error left a file at the output path");
    return 0;
  }

  auto in = dllm::gguf::File::Open(in_path, false);
  std::unique_ptr<dllm::gguf::File> out;
  try {
    out = dllm::gguf::File::Open(out_path, false);
  } catch (const dllm::Error& e) {
    Fail(std::string("the written file does not parse: ") + e.what());
  }
  if (out->tensors().size() != in->tensors().size()) Fail("tensor count changed");
  int converted = 0;
  for (size_t t = 0; t < in->tensors().size(); ++t) {
    const dllm::gguf::TensorInfo& a = in->tensors()[t];
    const dllm::gguf::TensorInfo& b = out->tensors()[t];
    if (a.name != b.name || a.dims != b.dims) Fail("tensor '" + a.name + "' renamed or reshaped");
    if (a.type_id == b.type_id) {
      if (a.n_bytes != b.n_bytes || std::memcmp(a.data, b.data, a.n_bytes) != 0) {
        Fail("tensor '" + a.name + "' kept its type but not its bytes");
      }
    } else {
      CheckConverted(a, b);
      ++converted;
    }
  }
  const size_t tensors = in->tensors().size();
  if (LoadsAsModel(std::move(in)) && !LoadsAsModel(std::move(out))) {
    Fail("the input loads as a model, the " + target + " output does not");
  }
  if (dllm::fuzz::Verbose()) {
    std::fprintf(stderr, "%s: %d of %zu tensors converted\n", target.c_str(), converted, tensors);
  }
  return 0;
}
