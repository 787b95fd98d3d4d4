// AVX-512 FP32-arithmetic gemm for prefill-sized m: weight panels converted to f32 and transposed
// once per chunk, then multiplied by every activation row with broadcast FMAs, so y columns lie
// across lanes and no horizontal sums are needed. Serves ActPrecision::kF32 (the accuracy path) and
// kBF16 (activations rounded to bf16 first; products stay exact in f32, as in the reference) —
// measured here, f32 FMAs on such panels outrun vdpbf16ps (≈140 vs ≈90 GFLOP/s per core).
//
// Legend: m activation rows, k reduction length, n weight rows. Loop nest (outer to inner):
//   i0  a block of activation rows sized to stay in L2 (row_block);
//   n0  32 weight rows;
//   k0  one chunk of ≤ 128 columns, never crossing an FP8 scale block (one scale per weight row),
//       converted from the stored dtype into the panel bp[k][32] f32 (16 KiB, L1);
//   i   MR activation rows × 32 weight rows in 2·MR accumulators; then y (+)= acc · scale.
// The panel is a bounded stack buffer refilled per chunk, not a copy of the matrix. Every product
// is x · q in FP32 and each chunk's sum is multiplied by its block scale, as in the reference.
#include <immintrin.h>

#include <algorithm>

#include "kernels/kernels.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int64_t kChunk = 128;  // k per chunk (one FP8 block)
constexpr int64_t kPanel = 32;   // weight rows per panel: two 16-lane vectors
constexpr int kMR = 8;           // activation rows per register tile (16 accumulators)

struct PanelF32 {
  const float* bp;  // [kChunk][kPanel]
  const float* sv;  // [kPanel] per weight row multiplier of this chunk
  const float* x;   // activations at column k0
  int64_t ldx;
  int64_t kc;  // columns in this chunk
  float* y;    // y at column n0
  int64_t ldy;
  int64_t valid_n;
  bool first;
};

// 16 weights of `row` from column k as f32 (FP8: value / 256); lanes past `valid` are 0.
template <DType D>
inline __m512 load16(const WeightMatrix& w, int64_t row, int64_t k, int64_t valid) {
  const __mmask16 m = valid >= 16 ? 0xffff : static_cast<__mmask16>((1u << valid) - 1u);
  const int64_t i = row * w.cols + k;
  if constexpr (D == DType::kF32) return _mm512_maskz_loadu_ps(m, static_cast<const float*>(w.data) + i);
  if constexpr (D == DType::kBF16) return bf16x16_to_f32(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(w.data) + i));
  if constexpr (D == DType::kF16) return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(w.data) + i));
  return fp8x16_to_f32_div256(_mm_maskz_loadu_epi8(m, static_cast<const uint8_t*>(w.data) + i));
}

// bp[c][t] = W[n0 + t, k0 + c] as f32 for c < kc (rounded up to 16, zero filled), t < kPanel.
template <DType D>
void pack_panel(const WeightMatrix& w, int64_t n0, int64_t n_end, int64_t k0, int64_t kc, float* bp) {
  for (int64_t g = 0; g < kPanel; g += 16) {
    for (int64_t c = 0; c < kc; c += 16) {
      __m512i r[16];
      RADSEEK_UNROLL
      for (int t = 0; t < 16; ++t) {
        const int64_t row = n0 + g + t;
        r[t] = row < n_end ? _mm512_castps_si512(load16<D>(w, row, k0 + c, kc - c)) : _mm512_setzero_si512();
      }
      transpose16(r);
      RADSEEK_UNROLL
      for (int t = 0; t < 16; ++t) _mm512_store_si512(bp + (c + t) * kPanel + g, r[t]);
    }
  }
}

void panel_scales(const WeightMatrix& w, int64_t n0, int64_t n_end, int64_t k0, float* sv) {
  if (w.dtype != DType::kF8E4M3) {
    for (int64_t t = 0; t < kPanel; ++t) sv[t] = n0 + t < n_end ? 1.0f : 0.0f;
    return;
  }
  // The scale row advances every block_rows weight rows: one division per panel, not one per row.
  const int64_t scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
  const float* srow = w.block_scale + (n0 / w.block_rows) * scale_cols + k0 / w.block_cols;
  int64_t left = w.block_rows - n0 % w.block_rows;  // rows before the next scale row
  for (int64_t t = 0; t < kPanel; ++t, --left) {
    if (left == 0) srow += scale_cols, left = w.block_rows;
    sv[t] = n0 + t < n_end ? *srow * kFp8Unscale : 0.0f;
  }
}

// MR activation rows from row i against the panel; the k loop is the hot loop (2·MR FMAs per
// 2 panel loads and MR broadcasts).
template <int MR>
void micro(const PanelF32& p, int64_t i) {
  __m512 acc[MR][2];
  RADSEEK_UNROLL
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const float* x = p.x + i * p.ldx;
  for (int64_t kk = 0; kk < p.kc; ++kk) {
    const __m512 b0 = _mm512_load_ps(p.bp + kk * kPanel), b1 = _mm512_load_ps(p.bp + kk * kPanel + 16);
    RADSEEK_UNROLL
    for (int r = 0; r < MR; ++r) {
      const __m512 xv = _mm512_set1_ps(x[r * p.ldx + kk]);
      acc[r][0] = _mm512_fmadd_ps(xv, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(xv, b1, acc[r][1]);
    }
  }
  const __mmask16 m0 = static_cast<__mmask16>(p.valid_n >= 16 ? 0xffff : (1u << p.valid_n) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>(p.valid_n >= 32 ? 0xffff : p.valid_n <= 16 ? 0 : (1u << (p.valid_n - 16)) - 1u);
  const __m512 s0 = _mm512_load_ps(p.sv), s1 = _mm512_load_ps(p.sv + 16);
  RADSEEK_UNROLL
  for (int r = 0; r < MR; ++r) {
    float* yr = p.y + (i + r) * p.ldy;
    __m512 v0 = _mm512_mul_ps(acc[r][0], s0), v1 = _mm512_mul_ps(acc[r][1], s1);
    if (!p.first) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, yr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, yr + 16));
    }
    _mm512_mask_storeu_ps(yr, m0, v0);
    _mm512_mask_storeu_ps(yr + 16, m1, v1);
  }
}

void all_rows(const PanelF32& p, int64_t m) {
  int64_t i = 0;
  for (; i + kMR <= m; i += kMR) micro<kMR>(p, i);
  switch (m - i) {
    case 7: micro<7>(p, i); break;
    case 6: micro<6>(p, i); break;
    case 5: micro<5>(p, i); break;
    case 4: micro<4>(p, i); break;
    case 3: micro<3>(p, i); break;
    case 2: micro<2>(p, i); break;
    case 1: micro<1>(p, i); break;
    default: break;
  }
}

// x[rows, k] rounded to bf16 precision into xb[rows, k] (ActPrecision::kBF16), once per row block:
// rounded per panel and chunk instead, the same rows were rounded n/32 times (13% of an FP8 pp512).
void round_rows(const float* x, int64_t ldx, int64_t rows, int64_t k, float* xb) {
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t c = 0; c < k; c += 16) {
      const __mmask16 m = k - c >= 16 ? 0xffff : static_cast<__mmask16>((1u << (k - c)) - 1u);
      _mm512_mask_storeu_ps(xb + i * k + c, m, round_to_bf16(_mm512_maskz_loadu_ps(m, x + i * ldx + c)));
    }
  }
}

// Activation rows per outer block: as many as keep their x rows (k floats each) within ~1 MiB of L2,
// so each panel's passes over them hit L2, not L3; at least 32 so panel conversion stays amortised.
int64_t row_block(int64_t k) { return std::clamp<int64_t>((int64_t{1} << 20) / (4 * k) / kMR * kMR, 32, 256); }

template <DType D>
void gemm_panels(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  alignas(64) float bp[kChunk * kPanel];
  alignas(64) float sv[kPanel];
  const int64_t rb = row_block(w.cols);
  const bool round = a.precision == ActPrecision::kBF16;
  // [block rows, k]: the calling thread's activation scratch (the integer kernels' too; one gemm call
  // uses one of them), grown only when too small.
  float* xr = round ? static_cast<float*>(ref::thread_acts_buffer(std::min(rb, a.m) * w.cols * 4)) : nullptr;
  for (int64_t i0 = 0; i0 < a.m; i0 += rb) {
    GemmArgs block = a;
    block.x = a.x + i0 * a.ldx;
    block.y = a.y + i0 * a.ldy;
    block.m = std::min(rb, a.m - i0);
    if (round) {
      round_rows(block.x, a.ldx, block.m, w.cols, xr);
      block.x = xr;
      block.ldx = w.cols;
    }
    // Panel-major: each weight row is read front to back (prefetch-friendly streams), and the
    // panel's y block stays cached across its chunks.
    for (int64_t n0 = a.n_begin; n0 < a.n_end; n0 += kPanel) {
      for (int64_t k0 = 0; k0 < w.cols;) {
        int64_t k1 = std::min(w.cols, k0 + kChunk);
        if (D == DType::kF8E4M3) k1 = std::min(k1, (k0 / w.block_cols + 1) * w.block_cols);
        pack_panel<D>(w, n0, a.n_end, k0, k1 - k0, bp);
        panel_scales(w, n0, a.n_end, k0, sv);
        const PanelF32 p{.bp = bp, .sv = sv, .x = block.x + k0, .ldx = block.ldx, .kc = k1 - k0,
                         .y = block.y + n0 - a.y_col_offset, .ldy = a.ldy, .valid_n = a.n_end - n0, .first = k0 == 0};
        all_rows(p, block.m);
        k0 = k1;
      }
    }
  }
}

}  // namespace

void gemm_f32_panels(const GemmArgs& a) {
  switch (a.w->dtype) {
    case DType::kF32: gemm_panels<DType::kF32>(a); break;
    case DType::kBF16: gemm_panels<DType::kBF16>(a); break;
    case DType::kF16: gemm_panels<DType::kF16>(a); break;
    case DType::kF8E4M3: gemm_panels<DType::kF8E4M3>(a); break;
    default: break;  // other dtypes are rejected when weights are loaded
  }
}

}  // namespace radseek::kernels::avx512
