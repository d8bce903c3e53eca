// dllm from C++: RAII handles, a settings builder, std::function callbacks, exceptions.
//
//   dllm_example_cpp MODEL.gguf [PROMPT]
#include <dllm/dllm.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0] << " MODEL.gguf [PROMPT]\n";
    return 2;
  }
  const std::string prompt = argc > 2 ? argv[2] : "Why is the sky blue?";
  try {
    dllm::Model model = dllm::Model::Load(argv[1]);
    const dllm::ModelInfo info = model.Info();
    std::cout << info.architecture << ": " << info.n_layer << " layers, "
              << info.n_params_active << " of " << info.n_params << " parameters active\n";

    dllm::Session session = dllm::Session::Create(model);
    dllm::Callbacks callbacks;
    int steps = 0;
    callbacks.on_step = [&](const dllm::StepInfo&) {
      ++steps;
      return true;  // keep going
    };
    callbacks.on_canvas = [](const dllm::CanvasInfo& c) {
      std::cout << c.answer << std::flush;
      return true;
    };
    const auto settings = dllm::SamplerSettings().Seed(42).MaxNewTokens(64);

    // Two turns: the second continues the session's context (its KV cache).
    for (const char* turn : {prompt.c_str(), "And at sunset?"}) {
      const dllm::Result r = info.has_chat_format
                                 ? session.GenerateChat({{"user", turn}}, false, settings, callbacks)
                                 : session.Generate(turn, settings, callbacks);
      const dllm::Metrics m = session.GetMetrics();
      std::cout << "\n[" << r.tokens.size() << " tokens, " << m.canvases << " canvases, "
                << m.steps << " steps, " << m.tokens_per_second << " tokens/s, context "
                << session.Info().n_past << " tokens]\n";
    }
    if (steps == 0) return 1;

    // Errors are exceptions carrying the status and message.
    try {
      session.GenerateTokens({-1});
      return 1;
    } catch (const dllm::Error& e) {
      std::cout << "expected error: " << e.what() << "\n";
      if (e.code() != DLLM_ERROR_INVALID_ARGUMENT) return 1;
    }
  } catch (const dllm::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
