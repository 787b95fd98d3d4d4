// AVX-512 VNNI prefill (m ≥ kPanelMinRows) for every GGUF block type radseek reads and radseek's Q8 / Q4 weights on int8
// activations (ActPrecision::kBF16), the case where the row kernels (gemm_avx512_ggml.cpp,
// gemm_avx512_q.cpp) spend most of their work per activation row on scales: there one vpdpbusd
// covers 64 columns of one weight row and is followed by a convert, a permute and an FMA (~6 uops
// per 64 multiply-adds).
//
// Here 16 weight rows are repacked once into a "panel": per 32-column block, 8 groups of
// [16 rows × 4 bytes] unsigned codes, so one 64-byte load holds 4 columns of every row and one
// vpdpbusd with 4 broadcast activation bytes gives 16 rows' partial sums. A block's 8 vpdpbusd end
// in one i32 vector per activation row — the 16 rows' integer dot products over those 32 columns —
// scaled once by the 16 rows' block scales: ~11 uops per 512 multiply-adds.
//   Signed formats hold w + 128 as codes, so each block's i32 sums start at −128·Σxq (PanelActs):
//     Q8_0 and Q8 w XOR 0x80, Q4_0 and Q4 the nibble + 120, Q5_0 the nibble plus 16 where the
//     column's qh bit is set, + 112. Q4_1 / Q5_1: the codes are q (x = q·d + m), and m·Σxq is added
//     per block as Q4_K's min term.
//   Q4_K / Q5_K: codes are the 4-bit q (0..15; Q5_K 0..31) of sub-block s; the block scale is d·sc[s] and the min term
//     dmin·m[s]·Σxq is subtracted per block (as row_k4 does per super-block).
//   Q6_K: codes are the 6-bit q + 96 (w + 128); a 32-column block holds two 16-column sub-blocks
//     with their own scales d·sc, so its groups 0-3 and 4-7 sum apart, each from its own −128·Σxq.
// Integer sums are exact and every term is the reference's, in another order: results agree with
// the references (ref::gemm_ggml, ref gemm_q) to float rounding. Legend: k = w.cols, NR = 16 weight rows per panel.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>

#include "kernels/kernels.h"
#include "kernels/prefetch.h"
#include "kernels/ref/ggml_gemm.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kNR = 16;        // weight rows per panel: one zmm of i32 sums
constexpr int kGroups = 8;     // 4-column groups per 32-column block
// Activation rows sharing one load of a panel block (one 1408 × 2048 product, m = 48, one thread,
// best of 5: Q8_0 834 → 757 µs with 8 rather than 4; Q4_K 844 → 954 until the broadcasts were folded
// into vpdpbusd, which freed their registers, then 792 → 727).
constexpr int kMR = 8;
// Rows this short go through panels at any m (gemm_ggml_panels).
constexpr int64_t kShortRowCols = 256;
// 4 activation codes read as one i32 in place: int8 storage may be read through this type.
using UnalignedI32 = int32_t __attribute__((may_alias, aligned(1)));

// acc + vpdpbusd(u8, the 4 signed bytes at s8x4 broadcast) with the broadcast as the instruction's
// m32{1to16} operand, one fused uop; GCC emits a separate vpbroadcastd for the intrinsic, and with
// 8 activation rows those broadcasts made a block's uops outnumber what the front end issues in the
// time its 64 vpdpbusd take.
inline __m512i dpbusd_bcast(__m512i acc, __m512i u8, const int8_t* s8x4) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u8), "m"(*reinterpret_cast<const UnalignedI32*>(s8x4)));
  return acc;
}

// One panel of kNR weight rows, all k columns, in 64-byte aligned storage (aligned vector loads).
// Rows past n_end are zero codes with zero scales.
struct Panel {
  std::unique_ptr<uint8_t[]> raw;
  int64_t cap_blocks = 0;
  uint8_t* codes = nullptr;  // [k/32][kGroups][kNR][4]
  float* scale = nullptr;    // [k/32][kNR]: Q8_0 d, Q4_K d·sc, Q6_K d·sc of columns 0-15
  float* min = nullptr;      // [k/32][kNR]: Q4_K dmin·m, Q6_K d·sc of columns 16-31 (unused for Q8_0)

  // Grown only when a longer row comes: no allocation per call once warm.
  void reserve(int64_t nblocks) {
    if (nblocks <= cap_blocks) return;
    const int64_t code_bytes = nblocks * kGroups * 64, vec_bytes = nblocks * kNR * 4;
    raw = std::make_unique<uint8_t[]>(static_cast<size_t>(code_bytes + 2 * vec_bytes + 64));
    const auto at = reinterpret_cast<uintptr_t>(raw.get());
    codes = raw.get() + ((64 - at % 64) % 64);
    scale = reinterpret_cast<float*>(codes + code_bytes);
    min = reinterpret_cast<float*>(codes + code_bytes + vec_bytes);
    cap_blocks = nblocks;
  }
};

// The next panel's weight rows, requested into L2 a few lines per block while the current panel is
// multiplied. Why: packing reads a block from each of 16 rows a row-length apart, which no hardware
// prefetcher follows (perf, Q8 pp512 with the pages cached, when packing gathered: vpgatherdd 12% of
// samples, 5-6% with this).
struct Prefetch {
  const uint8_t* at = nullptr;
  const uint8_t* end = nullptr;
  int64_t lines = 0;  // per block of the current panel's first pass

  // Spreads [begin, begin + bytes) over `nblocks` calls of step().
  Prefetch(const void* begin, int64_t bytes, int64_t nblocks)
      : at(static_cast<const uint8_t*>(begin)), end(at + bytes), lines((bytes + 64 * nblocks - 1) / (64 * nblocks)) {}
  void step() {
    if (at >= end) return;
    for (int64_t l = 0; l < lines; ++l) _mm_prefetch(reinterpret_cast<const char*>(at + 64 * l), _MM_HINT_T1);
    at += 64 * lines;  // may pass `end` by part of a step: prefetches never fault
  }
};

float f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// The 32 bytes at row + r·rb (r < 16) as 8 vectors: out[g] holds dword g of every row, row r in lane
// r. Loads and a dword transpose (24 shuffles) in place of 8 gathers, which took a third as long as
// the products they feed (pp512, perf). Row pairs r, r+8 share a register, so one 8 × 8 transpose per
// 256-bit half serves both halves of the panel.
inline void transpose_rows32(const uint8_t* row, int64_t rb, __m512i (&out)[8]) {
  __m512i z[8], a[8];
  RADSEEK_UNROLL
  for (int r = 0; r < 8; ++r)
    z[r] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + r * rb))),
                              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + (r + 8) * rb)), 1);
  RADSEEK_UNROLL
  for (int r = 0; r < 8; r += 2) {
    a[r] = _mm512_unpacklo_epi32(z[r], z[r + 1]);  // per 128-bit lane: r[0] r+1[0] r[1] r+1[1]
    a[r + 1] = _mm512_unpackhi_epi32(z[r], z[r + 1]);
  }
  RADSEEK_UNROLL
  for (int h = 0; h < 8; h += 4) {  // rows h .. h+3: b[e] holds their dword e of each 128-bit lane
    z[h + 0] = _mm512_unpacklo_epi64(a[h], a[h + 2]);
    z[h + 1] = _mm512_unpackhi_epi64(a[h], a[h + 2]);
    z[h + 2] = _mm512_unpacklo_epi64(a[h + 1], a[h + 3]);
    z[h + 3] = _mm512_unpackhi_epi64(a[h + 1], a[h + 3]);
  }
  // Lane q of each 256-bit half holds dwords 4q..4q+3: interleave rows 0-3 and 4-7 lane by lane.
  const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
  RADSEEK_UNROLL
  for (int e = 0; e < 4; ++e) {
    out[e] = _mm512_permutex2var_epi64(z[e], lo, z[4 + e]);
    out[4 + e] = _mm512_permutex2var_epi64(z[e], hi, z[4 + e]);
  }
}

// As transpose_rows32 for 16 bytes a row: out[g], g < 4.
inline void transpose_rows16(const uint8_t* row, int64_t rb, __m512i (&out)[4]) {
  __m512i z[4];
  RADSEEK_UNROLL
  for (int j = 0; j < 4; ++j) {  // lane L: row j + 4L
    const auto ld = [&](int r) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + r * rb)); };
    const __m256i lo = _mm256_inserti128_si256(_mm256_castsi128_si256(ld(j)), ld(j + 4), 1);
    const __m256i hi = _mm256_inserti128_si256(_mm256_castsi128_si256(ld(j + 8)), ld(j + 12), 1);
    z[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
  const __m512i a0 = _mm512_unpacklo_epi32(z[0], z[1]), a1 = _mm512_unpackhi_epi32(z[0], z[1]);
  const __m512i a2 = _mm512_unpacklo_epi32(z[2], z[3]), a3 = _mm512_unpackhi_epi32(z[2], z[3]);
  out[0] = _mm512_unpacklo_epi64(a0, a2);
  out[1] = _mm512_unpackhi_epi64(a0, a2);
  out[2] = _mm512_unpacklo_epi64(a1, a3);
  out[3] = _mm512_unpackhi_epi64(a1, a3);
}

// [kNR][8] floats (8 per-sub-block factors of each row) → [8][kNR] at out (64-byte aligned): the
// dword transpose of transpose_rows32, in place of 16 scatters a super-block (which had taken half
// of Q4_K's packing; perf).
inline void store_columns(const float (&rowwise)[kNR][8], float* out) {
  __m512i v[8];
  transpose_rows32(reinterpret_cast<const uint8_t*>(rowwise), 32, v);
  RADSEEK_UNROLL
  for (int j = 0; j < 8; ++j) _mm512_store_si512(out + j * kNR, v[j]);
}

// Q8_0 rows j0 .. j0+rows-1 (rows ≤ kNR) into the panel: a full panel by transpose_rows32, a partial
// one (the end of a task's rows) by a masked gather per 4-column group and block.
void pack_q8_0(const uint8_t* w, int64_t rb, int64_t j0, int rows, int64_t nblocks, Panel& p) {
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const uint8_t* base = w + j0 * rb;
  for (int64_t b = 0; b < nblocks; ++b) {
    const uint8_t* blk = base + b * 34;
    __m512i v[kGroups];
    if (rows == kNR) transpose_rows32(blk + 2, rb, v);
    RADSEEK_UNROLL
    for (int g = 0; g < kGroups; ++g) {
      if (rows < kNR) v[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, blk + 2 + 4 * g, 1);
      const __m512i u = _mm512_maskz_xor_epi32(live, v[g], _mm512_set1_epi32(static_cast<int>(0x80808080u)));
      _mm512_store_si512(p.codes + (b * kGroups + g) * 64, u);
    }
    for (int r = 0; r < kNR; ++r) p.scale[b * kNR + r] = r < rows ? f16(blk + r * rb) : 0.0f;
  }
}

// Q4_0 / Q5_0 / Q4_1 / Q5_1 rows into the panel: the 16 nibble bytes as radseek's Q4 (low nibbles
// columns 0-15, high 16-31); with kFive group g (columns 4g .. 4g+3) gets 16 in byte e where bit
// 4g+e of the row's qh is set: the 4 bits index a 16-entry table of byte patterns (one permute per
// group for all 16 rows). kMin (x = q·d + m): min holds −m, which the kMin epilogue takes off.
template <bool kFive, bool kMin>
void pack_nibbles(const uint8_t* w, int64_t rb, int64_t j0, int rows, int64_t nblocks, Panel& p) {
  constexpr int64_t kBytes = 18 + (kFive ? 4 : 0) + (kMin ? 2 : 0), kQh = kMin ? 4 : 2, kQs = kQh + (kFive ? 4 : 0);
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const __m512i nib = _mm512_set1_epi8(0x0f), four = _mm512_set1_epi32(0xf);
  // fifth[x]: byte e is 16 where bit e of x is set.
  const __m512i fifth = _mm512_setr_epi32(0x00000000, 0x00000010, 0x00001000, 0x00001010, 0x00100000, 0x00100010,
                                          0x00101000, 0x00101010, 0x10000000, 0x10000010, 0x10001000, 0x10001010,
                                          0x10100000, 0x10100010, 0x10101000, 0x10101010);
  const uint8_t* base = w + j0 * rb;
  for (int64_t b = 0; b < nblocks; ++b) {
    const uint8_t* blk = base + b * kBytes;
    __m512i v[4];
    if (rows == kNR) transpose_rows16(blk + kQs, rb, v);
    __m512i qh = _mm512_setzero_si512();  // lane r: row r's
    if constexpr (kFive) qh = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, blk + kQh, 1);
    RADSEEK_UNROLL
    for (int g = 0; g < 4; ++g) {
      if (rows < kNR) v[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, blk + kQs + 4 * g, 1);
      __m512i lo = _mm512_and_si512(v[g], nib), hi = _mm512_and_si512(_mm512_srli_epi16(v[g], 4), nib);
      if constexpr (kFive) {
        lo = _mm512_or_si512(lo, _mm512_permutexvar_epi32(_mm512_and_si512(_mm512_srli_epi32(qh, 4 * g), four), fifth));
        hi = _mm512_or_si512(hi, _mm512_permutexvar_epi32(_mm512_and_si512(_mm512_srli_epi32(qh, 4 * g + 16), four), fifth));
      }
      if constexpr (!kMin) {  // w + 128: Q4_0 q + 120, Q5_0 q + 112
        lo = _mm512_add_epi8(lo, _mm512_set1_epi8(kFive ? 112 : 120));
        hi = _mm512_add_epi8(hi, _mm512_set1_epi8(kFive ? 112 : 120));
      }
      _mm512_store_si512(p.codes + (b * kGroups + g) * 64, lo);
      _mm512_store_si512(p.codes + (b * kGroups + 4 + g) * 64, hi);
    }
    for (int r = 0; r < kNR; ++r) {
      p.scale[b * kNR + r] = r < rows ? f16(blk + r * rb) : 0.0f;
      if constexpr (kMin) p.min[b * kNR + r] = r < rows ? -f16(blk + r * rb + 2) : 0.0f;
    }
  }
}

// Q6_K rows into the panel. Block j (32 columns) of half h of a super-block: the low (j < 2) or high
// nibbles of ql bytes 64h + 32(j % 2) .. +31, and bits 2j, 2j+1 of qh bytes 128 + 32h .. +31 as
// bits 4-5; its sub-blocks' scales are sc[8h + 2j] and sc[8h + 2j + 1] (ggml's dequantize_row_q6_K).
void pack_q6_k(const uint8_t* w, int64_t rb, int64_t j0, int rows, int64_t nsuper, Panel& p) {
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const __m512i nib = _mm512_set1_epi8(0x0f), two = _mm512_set1_epi8(3);
  const uint8_t* base = w + j0 * rb;
  for (int64_t s = 0; s < nsuper; ++s) {
    const uint8_t* sb = base + s * 210;
    for (int h = 0; h < 2; ++h) {
      __m512i qh[kGroups];
      if (rows == kNR) transpose_rows32(sb + 128 + 32 * h, rb, qh);
      for (int q = 0; q < 2; ++q) {  // ql bytes 64h + 32q .. +31: blocks q (low nibbles) and q + 2 (high)
        __m512i ql[kGroups];
        if (rows == kNR) transpose_rows32(sb + 64 * h + 32 * q, rb, ql);
        RADSEEK_UNROLL
        for (int g = 0; g < kGroups; ++g) {
          if (rows < kNR) {
            ql[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, sb + 64 * h + 32 * q + 4 * g, 1);
            if (q == 0) qh[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, sb + 128 + 32 * h + 4 * g, 1);
          }
          for (int hi = 0; hi < 2; ++hi) {
            const int j = q + 2 * hi;  // block within the half
            const __m512i low4 = _mm512_and_si512(hi ? _mm512_srli_epi16(ql[g], 4) : ql[g], nib);
            const __m512i top2 = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh[g], 2 * j), two), 4);
            _mm512_store_si512(p.codes + ((8 * s + 4 * h + j) * kGroups + g) * 64,
                               _mm512_add_epi8(_mm512_or_si512(low4, top2), _mm512_set1_epi8(96)));  // w + 128
          }
        }
      }
    }
    // Row r's 16 sub-block scales d·sc → column r of scale (even sub-blocks) and min (odd) [8][kNR].
    const __m128i even = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    alignas(64) float lo[kNR][8], hi[kNR][8];
    for (int r = 0; r < kNR; ++r) {
      __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
      if (r < rows) {
        const uint8_t* q = sb + r * rb;
        const __m128i sc = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 192)), even);
        const __m256 d = _mm256_set1_ps(f16(q + 208));
        a = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc)));
        b = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc, 8))));
      }
      _mm256_store_ps(lo[r], a);
      _mm256_store_ps(hi[r], b);
    }
    store_columns(lo, p.scale + 8 * s * kNR);
    store_columns(hi, p.min + 8 * s * kNR);
  }
}

// Q4_K rows into the panel: per super-block piece c (32 bytes), low nibbles are sub-block 2c and high
// nibbles sub-block 2c+1, column by column, so one gather of 4 bytes fills a group of each. Q5_K
// (kQ5): 32 qh bytes sit between the scales and the nibbles; bit 2c (2c+1) of qh[l] adds 16 to
// column l of sub-block 2c (2c+1).
template <bool kQ5>
void pack_k4(const uint8_t* w, int64_t rb, int64_t j0, int rows, int64_t nsuper, Panel& p) {
  constexpr int64_t kBytes = kQ5 ? 176 : 144, kQs = kQ5 ? 48 : 16;
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const __m512i nib = _mm512_set1_epi8(0x0f), one = _mm512_set1_epi8(1);
  const uint8_t* base = w + j0 * rb;
  for (int64_t s = 0; s < nsuper; ++s) {
    const uint8_t* sb = base + s * kBytes;
    __m512i qh[kGroups];
    if constexpr (kQ5) {
      if (rows == kNR) transpose_rows32(sb + 16, rb, qh);
      else
        for (int g = 0; g < kGroups; ++g) qh[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, sb + 16 + 4 * g, 1);
    }
    // 16 where bit b of each qh byte is set (kQ5), else nothing to add.
    const auto fifth = [&](int g, int b) {
      return kQ5 ? _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh[g], b), one), 4) : _mm512_setzero_si512();
    };
    for (int c = 0; c < 4; ++c) {
      __m512i v[kGroups];
      if (rows == kNR) transpose_rows32(sb + kQs + 32 * c, rb, v);
      RADSEEK_UNROLL
      for (int g = 0; g < kGroups; ++g) {
        if (rows < kNR) v[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, sb + kQs + 32 * c + 4 * g, 1);
        _mm512_store_si512(p.codes + ((8 * s + 2 * c) * kGroups + g) * 64,
                           _mm512_or_si512(_mm512_and_si512(v[g], nib), fifth(g, 2 * c)));
        _mm512_store_si512(p.codes + ((8 * s + 2 * c + 1) * kGroups + g) * 64,
                           _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v[g], 4), nib), fifth(g, 2 * c + 1)));
      }
    }
    // Row r's 8 sub-block scales d·sc_j and mins dmin·m_j go to column r of [8][kNR].
    alignas(64) float sc[kNR][8], mn[kNR][8];
    for (int r = 0; r < kNR; ++r) {
      __m256 a = _mm256_setzero_ps(), m = _mm256_setzero_ps();
      if (r < rows) {
        const uint8_t* q = sb + r * rb;
        const __m128i u = unpack_k4_scales(q + 4);
        a = _mm256_mul_ps(_mm256_set1_ps(f16(q)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(u)));
        m = _mm256_mul_ps(_mm256_set1_ps(f16(q + 2)), _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(u, 8))));
      }
      _mm256_store_ps(sc[r], a);
      _mm256_store_ps(mn[r], m);
    }
    store_columns(sc, p.scale + 8 * s * kNR);
    store_columns(mn, p.min + 8 * s * kNR);
  }
}

// radseek's Q8 (kI8: int8 codes, a scale per 32 columns) or Q4 (kU8: 16 bytes a group, byte b holding
// column b in its low nibble and 16+b in its high one, value nibble − 8) rows into the panel as
// unsigned codes w + 128 (Q8 code + 128, Q4 nibble + 120).
void pack_group_quant(const WeightMatrix& w, int64_t j0, int rows, Panel& p) {
  const bool q4 = w.dtype == DType::kU8;
  const int64_t rb = row_bytes(w), G = w.cols / 32;
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const __m512i nib = _mm512_set1_epi8(0x0f), c120 = _mm512_set1_epi8(120);
  const __m512i flip = _mm512_set1_epi32(static_cast<int>(0x80808080u));
  const uint8_t* base = static_cast<const uint8_t*>(w.data) + j0 * rb;
  for (int64_t b = 0; b < G; ++b) {
    if (q4) {
      __m512i v[4];
      if (rows == kNR) transpose_rows16(base + b * 16, rb, v);
      RADSEEK_UNROLL
      for (int g = 0; g < 4; ++g) {
        if (rows < kNR) v[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, base + b * 16 + 4 * g, 1);
        _mm512_store_si512(p.codes + (b * kGroups + g) * 64, _mm512_add_epi8(_mm512_and_si512(v[g], nib), c120));
        _mm512_store_si512(p.codes + (b * kGroups + 4 + g) * 64,
                           _mm512_add_epi8(_mm512_and_si512(_mm512_srli_epi16(v[g], 4), nib), c120));
      }
    } else {
      __m512i v[kGroups];
      if (rows == kNR) transpose_rows32(base + b * 32, rb, v);
      RADSEEK_UNROLL
      for (int g = 0; g < kGroups; ++g) {
        if (rows < kNR) v[g] = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, base + b * 32 + 4 * g, 1);
        _mm512_store_si512(p.codes + (b * kGroups + g) * 64, _mm512_maskz_xor_epi32(live, v[g], flip));
      }
    }
    for (int r = 0; r < kNR; ++r) p.scale[b * kNR + r] = r < rows ? w.group_scale[(j0 + r) * G + b] : 0.0f;
  }
}

// Panel formats by how a block's sums are scaled: kOffset (Q8_0, Q4_0, Q5_0, Q8, Q4: codes w + 128)
// one scale per block and row; kMin (Q4_K, Q5_K; Q4_1 / Q5_1 with −m as the min): one scale, less
// min·Σxq; kHalves (Q6_K, codes w + 128): one scale per 16 columns.
enum class Epilogue { kOffset, kMin, kHalves };

// The activation rows of a product, interleaved per pass of up to kMR rows so that panel_rows reaches
// every row's codes and per-block factors from one pointer by constant offsets. Why: with a pointer
// per row for codes, steps and sums (24 for 8 rows) the compiler kept them in vector registers and on
// the stack, and moving them back cost ~170 scalar uops per block beside its 64 vpdpbusd (Q4_K, m =
// 64: 400 → 467 GOP/s a core without them). quantize_ggml_vnni writes this copy once per product
// into the tail of the shared buffer (kernels.h ggml_acts_bytes), so the tasks of a product do not
// each repack it. A pass of R rows starting at row i0:
//   q     [nblocks][kGroups][R][4] at q + i0·k          (the same bytes, reordered)
//   step  [k / group][R]           at step + i0·(k / group)
//   sum32 [nblocks][R]             at sum32 + i0·nblocks: step·Σxq of the block (the min term)
//   ioff  [nblocks][3][R]          at ioff + i0·3·nblocks: −128·Σxq of the block and of its two
//        16-column halves. Every offset type's codes are w + 128 (Epilogue), so a block's integer
//        sum starts at −128·Σxq and leaves no offset term to the float epilogue (a load, not an FMA).
struct PanelActs {
  int8_t* q;
  float* step;
  float* sum32;
  int32_t* ioff;
};

PanelActs panel_acts_view(const void* buf, int64_t m, int64_t k) {
  auto* p = const_cast<uint8_t*>(static_cast<const uint8_t*>(buf)) + ggml_acts_rows_bytes(m, k);
  PanelActs v{};
  v.q = reinterpret_cast<int8_t*>(p);
  p += (m * k + 63) / 64 * 64;
  v.step = reinterpret_cast<float*>(p);
  p += m * (k / 32) * 4;
  v.sum32 = reinterpret_cast<float*>(p);
  p += m * (k / 32) * 4;
  v.ioff = reinterpret_cast<int32_t*>(p);
  return v;
}

// One pass's view.
struct PassActs {
  const int8_t* q;
  const float* step;
  const float* sum32;
  const int32_t* ioff;
};

PassActs pass_acts(const PanelActs& v, int64_t i0, int64_t k, int64_t group) {
  const int64_t G = k / 32;
  return PassActs{.q = v.q + i0 * k, .step = v.step + i0 * (k / group), .sum32 = v.sum32 + i0 * G, .ioff = v.ioff + i0 * 3 * G};
}

// Rows i0 .. i0+R-1 of `ac` into their pass (layout above).
void pack_pass(const ref::GgmlActs& ac, int64_t i0, int R, const PanelActs& out) {
  const int64_t k = ac.k, G = k / 32, S = k / ac.group;
  const PassActs pa = pass_acts(out, i0, k, ac.group);
  auto* q = const_cast<int8_t*>(pa.q);
  auto* step = const_cast<float*>(pa.step);
  auto* sum32 = const_cast<float*>(pa.sum32);
  auto* ioff = const_cast<int32_t*>(pa.ioff);
  for (int i = 0; i < R; ++i) {
    const int8_t* src = ac.q + (i0 + i) * k;
    const float* st = ac.step + (i0 + i) * S;
    const int32_t* bs = ac.bsum16 + (i0 + i) * (k / 16);
    for (int64_t c = 0; c < k; c += 4) std::memcpy(q + (c / 4) * 4 * R + 4 * i, src + c, 4);  // [b][g][i][4]
    for (int64_t s = 0; s < S; ++s) step[s * R + i] = st[s];
    for (int64_t b = 0; b < G; ++b) {
      sum32[b * R + i] = ac.step_bsum32[(i0 + i) * G + b];
      ioff[b * 3 * R + i] = -128 * (bs[2 * b] + bs[2 * b + 1]);
      ioff[b * 3 * R + R + i] = -128 * bs[2 * b];
      ioff[b * 3 * R + 2 * R + i] = -128 * bs[2 * b + 1];
    }
  }
}

// One block's 8 groups × MR rows of vpdpbusd: dot (and dot2: odd groups, or kHalves' second half),
// started at the pass's −128·Σxq for the offset formats (`ioff`: the block's [3][MR]).
template <Epilogue kE, int MR>
inline void block_dots(const uint8_t* codes, const int8_t* q, const int32_t* ioff, __m512i (&dot)[MR], __m512i (&dot2)[MR]) {
  // With few rows a pass, two chains a row (even and odd groups) halve the vpdpbusd latency the
  // block waits for; kHalves keeps the block's two 16-column halves apart instead.
  constexpr bool kSplit = kE == Epilogue::kHalves;
  constexpr int kChains = kSplit || MR <= 4 ? 2 : 1;
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) {
    if constexpr (kE == Epilogue::kMin) dot[i] = _mm512_setzero_si512();
    else dot[i] = _mm512_set1_epi32(ioff[(kSplit ? MR : 0) + i]);
    dot2[i] = kSplit ? _mm512_set1_epi32(ioff[2 * MR + i]) : _mm512_setzero_si512();
  }
  RADSEEK_UNROLL
  for (int g = 0; g < kGroups; ++g) {
    const __m512i c = _mm512_load_si512(codes + g * 64);
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      __m512i& d = kChains == 2 && (kSplit ? g >= kGroups / 2 : g % 2 == 1) ? dot2[i] : dot[i];
      d = dpbusd_bcast(d, c, q + g * 4 * MR + 4 * i);
    }
  }
  if constexpr (kChains == 2 && !kSplit) {
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) dot[i] = _mm512_add_epi32(dot[i], dot2[i]);
  }
}

// y[pass rows, j0 .. j0+rows-1] from the panel, one activation step per block's group (`shift`:
// log2 of group / 32).
template <Epilogue kE, int MR>
void panel_rows(const Panel& p, const PassActs& pa, int64_t nblocks, int shift, float* const* y, __mmask16 live,
                Prefetch& pf) {
  __m512 acc[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nblocks; ++b) {
    pf.step();
    __m512i dot[MR], dot2[MR];
    block_dots<kE, MR>(p.codes + b * kGroups * 64, pa.q + b * 32 * MR, pa.ioff + b * 3 * MR, dot, dot2);
    const __m512 sc = _mm512_load_ps(p.scale + b * kNR);
    const float* st = pa.step + (b >> shift) * MR;
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      const __m512 step = _mm512_set1_ps(st[i]);
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i]), _mm512_mul_ps(sc, step), acc[i]);
      if constexpr (kE == Epilogue::kMin) {  // the min term min·step·Σxq
        acc[i] = _mm512_fnmadd_ps(_mm512_load_ps(p.min + b * kNR), _mm512_set1_ps(pa.sum32[b * MR + i]), acc[i]);
      } else if constexpr (kE == Epilogue::kHalves) {  // Q6_K: the second half's own scale
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot2[i]), _mm512_mul_ps(_mm512_load_ps(p.min + b * kNR), step), acc[i]);
      }
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y[i], live, acc[i]);
}

// As panel_rows for kMin with one activation step per 256 columns (Q4_K, Q5_K): a super-block's 8
// block sums gather as Σ sc·dot and take the step once (a multiply less per row and block).
template <int MR>
void panel_rows_k(const Panel& p, const PassActs& pa, int64_t nblocks, float* const* y, __mmask16 live, Prefetch& pf) {
  __m512 acc[MR], part[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t s = 0; s < nblocks / 8; ++s) {
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) part[i] = _mm512_setzero_ps();
    for (int64_t b = 8 * s; b < 8 * s + 8; ++b) {
      pf.step();
      __m512i dot[MR], dot2[MR];
      block_dots<Epilogue::kMin, MR>(p.codes + b * kGroups * 64, pa.q + b * 32 * MR, nullptr, dot, dot2);
      const __m512 sc = _mm512_load_ps(p.scale + b * kNR), mn = _mm512_load_ps(p.min + b * kNR);
      const float* s32 = pa.sum32 + b * MR;
      RADSEEK_UNROLL
      for (int i = 0; i < MR; ++i) {
        part[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i]), sc, part[i]);
        acc[i] = _mm512_fnmadd_ps(mn, _mm512_set1_ps(s32[i]), acc[i]);
      }
    }
    const float* st = pa.step + s * MR;
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) acc[i] = _mm512_fmadd_ps(part[i], _mm512_set1_ps(st[i]), acc[i]);
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) _mm512_mask_storeu_ps(y[i], live, acc[i]);
}

template <Epilogue kE, int MR>
void panel_pass(const Panel& p, const PassActs& pa, int64_t nblocks, int shift, float* const* y, __mmask16 live,
                Prefetch& pf) {
  if (kE == Epilogue::kMin && shift == 3) panel_rows_k<MR>(p, pa, nblocks, y, live, pf);
  else panel_rows<kE, MR>(p, pa, nblocks, shift, y, live, pf);
}

// Every pass of the product's m rows against one panel (rows j0 .. j0+rows-1).
template <Epilogue kE>
void panel_all_rows(const GemmArgs& a, int64_t group, const PanelActs& xp, const Panel& p, int64_t j0, int rows,
                    Prefetch& pf) {
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const int64_t k = a.w->cols, nblocks = k / 32;
  const int shift = std::countr_zero(static_cast<uint64_t>(group / 32));
  float* y[kMR];
  int64_t i0 = 0;
  for (; i0 + kMR <= a.m; i0 += kMR) {
    for (int i = 0; i < kMR; ++i) y[i] = a.y + (i0 + i) * a.ldy + j0 - a.y_col_offset;
    panel_pass<kE, kMR>(p, pass_acts(xp, i0, k, group), nblocks, shift, y, live, pf);
  }
  // The last m mod kMR rows in one pass: a pass costs about the same for 1 row as for kMR (its
  // dependent vpdpbusd chains, one per row, bound it), so each row alone had cost a whole pass.
  const int tail = static_cast<int>(a.m - i0);
  for (int i = 0; i < tail; ++i) y[i] = a.y + (i0 + i) * a.ldy + j0 - a.y_col_offset;
  const PassActs pa = pass_acts(xp, i0, k, group);
  switch (tail) {
    case 7: panel_pass<kE, 7>(p, pa, nblocks, shift, y, live, pf); break;
    case 6: panel_pass<kE, 6>(p, pa, nblocks, shift, y, live, pf); break;
    case 5: panel_pass<kE, 5>(p, pa, nblocks, shift, y, live, pf); break;
    case 4: panel_pass<kE, 4>(p, pa, nblocks, shift, y, live, pf); break;
    case 3: panel_pass<kE, 3>(p, pa, nblocks, shift, y, live, pf); break;
    case 2: panel_pass<kE, 2>(p, pa, nblocks, shift, y, live, pf); break;
    case 1: panel_pass<kE, 1>(p, pa, nblocks, shift, y, live, pf); break;
    default: break;
  }
}

// Whether a product of m rows of k columns with `type` weights may go through panels: prefill, or
// short rows of the 32-column types (gemm_ggml_panels also wants 16 weight rows for those).
bool panel_product(int64_t m, int64_t k, GgmlQuant type) {
  return m >= kPanelMinRows || (k <= kShortRowCols && ggml_quant_info(type).block_elems == 32);
}

}  // namespace

void pack_panel_acts(void* buf, int64_t m, int64_t k, GgmlQuant type) {
  if (!panel_product(m, k, type)) return;  // decode of long rows: the row kernels read the row layout
  const ref::GgmlActs ac = ref::ggml_acts_view(buf, m, k, type);
  const PanelActs out = panel_acts_view(buf, m, k);
  for (int64_t i0 = 0; i0 < m; i0 += kMR) pack_pass(ac, i0, static_cast<int>(std::min<int64_t>(kMR, m - i0)), out);
}

bool gemm_ggml_panels(const GemmArgs& a, const void* xq) {
  const WeightMatrix& w = *a.w;
  // Short rows of the 32-column types (MLA's attn_k_b: 128 columns) take panels even for one
  // activation row: a row kernel pays a gather, two reductions and a store per row, more than its few
  // blocks' products. (A k-quant row of 256 or a 512-column row gained nothing or lost; GgmlShortRows.)
  if (!panel_product(a.m, w.cols, w.ggml) || (a.m < kPanelMinRows && a.n_end - a.n_begin < kNR)) return false;
  const int64_t k = w.cols, nblocks = k / 32, rb = row_bytes(w);
  thread_local Panel p;  // the calling thread's
  p.reserve(nblocks);
  const PanelActs xp = panel_acts_view(xq, a.m, k);
  const int64_t group = ref::ggml_act_group(w.ggml);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t j0 = a.n_begin; j0 < a.n_end; j0 += kNR) {
    const int rows = static_cast<int>(std::min<int64_t>(kNR, a.n_end - j0));
    const int64_t next = std::min(a.n_end, j0 + kNR);  // the next panel's first row (n_end: none)
    Prefetch pf(base + next * rb, (std::min(a.n_end, next + kNR) - next) * rb, nblocks);
    switch (w.ggml) {
      case GgmlQuant::kQ8_0:
        pack_q8_0(base, rb, j0, rows, nblocks, p);
        panel_all_rows<Epilogue::kOffset>(a, group, xp, p, j0, rows, pf);
        break;
      case GgmlQuant::kQ4_0:
        pack_nibbles<false, false>(base, rb, j0, rows, nblocks, p);
        panel_all_rows<Epilogue::kOffset>(a, group, xp, p, j0, rows, pf);
        break;
      case GgmlQuant::kQ5_0:
        pack_nibbles<true, false>(base, rb, j0, rows, nblocks, p);
        panel_all_rows<Epilogue::kOffset>(a, group, xp, p, j0, rows, pf);
        break;
      case GgmlQuant::kQ4_1:
        pack_nibbles<false, true>(base, rb, j0, rows, nblocks, p);
        panel_all_rows<Epilogue::kMin>(a, group, xp, p, j0, rows, pf);
        break;
      case GgmlQuant::kQ5_1:
        pack_nibbles<true, true>(base, rb, j0, rows, nblocks, p);
        panel_all_rows<Epilogue::kMin>(a, group, xp, p, j0, rows, pf);
        break;
      case GgmlQuant::kQ4_K:
        pack_k4<false>(base, rb, j0, rows, k / 256, p);
        panel_all_rows<Epilogue::kMin>(a, group, xp, p, j0, rows, pf);
        break;
      case GgmlQuant::kQ5_K:
        pack_k4<true>(base, rb, j0, rows, k / 256, p);
        panel_all_rows<Epilogue::kMin>(a, group, xp, p, j0, rows, pf);
        break;
      case GgmlQuant::kQ6_K:
        pack_q6_k(base, rb, j0, rows, k / 256, p);
        panel_all_rows<Epilogue::kHalves>(a, group, xp, p, j0, rows, pf);
        break;
      default:  // not reached: kNone has no weights
        break;
    }
  }
  return true;
}

bool gemm_q_panels(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  if (a.m < kPanelMinRows || a.precision != ActPrecision::kBF16 || w.cols % 32 != 0) return false;
  // Per-32 activation codes by group_quant.h's rule, as the row kernels quantise them (bit-identical):
  // linear()'s shared buffer (GemmArgs::xq), else made here.
  void* buf = const_cast<void*>(a.xq);
  if (buf == nullptr) {
    buf = ref::thread_acts_buffer(ggml_acts_bytes(a.m, w.cols));
    quantize_ggml_vnni(GgmlQuantizeArgs{.x = a.x, .m = a.m, .ldx = a.ldx, .k = w.cols, .type = GgmlQuant::kQ8_0, .out = buf});
  }
  const PanelActs xp = panel_acts_view(buf, a.m, w.cols);
  thread_local Panel p;  // the calling thread's
  p.reserve(w.cols / 32);
  const int64_t rb = row_bytes(w), G = w.cols / 32;
  for (int64_t j0 = a.n_begin; j0 < a.n_end; j0 += kNR) {
    const int rows = static_cast<int>(std::min<int64_t>(kNR, a.n_end - j0));
    const int64_t next = std::min(a.n_end, j0 + kNR), next_rows = std::min(a.n_end, next + kNR) - next;
    Prefetch pf(static_cast<const uint8_t*>(w.data) + next * rb, next_rows * rb, G);
    prefetch_head(w.group_scale + next * G, next_rows * G * 4);  // its scale rows, at once (small)
    pack_group_quant(w, j0, rows, p);
    panel_all_rows<Epilogue::kOffset>(a, 32, xp, p, j0, rows, pf);
  }
  return true;
}

}  // namespace radseek::kernels::avx512
