#include "tokenizer/special_matcher.h"

namespace dllm::tokenizer {

SpecialMatcher::SpecialMatcher() {
  nodes_.emplace_back();
  for (int32_t& c : root_child_) c = -1;
}

int32_t SpecialMatcher::Child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_child_[byte];
  for (int32_t c = nodes_[node].first_child; c >= 0; c = nodes_[c].next_sibling) {
    if (nodes_[c].byte == byte) return c;
  }
  return -1;
}

void SpecialMatcher::Add(std::string_view piece, int32_t id, bool control) {
  if (piece.empty()) return;
  int32_t node = 0;
  for (char ch : piece) {
    const auto byte = static_cast<uint8_t>(ch);
    int32_t c = Child(node, byte);
    if (c < 0) {
      c = static_cast<int32_t>(nodes_.size());
      Node n;
      n.byte = byte;
      if (node == 0) {
        root_child_[byte] = c;
      } else {
        n.next_sibling = nodes_[node].first_child;
        nodes_[node].first_child = c;
      }
      nodes_.push_back(n);
    }
    node = c;
  }
  if (nodes_[node].id < 0) ++count_;
  nodes_[node].id = id;
  nodes_[node].control = control;
}

bool SpecialMatcher::FindNext(std::string_view text, size_t from, bool allow_control,
                              Match* match) const {
  if (count_ == 0) return false;
  const size_t n = text.size();
  for (size_t i = from; i < n; ++i) {
    int32_t node = root_child_[static_cast<uint8_t>(text[i])];
    if (node < 0) continue;
    size_t best_len = 0;
    int32_t best_id = -1;
    size_t j = i;
    while (true) {
      const Node& nd = nodes_[node];
      ++j;
      if (nd.id >= 0 && (allow_control || !nd.control)) {
        best_len = j - i;
        best_id = nd.id;
      }
      if (j >= n) break;
      node = Child(node, static_cast<uint8_t>(text[j]));
      if (node < 0) break;
    }
    if (best_id >= 0) {
      match->pos = i;
      match->len = best_len;
      match->id = best_id;
      return true;
    }
  }
  return false;
}

}  // namespace dllm::tokenizer
