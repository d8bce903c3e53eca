// Fuzz target: the sampling kernels (SampleRow, Softmax, EntropyBoundAccept) on arbitrary f32
// rows (NaN, ±inf, subnormals, huge values), on every Highway target this CPU runs. What must
// hold whatever the input: no out-of-bounds access (ASan), ids inside the row (argmax and sample
// in [0, n), or the documented degenerate values), the first-ranked position accepted; and on
// rows whose scaled logits are all finite, the argmax equals the scalar reference's exactly and
// Softmax gives weights in [0, 1] that sum to 1.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "kernels/kernels.h"

namespace {

[[noreturn]] void Fail(const char* what, const char* target, size_t n) {
  std::fprintf(stderr, "fuzz_kernels: %s (target %s, n = %zu)\n", what, target, n);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 6) return 0;
  // Header: inv_t from a byte (1/16 .. 16), u from a byte, flags.
  const float inv_t = std::ldexp(1.0f + data[0] % 16, -4 + data[1] % 5);
  const float u = static_cast<float>(data[2]) / 256.0f;
  const bool argmax_only = data[3] & 1;
  const bool write_probs = data[3] & 2;
  const double bound = static_cast<double>(data[4]) / 16.0;
  const size_t n = (size - 5) / 4;
  std::vector<float> raw(n);
  if (n) std::memcpy(raw.data(), data + 5, n * 4);

  bool finite = true;
  for (float v : raw) finite = finite && std::isfinite(v * inv_t);
  const dllm::kernels::RowStats want =
      dllm::kernels::ref::SampleRow(raw.data(), n, inv_t, u, argmax_only, nullptr);

  std::vector<int64_t> targets = dllm::kernels::SupportedTargets();
  for (int64_t t : targets) {
    dllm::kernels::SetTargetForTest(t);
    const char* name = dllm::kernels::TargetName(t);
    std::vector<float> probs(n);
    const dllm::kernels::RowStats got = dllm::kernels::SampleRow(
        raw.data(), n, inv_t, u, argmax_only, write_probs ? probs.data() : nullptr);
    if (n == 0) {
      if (got.argmax != -1 || got.sample != -1) Fail("n = 0 must give -1 ids", name, n);
      continue;
    }
    if (got.argmax < 0 || static_cast<size_t>(got.argmax) >= n)
      Fail("argmax out of range", name, n);
    if (got.sample < 0 || static_cast<size_t>(got.sample) >= n)
      Fail("sample out of range", name, n);
    if (finite && got.argmax != want.argmax) Fail("argmax differs from the reference", name, n);
    // Softmax in place on the scaled row: finite entries in, weights in [0, 1] out.
    std::vector<float> s(n);
    for (size_t i = 0; i < n; ++i) s[i] = raw[i] * inv_t;
    dllm::kernels::Softmax(s.data(), n);
    if (finite) {
      double sum = 0;
      for (float v : s) {
        if (!(v >= 0.0f && v <= 1.0f)) Fail("softmax weight outside [0, 1]", name, n);
        sum += v;
      }
      if (std::fabs(sum - 1.0) > 1e-4) Fail("softmax weights do not sum to 1", name, n);
    }
  }
  dllm::kernels::SetTargetForTest(0);

  // Acceptance over the row taken as entropies (NaN, inf, negative values included).
  std::vector<uint8_t> accepted(n, 7);
  dllm::kernels::EntropyBoundAccept(raw.data(), n, bound, accepted.data());
  size_t count = 0;
  for (uint8_t a : accepted) {
    if (a > 1) Fail("acceptance flag neither 0 nor 1", "scalar", n);
    count += a;
  }
  if (n > 0 && count == 0) Fail("no position accepted (the first rank always is)", "scalar", n);
  return 0;
}
