#include "info.h"

#include <cstdio>
#include <string>

namespace cli {
namespace {

std::string Count(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) std::snprintf(buf, sizeof(buf), "%.2fB", n / 1e9);
  else if (n >= 1000000ull) std::snprintf(buf, sizeof(buf), "%.2fM", n / 1e6);
  else if (n >= 1000ull) std::snprintf(buf, sizeof(buf), "%.2fK", n / 1e3);
  else std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(n));
  return buf;
}

std::string Bytes(uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30)) std::snprintf(buf, sizeof(buf), "%.2f GiB", n / 1073741824.0);
  else if (n >= (1ull << 20)) std::snprintf(buf, sizeof(buf), "%.2f MiB", n / 1048576.0);
  else if (n >= (1ull << 10)) std::snprintf(buf, sizeof(buf), "%.2f KiB", n / 1024.0);
  else std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace

void PrintInfo(const dllm::Model& model, const std::string& path, const Options& options) {
  const dllm::ModelInfo i = model.Info();
  const int64_t n_ctx = options.n_ctx > 0 ? options.n_ctx : i.context_length;
  const dllm::MemoryEstimate mem = model.EstimateMemory(n_ctx);
  const dllm_sampler_params sd = model.SamplerDefaults();
  std::printf("file            %s (%s)\n", path.c_str(), Bytes(i.file_bytes).c_str());
  std::printf("architecture    %s%s%s\n", i.architecture.c_str(), i.name.empty() ? "" : "  name ",
              i.name.c_str());
  std::printf("dimensions      embd %lld, layers %lld, dense ffn %lld, vocab %lld\n",
              static_cast<long long>(i.n_embd), static_cast<long long>(i.n_layer),
              static_cast<long long>(i.n_ff), static_cast<long long>(i.n_vocab));
  std::printf("experts         %d, %d used per token, expert ffn %lld\n", i.n_expert,
              i.n_expert_used, static_cast<long long>(i.n_ff_expert));
  std::printf("context         %lld tokens, canvas %lld, sliding window %lld\n",
              static_cast<long long>(i.context_length), static_cast<long long>(i.canvas_length),
              static_cast<long long>(i.sliding_window));
  std::printf("norm eps        %g, final logit soft-cap %g\n", i.rms_eps, i.final_logit_softcap);
  // Layer pattern: S = sliding, G = global; then the distinct geometries.
  std::string pattern;
  for (size_t l = 0; l < i.layers.size(); ++l) {
    if (l && l % 10 == 0) pattern += ' ';
    pattern += i.layers[l].sliding ? 'S' : 'G';
  }
  std::printf("layer pattern   %s  (S sliding, G global)\n", pattern.c_str());
  for (int kind = 1; kind >= 0; --kind) {
    for (const dllm::LayerInfo& l : i.layers) {
      if (l.sliding != (kind == 1)) continue;
      std::printf("  %-7s       heads %d, kv heads %d, head dim %d, rope base %g%s\n",
                  l.sliding ? "sliding" : "global", l.n_head, l.n_kv_head, l.head_dim,
                  l.rope_base, l.has_v ? "" : ", V = K");
      break;
    }
  }
  std::printf("tensor types   ");
  for (const auto& t : i.tensor_types) {
    std::printf(" %s x%llu", t.first.c_str(), static_cast<unsigned long long>(t.second));
  }
  std::printf("\n");
  std::printf("parameters      %s total, %s active per token (experts %s, embedding %s)\n",
              Count(i.n_params).c_str(), Count(i.n_params_active).c_str(),
              Count(i.n_params_expert).c_str(), Count(i.n_params_embedding).c_str());
  std::printf("memory          weights %s (mapped), KV cache %s at %lld tokens, buffers %s;"
              " total %s\n",
              Bytes(mem.weight_bytes).c_str(), Bytes(mem.kv_cache_bytes).c_str(),
              static_cast<long long>(n_ctx), Bytes(mem.scratch_bytes).c_str(),
              Bytes(mem.total_bytes).c_str());
  std::printf("tokenizer       %s, bos %d, eos %d, eot %d, pad %d, unk %d, mask %d, add_bos %s\n",
              i.tokenizer_model.c_str(), i.bos_id, i.eos_id, i.eot_id, i.pad_id, i.unk_id,
              i.mask_id, i.add_bos ? "yes" : "no");
  std::string eog;
  for (int32_t id : i.eog_ids) eog += (eog.empty() ? "" : ", ") + std::to_string(id);
  std::printf("stop ids        %s\n", eog.c_str());
  std::printf("chat            template in file: %s, chat format: %s\n",
              i.has_chat_template ? "yes" : "no", i.has_chat_format ? "yes" : "no");
  std::printf("sampler         steps %d, t %g -> %g, entropy bound %g, stability %d,"
              " confidence %g\n",
              sd.max_steps, sd.t_max, sd.t_min, sd.entropy_bound, sd.stability_threshold,
              sd.confidence_threshold);
}

}  // namespace cli
