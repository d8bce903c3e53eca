// Leftmost-longest matching of whole-token strings (control and user-defined tokens) in raw
// text, as the reference tokenizers' added-token splitters do: scanning left to right, the
// first position where any token matches wins, and there the longest token.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace dllm::tokenizer {

class SpecialMatcher {
 public:
  SpecialMatcher();

  // Adds a token string (non-empty). `control` tokens match only when FindNext is asked to
  // allow them. Adding the same string again replaces its id and kind.
  void Add(std::string_view piece, int32_t id, bool control);
  bool empty() const { return count_ == 0; }

  struct Match {
    size_t pos = 0;
    size_t len = 0;
    int32_t id = -1;
  };
  // Finds the leftmost-longest match in text[from, end). Returns false if there is none.
  // Time: O((end - from) * depth of the longest partial match), i.e. linear for a fixed set.
  bool FindNext(std::string_view text, size_t from, bool allow_control, Match* match) const;

 private:
  struct Node {
    int32_t id = -1;         // token ending here, or -1
    bool control = false;
    int32_t first_child = -1;
    int32_t next_sibling = -1;
    uint8_t byte = 0;
  };
  int32_t Child(int32_t node, uint8_t byte) const;

  std::vector<Node> nodes_;     // nodes_[0] is the root
  int32_t root_child_[256];     // direct table for the first byte
  size_t count_ = 0;
};

}  // namespace dllm::tokenizer
