// The reference vectors of /work/shared/testdata (see its README.md): quant-vectors.gguf (12 types,
// dequantization; rows 0-1 of the 7 simple types also quantization) and kquant-vectors.gguf (the 5
// K-quants, rows made by ggml's reference C quantizer). Everything must match bit for bit.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <ios>
#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/types.h"
#include "quant/fp16.h"
#include "quant/quant.h"

using dllm::GgmlType;
using dllm::gguf::File;
using dllm::gguf::TensorInfo;

namespace {

constexpr int64_t kRowLen = 512;
constexpr int kRows = 4;

std::string Fixture(const std::string& name) {
  return std::string(DLLM_SHARED_TESTDATA_DIR) + "/" + name;
}

struct TypeCase {
  const char* name;
  GgmlType type;
};

constexpr TypeCase kSimpleTypes[] = {
    {"F16", GgmlType::kF16},   {"BF16", GgmlType::kBF16}, {"Q4_0", GgmlType::kQ4_0},
    {"Q4_1", GgmlType::kQ4_1}, {"Q5_0", GgmlType::kQ5_0}, {"Q5_1", GgmlType::kQ5_1},
    {"Q8_0", GgmlType::kQ8_0},
};

constexpr TypeCase kKTypes[] = {
    {"Q2_K", GgmlType::kQ2_K}, {"Q3_K", GgmlType::kQ3_K}, {"Q4_K", GgmlType::kQ4_K},
    {"Q5_K", GgmlType::kQ5_K}, {"Q6_K", GgmlType::kQ6_K},
};

// The reference's relative RMS error per row of kquant-vectors.gguf (README), for comparison.
constexpr double kReferenceRelRms[5][4] = {
    {0.30, 0.29, 0.23, 0.19},     {0.15, 0.15, 0.13, 0.06},     {0.071, 0.071, 0.057, 0.063},
    {0.034, 0.035, 0.027, 0.039}, {0.018, 0.018, 0.013, 0.030},
};

const TensorInfo& Tensor(const File& f, const std::string& name, uint32_t type_id) {
  const TensorInfo* t = f.FindTensor(name);
  REQUIRE_MESSAGE(t != nullptr, "missing tensor " << name);
  REQUIRE(t->type_id == type_id);
  REQUIRE(t->dims.size() == 2);
  REQUIRE(t->dims[0] == static_cast<uint64_t>(kRowLen));
  REQUIRE(t->dims[1] == static_cast<uint64_t>(kRows));
  return *t;
}

std::vector<float> F32Data(const TensorInfo& t) {
  std::vector<float> v(static_cast<size_t>(kRowLen * kRows));
  REQUIRE(t.n_bytes == v.size() * sizeof(float));
  std::memcpy(v.data(), t.data, t.n_bytes);
  return v;
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

// Dequantizes all rows of `T.raw` and counts values whose bit pattern differs from `T.expected`.
int DequantMismatches(const File& f, const TypeCase& tc) {
  const std::string name = tc.name;
  const TensorInfo& raw = Tensor(f, name + ".raw", static_cast<uint32_t>(tc.type));
  const std::vector<float> expected = F32Data(Tensor(f, name + ".expected", 0));
  const size_t row_bytes = dllm::quant::RowBytes(tc.type, kRowLen);
  REQUIRE(raw.n_bytes == row_bytes * kRows);
  int mismatches = 0;
  std::vector<float> out(static_cast<size_t>(kRowLen));
  for (int r = 0; r < kRows; ++r) {
    dllm::quant::DequantizeRow(tc.type, raw.data + r * row_bytes, out.data(), kRowLen);
    for (int64_t c = 0; c < kRowLen; ++c) {
      const float want = expected[static_cast<size_t>(r * kRowLen + c)];
      if (Bits(out[static_cast<size_t>(c)]) != Bits(want)) {
        if (mismatches < 5) {
          MESSAGE(name << " row " << r << " col " << c << ": got " << out[static_cast<size_t>(c)]
                       << " (0x" << std::hex << Bits(out[static_cast<size_t>(c)]) << "), want "
                       << want << " (0x" << Bits(want) << std::dec << ")");
        }
        ++mismatches;
      }
    }
  }
  return mismatches;
}

// Quantizes rows [0, rows) of `T.source` and counts rows whose bytes differ from `T.raw`.
int QuantMismatchRows(const File& f, const TypeCase& tc, int rows) {
  const std::string name = tc.name;
  const TensorInfo& raw = Tensor(f, name + ".raw", static_cast<uint32_t>(tc.type));
  const std::vector<float> source = F32Data(Tensor(f, name + ".source", 0));
  const size_t row_bytes = dllm::quant::RowBytes(tc.type, kRowLen);
  int bad_rows = 0;
  std::vector<uint8_t> out(row_bytes);
  for (int r = 0; r < rows; ++r) {
    dllm::quant::QuantizeRow(tc.type, source.data() + r * kRowLen, out.data(), kRowLen);
    const uint8_t* want = raw.data + r * row_bytes;
    int diff_bytes = 0;
    size_t first = row_bytes;
    for (size_t i = 0; i < row_bytes; ++i) {
      if (out[i] != want[i]) {
        if (first == row_bytes) first = i;
        ++diff_bytes;
      }
    }
    if (diff_bytes != 0) {
      MESSAGE(name << " row " << r << ": " << diff_bytes << " of " << row_bytes
                   << " bytes differ, first at byte " << first << " (got "
                   << static_cast<int>(out[first]) << ", want " << static_cast<int>(want[first])
                   << ")");
      ++bad_rows;
    }
  }
  return bad_rows;
}

double RelRms(const float* x, const float* y, int64_t n) {
  double err = 0, ref = 0;
  for (int64_t i = 0; i < n; ++i) {
    err += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    ref += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(err / ref);
}

}  // namespace

TEST_CASE("quant-vectors.gguf: every T.expected is reproduced bit for bit (12 types)") {
  const std::unique_ptr<File> f = File::Open(Fixture("quant-vectors.gguf"));
  REQUIRE(f->GetStringArray("testdata.types").size() == 12);
  for (const TypeCase& tc : kSimpleTypes) {
    INFO("type " << tc.name);
    CHECK(DequantMismatches(*f, tc) == 0);
  }
  for (const TypeCase& tc : kKTypes) {
    INFO("type " << tc.name);
    CHECK(DequantMismatches(*f, tc) == 0);
  }
}

TEST_CASE("quant-vectors.gguf: QuantizeRow(T.source rows 0-1) == T.raw rows 0-1 (7 types)") {
  const std::unique_ptr<File> f = File::Open(Fixture("quant-vectors.gguf"));
  for (const TypeCase& tc : kSimpleTypes) {
    INFO("type " << tc.name);
    CHECK(QuantMismatchRows(*f, tc, 2) == 0);
  }
}

TEST_CASE("quant-vectors.gguf: F16 and BF16 edge values of row 2") {
  const std::unique_ptr<File> f = File::Open(Fixture("quant-vectors.gguf"));
  const uint16_t f16_edges[12] = {0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400,
                                  0x7BFF, 0xFBFF, 0x3C00, 0xBC00, 0x3555, 0x0200};
  const uint16_t bf16_edges[12] = {0x0000, 0x8000, 0x0001, 0x8001, 0x007F, 0x0080,
                                   0x7F7F, 0xFF7F, 0x3F80, 0xBF80, 0x3EAB, 0x0040};
  const float f16_values[12] = {0.0f,         -0.0f,  0x1p-24f,  -0x1p-24f,  0x3FFp-24f,
                                0x1p-14f,     65504.f, -65504.f, 1.0f,       -1.0f,
                                0x1.554p-2f,  0x1p-15f};
  const TensorInfo& f16 = Tensor(*f, "F16.raw", 1);
  const TensorInfo& bf16 = Tensor(*f, "BF16.raw", 30);
  for (int i = 0; i < 12; ++i) {
    uint16_t h;
    std::memcpy(&h, f16.data + 2 * (2 * kRowLen + i), 2);
    CHECK(h == f16_edges[i]);
    CHECK(Bits(dllm::quant::F16ToF32(h)) == Bits(f16_values[i]));
    std::memcpy(&h, bf16.data + 2 * (2 * kRowLen + i), 2);
    CHECK(h == bf16_edges[i]);
    CHECK(Bits(dllm::quant::Bf16ToF32(h)) == static_cast<uint32_t>(bf16_edges[i]) << 16);
  }
}

TEST_CASE("kquant-vectors.gguf: dequantization and the reference quantizers, all 4 rows") {
  const std::unique_ptr<File> f = File::Open(Fixture("kquant-vectors.gguf"));
  for (size_t t = 0; t < 5; ++t) {
    const TypeCase& tc = kKTypes[t];
    INFO("type " << tc.name);
    CHECK(DequantMismatches(*f, tc) == 0);
    CHECK(QuantMismatchRows(*f, tc, kRows) == 0);

    // Reconstruction error of our encoding next to the reference's (equal when the bytes are).
    const std::string name = tc.name;
    const std::vector<float> source = F32Data(Tensor(*f, name + ".source", 0));
    const size_t row_bytes = dllm::quant::RowBytes(tc.type, kRowLen);
    std::vector<uint8_t> q(row_bytes);
    std::vector<float> back(static_cast<size_t>(kRowLen));
    for (int r = 0; r < kRows; ++r) {
      const float* x = source.data() + r * kRowLen;
      dllm::quant::QuantizeRow(tc.type, x, q.data(), kRowLen);
      dllm::quant::DequantizeRow(tc.type, q.data(), back.data(), kRowLen);
      const double rel = RelRms(x, back.data(), kRowLen);
      INFO("row " << r << " relative RMS error " << rel << ", reference "
                  << kReferenceRelRms[t][r]);
      // The README rounds the reference's figures to 2 significant digits.
      CHECK(rel <= kReferenceRelRms[t][r] * 1.05 + 1e-3);
    }
  }
}
