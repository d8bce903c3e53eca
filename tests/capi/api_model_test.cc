// Models through the C ABI: loading (errors, progress, cancel), metadata, the tokenizer and the
// chat template, and concurrent use of one model.
#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "capi_test_util.h"

using capi_test::LoadTiny;

namespace {
capi_test::TinyModelCleanup cleanup;

std::string TempPath(const std::string& name) {
  return std::string(DLLM_BINARY_DIR) + "/tests/capi/" + name + "-" +
         std::to_string(static_cast<long>(::getpid()));
}

std::vector<char> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

dllm_status LoadStatus(const std::string& path) {
  dllm_model* m = reinterpret_cast<dllm_model*>(0x1);
  const dllm_status st = dllm_model_load(path.c_str(), nullptr, &m);
  CHECK(m == (st == DLLM_OK ? m : nullptr));
  if (st == DLLM_OK) dllm_model_free(m);
  return st;
}

std::vector<int32_t> Tokenize(const dllm_model* m, const std::string& text, uint32_t flags) {
  size_t n = 0;
  dllm_status st = dllm_tokenize(m, text.data(), text.size(), flags, nullptr, 0, &n);
  REQUIRE((st == DLLM_ERROR_BUFFER_TOO_SMALL || (st == DLLM_OK && n == 0)));
  std::vector<int32_t> ids(n);
  REQUIRE(dllm_tokenize(m, text.data(), text.size(), flags, ids.data(), ids.size(), &n) ==
          DLLM_OK);
  REQUIRE(n == ids.size());
  return ids;
}

std::string Detokenize(const dllm_model* m, const std::vector<int32_t>& ids, uint32_t flags) {
  size_t n = 0;
  REQUIRE(dllm_detokenize(m, ids.data(), ids.size(), flags, nullptr, 0, &n) ==
          DLLM_ERROR_BUFFER_TOO_SMALL);
  std::string s(n + 1, '\0');
  REQUIRE(dllm_detokenize(m, ids.data(), ids.size(), flags, &s[0], s.size(), &n) == DLLM_OK);
  REQUIRE(s[n] == '\0');
  s.resize(n);
  return s;
}

}  // namespace

TEST_CASE("load errors are statuses with messages") {
  CHECK(LoadStatus("/nonexistent/dir/model.gguf") == DLLM_ERROR_IO);
  CHECK(std::string(dllm_last_error()).find("/nonexistent/dir/model.gguf") != std::string::npos);
  const std::vector<char> good = ReadAll(capi_test::TinyModelPath());
  REQUIRE(good.size() > 1000);
  SUBCASE("garbage") {
    const std::string p = TempPath("garbage.gguf");
    WriteAll(p, std::vector<char>(4096, 'x'));
    CHECK(LoadStatus(p) == DLLM_ERROR_FORMAT);
    std::remove(p.c_str());
  }
  SUBCASE("truncated") {
    const std::string p = TempPath("truncated.gguf");
    WriteAll(p, std::vector<char>(good.begin(), good.begin() + good.size() / 2));
    CHECK(LoadStatus(p) == DLLM_ERROR_FORMAT);
    std::remove(p.c_str());
  }
  SUBCASE("empty") {
    const std::string p = TempPath("empty.gguf");
    WriteAll(p, {});
    const dllm_status st = LoadStatus(p);
    CHECK((st == DLLM_ERROR_FORMAT || st == DLLM_ERROR_IO));
    std::remove(p.c_str());
  }
  SUBCASE("bad load params") {
    dllm_load_params p;
    REQUIRE(dllm_load_params_init(&p, sizeof p) == DLLM_OK);
    p.n_threads = -1;
    dllm_model* m = nullptr;
    CHECK(dllm_model_load(capi_test::TinyModelPath().c_str(), &p, &m) ==
          DLLM_ERROR_INVALID_ARGUMENT);
    p.n_threads = 0;
    p.use_mmap = 5;
    CHECK(dllm_model_load(capi_test::TinyModelPath().c_str(), &p, &m) ==
          DLLM_ERROR_INVALID_ARGUMENT);
    CHECK(m == nullptr);
  }
}

namespace {
struct ProgressLog {
  std::vector<float> fractions;
  int stop_at = -1;  // call index that returns DLLM_STOP
};
int OnProgress(float f, void* ud) {
  auto* log = static_cast<ProgressLog*>(ud);
  log->fractions.push_back(f);
  return static_cast<int>(log->fractions.size()) - 1 == log->stop_at ? DLLM_STOP : DLLM_CONTINUE;
}
}  // namespace

TEST_CASE("progress is reported from 0 to 1 and can cancel the load") {
  for (int use_mmap = 0; use_mmap <= 1; ++use_mmap) {
    ProgressLog log;
    dllm_load_params p;
    REQUIRE(dllm_load_params_init(&p, sizeof p) == DLLM_OK);
    p.use_mmap = use_mmap;
    p.progress = OnProgress;
    p.progress_user_data = &log;
    dllm_model* m = nullptr;
    REQUIRE(dllm_model_load(capi_test::TinyModelPath().c_str(), &p, &m) == DLLM_OK);
    capi_test::ModelPtr owned(m);
    REQUIRE(log.fractions.size() >= 3);
    CHECK(log.fractions.front() == 0.0f);
    CHECK(log.fractions.back() == 1.0f);
    for (size_t i = 1; i < log.fractions.size(); ++i) {
      CHECK(log.fractions[i] >= log.fractions[i - 1]);
    }
    ProgressLog cancel;
    cancel.stop_at = 2;
    p.progress_user_data = &cancel;
    dllm_model* m2 = reinterpret_cast<dllm_model*>(0x1);
    CHECK(dllm_model_load(capi_test::TinyModelPath().c_str(), &p, &m2) == DLLM_ERROR_CANCELLED);
    CHECK(m2 == nullptr);
    CHECK(cancel.fractions.size() == 3);
  }
}

TEST_CASE("model info matches the synthetic model") {
  capi_test::ModelPtr m = LoadTiny();
  const dllm::SyntheticConfig c = dllm::SyntheticConfig::Tiny();
  dllm_model_info info;
  info.struct_size = sizeof info;
  REQUIRE(dllm_model_get_info(m.get(), &info) == DLLM_OK);
  CHECK(std::string(info.architecture) == "diffusion-gemma");
  CHECK(std::string(info.name) == c.name);
  CHECK(info.n_embd == c.n_embd);
  CHECK(info.n_layer == c.n_layer);
  CHECK(info.n_ff == c.n_ff);
  CHECK(info.n_vocab == c.n_vocab);
  CHECK(info.context_length == c.context_length);
  CHECK(info.canvas_length == c.canvas_length);
  CHECK(info.sliding_window == c.sliding_window);
  CHECK(info.n_expert == c.n_expert);
  CHECK(info.n_expert_used == c.n_expert_used);
  CHECK(info.n_ff_expert == c.n_ff_exp);
  CHECK(info.bos_id == 2);
  CHECK(info.eos_id == 1);
  CHECK(info.pad_id == 0);
  CHECK(info.unk_id == 3);
  CHECK(info.mask_id == 4);
  CHECK(info.eot_id == 6);
  REQUIRE(info.n_eog_ids >= 2);
  CHECK(std::vector<int32_t>(info.eog_ids, info.eog_ids + info.n_eog_ids) ==
        std::vector<int32_t>{1, 6});
  CHECK(info.add_bos == 1);
  CHECK(info.has_chat_template == 0);
  CHECK(info.has_chat_format == 1);
  CHECK(std::string(info.tokenizer_model) == "llama");
  CHECK(info.n_params > info.n_params_active);
  CHECK(info.n_params_expert > 0);
  CHECK(info.n_params_embedding == static_cast<uint64_t>(c.n_embd * c.n_vocab));
  CHECK(info.file_bytes == ReadAll(capi_test::TinyModelPath()).size());
  CHECK(info.weight_bytes < info.file_bytes);

  // Layers: five sliding then one global.
  for (int64_t l = 0; l < info.n_layer; ++l) {
    dllm_layer_info li;
    li.struct_size = sizeof li;
    REQUIRE(dllm_model_get_layer_info(m.get(), l, &li) == DLLM_OK);
    const bool sliding = l < 5;
    CHECK(li.sliding == (sliding ? 1 : 0));
    CHECK(li.n_head == c.n_head);
    CHECK(li.n_kv_head == (sliding ? c.n_kv_sliding : c.n_kv_global));
    CHECK(li.head_dim == (sliding ? c.head_dim_sliding : c.head_dim_global));
    CHECK(li.has_v == (sliding ? 1 : 0));
  }
  dllm_layer_info li;
  li.struct_size = sizeof li;
  CHECK(dllm_model_get_layer_info(m.get(), info.n_layer, &li) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_model_get_layer_info(m.get(), -1, &li) == DLLM_ERROR_INVALID_ARGUMENT);

  // Tensor types: all F32 here.
  REQUIRE(info.n_tensor_types == 1);
  const char* type = nullptr;
  uint64_t count = 0;
  REQUIRE(dllm_model_get_tensor_type(m.get(), 0, &type, &count) == DLLM_OK);
  CHECK(std::string(type) == "F32");
  CHECK(count > 100);
  CHECK(dllm_model_get_tensor_type(m.get(), 0, nullptr, nullptr) == DLLM_OK);
  CHECK(dllm_model_get_tensor_type(m.get(), 1, &type, &count) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(dllm_model_get_tensor_type(m.get(), -1, &type, &count) == DLLM_ERROR_INVALID_ARGUMENT);

  dllm_memory_estimate small, large;
  small.struct_size = large.struct_size = sizeof small;
  REQUIRE(dllm_model_estimate_memory(m.get(), 256, &small) == DLLM_OK);
  REQUIRE(dllm_model_estimate_memory(m.get(), 0, &large) == DLLM_OK);
  CHECK(small.weight_bytes == info.weight_bytes);
  CHECK(small.kv_cache_bytes < large.kv_cache_bytes);
  CHECK(small.total_bytes ==
        small.weight_bytes + small.kv_cache_bytes + small.scratch_bytes);
  CHECK(dllm_model_estimate_memory(m.get(), -5, &small) == DLLM_ERROR_INVALID_ARGUMENT);

  dllm_sampler_params p;
  REQUIRE(dllm_sampler_params_init(&p, sizeof p) == DLLM_OK);
  p.seed = 99;
  p.max_steps = 3;
  REQUIRE(dllm_model_get_sampler_defaults(m.get(), &p) == DLLM_OK);
  CHECK(p.max_steps == 48);  // the file's diffusion.eb_max_steps
  CHECK(p.seed == 99);       // untouched
}

TEST_CASE("tokenize and detokenize") {
  capi_test::ModelPtr mp = LoadTiny();
  const dllm_model* m = mp.get();
  const std::string text = "Hello world, hi there!\nok";
  const std::vector<int32_t> plain = Tokenize(m, text, 0);
  REQUIRE(!plain.empty());
  CHECK(plain.front() != 2);
  const std::vector<int32_t> with_bos = Tokenize(m, text, DLLM_TOKENIZE_ADD_BOS);
  REQUIRE(with_bos.size() == plain.size() + 1);
  CHECK(with_bos.front() == 2);
  CHECK(Detokenize(m, plain, 0) == text);
  CHECK(Detokenize(m, with_bos, 0) == text);  // control tokens produce no text by default
  CHECK(Detokenize(m, with_bos, DLLM_DETOKENIZE_RENDER_SPECIAL) == "<bos>" + text);
  CHECK(Detokenize(m, {}, 0).empty());

  // Special-token parsing.
  const std::vector<int32_t> special = Tokenize(m, "<|turn>hi", DLLM_TOKENIZE_PARSE_SPECIAL);
  REQUIRE(!special.empty());
  CHECK(special.front() == 5);  // <|turn> in the synthetic vocabulary
  const std::vector<int32_t> literal = Tokenize(m, "<|turn>hi", 0);
  CHECK(literal.front() != 5);
  CHECK(Detokenize(m, literal, 0) == "<|turn>hi");

  // NUL_TERMINATED and embedded NUL bytes.
  size_t n = 0;
  int32_t ids[64];
  REQUIRE(dllm_tokenize(m, "abc", DLLM_NUL_TERMINATED, 0, ids, 64, &n) == DLLM_OK);
  CHECK(n == Tokenize(m, "abc", 0).size());
  const std::string with_nul("a\0b", 3);
  REQUIRE(dllm_tokenize(m, with_nul.data(), with_nul.size(), 0, ids, 64, &n) == DLLM_OK);
  CHECK(Detokenize(m, std::vector<int32_t>(ids, ids + n), 0) == with_nul);

  // Empty text: no ids (or BOS alone); NULL is fine with length 0.
  REQUIRE(dllm_tokenize(m, nullptr, 0, 0, nullptr, 0, &n) == DLLM_OK);
  CHECK(n == 0);
  REQUIRE(dllm_tokenize(m, "", 0, DLLM_TOKENIZE_ADD_BOS, ids, 64, &n) == DLLM_OK);
  CHECK(n == 1);

  // Buffers too small: nothing written, the needed size reported.
  ids[0] = -7;
  REQUIRE(plain.size() > 2);
  CHECK(dllm_tokenize(m, text.data(), text.size(), 0, ids, 2, &n) ==
        DLLM_ERROR_BUFFER_TOO_SMALL);
  CHECK(n == plain.size());
  CHECK(ids[0] == -7);
  char buf[4] = {'x', 'x', 'x', 'x'};
  CHECK(dllm_detokenize(m, plain.data(), plain.size(), 0, buf, sizeof buf, &n) ==
        DLLM_ERROR_BUFFER_TOO_SMALL);
  CHECK(n == text.size());
  CHECK(buf[0] == 'x');
  CHECK(dllm_detokenize(m, plain.data(), plain.size(), 0, buf, 0, &n) ==
        DLLM_ERROR_BUFFER_TOO_SMALL);
  // Exactly the length is one byte short (the NUL).
  std::string exact(text.size(), '\0');
  CHECK(dllm_detokenize(m, plain.data(), plain.size(), 0, &exact[0], exact.size(), &n) ==
        DLLM_ERROR_BUFFER_TOO_SMALL);

  // Invalid input.
  CHECK(dllm_tokenize(m, "a\xff" "b", 3, 0, ids, 64, &n) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(dllm_last_error()).find("UTF-8") != std::string::npos);
  CHECK(dllm_tokenize(m, "\xe2\x82", 2, 0, ids, 64, &n) == DLLM_ERROR_INVALID_ARGUMENT);
  const int32_t bad_ids[] = {5, 512};
  CHECK(dllm_detokenize(m, bad_ids, 2, 0, buf, sizeof buf, &n) == DLLM_ERROR_INVALID_ARGUMENT);
  const int32_t negative[] = {-1};
  CHECK(dllm_detokenize(m, negative, 1, 0, buf, sizeof buf, &n) == DLLM_ERROR_INVALID_ARGUMENT);

  // Byte tokens join into UTF-8; a lone continuation byte becomes U+FFFD.
  const std::string euro = "\xe2\x82\xac";
  CHECK(Detokenize(m, Tokenize(m, euro, 0), 0) == euro);
  const std::vector<int32_t> lone = {10 + 0x82};  // <0x82>: byte tokens follow ids 0..9
  CHECK(Detokenize(m, lone, 0) == "\xef\xbf\xbd");
}

TEST_CASE("chat template") {
  capi_test::ModelPtr mp = LoadTiny();
  const dllm_model* m = mp.get();
  auto apply = [&](const std::vector<dllm_chat_message>& msgs, uint32_t flags) {
    size_t n = 0;
    const dllm_status st =
        dllm_chat_apply_template(m, msgs.data(), msgs.size(), flags, nullptr, 0, &n);
    REQUIRE(st == DLLM_ERROR_BUFFER_TOO_SMALL);
    std::string s(n + 1, '\0');
    REQUIRE(dllm_chat_apply_template(m, msgs.data(), msgs.size(), flags, &s[0], s.size(), &n) ==
            DLLM_OK);
    s.resize(n);
    return s;
  };
  CHECK(apply({{"user", "Why is the sky blue?"}}, 0) ==
        "<bos><|turn>user\nWhy is the sky blue?<turn|>\n<|turn>model\n"
        "<|channel>thought\n<channel|>");
  CHECK(apply({{"user", "Hi"}}, DLLM_CHAT_THINKING) ==
        "<bos><|turn>system\n<|think|>\n<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n");
  CHECK(apply({{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Bye"}},
              DLLM_CHAT_NO_GENERATION_PROMPT) ==
        "<bos><|turn>system\nBe brief.<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\nHello."
        "<turn|>\n<|turn>user\nBye<turn|>\n");
  // Earlier model turns lose their thought channel.
  CHECK(apply({{"user", "Q"}, {"assistant", "<|channel>thought\nhmm<channel|>A"}, {"user", "Q2"}},
              DLLM_CHAT_NO_GENERATION_PROMPT)
            .find("hmm") == std::string::npos);

  size_t n = 0;
  char buf[256];
  const dllm_chat_message bad_role[] = {{"robot", "x"}};
  CHECK(dllm_chat_apply_template(m, bad_role, 1, 0, buf, sizeof buf, &n) ==
        DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(dllm_last_error()).find("robot") != std::string::npos);
  const dllm_chat_message bad_utf8[] = {{"user", "a\xc3"}};
  CHECK(dllm_chat_apply_template(m, bad_utf8, 1, 0, buf, sizeof buf, &n) ==
        DLLM_ERROR_INVALID_ARGUMENT);
  // No messages: just the start and the generation prompt.
  CHECK(dllm_chat_apply_template(m, nullptr, 0, 0, buf, sizeof buf, &n) == DLLM_OK);
}

TEST_CASE("a model serves many threads at once") {
  capi_test::ModelPtr mp = LoadTiny();
  const dllm_model* m = mp.get();
  const std::string text = "the quick brown fox jumps over the lazy dog";
  const std::vector<int32_t> expected = Tokenize(m, text, DLLM_TOKENIZE_ADD_BOS);
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        int32_t ids[128];
        size_t n = 0;
        if (dllm_tokenize(m, text.data(), text.size(), DLLM_TOKENIZE_ADD_BOS, ids, 128, &n) !=
                DLLM_OK ||
            std::vector<int32_t>(ids, ids + n) != expected) {
          ++mismatches;
        }
        dllm_model_info info;
        info.struct_size = sizeof info;
        if (dllm_model_get_info(m, &info) != DLLM_OK) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(mismatches.load() == 0);
}

TEST_CASE("freed model handles are detected") {
  dllm_model* m = nullptr;
  REQUIRE(dllm_model_load(capi_test::TinyModelPath().c_str(), nullptr, &m) == DLLM_OK);
  REQUIRE(dllm_model_free(m) == DLLM_OK);
  dllm_model_info info;
  info.struct_size = sizeof info;
  CHECK(dllm_model_get_info(m, &info) == DLLM_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(dllm_last_error()).find("not a live") != std::string::npos);
  CHECK(dllm_model_free(m) == DLLM_ERROR_INVALID_ARGUMENT);  // double free
  dllm_session* s = nullptr;
  CHECK(dllm_session_create(m, nullptr, &s) == DLLM_ERROR_INVALID_ARGUMENT);
}
