// Runtime dispatch of the int8 Linear: compiles qgemm-inl.h once per Highway target
// (foreach_target.h re-includes this file) and exports one dispatch table per entry point. The
// whole call (quantize, unpack, multiply) runs in one target, so the packed layouts, which differ
// between targets, never cross a dispatch boundary.

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "gemm/qgemm.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "gemm/qgemm-inl.h"
#include "hwy/highway.h"

#if HWY_ONCE
#include <cstring>
#include <string>

#include "gemm/amx.h"
#include "gemm/avx_vnni.h"
#include "gemm/qgemm.h"

namespace dllm {
namespace gemm {
namespace q8 {

HWY_EXPORT(LinearImpl);
HWY_EXPORT(CompiledTargetName);
HWY_EXPORT(DequantizeRowsBf16Impl);
HWY_EXPORT(TimeAmxKernelImpl);
HWY_EXPORT(TimeKernelImpl);

bool Supported(GgmlType type) { return GroupSize(type) != 0; }

void Linear(Context::Impl& ctx, const float* x, int64_t m, int64_t ldx, const WeightView& w,
            size_t row_bytes, float* y, int64_t ldy, bool accumulate) {
  HWY_DYNAMIC_DISPATCH(LinearImpl)(ctx, x, m, ldx, w, row_bytes, y, ldy, accumulate);
}

void DequantizeRowsBf16(GgmlType type, const uint8_t* data, size_t row_bytes, int64_t rows,
                        int64_t k, uint16_t* dst) {
  HWY_DYNAMIC_DISPATCH(DequantizeRowsBf16Impl)(type, data, row_bytes, rows, k, dst);
}

std::vector<int64_t> SupportedTargets() {
  // Keeps DLLM_CPU's limit on the dispatch (see kernels::SupportedTargets).
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  hwy::GetChosenTarget().Update(hwy::SupportedTargets());
  return targets;
}
const char* TargetName(int64_t target) { return hwy::TargetName(target); }
const char* ActiveTargetName() {
  const char* name = HWY_DYNAMIC_DISPATCH(CompiledTargetName)();
  if (std::strcmp(name, hwy::TargetName(HWY_AVX3_DL)) == 0 && amx::Enabled() && amx::Usable()) {
    static const std::string with_amx = std::string(name) + "+AMX";
    return with_amx.c_str();
  }
  if (std::strcmp(name, hwy::TargetName(HWY_AVX2)) == 0 && avx_vnni::Enabled() &&
      avx_vnni::Usable()) {
    static const std::string with_vnni = std::string(name) + "+VNNI";
    return with_vnni.c_str();
  }
  return name;
}
void SetTargetForTest(int64_t target) { hwy::SetSupportedTargetsForTest(target); }

double TimeAmxKernel(bool offsets, int64_t iters) {
  if (!amx::Usable()) return 0.0;
  return HWY_DYNAMIC_DISPATCH(TimeAmxKernelImpl)(offsets, iters);
}

KernelTiming TimeKernel(GgmlType type, int64_t iters) {
  if (!Supported(type) || iters < 0) return {};
  return HWY_DYNAMIC_DISPATCH(TimeKernelImpl)(type, iters);
}

}  // namespace q8
}  // namespace gemm
}  // namespace dllm
#endif  // HWY_ONCE
