// Internals of gemm::Context: the oneDNN engine/stream, the matmul primitive cache and the
// scratch buffers. Included only by the .cc files of src/gemm (the model never sees oneDNN).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "gemm/gemm.h"

namespace dllm {
namespace gemm {

// A dimension or leading dimension left to execution time.
constexpr int64_t kRuntime = DNNL_RUNTIME_DIM_VAL;

// A 64-byte aligned byte buffer that only grows. Growing counts in *growths so tests can check
// that steady-state calls do not allocate.
class ScratchBuffer {
 public:
  void* Get(size_t bytes, int64_t* growths);
  void* data() const { return data_.get(); }

 private:
  struct Free {
    void operator()(void* p) const;
  };
  std::unique_ptr<void, Free> data_;
  size_t size_ = 0;
};

// One matmul shape class: c[M×N] (+)= alpha · op(a)[M×K] · op(b)[K×N], a and b of the given data
// types, c f32. Any of m, n, k, lda, ldb, ldc may be kRuntime. a is stored row-major M×K (lda
// between rows) or, with trans_a, K×M; b is stored K×N or, with trans_b, N×K (the GGUF weight
// layout: N rows of K values).
struct MatmulKey {
  dnnl::memory::data_type a_type = dnnl::memory::data_type::f32;
  dnnl::memory::data_type b_type = dnnl::memory::data_type::f32;
  int64_t m = kRuntime, n = kRuntime, k = kRuntime;
  int64_t lda = kRuntime, ldb = kRuntime, ldc = kRuntime;
  bool trans_a = false, trans_b = false;
  bool sum = false;            // post-op: c = result + beta · c
  float beta = 0.0f;           // meaningful only with sum (fixed at creation in oneDNN 2.x)
  bool runtime_alpha = false;  // alpha supplied per call as a runtime output scale

  auto Tie() const {
    return std::make_tuple(static_cast<int>(a_type), static_cast<int>(b_type), m, n, k, lda, ldb,
                           ldc, trans_a, trans_b, sum, sum ? beta : 0.0f, runtime_alpha);
  }
  bool operator<(const MatmulKey& o) const { return Tie() < o.Tie(); }
};

// Concrete values of one call.
struct MatmulCall {
  const void* a = nullptr;
  const void* b = nullptr;
  float* c = nullptr;
  int64_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0;
  float alpha = 1.0f;
};

struct Context::Impl {
  explicit Impl(const Options& o);

  // Runs the primitive of `key` (creating and caching it on first use) on `call`. The call's
  // values must match every non-runtime field of the key.
  void Matmul(const MatmulKey& key, const MatmulCall& call);

  // A context of its own for thread t of a call that splits one matmul across the team, each
  // thread running its part single-threaded (linear.cc, MatmulKxNSplit): primitives, scratchpad
  // and bound memory are not shared between concurrent executions. Create them (t < threads)
  // before the parallel region; inside it, only look them up.
  Impl& ThreadImpl(int t);

  // primitives_created / scratch_growths plus those of the thread contexts.
  int64_t PrimitivesCreated() const;
  int64_t ScratchGrowths() const;

  Options options;
  dnnl::engine engine;
  dnnl::stream stream;
  int64_t primitives_created = 0;
  int64_t scratch_growths = 0;
  ScratchBuffer dnnl_scratch;  // oneDNN scratchpads (user-managed, shared by all primitives)
  ScratchBuffer act_scratch;   // activations converted to bf16
  ScratchBuffer tile_scratch;  // dequantized weight tiles (f32)

 private:
  // A memory object bound to user data, recreated only when its shape or strides change, so the
  // steady state (same m and leading dimensions every step) creates no oneDNN objects.
  struct BoundMemory {
    dnnl::memory mem;
    int64_t d0 = -1, d1 = -1, s0 = -1, s1 = -1;
  };
  struct Entry {
    dnnl::matmul prim;
    size_t scratch_bytes = 0;
    dnnl::memory::desc scratch_desc;
    BoundMemory a, b, c;
    dnnl::memory scratch_mem;
    dnnl::memory alpha_mem;
    float alpha = 1.0f;  // storage behind alpha_mem
    std::unordered_map<int, dnnl::memory> args;
  };

  Entry& GetEntry(const MatmulKey& key);
  void Bind(BoundMemory& slot, dnnl::memory::data_type type, int64_t d0, int64_t d1, int64_t s0,
            int64_t s1, const void* data);

  std::map<MatmulKey, std::unique_ptr<Entry>> cache_;
  std::vector<std::unique_ptr<Impl>> thread_impls_;
};

}  // namespace gemm
}  // namespace dllm
