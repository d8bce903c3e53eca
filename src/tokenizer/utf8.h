// UTF-8 helpers for the tokenizer: strict decoding (no overlongs, surrogates or values above
// U+10FFFF) and repair of invalid input. Invalid input is replaced per "maximal subpart"
// (Unicode §3.9, U+FFFD substitution of maximal subparts; what WHATWG decoders, Python and
// JavaScript's TextDecoder do): a truncated but otherwise valid sequence becomes one U+FFFD,
// any other bad byte one U+FFFD each.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dllm::tokenizer::utf8 {

inline constexpr uint32_t kReplacementChar = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

enum class Status { kValid, kInvalid, kIncomplete };

// Decodes the sequence starting at s[0] (n > 0). On kValid, *cp is the code point and *len its
// byte length. On kInvalid, *len is the length of the maximal invalid subpart (>= 1). On
// kIncomplete, the n available bytes are a valid prefix of a longer sequence (*len = n).
Status Decode(const char* s, size_t n, uint32_t* cp, size_t* len);

// Appends the UTF-8 encoding of cp (cp must be a Unicode scalar value).
void Append(uint32_t cp, std::string* out);

// True if s is entirely valid UTF-8.
bool IsValid(std::string_view s);

// Appends s to *out with invalid sequences replaced by U+FFFD. A trailing incomplete sequence
// is replaced too (the input is complete).
void AppendSanitized(std::string_view s, std::string* out);

// For streaming: length of the longest prefix of s that does not end inside an incomplete
// (but so far valid) sequence. Bytes after it might still become valid with more input.
size_t CompletePrefix(std::string_view s);

}  // namespace dllm::tokenizer::utf8
