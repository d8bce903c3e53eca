#include <doctest/doctest.h>

#include <cstdint>

#include "util/error.h"

TEST_CASE("Error carries its code and message") {
  try {
    dllm::Throw(dllm::ErrorCode::kFormat, "bad magic");
    FAIL("Throw returned");
  } catch (const dllm::Error& e) {
    CHECK(e.code() == dllm::ErrorCode::kFormat);
    CHECK(std::string(e.what()) == "bad magic");
  }
  CHECK(std::string(dllm::ErrorCodeName(dllm::ErrorCode::kCancelled)) == "cancelled");
}

TEST_CASE("Checked arithmetic detects overflow") {
  uint64_t out = 0;
  CHECK(dllm::CheckedMul(1ull << 32, 1ull << 31, &out));
  CHECK(out == (1ull << 63));
  CHECK_FALSE(dllm::CheckedMul(1ull << 32, 1ull << 32, &out));
  CHECK(dllm::CheckedAdd(~0ull - 1, 1, &out));
  CHECK_FALSE(dllm::CheckedAdd(~0ull, 1, &out));
}
