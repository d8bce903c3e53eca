#include "handles.h"

#include <mutex>
#include <unordered_map>

#include "status.h"

namespace dllm {
namespace capi {
namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<const void*, std::shared_ptr<dllm_model>> models;
  std::unordered_map<const void*, std::shared_ptr<dllm_session>> sessions;
};

// Never destroyed: handles still live at exit must not be torn down by static destructors while
// another thread may still use them.
Registry& GetRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace

void RegisterModel(std::shared_ptr<dllm_model> model) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const void* key = model.get();
  r.models.emplace(key, std::move(model));
}

std::shared_ptr<dllm_model> LookupModel(const dllm_model* handle, const char* what) {
  if (!handle) InvalidArgument(std::string(what) + " is NULL");
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.models.find(handle);
  if (it == r.models.end()) {
    InvalidArgument(std::string(what) + " is not a live dllm_model handle (freed, or not a model)");
  }
  return it->second;
}

bool UnregisterModel(const dllm_model* handle) {
  std::shared_ptr<dllm_model> doomed;  // destroyed outside the lock (may unmap a large file)
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.models.find(handle);
  if (it == r.models.end()) return false;
  doomed = std::move(it->second);
  r.models.erase(it);
  return true;
}

void RegisterSession(std::shared_ptr<dllm_session> session) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const void* key = session.get();
  r.sessions.emplace(key, std::move(session));
}

std::shared_ptr<dllm_session> LookupSession(const dllm_session* handle) {
  if (!handle) InvalidArgument("session is NULL");
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.sessions.find(handle);
  if (it == r.sessions.end()) {
    InvalidArgument("session is not a live dllm_session handle (freed, or not a session)");
  }
  return it->second;
}

std::shared_ptr<dllm_session> UnregisterSession(const dllm_session* handle) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.sessions.find(handle);
  if (it == r.sessions.end()) {
    InvalidArgument("session is not a live dllm_session handle (freed twice?)");
  }
  bool expected = false;
  if (!it->second->busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
    Fail(DLLM_ERROR_BUSY, "the session is in use (a call is running on it); not freed");
  }
  std::shared_ptr<dllm_session> s = std::move(it->second);
  r.sessions.erase(it);
  return s;
}

BusyGuard::BusyGuard(dllm_session& s) : s_(s) {
  bool expected = false;
  if (!s.busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
    Fail(DLLM_ERROR_BUSY,
         "the session is in use by another call (sessions serve one thread at a time; calls on "
         "the session from its own callbacks are not allowed)");
  }
}

}  // namespace capi
}  // namespace dllm
