// AVX512_BF16 decode (m = 1) with FP8 e4m3 weights and kBF16 activations: the product that has to
// keep up with memory bandwidth (1 byte per weight). The FP32 tile path (gemm_avx512.cpp) spends
// ~20 uops per 64 weights on e4m3 → f16 → f32 conversion and FMAs and measured at about half the
// bandwidth; this one spends ~12.
//
// Why the conversion is cheap: a byte s.eeee.mmm moved to bits 15..8 of a 16-bit lane, shifted right
// arithmetically by 4 and masked with 0x87f0 is the bf16 s.0000eeee.mmm0000, whose value is exactly
// the e4m3 value × 2^-120 — for normals and subnormals alike, since both formats read a zero
// exponent field the same way. Each 16-bit lane of a 64-byte load holds two codes: the odd one is
// already in bits 15..8, the even one gets there by a left shift of 8. vdpbf16ps then multiplies the
// pairs (exact in f32) against activations rounded to bf16 — the kBF16 contract — in the matching
// even/odd order, packed once per call.
//
// What vdpbf16ps gets wrong, and the fixes: it treats bf16 subnormal inputs as zero (e4m3
// subnormals, codes with |code| in 1..7, land there) and flushes subnormal products. Activations are
// therefore scaled by 2^kXExp (exact) so every product with a normal e4m3 code is a normal f32, and
// blocks holding a subnormal code (found by a running byte minimum) get those lanes' products added
// exactly by the slow fix_subnormals. e4m3 has no infinity and one NaN magnitude (0x7f), which would
// read as a finite bf16 here: a running byte maximum finds it, and the row's result becomes NaN as in
// the reference. Those three byte operations per row and step are a quarter of the loop; a matrix
// that carries WeightMatrix::fp8_flags (made once at load) instead says which rows and blocks hold
// either kind of code, and the loop drops them (one core, 2048 × 2048 rows from memory: 11.9-12.0 →
// 12.7-13.1 GB/s; 13.3-13.7 with the prefetch below going to L2; a plain read 14.7-14.9).
// Activations of magnitude 2^(127 - kXExp) or more would overflow: gemm_bf16 keeps those (and
// shapes whose scale blocks do not split into 64-column steps) on the FP32 path.
//
// Legend: k reduction length (= w.cols), R weight rows per tile (streams sharing one packed x).
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kTileRows = 8;      // weight rows streamed together (8 blk + 8 total accumulators)
constexpr int64_t kStep = 64;     // weights per step: one zmm of e4m3 bytes
constexpr int64_t kMaxK = 16384;  // packed x lives on the stack: 32 KiB
constexpr int kXExp = 96;         // activations × 2^96: products of normal codes stay normal for |x| ≥ 2^-96
// Undoes both exponent shifts: weights are × 2^-120, activations × 2^kXExp.
constexpr float kUnscale = 0x1p24f;  // 2^(120 - kXExp)
constexpr float kMaxAbsX = 0x1p30f;  // |x| below this keeps x · 2^96 and every partial sum finite

// Everything a tile needs, resolved once per call.
struct Plan {
  const uint16_t* xp;  // [ceil(k / 64) · 64] bf16 of x · 2^96: per 64-column step, 32 even then 32 odd columns
  const float* x;      // [k] the activations themselves (for fix_subnormals)
  const uint8_t* w;
  int64_t k;
  const float* block_scale;
  int64_t block_rows;
  int64_t block_cols;
  int64_t scale_cols;
  float* y;
  int64_t y_off;
  const uint8_t* flags;  // WeightMatrix::fp8_flags or null
};

inline __m512bh as_bh(__m512i v) { return reinterpret_cast<__m512bh>(v); }

// x → xp (layout in Plan); columns past k are zero. Returns max |x| (NaN counts as large). Also
// prefetches [pf, pf_end), the first tile's rows, 8 lines per 64 columns: a tile prefetches its
// successor, so only the first one would otherwise start cold.
float pack_x(const float* x, int64_t k, uint16_t* xp, const uint8_t* pf, const uint8_t* pf_end) {
  const __m512 scale = _mm512_set1_ps(0x1p96f);
  const __m512i even = _mm512_set_epi16(62, 60, 58, 56, 54, 52, 50, 48, 46, 44, 42, 40, 38, 36, 34, 32, 30, 28,
                                        26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_add_epi16(even, _mm512_set1_epi16(1));
  __m512 amax = _mm512_setzero_ps();
  for (int64_t k0 = 0; k0 < k; k0 += kStep) {
    RADSEEK_UNROLL
    for (int r = 0; r < kTileRows; ++r, pf += 64)
      if (pf < pf_end) _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T1);
    __m256i h[4];
    RADSEEK_UNROLL
    for (int q = 0; q < 4; ++q) {
      const int64_t left = std::clamp<int64_t>(k - k0 - 16 * q, 0, 16);
      const __m512 v = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << left) - 1u), x + k0 + 16 * q);
      if (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) != 0) return INFINITY;  // NaN x: left to the FP32 path
      amax = _mm512_max_ps(amax, _mm512_abs_ps(v));
      h[q] = reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_mul_ps(v, scale)));  // RNE, as bf16_round
    }
    const __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(h[0]), h[1], 1);  // columns k0 .. k0+31
    const __m512i hi = _mm512_inserti64x4(_mm512_castsi256_si512(h[2]), h[3], 1);  // k0+32 .. k0+63
    _mm512_store_si512(xp + k0, _mm512_permutex2var_epi16(lo, even, hi));
    _mm512_store_si512(xp + k0 + 32, _mm512_permutex2var_epi16(lo, odd, hi));
  }
  return _mm512_reduce_max_ps(amax);
}

// One 64-column step of R rows, which also prefetches the next R lines of the following tile (pf)
// into L2 (into L1 each request holds one of the core's few L1 miss buffers all the way to memory).
// Why: an FP8 row of the model is 1408 or 2048 bytes, so the 8 concurrent row streams share 4 KiB
// pages and the L2 streamer, which follows one stream per page, mostly gives up — measured 7.7 GB/s
// against 12.1 for BF16 rows of 4 KiB (one core, other jobs running). Walking the next tile's bytes
// in address order (one tile, ~16 KiB, ahead) gave 11.1 (k = 2048) and 11.2 (k = 1408).
// blk[r] gathers Σ x·q of the current scale block (× 2^-24 overall); mn / mx are the running byte
// minimum and maximum of 2|q|: below 16 for a subnormal or zero code (zeros, as rare as subnormals
// in real weights, take the fix-up path for nothing rather than cost an instruction here), 254 only
// for NaN.
template <int R, bool kMasked, bool kChecks>
inline void step(const Plan& p, const uint8_t* const* wr, int64_t kk, __mmask64 mask, __m512 (&blk)[R],
                 __m512i& mn, __m512i& mx, const uint8_t*& pf, const uint8_t* pf_end) {
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r, pf += 64) {
    if (pf < pf_end) _mm_prefetch(reinterpret_cast<const char*>(pf), _MM_HINT_T1);
    // And this tile's rows 4 steps ahead into L1 (may pass a row's end: prefetches never fault).
    // V2-Lite-8L FP8, alternating runs: 2 threads 20.2-23.4 (mean 21.7) -> 20.0-23.5 (22.4) tok/s,
    // 1 thread 12.1-12.5 -> 12.6-12.7; the GGUF row kernels gained more from the same (prefetch.h).
    _mm_prefetch(reinterpret_cast<const char*>(wr[r] + kk + 4 * kStep), _MM_HINT_T0);
  }
  const __m512bh xe = as_bh(_mm512_load_si512(p.xp + kk)), xo = as_bh(_mm512_load_si512(p.xp + kk + 32));
  const __m512i field = _mm512_set1_epi16(static_cast<int16_t>(0x87f0));
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m512i b = kMasked ? _mm512_maskz_loadu_epi8(mask, wr[r] + kk) : _mm512_loadu_si512(wr[r] + kk);
    const __m512i odd = _mm512_and_si512(_mm512_srai_epi16(b, 4), field);
    const __m512i even = _mm512_and_si512(_mm512_srai_epi16(_mm512_slli_epi16(b, 8), 4), field);
    blk[r] = _mm512_dpbf16_ps(blk[r], as_bh(even), xe);
    blk[r] = _mm512_dpbf16_ps(blk[r], as_bh(odd), xo);
    if constexpr (kChecks) {
      const __m512i twice = _mm512_add_epi8(b, b);  // 2|q|: the sign bit falls off
      mx = _mm512_max_epu8(mx, twice);
      mn = _mm512_min_epu8(mn, twice);
    }
  }
}

// Row `row`'s scales, one per column block. Computed once per row: an integer division per row and
// block measured as costly as the block's arithmetic.
const float* scale_row(const Plan& p, int64_t row) { return p.block_scale + (row / p.block_rows) * p.scale_cols; }

// Adds to fix[r] the exact products of the subnormal codes of the rows j0 + r with bit r of `rows`
// set, in columns [k0, k1), which vdpbf16ps read as zero; returns the mask of those rows holding a
// NaN code there. Rare in real checkpoints (|w| < 2^-6 of a block scale × 448): a step without one
// costs only the test, or nothing with WeightMatrix::fp8_flags.
[[gnu::noinline]] uint32_t fix_subnormals(const Plan& p, int64_t j0, uint32_t rows, int64_t k0, int64_t k1, float* fix) {
  uint32_t nan_rows = 0;
  for (int r = 0; rows >> r != 0; ++r) {
    if ((rows >> r & 1u) == 0) continue;
    const uint8_t* row = p.w + (j0 + r) * p.k;
    __m512 acc = _mm512_setzero_ps();
    bool touched = false;
    for (int64_t kk = k0; kk < k1; kk += kStep) {
      const __mmask64 lanes = k1 - kk >= kStep ? ~__mmask64{0} : (uint64_t{1} << (k1 - kk)) - 1u;
      const __m512i mag = _mm512_and_si512(_mm512_maskz_loadu_epi8(lanes, row + kk), _mm512_set1_epi8(0x7f));
      if (_mm512_cmpeq_epi8_mask(mag, _mm512_set1_epi8(0x7f)) != 0) nan_rows |= 1u << r;
      const __mmask64 sub = _mm512_cmplt_epu8_mask(_mm512_sub_epi8(mag, _mm512_set1_epi8(1)), _mm512_set1_epi8(7));
      if (sub == 0) continue;
      touched = true;
      for (int q = 0; q < 4; ++q) {
        const __mmask16 s16 = static_cast<__mmask16>(sub >> (16 * q));
        if (s16 == 0) continue;
        const __m512 wv = fp8x16_to_f32_div256(_mm_maskz_loadu_epi8(s16, row + kk + 16 * q));
        acc = _mm512_fmadd_ps(round_to_bf16(_mm512_maskz_loadu_ps(s16, p.x + kk + 16 * q)), wv, acc);
      }
    }
    if (touched) fix[r] += _mm512_reduce_add_ps(acc) * (scale_row(p, j0 + r)[k0 / p.block_cols] * kFp8Unscale);
  }
  return nan_rows;
}

// Bits of WeightMatrix::fp8_flags for rows j0 .. j0+R-1 in column block bc (bit r for row j0 + r).
template <int R>
uint32_t flagged_rows(const Plan& p, int64_t j0, int64_t bc) {
  const int64_t g = j0 / kFp8FlagRows, shift = j0 % kFp8FlagRows;
  uint32_t bits = p.flags[g * p.scale_cols + bc] >> shift;
  if (shift + R > kFp8FlagRows) bits |= static_cast<uint32_t>(p.flags[(g + 1) * p.scale_cols + bc]) << (kFp8FlagRows - shift);
  return bits & ((1u << R) - 1u);
}

// y for the R rows starting at j0; prefetches rows j0+R .. j0+2R-1 (those below n_end). kChecks:
// the loop tests every code itself (no fp8_flags).
template <int R, bool kChecks>
void tile(const Plan& p, int64_t j0, int64_t n_end) {
  const uint8_t* pf = p.w + (j0 + R) * p.k;
  const uint8_t* pf_end = p.w + std::min(n_end, j0 + 2 * R) * p.k;
  __m512 total[R];
  const uint8_t* wr[R];
  const float* sr[R];
  float fix[R];
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    total[r] = _mm512_setzero_ps();
    wr[r] = p.w + (j0 + r) * p.k;
    sr[r] = scale_row(p, j0 + r);
    fix[r] = 0.0f;
  }
  __m512i mx = _mm512_setzero_si512();
  uint32_t nan_rows = 0;
  for (int64_t k0 = 0, bc = 0; k0 < p.k; k0 += p.block_cols, ++bc) {
    const int64_t k1 = std::min(p.k, k0 + p.block_cols);
    __m512 blk[R];
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r) blk[r] = _mm512_setzero_ps();
    __m512i mn = _mm512_set1_epi8(-1);
    int64_t kk = k0;
    for (; kk + kStep <= k1; kk += kStep) step<R, false, kChecks>(p, wr, kk, ~__mmask64{0}, blk, mn, mx, pf, pf_end);
    if (kk < k1) step<R, true, kChecks>(p, wr, kk, (uint64_t{1} << (k1 - kk)) - 1u, blk, mn, mx, pf, pf_end);
    if constexpr (kChecks) {
      if (_mm512_cmplt_epu8_mask(mn, _mm512_set1_epi8(16)) != 0) fix_subnormals(p, j0, (1u << R) - 1u, k0, k1, fix);
    } else if (const uint32_t rows = flagged_rows<R>(p, j0, bc); rows != 0) {
      nan_rows |= fix_subnormals(p, j0, rows, k0, k1, fix);
    }
    RADSEEK_UNROLL
    for (int r = 0; r < R; ++r)
      total[r] = _mm512_fmadd_ps(blk[r], _mm512_set1_ps(sr[r][bc] * kUnscale), total[r]);
  }
  const bool any_nan = kChecks && _mm512_cmpeq_epi8_mask(mx, _mm512_set1_epi8(static_cast<char>(0xfe))) != 0;
  RADSEEK_UNROLL
  for (int r = 0; r < R; ++r) {
    bool row_nan = (nan_rows >> r & 1u) != 0;
    for (int64_t kk = 0; any_nan && kk < p.k && !row_nan; ++kk) row_nan = (wr[r][kk] & 0x7f) == 0x7f;
    p.y[j0 + r - p.y_off] = row_nan ? __builtin_nanf("") : _mm512_reduce_add_ps(total[r]) + fix[r];
  }
}

}  // namespace

bool gemm_fp8_decode_bf16(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t k = w.cols;
  if (a.m != 1 || a.precision != ActPrecision::kBF16 || w.dtype != DType::kF8E4M3 || k > kMaxK) return false;
  if (w.block_cols % kStep != 0 && k > w.block_cols) return false;  // a step would straddle two scales
  alignas(64) uint16_t xp[kMaxK];
  const uint8_t* w0 = static_cast<const uint8_t*>(w.data);
  if (!(pack_x(a.x, k, xp, w0 + a.n_begin * k, w0 + std::min(a.n_end, a.n_begin + kTileRows) * k) < kMaxAbsX))
    return false;
  const Plan p{.xp = xp, .x = a.x, .w = static_cast<const uint8_t*>(w.data), .k = k, .block_scale = w.block_scale,
               .block_rows = w.block_rows, .block_cols = w.block_cols,
               .scale_cols = (k + w.block_cols - 1) / w.block_cols, .y = a.y, .y_off = a.y_col_offset,
               .flags = w.fp8_flags};
  int64_t j = a.n_begin;
  if (p.flags != nullptr) {
    for (; j + kTileRows <= a.n_end; j += kTileRows) tile<kTileRows, false>(p, j, a.n_end);
    for (; j < a.n_end; ++j) tile<1, false>(p, j, a.n_end);
  } else {
    for (; j + kTileRows <= a.n_end; j += kTileRows) tile<kTileRows, true>(p, j, a.n_end);
    for (; j < a.n_end; ++j) tile<1, true>(p, j, a.n_end);
  }
  return true;
}

}  // namespace radseek::kernels::avx512
