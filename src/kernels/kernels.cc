// Runtime dispatch of the SIMD kernels: compiles ops-inl.h and sample-inl.h once per Highway
// target (foreach_target.h re-includes this file) and exports one dispatch table per entry
// point. Every entry point is a whole row (or many rows), so the indirect call is amortised.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "kernels/kernels.h"
#include "kernels/ops-inl.h"
#include "kernels/sample-inl.h"

HWY_BEFORE_NAMESPACE();
namespace dllm {
namespace kernels {
namespace HWY_NAMESPACE {

// The name of the target this copy was compiled for (lets tests see where dispatch went).
const char* CompiledTargetName() { return hwy::TargetName(HWY_TARGET); }

// NOLINTNEXTLINE(google-readability-namespace-comments)
}  // namespace HWY_NAMESPACE
}  // namespace kernels
}  // namespace dllm
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace dllm {
namespace kernels {

HWY_EXPORT(RmsNorm);
HWY_EXPORT(RmsNormRows);
HWY_EXPORT(RopeNeox);
HWY_EXPORT(GeluTanhMul);
HWY_EXPORT(SoftCap);
HWY_EXPORT(Softmax);
HWY_EXPORT(AddScaled);
HWY_EXPORT(Scale);
HWY_EXPORT(Dot);
HWY_EXPORT(SampleRow);
HWY_EXPORT(CompiledTargetName);

void RmsNorm(const float* x, const float* w, float* y, size_t n, float eps) {
  HWY_DYNAMIC_DISPATCH(RmsNorm)(x, w, y, n, eps);
}

void RmsNormRows(float* x, size_t rows, size_t n, size_t stride, const float* w, float eps) {
  HWY_DYNAMIC_DISPATCH(RmsNormRows)(x, rows, n, stride, w, eps);
}

void RopeNeox(float* x, size_t head_dim, size_t n_heads, const float* cos, const float* sin) {
  HWY_DYNAMIC_DISPATCH(RopeNeox)(x, head_dim, n_heads, cos, sin);
}

void GeluTanhMul(const float* g, const float* u, float* y, size_t n) {
  HWY_DYNAMIC_DISPATCH(GeluTanhMul)(g, u, y, n);
}

void SoftCap(float* x, size_t n, float cap) { HWY_DYNAMIC_DISPATCH(SoftCap)(x, n, cap); }

void Softmax(float* x, size_t n) { HWY_DYNAMIC_DISPATCH(Softmax)(x, n); }

void AddScaled(float* y, const float* x, float a, size_t n) {
  HWY_DYNAMIC_DISPATCH(AddScaled)(y, x, a, n);
}

void Scale(float* x, float a, size_t n) { HWY_DYNAMIC_DISPATCH(Scale)(x, a, n); }

float Dot(const float* a, const float* b, size_t n) {
  return HWY_DYNAMIC_DISPATCH(Dot)(a, b, n);
}

RowStats SampleRow(const float* raw, size_t n, float inv_t, float u, bool argmax_only,
                   float* probs_out) {
  return HWY_DYNAMIC_DISPATCH(SampleRow)(raw, n, inv_t, u, argmax_only, probs_out);
}

// HWY_TARGETS here is the set this file was compiled for (the same dllm_build_flags apply to
// every translation unit, but asking here makes it true by construction).
// Highway 1.0's SupportedTargets() first re-chooses the dispatch target from every target the
// CPU has, and DisableTargets' limit (DLLM_CPU, gemm/cpu.h) holds again only after the next
// choice; so the list is taken, then the choice is made again from the limited set.
std::vector<int64_t> SupportedTargets() {
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
  return targets;
}

const char* TargetName(int64_t target) { return hwy::TargetName(target); }

const char* ActiveTargetName() { return HWY_DYNAMIC_DISPATCH(CompiledTargetName)(); }

void SetTargetForTest(int64_t target) { hwy::SetSupportedTargetsForTest(target); }

}  // namespace kernels
}  // namespace dllm
#endif  // HWY_ONCE
