// Test helpers: an independent, deliberately naive GGUF byte builder (no dllm code) used to craft
// valid and hostile files field by field, plus small utilities shared by the gguf tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/error.h"

namespace dllm_test {

struct Bytes {
  std::vector<uint8_t> b;
  Bytes& Le(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Bytes& U8(uint8_t v) { return Le(v, 1); }
  Bytes& U32(uint32_t v) { return Le(v, 4); }
  Bytes& U64(uint64_t v) { return Le(v, 8); }
  Bytes& F32(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return U32(u);
  }
  Bytes& Str(const std::string& s) {
    U64(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
};

// GGUF value type ids, spelled out independently of gguf/value.h.
enum RawType : uint32_t {
  kRU8 = 0, kRI8 = 1, kRU16 = 2, kRI16 = 3, kRU32 = 4, kRI32 = 5, kRF32 = 6, kRBool = 7,
  kRStr = 8, kRArr = 9, kRU64 = 10, kRI64 = 11, kRF64 = 12,
};

struct RawKv {
  std::string key;
  uint32_t type;
  std::vector<uint8_t> payload;           // everything after the type id
  std::optional<uint64_t> key_len = {};   // overrides the key's length field
};

struct RawTensor {
  std::string name;
  std::vector<uint64_t> dims;  // n_dims = dims.size()
  uint32_t type;
  uint64_t offset;
};

struct RawFile {
  std::string magic = "GGUF";
  uint32_t version = 3;
  std::optional<uint64_t> n_tensors, n_kv;  // override the counts written in the header
  std::vector<RawKv> kvs;
  std::vector<RawTensor> tensors;
  uint32_t pad_to = 32;         // data section start is padded to this
  std::vector<uint8_t> data;    // the data section

  std::vector<uint8_t> Build() const {
    Bytes o;
    o.b.insert(o.b.end(), magic.begin(), magic.end());
    o.U32(version);
    o.U64(n_tensors ? *n_tensors : tensors.size());
    o.U64(n_kv ? *n_kv : kvs.size());
    for (const RawKv& kv : kvs) {
      o.U64(kv.key_len ? *kv.key_len : kv.key.size());
      o.b.insert(o.b.end(), kv.key.begin(), kv.key.end());
      o.U32(kv.type);
      o.b.insert(o.b.end(), kv.payload.begin(), kv.payload.end());
    }
    for (const RawTensor& t : tensors) {
      o.Str(t.name);
      o.U32(static_cast<uint32_t>(t.dims.size()));
      for (uint64_t d : t.dims) o.U64(d);
      o.U32(t.type);
      o.U64(t.offset);
    }
    while (o.b.size() % pad_to != 0) o.U8(0);
    o.b.insert(o.b.end(), data.begin(), data.end());
    return o.b;
  }
};

inline RawKv KvU32(const std::string& key, uint32_t v) { return {key, kRU32, Bytes().U32(v).b}; }
inline RawKv KvStr(const std::string& key, const std::string& v) {
  return {key, kRStr, Bytes().Str(v).b};
}

// A small valid file: 3 keys, tensor "a" F32 [4] at 0 (16 bytes + 16 padding) and tensor "b"
// F32 [8, 2] at 32 (64 bytes), data bytes 0, 1, 2, ...
inline RawFile ValidRaw() {
  RawFile f;
  f.kvs.push_back(KvStr("general.architecture", "test"));
  f.kvs.push_back(KvU32("test.u32", 7));
  f.kvs.push_back({"test.arr", kRArr, Bytes().U32(kRI32).U64(3).U32(1).U32(2).U32(3).b});
  f.tensors.push_back({"a", {4}, 0, 0});
  f.tensors.push_back({"b", {8, 2}, 0, 32});
  f.data.resize(96);
  for (size_t i = 0; i < f.data.size(); ++i) f.data[i] = static_cast<uint8_t>(i);
  for (size_t i = 16; i < 32; ++i) f.data[i] = 0;  // padding after "a"
  return f;
}

// Runs `f`, requires it to throw dllm::Error with `code`, returns the message.
inline std::string ErrorMessage(const std::function<void()>& f, dllm::ErrorCode code) {
  try {
    f();
  } catch (const dllm::Error& e) {
    INFO("message: " << e.what());
    CHECK(e.code() == code);
    return e.what();
  }
  FAIL("no dllm::Error thrown");
  return {};
}

inline bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A fresh path under the build tree for files a test writes.
inline std::string TempPath(const std::string& name) {
  return std::string(DLLM_BINARY_DIR) + "/gguf_test_" + name;
}

}  // namespace dllm_test
