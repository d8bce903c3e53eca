/* dllm from C: load a model, tokenize, generate with streaming callbacks, read the metrics.
 *
 *   dllm_example_c MODEL.gguf [PROMPT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dllm/dllm.h>

/* Every dllm call returns a status; print the thread's last error on failure. */
#define CHECK(call)                                                                       \
  do {                                                                                    \
    dllm_status status_ = (call);                                                         \
    if (status_ != DLLM_OK) {                                                             \
      fprintf(stderr, "%s failed: %s (%s)\n", #call, dllm_status_string(status_),         \
              dllm_last_error());                                                         \
      return 1;                                                                           \
    }                                                                                     \
  } while (0)

typedef struct {
  int steps;
  int canvases;
} Progress;

static int on_step(const dllm_step_info* info, void* user_data) {
  Progress* p = (Progress*)user_data;
  p->steps++;
  (void)info;
  return DLLM_CONTINUE;
}

/* Committed text arrives a canvas at a time, always as complete UTF-8. */
static int on_canvas(const dllm_canvas_info* info, void* user_data) {
  Progress* p = (Progress*)user_data;
  p->canvases++;
  fwrite(info->answer, 1, info->answer_len, stdout);
  fflush(stdout);
  return DLLM_CONTINUE;
}

int main(int argc, char** argv) {
  const char* prompt = argc > 2 ? argv[2] : "Why is the sky blue?";
  dllm_model* model = NULL;
  dllm_session* session = NULL;
  dllm_model_info info;
  dllm_sampler_params sampler;
  dllm_callbacks callbacks;
  dllm_result result;
  dllm_metrics metrics;
  int32_t ids[256];
  size_t n_ids = 0;
  Progress progress = {0, 0};
  dllm_chat_message chat[1];

  if (argc < 2) {
    fprintf(stderr, "usage: %s MODEL.gguf [PROMPT]\n", argv[0]);
    return 2;
  }
  printf("dllm %s (header %s)\n", dllm_version_string(), DLLM_VERSION_STRING);

  CHECK(dllm_model_load(argv[1], NULL, &model));
  info.struct_size = sizeof info;
  CHECK(dllm_model_get_info(model, &info));
  printf("%s: %lld layers, vocab %lld, canvas %lld\n", info.architecture,
         (long long)info.n_layer, (long long)info.n_vocab, (long long)info.canvas_length);

  CHECK(dllm_tokenize(model, prompt, DLLM_NUL_TERMINATED, DLLM_TOKENIZE_ADD_BOS, ids, 256,
                      &n_ids));
  printf("prompt: %zu tokens\n", n_ids);

  CHECK(dllm_session_create(model, NULL, &session));
  /* The session keeps the model alive: the model handle is not needed any more. */
  CHECK(dllm_model_free(model));

  CHECK(dllm_sampler_params_init(&sampler, sizeof sampler));
  sampler.seed = 42;
  sampler.max_new_tokens = 64;
  CHECK(dllm_callbacks_init(&callbacks, sizeof callbacks));
  callbacks.on_step = on_step;
  callbacks.on_canvas = on_canvas;
  callbacks.user_data = &progress;
  result.struct_size = sizeof result;

  chat[0].role = "user";
  chat[0].content = prompt;
  if (info.has_chat_format) {
    CHECK(dllm_session_generate_chat(session, chat, 1, 0, &sampler, &callbacks, &result));
  } else {
    CHECK(dllm_session_generate_text(session, prompt, strlen(prompt), &sampler, &callbacks,
                                     &result));
  }
  printf("\n%zu tokens, %d canvases, %d steps, stop reason %d\n", result.n_tokens,
         result.n_canvases, progress.steps, result.stop_reason);

  metrics.struct_size = sizeof metrics;
  CHECK(dllm_session_get_metrics(session, &metrics));
  printf("%.2f ms/step, %.1f tokens/s\n", metrics.step_seconds * 1e3, metrics.tokens_per_second);
  if (progress.canvases != result.n_canvases || metrics.steps != progress.steps) {
    fprintf(stderr, "callback counts disagree with the result\n");
    return 1;
  }
  CHECK(dllm_session_free(session));
  return 0;
}
