#include "gguf/file_bytes.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <new>
#include <system_error>
#include <utility>

#include "util/error.h"

namespace dllm {
namespace gguf {
namespace {

constexpr size_t kBufferAlignment = 64;
const uint8_t kEmpty[1] = {0};

std::string OsError(int err) { return std::system_category().message(err); }

// Owns a file descriptor for the duration of Map/Read.
class Fd {
 public:
  explicit Fd(const std::string& path) : fd_(-1) {
    do {
      fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) Throw(ErrorCode::kIo, "cannot open '" + path + "': " + OsError(errno));
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Size of a regular file; anything else (a directory, a pipe) is an I/O error.
uint64_t RegularFileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) Throw(ErrorCode::kIo, "cannot stat '" + path + "': " + OsError(errno));
  if (!S_ISREG(st.st_mode)) Throw(ErrorCode::kIo, "'" + path + "' is not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > std::numeric_limits<size_t>::max()) {
    Throw(ErrorCode::kUnsupported, "'" + path + "' is too large for this platform's address space");
  }
  return size;
}

}  // namespace

std::unique_ptr<FileBytes> FileBytes::Map(const std::string& path) {
  Fd fd(path);
  const uint64_t size = RegularFileSize(fd.get(), path);
  std::unique_ptr<FileBytes> b(new FileBytes());
  b->kind_ = Kind::kMapped;
  b->size_ = size;
  if (size == 0) {  // mmap of length 0 fails; an empty file is reported by the parser
    b->data_ = kEmpty;
    return b;
  }
  void* p = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) Throw(ErrorCode::kIo, "cannot mmap '" + path + "': " + OsError(errno));
  b->owned_ = p;
  b->data_ = static_cast<const uint8_t*>(p);
  return b;
}

std::unique_ptr<FileBytes> FileBytes::Read(const std::string& path) {
  Fd fd(path);
  const uint64_t size = RegularFileSize(fd.get(), path);
  std::unique_ptr<FileBytes> b(new FileBytes());
  b->kind_ = Kind::kAligned;
  b->size_ = size;
  if (size == 0) {
    b->data_ = kEmpty;
    return b;
  }
  void* p = ::operator new(static_cast<size_t>(size), std::align_val_t(kBufferAlignment),
                           std::nothrow);
  if (p == nullptr) {
    Throw(ErrorCode::kOutOfMemory,
          "cannot allocate " + std::to_string(size) + " bytes to read '" + path + "'");
  }
  b->owned_ = p;  // freed by ~FileBytes from here on
  b->data_ = static_cast<const uint8_t*>(p);
  uint8_t* dst = static_cast<uint8_t*>(p);
  uint64_t done = 0;
  while (done < size) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(size - done, 1u << 30));
    const ssize_t n = ::pread(fd.get(), dst + done, chunk, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      Throw(ErrorCode::kIo, "cannot read '" + path + "' at byte offset " + std::to_string(done) +
                                ": " + OsError(errno));
    }
    if (n == 0) {
      Throw(ErrorCode::kIo, "'" + path + "' shrank while being read (got " +
                                std::to_string(done) + " of " + std::to_string(size) + " bytes)");
    }
    done += static_cast<uint64_t>(n);
  }
  return b;
}

std::unique_ptr<FileBytes> FileBytes::FromVector(std::vector<uint8_t> bytes) {
  std::unique_ptr<FileBytes> b(new FileBytes());
  b->kind_ = Kind::kVector;
  b->vec_ = std::move(bytes);
  b->size_ = b->vec_.size();
  b->data_ = b->vec_.empty() ? kEmpty : b->vec_.data();
  return b;
}

FileBytes::~FileBytes() {
  if (owned_ == nullptr) return;
  if (kind_ == Kind::kMapped) {
    ::munmap(owned_, static_cast<size_t>(size_));
  } else if (kind_ == Kind::kAligned) {
    ::operator delete(owned_, std::align_val_t(kBufferAlignment));
  }
}

}  // namespace gguf
}  // namespace dllm
