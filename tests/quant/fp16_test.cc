// fp16.h against independent oracles: exact decoding of all 65536 patterns of each format, and
// round-to-nearest-even encoding (computed here with double arithmetic) over a wide sample of
// float32 patterns, every halfway point, and the edges.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <ios>

#include "quant/fp16.h"

using dllm::quant::Bf16ToF32;
using dllm::quant::F16ToF32;
using dllm::quant::F32ToBf16;
using dllm::quant::F32ToF16;

namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// Value of a finite F16 pattern, computed in double.
double F16Value(uint16_t h) {
  const int exp = (h >> 10) & 0x1f;
  const int mant = h & 0x3ff;
  const double mag = exp == 0 ? std::ldexp(mant, -24) : std::ldexp(1024 + mant, exp - 25);
  return (h & 0x8000) ? -mag : mag;
}

// Round-to-nearest-even encoding of finite f into a format with `mant_bits` stored mantissa bits,
// minimum normal exponent `emin` and largest finite value `max_finite`, returning sign, exponent
// field and mantissa packed like F16/BF16 (exponent bias 1 - emin).
uint16_t OracleEncode(float f, int mant_bits, int emin, double max_finite) {
  const int exp_bits = mant_bits == 10 ? 5 : 8;
  const uint16_t s = std::signbit(f) ? static_cast<uint16_t>(1u << (mant_bits + exp_bits)) : 0;
  const double a = std::fabs(static_cast<double>(f));
  const uint16_t inf = static_cast<uint16_t>(((1u << exp_bits) - 1) << mant_bits);
  if (a == 0) return s;
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1): leading bit weight 2^(e-1)
  int lead = e - 1;
  if (lead < emin) lead = emin;
  const double ulp = std::ldexp(1.0, lead - mant_bits);
  const double q = std::nearbyint(a / ulp);  // default rounding mode: nearest even
  const double v = q * ulp;
  if (v > max_finite) return static_cast<uint16_t>(s | inf);
  // Re-derive the fields from the rounded value.
  if (v < std::ldexp(1.0, emin)) return static_cast<uint16_t>(s | static_cast<uint16_t>(q));
  int ve;
  std::frexp(v, &ve);
  const int biased = ve - 1 - emin + 1;
  const double frac = v / std::ldexp(1.0, ve - 1) - 1.0;  // in [0, 1)
  const uint32_t m = static_cast<uint32_t>(std::ldexp(frac, mant_bits));
  return static_cast<uint16_t>(s | (biased << mant_bits) | m);
}

uint16_t OracleF16(float f) { return OracleEncode(f, 10, -14, 65504.0); }
uint16_t OracleBf16(float f) {
  return OracleEncode(f, 7, -126, static_cast<double>(FromBits(0x7f7f0000u)));
}

}  // namespace

TEST_CASE("F16ToF32 decodes all 65536 patterns exactly") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t x = static_cast<uint16_t>(h);
    const float f = F16ToF32(x);
    const int exp = (h >> 10) & 0x1f;
    if (exp == 0x1f) {
      if ((h & 0x3ff) == 0) {
        CHECK(std::isinf(f));
      } else {
        CHECK(std::isnan(f));
      }
      CHECK(std::signbit(f) == ((h & 0x8000) != 0));
      continue;
    }
    INFO("h = 0x" << std::hex << h);
    REQUIRE(static_cast<double>(f) == F16Value(x));
    REQUIRE(std::signbit(f) == ((h & 0x8000) != 0));
    // Finite values come back unchanged.
    REQUIRE(F32ToF16(f) == x);
  }
}

TEST_CASE("Bf16ToF32 is exact and F32ToBf16 inverts it on all finite patterns") {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t x = static_cast<uint16_t>(h);
    const float f = Bf16ToF32(x);
    REQUIRE(Bits(f) == h << 16);
    if ((h & 0x7f80) != 0x7f80) REQUIRE(F32ToBf16(f) == x);  // finite, subnormals included
  }
}

TEST_CASE("F32ToF16 and F32ToBf16 round to nearest even (oracle comparison)") {
  // A spread of float32 patterns covering every exponent, both signs.
  uint64_t checked = 0;
  for (uint64_t u = 0; u < (uint64_t{1} << 32); u += 65521) {
    const uint32_t bits = static_cast<uint32_t>(u);
    const float f = FromBits(bits);
    if (!std::isfinite(f)) continue;
    INFO("bits = 0x" << std::hex << bits);
    REQUIRE(F32ToF16(f) == OracleF16(f));
    REQUIRE(F32ToBf16(f) == OracleBf16(f));
    ++checked;
  }
  CHECK(checked > 60000);

  // Every F16 halfway point (exact in float32) and its float32 neighbours.
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    const float a = F16ToF32(static_cast<uint16_t>(h));
    const float b = F16ToF32(static_cast<uint16_t>(h + 1));
    const float mid = a + (b - a) / 2;  // exact: one more bit than F16 has
    for (float x : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e30f)}) {
      INFO("h = 0x" << std::hex << h << " x bits 0x" << Bits(x));
      REQUIRE(F32ToF16(x) == OracleF16(x));
      REQUIRE(F32ToF16(-x) == OracleF16(-x));
    }
    // The tie itself goes to the even neighbour.
    REQUIRE(F32ToF16(mid) == ((h & 1) ? h + 1 : h));
  }
}

TEST_CASE("F16/BF16 special values") {
  // Overflow: 65519.99 rounds down to 65504, 65520 (the tie with 65536) to Inf.
  CHECK(F32ToF16(65504.0f) == 0x7bff);
  CHECK(F32ToF16(std::nextafter(65520.0f, 0.0f)) == 0x7bff);
  CHECK(F32ToF16(65520.0f) == 0x7c00);
  CHECK(F32ToF16(-65520.0f) == 0xfc00);
  CHECK(F32ToF16(INFINITY) == 0x7c00);
  CHECK(F32ToF16(-INFINITY) == 0xfc00);
  CHECK(F32ToF16(1e30f) == 0x7c00);
  // Underflow: 2^-25 is the tie between 0 and the smallest subnormal: goes to 0 (even).
  CHECK(F32ToF16(0x1p-25f) == 0x0000);
  CHECK(F32ToF16(std::nextafter(0x1p-25f, 1.0f)) == 0x0001);
  CHECK(F32ToF16(-0x1p-25f) == 0x8000);
  CHECK(F32ToF16(0x3p-25f) == 0x0002);  // 1.5 ulp: tie, to even (2)
  CHECK(F32ToF16(-0.0f) == 0x8000);
  CHECK(F32ToF16(FromBits(1)) == 0x0000);  // float32 subnormal
  // The largest subnormal plus half an ulp rounds up into the smallest normal.
  CHECK(F32ToF16(0x7FFp-25f) == 0x0400);
  // NaN: quiet, sign kept (ggml_compute_fp32_to_fp16's 0x7E00).
  CHECK(F32ToF16(NAN) == 0x7e00);
  CHECK(F32ToF16(FromBits(0xffc00001u)) == 0xfe00);
  CHECK(F32ToF16(FromBits(0x7f800001u)) == 0x7e00);  // signalling NaN
  CHECK(std::isnan(F16ToF32(0x7e00)));

  // BF16: NaN keeps its top bits with the quiet bit forced; never turns into Inf.
  CHECK(F32ToBf16(FromBits(0x7f800001u)) == 0x7fc0);
  CHECK(F32ToBf16(FromBits(0xff800001u)) == 0xffc0);
  CHECK(F32ToBf16(FromBits(0x7fc00000u)) == 0x7fc0);
  CHECK(F32ToBf16(FromBits(0x7fa5ffffu)) == 0x7fe5);
  CHECK(F32ToBf16(INFINITY) == 0x7f80);
  CHECK(F32ToBf16(-INFINITY) == 0xff80);
  CHECK(F32ToBf16(FromBits(0x7f7fffffu)) == 0x7f80);  // FLT_MAX rounds to Inf
  CHECK(F32ToBf16(FromBits(0x7f7f7fffu)) == 0x7f7f);
  CHECK(F32ToBf16(FromBits(0x7f7f8000u)) == 0x7f80);  // tie, odd 0x7f7f -> even (Inf)
  CHECK(F32ToBf16(FromBits(0x3f808000u)) == 0x3f80);  // tie, even stays
  CHECK(F32ToBf16(FromBits(0x3f818000u)) == 0x3f82);  // tie, odd rounds up
  CHECK(F32ToBf16(FromBits(0x00008000u)) == 0x0000);  // subnormal tie to even 0, not flushed
  CHECK(F32ToBf16(FromBits(0x00018000u)) == 0x0002);
  CHECK(F32ToBf16(FromBits(0x80010001u)) == 0x8001);
  CHECK(F32ToBf16(-0.0f) == 0x8000);
}
