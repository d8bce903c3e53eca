#include "gguf/types.h"

#include "util/error.h"

namespace dllm {
namespace {

struct Entry {
  uint32_t id;
  GgmlTypeTraits traits;
};

// Geometry from the GGUF/ggml format definition. Types dllm cannot compute with are still listed
// so a reader can validate their sizes and name them in errors.
constexpr Entry kTypes[] = {
    {0, {"F32", 1, 4}},        {1, {"F16", 1, 2}},         {2, {"Q4_0", 32, 18}},
    {3, {"Q4_1", 32, 20}},     {6, {"Q5_0", 32, 22}},      {7, {"Q5_1", 32, 24}},
    {8, {"Q8_0", 32, 34}},     {9, {"Q8_1", 32, 36}},      {10, {"Q2_K", 256, 84}},
    {11, {"Q3_K", 256, 110}},  {12, {"Q4_K", 256, 144}},   {13, {"Q5_K", 256, 176}},
    {14, {"Q6_K", 256, 210}},  {15, {"Q8_K", 256, 292}},   {16, {"IQ2_XXS", 256, 66}},
    {17, {"IQ2_XS", 256, 74}}, {18, {"IQ3_XXS", 256, 98}}, {19, {"IQ1_S", 256, 50}},
    {20, {"IQ4_NL", 32, 18}},  {21, {"IQ3_S", 256, 110}},  {22, {"IQ2_S", 256, 82}},
    {23, {"IQ4_XS", 256, 136}}, {24, {"I8", 1, 1}},        {25, {"I16", 1, 2}},
    {26, {"I32", 1, 4}},       {27, {"I64", 1, 8}},        {28, {"F64", 1, 8}},
    {29, {"IQ1_M", 256, 56}},  {30, {"BF16", 1, 2}},       {34, {"TQ1_0", 256, 54}},
    {35, {"TQ2_0", 256, 66}},  {39, {"MXFP4", 32, 17}},
};

}  // namespace

const GgmlTypeTraits* FindGgmlType(uint32_t id) {
  for (const Entry& e : kTypes) {
    if (e.id == id) return &e.traits;
  }
  return nullptr;
}

std::string GgmlTypeName(uint32_t id) {
  const GgmlTypeTraits* t = FindGgmlType(id);
  return t ? std::string(t->name) : "unknown type " + std::to_string(id);
}

bool GgmlRowBytes(uint32_t type_id, uint64_t n, uint64_t* bytes) {
  const GgmlTypeTraits* t = FindGgmlType(type_id);
  if (t == nullptr || n % t->block_size != 0) return false;
  return CheckedMul(n / t->block_size, t->type_size, bytes);
}

}  // namespace dllm
