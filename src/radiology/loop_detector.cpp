#include "radiology/loop_detector.h"

namespace radseek::radiology {

bool LoopDetector::same(size_t a, size_t b) const {
  const size_t n = static_cast<size_t>(o_.ngram);
  for (size_t k = 0; k < n; ++k)
    if (ids_[a - k] != ids_[b - k]) return false;
  return true;
}

bool LoopDetector::push(int32_t id) {
  ids_.push_back(id);
  if (o_.ngram <= 0 || o_.repeats <= 1 || ids_.size() < static_cast<size_t>(o_.ngram)) return false;
  // FNV-1a over the last n ids: n is small, so recomputing it beats a rolling hash's bookkeeping.
  uint64_t h = 1469598103934665603ull;
  for (size_t k = ids_.size() - static_cast<size_t>(o_.ngram); k < ids_.size(); ++k) {
    h = (h ^ static_cast<uint32_t>(ids_[k])) * 1099511628211ull;
  }
  const size_t end = ids_.size() - 1;
  std::vector<size_t>& at = seen_[h];
  int count = 1;
  for (size_t prev : at) count += same(prev, end) ? 1 : 0;
  at.push_back(end);
  return count >= o_.repeats;
}

}  // namespace radseek::radiology
