#include "gguf/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <system_error>

#include "gguf/types.h"
#include "util/error.h"

namespace dllm {
namespace gguf {
namespace {

std::string U(uint64_t v) { return std::to_string(v); }
std::string OsError(int err) { return std::system_category().message(err); }

uint64_t PadBytes(uint64_t n, uint32_t alignment) { return (alignment - n % alignment) % alignment; }

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Deepest array nesting inside `v` (0 for scalars).
uint32_t ArrayDepth(const Value& v) {
  if (!v.is_array()) return 0;
  uint32_t inner = 0;
  if (v.array_type() == ValueType::kArray) {
    for (const Value& e : v.elements()) inner = std::max(inner, ArrayDepth(e));
  }
  return inner + 1;
}

// Little-endian serialization into a byte vector.
class Out {
 public:
  explicit Out(std::vector<uint8_t>* buf) : buf_(*buf) {}
  void Uint(uint64_t v, uint32_t width) {
    for (uint32_t i = 0; i < width; ++i) buf_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U32(uint32_t v) { Uint(v, 4); }
  void U64(uint64_t v) { Uint(v, 8); }
  void String(const std::string& s) {
    U64(s.size());
    buf_.insert(buf_.end(), s.begin(), s.end());
  }
  // The value's payload, without its type id (arrays carry their element type and length).
  void ValuePayload(const Value& v) {
    switch (v.type()) {
      case ValueType::kString:
        String(v.AsString());
        break;
      case ValueType::kArray:
        U32(static_cast<uint32_t>(v.array_type()));
        U64(v.size());
        for (const Value& e : v.elements()) ValuePayload(e);
        break;
      default:
        Uint(v.raw_bits(), ValueTypeSize(v.type()));
    }
  }
  void Zeros(uint64_t n) { buf_.insert(buf_.end(), static_cast<size_t>(n), uint8_t{0}); }
  size_t size() const { return buf_.size(); }

 private:
  std::vector<uint8_t>& buf_;
};

// Writes all of [data, data+n) to fd or throws kIo.
void WriteAll(int fd, const uint8_t* data, uint64_t n, const std::string& path) {
  while (n > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1u << 30));
    const ssize_t w = ::write(fd, data, chunk);
    if (w < 0) {
      if (errno == EINTR) continue;
      Throw(ErrorCode::kIo, "cannot write '" + path + "': " + OsError(errno));
    }
    data += w;
    n -= static_cast<uint64_t>(w);
  }
}

std::atomic<uint64_t> g_temp_counter{0};

}  // namespace

Writer::Writer(uint32_t version) : version_(version) {
  if (version != 2 && version != 3) {
    Throw(ErrorCode::kInvalidArgument,
          "GGUF writer: version " + U(version) + " is not supported (use 2 or 3)");
  }
}

void Writer::SetAlignment(uint32_t alignment) {
  if (!IsPowerOfTwo(alignment)) {
    Throw(ErrorCode::kInvalidArgument,
          "GGUF writer: alignment " + U(alignment) + " is not a power of two greater than 0");
  }
  alignment_ = alignment;
  auto it = key_index_.find(kAlignmentKey);
  if (it != key_index_.end()) {
    metadata_[it->second].second = Value::U32(alignment);
  } else {
    key_index_.emplace(kAlignmentKey, metadata_.size());
    metadata_.emplace_back(kAlignmentKey, Value::U32(alignment));
  }
}

void Writer::AddMetadata(std::string key, Value v) {
  if (key_index_.count(key)) {
    Throw(ErrorCode::kInvalidArgument, "GGUF writer: duplicate metadata key '" + key + "'");
  }
  if (ArrayDepth(v) > kMaxArrayDepth) {
    Throw(ErrorCode::kInvalidArgument, "GGUF writer: metadata key '" + key + "': arrays nest " +
                                           U(ArrayDepth(v)) + " deep (limit " +
                                           U(kMaxArrayDepth) + ")");
  }
  if (key == kAlignmentKey) {
    if (v.type() != ValueType::kUint32 || !IsPowerOfTwo(v.AsU32())) {
      Throw(ErrorCode::kInvalidArgument, std::string("GGUF writer: '") + kAlignmentKey +
                                             "' must be a UINT32 power of two, got " +
                                             v.Describe() + " " + v.ToString());
    }
    alignment_ = v.AsU32();
  }
  key_index_.emplace(key, metadata_.size());
  metadata_.emplace_back(std::move(key), std::move(v));
}

void Writer::AddTensor(std::string name, uint32_t type_id, std::vector<uint64_t> dims,
                       const void* data, size_t n_bytes) {
  AddTensorImpl(std::move(name), type_id, std::move(dims), data, n_bytes, /*copy=*/true);
}

void Writer::AddTensorView(std::string name, uint32_t type_id, std::vector<uint64_t> dims,
                           const void* data, size_t n_bytes) {
  AddTensorImpl(std::move(name), type_id, std::move(dims), data, n_bytes, /*copy=*/false);
}

void Writer::AddTensorImpl(std::string name, uint32_t type_id, std::vector<uint64_t> dims,
                           const void* data, size_t n_bytes, bool copy) {
  const std::string where = "GGUF writer: tensor '" + name + "': ";
  if (tensor_index_.count(name)) {
    Throw(ErrorCode::kInvalidArgument, "GGUF writer: duplicate tensor name '" + name + "'");
  }
  if (name.size() > kMaxTensorNameBytes) {
    Throw(ErrorCode::kInvalidArgument, where + "name is " + U(name.size()) +
                                           " bytes; llama.cpp accepts at most " +
                                           U(kMaxTensorNameBytes));
  }
  const GgmlTypeTraits* traits = FindGgmlType(type_id);
  if (traits == nullptr) {
    Throw(ErrorCode::kInvalidArgument, where + GgmlTypeName(type_id) + " has no known layout");
  }
  if (dims.empty() || dims.size() > kMaxDims) {
    Throw(ErrorCode::kInvalidArgument,
          where + U(dims.size()) + " dimensions (must be 1 to " + U(kMaxDims) + ")");
  }
  uint64_t n = 1;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 0) Throw(ErrorCode::kInvalidArgument, where + "dimension " + U(d) + " is 0");
    if (!CheckedMul(n, dims[d], &n) ||
        n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Throw(ErrorCode::kInvalidArgument, where + "element count overflows int64");
    }
  }
  uint64_t row_bytes = 0, expected = 0;
  if (!GgmlRowBytes(type_id, dims[0], &row_bytes)) {
    Throw(ErrorCode::kInvalidArgument, where + "row length " + U(dims[0]) +
                                           " is not a multiple of the " + traits->name +
                                           " block size " + U(traits->block_size));
  }
  if (!CheckedMul(row_bytes, n / dims[0], &expected)) {
    Throw(ErrorCode::kInvalidArgument, where + "byte size overflows");
  }
  if (expected != n_bytes) {
    Throw(ErrorCode::kInvalidArgument, where + U(n_bytes) + " bytes given, but " + traits->name +
                                           " with these dims takes " + U(expected));
  }
  if (data == nullptr) Throw(ErrorCode::kInvalidArgument, where + "data is NULL");
  PendingTensor t{std::move(name), type_id, std::move(dims), {}, nullptr, n_bytes};
  if (copy) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    t.owned.assign(p, p + n_bytes);
    t.data = t.owned.data();  // vector storage does not move when PendingTensor moves
  } else {
    t.data = static_cast<const uint8_t*>(data);
  }
  tensor_index_.emplace(t.name, tensors_.size());
  tensors_.push_back(std::move(t));
}

std::vector<uint8_t> Writer::SerializeHead() const {
  std::vector<uint8_t> buf;
  Out out(&buf);
  out.Uint('G', 1);
  out.Uint('G', 1);
  out.Uint('U', 1);
  out.Uint('F', 1);
  out.U32(version_);
  out.U64(tensors_.size());
  out.U64(metadata_.size());
  for (const auto& kv : metadata_) {
    out.String(kv.first);
    out.U32(static_cast<uint32_t>(kv.second.type()));
    out.ValuePayload(kv.second);
  }
  uint64_t offset = 0;
  for (const PendingTensor& t : tensors_) {
    out.String(t.name);
    out.U32(static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) out.U64(d);
    out.U32(t.type_id);
    out.U64(offset);
    offset += t.n_bytes + PadBytes(t.n_bytes, alignment_);
  }
  out.Zeros(PadBytes(out.size(), alignment_));
  return buf;
}

uint64_t Writer::DataBytes() const {
  uint64_t size = 0;
  for (const PendingTensor& t : tensors_) {
    if (!CheckedAdd(size, t.n_bytes + PadBytes(t.n_bytes, alignment_), &size)) {
      Throw(ErrorCode::kInvalidArgument, "GGUF writer: total file size overflows");
    }
  }
  return size;
}

uint64_t Writer::FileSize() const { return SerializeHead().size() + DataBytes(); }

std::vector<uint8_t> Writer::WriteToBuffer() const {
  std::vector<uint8_t> buf = SerializeHead();
  const uint64_t total = buf.size() + DataBytes();
  if (total > std::numeric_limits<size_t>::max()) {
    Throw(ErrorCode::kOutOfMemory, "GGUF writer: " + U(total) + " bytes do not fit in memory");
  }
  try {
    buf.reserve(static_cast<size_t>(total));
    for (const PendingTensor& t : tensors_) {
      buf.insert(buf.end(), t.data, t.data + t.n_bytes);
      buf.insert(buf.end(), static_cast<size_t>(PadBytes(t.n_bytes, alignment_)), uint8_t{0});
    }
    return buf;
  } catch (const std::bad_alloc&) {
    Throw(ErrorCode::kOutOfMemory, "GGUF writer: cannot allocate " + U(total) + " bytes");
  }
}

void Writer::WriteToFile(const std::string& path) const {
  const std::vector<uint8_t> head = SerializeHead();
  static const uint8_t kZeros[256] = {};  // alignment padding comes from here (alignment may be
                                          // larger; then it is written in pieces)
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0; ++attempt) {
    tmp = path + ".tmp." + U(static_cast<uint64_t>(::getpid())) + "." + U(g_temp_counter++);
    // 0666 minus the umask, like any newly created file (mkstemp would force 0600).
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && !(errno == EEXIST && attempt < 100) && errno != EINTR) {
      Throw(ErrorCode::kIo, "cannot create '" + tmp + "': " + OsError(errno));
    }
  }
  try {
    WriteAll(fd, head.data(), head.size(), tmp);
    for (const PendingTensor& t : tensors_) {
      WriteAll(fd, t.data, t.n_bytes, tmp);
      uint64_t pad = PadBytes(t.n_bytes, alignment_);
      while (pad > 0) {
        const uint64_t piece = std::min<uint64_t>(pad, sizeof(kZeros));
        WriteAll(fd, kZeros, piece, tmp);
        pad -= piece;
      }
    }
    if (::fsync(fd) != 0) Throw(ErrorCode::kIo, "cannot flush '" + tmp + "': " + OsError(errno));
    const int rc = ::close(fd);
    fd = -1;
    if (rc != 0) Throw(ErrorCode::kIo, "cannot close '" + tmp + "': " + OsError(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      Throw(ErrorCode::kIo, "cannot rename '" + tmp + "' to '" + path + "': " + OsError(errno));
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace gguf
}  // namespace dllm
