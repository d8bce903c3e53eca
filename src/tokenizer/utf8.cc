#include "tokenizer/utf8.h"

namespace dllm::tokenizer::utf8 {

Status Decode(const char* s, size_t n, uint32_t* cp, size_t* len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  const unsigned b0 = p[0];
  if (b0 < 0x80) {
    *cp = b0;
    *len = 1;
    return Status::kValid;
  }
  // Expected length and the allowed range of the second byte (Unicode Table 3-7).
  size_t need;
  unsigned lo = 0x80, hi = 0xBF;
  uint32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // <= U+10FFFF
  } else {
    *len = 1;
    return Status::kInvalid;
  }
  for (size_t i = 1; i < need; ++i) {
    if (i >= n) {
      *len = n;
      return Status::kIncomplete;
    }
    const unsigned b = p[i];
    const unsigned l = i == 1 ? lo : 0x80;
    const unsigned h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) {
      *len = i;
      return Status::kInvalid;
    }
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  *len = need;
  return Status::kValid;
}

void Append(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsValid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len;
    if (Decode(s.data() + i, s.size() - i, &cp, &len) != Status::kValid) return false;
    i += len;
  }
  return true;
}

void AppendSanitized(std::string_view s, std::string* out) {
  size_t i = 0, run = 0;  // [run, i) is valid and not yet copied
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len;
    if (Decode(s.data() + i, s.size() - i, &cp, &len) == Status::kValid) {
      i += len;
      continue;
    }
    out->append(s.data() + run, i - run);
    out->append(kReplacementUtf8);
    i += len;
    run = i;
  }
  out->append(s.data() + run, s.size() - run);
}

size_t CompletePrefix(std::string_view s) {
  // An incomplete sequence is at most 3 bytes long and starts at a lead byte.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t start = n - back;
    const unsigned b = static_cast<unsigned char>(s[start]);
    if (b < 0x80) return n;      // ASCII: nothing after it can be a partial sequence start
    if (b >= 0xC0) {             // a lead byte (valid or not)
      uint32_t cp;
      size_t len;
      return Decode(s.data() + start, back, &cp, &len) == Status::kIncomplete ? start : n;
    }
  }
  return n;
}

}  // namespace dllm::tokenizer::utf8
