// Repetition detection for reasoning: R1 and later releases are known to fall into endless thinking
// loops, repeating a paragraph or a "Wait, ..." cycle. A loop is declared when the same n tokens have
// appeared `repeats` times; the caller then closes the reasoning and moves on to the answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace radseek::radiology {

struct LoopDetectorOptions {
  int ngram = 24;    // tokens per n-gram; 0 turns detection off
  int repeats = 4;   // occurrences of one n-gram that count as a loop
};

class LoopDetector {
 public:
  explicit LoopDetector(LoopDetectorOptions o) : o_(o) {}
  // Appends a token; true when the n-gram ending here has now occurred `repeats` times.
  bool push(int32_t id);
  int64_t tokens() const { return static_cast<int64_t>(ids_.size()); }

 private:
  bool same(size_t a, size_t b) const;

  LoopDetectorOptions o_;
  std::vector<int32_t> ids_;
  // Hash of an n-gram -> end positions of its occurrences (compared token by token, so a hash
  // collision never reports a loop).
  std::unordered_map<uint64_t, std::vector<size_t>> seen_;
};

}  // namespace radseek::radiology
