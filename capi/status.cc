// dllm_status_string, dllm_last_error, versions and logging.
#include "status.h"

#include <atomic>
#include <mutex>
#include <new>

#include "util/error.h"

#if defined(DLLM_PROJECT_VERSION_MAJOR)
static_assert(DLLM_VERSION_MAJOR == DLLM_PROJECT_VERSION_MAJOR &&
                  DLLM_VERSION_MINOR == DLLM_PROJECT_VERSION_MINOR &&
                  DLLM_VERSION_PATCH == DLLM_PROJECT_VERSION_PATCH &&
                  DLLM_ABI_VERSION == DLLM_PROJECT_ABI_VERSION,
              "dllm.h's version macros must match project(VERSION) and DLLM_ABI_VERSION in the "
              "top-level CMakeLists.txt");
#endif

namespace dllm {
namespace capi {
namespace {

thread_local std::string t_last_error;

// The log sink. The callback and user data change together under the mutex; the level is read
// without it so that disabled logging costs one atomic load.
std::mutex g_log_mutex;
dllm_log_callback g_log_callback = nullptr;
void* g_log_user_data = nullptr;
std::atomic<int> g_log_level{DLLM_LOG_NONE};

dllm_status StatusOf(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return DLLM_ERROR_INVALID_ARGUMENT;
    case ErrorCode::kIo: return DLLM_ERROR_IO;
    case ErrorCode::kFormat: return DLLM_ERROR_FORMAT;
    case ErrorCode::kUnsupported: return DLLM_ERROR_UNSUPPORTED;
    case ErrorCode::kOutOfMemory: return DLLM_ERROR_OUT_OF_MEMORY;
    case ErrorCode::kCancelled: return DLLM_ERROR_CANCELLED;
    case ErrorCode::kInternal: return DLLM_ERROR_INTERNAL;
  }
  return DLLM_ERROR_INTERNAL;
}

// The engine's codes equal the public values; keep it that way.
static_assert(static_cast<int>(ErrorCode::kInvalidArgument) == DLLM_ERROR_INVALID_ARGUMENT &&
                  static_cast<int>(ErrorCode::kIo) == DLLM_ERROR_IO &&
                  static_cast<int>(ErrorCode::kFormat) == DLLM_ERROR_FORMAT &&
                  static_cast<int>(ErrorCode::kUnsupported) == DLLM_ERROR_UNSUPPORTED &&
                  static_cast<int>(ErrorCode::kOutOfMemory) == DLLM_ERROR_OUT_OF_MEMORY &&
                  static_cast<int>(ErrorCode::kCancelled) == DLLM_ERROR_CANCELLED &&
                  static_cast<int>(ErrorCode::kInternal) == DLLM_ERROR_INTERNAL,
              "dllm::ErrorCode must map 1:1 onto dllm_status");

}  // namespace

void Fail(dllm_status status, const std::string& message) { throw ApiError(status, message); }

dllm_status SetError(const char* function, dllm_status status, const char* message) noexcept {
  try {
    t_last_error.assign(function);
    t_last_error += ": ";
    t_last_error += message;
  } catch (...) {
    // Out of memory while building the message: keep what fits (nothing) rather than throw.
    t_last_error.clear();
  }
  if (LogEnabled(DLLM_LOG_DEBUG)) {
    try {
      Log(DLLM_LOG_DEBUG, std::string(dllm_status_string(status)) + " from " + t_last_error);
    } catch (...) {
    }
  }
  return status;
}

dllm_status StatusFromCurrentException(const char* function) noexcept {
  try {
    throw;
  } catch (const ApiError& e) {
    return SetError(function, e.status(), e.what());
  } catch (const Error& e) {
    return SetError(function, StatusOf(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return SetError(function, DLLM_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::length_error& e) {
    return SetError(function, DLLM_ERROR_OUT_OF_MEMORY, e.what());
  } catch (const std::exception& e) {
    return SetError(function, DLLM_ERROR_INTERNAL, e.what());
  } catch (...) {
    return SetError(function, DLLM_ERROR_INTERNAL, "unknown exception");
  }
}

bool LogEnabled(int level) noexcept {
  return level <= g_log_level.load(std::memory_order_relaxed);
}

void Log(int level, const std::string& message) noexcept {
  if (!LogEnabled(level)) return;
  dllm_log_callback callback;
  void* user_data;
  {
    std::lock_guard<std::mutex> lock(g_log_mutex);
    callback = g_log_callback;
    user_data = g_log_user_data;
  }
  if (callback) callback(level, message.c_str(), user_data);
}

}  // namespace capi
}  // namespace dllm

using dllm::capi::Guard;

extern "C" {

const char* dllm_status_string(dllm_status status) {
  switch (status) {
    case DLLM_OK: return "DLLM_OK";
    case DLLM_ERROR_INVALID_ARGUMENT: return "DLLM_ERROR_INVALID_ARGUMENT";
    case DLLM_ERROR_IO: return "DLLM_ERROR_IO";
    case DLLM_ERROR_FORMAT: return "DLLM_ERROR_FORMAT";
    case DLLM_ERROR_UNSUPPORTED: return "DLLM_ERROR_UNSUPPORTED";
    case DLLM_ERROR_OUT_OF_MEMORY: return "DLLM_ERROR_OUT_OF_MEMORY";
    case DLLM_ERROR_CANCELLED: return "DLLM_ERROR_CANCELLED";
    case DLLM_ERROR_INTERNAL: return "DLLM_ERROR_INTERNAL";
    case DLLM_ERROR_BUSY: return "DLLM_ERROR_BUSY";
    case DLLM_ERROR_BUFFER_TOO_SMALL: return "DLLM_ERROR_BUFFER_TOO_SMALL";
    case DLLM_ERROR_CONTEXT_FULL: return "DLLM_ERROR_CONTEXT_FULL";
  }
  return "DLLM_UNKNOWN_STATUS";
}

const char* dllm_last_error(void) { return dllm::capi::t_last_error.c_str(); }

const char* dllm_version_string(void) { return DLLM_VERSION_STRING; }
uint32_t dllm_version_number(void) { return DLLM_VERSION_NUMBER; }
uint32_t dllm_abi_version(void) { return DLLM_ABI_VERSION; }

dllm_status dllm_log_set_callback(dllm_log_callback callback, void* user_data, int32_t level) {
  return Guard(__func__, [&] {
    if (level < DLLM_LOG_NONE || level > DLLM_LOG_DEBUG) {
      dllm::capi::InvalidArgument("level " + std::to_string(level) +
                                  " is outside DLLM_LOG_NONE..DLLM_LOG_DEBUG");
    }
    std::lock_guard<std::mutex> lock(dllm::capi::g_log_mutex);
    dllm::capi::g_log_callback = callback;
    dllm::capi::g_log_user_data = user_data;
    dllm::capi::g_log_level.store(callback ? level : DLLM_LOG_NONE, std::memory_order_relaxed);
  });
}

}  // extern "C"
