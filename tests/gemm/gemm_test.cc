// gemm: every entry point against a naive double-precision reference on random data.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "gemm/amx.h"
#include "gemm/avx_vnni.h"
#include "gemm/gemm.h"
#include "gemm/qgemm.h"
#include "hwy/targets.h"
#include "kernels/kernels.h"
#include "util/error.h"
#include "util/rng.h"

#if defined(DLLM_GEMM_TEST_HAVE_QUANT)
#include "quant/quant.h"
#endif

namespace {

using dllm::GgmlType;
using dllm::gemm::Context;
using dllm::gemm::Options;
using dllm::gemm::WeightView;

constexpr float kSentinel = -12345.0f;  // marks y padding that must stay untouched
constexpr double kF32Eps = 1.0 / (1 << 24);  // unit roundoff of f32

std::vector<float> Random(dllm::Rng& rng, int64_t n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = 2.0f * rng.Uniform01() - 1.0f;
  return v;
}

// Independent encoders/decoders for the test oracle (not the library's code paths).
uint16_t ToBf16Truncated(float f) {  // weights are generated already bf16-exact: truncation ok
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}
double Bf16Value(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
double RoundToBf16(double v) {  // round to nearest even with 8 significant bits
  if (v == 0) return 0;
  int e;
  std::frexp(v, &e);  // v = f · 2^e, 0.5 <= |f| < 1
  const double scale = std::ldexp(1.0, 8 - e);
  return std::nearbyint(v * scale) / scale;  // default rounding mode: to nearest even
}
double F16Value(uint16_t h) {
  const int sign = (h >> 15) ? -1 : 1;
  const int exp = (h >> 10) & 31;
  const int mant = h & 1023;
  if (exp == 0) return sign * std::ldexp(mant, -24);
  return sign * std::ldexp(1024 + mant, exp - 25);
}
uint16_t RandomF16(dllm::Rng& rng) {  // finite, includes subnormals and both signs
  for (;;) {
    const uint16_t h = static_cast<uint16_t>(rng.Next() >> 48);
    const int exp = (h >> 10) & 31;
    if (exp != 31 && exp < 17) return h;  // |w| < 4: keeps products in a sane range
  }
}

// A weight of n rows × k values in the given type, with its exact values as doubles.
struct TestWeight {
  GgmlType type;
  int64_t n, k;
  std::vector<uint8_t> bytes;
  std::vector<double> value;  // [n × k]
  WeightView View() const { return WeightView{type, bytes.data(), n, k}; }
};

TestWeight MakeWeight(dllm::Rng& rng, GgmlType type, int64_t n, int64_t k) {
  TestWeight w{type, n, k, {}, {}};
  const size_t count = static_cast<size_t>(n * k);
  w.value.resize(count);
  if (type == GgmlType::kF32) {
    w.bytes.resize(count * 4);
    for (size_t i = 0; i < count; ++i) {
      const float f = 2.0f * rng.Uniform01() - 1.0f;
      std::memcpy(&w.bytes[4 * i], &f, 4);
      w.value[i] = f;
    }
  } else if (type == GgmlType::kBF16) {
    w.bytes.resize(count * 2);
    for (size_t i = 0; i < count; ++i) {
      const uint16_t h = ToBf16Truncated(2.0f * rng.Uniform01() - 1.0f);
      std::memcpy(&w.bytes[2 * i], &h, 2);
      w.value[i] = Bf16Value(h);
    }
  } else if (type == GgmlType::kF16) {
    w.bytes.resize(count * 2);
    for (size_t i = 0; i < count; ++i) {
      const uint16_t h = RandomF16(rng);
      std::memcpy(&w.bytes[2 * i], &h, 2);
      w.value[i] = F16Value(h);
    }
  } else {
#if defined(DLLM_GEMM_TEST_HAVE_QUANT)
    // Block types: quantize random rows; the oracle uses quant's decoding of those bytes (its
    // own tests check it against ggml), so this exercises gemm's tiling, not the formats.
    const size_t row_bytes = dllm::quant::RowBytes(type, k);
    w.bytes.resize(row_bytes * static_cast<size_t>(n));
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t r = 0; r < n; ++r) {
      for (float& f : row) f = 2.0f * rng.Uniform01() - 1.0f;
      dllm::quant::QuantizeRow(type, row.data(), w.bytes.data() + r * row_bytes, k);
      dllm::quant::DequantizeRow(type, w.bytes.data() + r * row_bytes, row.data(), k);
      for (int64_t c = 0; c < k; ++c) w.value[r * k + c] = row[c];
    }
#endif
  }
  return w;
}

// Checks got against ref with |got - ref| <= tol_rel · mag + 1e-30, where mag is Σ|a·b|.
struct Expect {
  double tol_rel;
  void Check(const std::vector<double>& ref, const std::vector<double>& mag, const float* got,
             int64_t m, int64_t n, int64_t ld, const std::string& what) const {
    int bad = 0;
    double worst = 0;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        const double r = ref[static_cast<size_t>(i * n + j)];
        const double tol = tol_rel * mag[static_cast<size_t>(i * n + j)] + 1e-30;
        const double err = std::fabs(got[i * ld + j] - r);
        worst = std::max(worst, err / tol);
        if (!(err <= tol)) ++bad;
      }
    }
    INFO(what << ": worst error / tolerance = " << worst);
    CHECK(bad == 0);
  }
};

// f32 accumulation over k terms: a rigorous bound is k·u·Σ|a·b|; blocked sums in practice stay
// far below it, but the bound has to hold for any summation order.
double F32Tol(int64_t k) { return (static_cast<double>(k) + 2) * kF32Eps; }

// y padding beyond the output width stays untouched.
void CheckPadding(const std::vector<float>& y, int64_t m, int64_t n, int64_t ld) {
  int touched = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = n; j < ld; ++j) touched += y[static_cast<size_t>(i * ld + j)] != kSentinel;
  }
  CHECK(touched == 0);
}

struct Shape {
  int64_t m, k, n;
};

// Linear: y (+)= x · Wᵀ.
void TestLinear(Context& ctx, dllm::Rng& rng, GgmlType type, const Shape& s, int64_t pad,
                bool accumulate) {
  const int64_t ldx = s.k + pad, ldy = s.n + pad;
  const TestWeight w = MakeWeight(rng, type, s.n, s.k);
  const std::vector<float> x = Random(rng, s.m * ldx);
  std::vector<float> y(static_cast<size_t>(s.m * ldy), kSentinel);
  std::vector<float> y0 = Random(rng, s.m * ldy);
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) y[i * ldy + j] = accumulate ? y0[i * ldy + j] : NAN;
  }
  // The oracle sees the activations as the backend does: bf16-rounded for BF16 weights.
  const bool bf16 = type == GgmlType::kBF16;
  std::vector<double> xr(x.size());
  for (size_t i = 0; i < x.size(); ++i) xr[i] = bf16 ? RoundToBf16(x[i]) : x[i];
  std::vector<double> ref(s.m * s.n), ref_exact(s.m * s.n), mag(s.m * s.n);
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.n; ++j) {
      double acc = 0, exact = 0, abs = 0;
      for (int64_t c = 0; c < s.k; ++c) {
        const double xv = x[i * ldx + c], wv = w.value[j * s.k + c];
        acc += xr[i * ldx + c] * wv;
        exact += xv * wv;
        abs += std::fabs(xv * wv);
      }
      const double base = accumulate ? y0[i * ldy + j] : 0.0;
      ref[i * s.n + j] = acc + base;
      ref_exact[i * s.n + j] = exact + base;
      mag[i * s.n + j] = abs + std::fabs(base);
    }
  }
  dllm::gemm::Linear(ctx, x.data(), s.m, ldx, w.View(), y.data(), ldy, accumulate);
  const std::string what = dllm::GgmlTypeName(type) + " m=" + std::to_string(s.m) +
                           " k=" + std::to_string(s.k) + " n=" + std::to_string(s.n) +
                           " pad=" + std::to_string(pad) + (accumulate ? " acc" : "");
  Expect{F32Tol(s.k)}.Check(ref, mag, y.data(), s.m, s.n, ldy, what);
  if (bf16) {
    // Against the unrounded activations: each product is off by at most 2^-8 relative
    // (bf16 keeps 8 significant bits, so round-to-nearest has unit roundoff 2^-8).
    Expect{F32Tol(s.k) + std::ldexp(1.0, -8)}.Check(ref_exact, mag, y.data(), s.m, s.n, ldy,
                                                     what + " vs exact activations");
  }
  CheckPadding(y, s.m, s.n, ldy);
}

// LinearT: y = x · W.
void TestLinearT(Context& ctx, dllm::Rng& rng, GgmlType type, const Shape& s, int64_t pad) {
  // Here W has s.n rows (the reduction) of s.k values (the output).
  const int64_t ldx = s.n + pad, ldy = s.k + pad;
  const TestWeight w = MakeWeight(rng, type, s.n, s.k);
  const std::vector<float> x = Random(rng, s.m * ldx);
  std::vector<float> y(static_cast<size_t>(s.m * ldy), kSentinel);
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.k; ++j) y[i * ldy + j] = NAN;  // must be overwritten
  }
  // BF16 weights round the activations to bf16; F16/quantized weights with linear_t_bf16_tiles
  // round the activations and the dequantized tile (gemm.h): the reference uses the same
  // rounded values, so only f32 accumulation error remains.
  const bool tiles16 = type != GgmlType::kF32 && type != GgmlType::kBF16 &&
                       ctx.options().linear_t_bf16_tiles;
  const bool bf16 = type == GgmlType::kBF16 || tiles16;
  std::vector<double> xr(x.size());
  for (size_t i = 0; i < x.size(); ++i) xr[i] = bf16 ? RoundToBf16(x[i]) : x[i];
  std::vector<double> ref(s.m * s.k), mag(s.m * s.k);
  for (int64_t i = 0; i < s.m; ++i) {
    for (int64_t j = 0; j < s.k; ++j) {
      double acc = 0, abs = 0;
      for (int64_t r = 0; r < s.n; ++r) {
        const double xv = x[i * ldx + r], wv = w.value[r * s.k + j];
        acc += xr[i * ldx + r] * (tiles16 ? RoundToBf16(static_cast<float>(wv)) : wv);
        abs += std::fabs(xv * wv);
      }
      ref[i * s.k + j] = acc;
      mag[i * s.k + j] = abs;
    }
  }
  dllm::gemm::LinearT(ctx, x.data(), s.m, ldx, w.View(), y.data(), ldy);
  Expect{F32Tol(s.n)}.Check(ref, mag, y.data(), s.m, s.k, ldy,
                            "LinearT " + dllm::GgmlTypeName(type) + " m=" + std::to_string(s.m) +
                                " rows=" + std::to_string(s.n) + " cols=" + std::to_string(s.k));
  CheckPadding(y, s.m, s.k, ldy);
}

// Small tiles and row blocks so that small shapes cross every tile/block boundary.
Options SmallTiles() {
  Options o;
  o.row_block = 16;
  o.linear_tile_rows = 24;
  o.linear_t_tile_rows = 40;
  o.linear_t_bf16_tile_rows = 40;
  o.linear_t_bf16_chunk = 48;
  return o;
}

const Shape kShapes[] = {{1, 7, 5},   {1, 64, 300}, {3, 64, 33},  {17, 130, 97},
                         {16, 96, 48}, {40, 33, 70}, {5, 1, 1},    {33, 256, 128}};
const GgmlType kTypes[] = {GgmlType::kF32, GgmlType::kBF16, GgmlType::kF16};

}  // namespace

TEST_CASE("Linear matches the double reference for every weight type") {
  dllm::Rng rng(1);
  for (const Options& o : {Options(), SmallTiles()}) {
    Context ctx(o);
    for (GgmlType type : kTypes) {
      for (const Shape& s : kShapes) {
        for (int64_t pad : {0, 3}) {
          for (bool acc : {false, true}) TestLinear(ctx, rng, type, s, pad, acc);
        }
      }
    }
  }
}

TEST_CASE("F16 weights decode exactly: all 65536 values") {
  // Linear with x = [1] and K = 1 returns each weight value itself (1 · w is exact).
  Context ctx;
  std::vector<uint16_t> w(65536);
  for (uint32_t i = 0; i < 65536; ++i) w[i] = static_cast<uint16_t>(i);
  const float one = 1.0f;
  std::vector<float> y(65536);
  dllm::gemm::Linear(ctx, &one, 1, 1, WeightView{GgmlType::kF16, w.data(), 65536, 1}, y.data(),
                     65536);
  int bad = 0;
  for (uint32_t i = 0; i < 65536; ++i) {
    const bool is_nan = ((i >> 10) & 31) == 31 && (i & 1023) != 0;
    const bool is_inf = ((i >> 10) & 31) == 31 && (i & 1023) == 0;
    if (is_nan) {
      bad += !std::isnan(y[i]);
    } else if (is_inf) {
      bad += y[i] != ((i & 0x8000) ? -INFINITY : INFINITY);
    } else {
      // (-0 may come out as +0: the matmul's accumulator starts at +0.)
      bad += static_cast<double>(y[i]) != F16Value(static_cast<uint16_t>(i));
      if (y[i] != 0) bad += std::signbit(y[i]) != ((i & 0x8000) != 0);
    }
  }
  CHECK(bad == 0);
}

// An identity weight makes y the bf16-rounded activations (one nonzero product per output is
// exact); a quarter of the values are exact ties.
void CheckBf16Rounding(Context& ctx, dllm::Rng& rng, int64_t m, int64_t k) {
  std::vector<float> x(m * k);
  for (size_t i = 0; i < x.size(); ++i) {
    uint32_t u = static_cast<uint32_t>(rng.Next() >> 32);
    u = (u & 0x807fffffu) | ((100u + (u >> 23) % 56) << 23);  // moderate exponents, both signs
    if (i % 4 == 0) u = (u & 0xffff0000u) | 0x8000u;           // an exact tie
    std::memcpy(&x[i], &u, 4);
  }
  std::vector<uint16_t> identity(k * k, 0);
  for (int64_t j = 0; j < k; ++j) identity[j * k + j] = 0x3f80;  // 1.0
  std::vector<float> y(m * k);
  dllm::gemm::Linear(ctx, x.data(), m, k, WeightView{GgmlType::kBF16, identity.data(), k, k},
                     y.data(), k);
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i) bad += static_cast<double>(y[i]) != RoundToBf16(x[i]);
  CHECK(bad == 0);
}

TEST_CASE("BF16 path rounds activations to nearest even") {
  // K = 67 runs both the vector body and the scalar tail of the conversion.
  dllm::Rng rng(9);
  Context ctx;
  CheckBf16Rounding(ctx, rng, 64, 67);
}

TEST_CASE("BF16 weights with few rows (AMX-BF16 tiles where available, and oneDNN)") {
  // m <= 32 with K a multiple of 32 takes the AMX-BF16 kernel on CPUs that have it: one and two
  // 16-row activation halves, weight-row counts leaving partial 32-row blocks, model-sized K.
  dllm::Rng rng(31);
  std::printf("gemm_test: AMX-BF16 %s\n", dllm::gemm::amx::UsableBf16() ? "available: tested"
                                                                        : "not available");
  for (bool amx : {true, false}) {
    Options o;
    o.bf16_amx_small_m = amx;
    Context ctx(o);
    for (int64_t m : {1, 7, 16, 17, 32}) {
      for (const Shape& s : {Shape{m, 32, 1}, Shape{m, 96, 31}, Shape{m, 64, 33},
                             Shape{m, 2816, 70}}) {
        for (int64_t pad : {0, 3}) {
          for (bool acc : {false, true}) TestLinear(ctx, rng, GgmlType::kBF16, s, pad, acc);
        }
      }
    }
    CheckBf16Rounding(ctx, rng, 20, 64);  // the few-rows path rounds as oneDNN's does
  }
}

TEST_CASE("Linear with the fixed-M primitives switched off") {
  dllm::Rng rng(2);
  Options o = SmallTiles();
  o.fixed_m_f32 = false;
  o.fixed_m_bf16 = false;
  Context ctx(o);
  for (GgmlType type : kTypes) {
    for (const Shape& s : {Shape{50, 40, 30}, Shape{16, 40, 30}, Shape{1, 40, 30}}) {
      TestLinear(ctx, rng, type, s, 2, false);
      TestLinear(ctx, rng, type, s, 0, true);
    }
  }
}

TEST_CASE("Linear at model-sized shapes (K=2816, N=704; M=256 takes the fixed-M path)") {
  dllm::Rng rng(3);
  Context ctx;
  TestLinear(ctx, rng, GgmlType::kF32, {256, 2816, 704}, 0, false);
  TestLinear(ctx, rng, GgmlType::kF32, {300, 2816, 704}, 1, true);
  TestLinear(ctx, rng, GgmlType::kBF16, {256, 2816, 704}, 0, true);
  TestLinear(ctx, rng, GgmlType::kF16, {32, 2816, 704}, 0, false);
}

TEST_CASE("LinearT matches the double reference for every weight type") {
  dllm::Rng rng(4);
  Options f32_tiles = SmallTiles();
  f32_tiles.linear_t_bf16_tiles = false;
  for (const Options& o : {Options(), SmallTiles(), f32_tiles}) {
    Context ctx(o);
    for (GgmlType type : kTypes) {
      for (const Shape& s : kShapes) {
        for (int64_t pad : {0, 5}) TestLinearT(ctx, rng, type, s, pad);
      }
      TestLinearT(ctx, rng, type, {20, 48, 130}, 1);  // reduction over several chunks
    }
  }
}

TEST_CASE("LinearT splits wide outputs across the team's threads") {
  // From 512 output columns on, LinearT's bf16 products run as one single-threaded matmul per
  // thread on its own column range (its own context's primitive). Two threads, whatever this
  // machine has: odd widths, padded leading dimensions, several reduction chunks (SmallTiles).
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
  dllm::Rng rng(11);
  for (const Options& o : {Options(), SmallTiles()}) {
    Context ctx(o);
    for (GgmlType type : {GgmlType::kBF16, GgmlType::kF16}) {
      TestLinearT(ctx, rng, type, {20, 130, 700}, 3);
      TestLinearT(ctx, rng, type, {3, 64, 512}, 0);
      TestLinearT(ctx, rng, type, {1, 97, 1031}, 1);
    }
  }
  // Deterministic for a thread count, and the thread contexts' primitives and scratch count in
  // the context's statistics and are reused.
  Context ctx;
  const TestWeight w = MakeWeight(rng, GgmlType::kBF16, 90, 600);
  const std::vector<float> x = Random(rng, 16 * 90);
  std::vector<float> y1(16 * 600), y2(16 * 600);
  dllm::gemm::LinearT(ctx, x.data(), 16, 90, w.View(), y1.data(), 600);
  const int64_t prims = ctx.primitives_created(), growths = ctx.scratch_growths();
  CHECK(prims >= (dllm::gemm::Bf16MatmulAvailable() ? 2 : 1));
  dllm::gemm::LinearT(ctx, x.data(), 16, 90, w.View(), y2.data(), 600);
  CHECK(std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)) == 0);
  CHECK(ctx.primitives_created() == prims);
  CHECK(ctx.scratch_growths() == growths);
  omp_set_num_threads(saved);
}

#if defined(DLLM_GEMM_TEST_HAVE_QUANT)
TEST_CASE("Block-quantized weights through the dequantizing tiles (int8 path off; LinearT)") {
  // Linear uses the int8 path by default (qgemm_test.cc); here it is switched off so the f32
  // tiles are checked. LinearT always dequantizes.
  dllm::Rng rng(7);
  const GgmlType types[] = {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ4_K, GgmlType::kQ6_K};
  for (Options o : {Options(), SmallTiles()}) {
    o.int8_quantized = false;
    Context ctx(o);
    for (GgmlType type : types) {
      for (const Shape& s : {Shape{1, 256, 50}, Shape{19, 512, 70}, Shape{40, 256, 33}}) {
        TestLinear(ctx, rng, type, s, 0, false);
        TestLinear(ctx, rng, type, s, 3, true);
      }
      // LinearT: weight rows (the output) hold 256 values, the reduction runs over 90 rows
      // (bf16 tiles by default; f32 tiles below).
      TestLinearT(ctx, rng, type, {9, 256, 90}, 2);
      Options f32o = o;
      f32o.linear_t_bf16_tiles = false;
      Context f32ctx(f32o);
      TestLinearT(f32ctx, rng, type, {9, 256, 90}, 2);
    }
  }
}
#endif

TEST_CASE("Sgemm matches the double reference for all transpositions") {
  dllm::Rng rng(5);
  Context ctx;
  const Shape shapes[] = {{1, 1, 1}, {1, 17, 9}, {7, 1, 5}, {13, 33, 29}, {64, 128, 100}};
  for (const Shape& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      for (float alpha : {1.0f, 0.125f}) {
        for (float beta : {0.0f, 1.0f, -0.5f}) {
          const int64_t pad = 2;
          const int64_t lda = (ta ? s.m : s.k) + pad, ldb = (tb ? s.k : s.n) + pad,
                        ldc = s.n + pad;
          const std::vector<float> a = Random(rng, (ta ? s.k : s.m) * lda);
          const std::vector<float> b = Random(rng, (tb ? s.n : s.k) * ldb);
          std::vector<float> c = Random(rng, s.m * ldc);
          for (int64_t i = 0; i < s.m; ++i) {
            for (int64_t j = s.n; j < ldc; ++j) c[i * ldc + j] = kSentinel;
            if (beta == 0.0f) {
              for (int64_t j = 0; j < s.n; ++j) c[i * ldc + j] = NAN;  // must not propagate
            }
          }
          std::vector<double> ref(s.m * s.n), mag(s.m * s.n);
          for (int64_t i = 0; i < s.m; ++i) {
            for (int64_t j = 0; j < s.n; ++j) {
              double acc = 0, abs = 0;
              for (int64_t p = 0; p < s.k; ++p) {
                const double av = ta ? a[p * lda + i] : a[i * lda + p];
                const double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                acc += av * bv;
                abs += std::fabs(av * bv);
              }
              const double c0 = beta == 0.0f ? 0.0 : c[i * ldc + j];
              ref[i * s.n + j] = alpha * acc + beta * c0;
              mag[i * s.n + j] = std::fabs(alpha) * abs + std::fabs(beta * c0);
            }
          }
          dllm::gemm::Sgemm(ctx, s.m, s.n, s.k, a.data(), lda, ta, b.data(), ldb, tb, c.data(),
                            ldc, alpha, beta);
          Expect{F32Tol(s.k) + 4 * kF32Eps}.Check(
              ref, mag, c.data(), s.m, s.n, ldc,
              "Sgemm m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) +
                  " k=" + std::to_string(s.k) + " ta=" + std::to_string(ta) +
                  " tb=" + std::to_string(tb) + " alpha=" + std::to_string(alpha) +
                  " beta=" + std::to_string(beta));
          CheckPadding(c, s.m, s.n, ldc);
        }
      }
    }
  }
}

namespace {
float Bf16ToF32(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
}  // namespace

TEST_CASE("RoundToBf16 rounds to nearest even, keeps NaN, honours leading dimensions") {
  // 1 + 2^-8 is halfway between bf16 1.0 and 1 + 2^-7: ties to even (1.0); 1 + 3·2^-8 rounds up.
  const float x[6] = {1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, -2.5f, NAN, INFINITY, 1e-40f};
  uint16_t out[2 * 4];
  std::fill(out, out + 8, uint16_t{0xABCD});
  dllm::gemm::RoundToBf16(x, 2, 3, 3, out, 4);
  CHECK(Bf16ToF32(out[0]) == 1.0f);
  CHECK(Bf16ToF32(out[1]) == 1.0f + 0x1p-6f);
  CHECK(Bf16ToF32(out[2]) == -2.5f);
  CHECK(out[3] == 0xABCD);  // beyond cols: untouched
  CHECK(std::isnan(Bf16ToF32(out[4])));
  CHECK(Bf16ToF32(out[5]) == INFINITY);
  CHECK_THROWS_AS(dllm::gemm::RoundToBf16(x, 1, 3, 2, out, 4), dllm::Error);
}

TEST_CASE("GemmBf16 matches the double reference of the bf16 operands for all transpositions") {
  dllm::Rng rng(15);
  Context ctx;
  const Shape shapes[] = {{1, 1, 1}, {1, 17, 9}, {7, 1, 5}, {13, 33, 29}, {64, 128, 100}};
  for (const Shape& s : shapes) {
    for (int t = 0; t < 4; ++t) {
      const bool ta = t & 1, tb = t & 2;
      for (float beta : {0.0f, 1.0f}) {
        const int64_t pad = 3;
        const int64_t lda = (ta ? s.m : s.k) + pad, ldb = (tb ? s.k : s.n) + pad, ldc = s.n + pad;
        const std::vector<float> af = Random(rng, (ta ? s.k : s.m) * lda);
        const std::vector<float> bf = Random(rng, (tb ? s.n : s.k) * ldb);
        std::vector<uint16_t> a(af.size()), b(bf.size());
        dllm::gemm::RoundToBf16(af.data(), 1, static_cast<int64_t>(af.size()),
                                static_cast<int64_t>(af.size()), a.data(), static_cast<int64_t>(a.size()));
        dllm::gemm::RoundToBf16(bf.data(), 1, static_cast<int64_t>(bf.size()),
                                static_cast<int64_t>(bf.size()), b.data(), static_cast<int64_t>(b.size()));
        std::vector<float> c = Random(rng, s.m * ldc);
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = s.n; j < ldc; ++j) c[i * ldc + j] = kSentinel;
          if (beta == 0.0f) {
            for (int64_t j = 0; j < s.n; ++j) c[i * ldc + j] = NAN;  // must not propagate
          }
        }
        std::vector<double> ref(s.m * s.n), mag(s.m * s.n);
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.n; ++j) {
            double acc = 0, abs = 0;
            for (int64_t p = 0; p < s.k; ++p) {
              const double av = Bf16ToF32(ta ? a[p * lda + i] : a[i * lda + p]);
              const double bv = Bf16ToF32(tb ? b[j * ldb + p] : b[p * ldb + j]);
              acc += av * bv;
              abs += std::fabs(av * bv);
            }
            const double c0 = beta == 0.0f ? 0.0 : c[i * ldc + j];
            ref[i * s.n + j] = acc + beta * c0;
            mag[i * s.n + j] = abs + std::fabs(beta * c0);
          }
        }
        dllm::gemm::GemmBf16(ctx, s.m, s.n, s.k, a.data(), lda, ta, b.data(), ldb, tb, c.data(),
                             ldc, 1.0f, beta);
        // Products of bf16 values are exact in f32: only f32 accumulation error remains.
        Expect{F32Tol(s.k) + 4 * kF32Eps}.Check(
            ref, mag, c.data(), s.m, s.n, ldc,
            "GemmBf16 m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) +
                " k=" + std::to_string(s.k) + " ta=" + std::to_string(ta) +
                " tb=" + std::to_string(tb));
      }
    }
  }
  std::vector<float> c(4);
  const uint16_t one = 0x3F80;
  CHECK_THROWS_AS(dllm::gemm::GemmBf16(ctx, 2, 2, 1, &one, 0, false, &one, 2, false, c.data(), 2,
                                       1.0f, 0.0f),
                  dllm::Error);
}

TEST_CASE("Sgemm with k == 0 scales c by beta") {
  Context ctx;
  std::vector<float> c = {1, 2, NAN, 4};
  const float dummy = 0;
  dllm::gemm::Sgemm(ctx, 2, 2, 0, &dummy, 1, false, &dummy, 2, false, c.data(), 2, 1.0f, 0.0f);
  CHECK(c == std::vector<float>{0, 0, 0, 0});
  c = {1, 2, 3, 4};
  dllm::gemm::Sgemm(ctx, 2, 2, 0, &dummy, 1, false, &dummy, 2, false, c.data(), 2, 1.0f, 2.0f);
  CHECK(c == std::vector<float>{2, 4, 6, 8});
}

TEST_CASE("DLLM_CPU limits the kernels (ctest runs the suites again under avx2, avx2_vnni, avx512)") {
  // Under a limit every other test case here runs the fallbacks: bf16 products formed in f32
  // (no bf16 instructions within any of the limits) and, under avx2 / avx2_vnni, the AVX2 int8
  // kernels. This case pins that the limit took effect, so those runs cannot silently test the
  // native paths.
  Context ctx;  // the first Context applies DLLM_CPU
  const char* env = std::getenv("DLLM_CPU");
  const std::string cpu = env == nullptr ? "" : env;
  std::printf("gemm_test: DLLM_CPU=%s, bf16 matmuls %s, int8 kernel %s\n", cpu.c_str(),
              dllm::gemm::Bf16MatmulAvailable() ? "yes" : "no",
              dllm::gemm::q8::ActiveTargetName());
  // Listing the targets must not lift the limit (nor list targets above it): Highway 1.0's
  // hwy::SupportedTargets() re-chooses the dispatch target from everything the CPU has (the
  // lists choose again).
  for (int pass = 0; pass < 3; ++pass) {
    if (pass == 1) CHECK_FALSE(dllm::gemm::q8::SupportedTargets().empty());
    if (pass == 2) CHECK_FALSE(dllm::kernels::SupportedTargets().empty());
    INFO("targets listed before: " << (pass == 0 ? "none" : pass == 1 ? "q8" : "kernels"));
    if (cpu == "avx2" || cpu == "avx2_vnni") {
      CHECK_FALSE(dllm::gemm::Bf16MatmulAvailable());
      const std::string want =
          cpu == "avx2_vnni" && dllm::gemm::avx_vnni::Usable() ? "AVX2+VNNI" : "AVX2";
      CHECK(std::string(dllm::gemm::q8::ActiveTargetName()) == want);
      CHECK(std::string(dllm::kernels::ActiveTargetName()) == "AVX2");
      if (pass == 1) {
        for (int64_t t : dllm::gemm::q8::SupportedTargets()) {
          CHECK((t & (HWY_AVX3 | HWY_AVX3_DL)) == 0);
        }
      }
    } else if (cpu == "avx512") {
      CHECK(std::string(dllm::gemm::q8::ActiveTargetName()).find("AMX") == std::string::npos);
      // oneDNN up to AVX512_CORE_VNNI has no bf16 instructions, only its slow emulation.
      CHECK_FALSE(dllm::gemm::Bf16MatmulAvailable());
    } else {
#if defined(__x86_64__) && defined(__GNUC__)
      // Unlimited: bf16 matmuls exactly where the CPU has bf16 instructions (every CPU with
      // AMX-BF16 also has AVX512_BF16).
      __builtin_cpu_init();
      CHECK(dllm::gemm::Bf16MatmulAvailable() == (__builtin_cpu_supports("avx512bf16") != 0));
#endif
    }
  }
}

TEST_CASE("Primitives and scratch are reused after warm-up") {
  dllm::Rng rng(6);
  Options o;
  o.row_block = 32;  // so m = 40 uses both the fixed-M and the runtime-M primitive
  Context ctx(o);
  for (GgmlType type : kTypes) {
    const TestWeight w = MakeWeight(rng, type, 48, 64);
    const std::vector<float> x = Random(rng, 100 * 64);
    std::vector<float> y(100 * 48);
    // Warm-up covers every shape class: full blocks + remainder, accumulate on and off, and
    // few rows (BF16: the AMX-BF16 kernel where available, with its own scratch).
    dllm::gemm::Linear(ctx, x.data(), 40, 64, w.View(), y.data(), 48, false);
    dllm::gemm::Linear(ctx, x.data(), 40, 64, w.View(), y.data(), 48, true);
    dllm::gemm::Linear(ctx, x.data(), 7, 64, w.View(), y.data(), 48, false);
    dllm::gemm::LinearT(ctx, x.data(), 40, 48, w.View(), y.data(), 64);
    const int64_t prims = ctx.primitives_created(), growths = ctx.scratch_growths();
    CHECK(prims > 0);
    for (int64_t m : {1, 7, 31, 32, 40, 64, 100, 40}) {
      dllm::gemm::Linear(ctx, x.data(), m, 64, w.View(), y.data(), 48, m % 2 == 0);
      dllm::gemm::LinearT(ctx, x.data(), std::min<int64_t>(m, 40), 48, w.View(), y.data(), 64);
    }
    INFO(dllm::GgmlTypeName(type));
    CHECK(ctx.primitives_created() == prims);
    CHECK(ctx.scratch_growths() == growths);
  }
  // Sgemm: one primitive per (transposition, beta, alpha != 1); sizes are runtime.
  const std::vector<float> a = Random(rng, 64 * 64), b = Random(rng, 64 * 64);
  std::vector<float> c(64 * 64);
  dllm::gemm::Sgemm(ctx, 8, 9, 10, a.data(), 10, false, b.data(), 10, true, c.data(), 9, 0.5f, 0);
  const int64_t prims = ctx.primitives_created();
  dllm::gemm::Sgemm(ctx, 64, 33, 17, a.data(), 64, false, b.data(), 17, true, c.data(), 40, 0.25f,
                    0);
  dllm::gemm::Sgemm(ctx, 1, 64, 64, a.data(), 64, false, b.data(), 64, true, c.data(), 64, 2.0f,
                    0);
  CHECK(ctx.primitives_created() == prims);
}

TEST_CASE("Two Contexts on two threads give correct results concurrently") {
  auto work = [](uint64_t seed, int* failures) {
    dllm::Rng rng(seed);
    Context ctx;
    const Shape s{37, 96, 80};
    for (int iter = 0; iter < 6; ++iter) {
      for (GgmlType type : kTypes) {
        const TestWeight w = MakeWeight(rng, type, s.n, s.k);
        const std::vector<float> x = Random(rng, s.m * s.k);
        std::vector<float> y(s.m * s.n), yt(s.m * s.k);
        dllm::gemm::Linear(ctx, x.data(), s.m, s.k, w.View(), y.data(), s.n);
        dllm::gemm::LinearT(ctx, y.data(), s.m, s.n, w.View(), yt.data(), s.k);
        // Check Linear against the reference (doctest assertions are not thread-safe).
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.n; ++j) {
            double acc = 0, abs = 0;
            for (int64_t c = 0; c < s.k; ++c) {
              const double xv = type == GgmlType::kBF16 ? RoundToBf16(x[i * s.k + c])
                                                        : x[i * s.k + c];
              acc += xv * w.value[j * s.k + c];
              abs += std::fabs(xv * w.value[j * s.k + c]);
            }
            if (!(std::fabs(y[i * s.n + j] - acc) <= F32Tol(s.k) * abs + 1e-30)) ++*failures;
          }
        }
        // LinearT of the result against the reference (F16: bf16 tiles, gemm.h).
        const bool round = type != GgmlType::kF32;
        for (int64_t i = 0; i < s.m; ++i) {
          for (int64_t j = 0; j < s.k; ++j) {
            double acc = 0, abs = 0;
            for (int64_t r = 0; r < s.n; ++r) {
              const double yv = round ? RoundToBf16(y[i * s.n + r]) : y[i * s.n + r];
              const double wv = type == GgmlType::kF16 ? RoundToBf16(w.value[r * s.k + j])
                                                       : w.value[r * s.k + j];
              acc += yv * wv;
              abs += std::fabs(yv * w.value[r * s.k + j]);
            }
            if (!(std::fabs(yt[i * s.k + j] - acc) <= F32Tol(s.n) * abs + 1e-30)) ++*failures;
          }
        }
      }
    }
  };
  int failures_a = 0, failures_b = 0;
  std::thread ta(work, 100, &failures_a), tb(work, 200, &failures_b);
  ta.join();
  tb.join();
  CHECK(failures_a == 0);
  CHECK(failures_b == 0);
}

TEST_CASE("Bad arguments throw dllm::Error") {
  Context ctx;
  std::vector<float> x(64), y(64), w(64);
  const WeightView good{GgmlType::kF32, w.data(), 4, 8};
  auto code_of = [](auto&& fn) {
    try {
      fn();
    } catch (const dllm::Error& e) {
      return e.code();
    }
    return dllm::ErrorCode::kInternal;  // "did not throw"
  };
  using dllm::ErrorCode;
  using dllm::gemm::Linear;
  using dllm::gemm::LinearT;
  CHECK(code_of([&] { Linear(ctx, x.data(), 2, 7, good, y.data(), 4); }) ==
        ErrorCode::kInvalidArgument);  // ldx < K
  CHECK(code_of([&] { Linear(ctx, x.data(), 2, 8, good, y.data(), 3); }) ==
        ErrorCode::kInvalidArgument);  // ldy < N
  CHECK(code_of([&] { Linear(ctx, nullptr, 2, 8, good, y.data(), 4); }) ==
        ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { Linear(ctx, x.data(), -1, 8, good, y.data(), 4); }) ==
        ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { Linear(ctx, x.data(), 2, 8, WeightView{GgmlType::kF32, nullptr, 4, 8},
                             y.data(), 4); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { Linear(ctx, x.data(), 2, 8, WeightView{GgmlType::kF32, w.data(), 0, 8},
                             y.data(), 4); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { LinearT(ctx, x.data(), 2, 3, good, y.data(), 8); }) ==
        ErrorCode::kInvalidArgument);  // ldx < N
  // Q8_0 rows hold whole blocks of 32 values.
  CHECK(code_of([&] { Linear(ctx, x.data(), 1, 8, WeightView{GgmlType::kQ8_0, w.data(), 1, 8},
                             y.data(), 1); }) == ErrorCode::kInvalidArgument);
  // Ids that are not ggml types, and types nothing can compute with.
  CHECK(code_of([&] { Linear(ctx, x.data(), 1, 8,
                             WeightView{static_cast<GgmlType>(77), w.data(), 1, 8}, y.data(),
                             1); }) == ErrorCode::kUnsupported);
  CHECK(code_of([&] { Linear(ctx, x.data(), 1, 8, WeightView{GgmlType::kI32, w.data(), 1, 8},
                             y.data(), 1); }) == ErrorCode::kUnsupported);
  CHECK(code_of([&] { dllm::gemm::Sgemm(ctx, 2, 2, 2, x.data(), 1, false, w.data(), 2, false,
                                        y.data(), 2, 1, 0); }) == ErrorCode::kInvalidArgument);
  CHECK(code_of([&] { Context bad(Options{0}); }) == ErrorCode::kInvalidArgument);
  // m == 0 is a no-op even with null activations.
  CHECK_NOTHROW(Linear(ctx, nullptr, 0, 8, good, nullptr, 4));
}
