// step_bench: one canvas denoising step of a DiffusionGemma model, split into its parts, as a
// fraction of the machine's measured peak, plus prompt encoding and the extrapolation to the
// released 30-layer model.
//
//   step_bench [-m MODEL.gguf] [--layers N] [--type bf16|f32|q8_0] [--context 512]
//              [--steps 3] [-t THREADS]
//
// Without -m it writes a random real-dims model (E 2816, 128 experts, vocab 262144; N layers,
// the last global) to /tmp first. FLOPs count multiply and add as two; attention counts QKᵀ and
// PV over the keys each query sees.
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/session.h"
#include "model/model.h"
#include "peak.h"
#include "synthetic.h"

namespace {

struct Flops {
  std::vector<double> layer;  // per layer
  double head = 0, self_cond = 0;
  double Layers() const {
    double s = 0;
    for (double f : layer) s += f;
    return s;
  }
};

// FLOPs of one pass over `rows` rows whose queries see `keys` keys (denoise: context + canvas).
double LayerFlops(const dllm::HParams& hp, const dllm::LayerShape& l, double rows, double keys) {
  const double d = static_cast<double>(hp.n_embd);
  const double q = l.n_head * static_cast<double>(l.head_dim);
  const double kv = l.n_kv_head * static_cast<double>(l.head_dim);
  double f = 2 * rows * d * (q + kv * (l.has_v ? 2 : 1)) + 2 * rows * q * d;  // projections
  f += 2 * 2 * rows * keys * q;                                              // QKᵀ and PV
  f += 3 * 2 * rows * d * static_cast<double>(hp.n_ff);                      // dense GeGLU
  f += 2 * rows * d * hp.n_expert;                                           // router
  f += 3 * 2 * rows * hp.n_expert_used * d * static_cast<double>(hp.n_ff_exp);  // experts
  return f;
}

Flops StepFlops(const dllm::Model& m, int64_t context) {
  const dllm::HParams& hp = m.hparams();
  const double c = static_cast<double>(hp.canvas_length);
  Flops f;
  for (const dllm::LayerShape& l : hp.layers) {
    const double reach = l.sliding ? std::min<double>(context, hp.sliding_window - 1) : context;
    f.layer.push_back(LayerFlops(hp, l, c, reach + c));
  }
  const double d = static_cast<double>(hp.n_embd), v = static_cast<double>(hp.n_vocab);
  const double nsc = static_cast<double>(m.global().self_cond_gate.ne[1]);
  f.head = 2 * c * d * v;
  f.self_cond = 2 * c * v * d + 3 * 2 * c * d * nsc;
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, type = "bf16";
  int layers = 2, steps = 3, threads = omp_get_num_procs();
  int64_t context = 512;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "-m") model_path = next();
    else if (a == "--layers") layers = std::atoi(next());
    else if (a == "--type") type = next();
    else if (a == "--context") context = std::atoll(next());
    else if (a == "--steps") steps = std::atoi(next());
    else if (a == "-t") threads = std::atoi(next());
    else {
      std::fprintf(stderr, "usage: step_bench [-m MODEL] [--layers N] [--type bf16|f32|q8_0] "
                           "[--context N] [--steps N] [-t THREADS]\n");
      return 2;
    }
  }
  if (model_path.empty()) {
    dllm::SyntheticConfig c = dllm::SyntheticConfig::RealDims(layers);
    c.weight_type = type == "f32"    ? dllm::GgmlType::kF32
                    : type == "q8_0" ? dllm::GgmlType::kQ8_0
                                     : dllm::GgmlType::kBF16;
    c.embedding_type = c.weight_type;
    model_path = "/tmp/dllm-real-dims-" + std::to_string(layers) + "l-" + type + ".gguf";
    std::printf("writing %s ...\n", model_path.c_str());
    std::fflush(stdout);
    dllm::WriteSyntheticModel(c, model_path);
  }
  const dllm::bench::Peaks peak = dllm::bench::MeasurePeaks(threads);
  auto model = dllm::Model::Load(model_path);
  const dllm::HParams& hp = model->hparams();
  const dllm::GgmlType wtype = model->layers()[0].attn_q.type;
  const double type_peak = wtype == dllm::GgmlType::kBF16 ? peak.bf16 : peak.f32;
  const char* peak_name = wtype == dllm::GgmlType::kBF16 ? "bf16" : "f32";

  dllm::Session session(model, {context + 2 * hp.canvas_length, threads});
  std::vector<int32_t> prompt(static_cast<size_t>(context));
  for (int64_t i = 0; i < context; ++i) prompt[static_cast<size_t>(i)] = static_cast<int32_t>(300 + (i * 37) % (hp.n_vocab - 300));
  dllm::GenerateParams p = dllm::GenerateParams::FromDefaults(model->sampler_defaults());
  p.fixed_steps = true;
  p.max_steps = steps;
  p.max_new_tokens = hp.canvas_length;
  std::vector<double> layer_time(static_cast<size_t>(hp.n_layer), 0.0);
  int observed = 0;
  dllm::GenerateCallbacks cb;
  cb.on_step = [&](const dllm::StepInfo& info) {
    if (info.step > 0) {  // step 0 includes one-off warm-up (primitive creation, page faults)
      const auto& t = session.forward().last_timing().per_layer;
      for (size_t i = 0; i < t.size(); ++i) layer_time[i] += t[i];
      ++observed;
    }
    return true;
  };
  session.Generate(prompt, p, cb);
  // A second run: prompt encode and steps without first-touch costs.
  session.Reset();
  std::fill(layer_time.begin(), layer_time.end(), 0.0);
  observed = 0;
  session.Generate(prompt, p, cb);
  const dllm::Metrics& m = session.metrics();

  const Flops f = StepFlops(*model, context);
  const double n = static_cast<double>(m.steps);
  const double t_sc = m.self_cond_seconds / std::max(1.0, n - 1);  // step 0 has no SC
  const double t_layers = m.layers_seconds / n, t_head = m.head_seconds / n;
  const double t_sample = m.sampling_seconds / n;
  const double t_step = m.denoise_seconds / n;
  std::printf("\nmodel %s: %lld layers, D %lld, vocab %lld, canvas %lld, weights %s; context %lld; "
              "%d threads\n",
              model_path.c_str(), static_cast<long long>(hp.n_layer),
              static_cast<long long>(hp.n_embd), static_cast<long long>(hp.n_vocab),
              static_cast<long long>(hp.canvas_length), dllm::GgmlTypeName(wtype).c_str(),
              static_cast<long long>(context), threads);
  std::printf("measured peak (oneDNN matmul M=256 K=N=4096): f32 %.0f GFLOP/s, bf16 %.0f GFLOP/s\n\n",
              peak.f32, peak.bf16);
  std::printf("%-34s %10s %10s %10s %8s\n", "part (per denoising step)", "ms", "GFLOP",
              "GFLOP/s", "of peak");
  auto row = [&](const char* name, double sec, double flops) {
    if (flops > 0) {
      std::printf("%-34s %10.1f %10.1f %10.1f %7.1f%%\n", name, sec * 1e3, flops * 1e-9,
                  flops / sec * 1e-9, 100.0 * flops / sec * 1e-9 / type_peak);
    } else {
      std::printf("%-34s %10.1f %10s %10s %8s\n", name, sec * 1e3, "-", "-", "-");
    }
  };
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string name = "layer " + std::to_string(i) +
                             (hp.layers[static_cast<size_t>(i)].sliding ? " (sliding)" : " (global)");
    row(name.c_str(), layer_time[static_cast<size_t>(i)] / std::max(1, observed), f.layer[static_cast<size_t>(i)]);
  }
  row("all layers", t_layers, f.Layers());
  row("self-conditioning (soft emb + MLP)", t_sc, f.self_cond);
  row("output head (+ soft-cap)", t_head, f.head);
  row("sampling (softmax/entropy/draw)", t_sample, 0);
  row("whole step", t_step, f.Layers() + f.head + f.self_cond);
  // Prefill.
  double prefill_flops = 0;
  for (const dllm::LayerShape& l : hp.layers) {
    const double reach = l.sliding ? std::min<double>(context, hp.sliding_window) : context;
    prefill_flops += LayerFlops(hp, l, static_cast<double>(context), reach / 2 + 1);
  }
  row("prompt encode (all rows)", m.prompt_seconds, prefill_flops);
  std::printf("(percentages are of the %s peak, the weights' type)\n", peak_name);

  // Extrapolation to the released model: 25 sliding + 5 global layers.
  double t_sliding = 0, t_global = 0;
  int n_sliding = 0, n_global = 0;
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const double t = layer_time[static_cast<size_t>(i)] / std::max(1, observed);
    if (hp.layers[static_cast<size_t>(i)].sliding) {
      t_sliding += t;
      ++n_sliding;
    } else {
      t_global += t;
      ++n_global;
    }
  }
  if (n_sliding && n_global) {
    const double t30 = 25 * t_sliding / n_sliding + 5 * t_global / n_global + t_sc + t_head + t_sample;
    const double per_canvas = 16 * t30;
    std::printf("\nextrapolated 30-layer step: %.2f s; at 16 steps per canvas: %.1f s per %lld "
                "tokens = %.2f tokens/s\n",
                t30, per_canvas, static_cast<long long>(hp.canvas_length),
                static_cast<double>(hp.canvas_length) / per_canvas);
  }
  return 0;
}
