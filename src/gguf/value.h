// GGUF metadata values: the 13 value types of the format and a self-contained Value that owns its
// data (scalars, strings, arrays of any element type including nested arrays).
//
// A Value is immutable after construction (factories below) and cheap to read from any number of
// threads. Scalars keep their exact bit pattern, so a file read and written back is byte-identical
// (float NaN payloads and -0.0 included).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "util/error.h"  // dllm::Error, thrown by every fallible call here

namespace dllm {
namespace gguf {

// Ids are fixed by the GGUF format.
enum class ValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// True for ids 0..12.
bool IsValidValueType(uint32_t id);
// "UINT32", "STRING", ...; "unknown value type 13" for other ids.
std::string ValueTypeName(uint32_t id);
inline std::string ValueTypeName(ValueType t) { return ValueTypeName(static_cast<uint32_t>(t)); }
// Bytes one value of a fixed-size scalar type occupies in a file (1, 2, 4 or 8); 0 for STRING and
// ARRAY (variable size) and for unknown ids.
uint32_t ValueTypeSize(ValueType t);

class Value {
 public:
  // Scalar factories.
  static Value U8(uint8_t v);
  static Value I8(int8_t v);
  static Value U16(uint16_t v);
  static Value I16(int16_t v);
  static Value U32(uint32_t v);
  static Value I32(int32_t v);
  static Value U64(uint64_t v);
  static Value I64(int64_t v);
  static Value F32(float v);
  static Value F64(double v);
  static Value Bool(bool v);
  static Value Str(std::string v);
  // An array whose elements all have type `elem_type` (which may itself be kArray: nested arrays
  // may mix element types between the inner arrays). Throws Error(kInvalidArgument) when an
  // element's type differs from elem_type. An empty array keeps its element type.
  static Value Array(ValueType elem_type, std::vector<Value> elems);
  // Convenience builders for homogeneous arrays.
  static Value StrArray(const std::vector<std::string>& v);
  static Value F32Array(const std::vector<float>& v);
  static Value I32Array(const std::vector<int32_t>& v);
  static Value U32Array(const std::vector<uint32_t>& v);
  static Value BoolArray(const std::vector<bool>& v);

  ValueType type() const { return type_; }
  bool is_array() const { return type_ == ValueType::kArray; }
  // "UINT32", "STRING", "ARRAY of 6 INT32" — used in error messages.
  std::string Describe() const;
  // Short human-readable rendering (arrays show at most `max_elems` elements), for tools and logs.
  std::string ToString(size_t max_elems = 8) const;

  // Array accessors. All throw Error(kFormat) when this is not an array; at()/operator[] throw
  // Error(kInvalidArgument) when the index is out of range.
  ValueType array_type() const;
  size_t size() const;
  const Value& at(size_t i) const;
  const Value& operator[](size_t i) const { return at(i); }
  const std::vector<Value>& elements() const;

  // Checked conversions; each throws Error(kFormat) naming the found type (or the value that does
  // not fit). Callers add the key name (see File::GetU32 and friends).
  uint64_t AsU64() const;  // any integer type holding a non-negative value
  int64_t AsI64() const;   // any integer type whose value fits int64
  uint32_t AsU32() const;  // any integer type holding a value in [0, 2^32)
  int32_t AsI32() const;   // any integer type holding a value that fits int32
  double AsF64() const;    // any integer or float type (not BOOL)
  float AsF32() const;     // AsF64 rounded to float (exact for FLOAT32 values)
  bool AsBool() const;     // BOOL only
  const std::string& AsString() const;  // STRING only

  // Bulk conversions of arrays; element conversion rules as above.
  std::vector<std::string> AsStringArray() const;  // ARRAY of STRING
  std::vector<float> AsF32Array() const;           // ARRAY of any numeric type
  std::vector<int64_t> AsI64Array() const;         // ARRAY of any integer type
  std::vector<bool> AsBoolArray() const;           // ARRAY of BOOL

  // Raw scalar bits as stored in the file (zero-extended little-endian pattern); 0 for STRING and
  // ARRAY. The writer uses this to reproduce values bit-exactly.
  uint64_t raw_bits() const { return bits_; }

  // Structural equality; floats compare by bit pattern (NaN == NaN with the same bits, -0 != +0).
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  Value(ValueType type, uint64_t bits) : type_(type), bits_(bits) {}

  ValueType type_;
  ValueType elem_type_ = ValueType::kUint8;  // meaningful only when type_ == kArray
  uint64_t bits_ = 0;                        // scalar payload
  std::string str_;                          // kString payload
  std::vector<Value> elems_;                 // kArray payload

  friend class ValueDecoder;  // the reader builds scalars from raw bits
};

// Internal hook for the reader: builds a scalar Value of `type` from its raw little-endian bits.
class ValueDecoder {
 public:
  static Value Scalar(ValueType type, uint64_t bits) { return Value(type, bits); }
};

}  // namespace gguf
}  // namespace dllm
