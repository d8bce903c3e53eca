// dllm RNG v1: xoshiro256** seeded by SplitMix64, exactly as docs/sampler.md defines it, so the
// numpy and PyTorch reference samplers reproduce the engine's random draws bit for bit.
#pragma once

#include <cstdint>

namespace dllm {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { Seed(seed); }

  void Seed(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& s : s_) {
      x += 0x9E3779B97F4A7C15ull;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      s = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // A float in [0, 1) with 24 random bits (exact in float32).
  float Uniform01() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }

  // An integer in [0, n) for 1 <= n < 2^32 (multiply-shift; no rejection, so draws stay aligned).
  uint32_t UniformInt(uint32_t n) {
    return static_cast<uint32_t>(((Next() >> 32) * static_cast<uint64_t>(n)) >> 32);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace dllm
