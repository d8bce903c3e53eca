#include "test_data.h"

#include "tokenizer/utf8.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace dllm::tokenizer::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos < s.size()) {
    const size_t nl = s.find('\n', pos);
    if (nl == std::string_view::npos) {
      lines.push_back(s.substr(pos));
      break;
    }
    lines.push_back(s.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return lines;
}

}  // namespace

std::string Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out.push_back(s[i]);
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case '\\': out.push_back('\\'); break;
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 's': out.push_back(' '); break;
      case 'x':
        out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
        break;
      default: throw std::runtime_error("bad escape");
    }
  }
  return out;
}

std::vector<std::string> ReadEscapedLines(const std::string& path) {
  const std::string data = ReadFile(path);
  std::vector<std::string> out;
  for (std::string_view line : SplitLines(data)) out.push_back(Unescape(line));
  return out;
}

std::vector<std::vector<int32_t>> ReadIdLines(const std::string& path) {
  const std::string data = ReadFile(path);
  std::vector<std::vector<int32_t>> out;
  for (std::string_view line : SplitLines(data)) {
    std::vector<int32_t> ids;
    std::istringstream ss{std::string(line)};
    int32_t id;
    while (ss >> id) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

VocabData ReadVocabFile(const std::string& path) {
  const std::string data = ReadFile(path);
  const std::vector<std::string_view> lines = SplitLines(data);
  VocabData v;
  size_t i = 0;
  auto value = [](std::string_view line) {
    return std::stoi(std::string(line.substr(line.find(' ') + 1)));
  };
  for (; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.empty() || line[0] == '#') continue;
    const std::string_view key = line.substr(0, line.find(' '));
    if (key == "model") {
      v.model = std::string(line.substr(6));
    } else if (key == "bos") {
      v.bos_id = value(line);
    } else if (key == "eos") {
      v.eos_id = value(line);
    } else if (key == "unk") {
      v.unk_id = value(line);
    } else if (key == "pad") {
      v.pad_id = value(line);
    } else if (key == "mask") {
      v.mask_id = value(line);
    } else if (key == "add_bos") {
      v.add_bos = value(line) != 0;
    } else if (key == "add_space_prefix") {
      v.add_space_prefix = value(line) != 0;
    } else if (key == "tokens") {
      const int n = value(line);
      for (int k = 0; k < n; ++k) {
        const std::string_view t = lines[++i];
        const size_t a = t.find('\t'), b = t.find('\t', a + 1);
        v.token_types.push_back(std::stoi(std::string(t.substr(0, a))));
        v.scores.push_back(std::stof(std::string(t.substr(a + 1, b - a - 1))));
        v.tokens.push_back(Unescape(t.substr(b + 1)));
      }
    } else if (key == "merges") {
      const int n = value(line);
      v.merges.reserve(n);
      for (int k = 0; k < n; ++k) {
        const std::string_view m = lines[++i];
        const size_t sp = m.find(' ');
        v.merges.push_back(Unescape(m.substr(0, sp)) + " " + Unescape(m.substr(sp + 1)));
      }
    } else {
      throw std::runtime_error("unknown key in " + path + ": " + std::string(key));
    }
  }
  return v;
}

namespace {

// Minimal protobuf wire-format reader (enough for sentencepiece_model.proto).
struct ProtoReader {
  std::string_view data;
  size_t pos = 0;
  bool done() const { return pos >= data.size(); }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto b = static_cast<uint8_t>(data.at(pos++));
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) break;
    }
    return v;
  }
  // Reads a tag; returns the field number, sets *wire.
  uint32_t Tag(uint32_t* wire) {
    const uint64_t t = Varint();
    *wire = static_cast<uint32_t>(t & 7);
    return static_cast<uint32_t>(t >> 3);
  }
  std::string_view Bytes() {
    const size_t n = Varint();
    const std::string_view b = data.substr(pos, n);
    pos += n;
    return b;
  }
  uint32_t Fixed32() {
    uint32_t v;
    std::memcpy(&v, data.data() + pos, 4);
    pos += 4;
    return v;
  }
  void Skip(uint32_t wire) {
    switch (wire) {
      case 0: Varint(); break;
      case 1: pos += 8; break;
      case 2: Bytes(); break;
      case 5: pos += 4; break;
      default: throw std::runtime_error("unsupported wire type");
    }
  }
};

}  // namespace

VocabData VocabFromSpmModel(const std::string& path) {
  const std::string data = ReadFile(path);
  VocabData v;
  v.model = "llama";
  v.add_bos = true;
  v.add_space_prefix = true;  // NormalizerSpec.add_dummy_prefix default
  int64_t unk = 0, bos = 1, eos = 2, pad = -1;  // TrainerSpec defaults
  ProtoReader r{data};
  while (!r.done()) {
    uint32_t wire;
    const uint32_t field = r.Tag(&wire);
    if (field == 1 && wire == 2) {  // SentencePiece
      ProtoReader p{r.Bytes()};
      std::string piece;
      float score = 0;
      int32_t type = 1;
      while (!p.done()) {
        uint32_t w;
        const uint32_t f = p.Tag(&w);
        if (f == 1 && w == 2) {
          piece = std::string(p.Bytes());
        } else if (f == 2 && w == 5) {
          const uint32_t bits = p.Fixed32();
          std::memcpy(&score, &bits, 4);
        } else if (f == 3 && w == 0) {
          type = static_cast<int32_t>(p.Varint());
        } else {
          p.Skip(w);
        }
      }
      v.tokens.push_back(std::move(piece));
      v.scores.push_back(score);
      v.token_types.push_back(type);
    } else if (field == 2 && wire == 2) {  // TrainerSpec
      ProtoReader t{r.Bytes()};
      while (!t.done()) {
        uint32_t w;
        const uint32_t f = t.Tag(&w);
        if (w == 0 && f >= 40 && f <= 43) {
          const auto value = static_cast<int64_t>(t.Varint());  // int32: sign-extended
          (f == 40 ? unk : f == 41 ? bos : f == 42 ? eos : pad) = value;
        } else {
          t.Skip(w);
        }
      }
    } else if (field == 3 && wire == 2) {  // NormalizerSpec
      ProtoReader n{r.Bytes()};
      while (!n.done()) {
        uint32_t w;
        const uint32_t f = n.Tag(&w);
        if (f == 3 && w == 0) {
          v.add_space_prefix = n.Varint() != 0;
        } else {
          n.Skip(w);
        }
      }
    } else {
      r.Skip(wire);
    }
  }
  v.unk_id = static_cast<int32_t>(unk);
  v.bos_id = static_cast<int32_t>(bos);
  v.eos_id = static_cast<int32_t>(eos);
  v.pad_id = static_cast<int32_t>(pad);
  return v;
}

std::string RandomText(std::mt19937& rng, size_t max_chars, bool no_space_symbol) {
  static const std::vector<std::vector<uint32_t>> kRanges = {
      {'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'},
      {0xC0, 0x17F},      // Latin-1, Latin Extended-A
      {0x400, 0x44F},     // Cyrillic
      {0x4E00, 0x4FFF},   // CJK
      {0x3040, 0x30FF},   // kana
      {0xAC00, 0xAC7F},   // Hangul
      {0x300, 0x36F},     // combining marks
      {0x1F600, 0x1F64F}, // emoji
      {0x200B, 0x200F},   // zero-width, ZWJ, marks
      {0xFE00, 0xFE0F},   // variation selectors
      {0x10000, 0x1007F}, // Linear B (byte fallback)
      {0xE000, 0xE0FF},   // private use
      {0x0, 0x1F},        // C0 controls and NUL
      {0x2580, 0x2582},   // around U+2581
  };
  static const std::vector<std::string> kWords = {
      " ", " ", " ", "  ", "    ", "\n", "\n\n", "\t", "\r\n", "<bos>", "<eos>", "<|turn>",
      "<turn|>", "<|channel>", "<table>", "</s>", "<unused7>", "<mask>", "<0x41>", "the", " of",
      "ing", "tion", std::string(33, '\n'), std::string(40, ' '), std::string(35, '\t'),
  };
  std::string out;
  const size_t n = std::uniform_int_distribution<size_t>(0, max_chars)(rng);
  for (size_t i = 0; i < n; ++i) {
    if (std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
      out += kWords[std::uniform_int_distribution<size_t>(0, kWords.size() - 1)(rng)];
      continue;
    }
    // Favour ASCII letters.
    size_t k = std::uniform_int_distribution<size_t>(0, kRanges.size() * 2)(rng);
    if (k >= kRanges.size()) k = k % 3;
    const auto& range = kRanges[k];
    uint32_t cp = std::uniform_int_distribution<uint32_t>(range[0], range[1])(rng);
    if (no_space_symbol && cp == 0x2581) cp = 0x2582;
    utf8::Append(cp, &out);
  }
  return out;
}

std::string DataPath(const std::string& name) {
  return std::string(DLLM_TEST_DATA_DIR) + "/tokenizer/" + name;
}

const VocabData& Gemma4Vocab() {
  static const VocabData* vocab =
      new VocabData(ReadVocabFile(std::string(DLLM_TOKENIZER_VOCAB_DIR) + "/gemma4-vocab.txt"));
  return *vocab;
}

const Tokenizer& Gemma4() {
  static const Tokenizer* tok = Tokenizer::Create(Gemma4Vocab()).release();
  return *tok;
}

const std::vector<std::string>& Corpus() {
  static const auto* corpus = new std::vector<std::string>(ReadEscapedLines(DataPath("corpus.txt")));
  return *corpus;
}

std::string IdsToString(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(ids[i]);
  }
  return s;
}

}  // namespace dllm::tokenizer::testing
