// Hostile and corrupt GGUF input: every case must give dllm::Error with a useful message, never a
// crash, a sanitizer report or a huge allocation.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/writer.h"
#include "raw_gguf.h"
#include "util/error.h"

using dllm::ErrorCode;
using dllm::gguf::File;
using dllm::gguf::Value;
using dllm::gguf::ValueType;
using dllm::gguf::Writer;
using dllm_test::Bytes;
using dllm_test::Contains;
using dllm_test::ErrorMessage;
using dllm_test::RawFile;
using dllm_test::ValidRaw;

namespace {

std::string ParseError(const RawFile& raw, ErrorCode code) {
  const std::vector<uint8_t> bytes = raw.Build();
  return ErrorMessage([&] { File::FromBuffer(bytes); }, code);
}

// A small file with many value types and three tensors; the last tensor ends exactly at the end of
// the file, so cutting any byte removes something the reader needs.
std::vector<uint8_t> SmallRichFile() {
  Writer w;
  w.AddMetadata("general.architecture", Value::Str("t"));
  w.AddMetadata("u8", Value::U8(1));
  w.AddMetadata("i16", Value::I16(-2));
  w.AddMetadata("f64", Value::F64(0.5));
  w.AddMetadata("b", Value::Bool(true));
  w.AddMetadata("strs", Value::StrArray({"ab", "", "c"}));
  w.AddMetadata("f32s", Value::F32Array({1.f, 2.f}));
  w.AddMetadata("bools", Value::BoolArray({false, true}));
  w.AddMetadata("nested", Value::Array(ValueType::kArray, {Value::U32Array({5}),
                                                            Value::StrArray({"d"})}));
  std::vector<uint8_t> d(68, 0x5A);
  w.AddTensor("q", 8, {32, 2}, d.data(), 68);  // Q8_0: 2 blocks of 34 bytes, then 28 padding
  w.AddTensor("f", 1, {2}, d.data(), 4);
  w.AddTensor("last", 0, {8}, d.data(), 32);
  return w.WriteToBuffer();
}

}  // namespace

TEST_CASE("The valid raw file parses") {
  auto f = File::FromBuffer(ValidRaw().Build());
  CHECK(f->tensors().size() == 2);
  CHECK(f->tensors()[1].data[0] == 32);
}

TEST_CASE("Truncation at every byte offset throws dllm::Error") {
  const std::vector<uint8_t> full = SmallRichFile();
  REQUIRE_NOTHROW(File::FromBuffer(full));
  int thrown = 0;
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + n);
    try {
      File::FromBuffer(std::move(cut));
      FAIL("truncated to " << n << " bytes of " << full.size() << " parsed");
    } catch (const dllm::Error& e) {
      CHECK(e.code() == ErrorCode::kFormat);
      ++thrown;
    }
  }
  CHECK(thrown == static_cast<int>(full.size()));
  std::string m = ErrorMessage([] { File::FromBuffer({}); }, ErrorCode::kFormat);
  CHECK(Contains(m, "truncated"));
  // Cuts early in the file fail the up-front size check on the header's counts.
  std::vector<uint8_t> cut(full.begin(), full.begin() + 60);
  m = ErrorMessage([&] { File::FromBuffer(cut); }, ErrorCode::kFormat);
  CHECK(Contains(m, "truncated or corrupt"));
  // A cut inside the last metadata value names the key and the byte offset.
  const size_t nested_at = std::search(full.begin(), full.end(), std::begin("nested") ,
                                       std::end("nested") - 1) - full.begin();
  cut.assign(full.begin(), full.begin() + nested_at + 20);
  m = ErrorMessage([&] { File::FromBuffer(cut); }, ErrorCode::kFormat);
  CHECK(Contains(m, "metadata key 'nested'"));
  CHECK(Contains(m, "byte offset"));
}

TEST_CASE("Single-byte corruption anywhere: parses or throws dllm::Error") {
  const std::vector<uint8_t> full = SmallRichFile();
  for (size_t i = 0; i < full.size(); ++i) {
    for (uint8_t x : {uint8_t{0xFF}, uint8_t{0x01}, uint8_t{0x80}}) {
      std::vector<uint8_t> bad = full;
      bad[i] ^= x;
      try {
        File::FromBuffer(std::move(bad));
      } catch (const dllm::Error&) {
      }
    }
  }
  // Random multi-byte corruption (deterministic seed).
  std::mt19937 rng(42);
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> bad = full;
    const int flips = 1 + static_cast<int>(rng() % 8);
    for (int k = 0; k < flips; ++k) bad[rng() % bad.size()] = static_cast<uint8_t>(rng());
    try {
      File::FromBuffer(std::move(bad));
    } catch (const dllm::Error&) {
    }
  }
}

TEST_CASE("Bad magic") {
  RawFile f = ValidRaw();
  f.magic = "GGUX";
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "not a GGUF file"));
  CHECK(Contains(m, "GGUX"));
}

TEST_CASE("Unsupported versions") {
  RawFile f = ValidRaw();
  f.version = 1;
  std::string m = ParseError(f, ErrorCode::kUnsupported);
  CHECK(Contains(m, "version 1"));
  f.version = 99;
  m = ParseError(f, ErrorCode::kUnsupported);
  CHECK(Contains(m, "version 99"));
  f.version = 0;
  ParseError(f, ErrorCode::kUnsupported);
  f.version = 0x03000000;  // a big-endian v3 file read as little-endian
  m = ParseError(f, ErrorCode::kUnsupported);
  CHECK(Contains(m, "big-endian"));
  f.version = 2;
  CHECK(File::FromBuffer(f.Build())->version() == 2);
}

TEST_CASE("String length 2^63") {
  RawFile f = ValidRaw();
  f.kvs.push_back({"evil.str", dllm_test::kRStr, Bytes().U64(1ull << 63).U32(0).b});
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'evil.str'"));
  CHECK(Contains(m, "9223372036854775808"));
  CHECK(Contains(m, "byte offset"));

  RawFile k = ValidRaw();  // the key's own length
  k.kvs[1].key_len = 1ull << 63;
  m = ParseError(k, ErrorCode::kFormat);
  CHECK(Contains(m, "metadata entry #1"));
  CHECK(Contains(m, "9223372036854775808"));

  RawFile t = ValidRaw();  // a tensor name
  t.kvs.clear();
  t.n_tensors = 1;
  t.tensors.clear();
  t.data = Bytes().U64(~0ull).U64(0).U64(0).U64(0).U64(0).b;
  t.pad_to = 1;
  m = ParseError(t, ErrorCode::kFormat);
  CHECK(Contains(m, "tensor info #0"));
}

TEST_CASE("Array length 2^62") {
  for (uint32_t et : {dllm_test::kRI32, dllm_test::kRU8, dllm_test::kRStr, dllm_test::kRArr}) {
    RawFile f = ValidRaw();
    f.kvs.push_back({"evil.arr", dllm_test::kRArr, Bytes().U32(et).U64(1ull << 62).U64(0).b});
    std::string m = ParseError(f, ErrorCode::kFormat);
    CHECK(Contains(m, "'evil.arr'"));
    CHECK(Contains(m, "4611686018427387904"));
  }
  // Nested: an inner array's length is checked against what remains too.
  RawFile f = ValidRaw();
  f.kvs.push_back({"evil.nested", dllm_test::kRArr,
                   Bytes().U32(dllm_test::kRArr).U64(1).U32(dllm_test::kRF64).U64(1ull << 62).b});
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "array element 0"));
}

TEST_CASE("Metadata element budget caps memory before allocating") {
  // 2^24 + 1 UINT8 elements really present in the file: refused before any Value is built,
  // because each would cost sizeof(Value) bytes of memory for 1 byte of file.
  const uint64_t n = dllm::gguf::kMaxMetadataElements + 1;
  RawFile f = ValidRaw();
  Bytes payload;
  payload.U32(dllm_test::kRU8).U64(n);
  payload.b.resize(payload.b.size() + n, 0);
  f.kvs.push_back({"big.u8", dllm_test::kRArr, std::move(payload.b)});
  std::string m = ParseError(f, ErrorCode::kUnsupported);
  CHECK(Contains(m, "'big.u8'"));
  CHECK(Contains(m, "16777216"));
}

TEST_CASE("Absurd tensor and metadata counts") {
  RawFile f = ValidRaw();
  f.n_tensors = 1ull << 60;
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "1152921504606846976 tensors"));
  f = ValidRaw();
  f.n_kv = 1ull << 60;
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "1152921504606846976 metadata entries"));
  f = ValidRaw();
  f.n_kv = ~0ull;
  f.n_tensors = ~0ull;
  ParseError(f, ErrorCode::kFormat);
  f = ValidRaw();
  f.n_tensors = 3;  // one more than present: the "data" bytes are read as a tensor info
  ParseError(f, ErrorCode::kFormat);
}

TEST_CASE("Tensor dimension counts and dims") {
  RawFile f = ValidRaw();
  f.tensors[1].dims = {1, 1, 1, 1, 1};
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'b'"));
  CHECK(Contains(m, "5 dimensions"));
  f.tensors[1].dims = {};
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "0 dimensions"));
  f.tensors[1].dims = {8, 0};
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "dimension 1 is 0"));
  f.tensors[1].dims = {1ull << 32, 1ull << 32};  // product overflows uint64
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "overflows"));
  CHECK(Contains(m, "'b'"));
  f.tensors[1].dims = {1ull << 32, 1ull << 31};  // 2^63 elements: beyond int64
  ParseError(f, ErrorCode::kFormat);
  f.tensors[1].dims = {1ull << 31, 1ull << 31};  // 2^62 F32 elements: 2^64 bytes
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "byte size overflows"));
  f.tensors[1].dims = {1ull << 20, 1ull << 20};  // 4 TiB of data in a tiny file
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "past the end"));
}

TEST_CASE("Tensor data offsets") {
  RawFile f = ValidRaw();
  f.tensors[1].offset = 1ull << 40;
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'b'"));
  CHECK(Contains(m, "past the end of the file"));
  f.tensors[1].offset = ~0ull - 31;  // aligned, but offset + size overflows
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "past the end of the file"));
  f.tensors[1].offset = 64;  // 64 + 64 > 96 bytes of data
  ParseError(f, ErrorCode::kFormat);
  f.tensors[1].offset = 40;
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'b'"));
  CHECK(Contains(m, "not a multiple of the alignment 32"));
  f.tensors[1].offset = 0;  // overlaps "a"
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "overlap"));
  CHECK(Contains(m, "'a'"));
  CHECK(Contains(m, "'b'"));
  // Out-of-order but disjoint offsets are accepted.
  f.tensors[0].offset = 64;
  f.tensors[0].dims = {4};
  f.data.resize(96);
  auto ok = File::FromBuffer(f.Build());
  CHECK(ok->tensors()[0].offset == 64);
  // Missing data section entirely.
  f = ValidRaw();
  f.data.clear();
  ParseError(f, ErrorCode::kFormat);
}

TEST_CASE("Duplicate keys and tensor names") {
  RawFile f = ValidRaw();
  f.kvs.push_back(dllm_test::KvU32("test.u32", 8));
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "duplicate metadata key 'test.u32'"));
  f = ValidRaw();
  f.tensors[1].name = "a";
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "duplicate tensor name 'a'"));
}

TEST_CASE("Unknown tensor type and bad row length") {
  RawFile f = ValidRaw();
  f.tensors[1].type = 77;
  std::string m = ParseError(f, ErrorCode::kUnsupported);
  CHECK(Contains(m, "'b'"));
  CHECK(Contains(m, "77"));
  f.tensors[1].type = 4;  // retired Q4_2
  ParseError(f, ErrorCode::kUnsupported);
  f = ValidRaw();
  f.tensors[1].type = 8;  // Q8_0 with rows of 8 values
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'b'"));
  CHECK(Contains(m, "row length 8 is not a multiple of the Q8_0 block size 32"));
}

TEST_CASE("Unknown metadata value types, bad bools, too deep nesting") {
  RawFile f = ValidRaw();
  f.kvs.push_back({"evil.type", 13, Bytes().U32(0).b});
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'evil.type'"));
  CHECK(Contains(m, "unknown value type 13"));
  f = ValidRaw();
  f.kvs.push_back({"evil.elem", dllm_test::kRArr, Bytes().U32(0xFFFFFFFF).U64(0).b});
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'evil.elem'"));
  CHECK(Contains(m, "4294967295"));
  f = ValidRaw();
  f.kvs.push_back({"evil.bool", dllm_test::kRBool, Bytes().U8(2).b});
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "'evil.bool'"));
  // 9 levels of arrays.
  Bytes deep;
  for (int i = 0; i < 8; ++i) deep.U32(dllm_test::kRArr).U64(1);
  deep.U32(dllm_test::kRU8).U64(1).U8(0);
  f = ValidRaw();
  f.kvs.push_back({"evil.deep", dllm_test::kRArr, deep.b});
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "nested 9 deep"));
  // 8 levels are fine.
  Bytes ok;
  for (int i = 0; i < 7; ++i) ok.U32(dllm_test::kRArr).U64(1);
  ok.U32(dllm_test::kRU8).U64(1).U8(0);
  f = ValidRaw();
  f.kvs.push_back({"deep8", dllm_test::kRArr, ok.b});
  CHECK(File::FromBuffer(f.Build())->Find("deep8")->at(0).at(0).is_array());
}

TEST_CASE("Bad general.alignment") {
  for (uint32_t a : {0u, 3u, 48u}) {
    RawFile f = ValidRaw();
    f.kvs.push_back(dllm_test::KvU32("general.alignment", a));
    std::string m = ParseError(f, ErrorCode::kFormat);
    CHECK(Contains(m, "general.alignment"));
    CHECK(Contains(m, "power of two"));
  }
  RawFile f = ValidRaw();
  f.kvs.push_back(dllm_test::KvStr("general.alignment", "32"));
  std::string m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "STRING"));
  f = ValidRaw();
  f.kvs.push_back({"general.alignment", dllm_test::kRI32, Bytes().U32(32).b});
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "INT32"));
  // A valid custom alignment changes where data starts and what offsets must be multiples of.
  f = ValidRaw();
  f.kvs.push_back(dllm_test::KvU32("general.alignment", 64));
  f.pad_to = 64;
  f.tensors[1].offset = 32;
  m = ParseError(f, ErrorCode::kFormat);
  CHECK(Contains(m, "alignment 64"));
  f.tensors[1].offset = 64;
  f.data.resize(128);
  CHECK(File::FromBuffer(f.Build())->alignment() == 64);
}

TEST_CASE("Open reports I/O errors with the path") {
  std::string m = ErrorMessage([] { File::Open("/nonexistent/dir/model.gguf"); }, ErrorCode::kIo);
  CHECK(Contains(m, "/nonexistent/dir/model.gguf"));
  ErrorMessage([] { File::Open("/nonexistent/dir/model.gguf", false); }, ErrorCode::kIo);
  m = ErrorMessage([] { File::Open(DLLM_BINARY_DIR); }, ErrorCode::kIo);
  CHECK(Contains(m, "not a regular file"));
  // An empty file and a bad file give format errors naming the path, mapped or read.
  const std::string path = dllm_test::TempPath("empty.gguf");
  { std::ofstream(path, std::ios::binary).flush(); }
  for (bool mmap : {true, false}) {
    m = ErrorMessage([&] { File::Open(path, mmap); }, ErrorCode::kFormat);
    CHECK(Contains(m, path));
  }
  std::remove(path.c_str());
}
