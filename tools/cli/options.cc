#include "options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace cli {
namespace {

const char kUsage[] =
    "usage: dllm-cli <command> -m MODEL.gguf [options]\n"
    "\n"
    "commands:\n"
    "  generate   generate from a prompt (-p/-f), streaming text as canvases commit\n"
    "  chat       interactive multi-turn chat (the session keeps its cache across turns)\n"
    "  info       architecture, dimensions, layers, tensor types, parameters, memory\n"
    "\n"
    "options:\n"
    "  -m, --model PATH         GGUF model file (required)\n"
    "  -p, --prompt TEXT        prompt (generate)\n"
    "  -f, --file PATH          read the prompt from a file (generate)\n"
    "      --chat               generate: wrap the prompt in the chat template as a user turn\n"
    "      --system TEXT        chat / --chat: system message\n"
    "      --think              chat / --chat: let the model think first (thought channel)\n"
    "  -n, --n-predict N        most tokens to generate (default 4096)\n"
    "  -c, --ctx-size N         context size in tokens (default: the model's)\n"
    "  -t, --threads N          threads (default: all cores)\n"
    "  -s, --seed N             RNG seed (default 0; generation is deterministic)\n"
    "      --temp T             temperature of the first step; the schedule keeps its shape\n"
    "                           (t_min scales by T / t_max). --temp 0 means --argmax\n"
    "      --t-min T, --t-max T the temperature schedule's ends (override --temp)\n"
    "      --steps N            most denoising steps per canvas\n"
    "      --entropy-bound X    nats of entropy accepted per step\n"
    "      --stability N        unchanged-argmax steps needed to stop a canvas early\n"
    "      --confidence X       mean entropy below which a stable canvas stops\n"
    "      --sc-threshold X     truncated self-conditioning: leave out probabilities <= X\n"
    "                           (default 0 = exact)\n"
    "      --fixed-steps        always run --steps steps per canvas\n"
    "      --argmax             accepted positions take the argmax (no sampling)\n"
    "      --stop-id ID         end generation at this id (repeatable; default: the model's)\n"
    "      --visual             live view of the canvas being denoised (ANSI terminal)\n"
    "      --raw                print control tokens too (the raw transcript)\n"
    "      --no-metrics         do not print timing to stderr\n"
    "      --no-mmap            read the model into memory instead of mapping it\n"
    "  -v, --verbose            log to stderr (-v info, -vv debug)\n"
    "  -h, --help               this help\n";

bool ParseInt64(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end) return false;
  *out = v;
  return true;
}

bool ParseFloat(const std::string& s, float* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const float v = std::strtof(s.c_str(), &end);
  if (errno || *end) return false;
  *out = v;
  return true;
}

}  // namespace

dllm::SamplerSettings Options::Sampler(const dllm::Model& model) const {
  dllm::SamplerSettings s;
  if (temp) {
    if (*temp <= 0) {
      s.Argmax(true);
    } else {
      const dllm_sampler_params d = model.SamplerDefaults();
      s.TMax(*temp).TMin(d.t_max > 0 ? *temp * d.t_min / d.t_max : *temp);
    }
  }
  if (t_min) s.TMin(*t_min);
  if (t_max) s.TMax(*t_max);
  if (steps) s.MaxSteps(*steps);
  if (stability) s.StabilityThreshold(*stability);
  if (entropy_bound) s.EntropyBound(*entropy_bound);
  if (confidence) s.ConfidenceThreshold(*confidence);
  if (sc_threshold) s.ScThreshold(*sc_threshold);
  if (seed) s.Seed(*seed);
  if (n_predict && *n_predict > 0) s.MaxNewTokens(*n_predict);
  if (!stop_ids.empty()) s.StopIds(stop_ids);
  if (fixed_steps) s.FixedSteps(true);
  if (argmax) s.Argmax(true);
  return s;
}

std::optional<Options> ParseOptions(int argc, char** argv, int* exit_code) {
  Options o;
  auto usage_error = [&](const std::string& msg) -> std::optional<Options> {
    std::fprintf(stderr, "dllm-cli: %s\n\n%s", msg.c_str(), kUsage);
    *exit_code = 2;
    return std::nullopt;
  };
  if (argc < 2) return usage_error("missing command");
  o.command = argv[1];
  if (o.command == "-h" || o.command == "--help") {
    std::fputs(kUsage, stdout);
    *exit_code = 0;
    return std::nullopt;
  }
  if (o.command != "generate" && o.command != "chat" && o.command != "info") {
    return usage_error("unknown command '" + o.command + "'");
  }
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    std::string v;
    auto value = [&]() -> bool {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    auto need = [&](const char* what) { return usage_error(a + " needs " + what); };
    int64_t n = 0;
    float f = 0;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      *exit_code = 0;
      return std::nullopt;
    } else if (a == "-m" || a == "--model") {
      if (!value()) return need("a path");
      o.model = v;
    } else if (a == "-p" || a == "--prompt") {
      if (!value()) return need("text");
      o.prompt = v;
      o.have_prompt = true;
    } else if (a == "-f" || a == "--file") {
      if (!value()) return need("a path");
      std::ifstream in(v, std::ios::binary);
      if (!in) return usage_error("cannot read prompt file '" + v + "'");
      std::ostringstream ss;
      ss << in.rdbuf();
      o.prompt = ss.str();
      o.have_prompt = true;
    } else if (a == "--system") {
      if (!value()) return need("text");
      o.system = v;
    } else if (a == "--chat") {
      o.chat = true;
    } else if (a == "--think") {
      o.think = true;
    } else if (a == "--visual") {
      o.visual = true;
    } else if (a == "--raw") {
      o.raw = true;
    } else if (a == "--no-metrics") {
      o.metrics = false;
    } else if (a == "--no-mmap") {
      o.no_mmap = true;
    } else if (a == "-v" || a == "--verbose") {
      ++o.verbosity;
    } else if (a == "-vv") {
      o.verbosity += 2;
    } else if (a == "--fixed-steps") {
      o.fixed_steps = true;
    } else if (a == "--argmax") {
      o.argmax = true;
    } else if (a == "-n" || a == "--n-predict" || a == "-c" || a == "--ctx-size" ||
               a == "-t" || a == "--threads" || a == "-s" || a == "--seed" || a == "--steps" ||
               a == "--stability" || a == "--stop-id") {
      if (!value() || !ParseInt64(v, &n)) return need("an integer");
      if (a == "-n" || a == "--n-predict") o.n_predict = n;
      else if (a == "-c" || a == "--ctx-size") o.n_ctx = n;
      else if (a == "-t" || a == "--threads") o.threads = static_cast<int>(n);
      else if (a == "-s" || a == "--seed") o.seed = static_cast<uint64_t>(n);
      else if (a == "--steps") o.steps = static_cast<int>(n);
      else if (a == "--stability") o.stability = static_cast<int>(n);
      else o.stop_ids.push_back(static_cast<int32_t>(n));
    } else if (a == "--temp" || a == "--t-min" || a == "--t-max" || a == "--entropy-bound" ||
               a == "--confidence" || a == "--sc-threshold") {
      if (!value() || !ParseFloat(v, &f)) return need("a number");
      if (a == "--temp") o.temp = f;
      else if (a == "--t-min") o.t_min = f;
      else if (a == "--t-max") o.t_max = f;
      else if (a == "--entropy-bound") o.entropy_bound = f;
      else if (a == "--sc-threshold") o.sc_threshold = f;
      else o.confidence = f;
    } else {
      return usage_error("unknown option '" + a + "'");
    }
  }
  if (o.model.empty()) return usage_error("-m MODEL is required");
  if (o.command == "generate" && !o.have_prompt) return usage_error("generate needs -p or -f");
  return o;
}

}  // namespace cli
