#include "synthetic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "gguf/value.h"
#include "gguf/writer.h"
#include "quant/mix.h"
#include "quant/quant.h"
#include "util/error.h"
#include "util/rng.h"

namespace dllm {
namespace {

using gguf::Value;

// Values uniform in [-a, a] with a = sqrt(3)·sigma (standard deviation sigma), plus `mean`.
// Deterministic for a given (seed, stream) whatever the thread count: chunks get their own
// generator.
std::vector<float> RandomValues(uint64_t seed, uint64_t stream, size_t n, float mean,
                                float sigma) {
  std::vector<float> v(n);
  const float a = std::sqrt(3.0f) * sigma;
  constexpr size_t kChunk = size_t{1} << 20;
  const int64_t chunks = static_cast<int64_t>((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < chunks; ++c) {
    Rng rng(seed * 0x9E3779B97F4A7C15ull + stream * 0xD1B54A32D192ED03ull +
            static_cast<uint64_t>(c));
    const size_t end = std::min(n, static_cast<size_t>(c + 1) * kChunk);
    for (size_t i = static_cast<size_t>(c) * kChunk; i < end; ++i) {
      v[i] = mean + a * (2.0f * rng.Uniform01() - 1.0f);
    }
  }
  return v;
}

// general.file_type (llama_ftype) of a file whose matrices are all of type t.
uint32_t FileType(GgmlType t) {
  quant::MixTarget target;
  return quant::ParseMixTarget(GgmlTypeName(t), &target) ? target.file_type : 0;
}

bool IsBlockQuantized(GgmlType t) {
  return t != GgmlType::kF32 && t != GgmlType::kF16 && t != GgmlType::kBF16;
}

// The tokenizer vocabulary of a synthetic model: Gemma's special ids at 0..4, the Gemma 4 turn
// and channel tokens, byte-fallback tokens, then single characters and made-up words.
struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  int32_t turn_end = -1;
};

Vocab MakeVocab(int64_t n) {
  Vocab v;
  auto add = [&](const std::string& piece, int32_t type, float score) {
    v.tokens.push_back(piece);
    v.types.push_back(type);
    v.scores.push_back(score);
  };
  for (const char* s : {"<pad>", "<eos>", "<bos>", "<unk>", "<mask>"}) {
    add(s, std::string(s) == "<unk>" ? 2 : 3, 0.0f);
  }
  for (const char* s : {"<|turn>", "<turn|>", "<|channel>", "<channel|>", "<|think|>"}) add(s, 3, 0);
  v.turn_end = 6;
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    add(buf, 6, 0.0f);
  }
  const std::string chars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:'\"()-\n";
  const std::string space = "\xE2\x96\x81";  // ▁
  float score = -1.0f;
  for (char c : chars) {
    if (static_cast<int64_t>(v.tokens.size()) >= n) break;
    add(std::string(1, c), 1, score);
    score -= 0.001f;
    if (c != '\n' && static_cast<int64_t>(v.tokens.size()) < n) {
      add(space + std::string(1, c), 1, score);
      score -= 0.001f;
    }
  }
  if (static_cast<int64_t>(v.tokens.size()) < n) add(space, 1, score);
  for (uint64_t w = 0; static_cast<int64_t>(v.tokens.size()) < n; ++w) {
    std::string word;
    uint64_t x = w + 26 * 27;  // at least 2 letters
    while (x) {
      word.insert(word.begin(), static_cast<char>('a' + x % 26));
      x /= 26;
    }
    score -= 0.0001f;
    add(space + word, 1, score);
  }
  return v;
}

class Builder {
 public:
  explicit Builder(const SyntheticConfig& c) : c_(c) {
    if (!c.quant_target.empty()) {
      if (!quant::ParseMixTarget(c.quant_target, &target_)) {
        Throw(ErrorCode::kInvalidArgument, "unknown quantization target '" + c.quant_target + "'");
      }
      use_target_ = true;
      mix_.n_layer = static_cast<int>(c.n_layer);
      for (bool s : c.Pattern()) mix_.n_attn_v += s ? 1 : 0;  // V exists on sliding layers
    }
  }

  bool use_target() const { return use_target_; }
  const quant::MixTarget& target() const { return target_; }

  // A weight matrix: the configured weight type, or the target's rule for this name.
  void Matrix(const std::string& name, std::vector<uint64_t> dims, float sigma) {
    const GgmlType type = TypeFor(name, dims, c_.weight_type);
    Tensor(name, type, std::move(dims), 0.0f, sigma);
  }

  GgmlType TypeFor(const std::string& name, const std::vector<uint64_t>& dims,
                   GgmlType configured) {
    if (!use_target_) return configured;
    const quant::TypeChoice choice = quant::ChooseType(target_, name, dims, mix_);
    if (name.find("attn_v.weight") != std::string::npos) ++mix_.attn_v_index;
    if (name == "token_embd.weight" && c_.embedding_type_override >= 0) {
      return static_cast<GgmlType>(c_.embedding_type_override);
    }
    return choice.quantize ? choice.type : GgmlType::kF32;
  }

  bool any_block_quantized() const { return any_block_quantized_; }
  void Vector(const std::string& name, uint64_t n, float mean, float sigma) {
    Tensor(name, GgmlType::kF32, {n}, mean, sigma);
  }
  void Literal(const std::string& name, const std::vector<float>& v) {
    w_.AddTensor(name, 0, {v.size()}, v.data(), v.size() * sizeof(float));
  }

  void Tensor(const std::string& name, GgmlType type, std::vector<uint64_t> dims, float mean,
              float sigma) {
    uint64_t n = 1;
    for (uint64_t d : dims) n *= d;
    const std::vector<float> v = RandomValues(c_.seed, ++stream_, n, mean, sigma);
    const uint64_t row = dims[0];
    uint64_t row_bytes = 0;
    if (!GgmlRowBytes(static_cast<uint32_t>(type), row, &row_bytes)) {
      Throw(ErrorCode::kInvalidArgument, "tensor '" + name + "': rows of " +
                                             std::to_string(row) + " values cannot be stored as " +
                                             GgmlTypeName(type));
    }
    const uint64_t rows = n / row;
    auto bytes = std::make_shared<std::vector<uint8_t>>(rows * row_bytes);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < static_cast<int64_t>(rows); ++r) {
      quant::QuantizeRow(type, v.data() + r * row, bytes->data() + r * row_bytes,
                         static_cast<int64_t>(row));
    }
    any_block_quantized_ |= IsBlockQuantized(type);
    w_.AddTensorView(name, static_cast<uint32_t>(type), std::move(dims), bytes->data(),
                     bytes->size());
    keep_.push_back(std::move(bytes));
  }

  gguf::Writer& writer() { return w_; }

 private:
  const SyntheticConfig& c_;
  gguf::Writer w_;
  uint64_t stream_ = 0;
  std::vector<std::shared_ptr<std::vector<uint8_t>>> keep_;
  bool use_target_ = false;
  quant::MixTarget target_;
  quant::MixContext mix_;
  bool any_block_quantized_ = false;
};

void Build(const SyntheticConfig& c, Builder& b) {
  const std::vector<bool> pattern = c.Pattern();
  if (c.n_vocab < 300) Throw(ErrorCode::kInvalidArgument, "synthetic vocabularies need >= 300 tokens");
  if (c.n_layer < 1 || c.n_embd < 2 || c.n_head < 1 || c.n_kv_sliding < 1 || c.n_kv_global < 1 ||
      c.n_head % c.n_kv_sliding || c.n_head % c.n_kv_global || c.head_dim_sliding % 2 ||
      c.head_dim_global % 4 || c.n_expert_used > c.n_expert || c.canvas_length < 1) {
    Throw(ErrorCode::kInvalidArgument, "inconsistent synthetic model dimensions");
  }
  gguf::Writer& w = b.writer();
  const std::string a = "diffusion-gemma.";
  w.AddMetadata("general.architecture", Value::Str("diffusion-gemma"));
  w.AddMetadata("general.name", Value::Str(c.name));
  w.AddMetadata("general.file_type",
                Value::U32(b.use_target() ? b.target().file_type : FileType(c.weight_type)));
  w.AddMetadata(a + "context_length", Value::U32(static_cast<uint32_t>(c.context_length)));
  w.AddMetadata(a + "embedding_length", Value::U32(static_cast<uint32_t>(c.n_embd)));
  w.AddMetadata(a + "block_count", Value::U32(static_cast<uint32_t>(c.n_layer)));
  w.AddMetadata(a + "feed_forward_length", Value::U32(static_cast<uint32_t>(c.n_ff)));
  w.AddMetadata(a + "attention.head_count", Value::U32(static_cast<uint32_t>(c.n_head)));
  std::vector<int32_t> kv;
  for (bool s : pattern) kv.push_back(static_cast<int32_t>(s ? c.n_kv_sliding : c.n_kv_global));
  w.AddMetadata(a + "attention.head_count_kv", Value::I32Array(kv));
  const auto u32 = [](int64_t v) { return Value::U32(static_cast<uint32_t>(v)); };
  w.AddMetadata(a + "attention.key_length", u32(c.head_dim_global));
  w.AddMetadata(a + "attention.value_length", u32(c.head_dim_global));
  w.AddMetadata(a + "attention.key_length_swa", u32(c.head_dim_sliding));
  w.AddMetadata(a + "attention.value_length_swa", u32(c.head_dim_sliding));
  w.AddMetadata(a + "rope.dimension_count", u32(c.head_dim_global));
  w.AddMetadata(a + "rope.dimension_count_swa", u32(c.head_dim_sliding));
  w.AddMetadata(a + "rope.freq_base", Value::F32(1e6f));
  w.AddMetadata(a + "rope.freq_base_swa", Value::F32(1e4f));
  w.AddMetadata(a + "attention.layer_norm_rms_epsilon", Value::F32(1e-6f));
  w.AddMetadata(a + "attention.sliding_window", u32(c.sliding_window));
  w.AddMetadata(a + "attention.sliding_window_pattern", Value::BoolArray(pattern));
  w.AddMetadata(a + "final_logit_softcapping", Value::F32(30.0f));
  w.AddMetadata(a + "expert_count", u32(c.n_expert));
  w.AddMetadata(a + "expert_used_count", u32(c.n_expert_used));
  w.AddMetadata(a + "expert_feed_forward_length", u32(c.n_ff_exp));
  w.AddMetadata(a + "attention.shared_kv_layers", Value::U32(0));
  w.AddMetadata(a + "embedding_length_per_layer_input", Value::U32(0));
  w.AddMetadata(a + "attention.causal", Value::Bool(false));
  w.AddMetadata("diffusion.canvas_length", u32(c.canvas_length));
  if (c.with_sampler_keys) {
    w.AddMetadata("diffusion.eb_max_steps", Value::U32(48));
    w.AddMetadata("diffusion.eb_t_min", Value::F32(0.4f));
    w.AddMetadata("diffusion.eb_t_max", Value::F32(0.8f));
    w.AddMetadata("diffusion.eb_entropy_bound", Value::F32(0.1f));
    w.AddMetadata("diffusion.eb_stability_threshold", Value::U32(1));
    w.AddMetadata("diffusion.eb_confidence_threshold", Value::F32(0.005f));
  }
  const Vocab v = MakeVocab(c.n_vocab);
  w.AddMetadata("tokenizer.ggml.model", Value::Str("llama"));
  w.AddMetadata("tokenizer.ggml.pre", Value::Str("default"));
  w.AddMetadata("tokenizer.ggml.tokens", Value::StrArray(v.tokens));
  w.AddMetadata("tokenizer.ggml.scores", Value::F32Array(v.scores));
  w.AddMetadata("tokenizer.ggml.token_type", Value::I32Array(v.types));
  w.AddMetadata("tokenizer.ggml.bos_token_id", Value::U32(2));
  w.AddMetadata("tokenizer.ggml.eos_token_id", Value::U32(1));
  w.AddMetadata("tokenizer.ggml.unknown_token_id", Value::U32(3));
  w.AddMetadata("tokenizer.ggml.padding_token_id", Value::U32(0));
  w.AddMetadata("tokenizer.ggml.mask_token_id", Value::U32(4));
  w.AddMetadata("tokenizer.ggml.eot_token_id", Value::U32(static_cast<uint32_t>(v.turn_end)));
  w.AddMetadata("tokenizer.ggml.add_bos_token", Value::Bool(true));
  w.AddMetadata("tokenizer.ggml.add_eos_token", Value::Bool(false));
  w.AddMetadata("tokenizer.ggml.add_space_prefix", Value::Bool(false));

  const uint64_t d = static_cast<uint64_t>(c.n_embd);
  const float sd = 1.0f / std::sqrt(static_cast<float>(d));
  const std::vector<uint64_t> embd_dims = {d, static_cast<uint64_t>(c.n_vocab)};
  b.Tensor("token_embd.weight", b.TypeFor("token_embd.weight", embd_dims, c.embedding_type),
           embd_dims, 0, c.embedding_sigma);
  b.Vector("output_norm.weight", d, 1.0f, 0.05f);
  bool any_global = false;
  for (bool s : pattern) any_global |= !s;
  if (any_global) {
    // Proportional RoPE: the first quarter of the frequency pairs rotate, the rest are identity.
    const uint64_t pairs = static_cast<uint64_t>(c.head_dim_global / 2);
    std::vector<float> f(pairs, 1e30f);
    for (uint64_t j = 0; j < pairs / 4; ++j) f[j] = 1.0f;
    b.Literal("rope_freqs.weight", f);
  }
  const uint64_t nsc = static_cast<uint64_t>(c.n_ff_sc);
  b.Vector("self_cond_pre_norm.weight", d, 1.0f, 0.05f);
  b.Matrix("self_cond_gate.weight", {d, nsc}, sd);
  b.Matrix("self_cond_up.weight", {d, nsc}, sd);
  b.Matrix("self_cond_down.weight", {nsc, d}, 1.0f / std::sqrt(static_cast<float>(nsc)));

  const uint64_t ff = static_cast<uint64_t>(c.n_ff);
  const uint64_t ne = static_cast<uint64_t>(c.n_expert);
  const uint64_t fe = static_cast<uint64_t>(c.n_ff_exp);
  for (int64_t il = 0; il < c.n_layer; ++il) {
    const bool sliding = pattern[static_cast<size_t>(il)];
    const std::string p = "blk." + std::to_string(il) + ".";
    const uint64_t hd = static_cast<uint64_t>(sliding ? c.head_dim_sliding : c.head_dim_global);
    const uint64_t nkv = static_cast<uint64_t>(sliding ? c.n_kv_sliding : c.n_kv_global);
    const uint64_t qo = static_cast<uint64_t>(c.n_head) * hd;
    b.Vector(p + "attn_norm.weight", d, 1.0f, 0.05f);
    b.Matrix(p + "attn_q.weight", {d, qo}, sd);
    b.Matrix(p + "attn_k.weight", {d, nkv * hd}, sd);
    if (sliding) b.Matrix(p + "attn_v.weight", {d, nkv * hd}, sd);
    b.Matrix(p + "attn_output.weight", {qo, d}, 1.0f / std::sqrt(static_cast<float>(qo)));
    b.Vector(p + "attn_q_norm.weight", hd, c.qk_norm_mean, 0.05f * c.qk_norm_mean);
    b.Vector(p + "attn_k_norm.weight", hd, c.qk_norm_mean, 0.05f * c.qk_norm_mean);
    b.Vector(p + "post_attention_norm.weight", d, 1.0f, 0.05f);
    const float scale = 0.8f + 0.02f * static_cast<float>(il % 5);
    b.Literal(p + "layer_output_scale.weight", {scale});
    b.Literal(p + "enc_layer_output_scale.weight", {scale});
    b.Vector(p + "ffn_norm.weight", d, 1.0f, 0.05f);
    b.Matrix(p + "ffn_gate.weight", {d, ff}, sd);
    b.Matrix(p + "ffn_up.weight", {d, ff}, sd);
    b.Matrix(p + "ffn_down.weight", {ff, d}, 1.0f / std::sqrt(static_cast<float>(ff)));
    b.Vector(p + "post_ffw_norm_1.weight", d, 1.0f, 0.05f);
    b.Matrix(p + "ffn_gate_inp.weight", {d, ne}, 1.0f);
    b.Vector(p + "ffn_gate_inp.scale", d, 1.0f, 0.1f);
    b.Vector(p + "pre_ffw_norm_2.weight", d, 1.0f, 0.05f);
    if (c.fused_gate_up) {
      b.Matrix(p + "ffn_gate_up_exps.weight", {d, 2 * fe, ne}, sd);
    } else {
      b.Matrix(p + "ffn_gate_exps.weight", {d, fe, ne}, sd);
      b.Matrix(p + "ffn_up_exps.weight", {d, fe, ne}, sd);
    }
    b.Matrix(p + "ffn_down_exps.weight", {fe, d, ne}, 1.0f / std::sqrt(static_cast<float>(fe)));
    b.Vector(p + "ffn_down_exps.scale", ne, 1.0f, 0.2f);
    b.Vector(p + "post_ffw_norm_2.weight", d, 1.0f, 0.05f);
    b.Vector(p + "post_ffw_norm.weight", d, 1.0f, 0.05f);
  }
  // llama.cpp marks files holding block-quantized tensors with the quantization format version
  // (GGML_QNT_VERSION 2), after all other keys; dllm-quantize does the same.
  if (b.any_block_quantized()) w.AddMetadata("general.quantization_version", Value::U32(2));
}

}  // namespace

SyntheticConfig SyntheticConfig::Tiny() { return SyntheticConfig(); }

SyntheticConfig SyntheticConfig::TinyQuant() {
  SyntheticConfig c;
  c.name = "synthetic-tiny-quant";
  c.n_embd = 256;
  c.n_ff = 288;
  c.n_ff_sc = 288;
  c.head_dim_sliding = 64;
  c.head_dim_global = 128;
  c.n_ff_exp = 96;
  c.qk_norm_mean = 0.4f;
  return c;
}

SyntheticConfig SyntheticConfig::RealDims(int64_t n_layers) {
  SyntheticConfig c;
  c.name = "synthetic-real-dims";
  c.n_embd = 2816;
  c.n_layer = n_layers;
  c.n_ff = 2112;
  c.n_ff_sc = 2112;
  c.n_vocab = 262144;
  c.n_head = 16;
  c.n_kv_sliding = 8;
  c.n_kv_global = 2;
  c.head_dim_sliding = 256;
  c.head_dim_global = 512;
  c.n_expert = 128;
  c.n_expert_used = 8;
  c.n_ff_exp = 704;
  c.sliding_window = 1024;
  c.canvas_length = 256;
  c.context_length = 262144;
  c.weight_type = GgmlType::kBF16;
  c.embedding_type = GgmlType::kBF16;
  return c;
}

std::vector<bool> SyntheticConfig::Pattern() const {
  if (!sliding_pattern.empty()) {
    if (static_cast<int64_t>(sliding_pattern.size()) != n_layer) {
      Throw(ErrorCode::kInvalidArgument, "sliding_pattern needs one entry per layer");
    }
    return sliding_pattern;
  }
  std::vector<bool> p(static_cast<size_t>(n_layer));
  for (int64_t i = 0; i < n_layer; ++i) p[static_cast<size_t>(i)] = (i % 6) != 5;
  if (n_layer > 1) p.back() = false;  // the released model ends with a global layer
  return p;
}

void WriteSyntheticModel(const SyntheticConfig& config, const std::string& path) {
  Builder b(config);
  Build(config, b);
  b.writer().WriteToFile(path);
}

std::vector<uint8_t> SyntheticModelBytes(const SyntheticConfig& config) {
  Builder b(config);
  Build(config, b);
  return b.writer().WriteToBuffer();
}

}  // namespace dllm
