#include "gguf/value.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <utility>

#include "util/error.h"

namespace dllm {
namespace gguf {
namespace {

bool IsUnsignedInt(ValueType t) {
  return t == ValueType::kUint8 || t == ValueType::kUint16 || t == ValueType::kUint32 ||
         t == ValueType::kUint64;
}
bool IsSignedInt(ValueType t) {
  return t == ValueType::kInt8 || t == ValueType::kInt16 || t == ValueType::kInt32 ||
         t == ValueType::kInt64;
}
bool IsInt(ValueType t) { return IsUnsignedInt(t) || IsSignedInt(t); }
bool IsFloat(ValueType t) { return t == ValueType::kFloat32 || t == ValueType::kFloat64; }

// Sign-extends the stored pattern of a signed type of the given byte width.
int64_t SignExtend(uint64_t bits, uint32_t width) {
  if (width == 8) {
    int64_t v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  const uint64_t sign = uint64_t{1} << (8 * width - 1);
  // (bits ^ sign) - sign sign-extends without relying on implementation-defined shifts.
  const uint64_t ext = (bits ^ sign) - sign;
  int64_t v;
  std::memcpy(&v, &ext, 8);
  return v;
}

float BitsToF32(uint64_t bits) {
  const uint32_t b = static_cast<uint32_t>(bits);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
double BitsToF64(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, 8);
  return d;
}

[[noreturn]] void WrongType(const char* expected, const Value& v) {
  Throw(ErrorCode::kFormat, std::string("expected ") + expected + ", found " + v.Describe());
}

}  // namespace

bool IsValidValueType(uint32_t id) { return id <= 12; }

std::string ValueTypeName(uint32_t id) {
  static const char* const kNames[] = {"UINT8",   "INT8",  "UINT16", "INT16",  "UINT32",
                                       "INT32",   "FLOAT32", "BOOL", "STRING", "ARRAY",
                                       "UINT64",  "INT64", "FLOAT64"};
  if (IsValidValueType(id)) return kNames[id];
  return "unknown value type " + std::to_string(id);
}

uint32_t ValueTypeSize(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool:
      return 1;
    case ValueType::kUint16:
    case ValueType::kInt16:
      return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32:
      return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64:
      return 8;
    case ValueType::kString:
    case ValueType::kArray:
      return 0;
  }
  return 0;
}

Value Value::U8(uint8_t v) { return Value(ValueType::kUint8, v); }
Value Value::I8(int8_t v) { return Value(ValueType::kInt8, static_cast<uint8_t>(v)); }
Value Value::U16(uint16_t v) { return Value(ValueType::kUint16, v); }
Value Value::I16(int16_t v) { return Value(ValueType::kInt16, static_cast<uint16_t>(v)); }
Value Value::U32(uint32_t v) { return Value(ValueType::kUint32, v); }
Value Value::I32(int32_t v) { return Value(ValueType::kInt32, static_cast<uint32_t>(v)); }
Value Value::U64(uint64_t v) { return Value(ValueType::kUint64, v); }
Value Value::I64(int64_t v) { return Value(ValueType::kInt64, static_cast<uint64_t>(v)); }
Value Value::F32(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return Value(ValueType::kFloat32, b);
}
Value Value::F64(double v) {
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return Value(ValueType::kFloat64, b);
}
Value Value::Bool(bool v) { return Value(ValueType::kBool, v ? 1 : 0); }
Value Value::Str(std::string v) {
  Value r(ValueType::kString, 0);
  r.str_ = std::move(v);
  return r;
}

Value Value::Array(ValueType elem_type, std::vector<Value> elems) {
  if (!IsValidValueType(static_cast<uint32_t>(elem_type))) {
    Throw(ErrorCode::kInvalidArgument,
          "array element type " + ValueTypeName(elem_type) + " is not a GGUF value type");
  }
  for (size_t i = 0; i < elems.size(); ++i) {
    if (elems[i].type_ != elem_type) {
      Throw(ErrorCode::kInvalidArgument, "array of " + ValueTypeName(elem_type) + ": element " +
                                             std::to_string(i) + " is " + elems[i].Describe());
    }
  }
  Value r(ValueType::kArray, 0);
  r.elem_type_ = elem_type;
  r.elems_ = std::move(elems);
  return r;
}

Value Value::StrArray(const std::vector<std::string>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (const std::string& s : v) e.push_back(Str(s));
  return Array(ValueType::kString, std::move(e));
}
Value Value::F32Array(const std::vector<float>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (float x : v) e.push_back(F32(x));
  return Array(ValueType::kFloat32, std::move(e));
}
Value Value::I32Array(const std::vector<int32_t>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (int32_t x : v) e.push_back(I32(x));
  return Array(ValueType::kInt32, std::move(e));
}
Value Value::U32Array(const std::vector<uint32_t>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (uint32_t x : v) e.push_back(U32(x));
  return Array(ValueType::kUint32, std::move(e));
}
Value Value::BoolArray(const std::vector<bool>& v) {
  std::vector<Value> e;
  e.reserve(v.size());
  for (bool x : v) e.push_back(Bool(x));
  return Array(ValueType::kBool, std::move(e));
}

std::string Value::Describe() const {
  if (type_ != ValueType::kArray) return ValueTypeName(type_);
  return "ARRAY of " + std::to_string(elems_.size()) + " " + ValueTypeName(elem_type_);
}

std::string Value::ToString(size_t max_elems) const {
  std::ostringstream os;
  switch (type_) {
    case ValueType::kString:
      os << '"' << str_ << '"';
      break;
    case ValueType::kBool:
      os << (bits_ ? "true" : "false");
      break;
    case ValueType::kFloat32:
      os.precision(9);
      os << BitsToF32(bits_);
      break;
    case ValueType::kFloat64:
      os.precision(17);
      os << BitsToF64(bits_);
      break;
    case ValueType::kArray: {
      os << '[';
      for (size_t i = 0; i < elems_.size() && i < max_elems; ++i) {
        if (i) os << ", ";
        os << elems_[i].ToString(max_elems);
      }
      if (elems_.size() > max_elems) os << ", ... (" << elems_.size() << " elements)";
      os << ']';
      break;
    }
    default:
      if (IsUnsignedInt(type_)) {
        os << bits_;
      } else {
        os << AsI64();
      }
  }
  return os.str();
}

ValueType Value::array_type() const {
  if (type_ != ValueType::kArray) WrongType("an ARRAY", *this);
  return elem_type_;
}

size_t Value::size() const { return elements().size(); }

const Value& Value::at(size_t i) const {
  const std::vector<Value>& e = elements();
  if (i >= e.size()) {
    Throw(ErrorCode::kInvalidArgument, "array index " + std::to_string(i) +
                                           " out of range for " + Describe());
  }
  return e[i];
}

const std::vector<Value>& Value::elements() const {
  if (type_ != ValueType::kArray) WrongType("an ARRAY", *this);
  return elems_;
}

uint64_t Value::AsU64() const {
  if (IsUnsignedInt(type_)) return bits_;
  if (IsSignedInt(type_)) {
    const int64_t v = AsI64();
    if (v < 0) {
      Throw(ErrorCode::kFormat, "expected a non-negative integer, found " + Describe() +
                                    " value " + std::to_string(v));
    }
    return static_cast<uint64_t>(v);
  }
  WrongType("an unsigned integer", *this);
}

int64_t Value::AsI64() const {
  if (IsSignedInt(type_)) return SignExtend(bits_, ValueTypeSize(type_));
  if (IsUnsignedInt(type_)) {
    if (bits_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      Throw(ErrorCode::kFormat,
            Describe() + " value " + std::to_string(bits_) + " does not fit in INT64");
    }
    return static_cast<int64_t>(bits_);
  }
  WrongType("an integer", *this);
}

uint32_t Value::AsU32() const {
  const uint64_t v = AsU64();
  if (v > std::numeric_limits<uint32_t>::max()) {
    Throw(ErrorCode::kFormat, Describe() + " value " + std::to_string(v) + " does not fit in UINT32");
  }
  return static_cast<uint32_t>(v);
}

int32_t Value::AsI32() const {
  const int64_t v = AsI64();
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
    Throw(ErrorCode::kFormat, Describe() + " value " + std::to_string(v) + " does not fit in INT32");
  }
  return static_cast<int32_t>(v);
}

double Value::AsF64() const {
  if (type_ == ValueType::kFloat32) return BitsToF32(bits_);
  if (type_ == ValueType::kFloat64) return BitsToF64(bits_);
  if (IsUnsignedInt(type_)) return static_cast<double>(bits_);
  if (IsSignedInt(type_)) return static_cast<double>(AsI64());
  WrongType("a number", *this);
}

float Value::AsF32() const {
  if (type_ == ValueType::kFloat32) return BitsToF32(bits_);
  return static_cast<float>(AsF64());
}

bool Value::AsBool() const {
  if (type_ != ValueType::kBool) WrongType("a BOOL", *this);
  return bits_ != 0;
}

const std::string& Value::AsString() const {
  if (type_ != ValueType::kString) WrongType("a STRING", *this);
  return str_;
}

std::vector<std::string> Value::AsStringArray() const {
  if (type_ != ValueType::kArray || elem_type_ != ValueType::kString) {
    WrongType("an ARRAY of STRING", *this);
  }
  std::vector<std::string> out;
  out.reserve(elems_.size());
  for (const Value& v : elems_) out.push_back(v.str_);
  return out;
}

std::vector<float> Value::AsF32Array() const {
  if (type_ != ValueType::kArray || !(IsInt(elem_type_) || IsFloat(elem_type_))) {
    WrongType("an ARRAY of numbers", *this);
  }
  std::vector<float> out;
  out.reserve(elems_.size());
  for (const Value& v : elems_) out.push_back(v.AsF32());
  return out;
}

std::vector<int64_t> Value::AsI64Array() const {
  if (type_ != ValueType::kArray || !IsInt(elem_type_)) WrongType("an ARRAY of integers", *this);
  std::vector<int64_t> out;
  out.reserve(elems_.size());
  for (size_t i = 0; i < elems_.size(); ++i) {
    try {
      out.push_back(elems_[i].AsI64());
    } catch (const Error& e) {
      Throw(e.code(), "array element " + std::to_string(i) + ": " + e.what());
    }
  }
  return out;
}

std::vector<bool> Value::AsBoolArray() const {
  if (type_ != ValueType::kArray || elem_type_ != ValueType::kBool) {
    WrongType("an ARRAY of BOOL", *this);
  }
  std::vector<bool> out;
  out.reserve(elems_.size());
  for (const Value& v : elems_) out.push_back(v.bits_ != 0);
  return out;
}

bool Value::operator==(const Value& other) const {
  if (type_ != other.type_ || bits_ != other.bits_) return false;
  if (type_ == ValueType::kString) return str_ == other.str_;
  if (type_ == ValueType::kArray) {
    return elem_type_ == other.elem_type_ && elems_ == other.elems_;
  }
  return true;
}

}  // namespace gguf
}  // namespace dllm
