// Fuzz target: the int8 Linear (gemm::Linear on block-quantized weights, the target this CPU
// dispatches to; DLLM_CPU limits it) against its scalar reference (q8::ref::Linear), and the
// weight decoders (q8::DequantizeRowsBf16, quant::DequantizeRow) against each other, on
// arbitrary weight bytes: any scale field (NaN, infinite, subnormal), any quant bits, Q8_0's
// −128, shapes that take the fused and the full-tile paths. Results must be equal bit for bit
// (a NaN may stand for any NaN); any difference aborts.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "gemm/convert.h"
#include "gemm/gemm.h"
#include "gemm/qgemm.h"
#include "gguf/types.h"
#include "quant/quant.h"

namespace {

using dllm::GgmlType;

constexpr GgmlType kTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                               GgmlType::kQ8_0, GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
                               GgmlType::kQ5_K, GgmlType::kQ6_K};

// Equal bits, or both NaN.
bool Same(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  uint32_t ua, ub;
  std::memcpy(&ua, &a, 4);
  std::memcpy(&ub, &b, 4);
  return ua == ub;
}

// Bytes taken from the input in turn, starting over at its end (zeros if it is empty).
struct Stream {
  const uint8_t* data;
  size_t size, pos = 0;
  uint8_t Next() { return size == 0 ? 0 : data[pos++ % size]; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const GgmlType type = kTypes[data[0] % (sizeof(kTypes) / sizeof(kTypes[0]))];
  // m: 1..40 (the fused path) or 250..313 (beyond 256 rows: the full-tile path on AVX2).
  const int64_t m = data[1] & 0x80 ? 250 + data[1] % 64 : 1 + data[1] % 40;
  const int64_t block = dllm::FindGgmlType(static_cast<uint32_t>(type))->block_size;
  const int64_t k = block * (1 + data[2] % (block == 32 ? 24 : 4));
  const int64_t n = 1 + data[3] % 40 + (data[3] & 0x40 ? 24 : 0);
  const bool accumulate = data[4] & 1;
  const bool raw_x = data[4] & 2;  // activations as raw f32 bit patterns (NaN, inf included)
  Stream in{data + 5, size - 5};

  const size_t row_bytes = dllm::quant::RowBytes(type, k);
  std::vector<uint8_t> w(row_bytes * static_cast<size_t>(n));
  for (uint8_t& b : w) b = in.Next();
  std::vector<float> x(static_cast<size_t>(m * k));
  for (float& v : x) {
    if (raw_x) {
      uint8_t b[4] = {in.Next(), in.Next(), in.Next(), in.Next()};
      std::memcpy(&v, b, 4);
    } else {
      v = static_cast<float>(static_cast<int8_t>(in.Next())) * 0.03125f;
    }
  }
  std::vector<float> y0(static_cast<size_t>(m * n)), y1;
  for (float& v : y0) v = static_cast<float>(static_cast<int8_t>(in.Next())) * 0.25f;
  y1 = y0;

  static dllm::gemm::Context ctx;
  const dllm::gemm::WeightView view{type, w.data(), n, k};
  dllm::gemm::Linear(ctx, x.data(), m, k, view, y0.data(), n, accumulate);
  dllm::gemm::q8::ref::Linear(x.data(), m, k, view, y1.data(), n, accumulate);
  for (size_t i = 0; i < y0.size(); ++i) {
    if (!Same(y0[i], y1[i])) {
      std::fprintf(stderr,
                   "Linear differs from ref::Linear: %s m=%lld k=%lld n=%lld accumulate=%d "
                   "raw_x=%d, y[%lld][%lld] = %.9g, reference %.9g\n",
                   dllm::GgmlTypeName(static_cast<uint32_t>(type)).c_str(),
                   static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n),
                   accumulate, raw_x, static_cast<long long>(static_cast<int64_t>(i) / n),
                   static_cast<long long>(static_cast<int64_t>(i) % n), y0[i], y1[i]);
      std::abort();
    }
  }

  // Decoders: bf16 rows straight from the blocks against bf16 of the reference f32 values.
  std::vector<uint16_t> bf(static_cast<size_t>(n * k));
  dllm::gemm::q8::DequantizeRowsBf16(type, w.data(), row_bytes, n, k, bf.data());
  std::vector<float> ref(static_cast<size_t>(k));
  for (int64_t r = 0; r < n; ++r) {
    dllm::quant::DequantizeRow(type, w.data() + static_cast<size_t>(r) * row_bytes, ref.data(), k);
    for (int64_t c = 0; c < k; ++c) {
      uint32_t u = static_cast<uint32_t>(bf[static_cast<size_t>(r * k + c)]) << 16;
      float got;
      std::memcpy(&got, &u, 4);
      const uint32_t want =
          static_cast<uint32_t>(dllm::gemm::F32ToBf16(ref[static_cast<size_t>(c)])) << 16;
      float wantf;
      std::memcpy(&wantf, &want, 4);
      if (!Same(got, wantf)) std::abort();
    }
  }
  return 0;
}
