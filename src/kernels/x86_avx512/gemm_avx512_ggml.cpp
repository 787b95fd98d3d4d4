// AVX-512 (+VNNI) gemm for ggml block weights (GGUF Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K, Q5_K, Q6_K; FP32
// activations take the dequantising path at the end). Contract and oracle: ref/ggml_gemm.h.
//
// Legend: m activation rows, k = w.cols, n weight rows; a "block" is one ggml block of the weights,
// a "super-block" one 256-column k-quant block.
// ActPrecision::kBF16 — integer path: the activation rows are quantised once per product
// (quantize_ggml_vnni, bit-identical to ref::quantize_ggml; linear() shares one quantisation among
// the tasks of a product through GemmArgs::xq); then each weight row is decoded in registers to 64
// unsigned byte codes at a time, in natural column order, and multiplied by up to kMaxMR activation
// rows with vpdpbusd (u8 × s8 → i32). Decode is memory-bound only if this runs well above the
// per-core DRAM rate, so the per-block float work is kept to a convert and an FMA per 64 columns:
//   Q8_0 / Q4_0: codes w + 128 (XOR 0x80) / nibbles w + 8; the offset comes back once per row as
//     offset·Σ_b d_b·step_b·Σxq_b (a 16-block vector FMA against the activations' step·bsum32).
//     Per 16 blocks the f16 scales become one vector d·step; a permute spreads it over the lanes.
//     Q5_0: as Q4_0 with the fifth bits (qh, one bit per column) added as 16 under a byte mask: codes
//     w + 16. Q4_1 / Q5_1: the nibbles (plus the fifth bits) are q itself, x = q·d + m; the m term
//     comes back as Σ_b m_b·step_b·Σxq_b, as the offset does for the others.
//   Q4_K: 32 nibble bytes broadcast to both halves, the upper half shifted by 4: 64 columns (two
//     sub-blocks) in order. vpmaddubsw makes i16 pairs, vpdpwssd multiplies them by the 6-bit
//     scales into i32, so one super-block needs one float FMA; the min term is dmin·Σ m·Σxq
//     (vpmaddwd against per-32 activation code sums).
//   Q5_K: as Q4_K; the fifth bit (qh) adds 16 to the nibble under a byte mask (vptestmb), so the
//     unsigned codes are 0..31 and vpmaddubsw still cannot saturate.
//   Q6_K: unsigned 6-bit q (x = d·sc·(q − 32)); as Q4_K with 16-column sub-blocks, the offset term
//     32·Σ sc·Σxq from per-16 code sums.
// Decode (m = 1) streams one weight row at a time; prefill reuses each decoded block for kMaxMR rows.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/kernels.h"
#include "kernels/prefetch.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/ref/group_quant.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kMaxMR = 4;

// One activation row: codes, per-group steps and per-16 code sums exactly as
// ref::quantize_acts_ggml computes them (same scalar multiplier, round-to-nearest-even convert).
void quantize_row(const float* x, int64_t k, int64_t group, int8_t* q, float* step, int32_t* bsum16) {
  for (int64_t g0 = 0; g0 < k; g0 += group) {
    __m512 mx = _mm512_setzero_ps();
    // max(|x|, mx) keeps mx when |x| is NaN, as std::max(amax, |x|) does in the reference.
    for (int64_t c = g0; c < g0 + group; c += 16) mx = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + c)), mx);
    const float amax = _mm512_reduce_max_ps(mx);
    const __m512 mul = _mm512_set1_ps(ref::act_quant_mul(amax));
    step[g0 / group] = ref::act_quant_step(amax);
    for (int64_t c = g0; c < g0 + group; c += 16) {
      const __m512i qi = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + c), mul));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + c), _mm512_cvtepi32_epi8(qi));
      bsum16[c / 16] = _mm512_reduce_add_epi32(qi);
    }
  }
}

// One weight row against activation rows i0 .. i0+MR-1.
struct RowJob {
  const uint8_t* row;
  int64_t nblocks;  // ggml blocks in the row
  const ref::GgmlActs* ac;
  int64_t i0;
  float* out;  // [MR]
};

// Lanes 0-7 take index a, lanes 8-15 index b (the two 32-column halves of a 64-byte load).
inline __m512i halves(int a, int b) {
  return _mm512_inserti64x4(_mm512_set1_epi32(a), _mm256_set1_epi32(b), 1);
}
// Lane l takes index first + l/4 (16-column sub-blocks: four i32 lanes each).
inline __m512i quarters(int first) {
  return _mm512_add_epi32(_mm512_set1_epi32(first),
                          _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3));
}

// Weight rows are read once, in address order, and the hardware prefetchers alone left decode at
// about (compute time + memory time), without overlap: the streamers stop at 4 KiB page ends
// (Qwen2-1.5B Q4_K, one thread: none 5.3 tok/s, 16 KiB ahead into L1 12.8-13.2). The row kernels
// therefore call prefetch_stream (kernels/prefetch.h) on what they are about to read.

inline float hsum256(__m256 v) {
  const __m128 m4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 m2 = _mm_add_ps(m4, _mm_movehl_ps(m4, m4));
  return _mm_cvtss_f32(_mm_add_ss(m2, _mm_shuffle_ps(m2, m2, 1)));
}

// The 32-column block types of row_32: bytes, where the nibbles (qs) and fifth bits (qh) start, and
// whether the block carries a min m (x = q·d + m) after d.
enum class Blk32 { kQ8_0, kQ4_0, kQ5_0, kQ4_1, kQ5_1 };
template <Blk32 K>
inline constexpr int64_t kBlk32Bytes = K == Blk32::kQ8_0 ? 34 : K == Blk32::kQ4_0 ? 18 : K == Blk32::kQ5_0 ? 22 : K == Blk32::kQ4_1 ? 20 : 24;
template <Blk32 K>
inline constexpr int64_t kBlk32Qs = K == Blk32::kQ5_1 ? 8 : K == Blk32::kQ5_0 ? 6 : K == Blk32::kQ4_1 ? 4 : 2;
template <Blk32 K>
inline constexpr int64_t kBlk32Qh = K == Blk32::kQ5_0 ? 2 : 4;
template <Blk32 K>
inline constexpr bool kBlk32Five = K == Blk32::kQ5_0 || K == Blk32::kQ5_1;
template <Blk32 K>
inline constexpr bool kBlk32Min = K == Blk32::kQ4_1 || K == Blk32::kQ5_1;

// The unsigned codes of blocks b and b+1 (b+1 only if `two`) as 64 bytes in column order.
// Q8_0: w + 128. Q4_0: the 16 bytes of a block broadcast to two 128-bit lanes, the second shifted
// by 4 (low nibbles are columns 0-15, high 16-31); Q4_1 the same. Q5_0 / Q5_1: as Q4_0 plus the
// 4-byte qh, whose bit j (column j) adds 16 to byte j: the two blocks' qh words are one 64-bit mask.
template <Blk32 K>
inline __m512i pair_codes(const uint8_t* p0, bool two) {
  if constexpr (K != Blk32::kQ8_0) {
    constexpr int64_t kQs = kBlk32Qs<K>, kBytes = kBlk32Bytes<K>;
    const __m512i shift = _mm512_set_epi64(0x0004000400040004, 0x0004000400040004, 0, 0, 0x0004000400040004,
                                           0x0004000400040004, 0, 0);
    __m512i raw = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + kQs)));
    const __m128i q1 = two ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p0 + kBytes + kQs)) : _mm_setzero_si128();
    raw = _mm512_mask_broadcast_i32x4(raw, 0xff00, q1);
    const __m512i nib = _mm512_and_si512(_mm512_srlv_epi16(raw, shift), _mm512_set1_epi8(0x0f));
    if constexpr (!kBlk32Five<K>) return nib;
    uint32_t h0, h1 = 0;
    std::memcpy(&h0, p0 + kBlk32Qh<K>, 4);
    if (two) std::memcpy(&h1, p0 + kBytes + kBlk32Qh<K>, 4);
    const __mmask64 high = _cvtu64_mask64(static_cast<uint64_t>(h0) | static_cast<uint64_t>(h1) << 32);
    return _mm512_mask_add_epi8(nib, high, nib, _mm512_set1_epi8(16));
  }
  const __m256i c0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + 2));
  const __m256i c1 = two ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p0 + 34 + 2)) : _mm256_setzero_si256();
  return _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(c0), c1, 1), _mm512_set1_epi8(static_cast<char>(0x80)));
}

// Pairs of blocks b0 .. b0+nb-1 of one chunk against MR activation rows; kFull: nb = 16, so the
// loop unrolls with constant permute indices and no odd-block checks. Two accumulators per row
// alternate so the FMA chain does not bound the loop.
template <Blk32 K, int MR, bool kFull>
inline void chunk_32(const uint8_t* chunk, int nb, const int8_t* const* xrow, const __m512* ds, __m512 (*acc)[2]) {
  constexpr int64_t kBytes = kBlk32Bytes<K>;
  const int n = kFull ? 16 : nb;
  RADSEEK_UNROLL
  for (int b = 0; b < n; b += 2) {
    const bool two = kFull || b + 1 < n;
    const __m512i codes = pair_codes<K>(chunk + b * kBytes, two);
    const __mmask64 lanes = two ? ~__mmask64{0} : 0xffffffffull;
    const __m512i idx = halves(b, b + 1);
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512i x = _mm512_maskz_loadu_epi8(lanes, xrow[i] + b * 32);
      const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes, x);
      acc[i][(b / 2) & 1] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_permutexvar_ps(idx, ds[i]), acc[i][(b / 2) & 1]);
    }
  }
}

// The 32-column types, 16 blocks (512 columns) per chunk: the chunk's f16 scales become one f32
// vector, multiplied by each activation row's steps; per pair of blocks a permute spreads that row's
// two scale products over the dot product's lanes.
template <Blk32 K, int MR>
void row_32(const RowJob& jb) {
  constexpr int64_t kBytes = kBlk32Bytes<K>;
  constexpr float kOffset = K == Blk32::kQ8_0 ? 128.0f : K == Blk32::kQ4_0 ? 8.0f : K == Blk32::kQ5_0 ? 16.0f : 0.0f;
  const ref::GgmlActs& ac = *jb.ac;
  const int64_t k = ac.k, G = k / 32;
  __m512 acc[MR][2], corr[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = corr[i] = _mm512_setzero_ps();
  for (int64_t b0 = 0; b0 < jb.nblocks; b0 += 16) {
    const int nb = static_cast<int>(std::min<int64_t>(16, jb.nblocks - b0));
    const uint8_t* chunk = jb.row + b0 * kBytes;
    prefetch_stream(chunk, 16 * kBytes);
    const __mmask16 live = static_cast<__mmask16>(nb == 16 ? 0xffff : (1u << nb) - 1u);
    // The 16 f16 scales (first bytes of each block), gathered as dwords; dead lanes read nothing.
    const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                            _mm512_set1_epi32(static_cast<int>(kBytes)));
    const __m512i dword = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, chunk, 1);
    const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dword));
    // The term taken with step·Σxq: d (times the offset, at the end) or m (Q4_1 / Q5_1, added).
    const __m512 cw = kBlk32Min<K> ? _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dword, 16))) : dw;
    __m512 ds[MR];
    const int8_t* xrow[MR];
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const int64_t at = (jb.i0 + i) * G + b0;
      ds[i] = _mm512_mul_ps(dw, _mm512_maskz_loadu_ps(live, ac.step + at));
      corr[i] = _mm512_fmadd_ps(cw, _mm512_maskz_loadu_ps(live, ac.step_bsum32 + at), corr[i]);
      xrow[i] = ac.q + (jb.i0 + i) * k + b0 * 32;
    }
    if (nb == 16) {
      chunk_32<K, MR, true>(chunk, nb, xrow, ds, acc);
    } else {
      chunk_32<K, MR, false>(chunk, nb, xrow, ds, acc);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i)
    jb.out[i] = _mm512_reduce_add_ps(_mm512_add_ps(acc[i][0], acc[i][1])) +
                (kBlk32Min<K> ? 1.0f : -kOffset) * _mm512_reduce_add_ps(corr[i]);
}

// Q4_K: per super-block (144 bytes: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes) four
// 32-byte pieces; piece c holds sub-block 2c in its low nibbles and 2c+1 in its high nibbles.
// Q5_K (kQ5): 176 bytes, 32 qh bytes between the scales and the nibbles; bit 2c of qh[l] is the
// fifth bit of column l of sub-block 2c, bit 2c+1 that of sub-block 2c+1.
template <bool kQ5, int MR>
void row_k4(const RowJob& jb) {
  constexpr int64_t kBytes = kQ5 ? 176 : 144, kQs = kQ5 ? 48 : 16;
  const ref::GgmlActs& ac = *jb.ac;
  const int64_t k = ac.k, S = k / 256, G = k / 32;
  __m512 acc[MR];
  __m256 macc[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps(), macc[i] = _mm256_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0f);
  const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  for (int64_t s = 0; s < jb.nblocks; ++s) {
    const uint8_t* p = jb.row + s * kBytes;
    prefetch_stream(p, kBytes);
    uint32_t dpair;
    std::memcpy(&dpair, p, 4);
    const __m128 dd = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dpair)));  // d, dmin
    const __m512i scm = _mm512_cvtepu8_epi32(unpack_k4_scales(p + 4));
    const __m256i mins = _mm512_extracti64x4_epi64(scm, 1);
    const __m512i scm16 = _mm512_or_si512(scm, _mm512_slli_epi32(scm, 16));  // each scale in both i16 halves
    __m512i codes[4], sc[4];
    const __m512i qh = kQ5 ? _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 16))) : nib;
    RADSEEK_UNROLL
    for (int c = 0; c < 4; ++c) {
      const __m512i raw = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kQs + 32 * c)));
      codes[c] = _mm512_and_si512(_mm512_srlv_epi16(raw, shift), nib);
      if constexpr (kQ5) {
        const __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << (2 * c))),
                                               _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))), 1);
        codes[c] = _mm512_mask_add_epi8(codes[c], _mm512_test_epi8_mask(qh, bit), codes[c], _mm512_set1_epi8(16));
      }
      sc[c] = _mm512_permutexvar_epi32(halves(2 * c, 2 * c + 1), scm16);
    }
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const int8_t* xq = ac.q + (jb.i0 + i) * k + s * 256;
      // vpmaddubsw: pairs of code × int8 products, |·| ≤ 2·31·127 (no saturation); vpmaddwd /
      // vpdpwssd scale them by the sub-block's scale into i32. Two chains: decode is latency-bound.
      __m512i pairs[4];
      RADSEEK_UNROLL
      for (int c = 0; c < 4; ++c) pairs[c] = _mm512_maddubs_epi16(codes[c], _mm512_loadu_si512(xq + 64 * c));
      const __m512i isum = _mm512_add_epi32(_mm512_dpwssd_epi32(_mm512_madd_epi16(pairs[0], sc[0]), pairs[2], sc[2]),
                                            _mm512_dpwssd_epi32(_mm512_madd_epi16(pairs[1], sc[1]), pairs[3], sc[3]));
      const __m128 dst = _mm_mul_ps(dd, _mm_set1_ps(ac.step[(jb.i0 + i) * S + s]));  // d·step, dmin·step
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_broadcastss_ps(dst), acc[i]);
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ac.bsum32 + (jb.i0 + i) * G + s * 8));
      // |Σxq| over 32 columns ≤ 4064 fits the low 16 bits; the mins' high halves are 0.
      macc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(mins, bs)),
                                _mm256_permutevar8x32_ps(_mm256_castps128_ps256(dst), _mm256_set1_epi32(1)), macc[i]);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) jb.out[i] = _mm512_reduce_add_ps(acc[i]) - hsum256(macc[i]);
}

// Q6_K: per super-block (210 bytes: ql[128], qh[64], i8 scales[16], f16 d) and half (128 columns)
// one 64-byte ql load and 32 qh bytes give columns 0-63 (low nibbles + qh bits 0-3) and 64-127
// (high nibbles + qh bits 4-7) of the half in natural order.
template <int MR>
void row_q6_k(const RowJob& jb) {
  const ref::GgmlActs& ac = *jb.ac;
  const int64_t k = ac.k, S = k / 256;
  __m512 acc[MR], cacc[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i] = cacc[i] = _mm512_setzero_ps();
  const __m512i nib = _mm512_set1_epi8(0x0f), two = _mm512_set1_epi8(3);
  for (int64_t s = 0; s < jb.nblocks; ++s) {
    const uint8_t* p = jb.row + s * 210;
    prefetch_stream(p, 210);
    const float d = _cvtsh_ss(static_cast<uint16_t>(p[208] | (p[209] << 8)));
    // Signed scales as 16-bit values with zero high halves (vpmaddwd against code sums), and in both
    // halves (vpdpwssd against vpmaddubsw pairs).
    const __m512i scz = _mm512_and_si512(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 192))),
                                         _mm512_set1_epi32(0xffff));
    const __m512i scz16 = _mm512_or_si512(scz, _mm512_slli_epi32(scz, 16));
    __m512i z[4], sc[4];  // columns 64·c .. 64·c + 63 of the super-block
    RADSEEK_UNROLL
    for (int half = 0; half < 2; ++half) {
      const __m512i ab = _mm512_loadu_si512(p + 64 * half);
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 128 + 32 * half));
      const __m512i h01 = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_srli_epi16(h, 2), 1);
      const __m512i h23 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_srli_epi16(h, 4)), _mm256_srli_epi16(h, 6), 1);
      z[2 * half] = _mm512_or_si512(_mm512_and_si512(ab, nib), _mm512_slli_epi16(_mm512_and_si512(h01, two), 4));
      z[2 * half + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ab, 4), nib),
                                        _mm512_slli_epi16(_mm512_and_si512(h23, two), 4));
      sc[2 * half] = _mm512_permutexvar_epi32(quarters(8 * half), scz16);
      sc[2 * half + 1] = _mm512_permutexvar_epi32(quarters(8 * half + 4), scz16);
    }
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const int8_t* xq = ac.q + (jb.i0 + i) * k + s * 256;
      // Pairs of 6-bit × int8 products, |·| ≤ 2·63·127 (no saturation), scaled into i32; two chains.
      __m512i pairs[4];
      RADSEEK_UNROLL
      for (int c = 0; c < 4; ++c) pairs[c] = _mm512_maddubs_epi16(z[c], _mm512_loadu_si512(xq + 64 * c));
      const __m512i isum = _mm512_add_epi32(_mm512_dpwssd_epi32(_mm512_madd_epi16(pairs[0], sc[0]), pairs[2], sc[2]),
                                            _mm512_dpwssd_epi32(_mm512_madd_epi16(pairs[1], sc[1]), pairs[3], sc[3]));
      const float st = ac.step[(jb.i0 + i) * S + s];
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_set1_ps(d * st), acc[i]);
      const __m512i bs = _mm512_loadu_si512(ac.bsum16 + (jb.i0 + i) * (k / 16) + s * 16);
      cacc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(scz, bs)), _mm512_set1_ps(32.0f * d * st), cacc[i]);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) jb.out[i] = _mm512_reduce_add_ps(acc[i]) - _mm512_reduce_add_ps(cacc[i]);
}

template <int MR>
void row_any(GgmlQuant t, const RowJob& jb) {
  switch (t) {
    case GgmlQuant::kQ8_0: return row_32<Blk32::kQ8_0, MR>(jb);
    case GgmlQuant::kQ4_0: return row_32<Blk32::kQ4_0, MR>(jb);
    case GgmlQuant::kQ5_0: return row_32<Blk32::kQ5_0, MR>(jb);
    case GgmlQuant::kQ4_1: return row_32<Blk32::kQ4_1, MR>(jb);
    case GgmlQuant::kQ5_1: return row_32<Blk32::kQ5_1, MR>(jb);
    case GgmlQuant::kQ4_K: return row_k4<false, MR>(jb);
    case GgmlQuant::kQ5_K: return row_k4<true, MR>(jb);
    case GgmlQuant::kQ6_K: return row_q6_k<MR>(jb);
    default: return;  // not reached: kNone has no weights
  }
}

void gemm_int(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const void* xq = a.xq;
  if (xq == nullptr) {
    void* buf = ref::thread_acts_buffer(ggml_acts_bytes(a.m, w.cols));
    quantize_ggml_vnni(GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = w.cols, .type = w.ggml, .out = buf});
    xq = buf;
  }
  const ref::GgmlActs ac = ref::ggml_acts_view(const_cast<void*>(xq), a.m, w.cols, w.ggml);
  if (gemm_ggml_panels(a, xq)) return;  // prefill (and short rows): repacked 16-row panels
  const int64_t rb = row_bytes(w), nblocks = w.cols / ggml_quant_info(w.ggml).block_elems;
  const auto* base = static_cast<const uint8_t*>(w.data);
  float out[kMaxMR];
  for (int64_t i0 = 0; i0 < a.m; i0 += kMaxMR) {
    const int mr = static_cast<int>(std::min<int64_t>(kMaxMR, a.m - i0));
    for (int64_t j = a.n_begin; j < a.n_end; ++j) {
      const RowJob jb{.row = base + j * rb, .nblocks = nblocks, .ac = &ac, .i0 = i0, .out = out};
      switch (mr) {
        case 4: row_any<4>(w.ggml, jb); break;
        case 3: row_any<3>(w.ggml, jb); break;
        case 2: row_any<2>(w.ggml, jb); break;
        default: row_any<1>(w.ggml, jb); break;
      }
      for (int i = 0; i < mr; ++i) a.y[(i0 + i) * a.ldy + j - a.y_col_offset] = out[i];
    }
  }
}

float dot(const float* x, const float* w, int64_t n) {
  __m512 acc = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), _mm512_loadu_ps(w + c), acc);
  const __mmask16 m = static_cast<__mmask16>((1u << (n - c)) - 1u);
  acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + c), _mm512_maskz_loadu_ps(m, w + c), acc);
  return _mm512_reduce_add_ps(acc);
}

}  // namespace

void quantize_ggml_vnni(const GgmlQuantizeArgs& a) {
  const ref::GgmlActs v = ref::ggml_acts_view(a.out, a.m, a.k, a.type);
  const int64_t k = a.k;
  for (int64_t i = 0; i < a.m; ++i) {
    quantize_row(a.x + i * a.ldx, k, v.group, v.q + i * k, v.step + i * (k / v.group), v.bsum16 + i * (k / 16));
    ref::ggml_block_sums(v, i);
  }
  pack_panel_acts(a.out, a.m, a.k, a.type);
}

// FP32 activations: each weight row dequantised once by the scalar reference, then FMA
// dot products with every activation row (kBF16: with the int8-rounded activations, code × step).
// Buffers are the calling thread's, reused across calls.
void gemm_ggml_dequant(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  const int64_t k = w.cols, rb = row_bytes(w);
  const bool int8 = a.precision == ActPrecision::kBF16;
  thread_local std::vector<float> row, xr;
  row.resize(static_cast<size_t>(k));
  const float* x = a.x;
  int64_t ldx = a.ldx;
  if (int8) {
    const void* xq = a.xq;
    if (xq == nullptr) {
      void* buf = ref::thread_acts_buffer(ggml_acts_bytes(a.m, k));
      quantize_ggml_vnni(GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = k, .type = w.ggml, .out = buf});
      xq = buf;
    }
    const ref::GgmlActs ac = ref::ggml_acts_view(const_cast<void*>(xq), a.m, k, w.ggml);
    xr.resize(static_cast<size_t>(a.m * k));
    for (int64_t i = 0; i < a.m * k; ++i) xr[i] = static_cast<float>(ac.q[i]) * ac.step[(i / k) * (k / ac.group) + (i % k) / ac.group];
    x = xr.data();
    ldx = k;
  }
  for (int64_t j = a.n_begin; j < a.n_end; ++j) {
    ref::dequantize_row_ggml(w.ggml, static_cast<const uint8_t*>(w.data) + j * rb, row.data(), k);
    for (int64_t i = 0; i < a.m; ++i) a.y[i * a.ldy + j - a.y_col_offset] = dot(x + i * ldx, row.data(), k);
  }
}

void gemm_ggml_vnni(const GemmArgs& a) {
  if (a.precision == ActPrecision::kF32) return gemm_ggml_dequant(a);
  gemm_int(a);
}

}  // namespace radseek::kernels::avx512
