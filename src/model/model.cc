#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include "gguf/gguf.h"
#include "quant/quant.h"
#include "util/error.h"

namespace dllm {
namespace {

constexpr const char* kArch = "diffusion-gemma";

[[noreturn]] void FormatError(const std::string& msg) { Throw(ErrorCode::kFormat, msg); }

// Typed metadata access that names the key in every error.
class Meta {
 public:
  explicit Meta(const gguf::File& f) : f_(f) {}

  const gguf::Value* Find(const std::string& key) const { return f_.Find(key); }

  uint64_t U64(const std::string& key) const {
    const gguf::Value* v = Require(key);
    try {
      return v->AsU64();
    } catch (const Error& e) {
      FormatError("metadata key '" + key + "': " + e.what());
    }
  }
  uint64_t U64Or(const std::string& key, uint64_t fallback) const {
    return Find(key) ? U64(key) : fallback;
  }
  double F64(const std::string& key) const {
    const gguf::Value* v = Require(key);
    try {
      return v->AsF64();
    } catch (const Error& e) {
      FormatError("metadata key '" + key + "': " + e.what());
    }
  }
  double F64Or(const std::string& key, double fallback) const {
    return Find(key) ? F64(key) : fallback;
  }
  std::string Str(const std::string& key) const {
    const gguf::Value* v = Require(key);
    try {
      return v->AsString();
    } catch (const Error& e) {
      FormatError("metadata key '" + key + "': " + e.what());
    }
  }
  bool BoolOr(const std::string& key, bool fallback) const {
    const gguf::Value* v = Find(key);
    if (!v) return fallback;
    try {
      return v->AsBool();
    } catch (const Error& e) {
      FormatError("metadata key '" + key + "': " + e.what());
    }
  }
  // A per-layer integer: either one value for all layers or an array of n entries.
  std::vector<int64_t> PerLayerInt(const std::string& key, int64_t n) const {
    const gguf::Value* v = Require(key);
    try {
      if (v->type() == gguf::ValueType::kArray) {
        std::vector<int64_t> a = v->AsI64Array();
        if (static_cast<int64_t>(a.size()) != n) {
          FormatError("has " + std::to_string(a.size()) + " entries, expected one per layer (" +
                      std::to_string(n) + ")");
        }
        return a;
      }
      return std::vector<int64_t>(static_cast<size_t>(n), static_cast<int64_t>(v->AsU64()));
    } catch (const Error& e) {
      FormatError("metadata key '" + key + "': " + e.what());
    }
  }
  std::vector<bool> PerLayerBool(const std::string& key, int64_t n) const {
    const gguf::Value* v = Require(key);
    try {
      std::vector<bool> a = v->AsBoolArray();
      if (static_cast<int64_t>(a.size()) != n) {
        FormatError("has " + std::to_string(a.size()) + " entries, expected one per layer (" +
                    std::to_string(n) + ")");
      }
      return a;
    } catch (const Error& e) {
      FormatError("metadata key '" + key + "': " + e.what());
    }
  }

 private:
  const gguf::Value* Require(const std::string& key) const {
    const gguf::Value* v = f_.Find(key);
    if (!v) FormatError("missing metadata key '" + key + "'");
    return v;
  }
  const gguf::File& f_;
};

void CheckRange(const std::string& what, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi) {
    FormatError(what + " = " + std::to_string(v) + " is out of range [" + std::to_string(lo) +
                ", " + std::to_string(hi) + "]");
  }
}

std::string DimsString(const std::vector<uint64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

// Collects tensors by name, checks their shapes and remembers which ones were used so that
// unexpected extra tensors can be reported.
class TensorLoader {
 public:
  explicit TensorLoader(const gguf::File& f) : f_(f) {}

  bool Has(const std::string& name) const { return f_.FindTensor(name) != nullptr; }

  WeightTensor Matrix(const std::string& name, std::vector<uint64_t> dims) {
    const gguf::TensorInfo& t = Get(name, dims);
    const GgmlType type = static_cast<GgmlType>(t.type_id);
    if (!IsSupportedWeightType(type)) {
      Throw(ErrorCode::kUnsupported,
            "tensor '" + name + "' has type " + GgmlTypeName(t.type_id) +
                ", which this build of dllm cannot compute with (supported: F32, F16, BF16, "
                "Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
    }
    WeightTensor w;
    w.name = name;
    w.type = type;
    for (size_t i = 0; i < dims.size(); ++i) w.ne[i] = static_cast<int64_t>(dims[i]);
    w.data = t.data;
    w.n_bytes = t.n_bytes;
    // Rows (and so every expert's slice of a stacked tensor, which starts at a row boundary)
    // must be whole blocks: the gemm kernels, the embedding lookup and the per-expert views all
    // address rows as data + i * row_bytes. The reader checks this too; keep the check here so
    // the invariant holds for any File.
    if (!GgmlRowBytes(t.type_id, dims[0], &w.row_bytes)) {
      FormatError("tensor '" + name + "': row of " + std::to_string(dims[0]) +
                  " values is not a whole number of " + GgmlTypeName(t.type_id) + " blocks");
    }
    if (w.row_bytes * static_cast<uint64_t>(w.rows()) != t.n_bytes) {
      FormatError("tensor '" + name + "': " + std::to_string(t.n_bytes) +
                  " bytes do not match its shape and type " + GgmlTypeName(t.type_id));
    }
    return w;
  }

  std::vector<float> Vector(const std::string& name, uint64_t n) {
    const gguf::TensorInfo& t = Get(name, {n});
    const GgmlType type = static_cast<GgmlType>(t.type_id);
    if (type != GgmlType::kF32 && type != GgmlType::kF16 && type != GgmlType::kBF16) {
      Throw(ErrorCode::kUnsupported, "tensor '" + name + "' has type " +
                                         GgmlTypeName(t.type_id) +
                                         "; vectors must be F32, F16 or BF16");
    }
    std::vector<float> v(n);
    quant::DequantizeRow(type, t.data, v.data(), static_cast<int64_t>(n));
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) {
        FormatError("tensor '" + name + "' holds a non-finite value at index " +
                    std::to_string(i));
      }
    }
    return v;
  }

  float Scalar(const std::string& name) { return Vector(name, 1)[0]; }

  void CheckNoExtraTensors() const {
    for (const gguf::TensorInfo& t : f_.tensors()) {
      if (!used_.count(t.name)) {
        FormatError("unexpected tensor '" + t.name + "' for architecture " + kArch);
      }
    }
  }

 private:
  const gguf::TensorInfo& Get(const std::string& name, const std::vector<uint64_t>& dims) {
    const gguf::TensorInfo* t = f_.FindTensor(name);
    if (!t) FormatError("missing tensor '" + name + "'");
    if (t->dims != dims) {
      FormatError("tensor '" + name + "' has shape " + DimsString(t->dims) + ", expected " +
                  DimsString(dims));
    }
    used_.insert(name);
    return *t;
  }

  const gguf::File& f_;
  std::set<std::string> used_;
};

}  // namespace

bool IsSupportedWeightType(GgmlType type) {
  // Every type with an exact row decoder: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and
  // Q2_K..Q6_K. gemm::Linear/LinearT compute with all of them in place (the weights stay in the
  // mapping), and the embedding lookup decodes single rows with quant::DequantizeRow.
  return quant::CanDequantize(type);
}

int64_t EncodePassRows(const HParams& hp) {
  return std::max<int64_t>(2 * hp.canvas_length, 512);
}

uint64_t KvCacheBytes(const HParams& hp, int64_t n_ctx) {
  uint64_t total = 0;
  for (const LayerShape& l : hp.layers) {
    const int64_t rows =
        l.sliding ? std::min<int64_t>(n_ctx, hp.sliding_window - 1 + EncodePassRows(hp)) : n_ctx;
    total += static_cast<uint64_t>(rows) * l.n_kv_head * l.head_dim * 2 * sizeof(float);
  }
  return total;
}

Model::~Model() = default;

std::shared_ptr<const Model> Model::Load(const std::string& path,
                                         const ModelLoadOptions& options) {
  if (options.progress) options.progress(0.0f);
  return FromFile(gguf::File::Open(path, options.use_mmap), options);
}

std::shared_ptr<const Model> Model::FromFile(std::unique_ptr<gguf::File> file,
                                             const ModelLoadOptions& options) {
  if (!file) Throw(ErrorCode::kInvalidArgument, "no file");
  std::shared_ptr<Model> m(new Model());
  m->file_ = std::move(file);
  m->LoadHParams();
  m->LoadWeights(options);
  m->LoadEogIds();
  if (options.progress) options.progress(1.0f);
  return m;
}

void Model::LoadHParams() {
  const Meta meta(*file_);
  HParams& hp = hparams_;
  hp.architecture = meta.Str("general.architecture");
  if (hp.architecture != kArch) {
    Throw(ErrorCode::kUnsupported, "architecture '" + hp.architecture +
                                       "' is not supported (dllm runs '" + kArch + "')");
  }
  if (meta.Find("general.name")) hp.name = meta.Str("general.name");
  const std::string p = std::string(kArch) + ".";
  hp.n_embd = static_cast<int64_t>(meta.U64(p + "embedding_length"));
  CheckRange(p + "embedding_length", hp.n_embd, 1, 1 << 16);
  hp.n_layer = static_cast<int64_t>(meta.U64(p + "block_count"));
  CheckRange(p + "block_count", hp.n_layer, 1, 1024);
  hp.n_ff = static_cast<int64_t>(meta.U64(p + "feed_forward_length"));
  CheckRange(p + "feed_forward_length", hp.n_ff, 1, 1 << 20);
  hp.context_length = static_cast<int64_t>(meta.U64(p + "context_length"));
  CheckRange(p + "context_length", hp.context_length, 1, int64_t{1} << 31);
  hp.sliding_window = static_cast<int64_t>(meta.U64(p + "attention.sliding_window"));
  CheckRange(p + "attention.sliding_window", hp.sliding_window, 1, int64_t{1} << 31);
  hp.canvas_length = static_cast<int64_t>(meta.U64("diffusion.canvas_length"));
  CheckRange("diffusion.canvas_length", hp.canvas_length, 1, 1 << 16);
  hp.n_expert = static_cast<int>(meta.U64(p + "expert_count"));
  CheckRange(p + "expert_count", hp.n_expert, 1, 4096);
  hp.n_expert_used = static_cast<int>(meta.U64(p + "expert_used_count"));
  CheckRange(p + "expert_used_count", hp.n_expert_used, 1, hp.n_expert);
  hp.n_ff_exp = static_cast<int64_t>(meta.U64(p + "expert_feed_forward_length"));
  CheckRange(p + "expert_feed_forward_length", hp.n_ff_exp, 1, 1 << 20);
  hp.rms_eps = static_cast<float>(meta.F64(p + "attention.layer_norm_rms_epsilon"));
  if (!(hp.rms_eps > 0 && hp.rms_eps < 1)) {
    FormatError(p + "attention.layer_norm_rms_epsilon must be in (0, 1)");
  }
  hp.final_softcap = static_cast<float>(meta.F64Or(p + "final_logit_softcapping", 0.0));
  if (!(hp.final_softcap >= 0) || std::isinf(hp.final_softcap)) {
    FormatError(p + "final_logit_softcapping must be finite and >= 0");
  }
  if (meta.U64Or(p + "attention.shared_kv_layers", 0) != 0) {
    Throw(ErrorCode::kUnsupported, p + "attention.shared_kv_layers != 0 is not supported");
  }
  if (meta.U64Or(p + "embedding_length_per_layer_input", 0) != 0) {
    Throw(ErrorCode::kUnsupported,
          p + "embedding_length_per_layer_input != 0 (per-layer embeddings) is not supported");
  }

  const std::vector<int64_t> n_head = meta.PerLayerInt(p + "attention.head_count", hp.n_layer);
  const std::vector<int64_t> n_kv = meta.PerLayerInt(p + "attention.head_count_kv", hp.n_layer);
  const std::vector<bool> sliding =
      meta.PerLayerBool(p + "attention.sliding_window_pattern", hp.n_layer);
  const int64_t hd_full = static_cast<int64_t>(meta.U64(p + "attention.key_length"));
  const int64_t hd_swa = static_cast<int64_t>(meta.U64(p + "attention.key_length_swa"));
  if (static_cast<int64_t>(meta.U64Or(p + "attention.value_length", hd_full)) != hd_full ||
      static_cast<int64_t>(meta.U64Or(p + "attention.value_length_swa", hd_swa)) != hd_swa) {
    Throw(ErrorCode::kUnsupported, "value_length != key_length is not supported");
  }
  const int64_t rope_full = static_cast<int64_t>(meta.U64Or(p + "rope.dimension_count", hd_full));
  const int64_t rope_swa = static_cast<int64_t>(meta.U64Or(p + "rope.dimension_count_swa", hd_swa));
  const double base_full = meta.F64(p + "rope.freq_base");
  const double base_swa = meta.F64(p + "rope.freq_base_swa");
  if (!(base_full > 1) || !(base_swa > 1) || std::isinf(base_full) || std::isinf(base_swa)) {
    FormatError("rope.freq_base and rope.freq_base_swa must be finite and > 1");
  }
  hp.layers.resize(static_cast<size_t>(hp.n_layer));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    LayerShape& l = hp.layers[static_cast<size_t>(i)];
    const std::string where = "layer " + std::to_string(i) + ": ";
    l.sliding = sliding[static_cast<size_t>(i)];
    l.n_head = static_cast<int>(n_head[static_cast<size_t>(i)]);
    l.n_kv_head = static_cast<int>(n_kv[static_cast<size_t>(i)]);
    l.head_dim = static_cast<int>(l.sliding ? hd_swa : hd_full);
    l.rope_dims = static_cast<int>(l.sliding ? rope_swa : rope_full);
    l.rope_base = static_cast<float>(l.sliding ? base_swa : base_full);
    CheckRange(where + "head_count", l.n_head, 1, 1024);
    CheckRange(where + "head_count_kv", l.n_kv_head, 1, l.n_head);
    if (l.n_head % l.n_kv_head != 0) {
      FormatError(where + "head_count " + std::to_string(l.n_head) +
                  " is not a multiple of head_count_kv " + std::to_string(l.n_kv_head));
    }
    CheckRange(where + "head dim", l.head_dim, 2, 8192);
    if (l.head_dim % 2 != 0) FormatError(where + "head dim must be even");
    if (l.rope_dims != l.head_dim) {
      Throw(ErrorCode::kUnsupported, where + "RoPE over " + std::to_string(l.rope_dims) +
                                         " of " + std::to_string(l.head_dim) +
                                         " dims is not supported (use rope_freqs)");
    }
  }

  SamplerDefaults& sd = sampler_defaults_;
  sd.max_steps = static_cast<int>(meta.U64Or("diffusion.eb_max_steps", sd.max_steps));
  sd.t_min = static_cast<float>(meta.F64Or("diffusion.eb_t_min", sd.t_min));
  sd.t_max = static_cast<float>(meta.F64Or("diffusion.eb_t_max", sd.t_max));
  sd.entropy_bound = static_cast<float>(meta.F64Or("diffusion.eb_entropy_bound", sd.entropy_bound));
  sd.stability_threshold =
      static_cast<int>(meta.U64Or("diffusion.eb_stability_threshold", sd.stability_threshold));
  sd.confidence_threshold = static_cast<float>(
      meta.F64Or("diffusion.eb_confidence_threshold", sd.confidence_threshold));
  if (sd.max_steps < 1 || sd.max_steps > 100000 || !(sd.t_min > 0) || !(sd.t_max >= sd.t_min) ||
      !std::isfinite(sd.t_max) || !(sd.entropy_bound >= 0) || sd.stability_threshold < 0 ||
      !(sd.confidence_threshold >= 0)) {
    FormatError("invalid diffusion.eb_* sampler defaults in the model file");
  }
}

void Model::LoadWeights(const ModelLoadOptions& options) {
  TensorLoader t(*file_);
  HParams& hp = hparams_;
  const uint64_t d = static_cast<uint64_t>(hp.n_embd);

  const gguf::TensorInfo* embd = file_->FindTensor("token_embd.weight");
  if (!embd) FormatError("missing tensor 'token_embd.weight'");
  if (embd->dims.size() != 2) FormatError("tensor 'token_embd.weight' must be 2-D");
  hp.n_vocab = static_cast<int64_t>(embd->dims[1]);
  CheckRange("vocabulary size (token_embd.weight rows)", hp.n_vocab, 2, int64_t{1} << 24);
  global_.token_embd = t.Matrix("token_embd.weight", {d, static_cast<uint64_t>(hp.n_vocab)});
  global_.output_norm = t.Vector("output_norm.weight", d);

  bool any_global = false;
  int64_t global_hd = 0;
  for (const LayerShape& l : hp.layers) {
    if (!l.sliding) {
      any_global = true;
      if (global_hd && global_hd != l.head_dim) FormatError("global layers differ in head dim");
      global_hd = l.head_dim;
    }
  }
  if (any_global || t.Has("rope_freqs.weight")) {
    if (!any_global) FormatError("tensor 'rope_freqs.weight' present but no global layer uses it");
    global_.rope_freqs = t.Vector("rope_freqs.weight", static_cast<uint64_t>(global_hd / 2));
    for (float f : global_.rope_freqs) {
      if (!(f > 0)) FormatError("tensor 'rope_freqs.weight' must hold positive divisors");
    }
  }

  global_.self_cond_pre_norm = t.Vector("self_cond_pre_norm.weight", d);
  const gguf::TensorInfo* scg = file_->FindTensor("self_cond_gate.weight");
  if (!scg) FormatError("missing tensor 'self_cond_gate.weight'");
  if (scg->dims.size() != 2) FormatError("tensor 'self_cond_gate.weight' must be 2-D");
  const uint64_t n_sc = scg->dims[1];
  global_.self_cond_gate = t.Matrix("self_cond_gate.weight", {d, n_sc});
  global_.self_cond_up = t.Matrix("self_cond_up.weight", {d, n_sc});
  global_.self_cond_down = t.Matrix("self_cond_down.weight", {n_sc, d});

  const uint64_t n_ff = static_cast<uint64_t>(hp.n_ff);
  const uint64_t n_exp = static_cast<uint64_t>(hp.n_expert);
  const uint64_t n_ffe = static_cast<uint64_t>(hp.n_ff_exp);
  layers_.resize(static_cast<size_t>(hp.n_layer));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const LayerShape& s = hp.layers[static_cast<size_t>(i)];
    LayerWeights& l = layers_[static_cast<size_t>(i)];
    const std::string b = "blk." + std::to_string(i) + ".";
    const uint64_t hd = static_cast<uint64_t>(s.head_dim);
    const uint64_t q_out = static_cast<uint64_t>(s.n_head) * hd;
    const uint64_t kv_out = static_cast<uint64_t>(s.n_kv_head) * hd;
    l.attn_norm = t.Vector(b + "attn_norm.weight", d);
    l.attn_q = t.Matrix(b + "attn_q.weight", {d, q_out});
    l.attn_k = t.Matrix(b + "attn_k.weight", {d, kv_out});
    // Global layers of DiffusionGemma have no V projection (V = raw K). Accept a V tensor on any
    // layer that has one, as the generic Gemma 4 graph does.
    if (t.Has(b + "attn_v.weight")) {
      l.attn_v = t.Matrix(b + "attn_v.weight", {d, kv_out});
    } else if (s.sliding) {
      FormatError("missing tensor '" + b + "attn_v.weight' (sliding layers need it)");
    }
    hp.layers[static_cast<size_t>(i)].has_v = l.attn_v.present();
    l.attn_output = t.Matrix(b + "attn_output.weight", {q_out, d});
    l.attn_q_norm = t.Vector(b + "attn_q_norm.weight", hd);
    l.attn_k_norm = t.Vector(b + "attn_k_norm.weight", hd);
    l.post_attention_norm = t.Vector(b + "post_attention_norm.weight", d);
    l.ffn_norm = t.Vector(b + "ffn_norm.weight", d);
    l.ffn_gate = t.Matrix(b + "ffn_gate.weight", {d, n_ff});
    l.ffn_up = t.Matrix(b + "ffn_up.weight", {d, n_ff});
    l.ffn_down = t.Matrix(b + "ffn_down.weight", {n_ff, d});
    l.post_ffw_norm_1 = t.Vector(b + "post_ffw_norm_1.weight", d);
    l.ffn_gate_inp = t.Matrix(b + "ffn_gate_inp.weight", {d, n_exp});
    l.ffn_gate_inp_scale = t.Vector(b + "ffn_gate_inp.scale", d);
    l.pre_ffw_norm_2 = t.Vector(b + "pre_ffw_norm_2.weight", d);
    if (t.Has(b + "ffn_gate_up_exps.weight")) {
      l.ffn_gate_up_exps = t.Matrix(b + "ffn_gate_up_exps.weight", {d, 2 * n_ffe, n_exp});
    } else {
      l.ffn_gate_exps = t.Matrix(b + "ffn_gate_exps.weight", {d, n_ffe, n_exp});
      l.ffn_up_exps = t.Matrix(b + "ffn_up_exps.weight", {d, n_ffe, n_exp});
    }
    l.ffn_down_exps = t.Matrix(b + "ffn_down_exps.weight", {n_ffe, d, n_exp});
    l.ffn_down_exps_scale = t.Has(b + "ffn_down_exps.scale")
                                ? t.Vector(b + "ffn_down_exps.scale", n_exp)
                                : std::vector<float>(n_exp, 1.0f);
    l.post_ffw_norm_2 = t.Vector(b + "post_ffw_norm_2.weight", d);
    l.post_ffw_norm = t.Vector(b + "post_ffw_norm.weight", d);
    l.layer_output_scale = t.Scalar(b + "layer_output_scale.weight");
    // One early converter build used the name enc_layer_out_scale.
    l.enc_layer_output_scale = t.Has(b + "enc_layer_output_scale.weight")
                                   ? t.Scalar(b + "enc_layer_output_scale.weight")
                                   : t.Scalar(b + "enc_layer_out_scale.weight");
    if (options.progress) options.progress(static_cast<float>(i + 1) / (hp.n_layer + 1));
  }
  t.CheckNoExtraTensors();
}

void Model::LoadEogIds() {
  const Meta meta(*file_);
  std::set<int32_t> ids;
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.eom_token_id"}) {
    if (meta.Find(key)) {
      const uint64_t id = meta.U64(key);
      if (id >= static_cast<uint64_t>(hparams_.n_vocab)) {
        FormatError(std::string("metadata key '") + key + "' = " + std::to_string(id) +
                    " is outside the vocabulary");
      }
      ids.insert(static_cast<int32_t>(id));
    }
  }
  if (const gguf::Value* tokens = meta.Find("tokenizer.ggml.tokens")) {
    if (tokens->type() == gguf::ValueType::kArray &&
        tokens->array_type() == gguf::ValueType::kString) {
      const size_t n = std::min<size_t>(tokens->size(), static_cast<size_t>(hparams_.n_vocab));
      for (size_t i = 0; i < n; ++i) {
        const std::string& piece = (*tokens)[i].AsString();
        if (piece == "<turn|>" || piece == "<|tool_response>") ids.insert(static_cast<int32_t>(i));
      }
    }
  }
  if (ids.empty()) {
    for (int32_t id : {1, 106, 50}) {
      if (id < hparams_.n_vocab) ids.insert(id);
    }
  }
  eog_ids_.assign(ids.begin(), ids.end());
}

ModelStats Model::Stats() const {
  ModelStats s;
  s.file_bytes = file_->file_size();
  for (const gguf::TensorInfo& t : file_->tensors()) {
    s.type_histogram[GgmlTypeName(t.type_id)]++;
    s.weight_bytes += t.n_bytes;
    if (t.name == "rope_freqs.weight") continue;
    s.total_params += t.n_elements;
    if (t.name == "token_embd.weight") s.embedding_params += t.n_elements;
    if (t.name.find("_exps.weight") != std::string::npos) s.expert_params += t.n_elements;
  }
  const uint64_t active_experts =
      s.expert_params / static_cast<uint64_t>(hparams_.n_expert) * hparams_.n_expert_used;
  s.active_params = s.total_params - s.expert_params + active_experts;
  return s;
}

}  // namespace dllm
