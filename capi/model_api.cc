// dllm_model_*: loading, metadata, and the *_init functions of the parameter structs.
#include <algorithm>
#include <memory>
#include <string>

#include "dllm/dllm.h"
#include "gguf/gguf.h"
#include "handles.h"
#include "model/model.h"
#include "status.h"
#include "structs.h"
#include "util/error.h"

namespace dllm {
namespace capi {
namespace {

dllm_load_params DefaultLoadParams() {
  dllm_load_params p{};
  p.struct_size = sizeof(p);
  p.n_threads = 0;
  p.use_mmap = 1;
  p.progress = nullptr;
  p.progress_user_data = nullptr;
  return p;
}

}  // namespace

dllm_sampler_params DefaultSamplerParams() {
  const GenerateParams g;
  dllm_sampler_params p{};
  p.struct_size = sizeof(p);
  p.max_steps = g.max_steps;
  p.t_min = g.t_min;
  p.t_max = g.t_max;
  p.entropy_bound = g.entropy_bound;
  p.stability_threshold = g.stability_threshold;
  p.confidence_threshold = g.confidence_threshold;
  p.seed = g.seed;
  p.max_new_tokens = g.max_new_tokens;
  p.stop_ids = nullptr;
  p.n_stop_ids = 0;
  p.fixed_steps = 0;
  p.argmax = 0;
  p.sc_threshold = g.sc_threshold;
  return p;
}

void ApplySamplerDefaults(const SamplerDefaults& d, dllm_sampler_params* p) {
  p->max_steps = d.max_steps;
  p->t_min = d.t_min;
  p->t_max = d.t_max;
  p->entropy_bound = d.entropy_bound;
  p->stability_threshold = d.stability_threshold;
  p->confidence_threshold = d.confidence_threshold;
}

}  // namespace capi
}  // namespace dllm

using dllm::capi::Guard;
using dllm::capi::InvalidArgument;

extern "C" {

dllm_status dllm_load_params_init(dllm_load_params* params, size_t struct_size) {
  return Guard(__func__, [&] {
    dllm::capi::InitStruct(params, struct_size, dllm::capi::DefaultLoadParams(), "params");
  });
}

dllm_status dllm_sampler_params_init(dllm_sampler_params* params, size_t struct_size) {
  return Guard(__func__, [&] {
    dllm::capi::InitStruct(params, struct_size, dllm::capi::DefaultSamplerParams(), "params");
  });
}

dllm_status dllm_model_load(const char* path, const dllm_load_params* params,
                            dllm_model** out_model) {
  return Guard(__func__, [&] {
    if (!out_model) InvalidArgument("out_model is NULL");
    *out_model = nullptr;
    if (!path) InvalidArgument("path is NULL");
    const dllm_load_params p =
        params ? dllm::capi::ReadStruct(*params, "params") : dllm::capi::DefaultLoadParams();
    if (p.n_threads < 0 || p.n_threads > 4096) {
      InvalidArgument("params.n_threads = " + std::to_string(p.n_threads) +
                      " is outside [0, 4096]");
    }
    if (p.use_mmap != 0 && p.use_mmap != 1) InvalidArgument("params.use_mmap must be 0 or 1");

    // Progress: the engine's load maps to [0, 0.9], the tokenizer to the rest.
    auto report = [&p](float fraction) {
      if (p.progress && p.progress(fraction, p.progress_user_data) != DLLM_CONTINUE) {
        dllm::Throw(dllm::ErrorCode::kCancelled, "loading cancelled by the progress callback");
      }
    };
    dllm::ModelLoadOptions options;
    options.use_mmap = p.use_mmap != 0;
    if (p.progress) options.progress = [&report](float f) { report(0.9f * f); };

    auto model = std::make_shared<dllm_model>();
    model->engine = dllm::Model::Load(path, options);
    const dllm::gguf::File& file = model->engine->file();
    model->codec = dllm::capi::TextCodec::FromFile(file, model->engine->hparams().n_vocab);
    model->n_threads = p.n_threads;
    model->stats = model->engine->Stats();
    for (const auto& entry : model->stats.type_histogram) {
      model->tensor_types.emplace_back(entry.first, static_cast<uint64_t>(entry.second));
    }
    model->tokenizer_model = file.GetString("tokenizer.ggml.model", "");
    model->has_chat_template = file.Find("tokenizer.chat_template") != nullptr;
    report(1.0f);

    if (dllm::capi::LogEnabled(DLLM_LOG_INFO)) {
      const dllm::HParams& hp = model->engine->hparams();
      dllm::capi::Log(DLLM_LOG_INFO, "loaded " + std::string(path) + ": " + hp.architecture +
                                         ", " + std::to_string(hp.n_layer) + " layers, vocab " +
                                         std::to_string(hp.n_vocab) + ", canvas " +
                                         std::to_string(hp.canvas_length));
    }
    dllm_model* handle = model.get();
    dllm::capi::RegisterModel(std::move(model));
    *out_model = handle;
  });
}

dllm_status dllm_model_free(dllm_model* model) {
  return Guard(__func__, [&] {
    if (!model) return;
    if (!dllm::capi::UnregisterModel(model)) {
      InvalidArgument("model is not a live dllm_model handle (freed twice?)");
    }
  });
}

dllm_status dllm_model_get_info(const dllm_model* model, dllm_model_info* info) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    dllm::capi::CheckOutStruct(info, "info");
    const dllm::HParams& hp = m->engine->hparams();
    const dllm::capi::SpecialIds& sp = m->codec->specials();
    dllm_model_info v{};
    v.struct_size = sizeof(v);
    v.architecture = hp.architecture.c_str();
    v.name = hp.name.c_str();
    v.n_embd = hp.n_embd;
    v.n_layer = hp.n_layer;
    v.n_ff = hp.n_ff;
    v.n_vocab = hp.n_vocab;
    v.context_length = hp.context_length;
    v.canvas_length = hp.canvas_length;
    v.sliding_window = hp.sliding_window;
    v.n_expert = hp.n_expert;
    v.n_expert_used = hp.n_expert_used;
    v.n_ff_expert = hp.n_ff_exp;
    v.rms_eps = hp.rms_eps;
    v.final_logit_softcap = hp.final_softcap;
    v.bos_id = sp.bos;
    v.eos_id = sp.eos;
    v.eot_id = sp.eot;
    v.pad_id = sp.pad;
    v.unk_id = sp.unk;
    v.mask_id = sp.mask;
    v.eog_ids = m->engine->eog_ids().data();
    v.n_eog_ids = m->engine->eog_ids().size();
    v.add_bos = sp.add_bos ? 1 : 0;
    v.has_chat_template = m->has_chat_template ? 1 : 0;
    v.has_chat_format = m->codec->has_chat_format() ? 1 : 0;
    v.n_tensor_types = static_cast<int32_t>(m->tensor_types.size());
    v.n_params = m->stats.total_params;
    v.n_params_active = m->stats.active_params;
    v.n_params_expert = m->stats.expert_params;
    v.n_params_embedding = m->stats.embedding_params;
    v.file_bytes = m->stats.file_bytes;
    v.weight_bytes = m->stats.weight_bytes;
    v.tokenizer_model = m->tokenizer_model.c_str();
    dllm::capi::WriteStruct(info, v);
  });
}

dllm_status dllm_model_get_layer_info(const dllm_model* model, int64_t layer,
                                      dllm_layer_info* info) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    dllm::capi::CheckOutStruct(info, "info");
    const dllm::HParams& hp = m->engine->hparams();
    if (layer < 0 || layer >= hp.n_layer) {
      InvalidArgument("layer " + std::to_string(layer) + " is outside [0, " +
                      std::to_string(hp.n_layer) + ")");
    }
    const dllm::LayerShape& l = hp.layers[static_cast<size_t>(layer)];
    dllm_layer_info v{};
    v.struct_size = sizeof(v);
    v.sliding = l.sliding ? 1 : 0;
    v.n_head = l.n_head;
    v.n_kv_head = l.n_kv_head;
    v.head_dim = l.head_dim;
    v.rope_base = l.rope_base;
    v.has_v = l.has_v ? 1 : 0;
    dllm::capi::WriteStruct(info, v);
  });
}

dllm_status dllm_model_get_tensor_type(const dllm_model* model, int32_t index,
                                       const char** type_name, uint64_t* n_tensors) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    if (index < 0 || static_cast<size_t>(index) >= m->tensor_types.size()) {
      InvalidArgument("index " + std::to_string(index) + " is outside [0, " +
                      std::to_string(m->tensor_types.size()) + ")");
    }
    const auto& entry = m->tensor_types[static_cast<size_t>(index)];
    if (type_name) *type_name = entry.first.c_str();
    if (n_tensors) *n_tensors = entry.second;
  });
}

dllm_status dllm_model_estimate_memory(const dllm_model* model, int64_t n_ctx,
                                       dllm_memory_estimate* estimate) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    dllm::capi::CheckOutStruct(estimate, "estimate");
    if (n_ctx < 0) InvalidArgument("n_ctx must be >= 0");
    const dllm::HParams& hp = m->engine->hparams();
    if (n_ctx == 0) n_ctx = hp.context_length;
    dllm_memory_estimate v{};
    v.struct_size = sizeof(v);
    v.weight_bytes = m->stats.weight_bytes;
    v.kv_cache_bytes = dllm::KvCacheBytes(hp, n_ctx);
    // Logits and softmax of one canvas, plus the activations of one pass (a prompt pass,
    // dllm::EncodePassRows): residual, norms, attention and feed-forward widths.
    const uint64_t cv = static_cast<uint64_t>(hp.canvas_length);
    const uint64_t rows = static_cast<uint64_t>(dllm::EncodePassRows(hp));
    uint64_t widest_attn = 0;
    for (const dllm::LayerShape& l : hp.layers) {
      widest_attn = std::max<uint64_t>(widest_attn,
                                       static_cast<uint64_t>(l.n_head + 2 * l.n_kv_head) *
                                           static_cast<uint64_t>(l.head_dim));
    }
    const uint64_t per_row = 6 * static_cast<uint64_t>(hp.n_embd) + widest_attn +
                             3 * static_cast<uint64_t>(std::max(hp.n_ff, 2 * hp.n_ff_exp));
    v.scratch_bytes = (2 * cv * static_cast<uint64_t>(hp.n_vocab) + rows * per_row) * 4;
    v.total_bytes = v.weight_bytes + v.kv_cache_bytes + v.scratch_bytes;
    dllm::capi::WriteStruct(estimate, v);
  });
}

dllm_status dllm_model_get_sampler_defaults(const dllm_model* model,
                                            dllm_sampler_params* params) {
  return Guard(__func__, [&] {
    auto m = dllm::capi::LookupModel(model);
    if (!params) InvalidArgument("params is NULL");
    dllm::capi::CheckStructSize(params->struct_size, sizeof(*params), "params");
    dllm::capi::ApplySamplerDefaults(m->engine->sampler_defaults(), params);
  });
}

}  // extern "C"
