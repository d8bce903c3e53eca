// dllm-cli: generate, chat and info over the public C++ API (dllm.hpp) only.
//
//   dllm-cli generate -m model.gguf -p "Why is the sky blue?" --chat
//   dllm-cli chat -m model.gguf --think
//   dllm-cli info -m model.gguf
//
// Generated text streams to stdout as canvases commit (the thought channel, when there is one,
// goes to stderr, dimmed on a terminal); timing goes to stderr.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <vector>
#include <string>

#include "dllm/dllm.hpp"
#include "info.h"
#include "options.h"
#include "visual.h"

namespace cli {
namespace {

// SIGINT cancels the running generation: the handler only sets this flag (async-signal-safe);
// the step callback sees it and calls Session::Cancel, which takes effect within one step.
volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void OnInterrupt(int) { g_interrupted = 1; }

// Streams committed text; owns the optional canvas view.
class Printer {
 public:
  Printer(const dllm::Model& model, const Options& o)
      : o_(o), dim_(IsTerminal(stderr)) {
    if (o.visual) {
      if (IsTerminal(stdout)) {
        view_.emplace(model, stdout);
      } else {
        std::fprintf(stderr, "dllm-cli: --visual needs a terminal on stdout; ignored\n");
      }
    }
  }

  dllm::Callbacks Callbacks(dllm::Session* session) {
    dllm::Callbacks cb;
    cb.on_step = [this, session](const dllm::StepInfo& s) {
      if (g_interrupted) {
        g_interrupted = 0;
        session->TryCancel();
      }
      if (view_) view_->Draw(s);
      return true;
    };
    cb.on_canvas = [this](const dllm::CanvasInfo& c) {
      if (view_) view_->Clear();
      if (o_.raw) {
        std::fwrite(c.text.data(), 1, c.text.size(), stdout);
      } else {
        if (!c.thought.empty()) {
          if (dim_) std::fputs("\x1b[2m", stderr);
          std::fwrite(c.thought.data(), 1, c.thought.size(), stderr);
          if (dim_) std::fputs("\x1b[0m", stderr);
          std::fflush(stderr);
        }
        std::fwrite(c.answer.data(), 1, c.answer.size(), stdout);
      }
      std::fflush(stdout);
      return true;
    };
    return cb;
  }

 private:
  const Options& o_;
  bool dim_;
  std::optional<CanvasView> view_;
};

void PrintMetrics(const dllm::Session& session, const dllm::Result& r) {
  const dllm::Metrics m = session.GetMetrics();
  std::string per_canvas;
  for (int32_t s : m.steps_per_canvas) per_canvas += (per_canvas.empty() ? "" : " ") + std::to_string(s);
  const char* why = r.stop_reason == DLLM_STOP_END_OF_GENERATION ? "end of generation"
                    : r.stop_reason == DLLM_STOP_MAX_TOKENS      ? "token limit"
                    : r.stop_reason == DLLM_STOP_CALLBACK        ? "stopped"
                                                                 : "cancelled";
  std::fprintf(stderr,
               "\n[%s] prompt %lld tokens in %.3f s | %lld tokens, %lld canvases, %lld steps "
               "(per canvas: %s), %.1f ms/step | %.3f s total, %.2f tokens/s\n",
               why, static_cast<long long>(m.prompt_tokens), m.prompt_seconds,
               static_cast<long long>(m.generated_tokens), static_cast<long long>(m.canvases),
               static_cast<long long>(m.steps), per_canvas.c_str(), m.step_seconds * 1e3,
               m.total_seconds, m.tokens_per_second);
}

dllm::Model Load(const Options& o) {
  dllm::LoadOptions lo;
  lo.n_threads = o.threads;
  lo.use_mmap = !o.no_mmap;
  lo.progress = ShowLoadProgress;
  return dllm::Model::Load(o.model, lo);
}

int Generate(const Options& o) {
  dllm::Model model = Load(o);
  dllm::Session session = dllm::Session::Create(model, {o.n_ctx, o.threads});
  Printer printer(model, o);
  std::signal(SIGINT, OnInterrupt);
  dllm::Result r;
  if (o.chat) {
    std::vector<dllm::ChatMessage> messages;
    if (!o.system.empty()) messages.push_back({"system", o.system});
    messages.push_back({"user", o.prompt});
    r = session.GenerateChat(messages, o.think, o.Sampler(model), printer.Callbacks(&session));
  } else {
    r = session.Generate(o.prompt, o.Sampler(model), printer.Callbacks(&session));
  }
  std::signal(SIGINT, SIG_DFL);
  std::fputs("\n", stdout);
  if (o.metrics) PrintMetrics(session, r);
  return r.cancelled() ? 130 : 0;
}

int Chat(const Options& o) {
  dllm::Model model = Load(o);
  if (!model.Info().has_chat_format) {
    std::fprintf(stderr, "dllm-cli: this model has no chat format\n");
    return 1;
  }
  dllm::Session session = dllm::Session::Create(model, {o.n_ctx, o.threads});
  Printer printer(model, o);
  const bool tty = IsTerminal(stdin);
  if (tty) std::fprintf(stderr, "dllm chat — /reset forgets the conversation, /quit or EOF ends\n");
  bool first = true;
  std::string line;
  for (;;) {
    if (tty) std::fputs("\n> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      session.Reset();
      first = true;
      std::fputs("(conversation forgotten)\n", stdout);
      continue;
    }
    if (line.empty()) continue;
    std::vector<dllm::ChatMessage> messages;
    if (first && !o.system.empty()) messages.push_back({"system", o.system});
    messages.push_back({"user", line});
    std::signal(SIGINT, OnInterrupt);
    dllm::Expected<dllm::Result> r =
        session.TryGenerateChat(messages, o.think, o.Sampler(model), printer.Callbacks(&session));
    if (!r && r.status().code() == DLLM_ERROR_CONTEXT_FULL) {
      // Start over with this message rather than fail the conversation.
      std::fputs("(context full: conversation forgotten)\n", stderr);
      session.Reset();
      if (!o.system.empty() && messages.front().role != "system") {
        messages.insert(messages.begin(), {"system", o.system});
      }
      r = session.TryGenerateChat(messages, o.think, o.Sampler(model), printer.Callbacks(&session));
    }
    std::signal(SIGINT, SIG_DFL);
    if (!r) throw dllm::Error(r.status());
    first = false;
    std::fputs("\n", stdout);
    if (o.metrics) PrintMetrics(session, *r);
  }
  return 0;
}

}  // namespace
}  // namespace cli

int main(int argc, char** argv) {
  int exit_code = 0;
  const std::optional<cli::Options> o = cli::ParseOptions(argc, argv, &exit_code);
  if (!o) return exit_code;
  try {
    if (o->verbosity > 0) {
      dllm::SetLogCallback(
          [](int level, const char* msg) {
            static const char* names[] = {"", "error", "warn", "info", "debug"};
            std::fprintf(stderr, "dllm %s: %s\n", names[level >= 0 && level <= 4 ? level : 0], msg);
          },
          o->verbosity > 1 ? DLLM_LOG_DEBUG : DLLM_LOG_INFO);
    }
    if (o->command == "info") {
      cli::Options opts = *o;
      dllm::LoadOptions lo;
      lo.progress = cli::ShowLoadProgress;
      const dllm::Model model = dllm::Model::Load(o->model, lo);
      cli::PrintInfo(model, o->model, opts);
      return 0;
    }
    if (o->command == "generate") return cli::Generate(*o);
    return cli::Chat(*o);
  } catch (const dllm::Error& e) {
    std::fprintf(stderr, "\ndllm-cli: %s\n", e.what());
    return 1;
  }
}
