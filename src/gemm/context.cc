#include "gemm/context.h"

#include <cstdlib>
#include <string>

#include "gemm/cpu.h"
#include "util/error.h"

namespace dllm {
namespace gemm {

using dnnl::memory;

void ScratchBuffer::Free::operator()(void* p) const { std::free(p); }

void* ScratchBuffer::Get(size_t bytes, int64_t* growths) {
  if (bytes <= size_ && data_) return data_.get();
  // Round up to the alignment (aligned_alloc requires a multiple of it) and leave headroom so a
  // sequence of slightly growing requests does not reallocate every time.
  const size_t want = ((bytes + bytes / 8 + 63) / 64) * 64;
  void* p = std::aligned_alloc(64, want == 0 ? 64 : want);
  if (p == nullptr) {
    Throw(ErrorCode::kOutOfMemory,
          "gemm: cannot allocate " + std::to_string(want) + " bytes of scratch");
  }
  data_.reset(p);
  size_ = want;
  if (growths != nullptr) ++*growths;
  return p;
}

Context::Impl::Impl(const Options& o) : options(o) {
  ApplyCpuLimit();  // DLLM_CPU, before this process's first oneDNN primitive
  if (o.row_block <= 0 || o.linear_tile_rows <= 0 || o.linear_t_tile_rows <= 0 ||
      o.linear_t_bf16_chunk <= 0 || o.int8_tile_cols <= 0) {
    Throw(ErrorCode::kInvalidArgument, "gemm::Options: block and tile sizes must be positive");
  }
  try {
    engine = dnnl::engine(dnnl::engine::kind::cpu, 0);
    stream = dnnl::stream(engine);
  } catch (const dnnl::error& e) {
    Throw(ErrorCode::kInternal, std::string("gemm: cannot create the oneDNN CPU engine: ") +
                                    e.what());
  }
}

Context::Impl::Entry& Context::Impl::GetEntry(const MatmulKey& key) {
  auto it = cache_.find(key);
  if (it != cache_.end()) return *it->second;

  // Row-major descriptors; a transposed operand is the same bytes read with swapped strides.
  const memory::desc a_md({key.m, key.k}, key.a_type,
                          key.trans_a ? memory::dims{1, key.lda} : memory::dims{key.lda, 1});
  const memory::desc b_md({key.k, key.n}, key.b_type,
                          key.trans_b ? memory::dims{1, key.ldb} : memory::dims{key.ldb, 1});
  const memory::desc c_md({key.m, key.n}, memory::data_type::f32, {key.ldc, 1});

  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (key.runtime_alpha) attr.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
  if (key.sum) {
    dnnl::post_ops ops;
    ops.append_sum(key.beta);
    attr.set_post_ops(ops);
  }

  auto entry = std::make_unique<Entry>();
  try {
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, engine);
    entry->prim = dnnl::matmul(pd);
    entry->scratch_desc = pd.scratchpad_desc();
    entry->scratch_bytes = entry->scratch_desc.get_size();
  } catch (const dnnl::error& e) {
    Throw(ErrorCode::kInternal, std::string("gemm: oneDNN cannot create a matmul primitive: ") +
                                    e.what());
  }
  if (key.runtime_alpha) {
    entry->alpha_mem = memory(memory::desc({1}, memory::data_type::f32, memory::format_tag::x),
                              engine, &entry->alpha);
    entry->args[DNNL_ARG_ATTR_OUTPUT_SCALES] = entry->alpha_mem;
  }
  if (entry->scratch_bytes > 0) {
    // Growing here (at creation, i.e. warm-up) keeps steady-state calls allocation-free. Entries
    // created earlier re-point to the new buffer on their next run (see Matmul).
    void* p = dnnl_scratch.Get(entry->scratch_bytes, &scratch_growths);
    entry->scratch_mem = memory(entry->scratch_desc, engine, p);
    entry->args[DNNL_ARG_SCRATCHPAD] = entry->scratch_mem;
  }
  ++primitives_created;
  Entry& ref = *entry;
  cache_.emplace(key, std::move(entry));
  return ref;
}

void Context::Impl::Bind(BoundMemory& slot, memory::data_type type, int64_t d0, int64_t d1,
                         int64_t s0, int64_t s1, const void* data) {
  void* handle = const_cast<void*>(data);  // oneDNN only reads inputs; its API is not const
  if (slot.mem && slot.d0 == d0 && slot.d1 == d1 && slot.s0 == s0 && slot.s1 == s1) {
    slot.mem.set_data_handle(handle);
    return;
  }
  slot.mem = memory(memory::desc({d0, d1}, type, {s0, s1}), engine, handle);
  slot.d0 = d0;
  slot.d1 = d1;
  slot.s0 = s0;
  slot.s1 = s1;
}

void Context::Impl::Matmul(const MatmulKey& key, const MatmulCall& call) {
  Entry& e = GetEntry(key);
  if (key.trans_a) {
    Bind(e.a, key.a_type, call.m, call.k, 1, call.lda, call.a);
  } else {
    Bind(e.a, key.a_type, call.m, call.k, call.lda, 1, call.a);
  }
  if (key.trans_b) {
    Bind(e.b, key.b_type, call.k, call.n, 1, call.ldb, call.b);
  } else {
    Bind(e.b, key.b_type, call.k, call.n, call.ldb, 1, call.b);
  }
  Bind(e.c, memory::data_type::f32, call.m, call.n, call.ldc, 1, call.c);
  e.args[DNNL_ARG_SRC] = e.a.mem;
  e.args[DNNL_ARG_WEIGHTS] = e.b.mem;
  e.args[DNNL_ARG_DST] = e.c.mem;
  if (e.scratch_bytes > 0 && e.scratch_mem.get_data_handle() != dnnl_scratch.data()) {
    e.scratch_mem.set_data_handle(dnnl_scratch.data());
  }
  e.alpha = call.alpha;
  try {
    e.prim.execute(stream, e.args);
    stream.wait();
  } catch (const dnnl::error& e2) {
    Throw(ErrorCode::kInternal, std::string("gemm: oneDNN matmul failed: ") + e2.what());
  }
}

Context::Context(const Options& options) : impl_(std::make_unique<Impl>(options)) {}
Context::~Context() = default;
const Options& Context::options() const { return impl_->options; }
Context::Impl& Context::Impl::ThreadImpl(int t) {
  while (static_cast<int>(thread_impls_.size()) <= t) {
    thread_impls_.push_back(std::make_unique<Impl>(options));
  }
  return *thread_impls_[static_cast<size_t>(t)];
}

int64_t Context::Impl::PrimitivesCreated() const {
  int64_t n = primitives_created;
  for (const auto& t : thread_impls_) n += t->PrimitivesCreated();
  return n;
}

int64_t Context::Impl::ScratchGrowths() const {
  int64_t n = scratch_growths;
  for (const auto& t : thread_impls_) n += t->ScratchGrowths();
  return n;
}

int64_t Context::primitives_created() const { return impl_->PrimitivesCreated(); }
int64_t Context::scratch_growths() const { return impl_->ScratchGrowths(); }

}  // namespace gemm
}  // namespace dllm
