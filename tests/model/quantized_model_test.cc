// Quantized models against the f32 model they were made from (issue #8): one TinyQuant f32
// model, quantized with dllm-quantize to every single type and to the Q4_K_M / Q5_K_M mixes,
// run through the forward pass (prompt encode, canvas logits without and with
// self-conditioning, a commit and a second canvas), plus greedy generation with Q8_0 and the
// errors for weight types dllm cannot compute with.
//
// Tolerances are derived, not guessed. For a target T:
//   e_T  = the largest relative RMS reconstruction error ||W_T - W|| / ||W|| over the model's
//          quantized matrices (measured on this model's own weights);
//   A    = the model's measured error amplification: every quantized matrix is perturbed by
//          independent uniform noise of relative RMS eps = 1e-2 (uniform like rounding error)
//          and A = (relative RMS change of the logits) / eps;
//   e_act = 1e-2, a bound for the matmul layer's own rounding of the activations (bf16 rounding
//          of activations against BF16 weights: <= 2^-9 relative per value; an int8 per-block
//          activation quantization, as a quantized-gemm kernel may use: ~0.3-0.6 % RMS).
// Quantization error is zero-mean, input-independent rounding noise like the probe, so to first
// order it moves the logits by A·e (e <= e_T for every matrix); a factor 2 covers the difference
// between the worst tensor's e_T and the probe's uniform eps per tensor and the non-linearity
// of softmax/softcap. Checked bounds:
//   vs the f32 model:                 r_T <= A · (2·e_T + e_act)
//   vs its own dequantized f32 twin:  r_twin <= A · e_act
// The second bound does not depend on the quantization error at all: it checks that the
// engine computes with each block format exactly as its decoder defines it (a wrong scale,
// nibble order or row stride gives r of order 1).
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gemm/gemm.h"
#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "gguf_edit.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "quant/mix.h"
#include "quant/quant.h"
#include "quantize.h"
#include "synthetic.h"
#include "util/error.h"
#include "util/rng.h"

namespace fs = std::filesystem;
using dllm::ErrorCode;
using dllm::GgmlType;
using dllm::Model;

namespace {

constexpr double kProbeEps = 1e-2;
constexpr double kActErr = 1e-2;
constexpr int64_t kPrompt = 12;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::path(DLLM_BINARY_DIR) / ("quantized_model_test." + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};
const TempDir& Dir() {
  static TempDir d;
  return d;
}

// TinyQuant with every expert used (8 of 8). Top-k routing is discontinuous: where the k-th and
// (k+1)-th router probabilities of a row are closer than a perturbation moves them, the choice
// flips and that row's MoE output jumps by p_k·|y_a - y_b| however small the perturbation was,
// so no error bound proportional to the weight error exists for such rows (with top-2 of 8 the
// f32 model and its own bit-exact twin run through another gemm path already differ at a
// relative RMS of 0.1 through a few flipped rows). Using all experts makes the routing weights a
// smooth softmax; every row still runs through every expert's quantized slice of the stacks.
const std::string& F32Path() {
  static const std::string p = [] {
    const std::string path = Dir() / "f32.gguf";
    dllm::SyntheticConfig c = dllm::SyntheticConfig::TinyQuant();
    c.n_expert_used = c.n_expert;
    dllm::WriteSyntheticModel(c, path);
    return path;
  }();
  return p;
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::fseek(f, 0, SEEK_END);
  std::vector<uint8_t> b(static_cast<size_t>(std::ftell(f)));
  std::fseek(f, 0, SEEK_SET);
  REQUIRE(std::fread(b.data(), 1, b.size(), f) == b.size());
  std::fclose(f);
  return b;
}

std::vector<float> Decode(const dllm::gguf::TensorInfo& t) {
  std::vector<float> v(t.n_elements);
  const int64_t row = static_cast<int64_t>(t.dims[0]);
  const size_t rb = dllm::quant::RowBytes(static_cast<GgmlType>(t.type_id), row);
  for (uint64_t r = 0; r < t.n_elements / t.dims[0]; ++r) {
    dllm::quant::DequantizeRow(static_cast<GgmlType>(t.type_id), t.data + r * rb,
                               v.data() + r * row, row);
  }
  return v;
}

double RelRms(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

// Logits of the fixed forward-pass scenario.
struct Outputs {
  std::vector<float> plain, sc, second;  // canvas 1 without / with SC; canvas 2 after a commit
  std::vector<float> All() const {
    std::vector<float> a = plain;
    a.insert(a.end(), sc.begin(), sc.end());
    a.insert(a.end(), second.begin(), second.end());
    return a;
  }
};

struct Inputs {
  std::vector<int32_t> prompt, canvas1, commit, canvas2;
  std::vector<float> sc_probs;  // softmax of the f32 model's canvas-1 logits
};

std::vector<int32_t> RandomTokens(dllm::Rng& rng, int64_t n, int64_t v) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(rng.UniformInt(static_cast<uint32_t>(v)));
  return t;
}

void SoftmaxRows(const std::vector<float>& logits, int64_t v, std::vector<float>* probs) {
  probs->resize(logits.size());
  for (size_t r = 0; r < logits.size() / static_cast<size_t>(v); ++r) {
    const float* l = logits.data() + r * v;
    float* p = probs->data() + r * v;
    const float mx = *std::max_element(l, l + v);
    double s = 0;
    for (int64_t i = 0; i < v; ++i) s += (p[i] = std::exp(l[i] - mx));
    for (int64_t i = 0; i < v; ++i) p[i] = static_cast<float>(p[i] / s);
  }
}

Outputs Run(const Model& m, const Inputs& in) {
  const dllm::HParams& hp = m.hparams();
  const int64_t c = hp.canvas_length, v = hp.n_vocab;
  dllm::gemm::Context ctx;
  dllm::Forward fwd(m, ctx, c);
  dllm::KvCache cache;
  cache.Init(hp, c);
  Outputs o;
  o.plain.resize(static_cast<size_t>(c * v));
  o.sc.resize(o.plain.size());
  o.second.resize(o.plain.size());
  fwd.Encode(in.prompt.data(), static_cast<int64_t>(in.prompt.size()), cache);
  fwd.Denoise(in.canvas1.data(), c, nullptr, cache, o.plain.data());
  fwd.Denoise(in.canvas1.data(), c, in.sc_probs.empty() ? nullptr : in.sc_probs.data(), cache,
              o.sc.data());
  fwd.Encode(in.commit.data(), c, cache);
  fwd.Denoise(in.canvas2.data(), c, nullptr, cache, o.second.data());
  return o;
}

struct Reference {
  std::shared_ptr<const Model> model;
  Inputs in;
  Outputs out;
  double amplification = 0;  // A
};

// A copy of `bytes` with every quantizable matrix replaced by f(name, values) in F32.
std::vector<uint8_t> RewriteMatrices(
    const std::vector<uint8_t>& bytes,
    const std::function<void(const std::string&, std::vector<float>&)>& f) {
  dllm::test::GgufEdit e;
  e.tensor = [&](const std::string& name, uint32_t& type, std::vector<uint64_t>& dims,
                 std::vector<uint8_t>& data) {
    if (!dllm::quant::IsQuantizableTensor(name, dims.size()) &&
        (type == 0 || type == 1 || type == 30)) {
      return true;
    }
    dllm::gguf::TensorInfo t;
    t.type_id = type;
    t.dims = dims;
    t.n_elements = 1;
    for (uint64_t d : dims) t.n_elements *= d;
    t.data = data.data();
    std::vector<float> v = Decode(t);
    if (dllm::quant::IsQuantizableTensor(name, dims.size())) f(name, v);
    type = 0;
    data.assign(reinterpret_cast<const uint8_t*>(v.data()),
                reinterpret_cast<const uint8_t*>(v.data() + v.size()));
    return true;
  };
  return dllm::test::EditGguf(bytes, e);
}

const Reference& Ref() {
  static const Reference ref = [] {
    Reference r;
    r.model = Model::Load(F32Path());
    const dllm::HParams& hp = r.model->hparams();
    dllm::Rng rng(20260801);
    r.in.prompt = RandomTokens(rng, kPrompt, hp.n_vocab);
    r.in.canvas1 = RandomTokens(rng, hp.canvas_length, hp.n_vocab);
    r.in.commit = RandomTokens(rng, hp.canvas_length, hp.n_vocab);
    r.in.canvas2 = RandomTokens(rng, hp.canvas_length, hp.n_vocab);
    Inputs no_sc = r.in;
    const Outputs first = Run(*r.model, no_sc);
    SoftmaxRows(first.plain, hp.n_vocab, &r.in.sc_probs);
    r.out = Run(*r.model, r.in);

    // The amplification probe.
    dllm::Rng noise(7);
    const std::vector<uint8_t> probe = RewriteMatrices(
        ReadAll(F32Path()), [&](const std::string&, std::vector<float>& w) {
          double ss = 0;
          for (float x : w) ss += static_cast<double>(x) * x;
          const double rms = std::sqrt(ss / static_cast<double>(w.size()));
          const float a = static_cast<float>(std::sqrt(3.0) * kProbeEps * rms);
          for (float& x : w) x += a * (2.0f * noise.Uniform01() - 1.0f);
        });
    auto pm = Model::FromFile(dllm::gguf::File::FromBuffer(probe));
    const double r_probe = RelRms(Run(*pm, r.in).All(), r.out.All());
    r.amplification = r_probe / kProbeEps;
    MESSAGE("amplification probe: eps " << kProbeEps << " -> logits relative RMS " << r_probe
                                        << ", A = " << r.amplification);
    return r;
  }();
  return ref;
}

// Largest relative RMS reconstruction error over the quantized matrices of `q` (vs `f`).
double WeightError(const dllm::gguf::File& q, const dllm::gguf::File& f) {
  double worst = 0;
  for (const auto& t : q.tensors()) {
    if (!dllm::quant::IsQuantizableTensor(t.name, t.dims.size())) continue;
    const std::vector<float> got = Decode(t);
    const std::vector<float> want = Decode(*f.FindTensor(t.name));
    worst = std::max(worst, RelRms(got, want));
  }
  return worst;
}

}  // namespace

TEST_CASE("quantized forward passes match the f32 model within the derived bounds") {
  const Reference& ref = Ref();
  // A sanity bound on the probe itself: the model neither ignores its weights nor blows
  // perturbations up (6 layers, normalised branches).
  CHECK(ref.amplification > 0.1);
  CHECK(ref.amplification < 20);
  const auto f32_file = dllm::gguf::File::Open(F32Path());

  std::vector<std::string> targets = dllm::quant::MixTargetNames();
  for (const std::string& name : targets) {
    CAPTURE(name);
    const std::string path = Dir() / (name + ".gguf");
    dllm::QuantizeModelFile(F32Path(), path, name);
    auto qm = Model::Load(path);
    const double e = WeightError(qm->file(), *f32_file);
    const Outputs q = Run(*qm, ref.in);
    const double r = RelRms(q.All(), ref.out.All());
    const double r_plain = RelRms(q.plain, ref.out.plain);
    const double r_sc = RelRms(q.sc, ref.out.sc);
    const double bound = ref.amplification * (2 * e + kActErr);

    // The dequantized twin: the same weights as exact f32 values.
    auto twin = Model::FromFile(dllm::gguf::File::FromBuffer(
        RewriteMatrices(ReadAll(path), [](const std::string&, std::vector<float>&) {})));
    const double r_twin = RelRms(q.All(), Run(*twin, ref.in).All());
    const double twin_bound = ref.amplification * kActErr;

    MESSAGE(name << ": weight error e_T " << e << "; logits vs f32 " << r << " (no SC " << r_plain
                 << ", SC " << r_sc << ") <= " << bound << "; vs dequantized twin " << r_twin
                 << " <= " << twin_bound);
    CHECK(r <= bound);
    CHECK(r_twin <= twin_bound);
    for (float x : q.All()) {
      if (!std::isfinite(x)) {
        FAIL_CHECK("non-finite logit");
        break;
      }
    }
  }
}

// Greedy fixed-step generation (2 canvases x 8 steps; every position takes the argmax, the next
// step is self-conditioned on this step's softmax, the last argmax canvas is committed).
//
// Token identity needs every top-1/top-2 logit gap to exceed twice the logit error. The a-priori
// per-row error bound is delta_row = 4 · b · RMS(row logits), with b = A·(2·e_T + e_act) the
// derived relative bound of the first test and 4 the ratio of the largest to the RMS entry of
// a row of 512 roughly Gaussian errors (the expected maximum of 512 normals is ~3.0 sigma).
//  * Teacher-forced: Q8_0 is evaluated on the f32 run's own inputs at every step; wherever the
//    f32 gap exceeds 2·delta_row the two argmaxes must agree.
//  * Free-running: the whole generation is token-identical if the smallest f32 gap exceeds
//    2·max delta_row; otherwise the first difference is reported, not asserted.
TEST_CASE("greedy fixed-step generation: Q8_0 against f32") {
  const Reference& ref = Ref();
  const std::string path = Dir() / "greedy-q8_0.gguf";
  dllm::QuantizeModelFile(F32Path(), path, "Q8_0");
  auto q8 = Model::Load(path);
  const auto f32_file = dllm::gguf::File::Open(F32Path());
  const double bound_rel = ref.amplification * (2 * WeightError(q8->file(), *f32_file) + kActErr);
  const dllm::HParams& hp = ref.model->hparams();
  const int64_t c = hp.canvas_length, v = hp.n_vocab;
  constexpr int kSteps = 8;

  struct Runner {
    dllm::gemm::Context ctx;
    dllm::Forward fwd;
    dllm::KvCache cache;
    std::vector<float> logits;
    Runner(const Model& m, const Inputs& in, int64_t c, int64_t v)
        : fwd(m, ctx, c), logits(static_cast<size_t>(c * v)) {
      cache.Init(m.hparams(), c);
      fwd.Encode(in.prompt.data(), static_cast<int64_t>(in.prompt.size()), cache);
    }
  };
  // argmax and top-1/top-2 gap of row i.
  auto top = [&](const std::vector<float>& logits, int64_t i, float* gap) {
    const float* l = logits.data() + i * v;
    const int64_t best = std::max_element(l, l + v) - l;
    float second = -1e30f;
    for (int64_t t = 0; t < v; ++t) {
      if (t != best) second = std::max(second, l[t]);
    }
    *gap = l[best] - second;
    return static_cast<int32_t>(best);
  };
  auto row_rms = [&](const std::vector<float>& logits, int64_t i) {
    double ss = 0;
    for (int64_t t = 0; t < v; ++t) ss += static_cast<double>(logits[i * v + t]) * logits[i * v + t];
    return std::sqrt(ss / static_cast<double>(v));
  };

  // f32 and Q8_0 in lockstep: forced (Q8_0 on f32's inputs) and free (Q8_0 on its own).
  Runner f(*ref.model, ref.in, c, v), forced(*q8, ref.in, c, v), free_run(*q8, ref.in, c, v);
  int64_t checked = 0, agreed_all = 0, total = 0;
  double min_gap = 1e30, max_delta = 0;
  int first_step = -1;
  int64_t first_pos = -1;
  int32_t first_a = 0, first_b = 0;
  std::vector<float> probs_f, probs_free;
  for (int canvas = 0; canvas < 2; ++canvas) {
    std::vector<int32_t> ids_f = canvas == 0 ? ref.in.canvas1 : ref.in.canvas2;
    std::vector<int32_t> ids_free = ids_f;
    for (int s = 0; s < kSteps; ++s) {
      const float* sc_f = s > 0 ? probs_f.data() : nullptr;
      f.fwd.Denoise(ids_f.data(), c, sc_f, f.cache, f.logits.data());
      forced.fwd.Denoise(ids_f.data(), c, sc_f, forced.cache, forced.logits.data());
      free_run.fwd.Denoise(ids_free.data(), c, s > 0 ? probs_free.data() : nullptr,
                           free_run.cache, free_run.logits.data());
      for (int64_t i = 0; i < c; ++i) {
        float gap_f = 0, gap_q = 0, gap_free = 0;
        const int32_t a = top(f.logits, i, &gap_f);
        const int32_t b = top(forced.logits, i, &gap_q);
        const int32_t fr = top(free_run.logits, i, &gap_free);
        const double delta = 4 * bound_rel * row_rms(f.logits, i);
        min_gap = std::min<double>(min_gap, gap_f);
        max_delta = std::max(max_delta, delta);
        ++total;
        agreed_all += a == b ? 1 : 0;
        if (gap_f > 2 * delta) {
          ++checked;
          CHECK_MESSAGE(a == b, "step " << s << " position " << i << ": f32 " << a << ", Q8_0 "
                                        << b << " although the f32 gap " << gap_f
                                        << " exceeds 2 x " << delta);
        }
        if (first_step < 0 && fr != a) {
          first_step = canvas * kSteps + s;
          first_pos = i;
          first_a = a;
          first_b = fr;
        }
        ids_f[static_cast<size_t>(i)] = a;
        ids_free[static_cast<size_t>(i)] = fr;
      }
      SoftmaxRows(f.logits, v, &probs_f);
      SoftmaxRows(free_run.logits, v, &probs_free);
    }
    f.fwd.Encode(ids_f.data(), c, f.cache);
    forced.fwd.Encode(ids_f.data(), c, forced.cache);
    free_run.fwd.Encode(ids_free.data(), c, free_run.cache);
  }
  MESSAGE("Q8_0 teacher-forced: " << agreed_all << " of " << total
                                  << " argmaxes agree with f32; " << checked
                                  << " had a gap above 2 x delta_row and were checked");
  MESSAGE("f32 smallest gap " << min_gap << ", largest delta_row " << max_delta);
  if (min_gap > 2 * max_delta) {
    CHECK_MESSAGE(first_step < 0, "free-running Q8_0 differs at step "
                                       << first_step << " position " << first_pos);
  } else if (first_step >= 0) {
    MESSAGE("margin does not allow token identity; free-running Q8_0 first differs at step "
            << first_step << " (of " << 2 * kSteps << ") position " << first_pos << ": f32 "
            << first_a << ", Q8_0 " << first_b);
  } else {
    MESSAGE("free-running Q8_0 is token-identical to f32 over all " << 2 * kSteps << " steps");
  }
}

TEST_CASE("weight types dllm cannot compute with are rejected naming the tensor and type") {
  dllm::SyntheticConfig cfg = dllm::SyntheticConfig::TinyQuant();
  cfg.n_layer = 2;
  const std::vector<uint8_t> good = dllm::SyntheticModelBytes(cfg);
  auto expect = [](const std::vector<uint8_t>& bytes, ErrorCode code,
                   const std::vector<std::string>& needles) {
    try {
      Model::FromFile(dllm::gguf::File::FromBuffer(bytes));
      FAIL("loaded a model that should have been rejected");
    } catch (const dllm::Error& e) {
      CHECK_MESSAGE(e.code() == code, e.what());
      for (const std::string& n : needles) {
        CHECK_MESSAGE(std::string(e.what()).find(n) != std::string::npos, e.what());
      }
    }
  };
  // Known layouts without a decoder in dllm: IQ2_XXS (256 values / 66 B), Q8_K (256 / 292),
  // Q8_1 (32 / 36), MXFP4 (32 / 17), IQ4_NL (32 / 18); on matrices of several roles.
  struct Case {
    const char* tensor;
    uint32_t type;
    const char* type_name;
  };
  for (const Case& k : {Case{"blk.1.attn_q.weight", 16, "IQ2_XXS"},
                        Case{"token_embd.weight", 15, "Q8_K"},
                        Case{"blk.0.ffn_down_exps.weight", 9, "Q8_1"},
                        Case{"self_cond_down.weight", 39, "MXFP4"},
                        Case{"blk.0.ffn_gate_up_exps.weight", 20, "IQ4_NL"}}) {
    CAPTURE(k.tensor);
    dllm::test::GgufEdit e;
    e.tensor = [&](const std::string& n, uint32_t& type, std::vector<uint64_t>& dims,
                   std::vector<uint8_t>& bytes) {
      if (n == k.tensor) {
        type = k.type;
        const dllm::GgmlTypeTraits* tr = dllm::FindGgmlType(k.type);
        uint64_t rows = 1;
        for (size_t i = 1; i < dims.size(); ++i) rows *= dims[i];
        bytes.assign(rows * (dims[0] / tr->block_size) * tr->type_size, 0);
      }
      return true;
    };
    expect(dllm::test::EditGguf(good, e), ErrorCode::kUnsupported,
           {std::string("tensor '") + k.tensor + "'", k.type_name});
  }

  // Raw edits of the tensor-info table (our writer refuses to write these): the type field of a
  // tensor info follows its name, n_dims and dims.
  auto patch_type = [&](const std::string& name, uint32_t new_type) {
    std::vector<uint8_t> b = good;
    const std::string needle = name;
    auto it = std::search(b.begin(), b.end(), needle.begin(), needle.end());
    REQUIRE(it != b.end());
    size_t at = static_cast<size_t>(it - b.begin()) + needle.size();
    uint32_t n_dims = 0;
    std::memcpy(&n_dims, &b[at], 4);
    at += 4 + 8 * n_dims;
    std::memcpy(&b[at], &new_type, 4);
    return b;
  };
  // An id that is no ggml type at all.
  expect(patch_type("blk.1.attn_k.weight", 77), ErrorCode::kUnsupported,
         {"blk.1.attn_k.weight", "unknown type 77"});
  // A K-quant on rows that are not whole super-blocks (expert down rows of 96 values).
  expect(patch_type("blk.0.ffn_down_exps.weight", 12), ErrorCode::kFormat,
         {"blk.0.ffn_down_exps.weight", "Q4_K"});
  // Vectors must stay float: a Q8_0 norm vector is refused by name.
  dllm::test::GgufEdit e;
  e.tensor = [](const std::string& n, uint32_t& type, std::vector<uint64_t>& dims,
                std::vector<uint8_t>& bytes) {
    if (n == "blk.0.attn_norm.weight") {
      std::vector<float> v(dims[0]);
      std::memcpy(v.data(), bytes.data(), bytes.size());
      bytes.resize(dllm::quant::RowBytes(GgmlType::kQ8_0, static_cast<int64_t>(dims[0])));
      dllm::quant::QuantizeRow(GgmlType::kQ8_0, v.data(), bytes.data(),
                               static_cast<int64_t>(dims[0]));
      type = 8;
    }
    return true;
  };
  expect(dllm::test::EditGguf(good, e), ErrorCode::kUnsupported,
         {"blk.0.attn_norm.weight", "Q8_0"});
}
