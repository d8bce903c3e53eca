// The tokenizer vocabulary of a GGUF file: tokenizer.ggml.* metadata -> VocabData.
// (Written by the public-API work so that capi/ can build a Tokenizer from a model file.)
#pragma once

#include "tokenizer/tokenizer.h"

namespace dllm {
namespace gguf {
class File;
}
namespace tokenizer {

// Reads tokenizer.ggml.model, .tokens (required), .scores, .token_type, .merges (optional
// arrays), the special ids .bos/.eos/.unknown/.padding/.mask_token_id and the flags
// .add_bos_token (default true, llama.cpp's default for these vocabularies) and
// .add_space_prefix (default false). Throws dllm::Error(kFormat) naming the key when a key is
// missing or has the wrong type, or a special id is not a valid token index. Consistency of the
// arrays is checked by Tokenizer::Create.
VocabData VocabFromGguf(const gguf::File& file);

}  // namespace tokenizer
}  // namespace dllm
