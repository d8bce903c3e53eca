// Entry points: argument validation and backend choice (see backends.h).
#include "gemm/gemm.h"

#include <algorithm>
#include <string>
#include <vector>

#include "gemm/backends.h"
#include "gemm/convert.h"
#include "gemm/cpu.h"
#include "gemm/qgemm.h"
#include "util/error.h"

namespace dllm {
namespace gemm {
namespace {

[[noreturn]] void Invalid(const char* fn, const std::string& what) {
  Throw(ErrorCode::kInvalidArgument, std::string("gemm::") + fn + ": " + what);
}

std::string Dims(const WeightView& w) {
  return GgmlTypeName(w.type) + " weight [" + std::to_string(w.n) + " rows x " +
         std::to_string(w.k) + "]";
}

// Checks the weight and returns its stored row size in bytes.
size_t CheckWeight(const char* fn, const WeightView& w) {
  if (w.data == nullptr) Invalid(fn, "weight data is null");
  if (w.n <= 0 || w.k <= 0) Invalid(fn, "empty or negative " + Dims(w));
  uint64_t row_bytes = 0;
  if (FindGgmlType(static_cast<uint32_t>(w.type)) == nullptr) {
    Throw(ErrorCode::kUnsupported, std::string("gemm::") + fn + ": unknown weight type " +
                                       GgmlTypeName(w.type));
  }
  uint64_t total = 0;
  if (!GgmlRowBytes(static_cast<uint32_t>(w.type), static_cast<uint64_t>(w.k), &row_bytes) ||
      !CheckedMul(row_bytes, static_cast<uint64_t>(w.n), &total)) {
    Invalid(fn, Dims(w) + ": row length is not a whole number of blocks");
  }
  const bool direct = w.type == GgmlType::kF32 || w.type == GgmlType::kBF16;
  if (!direct && !CanDequantize(w.type)) {
    Throw(ErrorCode::kUnsupported, std::string("gemm::") + fn + ": no kernel for " + Dims(w));
  }
  return static_cast<size_t>(row_bytes);
}

void CheckActivations(const char* fn, const float* x, int64_t m, int64_t ldx, int64_t width,
                      const float* y, int64_t ldy, int64_t out_width) {
  if (m < 0) Invalid(fn, "negative row count " + std::to_string(m));
  if (ldx < width) {
    Invalid(fn, "ldx " + std::to_string(ldx) + " < input width " + std::to_string(width));
  }
  if (ldy < out_width) {
    Invalid(fn, "ldy " + std::to_string(ldy) + " < output width " + std::to_string(out_width));
  }
  if (m > 0 && (x == nullptr || y == nullptr)) Invalid(fn, "null activation pointer");
}

}  // namespace

void Linear(Context& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y,
            int64_t ldy, bool accumulate) {
  const size_t row_bytes = CheckWeight("Linear", w);
  CheckActivations("Linear", x, m, ldx, w.k, y, ldy, w.n);
  if (m == 0) return;
  switch (w.type) {
    case GgmlType::kF32:
    case GgmlType::kBF16:
      if (w.type == GgmlType::kBF16 && LinearBf16AmxApplies(ctx.impl(), m, w)) {
        LinearBf16Amx(ctx.impl(), x, m, ldx, w, y, ldy, accumulate);
        return;
      }
      LinearOnednn(ctx.impl(), x, m, ldx, w, y, ldy, accumulate);
      return;
    default:
      if (ctx.options().int8_quantized && q8::Supported(w.type) && w.k <= q8::kMaxK) {
        q8::Linear(ctx.impl(), x, m, ldx, w, row_bytes, y, ldy, accumulate);
        return;
      }
      LinearDequant(ctx.impl(), x, m, ldx, w, row_bytes, y, ldy, accumulate);
      return;
  }
}

void LinearT(Context& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w, float* y,
             int64_t ldy) {
  const size_t row_bytes = CheckWeight("LinearT", w);
  CheckActivations("LinearT", x, m, ldx, w.n, y, ldy, w.k);
  if (m == 0) return;
  switch (w.type) {
    case GgmlType::kF32:
    case GgmlType::kBF16:
      LinearTOnednn(ctx.impl(), x, m, ldx, w, y, ldy);
      return;
    default:
      LinearTDequant(ctx.impl(), x, m, ldx, w, row_bytes, y, ldy);
      return;
  }
}

namespace {

void GeneralGemm(const char* name, dnnl::memory::data_type type, Context& ctx, int64_t m,
                 int64_t n, int64_t k, const void* a, int64_t lda, bool trans_a, const void* b,
                 int64_t ldb, bool trans_b, float* c, int64_t ldc, float alpha, float beta) {
  if (m < 0 || n < 0 || k < 0) {
    Invalid(name, "negative size m=" + std::to_string(m) + " n=" + std::to_string(n) +
                      " k=" + std::to_string(k));
  }
  const int64_t a_width = trans_a ? m : k, b_width = trans_b ? k : n;
  if (lda < std::max<int64_t>(a_width, 1) || ldb < std::max<int64_t>(b_width, 1) ||
      ldc < std::max<int64_t>(n, 1)) {
    Invalid(name, "leading dimension smaller than the row width (lda=" + std::to_string(lda) +
                      " ldb=" + std::to_string(ldb) + " ldc=" + std::to_string(ldc) + ")");
  }
  if (m == 0 || n == 0) return;
  if (c == nullptr) Invalid(name, "c is null");
  if (k == 0) {
    // Empty product: c = beta · c (BLAS semantics, beta == 0 writes zeros).
    for (int64_t i = 0; i < m; ++i) {
      float* row = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
    }
    return;
  }
  if (a == nullptr || b == nullptr) Invalid(name, "a or b is null");
  // Without bf16 instructions (Bf16MatmulSupported false) the bf16 operands are widened to f32
  // (exact, so the products are the same) and stored densely.
  std::vector<float> a32, b32;
  if (type == dnnl::memory::data_type::bf16 && !Bf16MatmulSupported()) {
    const int64_t a_rows = trans_a ? k : m, b_rows = trans_b ? n : k;
    a32.resize(static_cast<size_t>(a_rows * a_width));
    b32.resize(static_cast<size_t>(b_rows * b_width));
    WidenBf16Rows(static_cast<const uint16_t*>(a), a_rows, a_width, lda, a32.data());
    WidenBf16Rows(static_cast<const uint16_t*>(b), b_rows, b_width, ldb, b32.data());
    type = dnnl::memory::data_type::f32;
    a = a32.data();
    b = b32.data();
    lda = a_width;
    ldb = b_width;
  }
  MatmulKey key;
  key.a_type = key.b_type = type;
  key.trans_a = trans_a;
  key.trans_b = trans_b;
  key.sum = beta != 0.0f;
  key.beta = beta;
  key.runtime_alpha = alpha != 1.0f;
  MatmulCall call;
  call.a = a;
  call.b = b;
  call.c = c;
  call.m = m;
  call.n = n;
  call.k = k;
  call.lda = lda;
  call.ldb = ldb;
  call.ldc = ldc;
  call.alpha = alpha;
  ctx.impl().Matmul(key, call);
}

}  // namespace

void Sgemm(Context& ctx, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
           bool trans_a, const float* b, int64_t ldb, bool trans_b, float* c, int64_t ldc,
           float alpha, float beta) {
  GeneralGemm("Sgemm", dnnl::memory::data_type::f32, ctx, m, n, k, a, lda, trans_a, b, ldb,
              trans_b, c, ldc, alpha, beta);
}

bool Bf16MatmulAvailable() { return Bf16MatmulSupported(); }

void GemmBf16(Context& ctx, int64_t m, int64_t n, int64_t k, const uint16_t* a, int64_t lda,
              bool trans_a, const uint16_t* b, int64_t ldb, bool trans_b, float* c, int64_t ldc,
              float alpha, float beta) {
  GeneralGemm("GemmBf16", dnnl::memory::data_type::bf16, ctx, m, n, k, a, lda, trans_a, b, ldb,
              trans_b, c, ldc, alpha, beta);
}


}  // namespace gemm
}  // namespace dllm
