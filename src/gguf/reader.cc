// GGUF parsing and validation (see gguf.h for the layout and the rules).
//
// Invariant of the whole parser: no byte is read and nothing is allocated before the Cursor has
// checked that the bytes exist; every size derived from the file is computed with CheckedMul /
// CheckedAdd; element counts are bounded by the bytes remaining before any reserve().
#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <numeric>
#include <utility>

#include "gguf/file_bytes.h"
#include "gguf/gguf.h"
#include "gguf/types.h"
#include "util/error.h"

namespace dllm {
namespace gguf {
namespace {

constexpr uint8_t kMagic[4] = {'G', 'G', 'U', 'F'};
// Smallest possible encodings, used to bound counts by the bytes remaining.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // empty name, 1 dim, type, offset
constexpr uint64_t kMinStringBytes = 8;                   // length only
constexpr uint64_t kMinArrayBytes = 4 + 8;                // element type and length

std::string U(uint64_t v) { return std::to_string(v); }

// A name from the file made safe to print: non-printable bytes as \xNN, long names shortened.
std::string Quote(const std::string& s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "'";
  const size_t limit = 120;
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c >= 0x80) {
      out += static_cast<char>(c);  // keep UTF-8 names readable
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > limit) out += "...";
  return out + "'";
}

// Bounds-checked little-endian reads over the file's bytes.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size) : data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }

  void Require(uint64_t n, const char* what) const {
    if (n > remaining()) {
      Throw(ErrorCode::kFormat, std::string("file is truncated: ") + what + " at byte offset " +
                                    U(pos_) + " needs " + U(n) + " bytes but only " +
                                    U(remaining()) + " remain (file size " + U(size_) + ")");
    }
  }

  // An unsigned little-endian integer of `width` bytes (1, 2, 4 or 8).
  uint64_t Uint(uint32_t width, const char* what) {
    Require(width, what);
    uint64_t v = 0;
    for (uint32_t i = 0; i < width; ++i) v |= uint64_t{data_[pos_ + i]} << (8 * i);
    pos_ += width;
    return v;
  }
  uint32_t U32(const char* what) { return static_cast<uint32_t>(Uint(4, what)); }
  uint64_t U64(const char* what) { return Uint(8, what); }

  std::string String(const char* what) {
    const uint64_t at = pos_;
    const uint64_t len = U64(what);
    if (len > remaining()) {
      Throw(ErrorCode::kFormat, std::string(what) + " at byte offset " + U(at) + " has length " +
                                    U(len) + " but only " + U(remaining()) +
                                    " bytes remain in the file (size " + U(size_) + ")");
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

// Minimal bytes one element of `t` occupies in a file.
uint64_t MinEncodedBytes(ValueType t) {
  if (t == ValueType::kString) return kMinStringBytes;
  if (t == ValueType::kArray) return kMinArrayBytes;
  return ValueTypeSize(t);
}

class MetadataReader {
 public:
  explicit MetadataReader(Cursor* c) : c_(*c) {}

  // Reads one value of type `t` (already validated); `depth` = number of enclosing arrays.
  Value Read(ValueType t, uint32_t depth) {
    switch (t) {
      case ValueType::kString:
        return Value::Str(c_.String("string"));
      case ValueType::kArray:
        return ReadArray(depth + 1);
      case ValueType::kBool: {
        const uint64_t at = c_.pos();
        const uint64_t b = c_.Uint(1, "BOOL value");
        if (b > 1) {
          Throw(ErrorCode::kFormat, "BOOL value at byte offset " + U(at) + " is " + U(b) +
                                        " (must be 0 or 1)");
        }
        return ValueDecoder::Scalar(t, b);
      }
      default:
        return ValueDecoder::Scalar(t, c_.Uint(ValueTypeSize(t), "scalar value"));
    }
  }

 private:
  Value ReadArray(uint32_t depth) {
    const uint64_t at = c_.pos();
    if (depth > kMaxArrayDepth) {
      Throw(ErrorCode::kFormat, "array at byte offset " + U(at) + " is nested " + U(depth) +
                                    " deep (limit " + U(kMaxArrayDepth) + ")");
    }
    const uint32_t et = c_.U32("array element type");
    if (!IsValidValueType(et)) {
      Throw(ErrorCode::kFormat, "array at byte offset " + U(at) + " has " + ValueTypeName(et) +
                                    " as its element type");
    }
    const ValueType elem = static_cast<ValueType>(et);
    const uint64_t n = c_.U64("array length");
    const uint64_t min_bytes = MinEncodedBytes(elem);
    if (n > c_.remaining() / min_bytes) {
      Throw(ErrorCode::kFormat, "array at byte offset " + U(at) + " claims " + U(n) + " " +
                                    ValueTypeName(elem) + " elements, which need at least " +
                                    (n > std::numeric_limits<uint64_t>::max() / min_bytes
                                         ? std::string("more than 2^64")
                                         : U(n * min_bytes)) +
                                    " bytes, but only " + U(c_.remaining()) + " remain");
    }
    if (n > element_budget_) {
      Throw(ErrorCode::kUnsupported, "array at byte offset " + U(at) + " of " + U(n) +
                                         " elements exceeds dllm's limit of " +
                                         U(kMaxMetadataElements) +
                                         " metadata array elements per file");
    }
    element_budget_ -= n;
    std::vector<Value> elems;
    elems.reserve(static_cast<size_t>(n));
    for (uint64_t i = 0; i < n; ++i) {
      if (elem == ValueType::kString || elem == ValueType::kArray || elem == ValueType::kBool) {
        try {
          elems.push_back(Read(elem, depth));
        } catch (const Error& e) {
          Throw(e.code(), "array element " + U(i) + ": " + e.what());
        }
      } else {
        // Bounds were checked for the whole array above; no per-element context needed.
        elems.push_back(ValueDecoder::Scalar(elem, c_.Uint(ValueTypeSize(elem), "array element")));
      }
    }
    return Value::Array(elem, std::move(elems));
  }

  Cursor& c_;
  uint64_t element_budget_ = kMaxMetadataElements;
};

template <typename F>
auto WithKey(const std::string& key, const Value& v, F f) -> decltype(f(v)) {
  try {
    return f(v);
  } catch (const Error& e) {
    Throw(e.code(), "metadata key " + Quote(key) + ": " + e.what());
  }
}

}  // namespace

File::File() = default;
File::File(File&&) noexcept = default;
File& File::operator=(File&&) noexcept = default;
File::~File() = default;

std::unique_ptr<File> File::Open(const std::string& path, bool use_mmap) {
  std::unique_ptr<FileBytes> bytes = use_mmap ? FileBytes::Map(path) : FileBytes::Read(path);
  try {
    return Parse(std::move(bytes));
  } catch (const Error& e) {
    Throw(e.code(), "'" + path + "': " + e.what());
  }
}

std::unique_ptr<File> File::FromBuffer(std::vector<uint8_t> bytes) {
  return Parse(FileBytes::FromVector(std::move(bytes)));
}

std::unique_ptr<File> File::Parse(std::unique_ptr<FileBytes> bytes) {
  std::unique_ptr<File> f(new File());
  f->bytes_ = std::move(bytes);
  try {
    f->ParseOrThrow();
  } catch (const std::bad_alloc&) {
    Throw(ErrorCode::kOutOfMemory, "out of memory while parsing GGUF metadata");
  }
  return f;
}

void File::ParseOrThrow() {
  const uint8_t* base = bytes_->data();
  file_size_ = bytes_->size();
  Cursor c(base, file_size_);

  // Header.
  c.Require(4, "GGUF magic");
  if (std::memcmp(base, kMagic, 4) != 0) {
    std::string shown;
    for (int i = 0; i < 4; ++i) {
      shown += (base[i] >= 0x20 && base[i] < 0x7f) ? static_cast<char>(base[i]) : '?';
    }
    Throw(ErrorCode::kFormat, "not a GGUF file: magic is '" + shown + "', expected 'GGUF'");
  }
  c.Uint(4, "GGUF magic");
  version_ = c.U32("GGUF version");
  const uint32_t swapped = __builtin_bswap32(version_);
  if ((version_ & 0xFFFF) == 0 && swapped >= 1 && swapped <= 3) {
    Throw(ErrorCode::kUnsupported, "big-endian GGUF files are not supported (version field reads " +
                                       U(version_) + ", i.e. version " + U(swapped) +
                                       " byte-swapped)");
  }
  if (version_ == 1) {
    Throw(ErrorCode::kUnsupported,
          "GGUF version 1 is not supported (obsolete 32-bit-count format); "
          "convert the file with a current llama.cpp");
  }
  if (version_ != 2 && version_ != 3) {
    Throw(ErrorCode::kUnsupported,
          "GGUF version " + U(version_) + " is not supported (dllm reads versions 2 and 3)");
  }
  const uint64_t n_tensors = c.U64("tensor count");
  const uint64_t n_kv = c.U64("metadata entry count");
  {
    uint64_t need_kv = 0, need_ti = 0, need = 0;
    if (!CheckedMul(n_kv, kMinKvBytes, &need_kv) ||
        !CheckedMul(n_tensors, kMinTensorInfoBytes, &need_ti) ||
        !CheckedAdd(need_kv, need_ti, &need) || need > c.remaining()) {
      Throw(ErrorCode::kFormat, "header claims " + U(n_tensors) + " tensors and " + U(n_kv) +
                                    " metadata entries, more than the " + U(c.remaining()) +
                                    " bytes after the header can hold (file size " +
                                    U(file_size_) + "): the file is truncated or corrupt");
    }
  }

  // Metadata.
  MetadataReader values(&c);
  metadata_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    const uint64_t at = c.pos();
    std::string key;
    try {
      key = c.String("metadata key");
    } catch (const Error& e) {
      Throw(e.code(), "metadata entry #" + U(i) + ": " + e.what());
    }
    auto dup = key_index_.find(key);
    if (dup != key_index_.end()) {
      Throw(ErrorCode::kFormat, "duplicate metadata key " + Quote(key) + " (entries #" +
                                    U(dup->second) + " and #" + U(i) + ", the second at byte offset " +
                                    U(at) + ")");
    }
    try {
      const uint64_t type_at = c.pos();
      const uint32_t t = c.U32("value type");
      if (!IsValidValueType(t)) {
        Throw(ErrorCode::kFormat, ValueTypeName(t) + " at byte offset " + U(type_at));
      }
      Value v = values.Read(static_cast<ValueType>(t), 0);
      key_index_.emplace(key, metadata_.size());
      metadata_.emplace_back(std::move(key), std::move(v));
    } catch (const Error& e) {
      Throw(e.code(), "metadata key " + Quote(key) + " (entry #" + U(i) + " at byte offset " +
                          U(at) + "): " + e.what());
    }
  }

  if (const Value* a = Find(kAlignmentKey)) {
    if (a->type() != ValueType::kUint32) {
      Throw(ErrorCode::kFormat, std::string("metadata key '") + kAlignmentKey + "' is " +
                                    a->Describe() + ", GGUF requires UINT32");
    }
    const uint32_t al = a->AsU32();
    if (al == 0 || (al & (al - 1)) != 0) {
      Throw(ErrorCode::kFormat, std::string("metadata key '") + kAlignmentKey + "' is " + U(al) +
                                    ", it must be a power of two greater than 0");
    }
    alignment_ = al;
  }

  // Tensor infos.
  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint64_t at = c.pos();
    TensorInfo ti;
    try {
      ti.name = c.String("tensor name");
    } catch (const Error& e) {
      Throw(e.code(), "tensor info #" + U(i) + ": " + e.what());
    }
    auto dup = tensor_index_.find(ti.name);
    if (dup != tensor_index_.end()) {
      Throw(ErrorCode::kFormat, "duplicate tensor name " + Quote(ti.name) + " (tensor infos #" +
                                    U(dup->second) + " and #" + U(i) +
                                    ", the second at byte offset " + U(at) + ")");
    }
    try {
      const uint32_t n_dims = c.U32("tensor dimension count");
      if (n_dims == 0 || n_dims > kMaxDims) {
        Throw(ErrorCode::kFormat, "has " + U(n_dims) + " dimensions (must be 1 to " +
                                      U(kMaxDims) + ")");
      }
      uint64_t n = 1;
      bool overflow = false;
      for (uint32_t d = 0; d < n_dims; ++d) {
        const uint64_t dim = c.U64("tensor dimension");
        if (dim == 0) Throw(ErrorCode::kFormat, "dimension " + U(d) + " is 0");
        ti.dims.push_back(dim);
        overflow = overflow || !CheckedMul(n, dim, &n);
      }
      if (overflow || n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        std::string dims;
        for (uint64_t d : ti.dims) dims += (dims.empty() ? "" : ", ") + U(d);
        Throw(ErrorCode::kFormat, "element count of dims [" + dims + "] overflows int64");
      }
      ti.n_elements = n;
      ti.type_id = c.U32("tensor type");
      const GgmlTypeTraits* traits = FindGgmlType(ti.type_id);
      if (traits == nullptr) {
        Throw(ErrorCode::kUnsupported, GgmlTypeName(ti.type_id) +
                                           ": not a ggml tensor type dllm knows the layout of");
      }
      uint64_t row_bytes = 0;
      if (!GgmlRowBytes(ti.type_id, ti.dims[0], &row_bytes)) {
        Throw(ErrorCode::kFormat, "row length " + U(ti.dims[0]) + " is not a multiple of the " +
                                      traits->name + " block size " + U(traits->block_size));
      }
      if (!CheckedMul(row_bytes, n / ti.dims[0], &ti.n_bytes)) {
        Throw(ErrorCode::kFormat, "byte size overflows 64 bits");
      }
      ti.offset = c.U64("tensor data offset");
    } catch (const Error& e) {
      Throw(e.code(), "tensor " + Quote(ti.name) + " (tensor info #" + U(i) + " at byte offset " +
                          U(at) + "): " + e.what());
    }
    tensor_index_.emplace(ti.name, tensors_.size());
    tensors_.push_back(std::move(ti));
  }

  // Data section: starts at the end of the tensor infos rounded up to the alignment.
  const uint64_t pad = (alignment_ - c.pos() % alignment_) % alignment_;
  if (!CheckedAdd(c.pos(), pad, &data_offset_)) {
    Throw(ErrorCode::kFormat, "data section offset overflows");  // unreachable for real sizes
  }
  for (TensorInfo& ti : tensors_) {
    if (ti.offset % alignment_ != 0) {
      Throw(ErrorCode::kFormat, "tensor " + Quote(ti.name) + ": data offset " + U(ti.offset) +
                                    " is not a multiple of the alignment " + U(alignment_));
    }
    uint64_t begin = 0, end = 0;
    if (!CheckedAdd(data_offset_, ti.offset, &begin) || !CheckedAdd(begin, ti.n_bytes, &end) ||
        end > file_size_) {
      Throw(ErrorCode::kFormat,
            "tensor " + Quote(ti.name) + ": data at offset " + U(ti.offset) +
                " of the data section (file offset " + U(data_offset_) + " + " + U(ti.offset) +
                "), " + U(ti.n_bytes) + " bytes, extends past the end of the file (size " +
                U(file_size_) + ")");
    }
    ti.data = base + begin;
  }
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [this](size_t a, size_t b) {
    return tensors_[a].offset < tensors_[b].offset;
  });
  for (size_t k = 1; k < order.size(); ++k) {
    const TensorInfo& prev = tensors_[order[k - 1]];
    const TensorInfo& cur = tensors_[order[k]];
    if (prev.offset + prev.n_bytes > cur.offset) {  // no overflow: both end inside the file
      Throw(ErrorCode::kFormat, "tensors " + Quote(prev.name) + " (data offset " +
                                    U(prev.offset) + ", " + U(prev.n_bytes) + " bytes) and " +
                                    Quote(cur.name) + " (data offset " + U(cur.offset) +
                                    ") overlap");
    }
  }
}

const Value* File::Find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].second;
}

const Value& File::Get(const std::string& key) const {
  const Value* v = Find(key);
  if (v == nullptr) Throw(ErrorCode::kFormat, "missing metadata key " + Quote(key));
  return *v;
}

const TensorInfo* File::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

uint32_t File::GetU32(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsU32(); });
}
uint32_t File::GetU32(const std::string& key, uint32_t default_value) const {
  return Find(key) ? GetU32(key) : default_value;
}
uint64_t File::GetU64(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsU64(); });
}
int32_t File::GetI32(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsI32(); });
}
int64_t File::GetI64(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsI64(); });
}
float File::GetF32(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsF32(); });
}
float File::GetF32(const std::string& key, float default_value) const {
  return Find(key) ? GetF32(key) : default_value;
}
double File::GetF64(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsF64(); });
}
bool File::GetBool(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsBool(); });
}
bool File::GetBool(const std::string& key, bool default_value) const {
  return Find(key) ? GetBool(key) : default_value;
}
const std::string& File::GetString(const std::string& key) const {
  return WithKey(key, Get(key),
                 [](const Value& v) -> const std::string& { return v.AsString(); });
}
std::string File::GetString(const std::string& key, const std::string& default_value) const {
  return Find(key) ? GetString(key) : default_value;
}
std::vector<std::string> File::GetStringArray(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsStringArray(); });
}
std::vector<float> File::GetF32Array(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsF32Array(); });
}
std::vector<int64_t> File::GetI64Array(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsI64Array(); });
}
std::vector<bool> File::GetBoolArray(const std::string& key) const {
  return WithKey(key, Get(key), [](const Value& v) { return v.AsBoolArray(); });
}

}  // namespace gguf
}  // namespace dllm
