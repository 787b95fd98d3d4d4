// Byte-level BPE model (HF `model.type == "BPE"`): vocabulary, merges by rank, `ignore_merges`.
// Works directly on raw bytes: each byte starts as the id of its byte-level character, and merges are
// keyed by id pairs, so no per-word string building or re-mapping is needed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace radseek::tokenizer {

struct BpeMerge {
  int32_t left;
  int32_t right;
  int32_t result;
};

class BpeModel {
 public:
  struct Params {
    // vocab entries whose text decodes from the byte-level alphabet, keyed by their raw bytes
    std::unordered_map<std::string, int32_t> bytes_to_id = {};
    std::vector<BpeMerge> merges = {};  // in rank order (index = rank)
    bool ignore_merges = false;    // a whole pre-token that is a vocab entry is emitted as is
    std::optional<int32_t> unk_id = {};  // for a byte without a vocab entry; dropped when absent (as HF)
  };
  explicit BpeModel(Params params);
  BpeModel() = default;

  // Appends the ids of one pre-token (raw bytes).
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

 private:
  struct MergeTarget {
    int32_t rank;
    int32_t result;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  const MergeTarget* find_merge(int32_t a, int32_t b) const;

  std::unordered_map<std::string, int32_t> bytes_to_id_;
  std::unordered_map<uint64_t, MergeTarget> merges_;
  std::array<int32_t, 256> byte_ids_{};  // -1 when the byte has no vocab entry
  bool ignore_merges_ = false;
  std::optional<int32_t> unk_id_;
};

}  // namespace radseek::tokenizer
