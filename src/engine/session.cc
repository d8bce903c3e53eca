#include "engine/session.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "engine/decoder.h"
#include "gemm/gemm.h"
#include "util/error.h"

namespace dllm {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& options)
    : model_(std::move(model)) {
  if (!model_) Throw(ErrorCode::kInvalidArgument, "session needs a model");
  const HParams& hp = model_->hparams();
  if (options.n_ctx < 0) Throw(ErrorCode::kInvalidArgument, "n_ctx must be >= 0");
  if (options.n_threads < 0 || options.n_threads > 4096) {
    Throw(ErrorCode::kInvalidArgument, "n_threads must be in [0, 4096]");
  }
  n_ctx_ = options.n_ctx ? options.n_ctx : hp.context_length;
  if (n_ctx_ < hp.canvas_length + 1) {
    Throw(ErrorCode::kInvalidArgument,
          "n_ctx " + std::to_string(n_ctx_) + " cannot hold a prompt and one canvas of " +
              std::to_string(hp.canvas_length));
  }
  n_threads_ = options.n_threads ? options.n_threads : omp_get_num_procs();
  gemm_ = std::make_unique<gemm::Context>();
  const int64_t rows = EncodePassRows(hp);  // a prompt pass; a canvas is at most half of it
  forward_ = std::make_unique<Forward>(*model_, *gemm_, rows);
  cache_.Init(hp, rows);
  decoder_ = std::make_unique<CanvasDecoder>(hp.canvas_length, hp.n_vocab);
}

Session::~Session() = default;

void Session::Reset() {
  cache_.Reset();
  pending_.clear();
  metrics_ = Metrics();
}

void Session::Encode(const std::vector<int32_t>& tokens, ForwardTrace* trace) {
  omp_set_num_threads(n_threads_);
  if (cache_.n_tokens() + static_cast<int64_t>(tokens.size()) > n_ctx_) {
    Throw(ErrorCode::kInvalidArgument, "context full: " + std::to_string(tokens.size()) +
                                           " more tokens exceed n_ctx " + std::to_string(n_ctx_));
  }
  forward_->Encode(tokens.data(), static_cast<int64_t>(tokens.size()), cache_, trace);
}

void Session::Denoise(const std::vector<int32_t>& canvas, const float* sc_probs, float* logits,
                      ForwardTrace* trace) {
  omp_set_num_threads(n_threads_);
  forward_->Denoise(canvas.data(), static_cast<int64_t>(canvas.size()), sc_probs, cache_, logits,
                    trace);
}

void Session::Validate(const std::vector<int32_t>& prompt, const GenerateParams& p) const {
  const HParams& hp = model_->hparams();
  auto bad = [](const std::string& m) { Throw(ErrorCode::kInvalidArgument, m); };
  if (prompt.empty() && n_past() == 0) bad("the prompt is empty (give at least one token)");
  for (size_t i = 0; i < prompt.size(); ++i) {
    if (prompt[i] < 0 || prompt[i] >= hp.n_vocab) {
      bad("prompt token " + std::to_string(prompt[i]) + " at index " + std::to_string(i) +
          " is outside the vocabulary [0, " + std::to_string(hp.n_vocab) + ")");
    }
  }
  if (p.max_steps < 1 || p.max_steps > 100000) bad("max_steps must be in [1, 100000]");
  if (!std::isfinite(p.t_min) || !std::isfinite(p.t_max) || p.t_min <= 0 || p.t_max <= 0) {
    bad("temperatures must be finite and > 0");
  }
  if (p.t_min > p.t_max) bad("t_min must not exceed t_max");
  if (!std::isfinite(p.entropy_bound) || p.entropy_bound < 0) {
    bad("entropy_bound must be finite and >= 0");
  }
  if (p.stability_threshold < 0 || p.stability_threshold > 100000) {
    bad("stability_threshold must be in [0, 100000]");
  }
  if (!std::isfinite(p.confidence_threshold) || p.confidence_threshold < 0) {
    bad("confidence_threshold must be finite and >= 0");
  }
  if (p.max_new_tokens < 1) bad("max_new_tokens must be >= 1");
  if (!std::isfinite(p.sc_threshold) || p.sc_threshold < 0 || p.sc_threshold >= 1) {
    bad("sc_threshold must be finite and in [0, 1)");
  }
  for (int32_t id : p.stop_ids) {
    if (id < 0 || id >= hp.n_vocab) bad("stop id " + std::to_string(id) + " is outside the vocabulary");
  }
  const int64_t need = n_past() + static_cast<int64_t>(prompt.size()) + hp.canvas_length;
  if (need > n_ctx_) {
    bad("context full: " + std::to_string(n_past()) + " tokens in context + " +
        std::to_string(prompt.size()) + " prompt tokens + one canvas of " +
        std::to_string(hp.canvas_length) + " exceed n_ctx " + std::to_string(n_ctx_));
  }
}

GenerateResult Session::Generate(const std::vector<int32_t>& prompt, const GenerateParams& p,
                                 const GenerateCallbacks& cb) {
  Validate(prompt, p);
  omp_set_num_threads(n_threads_);
  const HParams& hp = model_->hparams();
  const int64_t cv = hp.canvas_length;
  const std::vector<int32_t>& stop = p.stop_ids.empty() ? model_->eog_ids() : p.stop_ids;
  const auto t_start = Clock::now();
  metrics_ = Metrics();

  // The prompt continues the context: earlier output not yet encoded goes first.
  {
    const auto t0 = Clock::now();
    std::vector<int32_t> tokens = std::move(pending_);
    pending_.clear();
    tokens.insert(tokens.end(), prompt.begin(), prompt.end());
    metrics_.prompt_tokens = static_cast<int64_t>(tokens.size());
    forward_->Encode(tokens.data(), static_cast<int64_t>(tokens.size()), cache_);
    metrics_.prompt_seconds = Since(t0);
  }

  rng_.Seed(p.seed);
  forward_->set_self_cond_threshold(p.sc_threshold);
  GenerateResult result;
  const Denoiser denoise = [&](const int32_t* canvas, const float* sc, float* logits) {
    forward_->Denoise(canvas, cv, sc, cache_, logits);
    const Forward::Timing& ft = forward_->last_timing();
    metrics_.self_cond_seconds += ft.self_cond;
    metrics_.layers_seconds += ft.layers;
    metrics_.head_seconds += ft.head;
  };
  bool done = false;
  for (int canvas_index = 0; !done; ++canvas_index) {
    if (cache_.n_tokens() + cv > n_ctx_) {
      result.stop_reason = StopReason::kMaxTokens;  // the context is full
      break;
    }
    const CanvasDecoder::Outcome o =
        decoder_->Run(denoise, p, rng_, cb, canvas_index, &metrics_);
    result.steps_per_canvas.push_back(o.steps);
    if (o.cancelled) {
      result.stop_reason = StopReason::kCancelled;
      break;  // nothing of the unfinished canvas is committed
    }
    const bool stop_requested = o.stop_requested;
    const std::vector<int32_t>& committed = decoder_->argmax();
    ++metrics_.canvases;

    // Commit the argmax canvas, truncated after the first end-of-generation id or at the token
    // budget.
    int64_t n = cv;
    for (int64_t i = 0; i < cv; ++i) {
      if (std::find(stop.begin(), stop.end(), committed[static_cast<size_t>(i)]) != stop.end()) {
        n = i + 1;
        done = true;
        result.stop_reason = StopReason::kEndOfGeneration;
        break;
      }
    }
    const int64_t budget = p.max_new_tokens - static_cast<int64_t>(result.tokens.size());
    if (n >= budget) {
      if (!done || budget < n) result.stop_reason = StopReason::kMaxTokens;
      n = budget;
      done = true;
    }
    result.tokens.insert(result.tokens.end(), committed.begin(), committed.begin() + n);
    metrics_.generated_tokens += n;
    if (cb.on_canvas && !cb.on_canvas(canvas_index, committed.data(), n)) {
      if (!done) result.stop_reason = StopReason::kCallback;
      done = true;
    }
    if (stop_requested && !done) {
      result.stop_reason = StopReason::kCallback;
      done = true;
    }
    if (done) {
      // The last canvas is encoded lazily, only if the conversation continues.
      pending_.assign(committed.begin(), committed.begin() + n);
    } else {
      const auto t0 = Clock::now();
      forward_->Encode(committed.data(), cv, cache_);
      metrics_.commit_seconds += Since(t0);
    }
  }
  metrics_.total_seconds = Since(t_start);
  return result;
}

}  // namespace dllm
