// dllm.hpp compiled with -fno-exceptions (and -fno-rtti): only the Try* forms exist and errors
// come back as Status objects.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "dllm/dllm.hpp"

#if DLLM_HPP_EXCEPTIONS
#error "this test must be compiled with -fno-exceptions"
#endif

static int failures = 0;
#define EXPECT(cond)                                                    \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "%s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                       \
    }                                                                   \
  } while (0)

int main() {
  const char* path = std::getenv("DLLM_TEST_MODEL");
  if (!path) {
    std::fprintf(stderr, "DLLM_TEST_MODEL is not set\n");
    return 1;
  }
  dllm::Expected<dllm::Model> missing = dllm::Model::TryLoad("/nonexistent.gguf");
  EXPECT(!missing);
  EXPECT(missing.status().code() == DLLM_ERROR_IO);
  EXPECT(!missing.status().message().empty());

  dllm::Expected<dllm::Model> model = dllm::Model::TryLoad(path);
  EXPECT(model.ok());
  if (!model) return 1;
  dllm::Expected<dllm::ModelInfo> info = model->TryInfo();
  EXPECT(info && info->n_layer == 6);
  dllm::Expected<std::vector<int32_t>> ids = model->TryTokenize("Hello", true);
  EXPECT(ids && ids->size() >= 2);
  EXPECT(!model->TryTokenize("\xff"));

  dllm::SessionOptions so;
  so.n_threads = 1;
  dllm::Expected<dllm::Session> session = dllm::Session::TryCreate(*model, so);
  EXPECT(session.ok());
  if (!session) return 1;
  int canvases = 0;
  dllm::Callbacks cb;
  cb.on_canvas = [&](const dllm::CanvasInfo&) {
    ++canvases;
    return true;
  };
  dllm::Expected<dllm::Result> r = session->TryGenerate(
      "Once", dllm::SamplerSettings().Seed(1).MaxSteps(4).MaxNewTokens(32), cb);
  EXPECT(r.ok());
  EXPECT(r && canvases == r->n_canvases && !r->tokens.empty());
  dllm::Expected<dllm::Result> bad = session->TryGenerateTokens({-5});
  EXPECT(!bad && bad.status().code() == DLLM_ERROR_INVALID_ARGUMENT);
  EXPECT(session->TryReset().ok());
  dllm::Expected<dllm::SessionInfo> si = session->TryInfo();
  EXPECT(si && si->n_past == 0);
  std::printf("hpp without exceptions: %d failures\n", failures);
  return failures ? 1 : 0;
}
