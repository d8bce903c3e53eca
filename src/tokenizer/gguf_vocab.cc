#include "tokenizer/gguf_vocab.h"

#include <string>

#include "gguf/gguf.h"
#include "util/error.h"

namespace dllm {
namespace tokenizer {
namespace {

// Special ids are optional; present ones must name a token.
int32_t SpecialId(const gguf::File& f, const char* key, size_t n_tokens) {
  if (!f.Find(key)) return -1;
  const uint64_t id = f.GetU64(key);
  if (id >= n_tokens) {
    Throw(ErrorCode::kFormat, std::string("metadata key '") + key + "' = " + std::to_string(id) +
                                  " is not a token index (the vocabulary has " +
                                  std::to_string(n_tokens) + " tokens)");
  }
  return static_cast<int32_t>(id);
}

}  // namespace

VocabData VocabFromGguf(const gguf::File& f) {
  VocabData v;
  v.model = f.GetString("tokenizer.ggml.model");
  v.tokens = f.GetStringArray("tokenizer.ggml.tokens");
  if (f.Find("tokenizer.ggml.scores")) v.scores = f.GetF32Array("tokenizer.ggml.scores");
  if (f.Find("tokenizer.ggml.token_type")) {
    const std::vector<int64_t> types = f.GetI64Array("tokenizer.ggml.token_type");
    v.token_types.reserve(types.size());
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] < 1 || types[i] > 6) {
        Throw(ErrorCode::kFormat, "metadata key 'tokenizer.ggml.token_type' entry " +
                                      std::to_string(i) + " = " + std::to_string(types[i]) +
                                      " is not a token type (1..6)");
      }
      v.token_types.push_back(static_cast<int32_t>(types[i]));
    }
  }
  if (f.Find("tokenizer.ggml.merges")) v.merges = f.GetStringArray("tokenizer.ggml.merges");
  const size_t n = v.tokens.size();
  v.bos_id = SpecialId(f, "tokenizer.ggml.bos_token_id", n);
  v.eos_id = SpecialId(f, "tokenizer.ggml.eos_token_id", n);
  v.unk_id = SpecialId(f, "tokenizer.ggml.unknown_token_id", n);
  v.pad_id = SpecialId(f, "tokenizer.ggml.padding_token_id", n);
  v.mask_id = SpecialId(f, "tokenizer.ggml.mask_token_id", n);
  v.add_bos = f.GetBool("tokenizer.ggml.add_bos_token", true);
  v.add_space_prefix = f.GetBool("tokenizer.ggml.add_space_prefix", false);
  return v;
}

}  // namespace tokenizer
}  // namespace dllm
