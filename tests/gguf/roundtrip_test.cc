#include <doctest/doctest.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/types.h"
#include "gguf/writer.h"
#include "raw_gguf.h"
#include "util/error.h"

using dllm::ErrorCode;
using dllm::gguf::File;
using dllm::gguf::TensorInfo;
using dllm::gguf::Value;
using dllm::gguf::ValueType;
using dllm::gguf::Writer;
using dllm_test::Contains;
using dllm_test::ErrorMessage;

namespace {

struct Content {
  std::vector<std::pair<std::string, Value>> kvs;
  struct T {
    std::string name;
    uint32_t type;
    std::vector<uint64_t> dims;
    std::vector<uint8_t> bytes;
  };
  std::vector<T> tensors;
};

// Every scalar type (with edge values), strings, arrays of every element type, empty arrays,
// nested arrays and arrays of strings; one tensor of every ggml type with a known layout.
Content RichContent() {
  Content c;
  auto kv = [&](const std::string& k, Value v) { c.kvs.emplace_back(k, std::move(v)); };
  kv("general.architecture", Value::Str("test-arch"));
  kv("s.u8", Value::U8(255));
  kv("s.i8", Value::I8(-128));
  kv("s.u16", Value::U16(65535));
  kv("s.i16", Value::I16(-32768));
  kv("s.u32", Value::U32(4294967295u));
  kv("s.i32", Value::I32(std::numeric_limits<int32_t>::min()));
  kv("s.u64", Value::U64(~0ull));
  kv("s.i64", Value::I64(std::numeric_limits<int64_t>::min()));
  kv("s.f32", Value::F32(-0.0f));
  kv("s.f32_nan", Value::F32(std::nanf("0x123")));
  kv("s.f32_inf", Value::F32(-INFINITY));
  kv("s.f64", Value::F64(1.0 / 3.0));
  kv("s.bool_t", Value::Bool(true));
  kv("s.bool_f", Value::Bool(false));
  kv("s.str_empty", Value::Str(""));
  kv("s.str_utf8", Value::Str("h\xC3\xA9llo \xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82"));
  kv("s.str_nul", Value::Str(std::string("a\0b", 3)));
  kv("a.u8", Value::Array(ValueType::kUint8, {Value::U8(0), Value::U8(255)}));
  kv("a.i8", Value::Array(ValueType::kInt8, {Value::I8(-1), Value::I8(127)}));
  kv("a.u16", Value::Array(ValueType::kUint16, {Value::U16(1), Value::U16(65535)}));
  kv("a.i16", Value::Array(ValueType::kInt16, {Value::I16(-2)}));
  kv("a.u32", Value::U32Array({1, 2, 3}));
  kv("a.i32", Value::I32Array({2, 2, 2, 2, 2, 1}));
  kv("a.u64", Value::Array(ValueType::kUint64, {Value::U64(1ull << 63)}));
  kv("a.i64", Value::Array(ValueType::kInt64, {Value::I64(-5), Value::I64(5)}));
  kv("a.f32", Value::F32Array({0.5f, -1e30f, 1e-45f}));
  kv("a.f64", Value::Array(ValueType::kFloat64, {Value::F64(-0.0), Value::F64(1e308)}));
  kv("a.bool", Value::BoolArray({true, true, false}));
  kv("a.str", Value::StrArray({"<unk>", "", "\xE2\x96\x81the", "<0xFF>"}));
  kv("a.empty_u8", Value::Array(ValueType::kUint8, {}));
  kv("a.empty_str", Value::Array(ValueType::kString, {}));
  kv("a.empty_arr", Value::Array(ValueType::kArray, {}));
  kv("a.nested", Value::Array(ValueType::kArray,
                              {Value::U32Array({1, 2}), Value::StrArray({"x", "yz"}),
                               Value::Array(ValueType::kFloat64, {}),
                               Value::Array(ValueType::kArray, {Value::BoolArray({true})})}));
  kv("a.nested_str", Value::Array(ValueType::kArray, {Value::StrArray({"a"}),
                                                      Value::StrArray({"b", "c"})}));

  std::mt19937 rng(1234);
  for (uint32_t id = 0; id < 64; ++id) {
    const dllm::GgmlTypeTraits* t = dllm::FindGgmlType(id);
    if (t == nullptr) continue;
    Content::T ten;
    ten.name = std::string("t.") + t->name;
    ten.type = id;
    ten.dims = {uint64_t{t->block_size} * 2, 3};
    uint64_t n = 0;
    REQUIRE(dllm::GgmlRowBytes(id, ten.dims[0], &n));
    ten.bytes.resize(n * 3);
    for (uint8_t& b : ten.bytes) b = static_cast<uint8_t>(rng());
    c.tensors.push_back(std::move(ten));
  }
  // A 3-D and a 4-D tensor, and a last tensor whose size is a multiple of any tested alignment.
  c.tensors.push_back({"t.3d", 0, {2, 3, 4}, std::vector<uint8_t>(96, 7)});
  c.tensors.push_back({"t.4d", 1, {2, 1, 3, 2}, std::vector<uint8_t>(24, 9)});
  c.tensors.push_back({"t.last", 0, {1024}, std::vector<uint8_t>(4096, 1)});
  return c;
}

Writer MakeWriter(const Content& c, uint32_t version, uint32_t alignment) {
  Writer w(version);
  if (alignment != 0) w.SetAlignment(alignment);
  for (const auto& kv : c.kvs) w.AddMetadata(kv.first, kv.second);
  for (const auto& t : c.tensors) w.AddTensor(t.name, t.type, t.dims, t.bytes.data(), t.bytes.size());
  return w;
}

void CheckContent(const File& f, const Content& c, uint32_t version, uint32_t alignment) {
  CHECK(f.version() == version);
  CHECK(f.alignment() == (alignment ? alignment : 32));
  CHECK(f.data_offset() % f.alignment() == 0);
  size_t extra = 0;
  if (alignment != 0) {
    REQUIRE(f.Find("general.alignment") != nullptr);
    CHECK(f.Find("general.alignment")->type() == ValueType::kUint32);
    CHECK(f.GetU32("general.alignment") == alignment);
    CHECK(f.metadata()[0].first == "general.alignment");
    extra = 1;
  } else {
    CHECK(f.Find("general.alignment") == nullptr);
  }
  REQUIRE(f.metadata().size() == c.kvs.size() + extra);
  for (size_t i = 0; i < c.kvs.size(); ++i) {
    INFO("key " << c.kvs[i].first);
    CHECK(f.metadata()[i + extra].first == c.kvs[i].first);
    CHECK(f.metadata()[i + extra].second == c.kvs[i].second);
    CHECK(*f.Find(c.kvs[i].first) == c.kvs[i].second);
  }
  REQUIRE(f.tensors().size() == c.tensors.size());
  uint64_t expected_offset = 0;
  for (size_t i = 0; i < c.tensors.size(); ++i) {
    const TensorInfo& ti = f.tensors()[i];
    INFO("tensor " << c.tensors[i].name);
    CHECK(ti.name == c.tensors[i].name);
    CHECK(ti.type_id == c.tensors[i].type);
    CHECK(ti.dims == c.tensors[i].dims);
    CHECK(ti.n_bytes == c.tensors[i].bytes.size());
    CHECK(ti.offset == expected_offset);  // llama.cpp's contiguous padded layout
    CHECK(ti.offset % f.alignment() == 0);
    CHECK(std::memcmp(ti.data, c.tensors[i].bytes.data(), ti.n_bytes) == 0);
    CHECK(f.FindTensor(ti.name) == &ti);
    const uint64_t a = f.alignment();
    expected_offset += (ti.n_bytes + a - 1) / a * a;
  }
  CHECK(f.FindTensor("nope") == nullptr);
  CHECK(f.file_size() == f.data_offset() + expected_offset);
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("Round trip of every value type and tensor type, buffer and file, v2/v3, alignments") {
  const Content c = RichContent();
  for (uint32_t version : {2u, 3u}) {
    for (uint32_t alignment : {0u, 1u, 8u, 32u, 64u, 4096u}) {
      INFO("version " << version << ", alignment " << alignment);
      const Writer w = MakeWriter(c, version, alignment);
      const std::vector<uint8_t> bytes = w.WriteToBuffer();
      CHECK(bytes.size() == w.FileSize());
      auto f = File::FromBuffer(bytes);
      CheckContent(*f, c, version, alignment);

      const std::string path = dllm_test::TempPath("rt_" + std::to_string(version) + "_" +
                                                   std::to_string(alignment) + ".gguf");
      w.WriteToFile(path);
      CHECK(ReadAll(path) == bytes);
      for (bool mmap : {true, false}) {
        INFO("mmap " << mmap);
        auto g = File::Open(path, mmap);
        CheckContent(*g, c, version, alignment);
        const uint64_t want = std::min<uint64_t>(g->alignment(), 64);
        for (const TensorInfo& ti : g->tensors()) {
          CHECK(reinterpret_cast<uintptr_t>(ti.data) % want == 0);
        }
      }
      // Reading and writing again with the same keys and tensors gives the same bytes.
      Writer again(f->version());
      for (const auto& kv : f->metadata()) again.AddMetadata(kv.first, kv.second);
      for (const TensorInfo& ti : f->tensors()) {
        again.AddTensorView(ti.name, ti.type_id, ti.dims, ti.data, ti.n_bytes);
      }
      CHECK(again.WriteToBuffer() == bytes);
      std::remove(path.c_str());
    }
  }
}

TEST_CASE("Writer output matches an independently coded layout") {
  dllm_test::RawFile raw = dllm_test::ValidRaw();
  Writer w;
  w.AddMetadata("general.architecture", Value::Str("test"));
  w.AddMetadata("test.u32", Value::U32(7));
  w.AddMetadata("test.arr", Value::I32Array({1, 2, 3}));
  w.AddTensor("a", 0, {4}, raw.data.data(), 16);
  w.AddTensor("b", 0, {8, 2}, raw.data.data() + 32, 64);
  CHECK(w.WriteToBuffer() == raw.Build());

  auto f = File::FromBuffer(raw.Build());
  CHECK(f->GetString("general.architecture") == "test");
  CHECK(f->GetU32("test.u32") == 7);
  CHECK(f->GetI64Array("test.arr") == std::vector<int64_t>{1, 2, 3});
}

TEST_CASE("Empty file: no metadata, no tensors") {
  Writer w(2);
  const std::vector<uint8_t> bytes = w.WriteToBuffer();
  CHECK(bytes.size() == 32);  // 24-byte header padded to the data section
  auto f = File::FromBuffer(bytes);
  CHECK(f->version() == 2);
  CHECK(f->metadata().empty());
  CHECK(f->tensors().empty());
  CHECK(f->data_offset() == 32);
  // A file that stops right after the header (no data-section padding) is fine without tensors.
  auto g = File::FromBuffer(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 24));
  CHECK(g->tensors().empty());
}

TEST_CASE("Typed getters name the key and the found type") {
  Writer w;
  w.AddMetadata("k.str", Value::Str("v"));
  w.AddMetadata("k.u64", Value::U64(1ull << 40));
  w.AddMetadata("k.i32", Value::I32(-4));
  w.AddMetadata("k.f32", Value::F32(0.25f));
  w.AddMetadata("k.bool", Value::Bool(true));
  auto f = File::FromBuffer(w.WriteToBuffer());
  CHECK(f->GetString("k.str") == "v");
  CHECK(f->GetU64("k.u64") == (1ull << 40));
  CHECK(f->GetI32("k.i32") == -4);
  CHECK(f->GetI64("k.i32") == -4);
  CHECK(f->GetF32("k.f32") == 0.25f);
  CHECK(f->GetF64("k.i32") == -4.0);
  CHECK(f->GetBool("k.bool"));
  CHECK(f->GetU32("absent", 5) == 5);
  CHECK(f->GetF32("absent", 1.5f) == 1.5f);
  CHECK_FALSE(f->GetBool("absent", false));
  CHECK(f->GetString("absent", "d") == "d");
  CHECK(f->Find("absent") == nullptr);

  std::string m = ErrorMessage([&] { f->GetU32("k.str"); }, ErrorCode::kFormat);
  CHECK(Contains(m, "'k.str'"));
  CHECK(Contains(m, "STRING"));
  m = ErrorMessage([&] { f->GetU32("k.u64"); }, ErrorCode::kFormat);
  CHECK(Contains(m, "'k.u64'"));
  CHECK(Contains(m, "UINT32"));
  m = ErrorMessage([&] { f->GetU32("k.i32"); }, ErrorCode::kFormat);
  CHECK(Contains(m, "-4"));
  m = ErrorMessage([&] { f->GetU32("k.str", 3); }, ErrorCode::kFormat);  // present, wrong type
  CHECK(Contains(m, "'k.str'"));
  m = ErrorMessage([&] { f->GetBool("missing.key"); }, ErrorCode::kFormat);
  CHECK(Contains(m, "missing metadata key 'missing.key'"));
  m = ErrorMessage([&] { f->GetStringArray("k.bool"); }, ErrorCode::kFormat);
  CHECK(Contains(m, "'k.bool'"));
  CHECK(Contains(m, "BOOL"));
}

TEST_CASE("Writer rejects invalid input") {
  ErrorMessage([] { Writer w(1); }, ErrorCode::kInvalidArgument);
  ErrorMessage([] { Writer w(4); }, ErrorCode::kInvalidArgument);
  Writer w;
  ErrorMessage([&] { w.SetAlignment(0); }, ErrorCode::kInvalidArgument);
  ErrorMessage([&] { w.SetAlignment(48); }, ErrorCode::kInvalidArgument);
  w.AddMetadata("k", Value::U8(1));
  std::string m = ErrorMessage([&] { w.AddMetadata("k", Value::U8(2)); }, ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "duplicate metadata key 'k'"));
  ErrorMessage([&] { w.AddMetadata("general.alignment", Value::Str("32")); },
               ErrorCode::kInvalidArgument);
  ErrorMessage([&] { w.AddMetadata("general.alignment", Value::U32(3)); },
               ErrorCode::kInvalidArgument);
  ErrorMessage([&] { w.AddMetadata("general.alignment", Value::U64(32)); },
               ErrorCode::kInvalidArgument);
  Value deep = Value::Array(ValueType::kUint8, {});
  for (int i = 0; i < 8; ++i) deep = Value::Array(ValueType::kArray, {deep});
  m = ErrorMessage([&] { w.AddMetadata("deep", deep); }, ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "9 deep"));

  const std::vector<uint8_t> data(1024, 0);
  w.AddTensor("t", 0, {4}, data.data(), 16);
  m = ErrorMessage([&] { w.AddTensor("t", 0, {4}, data.data(), 16); }, ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "duplicate tensor name 't'"));
  m = ErrorMessage([&] { w.AddTensor("u", 0, {4}, data.data(), 15); }, ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "16"));
  ErrorMessage([&] { w.AddTensor("u", 0, {}, data.data(), 4); }, ErrorCode::kInvalidArgument);
  ErrorMessage([&] { w.AddTensor("u", 0, {1, 1, 1, 1, 1}, data.data(), 4); },
               ErrorCode::kInvalidArgument);
  ErrorMessage([&] { w.AddTensor("u", 0, {4, 0}, data.data(), 0); }, ErrorCode::kInvalidArgument);
  ErrorMessage([&] { w.AddTensor("u", 0, {1ull << 32, 1ull << 32}, data.data(), 0); },
               ErrorCode::kInvalidArgument);
  m = ErrorMessage([&] { w.AddTensor("u", 77, {4}, data.data(), 4); }, ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "77"));
  m = ErrorMessage([&] { w.AddTensor("u", 8, {33}, data.data(), 34); }, ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "block size 32"));
  ErrorMessage([&] { w.AddTensor("u", 0, {4}, nullptr, 16); }, ErrorCode::kInvalidArgument);
  ErrorMessage([&] { w.AddTensor(std::string(64, 'n'), 0, {4}, data.data(), 16); },
               ErrorCode::kInvalidArgument);
  w.AddTensor(std::string(63, 'n'), 0, {4}, data.data(), 16);
  CHECK(w.n_tensors() == 2);
  CHECK(w.n_metadata() == 1);
}

TEST_CASE("Writer alignment key: SetAlignment appends or updates, AddMetadata sets it") {
  Writer w;
  w.AddMetadata("a", Value::U8(1));
  w.SetAlignment(64);
  w.AddMetadata("b", Value::U8(2));
  w.SetAlignment(128);  // updates in place
  CHECK(w.alignment() == 128);
  auto f = File::FromBuffer(w.WriteToBuffer());
  REQUIRE(f->metadata().size() == 3);
  CHECK(f->metadata()[1].first == "general.alignment");
  CHECK(f->alignment() == 128);
  CHECK(f->data_offset() % 128 == 0);

  Writer v;
  v.AddMetadata("general.alignment", Value::U32(16));
  CHECK(v.alignment() == 16);
  const std::vector<uint8_t> d(4, 1);
  v.AddTensor("x", 0, {1}, d.data(), 4);
  v.AddTensor("y", 0, {1}, d.data(), 4);
  auto g = File::FromBuffer(v.WriteToBuffer());
  CHECK(g->alignment() == 16);
  CHECK(g->tensors()[1].offset == 16);
}

TEST_CASE("WriteToFile replaces atomically and reports I/O errors") {
  const std::string path = dllm_test::TempPath("atomic.gguf");
  {
    std::ofstream old(path, std::ios::binary);
    old << "old contents";
  }
  Writer w;
  w.AddMetadata("k", Value::Str("v"));
  const std::vector<uint8_t> d(64, 3);
  w.AddTensor("t", 0, {16}, d.data(), d.size());
  w.WriteToFile(path);
  CHECK(ReadAll(path) == w.WriteToBuffer());
  // No temporary file is left next to it.
  const std::string dir = std::string(DLLM_BINARY_DIR);
  DIR* dh = opendir(dir.c_str());
  REQUIRE(dh != nullptr);
  int temps = 0;
  while (dirent* e = readdir(dh)) {
    if (Contains(e->d_name, "gguf_test_atomic.gguf.tmp")) ++temps;
  }
  closedir(dh);
  CHECK(temps == 0);
  std::remove(path.c_str());

  std::string m = ErrorMessage([&] { w.WriteToFile(dir + "/no/such/dir/x.gguf"); }, ErrorCode::kIo);
  CHECK(Contains(m, "no/such/dir"));
  // Renaming over a directory fails after the data was written: the temp file is removed.
  const std::string as_dir = dllm_test::TempPath("is_a_dir");
  ::mkdir(as_dir.c_str(), 0755);
  ErrorMessage([&] { w.WriteToFile(as_dir); }, ErrorCode::kIo);
  ::rmdir(as_dir.c_str());
}
