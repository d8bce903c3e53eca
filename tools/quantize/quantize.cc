#include "quantize.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/value.h"
#include "gguf/writer.h"
#include "quant/mix.h"
#include "quant/quant.h"
#include "util/error.h"

namespace dllm {
namespace {

constexpr const char* kArch = "diffusion-gemma";
// Bound on the f32 working set of one conversion chunk (the largest real tensor, the BF16 expert
// bank of one layer, is ~1 GB; it is converted in pieces of about this size).
constexpr uint64_t kChunkBytes = uint64_t{64} << 20;

bool IsFloat(GgmlType t) {
  return t == GgmlType::kF32 || t == GgmlType::kF16 || t == GgmlType::kBF16;
}

std::string OsError(int err) { return std::system_category().message(err); }

// The converted tensor data, written to an unlinked temporary file next to the output and then
// mapped read-only, so a 25 B-parameter conversion needs neither the output nor a second copy in
// memory; the gguf::Writer then streams from the mapping into the final file.
class Scratch {
 public:
  explicit Scratch(const std::string& output) {
    std::string tmpl = output + ".data.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    fd_ = ::mkstemp(buf.data());
    if (fd_ < 0) {
      Throw(ErrorCode::kIo, "cannot create a scratch file next to '" + output + "': " +
                                OsError(errno));
    }
    ::unlink(buf.data());  // anonymous from now on: gone when closed, even after a crash
  }
  ~Scratch() {
    if (map_ != nullptr) ::munmap(map_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // Appends bytes; returns their offset.
  uint64_t Append(const uint8_t* data, uint64_t n) {
    const uint64_t at = size_;
    while (n > 0) {
      const ssize_t w = ::write(fd_, data, static_cast<size_t>(std::min<uint64_t>(n, 1u << 30)));
      if (w < 0) {
        if (errno == EINTR) continue;
        Throw(ErrorCode::kIo, "writing the scratch file failed: " + OsError(errno));
      }
      data += w;
      n -= static_cast<uint64_t>(w);
      size_ += static_cast<uint64_t>(w);
    }
    return at;
  }

  // Maps everything written so far; pointers are valid until destruction.
  const uint8_t* Map() {
    if (size_ == 0) return nullptr;
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) Throw(ErrorCode::kIo, "mapping the scratch file failed: " + OsError(errno));
    map_ = p;
    return static_cast<const uint8_t*>(p);
  }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  void* map_ = nullptr;
};

// Converts the rows of `t` (F32/F16/BF16) to `type`, appending the bytes to `scratch`.
uint64_t Convert(const gguf::TensorInfo& t, GgmlType type, Scratch& scratch) {
  const GgmlType src_type = static_cast<GgmlType>(t.type_id);
  const int64_t row_len = static_cast<int64_t>(t.dims[0]);
  const int64_t rows = static_cast<int64_t>(t.n_elements / t.dims[0]);
  const size_t src_row = quant::RowBytes(src_type, row_len);
  const size_t dst_row = quant::RowBytes(type, row_len);
  const int64_t chunk_rows = std::max<int64_t>(
      1, static_cast<int64_t>(kChunkBytes / (static_cast<uint64_t>(row_len) * sizeof(float))));
  std::vector<uint8_t> out(static_cast<size_t>(std::min(chunk_rows, rows)) * dst_row);
  uint64_t first = 0;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, rows - r0);
    // Rows are independent and each is quantized by the scalar reference code, so the result
    // does not depend on the thread count. No exception can escape: the types and row length
    // were validated (row_len is a whole number of blocks of both types).
#pragma omp parallel
    {
      std::vector<float> f(static_cast<size_t>(row_len));
#pragma omp for schedule(static)
      for (int64_t r = 0; r < n; ++r) {
        quant::DequantizeRow(src_type, t.data + static_cast<uint64_t>(r0 + r) * src_row, f.data(),
                             row_len);
        quant::QuantizeRow(type, f.data(), out.data() + static_cast<size_t>(r) * dst_row, row_len);
      }
    }
    const uint64_t at = scratch.Append(out.data(), static_cast<uint64_t>(n) * dst_row);
    if (r0 == 0) first = at;
  }
  return first;
}

}  // namespace

QuantizeReport QuantizeModelFile(const std::string& input, const std::string& output,
                                 const std::string& target_name, const QuantizeOptions& options) {
  quant::MixTarget target;
  if (!quant::ParseMixTarget(target_name, &target)) {
    std::string names;
    for (const std::string& n : quant::MixTargetNames()) names += (names.empty() ? "" : ", ") + n;
    Throw(ErrorCode::kInvalidArgument,
          "unknown quantization type '" + target_name + "' (valid: " + names + ")");
  }
  std::unique_ptr<gguf::File> in = gguf::File::Open(input, /*use_mmap=*/true);
  const std::string arch = in->GetString("general.architecture");
  if (arch != kArch) {
    Throw(ErrorCode::kUnsupported, "'" + input + "' has architecture '" + arch +
                                       "'; dllm-quantize converts '" + kArch + "' files");
  }
  const int n_layer = static_cast<int>(in->GetU32(std::string(kArch) + ".block_count"));

  std::vector<std::pair<std::string, std::vector<uint64_t>>> shapes;
  for (const gguf::TensorInfo& t : in->tensors()) shapes.emplace_back(t.name, t.dims);
  const std::vector<quant::TypeChoice> plan = quant::PlanTypes(target, shapes, n_layer);

  // Check every tensor before writing anything.
  for (size_t i = 0; i < plan.size(); ++i) {
    const gguf::TensorInfo& t = in->tensors()[i];
    const GgmlType src = static_cast<GgmlType>(t.type_id);
    if (plan[i].quantize && src != plan[i].type && !IsFloat(src)) {
      Throw(ErrorCode::kUnsupported,
            "tensor '" + t.name + "' is already quantized (" + GgmlTypeName(t.type_id) +
                ") and would need requantizing to " + GgmlTypeName(plan[i].type) +
                ", which dllm-quantize does not do: start from an F32, F16 or BF16 file");
    }
  }

  QuantizeReport report;
  report.target = target.name;
  report.file_type = target.file_type;
  report.input_bytes = in->file_size();

  // Convert into the scratch file; remember where each converted tensor's bytes are.
  Scratch scratch(output);
  std::vector<int64_t> scratch_offset(plan.size(), -1);
  bool any_block_quantized = false;
  for (size_t i = 0; i < plan.size(); ++i) {
    const gguf::TensorInfo& t = in->tensors()[i];
    const GgmlType src = static_cast<GgmlType>(t.type_id);
    const GgmlType dst = plan[i].quantize ? plan[i].type : src;
    if (plan[i].quantize) {
      ++report.quantized;
      if (plan[i].fallback()) {
        report.fallbacks.push_back(t.name + ": " + GgmlTypeName(plan[i].preferred) + " -> " +
                                   GgmlTypeName(plan[i].type) + " (row of " +
                                   std::to_string(t.dims[0]) + " values)");
      }
    } else {
      ++report.copied;
    }
    if (dst != src) scratch_offset[i] = static_cast<int64_t>(Convert(t, dst, scratch));
    any_block_quantized |= !IsFloat(dst);
    uint64_t bytes = 0;
    GgmlRowBytes(static_cast<uint32_t>(dst), t.dims[0], &bytes);
    bytes *= t.n_elements / t.dims[0];
    QuantizeReport::PerType& pt = report.by_type[GgmlTypeName(dst)];
    pt.tensors++;
    pt.bytes += bytes;
    if (options.progress) options.progress(i + 1, plan.size(), t.name);
  }
  const uint8_t* converted = scratch.Map();

  gguf::Writer w(in->version());
  bool has_file_type = false, has_qnt_version = false;
  for (const auto& [key, value] : in->metadata()) {
    if (key == "general.file_type") {
      w.AddMetadata(key, gguf::Value::U32(target.file_type));
      has_file_type = true;
    } else if (key == "general.quantization_version" && any_block_quantized) {
      w.AddMetadata(key, gguf::Value::U32(2));
      has_qnt_version = true;
    } else {
      w.AddMetadata(key, value);
    }
  }
  if (!has_file_type) w.AddMetadata("general.file_type", gguf::Value::U32(target.file_type));
  if (any_block_quantized && !has_qnt_version) {
    w.AddMetadata("general.quantization_version", gguf::Value::U32(2));
  }
  for (size_t i = 0; i < plan.size(); ++i) {
    const gguf::TensorInfo& t = in->tensors()[i];
    if (scratch_offset[i] < 0) {
      w.AddTensorView(t.name, t.type_id, t.dims, t.data, static_cast<size_t>(t.n_bytes));
    } else {
      const uint32_t type = static_cast<uint32_t>(plan[i].type);
      uint64_t bytes = 0;
      GgmlRowBytes(type, t.dims[0], &bytes);
      bytes *= t.n_elements / t.dims[0];
      w.AddTensorView(t.name, type, t.dims, converted + scratch_offset[i],
                      static_cast<size_t>(bytes));
    }
  }
  w.WriteToFile(output);
  report.output_bytes = w.FileSize();
  return report;
}

}  // namespace dllm
