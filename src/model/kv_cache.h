// Per layer and token, one row of values. MLA (spec §3.5) keeps only the normalised latent
// (kv_lora_rank) and the rotated shared rope key (qk_rope_head_dim), contiguous so one dot product with
// [q_abs | q_pe] scores a token; dense GQA models keep [K heads | V heads].
// Storage: f32 (exact), bf16 (half the bytes) or fp8 e4m3 with one f32 scale per row (a quarter, plus
// 4 bytes per row). Rows are written once, as f32, when a token is fed. Absorbed MLA reads them in
// their stored dtype (layer_rows: the kernels convert in registers, so bf16/fp8 also halve/quarter the
// bytes attention reads); the decompressed form and dense models read f32 (decode_rows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/kernels.h"

namespace radseek::model {

enum class KvDtype : uint8_t { kF32, kBF16, kFP8 };
const char* kv_dtype_name(KvDtype d);

struct KvCacheShape {
  int64_t n_layers = 0;
  int64_t capacity = 0;      // tokens
  int64_t row_size = 0;      // values per token and layer (MLA: c + dr; GQA: 2·n_kv·head_dim)
};

// Bytes one row takes in `d` (fp8: the values plus the row's f32 scale).
int64_t kv_row_bytes(KvDtype d, int64_t row_size);

class KvCache {
 public:
  KvCache() = default;
  explicit KvCache(const KvCacheShape& s, KvDtype dtype = KvDtype::kF32);

  const KvCacheShape& shape() const { return shape_; }
  KvDtype dtype() const { return dtype_; }
  int64_t row_size() const { return shape_.row_size; }
  int64_t length() const { return length_; }
  int64_t capacity() const { return shape_.capacity; }
  // Dropping rows (speculative decoding, the scheduler) only moves the length: rows past it are
  // rewritten by the next token fed.
  void set_length(int64_t n) { length_ = n; }
  // [capacity, row_size] for one layer; f32 caches only (dense models, the MTP cache, exact MLA).
  float* layer(int64_t l);
  const float* layer(int64_t l) const;
  // Stores row[row_size] at token `pos` of layer l, converted to the cache's dtype.
  void write_row(int64_t l, int64_t pos, const float* row);
  // Rows j0 .. j0+n-1 of layer l as they are stored, for the kernels to read in place: [n, row_size]
  // f32 or bf16, or e4m3 codes with one scale per row (an FP8 matrix with 1 × row_size scale blocks).
  kernels::WeightMatrix layer_rows(int64_t l, int64_t j0, int64_t n) const;
  // out[n, row_size] = rows j0 .. j0+n-1 of layer l as f32.
  void decode_rows(int64_t l, int64_t j0, int64_t n, float* out) const;
  // Copies the first n tokens of every layer from `src` (same shape and dtype).
  void copy_prefix(const KvCache& src, int64_t n);
  size_t bytes() const;
  // All layers of one token.
  int64_t bytes_per_token() const { return shape_.n_layers * kv_row_bytes(dtype_, shape_.row_size); }

 private:
  size_t row_index(int64_t l, int64_t pos) const { return static_cast<size_t>(l * shape_.capacity + pos); }

  KvCacheShape shape_;
  KvDtype dtype_ = KvDtype::kF32;
  std::vector<float> f32_;      // kF32:  [n_layers, capacity, row_size]
  std::vector<uint16_t> bf16_;  // kBF16: [n_layers, capacity, row_size]
  std::vector<uint8_t> fp8_;    // kFP8:  [n_layers, capacity, row_size] e4m3 codes
  std::vector<float> scale_;    // kFP8:  [n_layers, capacity] value = code · scale
  int64_t length_ = 0;
};

}  // namespace radseek::model
