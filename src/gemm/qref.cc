// Scalar reference of the int8 Linear (qgemm.h): the test oracle. Straight loops from the GGUF
// bytes, the same operations in the same order as every SIMD target, so results match bit for
// bit. Allocates freely; not used by the engine.
#include <algorithm>
#include <cmath>
#include <vector>

#include "gemm/qdecode.h"
#include "gemm/qgemm.h"

namespace dllm {
namespace gemm {
namespace q8 {
namespace ref {

void QuantizeRow(const float* x, int64_t k, int8_t* q, float* d) {
  for (int64_t b = 0; b < k / 32; ++b) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float a = std::fabs(x[32 * b + j]);
      // A NaN is taken, and once amax is NaN std::max keeps it (its first argument).
      amax = std::isnan(a) ? a : std::max(amax, a);
    }
    d[b] = amax / 127.0f;
    const float id = d[b] != 0.0f ? 1.0f / d[b] : 0.0f;
    for (int j = 0; j < 32; ++j) {
      const float v = std::nearbyint(x[32 * b + j] * id);  // ties to even (default mode)
      q[32 * b + j] = static_cast<int8_t>(std::isnan(v) ? -127 : std::clamp(v, -127.0f, 127.0f));
    }
  }
}

void Linear(const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y, int64_t ldy,
            bool accumulate) {
  const int group = GroupSize(w.type);
  const bool off = HasOffset(w.type);
  const int64_t k = w.k, ng = k / group;
  uint64_t row_bytes = 0;
  GgmlRowBytes(static_cast<uint32_t>(w.type), static_cast<uint64_t>(k), &row_bytes);
  std::vector<int8_t> xq(static_cast<size_t>(k)), wq(static_cast<size_t>(k));
  std::vector<float> xd(static_cast<size_t>(k / 32)), s(static_cast<size_t>(ng)),
      o(static_cast<size_t>(ng));
  for (int64_t i = 0; i < m; ++i) {
    QuantizeRow(x + i * ldx, k, xq.data(), xd.data());
    for (int64_t n = 0; n < w.n; ++n) {
      DecodeRow(w.type, static_cast<const uint8_t*>(w.data) + n * row_bytes, k, wq.data(),
                s.data(), o.data());
      float acc = 0.0f;
      for (int64_t g = 0; g < ng; ++g) {
        int32_t p = 0, sum = 0;
        for (int64_t j = g * group; j < (g + 1) * group; ++j) {
          p += xq[j] * wq[j];
          sum += xq[j];
        }
        const float d = xd[g * group / 32];
        acc = std::fma(static_cast<float>(p) * d, s[g], acc);
        if (off) acc = std::fma(d * static_cast<float>(sum), o[g], acc);
      }
      float& out = y[i * ldy + n];
      out = accumulate ? out + acc : acc;
    }
  }
}

}  // namespace ref
}  // namespace q8
}  // namespace gemm
}  // namespace dllm
