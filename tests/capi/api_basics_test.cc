// The C ABI's plumbing: versions, status names, the thread-local last error, logging, versioned
// structs (older, newer, uninitialized sizes) and NULL for every pointer of every function.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "capi_test_util.h"

using capi_test::LoadTiny;
using capi_test::NewSession;

namespace {
capi_test::TinyModelCleanup cleanup;
}

TEST_CASE("versions agree between header and library") {
  CHECK(std::string(dllm_version_string()) == DLLM_VERSION_STRING);
  CHECK(dllm_version_number() == DLLM_VERSION_NUMBER);
  CHECK(dllm_abi_version() == DLLM_ABI_VERSION);
  CHECK(DLLM_VERSION_NUMBER ==
        DLLM_VERSION_MAJOR * 10000 + DLLM_VERSION_MINOR * 100 + DLLM_VERSION_PATCH);
}

TEST_CASE("status strings name every status") {
  for (int s = DLLM_OK; s <= DLLM_ERROR_CONTEXT_FULL; ++s) {
    const std::string name = dllm_status_string(static_cast<dllm_status>(s));
    CHECK(name.rfind("DLLM_", 0) == 0);
    CHECK(name != "DLLM_UNKNOWN_STATUS");
  }
  CHECK(std::string(dllm_status_string(static_cast<dllm_status>(99))) == "DLLM_UNKNOWN_STATUS");
  CHECK(std::string(dllm_status_string(DLLM_ERROR_BUSY)) == "DLLM_ERROR_BUSY");
}

TEST_CASE("the last error is per thread and names the function") {
  dllm_model* m = nullptr;
  CHECK(dllm_model_load(nullptr, nullptr, &m) == DLLM_ERROR_INVALID_ARGUMENT);
  const std::string here = dllm_last_error();
  CHECK(here.find("dllm_model_load") != std::string::npos);
  CHECK(here.find("path") != std::string::npos);
  std::string there = "unset";
  std::thread([&] { there = dllm_last_error(); }).join();
  CHECK(there.empty());
  // A successful call leaves it.
  CHECK(dllm_version_number() > 0);
  dllm_load_params p;
  CHECK(dllm_load_params_init(&p, sizeof p) == DLLM_OK);
  CHECK(std::string(dllm_last_error()) == here);
}

namespace {
struct LogSink {
  std::vector<std::pair<int, std::string>> lines;
};
void Collect(int32_t level, const char* message, void* user_data) {
  static_cast<LogSink*>(user_data)->lines.emplace_back(level, message);
}
}  // namespace

TEST_CASE("logging is quiet by default and filtered by level") {
  LogSink sink;
  // Quiet by default: nothing to observe but that no callback exists; install and filter.
  REQUIRE(dllm_log_set_callback(Collect, &sink, DLLM_LOG_INFO) == DLLM_OK);
  {
    capi_test::ModelPtr m = LoadTiny();
  }
  bool saw_load = false;
  for (const auto& l : sink.lines) {
    CHECK(l.first <= DLLM_LOG_INFO);
    saw_load |= l.second.find("loaded") != std::string::npos;
  }
  CHECK(saw_load);
  // Failures are logged at DEBUG only.
  sink.lines.clear();
  dllm_model* m = nullptr;
  dllm_model_load("/nonexistent/x.gguf", nullptr, &m);
  CHECK(sink.lines.empty());
  REQUIRE(dllm_log_set_callback(Collect, &sink, DLLM_LOG_DEBUG) == DLLM_OK);
  dllm_model_load("/nonexistent/x.gguf", nullptr, &m);
  REQUIRE(sink.lines.size() == 1);
  CHECK(sink.lines[0].first == DLLM_LOG_DEBUG);
  CHECK(sink.lines[0].second.find("DLLM_ERROR_IO") != std::string::npos);
  REQUIRE(dllm_log_set_callback(nullptr, nullptr, DLLM_LOG_NONE) == DLLM_OK);
  sink.lines.clear();
  dllm_model_load("/nonexistent/x.gguf", nullptr, &m);
  CHECK(sink.lines.empty());
  CHECK(dllm_log_set_callback(Collect, &sink, 7) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_log_set_callback(Collect, &sink, -1) == DLLM_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("init functions set defaults and the caller's size") {
  dllm_sampler_params p;
  std::memset(&p, 0xAB, sizeof p);
  REQUIRE(dllm_sampler_params_init(&p, sizeof p) == DLLM_OK);
  CHECK(p.struct_size == sizeof p);
  CHECK(p.max_steps == 48);
  CHECK(p.t_min == doctest::Approx(0.4f));
  CHECK(p.t_max == doctest::Approx(0.8f));
  CHECK(p.entropy_bound == doctest::Approx(0.1f));
  CHECK(p.stability_threshold == 1);
  CHECK(p.confidence_threshold == doctest::Approx(0.005f));
  CHECK(p.seed == 0);
  CHECK(p.max_new_tokens == 4096);
  CHECK(p.stop_ids == nullptr);
  CHECK(p.n_stop_ids == 0);
  CHECK(p.fixed_steps == 0);
  CHECK(p.argmax == 0);
  dllm_load_params lp;
  REQUIRE(dllm_load_params_init(&lp, sizeof lp) == DLLM_OK);
  CHECK(lp.use_mmap == 1);
  CHECK(lp.n_threads == 0);
  CHECK((lp.progress == nullptr));
  dllm_session_params sp;
  REQUIRE(dllm_session_params_init(&sp, sizeof sp) == DLLM_OK);
  CHECK(sp.n_ctx == 0);
  CHECK(sp.n_threads == 0);
  dllm_callbacks cb;
  REQUIRE(dllm_callbacks_init(&cb, sizeof cb) == DLLM_OK);
  CHECK((cb.on_step == nullptr));
  CHECK((cb.on_canvas == nullptr));
  CHECK(cb.user_data == nullptr);
}

// A caller built against a newer header: the same struct with fields appended.
struct NewerSampler {
  dllm_sampler_params base;
  uint64_t future_field;
};
struct NewerInfo {
  dllm_model_info base;
  uint64_t future_field;
};

TEST_CASE("struct sizes: older, newer, uninitialized") {
  capi_test::ModelPtr m = LoadTiny();
  capi_test::SessionPtr s = NewSession(m.get());
  const int32_t prompt[] = {2, 20, 21};

  SUBCASE("an older (smaller) struct is rejected") {
    dllm_sampler_params p;
    CHECK(dllm_sampler_params_init(&p, sizeof p - 4) == DLLM_ERROR_INVALID_ARGUMENT);
    CHECK(std::string(dllm_last_error()).find("struct_size") != std::string::npos);
    REQUIRE(dllm_sampler_params_init(&p, sizeof p) == DLLM_OK);
    p.struct_size = sizeof p - 8;
    CHECK(dllm_session_generate_tokens(s.get(), prompt, 3, &p, nullptr, nullptr) ==
          DLLM_ERROR_INVALID_ARGUMENT);
    dllm_model_info info;
    info.struct_size = 8;
    CHECK(dllm_model_get_info(m.get(), &info) == DLLM_ERROR_INVALID_ARGUMENT);
  }
  SUBCASE("a newer struct with zero new fields is accepted") {
    NewerSampler p;
    std::memset(&p, 0xCD, sizeof p);
    REQUIRE(dllm_sampler_params_init(&p.base, sizeof p) == DLLM_OK);
    CHECK(p.base.struct_size == sizeof p);
    CHECK(p.future_field == 0);  // init zeroes what it does not know
    p.base.max_steps = 2;
    p.base.max_new_tokens = 8;
    CHECK(dllm_session_generate_tokens(s.get(), prompt, 3, &p.base, nullptr, nullptr) ==
          DLLM_OK);
  }
  SUBCASE("a newer struct that sets a new field is unsupported") {
    NewerSampler p;
    REQUIRE(dllm_sampler_params_init(&p.base, sizeof p) == DLLM_OK);
    p.future_field = 1;
    CHECK(dllm_session_generate_tokens(s.get(), prompt, 3, &p.base, nullptr, nullptr) ==
          DLLM_ERROR_UNSUPPORTED);
    CHECK(std::string(dllm_last_error()).find("does not know") != std::string::npos);
  }
  SUBCASE("a newer output struct gets its unknown tail zeroed") {
    NewerInfo info;
    std::memset(&info, 0xEE, sizeof info);
    info.base.struct_size = sizeof info;
    REQUIRE(dllm_model_get_info(m.get(), &info.base) == DLLM_OK);
    CHECK(info.base.struct_size == sizeof info);
    CHECK(info.future_field == 0);
    CHECK(info.base.n_layer == 6);
  }
  SUBCASE("an implausible size is treated as uninitialized") {
    dllm_session_params p;
    CHECK(dllm_session_params_init(&p, 1u << 20) == DLLM_ERROR_INVALID_ARGUMENT);
    REQUIRE(dllm_session_params_init(&p, sizeof p) == DLLM_OK);
    p.struct_size = 0xFFFFFFFFu;
    dllm_session* out = reinterpret_cast<dllm_session*>(0x1);
    CHECK(dllm_session_create(m.get(), &p, &out) == DLLM_ERROR_INVALID_ARGUMENT);
    CHECK(out == nullptr);
    dllm_metrics mt;
    mt.struct_size = 0;
    CHECK(dllm_session_get_metrics(s.get(), &mt) == DLLM_ERROR_INVALID_ARGUMENT);
  }
}

TEST_CASE("NULL everywhere gives INVALID_ARGUMENT, never a crash") {
  capi_test::ModelPtr mp = LoadTiny();
  capi_test::SessionPtr sp = NewSession(mp.get());
  dllm_model* m = mp.get();
  dllm_session* s = sp.get();
  const dllm_status bad = DLLM_ERROR_INVALID_ARGUMENT;
  size_t n = 0;
  int32_t ids[8] = {2, 20};
  char text[64];
  dllm_model_info info;
  info.struct_size = sizeof info;
  dllm_layer_info li;
  li.struct_size = sizeof li;
  dllm_memory_estimate me;
  me.struct_size = sizeof me;
  dllm_session_info si;
  si.struct_size = sizeof si;
  dllm_metrics mt;
  mt.struct_size = sizeof mt;
  dllm_sampler_params p;
  dllm_sampler_params_init(&p, sizeof p);
  dllm_chat_message msg = {"user", "hi"};
  dllm_chat_message null_role = {nullptr, "hi"};
  dllm_chat_message null_content = {"user", nullptr};

  CHECK(dllm_load_params_init(nullptr, sizeof(dllm_load_params)) == bad);
  CHECK(dllm_session_params_init(nullptr, sizeof(dllm_session_params)) == bad);
  CHECK(dllm_sampler_params_init(nullptr, sizeof(dllm_sampler_params)) == bad);
  CHECK(dllm_callbacks_init(nullptr, sizeof(dllm_callbacks)) == bad);
  CHECK(dllm_model_load(capi_test::TinyModelPath().c_str(), nullptr, nullptr) == bad);
  CHECK(dllm_model_free(nullptr) == DLLM_OK);  // like free(NULL)
  CHECK(dllm_model_get_info(nullptr, &info) == bad);
  CHECK(dllm_model_get_info(m, nullptr) == bad);
  CHECK(dllm_model_get_layer_info(nullptr, 0, &li) == bad);
  CHECK(dllm_model_get_layer_info(m, 0, nullptr) == bad);
  CHECK(dllm_model_get_tensor_type(nullptr, 0, nullptr, nullptr) == bad);
  CHECK(dllm_model_estimate_memory(nullptr, 0, &me) == bad);
  CHECK(dllm_model_estimate_memory(m, 0, nullptr) == bad);
  CHECK(dllm_model_get_sampler_defaults(nullptr, &p) == bad);
  CHECK(dllm_model_get_sampler_defaults(m, nullptr) == bad);
  CHECK(dllm_tokenize(nullptr, "a", 1, 0, ids, 8, &n) == bad);
  CHECK(dllm_tokenize(m, nullptr, 1, 0, ids, 8, &n) == bad);
  CHECK(dllm_tokenize(m, nullptr, DLLM_NUL_TERMINATED, 0, ids, 8, &n) == bad);
  CHECK(dllm_tokenize(m, "a", 1, 0, ids, 8, nullptr) == bad);
  CHECK(dllm_tokenize(m, "abc", 3, 0, nullptr, 8, &n) == bad);
  CHECK(dllm_detokenize(nullptr, ids, 2, 0, text, sizeof text, &n) == bad);
  CHECK(dllm_detokenize(m, nullptr, 2, 0, text, sizeof text, &n) == bad);
  CHECK(dllm_detokenize(m, ids, 2, 0, text, sizeof text, nullptr) == bad);
  CHECK(dllm_detokenize(m, ids, 2, 0, nullptr, 16, &n) == bad);
  CHECK(dllm_chat_apply_template(nullptr, &msg, 1, 0, text, sizeof text, &n) == bad);
  CHECK(dllm_chat_apply_template(m, nullptr, 1, 0, text, sizeof text, &n) == bad);
  CHECK(dllm_chat_apply_template(m, &null_role, 1, 0, text, sizeof text, &n) == bad);
  CHECK(dllm_chat_apply_template(m, &null_content, 1, 0, text, sizeof text, &n) == bad);
  CHECK(dllm_chat_apply_template(m, &msg, 1, 0, text, sizeof text, nullptr) == bad);
  CHECK(dllm_session_create(nullptr, nullptr, nullptr) == bad);
  dllm_session* out = nullptr;
  CHECK(dllm_session_create(nullptr, nullptr, &out) == bad);
  CHECK(dllm_session_create(m, nullptr, nullptr) == bad);
  CHECK(dllm_session_free(nullptr) == DLLM_OK);
  CHECK(dllm_session_reset(nullptr) == bad);
  CHECK(dllm_session_cancel(nullptr) == bad);
  CHECK(dllm_session_get_info(nullptr, &si) == bad);
  CHECK(dllm_session_get_info(s, nullptr) == bad);
  CHECK(dllm_session_get_metrics(nullptr, &mt) == bad);
  CHECK(dllm_session_get_metrics(s, nullptr) == bad);
  CHECK(dllm_session_generate_text(nullptr, "a", 1, nullptr, nullptr, nullptr) == bad);
  CHECK(dllm_session_generate_text(s, nullptr, 1, nullptr, nullptr, nullptr) == bad);
  CHECK(dllm_session_generate_tokens(nullptr, ids, 2, nullptr, nullptr, nullptr) == bad);
  CHECK(dllm_session_generate_tokens(s, nullptr, 2, nullptr, nullptr, nullptr) == bad);
  CHECK(dllm_session_generate_chat(nullptr, &msg, 1, 0, nullptr, nullptr, nullptr) == bad);
  CHECK(dllm_session_generate_chat(s, nullptr, 1, 0, nullptr, nullptr, nullptr) == bad);
  CHECK(dllm_session_generate_chat(s, &null_content, 1, 0, nullptr, nullptr, nullptr) == bad);
  p.stop_ids = nullptr;
  p.n_stop_ids = 3;
  CHECK(dllm_session_generate_tokens(s, ids, 2, &p, nullptr, nullptr) == bad);
  // Nothing above changed the session.
  REQUIRE(dllm_session_get_info(s, &si) == DLLM_OK);
  CHECK(si.n_past == 0);
}

TEST_CASE("handles of the wrong kind and garbage pointers are rejected") {
  capi_test::ModelPtr mp = LoadTiny();
  capi_test::SessionPtr sp = NewSession(mp.get());
  dllm_model_info info;
  info.struct_size = sizeof info;
  // A session passed as a model and vice versa (casts a C caller could write).
  CHECK(dllm_model_get_info(reinterpret_cast<const dllm_model*>(sp.get()), &info) ==
        DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_session_reset(reinterpret_cast<dllm_session*>(mp.get())) ==
        DLLM_ERROR_INVALID_ARGUMENT);
  // A pointer dllm never returned is not dereferenced.
  int not_a_handle = 0;
  CHECK(dllm_model_get_info(reinterpret_cast<const dllm_model*>(&not_a_handle), &info) ==
        DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_session_free(reinterpret_cast<dllm_session*>(&not_a_handle)) ==
        DLLM_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("unknown flag bits are rejected") {
  capi_test::ModelPtr m = LoadTiny();
  size_t n = 0;
  int32_t ids[16];
  char text[64];
  dllm_chat_message msg = {"user", "hi"};
  CHECK(dllm_tokenize(m.get(), "a", 1, 0x80, ids, 16, &n) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_detokenize(m.get(), ids, 0, 0x80, text, sizeof text, &n) ==
        DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_chat_apply_template(m.get(), &msg, 1, 0x80, text, sizeof text, &n) ==
        DLLM_ERROR_INVALID_ARGUMENT);
}
