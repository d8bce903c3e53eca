/* dllm.h as a C99 program sees it (-std=c99 -Wall -Wextra -pedantic -Werror), and every
 * declared function resolved from the shared library (the generated all_symbols_test.c). */
#include <stdio.h>
#include <string.h>

#include "dllm/dllm.h"

typedef void (*dllm_test_any_fn)(void);
struct dllm_test_symbol {
  const char* name;
  dllm_test_any_fn fn;
};
extern const struct dllm_test_symbol dllm_test_symbols[];
extern const size_t dllm_test_symbol_count;

int main(void) {
  size_t i;
  int failures = 0;
  dllm_sampler_params params;
  dllm_model* model = NULL;
  if (strcmp(dllm_version_string(), DLLM_VERSION_STRING) != 0) {
    fprintf(stderr, "version mismatch: %s vs %s\n", dllm_version_string(), DLLM_VERSION_STRING);
    ++failures;
  }
  for (i = 0; i < dllm_test_symbol_count; ++i) {
    if (!dllm_test_symbols[i].fn) {
      fprintf(stderr, "%s resolved to NULL\n", dllm_test_symbols[i].name);
      ++failures;
    }
  }
  if (dllm_sampler_params_init(&params, sizeof params) != DLLM_OK || params.max_steps <= 0) {
    ++failures;
  }
  if (dllm_model_load(NULL, NULL, &model) != DLLM_ERROR_INVALID_ARGUMENT || model != NULL) {
    ++failures;
  }
  printf("%u dllm.h functions resolved; %d failures\n", (unsigned)dllm_test_symbol_count,
         failures);
  return failures ? 1 : 0;
}
