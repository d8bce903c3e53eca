// Readers for the tokenizer test data (formats: tools/tokenizer/textfmt.py) and shared
// fixtures: the Gemma 4 vocabulary (tests/data/tokenizer/gemma4-vocab.tar.xz, extracted at build
// time), the corpus and its reference ids.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace dllm::tokenizer::testing {

std::string Unescape(std::string_view s);
std::vector<std::string> ReadEscapedLines(const std::string& path);
std::vector<std::vector<int32_t>> ReadIdLines(const std::string& path);
VocabData ReadVocabFile(const std::string& path);

// A SentencePiece .model file as a GGUF converter (llama.cpp's) turns it into tokenizer.ggml.*:
// pieces, scores and types in id order, special ids from the trainer spec, add_space_prefix from
// the normalizer spec; model "llama". Parses the protobuf wire format directly.
VocabData VocabFromSpmModel(const std::string& path);

std::string DataPath(const std::string& name);  // tests/data/tokenizer/<name>

// The Gemma 4 vocabulary as converted from the reference tokenizer.json (read once).
const VocabData& Gemma4Vocab();
// A tokenizer built from it (built once, shared by the tests).
const Tokenizer& Gemma4();

const std::vector<std::string>& Corpus();

// Random valid UTF-8 of up to max_chars characters drawn from mixed pools: ASCII, whitespace
// and newline runs, Latin, Cyrillic, CJK, emoji with ZWJ/variation selectors, combining marks,
// rare astral characters, C0 controls and NUL, and special-token look-alikes ("<bos>",
// "<|turn>", "<table>", ...). With no_space_symbol, U+2581 never appears (it decodes to a space
// in SentencePiece-style vocabularies, so it cannot round-trip).
std::string RandomText(std::mt19937& rng, size_t max_chars, bool no_space_symbol = true);

// ids as "1 2 3" for readable failure messages.
std::string IdsToString(const std::vector<int32_t>& ids);

}  // namespace dllm::tokenizer::testing
