#include "tokenizer/bpe.h"

#include <queue>

namespace radseek::tokenizer {
namespace {

// A symbol of the word being merged: a doubly linked list over the initial byte positions.
struct Symbol {
  int32_t id;
  int32_t prev;  // -1: none
  int32_t next;  // -1: none
  bool alive;
};

// A candidate merge of the symbol at `pos` with its right neighbour. Lower rank first, then the
// leftmost position: the order HF tokenizers (and the JS reference) apply merges in.
struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t result;
  bool operator>(const Candidate& o) const {
    return rank != o.rank ? rank > o.rank : pos > o.pos;
  }
};

}  // namespace

BpeModel::BpeModel(Params params)
    : bytes_to_id_(std::move(params.bytes_to_id)),
      ignore_merges_(params.ignore_merges),
      unk_id_(params.unk_id) {
  merges_.reserve(params.merges.size());
  for (size_t rank = 0; rank < params.merges.size(); ++rank) {
    const BpeMerge& m = params.merges[rank];
    // First occurrence wins if a pair is listed twice, matching a rank lookup table.
    merges_.try_emplace(pair_key(m.left, m.right), MergeTarget{static_cast<int32_t>(rank), m.result});
  }
  for (int b = 0; b < 256; ++b) {
    auto it = bytes_to_id_.find(std::string(1, static_cast<char>(b)));
    byte_ids_[b] = it == bytes_to_id_.end() ? -1 : it->second;
  }
}

const BpeModel::MergeTarget* BpeModel::find_merge(int32_t a, int32_t b) const {
  auto it = merges_.find(pair_key(a, b));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    if (auto it = bytes_to_id_.find(std::string(word)); it != bytes_to_id_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  std::vector<Symbol> syms;
  syms.reserve(word.size());
  for (char c : word) {
    const int32_t id = byte_ids_[static_cast<uint8_t>(c)];
    if (id < 0 && !unk_id_) continue;  // HF drops an unknown symbol when there is no unk token
    const auto n = static_cast<int32_t>(syms.size());
    syms.push_back({id < 0 ? *unk_id_ : id, n - 1, -1, true});
    if (n > 0) syms[n - 1].next = n;
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
  auto push_candidate = [&](int32_t pos) {
    if (pos < 0 || syms[pos].next < 0) return;
    if (const MergeTarget* m = find_merge(syms[pos].id, syms[syms[pos].next].id))
      queue.push({m->rank, pos, m->result});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(syms.size()); ++i) push_candidate(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = syms[c.pos];
    // Stale entries: the left symbol was merged away, or its neighbour changed since the push.
    if (!left.alive || left.next < 0) continue;
    const MergeTarget* m = find_merge(left.id, syms[left.next].id);
    if (m == nullptr || m->rank != c.rank) continue;  // a rank names exactly one pair
    Symbol& right = syms[left.next];
    right.alive = false;
    left.id = c.result;
    left.next = right.next;
    if (left.next >= 0) syms[left.next].prev = c.pos;
    push_candidate(left.prev);
    push_candidate(c.pos);
  }
  for (const Symbol& s : syms)
    if (s.alive) out.push_back(s.id);
}

}  // namespace radseek::tokenizer
