// Scalar reference implementations (dllm::kernels::ref): the test oracles of the SIMD kernels.
// Written for obviousness, not speed: every accumulation and transcendental is in double and
// each result is rounded to float once at the end.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/kernels.h"

namespace dllm::kernels::ref {
namespace {

constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;  // √(2/π)
constexpr double kGeluCubic = 0.044715;

}  // namespace

void RmsNorm(const float* x, const float* w, float* y, size_t n, float eps) {
  if (n == 0) return;
  double ss = 0.0;
  for (size_t i = 0; i < n; ++i) ss += static_cast<double>(x[i]) * x[i];
  const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + eps);
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i] * scale * (w ? static_cast<double>(w[i]) : 1.0);
    y[i] = static_cast<float>(v);
  }
}

void RmsNormRows(float* x, size_t rows, size_t n, size_t stride, const float* w, float eps) {
  for (size_t r = 0; r < rows; ++r) RmsNorm(x + r * stride, w, x + r * stride, n, eps);
}

void RopeNeox(float* x, size_t head_dim, size_t n_heads, const float* cos, const float* sin) {
  const size_t half = head_dim / 2;
  for (size_t h = 0; h < n_heads; ++h) {
    float* p = x + h * head_dim;
    for (size_t j = 0; j < half; ++j) {
      const double a = p[j], b = p[j + half], c = cos[j], s = sin[j];
      p[j] = static_cast<float>(a * c - b * s);
      p[j + half] = static_cast<float>(b * c + a * s);
    }
  }
}

void RopeTable(int64_t position, size_t head_dim, float theta, const float* freq_divisors,
               float* cos, float* sin) {
  const size_t half = head_dim / 2;
  for (size_t j = 0; j < half; ++j) {
    const double exponent = -2.0 * static_cast<double>(j) / static_cast<double>(head_dim);
    double omega = std::pow(static_cast<double>(theta), exponent);
    if (freq_divisors) omega /= static_cast<double>(freq_divisors[j]);
    const double phi = static_cast<double>(position) * omega;
    if (std::fabs(phi) < 1e-20) {  // documented: tiny angles are exactly the identity
      cos[j] = 1.0f;
      sin[j] = 0.0f;
    } else {
      cos[j] = static_cast<float>(std::cos(phi));
      sin[j] = static_cast<float>(std::sin(phi));
    }
  }
}

void GeluTanhMul(const float* g, const float* u, float* y, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double x = g[i];
    const double gelu = 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + kGeluCubic * x * x * x)));
    y[i] = static_cast<float>(gelu * u[i]);
  }
}

void SoftCap(float* x, size_t n, float cap) {
  for (size_t i = 0; i < n; ++i) {
    x[i] = static_cast<float>(cap * std::tanh(static_cast<double>(x[i]) / cap));
  }
}

void Softmax(float* x, size_t n) {
  if (n == 0) return;
  float m = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  if (m == -std::numeric_limits<float>::infinity()) {
    std::fill(x, x + n, 0.0f);
    return;
  }
  std::vector<double> e(n);
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += e[i] = std::exp(static_cast<double>(x[i]) - m);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(e[i] / sum);
}

void AddScaled(float* y, const float* x, float a, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    y[i] = static_cast<float>(y[i] + static_cast<double>(a) * x[i]);
  }
}

void Scale(float* x, float a, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] *= a;
}

float Dot(const float* a, const float* b, size_t n) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(sum);
}

RowStats SampleRow(const float* raw, size_t n, float inv_t, float u, bool argmax_only,
                   float* probs_out) {
  const float kNaN = std::numeric_limits<float>::quiet_NaN();
  if (n == 0) return {-1, -1, kNaN};
  // Step 1: z in float32, as specified.
  std::vector<float> z(n);
  for (size_t v = 0; v < n; ++v) z[v] = raw[v] * inv_t;
  // Step 2: max and the lowest index of it.
  float m = -std::numeric_limits<float>::infinity();
  size_t argmax = 0;
  for (size_t v = 0; v < n; ++v) {
    if (z[v] > m) {
      m = z[v];
      argmax = v;
    }
  }
  if (!(m > -std::numeric_limits<float>::infinity())) {
    if (probs_out) std::fill(probs_out, probs_out + n, kNaN);
    return {0, 0, kNaN};
  }
  // e_v, S and Σ e_v (z_v − m) in double. The entries equal to the maximum (e = 1 exactly)
  // are counted apart so that log S = log(n_max) + log1p(rest / n_max) keeps the relative
  // precision of small entropies.
  std::vector<double> e(n);
  double n_max = 0.0, rest = 0.0, weighted = 0.0;
  for (size_t v = 0; v < n; ++v) {
    const double dz = static_cast<double>(z[v]) - m;
    e[v] = std::exp(dz);
    if (z[v] == m) {
      n_max += 1.0;
    } else if (e[v] > 0.0) {
      rest += e[v];
      weighted += e[v] * dz;
    }
  }
  const double s = n_max + rest;
  const double entropy = std::log(n_max) + std::log1p(rest / n_max) - weighted / s;
  if (probs_out) {
    for (size_t v = 0; v < n; ++v) probs_out[v] = static_cast<float>(e[v] / s);
  }
  RowStats stats{static_cast<int32_t>(argmax), static_cast<int32_t>(argmax),
                 static_cast<float>(entropy)};
  if (argmax_only) return stats;
  // Step 3: inverse CDF with threshold u·S, fallback to the last nonzero e_v.
  const double threshold = static_cast<double>(u) * s;
  double cum = 0.0;
  for (size_t v = 0; v < n; ++v) {
    cum += e[v];
    if (cum > threshold) {
      stats.sample = static_cast<int32_t>(v);
      return stats;
    }
  }
  for (size_t v = n; v-- > 0;) {
    if (e[v] > 0.0) {
      stats.sample = static_cast<int32_t>(v);
      break;
    }
  }
  return stats;
}

void EntropyBoundAccept(const float* entropy, size_t n, double bound, uint8_t* accepted) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  // (H, index) ascending, NaN after every number.
  std::sort(order.begin(), order.end(), [entropy](size_t a, size_t b) {
    const bool na = std::isnan(entropy[a]), nb = std::isnan(entropy[b]);
    if (na != nb) return nb;
    if (!na && entropy[a] != entropy[b]) return entropy[a] < entropy[b];
    return a < b;
  });
  double prefix = 0.0;
  for (size_t k = 0; k < n; ++k) {
    accepted[order[k]] = (k == 0 || prefix <= bound) ? 1 : 0;
    prefix += static_cast<double>(entropy[order[k]]);
  }
}

}  // namespace dllm::kernels::ref
