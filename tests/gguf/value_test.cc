#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "gguf/value.h"
#include "raw_gguf.h"
#include "util/error.h"

using dllm::ErrorCode;
using dllm::gguf::Value;
using dllm::gguf::ValueType;
using dllm_test::Contains;
using dllm_test::ErrorMessage;

TEST_CASE("ValueType ids and names follow the GGUF format") {
  CHECK(static_cast<uint32_t>(ValueType::kUint8) == 0);
  CHECK(static_cast<uint32_t>(ValueType::kFloat32) == 6);
  CHECK(static_cast<uint32_t>(ValueType::kBool) == 7);
  CHECK(static_cast<uint32_t>(ValueType::kString) == 8);
  CHECK(static_cast<uint32_t>(ValueType::kArray) == 9);
  CHECK(static_cast<uint32_t>(ValueType::kFloat64) == 12);
  CHECK(dllm::gguf::ValueTypeName(ValueType::kUint32) == "UINT32");
  CHECK(dllm::gguf::ValueTypeName(13) == "unknown value type 13");
  CHECK(dllm::gguf::ValueTypeSize(ValueType::kInt16) == 2);
  CHECK(dllm::gguf::ValueTypeSize(ValueType::kString) == 0);
}

TEST_CASE("Scalar factories and checked conversions") {
  CHECK(Value::U8(200).AsU64() == 200);
  CHECK(Value::I8(-5).AsI64() == -5);
  CHECK(Value::I16(-32768).AsI64() == -32768);
  CHECK(Value::U16(65535).AsU32() == 65535);
  CHECK(Value::I32(std::numeric_limits<int32_t>::min()).AsI32() ==
        std::numeric_limits<int32_t>::min());
  CHECK(Value::U64(~0ull).AsU64() == ~0ull);
  CHECK(Value::I64(std::numeric_limits<int64_t>::min()).AsI64() ==
        std::numeric_limits<int64_t>::min());
  CHECK(Value::I32(7).AsU64() == 7);      // non-negative signed converts to unsigned
  CHECK(Value::U32(7).AsF64() == 7.0);    // integers convert to floating point
  CHECK(Value::F32(0.1f).AsF32() == 0.1f);
  CHECK(Value::F32(0.1f).AsF64() == static_cast<double>(0.1f));
  CHECK(Value::F64(1e300).AsF64() == 1e300);
  CHECK(Value::Bool(true).AsBool());
  CHECK_FALSE(Value::Bool(false).AsBool());
  CHECK(Value::Str("héllo").AsString() == "héllo");
  CHECK(Value::I8(-1).raw_bits() == 0xFF);  // stored as the file's bit pattern

  std::string m = ErrorMessage([] { Value::Str("x").AsU64(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "STRING"));
  CHECK(Contains(m, "unsigned integer"));
  m = ErrorMessage([] { Value::I32(-3).AsU64(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "INT32"));
  CHECK(Contains(m, "-3"));
  m = ErrorMessage([] { Value::U64(~0ull).AsI64(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "UINT64"));
  m = ErrorMessage([] { Value::U64(1ull << 32).AsU32(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "4294967296"));
  m = ErrorMessage([] { Value::I64(1ll << 40).AsI32(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "INT32"));
  m = ErrorMessage([] { Value::Bool(true).AsF64(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "BOOL"));
  m = ErrorMessage([] { Value::U8(1).AsBool(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "UINT8"));
  m = ErrorMessage([] { Value::F32(1).AsString(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "FLOAT32"));
  m = ErrorMessage([] { Value::F32(1).AsI64(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "FLOAT32"));
  ErrorMessage([] { Value::U8(1).size(); }, ErrorCode::kFormat);
}

TEST_CASE("Arrays keep their element type, nest, and convert in bulk") {
  Value empty = Value::Array(ValueType::kFloat64, {});
  CHECK(empty.type() == ValueType::kArray);
  CHECK(empty.array_type() == ValueType::kFloat64);
  CHECK(empty.size() == 0);
  CHECK(empty.AsF32Array().empty());
  CHECK(empty.Describe() == "ARRAY of 0 FLOAT64");

  Value strs = Value::StrArray({"a", "", "ü"});
  CHECK(strs.size() == 3);
  CHECK(strs[2].AsString() == "ü");
  CHECK(strs.AsStringArray() == std::vector<std::string>{"a", "", "ü"});
  std::string m = ErrorMessage([&] { strs.at(3); }, ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "3"));
  m = ErrorMessage([&] { strs.AsF32Array(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "ARRAY of 3 STRING"));

  Value ints = Value::I32Array({2, 2, -1});
  CHECK(ints.AsI64Array() == std::vector<int64_t>{2, 2, -1});
  CHECK(ints.AsF32Array() == std::vector<float>{2.f, 2.f, -1.f});
  Value bools = Value::BoolArray({true, false});
  CHECK(bools.AsBoolArray() == std::vector<bool>{true, false});
  ErrorMessage([&] { bools.AsI64Array(); }, ErrorCode::kFormat);
  Value big = Value::Array(ValueType::kUint64, {Value::U64(1), Value::U64(~0ull)});
  m = ErrorMessage([&] { big.AsI64Array(); }, ErrorCode::kFormat);
  CHECK(Contains(m, "element 1"));

  // Nested arrays: inner arrays may have different element types.
  Value nested = Value::Array(ValueType::kArray, {Value::U32Array({1, 2}), Value::StrArray({"x"}),
                                                  Value::Array(ValueType::kBool, {})});
  CHECK(nested.array_type() == ValueType::kArray);
  CHECK(nested[0][1].AsU32() == 2);
  CHECK(nested[1][0].AsString() == "x");
  CHECK(nested[2].array_type() == ValueType::kBool);

  // Mismatched element types are rejected.
  m = ErrorMessage([] { Value::Array(ValueType::kInt32, {Value::I32(1), Value::U32(2)}); },
                   ErrorCode::kInvalidArgument);
  CHECK(Contains(m, "element 1"));
  CHECK(Contains(m, "UINT32"));
  ErrorMessage([] { Value::Array(static_cast<ValueType>(13), {}); }, ErrorCode::kInvalidArgument);
}

TEST_CASE("Equality compares floats by bit pattern") {
  CHECK(Value::F32(NAN) == Value::F32(NAN));
  CHECK(Value::F32(0.0f) != Value::F32(-0.0f));
  CHECK(Value::U32(1) != Value::I32(1));
  CHECK(Value::Array(ValueType::kInt8, {}) != Value::Array(ValueType::kUint8, {}));
  CHECK(Value::StrArray({"a"}) == Value::StrArray({"a"}));
  CHECK(Value::U32Array({1, 2}).ToString() == "[1, 2]");
  CHECK(Value::I8(-3).ToString() == "-3");
}
