// Reading golden tensors written by the numpy reference (tests/data/golden/README.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "gguf/gguf.h"

namespace dllm::test {

class Golden {
 public:
  explicit Golden(const std::string& path) : f_(gguf::File::Open(path)) {}

  bool Has(const std::string& name) const { return f_->FindTensor(name) != nullptr; }

  std::vector<float> F32(const std::string& name) const {
    const gguf::TensorInfo& t = Get(name, 0);
    std::vector<float> v(t.n_elements);
    std::memcpy(v.data(), t.data, t.n_bytes);
    return v;
  }
  std::vector<int32_t> I32(const std::string& name) const {
    const gguf::TensorInfo& t = Get(name, 26);
    std::vector<int32_t> v(t.n_elements);
    std::memcpy(v.data(), t.data, t.n_bytes);
    return v;
  }
  const gguf::File& file() const { return *f_; }

 private:
  const gguf::TensorInfo& Get(const std::string& name, uint32_t type) const {
    const gguf::TensorInfo* t = f_->FindTensor(name);
    if (!t) FAIL("golden tensor '" << name << "' missing");
    REQUIRE(t->type_id == type);
    return *t;
  }
  std::unique_ptr<gguf::File> f_;
};

// Largest |a - b| and the largest |b|.
struct Diff {
  double max_abs = 0, max_ref = 0;
  double rel() const { return max_ref > 0 ? max_abs / max_ref : max_abs; }
};
inline Diff Compare(const float* a, const std::vector<float>& b) {
  Diff d;
  for (size_t i = 0; i < b.size(); ++i) {
    d.max_abs = std::max(d.max_abs, std::fabs(static_cast<double>(a[i]) - b[i]));
    d.max_ref = std::max(d.max_ref, std::fabs(static_cast<double>(b[i])));
  }
  return d;
}

}  // namespace dllm::test
