// The int8 path of gemm::Linear for block-quantized weights (src/gemm/qgemm*.{h,cc}):
//   * the weight decoding equals quant::DequantizeRow bit for bit (every type);
//   * every compiled and supported Highway target equals the scalar reference q8::ref::Linear
//     bit for bit (qgemm.h: every target performs the same f32 operations in the same order, the
//     integer dot products are exact), for odd M, N not a multiple of the tile, K of several
//     blocks, leading dimensions > width, accumulate on and off;
//   * with integer activations and power-of-two scales every f32 operation is exact, so the
//     result must equal the exact product: this pins the integer arithmetic itself;
//   * against the f32 product of the dequantized weights, within the bound that the activation
//     quantization implies (stated at ActivationBound).
// DLLM_GEMM_TEST_TARGETS=AVX2 (a comma-separated list of target names) restricts the per-target
// loops; ctest runs the int8 cases once more with only AVX2 and AVX2+VNNI
// (tests/gemm/CMakeLists.txt).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gemm/gemm.h"
#include "gemm/amx.h"
#include "gemm/avx_vnni.h"
#include "gemm/convert.h"
#include "gemm/qdecode.h"
#include "gemm/qgemm.h"
#include "quant/fp16.h"
#include "quant/quant.h"
#include "util/rng.h"

namespace {

using dllm::GgmlType;
using dllm::gemm::Context;
using dllm::gemm::Options;
using dllm::gemm::WeightView;
namespace q8 = dllm::gemm::q8;

constexpr double kU = 1.0 / (1 << 24);  // f32 unit roundoff

const GgmlType kQTypes[] = {GgmlType::kQ4_0, GgmlType::kQ4_1, GgmlType::kQ5_0, GgmlType::kQ5_1,
                            GgmlType::kQ8_0, GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K,
                            GgmlType::kQ5_K, GgmlType::kQ6_K};

bool IsK(GgmlType t) { return q8::GroupSize(t) == 16 || t == GgmlType::kQ4_K || t == GgmlType::kQ5_K; }

// ---- targets ---------------------------------------------------------------------------------

// A Highway target of the int8 path and whether its extra kernel runs: AMX in the AVX3_DL copy
// on AMX CPUs, AVX-VNNI in the AVX2 copy on CPUs with AVX-VNNI; both ways are tested.
struct Target {
  int64_t target;
  bool extra;
  std::string Name() const {
    const std::string name = q8::TargetName(target);
    if (!extra) return name;
    return name + (name == "AVX2" ? "+VNNI" : "+AMX");
  }
};

const std::vector<Target>& Targets() {
  static const std::vector<Target> targets = [] {
    q8::SetTargetForTest(0);
    std::vector<Target> all, chosen;
    for (int64_t t : q8::SupportedTargets()) {
      const std::string name = q8::TargetName(t);
      if ((name == "AVX3_DL" && dllm::gemm::amx::Usable()) ||
          (name == "AVX2" && dllm::gemm::avx_vnni::Usable())) {
        all.push_back({t, true});
      }
      all.push_back({t, false});
    }
    const char* env = std::getenv("DLLM_GEMM_TEST_TARGETS");
    for (const Target& t : all) {
      if (env == nullptr || *env == '\0' ||
          ("," + std::string(env) + ",").find("," + t.Name() + ",") != std::string::npos) {
        chosen.push_back(t);
      }
    }
    return chosen;
  }();
  return targets;
}

std::map<std::string, int>& TargetRuns() {
  static auto* runs = [] {
    auto* m = new std::map<std::string, int>();
    std::atexit([] {
      std::printf("gemm_test int8: per-target checks:");
      for (const auto& [name, count] : TargetRuns()) std::printf(" %s=%d", name.c_str(), count);
      std::printf("\n");
    });
    return m;
  }();
  return *runs;
}

void ForEachTarget(const std::function<void(const std::string&)>& fn) {
  for (const Target& target : Targets()) {
    const std::string name = target.Name();
    q8::SetTargetForTest(target.target);
    dllm::gemm::amx::SetEnabled(target.extra);
    dllm::gemm::avx_vnni::SetEnabled(target.extra);
    INFO("target " << name);
    REQUIRE(std::string(q8::ActiveTargetName()) == name);
    fn(name);
    ++TargetRuns()[name];
  }
  q8::SetTargetForTest(0);
  dllm::gemm::amx::SetEnabled(true);
  dllm::gemm::avx_vnni::SetEnabled(true);
}

// ---- data ------------------------------------------------------------------------------------

// n rows of k values: random values quantized by quant::QuantizeRow (realistic blocks).
std::vector<uint8_t> QuantizedWeight(dllm::Rng& rng, GgmlType type, int64_t n, int64_t k) {
  const size_t rb = dllm::quant::RowBytes(type, k);
  std::vector<uint8_t> bytes(rb * static_cast<size_t>(n));
  std::vector<float> row(static_cast<size_t>(k));
  for (int64_t r = 0; r < n; ++r) {
    for (float& f : row) f = 2.0f * rng.Uniform01() - 1.0f;
    dllm::quant::QuantizeRow(type, row.data(), bytes.data() + r * rb, k);
  }
  return bytes;
}

// Offsets of the fp16 fields of one block: {scale fields}, {min/offset fields}.
struct F16Fields {
  std::vector<int> scale, offset;
  int block_bytes, block_values;
};
F16Fields FieldsOf(GgmlType t) {
  switch (t) {
    case GgmlType::kQ4_0: return {{0}, {}, 18, 32};
    case GgmlType::kQ4_1: return {{0}, {2}, 20, 32};
    case GgmlType::kQ5_0: return {{0}, {}, 22, 32};
    case GgmlType::kQ5_1: return {{0}, {2}, 24, 32};
    case GgmlType::kQ8_0: return {{0}, {}, 34, 32};
    case GgmlType::kQ2_K: return {{80}, {82}, 84, 256};
    case GgmlType::kQ3_K: return {{108}, {}, 110, 256};
    case GgmlType::kQ4_K: return {{0}, {2}, 144, 256};
    case GgmlType::kQ5_K: return {{0}, {2}, 176, 256};
    default: return {{208}, {}, 210, 256};  // Q6_K
  }
}

void PutF16(uint8_t* p, float f) {
  const uint16_t h = dllm::quant::F32ToF16(f);
  std::memcpy(p, &h, 2);
}

// Random bytes in every quant/scale bit (so Q8_0 includes −128, Q6_K negative scales, ...), with
// the fp16 fields set to `scale` and `offset` (finite).
std::vector<uint8_t> RawWeight(dllm::Rng& rng, GgmlType type, int64_t n, int64_t k,
                               const std::function<float()>& scale,
                               const std::function<float()>& offset) {
  const F16Fields f = FieldsOf(type);
  std::vector<uint8_t> bytes(static_cast<size_t>(n * k / f.block_values * f.block_bytes));
  for (auto& b : bytes) b = static_cast<uint8_t>(rng.Next() >> 56);
  for (size_t at = 0; at < bytes.size(); at += f.block_bytes) {
    for (int o : f.scale) PutF16(&bytes[at + o], scale());
    for (int o : f.offset) PutF16(&bytes[at + o], offset());
  }
  return bytes;
}

std::vector<float> Dequantized(GgmlType type, const std::vector<uint8_t>& bytes, int64_t n,
                               int64_t k) {
  const size_t rb = dllm::quant::RowBytes(type, k);
  std::vector<float> v(static_cast<size_t>(n * k));
  for (int64_t r = 0; r < n; ++r) {
    dllm::quant::DequantizeRow(type, bytes.data() + r * rb, v.data() + r * k, k);
  }
  return v;
}

std::vector<float> RandomX(dllm::Rng& rng, int64_t rows, int64_t ld) {
  std::vector<float> x(static_cast<size_t>(rows * ld));
  for (float& f : x) f = 3.0f * rng.Uniform01() - 1.5f;
  // Some rows with a wide dynamic range, one block of zeros (d = 0).
  for (int64_t i = 0; i < rows; i += 3) {
    for (int64_t c = 0; c < ld; c += 7) x[i * ld + c] *= 40.0f;
  }
  if (rows > 0 && ld >= 32) std::fill(x.begin(), x.begin() + 32, 0.0f);
  return x;
}

Options Int8Options(int64_t tile_cols) {
  Options o;
  o.int8_tile_cols = tile_cols;
  return o;
}

// Linear of m rows of k values on every target, bitwise against the scalar reference (y
// n wide, tile_cols the Context's tile width).
void CheckTargetsEqualReference(const std::vector<float>& x, int64_t m, int64_t k,
                                const WeightView& view, int64_t tile_cols) {
  const int64_t n = view.n;
  std::vector<float> want(static_cast<size_t>(m * n));
  q8::ref::Linear(x.data(), m, k, view, want.data(), n, false);
  ForEachTarget([&](const std::string&) {
    Context ctx(Int8Options(tile_cols));
    std::vector<float> y(static_cast<size_t>(m * n));
    dllm::gemm::Linear(ctx, x.data(), m, k, view, y.data(), n);
    int bad = 0;
    for (size_t i = 0; i < y.size(); ++i) bad += std::memcmp(&y[i], &want[i], 4) != 0;
    INFO(dllm::GgmlTypeName(view.type) << " m=" << m);
    CHECK(bad == 0);
  });
}

struct Case {
  int64_t m, n, k_blocks;  // k = k_blocks × the type's block size
};

}  // namespace

TEST_CASE("int8: weight decoding equals quant::DequantizeRow bit for bit") {
  dllm::Rng rng(11);
  for (GgmlType type : kQTypes) {
    INFO(dllm::GgmlTypeName(type));
    const int64_t k = IsK(type) ? 512 : 96, n = 64;
    for (int variant = 0; variant < 2; ++variant) {
      // Quantizer output, and raw random bits (every code, negative scales, Q8_0's −128).
      const std::vector<uint8_t> bytes =
          variant == 0 ? QuantizedWeight(rng, type, n, k)
                       : RawWeight(rng, type, n, k,
                                   [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.1f; },
                                   [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.2f; });
      const std::vector<float> want = Dequantized(type, bytes, n, k);
      const size_t rb = dllm::quant::RowBytes(type, k);
      const int group = q8::GroupSize(type);
      std::vector<int8_t> q(static_cast<size_t>(k));
      std::vector<float> s(static_cast<size_t>(k / group)), o(static_cast<size_t>(k / group));
      int bad = 0;
      for (int64_t r = 0; r < n; ++r) {
        q8::DecodeRow(type, bytes.data() + r * rb, k, q.data(), s.data(), o.data());
        for (int64_t j = 0; j < k; ++j) {
          const float sq = s[j / group] * static_cast<float>(q[j]);  // exact
          const float got = q8::HasOffset(type) ? sq + o[j / group] : sq;
          bad += std::memcmp(&got, &want[r * k + j], 4) != 0;
        }
      }
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("DequantizeRowsBf16 is bf16 of the reference dequantizer on every target") {
  dllm::Rng rng(21);
  for (GgmlType type : kQTypes) {
    INFO(dllm::GgmlTypeName(type));
    const int64_t k = IsK(type) ? 512 : 96, n = 37;
    const size_t rb = dllm::quant::RowBytes(type, k);
    // Quantizer output; raw bits with ordinary scales; raw bits with fp16 specials among the
    // scales and offsets (infinities, NaNs, subnormals, zeros of both signs).
    const float specials[] = {std::numeric_limits<float>::infinity(),
                              -std::numeric_limits<float>::infinity(),
                              std::numeric_limits<float>::quiet_NaN(), 6e-8f, -6e-8f, 0.0f, -0.0f,
                              65504.0f};
    auto special = [&] {
      return rng.Uniform01() < 0.3f ? specials[rng.Next() % 8]
                                    : (2.0f * rng.Uniform01() - 1.0f) * 0.1f;
    };
    for (int variant = 0; variant < 3; ++variant) {
      const std::vector<uint8_t> bytes =
          variant == 0   ? QuantizedWeight(rng, type, n, k)
          : variant == 1 ? RawWeight(rng, type, n, k,
                                     [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.1f; },
                                     [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.2f; })
                         : RawWeight(rng, type, n, k, special, special);
      const std::vector<float> want = Dequantized(type, bytes, n, k);
      ForEachTarget([&](const std::string&) {
        std::vector<uint16_t> got(static_cast<size_t>(n * k), 0xdead);
        q8::DequantizeRowsBf16(type, bytes.data(), rb, n, k, got.data());
        int bad = 0;
        for (size_t i = 0; i < got.size(); ++i) {
          const uint16_t w = dllm::gemm::F32ToBf16(want[i]);
          // A NaN's sign may differ (the offset is stored negated); any NaN must stay NaN.
          const bool nan_w = (w & 0x7fff) > 0x7f80, nan_g = (got[i] & 0x7fff) > 0x7f80;
          bad += nan_w ? !nan_g : got[i] != w;
        }
        CHECK(bad == 0);
      });
    }
  }
}

TEST_CASE("int8: every target equals the scalar reference bit for bit") {
  dllm::Rng rng(12);
  // n = 70 and 37 are not multiples of any column block; 300 rows leave a remainder of 0 and
  // 33 / 7 / 1 of 1, 3, 1 rows per 4-row block.
  // 100 rows: six 16-row AMX blocks and 4 rows; 3 groups (the AMX kernel's odd tail); 1030 rows:
  // past the fused path's limit with AMX (a 1024-row slab and a 6-row one on VNNI). 13 and 20
  // rows: one padded 16-row AMX block, and a full one plus a mostly padded one.
  const Case cases[] = {{1, 37, 2},   {7, 70, 3},   {33, 70, 2},   {256, 40, 2}, {300, 37, 1},
                        {100, 45, 3}, {1030, 21, 1}, {13, 37, 2},  {20, 45, 3}};
  const int64_t pad = 5;
  for (GgmlType type : kQTypes) {
    const int64_t bs = IsK(type) ? 256 : 32;
    for (const Case& c : cases) {
      const int64_t k = c.k_blocks * bs, ldx = k + pad, ldy = c.n + pad;
      const std::vector<uint8_t> wbytes = QuantizedWeight(rng, type, c.n, k);
      const WeightView view{type, wbytes.data(), c.n, k};
      const std::vector<float> x = RandomX(rng, c.m, ldx);
      std::vector<float> y0(static_cast<size_t>(c.m * ldy));
      for (float& f : y0) f = 2.0f * rng.Uniform01() - 1.0f;
      std::vector<float> want = y0, want_acc = y0;
      q8::ref::Linear(x.data(), c.m, ldx, view, want.data(), ldy, false);
      q8::ref::Linear(x.data(), c.m, ldx, view, want_acc.data(), ldy, true);
      ForEachTarget([&](const std::string&) {
        for (int64_t tile : {int64_t{256}, int64_t{40}}) {
          Context ctx(Int8Options(tile));
          for (bool acc : {false, true}) {
            std::vector<float> y = y0;
            dllm::gemm::Linear(ctx, x.data(), c.m, ldx, view, y.data(), ldy, acc);
            // Bitwise over the whole buffer: outputs equal, padding untouched.
            const std::vector<float>& w = acc ? want_acc : want;
            int bad = 0;
            for (size_t i = 0; i < y.size(); ++i) bad += std::memcmp(&y[i], &w[i], 4) != 0;
            INFO(dllm::GgmlTypeName(type) << " m=" << c.m << " n=" << c.n << " k=" << k
                                          << " tile=" << tile << (acc ? " acc" : ""));
            CHECK(bad == 0);
          }
        }
      });
    }
  }
}

TEST_CASE("int8: long rows in several K chunks equal the scalar reference bit for bit") {
  // K past every driver's chunk, and not a multiple of it: the VNNI drivers' 256/1024-value
  // chunks, LinearAmx's 1024-value chunks (several 16-row blocks: m = 40) and its whole-row
  // chunks of up to 4096 values (one block: m = 16), each with a shorter last chunk. n = 45: a
  // whole 32-column block (Q8_0 on AMX: tiles loaded in place from the blocks) and a part one.
  dllm::Rng rng(15);
  for (GgmlType type : kQTypes) {
    const int64_t k = IsK(type) ? 256 * 18 : 32 * 143, n = 45;
    const std::vector<uint8_t> wbytes = QuantizedWeight(rng, type, n, k);
    const WeightView view{type, wbytes.data(), n, k};
    for (int64_t m : {16, 40}) {
      const std::vector<float> x = RandomX(rng, m, k);
      std::vector<float> y0(static_cast<size_t>(m * n));
      for (float& f : y0) f = 2.0f * rng.Uniform01() - 1.0f;
      std::vector<float> want = y0;
      q8::ref::Linear(x.data(), m, k, view, want.data(), n, true);
      ForEachTarget([&](const std::string&) {
        Context ctx;
        std::vector<float> y = y0;
        dllm::gemm::Linear(ctx, x.data(), m, k, view, y.data(), n, true);
        int bad = 0;
        for (size_t i = 0; i < y.size(); ++i) bad += std::memcmp(&y[i], &want[i], 4) != 0;
        INFO(dllm::GgmlTypeName(type) << " m=" << m << " k=" << k);
        CHECK(bad == 0);
      });
    }
  }
}

TEST_CASE("int8: integer arithmetic is exact (exactly representable data)") {
  // Activations are integers with |x| = 127 once per 32-block (so d = 1, q = x exactly) and
  // |x| ≤ 1 elsewhere; weight scales are 2^-6 and offsets/mins 2^-7 multiples. Then every
  // value, product and partial sum is a multiple of 2^-7 below 2^17 (checked below), hence
  // exact in f32, and y must equal the exact product Σ x·ŵ.
  dllm::Rng rng(13);
  for (GgmlType type : kQTypes) {
    INFO(dllm::GgmlTypeName(type));
    const int64_t k = IsK(type) ? 512 : 256, n = 45, m = 9;
    const std::vector<uint8_t> wbytes = RawWeight(
        rng, type, n, k, [] { return 0.015625f; },
        [&] { return type == GgmlType::kQ4_1 || type == GgmlType::kQ5_1 ? -0.25f : 0.0078125f; });
    const std::vector<float> wv = Dequantized(type, wbytes, n, k);
    std::vector<float> x(static_cast<size_t>(m * k));
    for (int64_t i = 0; i < m * k; ++i) {
      x[i] = (i % 32 == 5) ? ((rng.Next() >> 63) ? 127.0f : -127.0f)
                           : static_cast<float>(static_cast<int>(rng.Next() % 3) - 1);
    }
    std::vector<double> exact(static_cast<size_t>(m * n));
    const int group = q8::GroupSize(type);
    const size_t rb = dllm::quant::RowBytes(type, k);
    std::vector<int8_t> q(static_cast<size_t>(k));
    std::vector<float> s(static_cast<size_t>(k / group)), o(static_cast<size_t>(k / group), 0.0f);
    double worst = 0;
    for (int64_t j = 0; j < n; ++j) {
      q8::DecodeRow(type, wbytes.data() + j * rb, k, q.data(), s.data(), o.data());
      for (int64_t i = 0; i < m; ++i) {
        double acc = 0, mag = 0;
        for (int64_t c = 0; c < k; ++c) {
          const double xv = x[i * k + c];
          acc += xv * wv[j * k + c];
          mag += std::fabs(xv) * (std::fabs(static_cast<double>(s[c / group]) * q[c]) +
                                  (q8::HasOffset(type) ? std::fabs(o[c / group]) : 0.0));
        }
        exact[i * n + j] = acc;
        worst = std::max(worst, mag);
      }
    }
    // Premise: every partial sum of the kernel's terms (s·q·x and offset terms, bounded in sum
    // by `worst`) is a multiple of 2^-7 below 2^17, hence exact in f32.
    REQUIRE(worst < std::ldexp(1.0, 24 - 7));
    ForEachTarget([&](const std::string&) {
      Context ctx(Int8Options(32));
      std::vector<float> y(static_cast<size_t>(m * n));
      dllm::gemm::Linear(ctx, x.data(), m, k, WeightView{type, wbytes.data(), n, k}, y.data(), n);
      int bad = 0;
      for (size_t i = 0; i < y.size(); ++i) bad += static_cast<double>(y[i]) != exact[i];
      CHECK(bad == 0);
    });
  }
}

// The largest exact sums the kernels form: every weight value at the type's largest magnitude
// (MaxAbsQ: Q8_0 −128, Q6_K −32, Q5_K 31, ...) and every activation at ±127 (255 or 1 where the
// AVX2 kernel shifts them to u8), so each vpmaddubsw lane of that kernel and each of its int16
// sums over Int16Span steps is as large as the type allows (32512 for Q8_0; 32640 for Q4_0, Q5_0
// and Q6_K, whose activations are shifted). One step too many would wrap; every target must
// still give the reference's bits.
TEST_CASE("int8: the largest integer sums are exact on every target") {
  for (GgmlType type : kQTypes) {
    INFO(dllm::GgmlTypeName(type));
    // A byte that puts every value at its extreme: 0x00 gives the most negative value of the
    // signed types (Q4_0 −8, Q5_0 −16, Q3_K −4, Q6_K −32), 0xff the largest of the unsigned ones
    // (Q4_1/Q4_K 15, Q5_1/Q5_K 31, Q2_K 3), 0x80 Q8_0's −128.
    const bool is_unsigned = q8::HasOffset(type);
    const uint8_t fill = type == GgmlType::kQ8_0 ? 0x80 : is_unsigned ? 0xff : 0x00;
    const F16Fields f = FieldsOf(type);
    const int64_t k = 2 * f.block_values, n = 19, m = 7;
    std::vector<uint8_t> wbytes(static_cast<size_t>(n * k / f.block_values * f.block_bytes), fill);
    for (size_t at = 0; at < wbytes.size(); at += f.block_bytes) {
      for (int o : f.scale) PutF16(&wbytes[at + o], 0.01f);
      for (int o : f.offset) PutF16(&wbytes[at + o], 0.02f);
      // Q6_K's int8 sub-block scales would be 0 (no product would matter): make them 1..16.
      if (type == GgmlType::kQ6_K) {
        for (int g = 0; g < 16; ++g) wbytes[at + 192 + g] = static_cast<uint8_t>(g + 1);
      }
    }
    // Check the premise on the decoded values.
    {
      std::vector<int8_t> q(static_cast<size_t>(k));
      std::vector<float> s(static_cast<size_t>(k / 16)), o(static_cast<size_t>(k / 16));
      q8::DecodeRow(type, wbytes.data(), k, q.data(), s.data(), o.data());
      for (int8_t v : q) REQUIRE(std::abs(int{v}) == q8::MaxAbsQ(type));
    }
    const WeightView view{type, wbytes.data(), n, k};
    for (float sign : {1.0f, -1.0f}) {
      // Constant rows: amax = |x|, so every quantized activation is ±127.
      const std::vector<float> x(static_cast<size_t>(m * k), sign * 0.75f);
      CheckTargetsEqualReference(x, m, k, view, 32);
    }
  }
}

// Bound against the f32 product with the dequantized weights ŵ (exact arithmetic):
//   activation quantization: q = RNE(fl(x · fl(1/d))), so |x − d·q| ≤ d·(1/2 + 127·2.01u)
//   ≤ 0.50004·d per element (d of its 32-block); it contributes ≤ Σ_b 0.50004·d_b·Σ_{j∈b}|ŵ_j|;
//   f32 arithmetic: per group one rounding of float(p)·d, one fma (two with an offset), and the
//   kernel uses s·q + o unrounded where ŵ is rounded once: ≤ (2·ng + 4)·u·Σ_j |x̂_j|(|s q_j| + |o|)
//   (x̂ = d·q), plus u·|y| for the final addition with accumulate.
TEST_CASE("int8: error against the dequantized f32 product stays within the quantization bound") {
  dllm::Rng rng(14);
  for (GgmlType type : kQTypes) {
    const int64_t bs = IsK(type) ? 256 : 32;
    const int group = q8::GroupSize(type);
    for (const Case& c : {Case{17, 70, 3}, Case{64, 33, 11}}) {
      const int64_t k = c.k_blocks * bs, ng = k / group;
      const std::vector<uint8_t> wbytes = QuantizedWeight(rng, type, c.n, k);
      const std::vector<float> wv = Dequantized(type, wbytes, c.n, k);
      const std::vector<float> x = RandomX(rng, c.m, k);
      std::vector<float> y(static_cast<size_t>(c.m * c.n));
      Context ctx;
      dllm::gemm::Linear(ctx, x.data(), c.m, k, WeightView{type, wbytes.data(), c.n, k}, y.data(),
                         c.n, false);
      const size_t rb = dllm::quant::RowBytes(type, k);
      std::vector<int8_t> wq(static_cast<size_t>(k)), xq(static_cast<size_t>(k));
      std::vector<float> s(static_cast<size_t>(ng)), o(static_cast<size_t>(ng), 0.0f),
          xd(static_cast<size_t>(k / 32));
      double worst = 0;
      int bad = 0;
      for (int64_t i = 0; i < c.m; ++i) {
        q8::ref::QuantizeRow(x.data() + i * k, k, xq.data(), xd.data());
        for (int64_t j = 0; j < c.n; ++j) {
          q8::DecodeRow(type, wbytes.data() + j * rb, k, wq.data(), s.data(), o.data());
          double exact = 0, quant_bound = 0, mag = 0;
          for (int64_t t = 0; t < k; ++t) {
            const double w = wv[j * k + t], xv = x[i * k + t];
            exact += xv * w;
            quant_bound += 0.50004 * xd[t / 32] * std::fabs(w);
            mag += std::fabs(xd[t / 32] * xq[t]) *
                   (std::fabs(static_cast<double>(s[t / group]) * wq[t]) +
                    (q8::HasOffset(type) ? std::fabs(o[t / group]) : 0.0));
          }
          const double tol = quant_bound + (2.0 * ng + 4) * kU * mag + 1e-30;
          const double err = std::fabs(y[i * c.n + j] - exact);
          worst = std::max(worst, err / tol);
          bad += !(err <= tol);
        }
      }
      INFO(dllm::GgmlTypeName(type) << " m=" << c.m << " n=" << c.n << " k=" << k
                                    << ": worst error / bound = " << worst);
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("int8: scratch stops growing after warm-up; off switch uses the dequant tiles") {
  dllm::Rng rng(15);
  Context ctx(Int8Options(48));
  for (GgmlType type : {GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ6_K}) {
    const int64_t k = 512, n = 100;
    const std::vector<uint8_t> wbytes = QuantizedWeight(rng, type, n, k);
    const WeightView view{type, wbytes.data(), n, k};
    const std::vector<float> x = RandomX(rng, 64, k);
    std::vector<float> y(64 * n), want(64 * n);
    dllm::gemm::Linear(ctx, x.data(), 64, k, view, y.data(), n);
    const int64_t growths = ctx.scratch_growths();
    for (int64_t m : {1, 5, 64, 31}) {
      dllm::gemm::Linear(ctx, x.data(), m, k, view, y.data(), n, m % 2 == 1);
    }
    INFO(dllm::GgmlTypeName(type));
    CHECK(ctx.scratch_growths() == growths);
  }
  // int8_quantized = false: the dequantized-tile path (f32 products of the exact weights).
  Options o;
  o.int8_quantized = false;
  Context deq(o);
  const int64_t k = 256, n = 20, m = 3;
  const std::vector<uint8_t> wbytes = QuantizedWeight(rng, GgmlType::kQ4_0, n, k);
  const std::vector<float> wv = Dequantized(GgmlType::kQ4_0, wbytes, n, k);
  const std::vector<float> x = RandomX(rng, m, k);
  std::vector<float> y(m * n);
  dllm::gemm::Linear(deq, x.data(), m, k, WeightView{GgmlType::kQ4_0, wbytes.data(), n, k},
                     y.data(), n);
  int bad = 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double exact = 0, mag = 0;
      for (int64_t t = 0; t < k; ++t) {
        exact += static_cast<double>(x[i * k + t]) * wv[j * k + t];
        mag += std::fabs(static_cast<double>(x[i * k + t]) * wv[j * k + t]);
      }
      bad += !(std::fabs(y[i * n + j] - exact) <= (k + 2) * kU * mag);
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("int8: two Contexts on two threads agree with the reference") {
  dllm::Rng seed_rng(16);
  const int64_t m = 37, n = 90, k = 512;
  const std::vector<uint8_t> wbytes = QuantizedWeight(seed_rng, GgmlType::kQ5_K, n, k);
  const WeightView view{GgmlType::kQ5_K, wbytes.data(), n, k};
  auto work = [&](uint64_t seed, int* failures) {
    dllm::Rng rng(seed);
    Context ctx(Int8Options(64));
    for (int iter = 0; iter < 4; ++iter) {
      const std::vector<float> x = RandomX(rng, m, k);
      std::vector<float> y(m * n), want(m * n);
      dllm::gemm::Linear(ctx, x.data(), m, k, view, y.data(), n);
      q8::ref::Linear(x.data(), m, k, view, want.data(), n, false);
      for (size_t i = 0; i < y.size(); ++i) *failures += std::memcmp(&y[i], &want[i], 4) != 0;
    }
  };
  int fa = 0, fb = 0;
  std::thread ta(work, 1, &fa), tb(work, 2, &fb);
  ta.join();
  tb.join();
  CHECK(fa == 0);
  CHECK(fb == 0);
}

TEST_CASE("int8: DecodeScales equals DecodeRow's scales and offsets bit for bit") {
  dllm::Rng rng(17);
  for (GgmlType type : kQTypes) {
    INFO(dllm::GgmlTypeName(type));
    const int64_t k = IsK(type) ? 512 : 96, n = 16;
    const std::vector<uint8_t> bytes = RawWeight(
        rng, type, n, k, [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.1f; },
        [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.2f; });
    const size_t rb = dllm::quant::RowBytes(type, k);
    const int64_t ng = k / q8::GroupSize(type);
    std::vector<int8_t> q(static_cast<size_t>(k));
    std::vector<float> s(ng), o(ng, 0.0f), s2(ng), o2(ng, 0.0f);
    int bad = 0;
    for (int64_t r = 0; r < n; ++r) {
      q8::DecodeRow(type, bytes.data() + r * rb, k, q.data(), s.data(), o.data());
      q8::DecodeScales(type, bytes.data() + r * rb, k, s2.data(), o2.data());
      bad += std::memcmp(s.data(), s2.data(), 4 * ng) != 0;
      bad += std::memcmp(o.data(), o2.data(), 4 * ng) != 0;
    }
    CHECK(bad == 0);
  }
}

// The fused small-M path (m ≤ 64, on AVX2 m ≤ 256: per-column-block unpacking in K chunks,
// accumulators carried across chunks) and the register decoders of the AVX-512 targets: every m
// from 1 to 33, N with partial column blocks (one lane of a 16-column half; 13 lanes; 6 columns),
// K that leaves a partial last chunk on every target (1056 = 4·256 + 32 = 1024 + 32; 1280 = 5·256
// = 1024 + 256).
TEST_CASE("int8: small m (fused path) equals the reference on every target, m = 1..33") {
  dllm::Rng rng(18);
  const int64_t pad = 3, max_m = 33;
  for (GgmlType type : kQTypes) {
    for (int64_t n : {int64_t{17}, int64_t{45}, int64_t{70}}) {
      const int64_t k = IsK(type) ? (n == 45 ? 1280 : 256) : (n == 45 ? 1056 : 96);
      const int64_t ldx = k + pad, ldy = n + pad;
      const std::vector<uint8_t> wbytes =
          n == 17 ? RawWeight(rng, type, n, k,
                              [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.1f; },
                              [&] { return (2.0f * rng.Uniform01() - 1.0f) * 0.2f; })
                  : QuantizedWeight(rng, type, n, k);
      const WeightView view{type, wbytes.data(), n, k};
      const std::vector<float> x = RandomX(rng, max_m, ldx);
      std::vector<float> y0(static_cast<size_t>(max_m * ldy));
      for (float& f : y0) f = 2.0f * rng.Uniform01() - 1.0f;
      // Rows are independent: the reference over max_m rows serves every prefix m.
      std::vector<float> want = y0, want_acc = y0;
      q8::ref::Linear(x.data(), max_m, ldx, view, want.data(), ldy, false);
      q8::ref::Linear(x.data(), max_m, ldx, view, want_acc.data(), ldy, true);
      ForEachTarget([&](const std::string&) {
        Context ctx;
        int bad = 0;
        for (int64_t m = 1; m <= max_m; ++m) {
          const bool acc = m % 2 == 1;
          std::vector<float> y = y0;
          dllm::gemm::Linear(ctx, x.data(), m, ldx, view, y.data(), ldy, acc);
          const std::vector<float>& w = acc ? want_acc : want;
          for (int64_t i = 0; i < max_m * ldy; ++i) {
            const float& expect = i < m * ldy ? w[i] : y0[i];  // rows beyond m untouched
            bad += std::memcmp(&y[i], &expect, 4) != 0;
          }
        }
        INFO(dllm::GgmlTypeName(type) << " n=" << n << " k=" << k);
        CHECK(bad == 0);
      });
    }
  }
}

// fp16 scale fields with subnormals, zeros of both signs, infinities and NaNs (quiet and
// signaling): the SIMD scale conversion must give the software conversion's bits, so the whole
// result (NaNs included) equals the reference bitwise, on both paths.
TEST_CASE("int8: special fp16 scales give the reference's bits on every target") {
  dllm::Rng rng(19);
  const uint16_t specials[] = {0x0001, 0x03ff, 0x8200, 0x0000, 0x8000, 0x7c00,
                               0xfc00, 0x7e00, 0x7c01, 0xfd55, 0x3c00, 0x2e66};
  for (GgmlType type : kQTypes) {
    const F16Fields f = FieldsOf(type);
    const int64_t k = IsK(type) ? 512 : 128, n = 37;
    std::vector<uint8_t> wbytes = QuantizedWeight(rng, type, n, k);
    for (size_t at = 0, i = 0; at < wbytes.size(); at += f.block_bytes, ++i) {
      // Mostly ordinary blocks (so not every output is NaN), every fourth one special.
      if (i % 4 != 1) continue;
      for (int o : f.scale) std::memcpy(&wbytes[at + o], &specials[(i / 4) % 12], 2);
      for (int o : f.offset) std::memcpy(&wbytes[at + o], &specials[(i / 4 + 5) % 12], 2);
    }
    const WeightView view{type, wbytes.data(), n, k};
    for (int64_t m : {int64_t{5}, int64_t{70}}) {
      CheckTargetsEqualReference(RandomX(rng, m, k), m, k, view, 64);
    }
  }
}

// Non-finite activations (found by tests/fuzz/fuzz_qgemm): a NaN anywhere in a 32-value block
// makes that block's d NaN, so the row's outputs are NaN on every target, as an f32 product's
// would be (the SIMD quantizer once took max|x| with an order-dependent NaN rule, so a NaN in
// some lanes was skipped and the row came out finite and different from the reference). An
// infinity gives the reference's bits too. Other rows are untouched by either.
TEST_CASE("int8: NaN and infinite activations give the reference's results on every target") {
  dllm::Rng rng(23);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (GgmlType type : kQTypes) {
    const int64_t k = IsK(type) ? 256 : 96, n = 21;
    const std::vector<uint8_t> wbytes = QuantizedWeight(rng, type, n, k);
    const WeightView view{type, wbytes.data(), n, k};
    // Rows 0..5: a NaN at one lane of block 1 (first, middle, last of each 16-value half);
    // row 6: +inf; row 7: −inf; row 8: clean.
    const int lanes[] = {0, 7, 15, 16, 24, 31};
    const int64_t m = 9;
    std::vector<float> x = RandomX(rng, m, k);
    for (int r = 0; r < 6; ++r) x[static_cast<size_t>(r * k + 32 + lanes[r])] = nan;
    x[static_cast<size_t>(6 * k + 40)] = inf;
    x[static_cast<size_t>(7 * k + 3)] = -inf;
    std::vector<float> want(static_cast<size_t>(m * n));
    q8::ref::Linear(x.data(), m, k, view, want.data(), n, false);
    for (int64_t i = 0; i < 6 * n; ++i) CHECK(std::isnan(want[static_cast<size_t>(i)]));
    ForEachTarget([&](const std::string&) {
      for (int64_t rows : {m, int64_t{300}}) {  // the fused and (AVX2) the full-tile path
        std::vector<float> xm(static_cast<size_t>(rows * k));
        for (int64_t i = 0; i < rows * k; ++i) {
          xm[static_cast<size_t>(i)] = x[static_cast<size_t>(i % (m * k))];
        }
        Context ctx;
        std::vector<float> y(static_cast<size_t>(rows * n));
        dllm::gemm::Linear(ctx, xm.data(), rows, k, view, y.data(), n);
        int bad = 0;
        for (int64_t i = 0; i < rows * n; ++i) {
          const float got = y[static_cast<size_t>(i)], w = want[static_cast<size_t>(i % (m * n))];
          bad += std::isnan(w) ? !std::isnan(got) : std::memcmp(&got, &w, 4) != 0;
        }
        INFO(dllm::GgmlTypeName(type) << " rows=" << rows);
        CHECK(bad == 0);
      }
    });
  }
}

// The benchmarks' kernel-ceiling timer (q8::TimeKernel, step_bench / gemm_bench) runs the kernel
// each target dispatches to, for every block-quantized type, on buffers of its own: it must
// report time and the operations of the calls it made (under ASan, within those buffers).
TEST_CASE("int8: the kernel-ceiling timer runs every type's kernel on every target") {
  ForEachTarget([&](const std::string& name) {
    for (GgmlType type : kQTypes) {
      INFO(GgmlTypeName(type));
      const q8::KernelTiming one = q8::TimeKernel(type, 1);
      const q8::KernelTiming three = q8::TimeKernel(type, 3);
      CHECK(one.seconds > 0);
      CHECK(one.ops > 0);
      CHECK(three.ops == doctest::Approx(3 * one.ops));
      // The AMX kernel serves 32-value groups where the target has it; its call is the
      // 256 × 32 × 256 step, the register kernels' 256 rows × one column block (8 columns on
      // AVX2) × K = 2816. Plain AVX2 runs two column blocks at once for the types whose whole
      // group fits one int16 span (KernelPair), and so does the timer.
      if (q8::GroupSize(type) == 32 && name == "AVX3_DL+AMX") {
        CHECK(one.ops == 2.0 * 256 * 32 * 256);
      }
      if (name == "AVX2") {
        const bool pairs = type == GgmlType::kQ4_0 || type == GgmlType::kQ4_1 ||
                           type == GgmlType::kQ4_K || type == GgmlType::kQ2_K ||
                           type == GgmlType::kQ3_K;
        CHECK(one.ops == 2.0 * 256 * (pairs ? 16 : 8) * 2816);
      }
    }
  });
  // Types the int8 path does not take, and a negative count: nothing runs.
  for (GgmlType type : {GgmlType::kF32, GgmlType::kBF16, GgmlType::kQ8_K}) {
    CHECK(q8::TimeKernel(type, 1).ops == 0);
  }
  CHECK(q8::TimeKernel(GgmlType::kQ8_0, -1).ops == 0);
}
