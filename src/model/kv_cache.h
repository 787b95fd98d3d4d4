// Per layer and token, one row of values. MLA (spec §3.5) keeps only the normalised latent
// (kv_lora_rank) and the rotated shared rope key (qk_rope_head_dim), contiguous so one dot product with
// [q_abs | q_pe] scores a token; dense GQA models keep [K heads | V heads].
#pragma once

#include <cstdint>
#include <vector>

namespace radseek::model {

struct KvCacheShape {
  int64_t n_layers = 0;
  int64_t capacity = 0;      // tokens
  int64_t row_size = 0;      // values per token and layer (MLA: c + dr; GQA: 2·n_kv·head_dim)
};

class KvCache {
 public:
  KvCache() = default;
  explicit KvCache(const KvCacheShape& s)
      : shape_(s), data_(static_cast<size_t>(s.n_layers * s.capacity * s.row_size)) {}

  const KvCacheShape& shape() const { return shape_; }
  int64_t row_size() const { return shape_.row_size; }
  int64_t length() const { return length_; }
  int64_t capacity() const { return shape_.capacity; }
  void set_length(int64_t n) { length_ = n; }
  // [capacity, c + dr] for one layer.
  float* layer(int64_t l) { return data_.data() + l * shape_.capacity * row_size(); }
  const float* layer(int64_t l) const { return data_.data() + l * shape_.capacity * row_size(); }
  size_t bytes() const { return data_.size() * sizeof(float); }

 private:
  KvCacheShape shape_;
  std::vector<float> data_;  // [n_layers, capacity, c + dr]
  int64_t length_ = 0;
};

}  // namespace radseek::model
