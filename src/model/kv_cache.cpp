#include "model/kv_cache.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "base/numeric.h"

namespace radseek::model {
namespace {

constexpr float kFp8Max = 448.0f;  // e4m3fn's largest finite value

}  // namespace

const char* kv_dtype_name(KvDtype d) {
  switch (d) {
    case KvDtype::kBF16: return "bf16";
    case KvDtype::kFP8: return "fp8";
    default: return "f32";
  }
}

int64_t kv_row_bytes(KvDtype d, int64_t row_size) {
  switch (d) {
    case KvDtype::kBF16: return 2 * row_size;
    case KvDtype::kFP8: return row_size + static_cast<int64_t>(sizeof(float));
    default: return 4 * row_size;
  }
}

KvCache::KvCache(const KvCacheShape& s, KvDtype dtype) : shape_(s), dtype_(dtype) {
  const auto n = static_cast<size_t>(s.n_layers * s.capacity * s.row_size);
  if (dtype == KvDtype::kF32) f32_.resize(n);
  if (dtype == KvDtype::kBF16) bf16_.resize(n);
  if (dtype == KvDtype::kFP8) {
    fp8_.resize(n);
    scale_.resize(static_cast<size_t>(s.n_layers * s.capacity));
  }
}

float* KvCache::layer(int64_t l) {
  assert(dtype_ == KvDtype::kF32);
  return f32_.data() + l * shape_.capacity * row_size();
}

const float* KvCache::layer(int64_t l) const {
  assert(dtype_ == KvDtype::kF32);
  return f32_.data() + l * shape_.capacity * row_size();
}

void KvCache::write_row(int64_t l, int64_t pos, const float* row) {
  const int64_t R = row_size();
  const size_t i = row_index(l, pos);
  if (dtype_ == KvDtype::kF32) {
    std::copy(row, row + R, f32_.data() + i * R);
  } else if (dtype_ == KvDtype::kBF16) {
    uint16_t* dst = bf16_.data() + i * R;
    for (int64_t k = 0; k < R; ++k) dst[k] = f32_to_bf16(row[k]);
  } else {
    // One scale per row: amax lands on ±448 so the row uses e4m3's whole range.
    float amax = 0.0f;
    for (int64_t k = 0; k < R; ++k) amax = std::max(amax, std::fabs(row[k]));
    const float scale = amax > 0.0f ? amax / kFp8Max : 1.0f;
    const float inv = 1.0f / scale;
    uint8_t* dst = fp8_.data() + i * R;
    for (int64_t k = 0; k < R; ++k) dst[k] = f32_to_fp8_e4m3(row[k] * inv);
    scale_[i] = scale;
  }
}

void KvCache::decode_rows(int64_t l, int64_t j0, int64_t n, float* out) const {
  const int64_t R = row_size();
  const size_t i0 = row_index(l, j0);
  if (dtype_ == KvDtype::kF32) {
    std::copy(f32_.data() + i0 * R, f32_.data() + (i0 + n) * R, out);
  } else if (dtype_ == KvDtype::kBF16) {
    const uint16_t* src = bf16_.data() + i0 * R;
    for (int64_t k = 0; k < n * R; ++k) out[k] = bf16_to_f32(src[k]);
  } else {
    for (int64_t j = 0; j < n; ++j) {
      const uint8_t* src = fp8_.data() + (i0 + j) * R;
      const float scale = scale_[i0 + j];
      for (int64_t k = 0; k < R; ++k) out[j * R + k] = fp8_e4m3_to_f32(src[k]) * scale;
    }
  }
}

void KvCache::copy_prefix(const KvCache& src, int64_t n) {
  assert(src.dtype_ == dtype_ && src.row_size() == row_size());
  const int64_t R = row_size();
  for (int64_t l = 0; l < shape_.n_layers; ++l) {
    const size_t s0 = src.row_index(l, 0), d0 = row_index(l, 0);
    const auto rows = static_cast<size_t>(n);
    if (dtype_ == KvDtype::kF32)
      std::copy_n(src.f32_.data() + s0 * R, rows * R, f32_.data() + d0 * R);
    if (dtype_ == KvDtype::kBF16)
      std::copy_n(src.bf16_.data() + s0 * R, rows * R, bf16_.data() + d0 * R);
    if (dtype_ == KvDtype::kFP8) {
      std::copy_n(src.fp8_.data() + s0 * R, rows * R, fp8_.data() + d0 * R);
      std::copy_n(src.scale_.data() + s0, rows, scale_.data() + d0);
    }
  }
}

size_t KvCache::bytes() const {
  return f32_.size() * sizeof(float) + bf16_.size() * sizeof(uint16_t) + fp8_.size() + scale_.size() * sizeof(float);
}

kernels::WeightMatrix KvCache::layer_rows(int64_t l, int64_t j0, int64_t n) const {
  const int64_t R = shape_.row_size;
  const size_t first = row_index(l, j0);
  switch (dtype_) {
    case KvDtype::kF32: return {.dtype = DType::kF32, .data = f32_.data() + first * R, .rows = n, .cols = R};
    case KvDtype::kBF16: return {.dtype = DType::kBF16, .data = bf16_.data() + first * R, .rows = n, .cols = R};
    case KvDtype::kFP8:
      return {.dtype = DType::kF8E4M3, .data = fp8_.data() + first * R, .rows = n, .cols = R,
              .block_scale = scale_.data() + first, .block_rows = 1, .block_cols = R};
  }
  return {};
}

}  // namespace radseek::model
