// A small JSON reader for test data (models/heldout.jsonl): objects, arrays, strings (with
// escapes, \u incl. surrogate pairs), numbers, booleans, null. Throws std::runtime_error on
// malformed input.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace dllm::test {

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  bool b = false;
  double number = 0;
  std::string str;
  std::vector<Json> array;
  std::map<std::string, Json> object;

  const Json& operator[](const std::string& key) const {
    auto it = object.find(key);
    if (kind != kObject || it == object.end()) throw std::runtime_error("no key " + key);
    return it->second;
  }
  std::vector<int32_t> Ints() const {
    std::vector<int32_t> v;
    for (const Json& j : array) v.push_back(static_cast<int32_t>(j.number));
    return v;
  }

  static Json Parse(const std::string& text) {
    size_t i = 0;
    Json j = ParseValue(text, i);
    SkipSpace(text, i);
    if (i != text.size()) throw std::runtime_error("trailing characters in JSON");
    return j;
  }

 private:
  static void SkipSpace(const std::string& s, size_t& i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  }
  static void Expect(const std::string& s, size_t& i, char c) {
    SkipSpace(s, i);
    if (i >= s.size() || s[i] != c) throw std::runtime_error(std::string("expected ") + c);
    ++i;
  }
  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  static uint32_t Hex4(const std::string& s, size_t& i) {
    if (i + 4 > s.size()) throw std::runtime_error("short \\u escape");
    const uint32_t v = static_cast<uint32_t>(std::stoul(s.substr(i, 4), nullptr, 16));
    i += 4;
    return v;
  }
  static std::string ParseString(const std::string& s, size_t& i) {
    Expect(s, i, '"');
    std::string out;
    while (i < s.size() && s[i] != '"') {
      char c = s[i++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i >= s.size()) break;
      c = s[i++];
      switch (c) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          uint32_t cp = Hex4(s, i);
          if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u') {
            i += 2;
            const uint32_t lo = Hex4(s, i);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          AppendUtf8(out, cp);
          break;
        }
        default: out += c;  // \" \\ \/
      }
    }
    if (i >= s.size()) throw std::runtime_error("unterminated string");
    ++i;
    return out;
  }
  static Json ParseValue(const std::string& s, size_t& i) {
    SkipSpace(s, i);
    if (i >= s.size()) throw std::runtime_error("unexpected end of JSON");
    Json j;
    const char c = s[i];
    if (c == '{') {
      j.kind = kObject;
      ++i;
      SkipSpace(s, i);
      if (i < s.size() && s[i] == '}') return ++i, j;
      for (;;) {
        std::string key = ParseString(s, i);
        Expect(s, i, ':');
        j.object[key] = ParseValue(s, i);
        SkipSpace(s, i);
        if (i < s.size() && s[i] == ',') { ++i; continue; }
        Expect(s, i, '}');
        return j;
      }
    }
    if (c == '[') {
      j.kind = kArray;
      ++i;
      SkipSpace(s, i);
      if (i < s.size() && s[i] == ']') return ++i, j;
      for (;;) {
        j.array.push_back(ParseValue(s, i));
        SkipSpace(s, i);
        if (i < s.size() && s[i] == ',') { ++i; continue; }
        Expect(s, i, ']');
        return j;
      }
    }
    if (c == '"') {
      j.kind = kString;
      j.str = ParseString(s, i);
      return j;
    }
    if (s.compare(i, 4, "true") == 0) { i += 4; j.kind = kBool; j.b = true; return j; }
    if (s.compare(i, 5, "false") == 0) { i += 5; j.kind = kBool; return j; }
    if (s.compare(i, 4, "null") == 0) { i += 4; return j; }
    size_t used = 0;
    j.kind = kNumber;
    j.number = std::stod(s.substr(i, 64), &used);
    i += used;
    return j;
  }
};

}  // namespace dllm::test
