#include "gemm/cpu.h"

#include <cstdlib>
#include <mutex>
#include <string>

#include <oneapi/dnnl/dnnl.hpp>

#include "gemm/amx.h"
#include "gemm/avx_vnni.h"
#include "hwy/targets.h"
#include "util/error.h"

namespace dllm {
namespace gemm {
namespace {

// Keeps Highway's run-time choice at `best` or below (its target bits: a lower bit is a better
// target), on top of what the CPU supports.
void LimitHighway(int64_t best) { hwy::DisableTargets(best - 1); }

void LimitOnednn(dnnl::cpu_isa isa) {
  try {
    dnnl::set_max_cpu_isa(isa);  // refused after the process's first primitive: then unlimited
  } catch (const dnnl::error&) {
  }
}

}  // namespace

void ApplyCpuLimit() {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    const char* env = std::getenv("DLLM_CPU");
    const std::string v = env == nullptr ? "" : env;
    if (v.empty() || v == "native") return;
    if (v == "avx2" || v == "avx2_vnni") {
      LimitHighway(HWY_AVX2);
      amx::SetEnabled(false);
      avx_vnni::SetEnabled(v == "avx2_vnni");
      LimitOnednn(v == "avx2" ? dnnl::cpu_isa::avx2 : dnnl::cpu_isa::avx2_vnni);
    } else if (v == "avx512") {
      LimitHighway(HWY_AVX3_DL);
      amx::SetEnabled(false);
      LimitOnednn(dnnl::cpu_isa::avx512_core_vnni);
    } else {
      error = "DLLM_CPU=" + v + ": expected avx2, avx2_vnni, avx512 or native";
    }
  });
  if (!error.empty()) Throw(ErrorCode::kInvalidArgument, error);
}

bool Bf16MatmulSupported() {
  static const bool supported = [] {
    try {
      ApplyCpuLimit();  // first: the probe's primitive would freeze oneDNN's ISA
    } catch (const Error&) {
      // A bad DLLM_CPU is reported by the Context constructor.
    }
    try {
      // oneDNN creates bf16 matmuls from AVX512_CORE on, but without bf16 instructions
      // (AVX512_BF16 or AMX-BF16: Skylake-SP to Ice Lake and Tiger Lake, and under
      // DLLM_CPU=avx512) it emulates them: 53 GFLOP/s here against 220-280 for its f32 matmul
      // on the same cores. There the f32 fallback is 4-5x faster. The effective ISA is the CPU's
      // capped by oneDNN's limit (DLLM_CPU); its bit set includes AVX512_CORE_BF16's bits
      // exactly when bf16 instructions are in it.
      const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
      if ((static_cast<unsigned>(dnnl::get_effective_cpu_isa()) & bf16) != bf16) return false;
      const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
      using dnnl::memory;
      const memory::desc a({16, 32}, memory::data_type::bf16, memory::format_tag::ab);
      const memory::desc b({32, 16}, memory::data_type::bf16, memory::format_tag::ab);
      const memory::desc c({16, 16}, memory::data_type::f32, memory::format_tag::ab);
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), engine);
      return true;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return supported;
}

}  // namespace gemm
}  // namespace dllm
