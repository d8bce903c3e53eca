// The C ABI's error plumbing: the thread-local last error, the process-wide log sink and Guard,
// which runs a function body and turns every exception into a dllm_status plus a message.
// Invariant: no exception ever crosses an extern "C" boundary.
#pragma once

#include <stdexcept>
#include <string>

#include "dllm/dllm.h"

namespace dllm {
namespace capi {

// An error only the C layer produces (BUSY, BUFFER_TOO_SMALL, CONTEXT_FULL) or one it raises
// while checking arguments; engine errors arrive as dllm::Error.
class ApiError : public std::runtime_error {
 public:
  ApiError(dllm_status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  dllm_status status() const { return status_; }

 private:
  dllm_status status_;
};

[[noreturn]] void Fail(dllm_status status, const std::string& message);
[[noreturn]] inline void InvalidArgument(const std::string& message) {
  Fail(DLLM_ERROR_INVALID_ARGUMENT, message);
}

// Records `message` as the thread's last error (prefixed with `function`), logs it at DEBUG and
// returns `status`. Never throws.
dllm_status SetError(const char* function, dllm_status status, const char* message) noexcept;

// The status for the exception being handled (call only inside a catch block); records it.
dllm_status StatusFromCurrentException(const char* function) noexcept;

// Runs body() and returns DLLM_OK, or the status of whatever it threw.
template <class Body>
dllm_status Guard(const char* function, Body&& body) noexcept {
  try {
    body();
    return DLLM_OK;
  } catch (...) {
    return StatusFromCurrentException(function);
  }
}

// Logging (dllm_log_set_callback). Cheap when nothing would be printed.
bool LogEnabled(int level) noexcept;
void Log(int level, const std::string& message) noexcept;

}  // namespace capi
}  // namespace dllm
