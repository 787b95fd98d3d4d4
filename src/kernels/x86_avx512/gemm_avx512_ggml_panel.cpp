// AVX-512 VNNI prefill (m ≥ kPanelMinRows) for GGUF Q8_0 / Q4_K and radseek's Q8 / Q4 weights on int8
// activations (ActPrecision::kBF16), the case where the row kernels (gemm_avx512_ggml.cpp,
// gemm_avx512_q.cpp) spend most of their work per activation row on scales: there one vpdpbusd
// covers 64 columns of one weight row and is followed by a convert, a permute and an FMA (~6 uops
// per 64 multiply-adds).
//
// Here 16 weight rows are repacked once into a "panel": per 32-column block, 8 groups of
// [16 rows × 4 bytes] unsigned codes, so one 64-byte load holds 4 columns of every row and one
// vpdpbusd with 4 broadcast activation bytes gives 16 rows' partial sums. A block's 8 vpdpbusd end
// in one i32 vector per activation row — the 16 rows' integer dot products over those 32 columns —
// scaled once by the 16 rows' block scales: ~12 uops per 512 multiply-adds.
//   Q8_0 and Q8: codes w + 128 (XOR 0x80); 128·Σxq of the block is subtracted in i32 before the
//     convert. Q4: codes are the nibbles (w + 8), 8·Σxq subtracted.
//   Q4_K: codes are the 4-bit q (0..15) of sub-block s; the block scale is d·sc[s] and the min term
//     dmin·m[s]·Σxq is subtracted per block (as row_k4 does per super-block).
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
#include "kernels/ref/ggml_quants.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"

namespace radseek::kernels::avx512 {
namespace {

constexpr int kNR = 16;        // weight rows per panel: one zmm of i32 sums
constexpr int kGroups = 8;     // 4-column groups per 32-column block
constexpr int kMR = 4;         // activation rows sharing one load of a panel block

// One panel of kNR weight rows, all k columns, in 64-byte aligned storage (aligned vector loads).
// Rows past n_end are zero codes with zero scales.
struct Panel {
  std::unique_ptr<uint8_t[]> raw;
  int64_t cap_blocks = 0;
  uint8_t* codes = nullptr;  // [k/32][kGroups][kNR][4]
  float* scale = nullptr;    // [k/32][kNR]: Q8_0 d, Q4_K d·sc
  float* min = nullptr;      // [k/32][kNR]: Q4_K dmin·m (unused for Q8_0)

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
// multiplied. Why: packing gathers 4 bytes from each of 16 rows a row-length apart, which no hardware
// prefetcher follows (perf, Q8 pp512 with the pages cached: vpgatherdd 12% of samples, 5-6% with this).
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

// Q8_0 rows j0 .. j0+rows-1 (rows ≤ kNR) into the panel; a gather per 4-column group and block.
void pack_q8_0(const uint8_t* w, int64_t rb, int64_t j0, int rows, int64_t nblocks, Panel& p) {
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const uint8_t* base = w + j0 * rb;
  for (int64_t b = 0; b < nblocks; ++b) {
    const uint8_t* blk = base + b * 34;
    for (int g = 0; g < kGroups; ++g) {
      const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, blk + 2 + 4 * g, 1);
      const __m512i u = _mm512_maskz_xor_epi32(live, v, _mm512_set1_epi32(static_cast<int>(0x80808080u)));
      _mm512_store_si512(p.codes + (b * kGroups + g) * 64, u);
    }
    for (int r = 0; r < kNR; ++r) p.scale[b * kNR + r] = r < rows ? f16(blk + r * rb) : 0.0f;
  }
}

// Q4_K rows into the panel: per super-block piece c (32 bytes), low nibbles are sub-block 2c and high
// nibbles sub-block 2c+1, column by column, so one gather of 4 bytes fills a group of each.
void pack_q4_k(const uint8_t* w, int64_t rb, int64_t j0, int rows, int64_t nsuper, Panel& p) {
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const __m512i nib = _mm512_set1_epi8(0x0f);
  const uint8_t* base = w + j0 * rb;
  for (int64_t s = 0; s < nsuper; ++s) {
    const uint8_t* sb = base + s * 144;
    for (int c = 0; c < 4; ++c)
      for (int g = 0; g < kGroups; ++g) {
        const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, sb + 16 + 32 * c + 4 * g, 1);
        _mm512_store_si512(p.codes + ((8 * s + 2 * c) * kGroups + g) * 64, _mm512_and_si512(v, nib));
        _mm512_store_si512(p.codes + ((8 * s + 2 * c + 1) * kGroups + g) * 64,
                           _mm512_and_si512(_mm512_srli_epi16(v, 4), nib));
      }
    for (int r = 0; r < kNR; ++r) {
      uint8_t sc[8] = {}, mn[8] = {};
      float d = 0.0f, dmin = 0.0f;
      if (r < rows) {
        const uint8_t* q = sb + r * rb;
        d = f16(q), dmin = f16(q + 2);
        for (int j = 0; j < 8; ++j) ref::unpack_scale_min_k4(j, q + 4, &sc[j], &mn[j]);
      }
      for (int j = 0; j < 8; ++j) {
        p.scale[(8 * s + j) * kNR + r] = d * sc[j];
        p.min[(8 * s + j) * kNR + r] = dmin * mn[j];
      }
    }
  }
}

// radseek's Q8 (kI8: int8 codes, a scale per 32 columns) or Q4 (kU8: 16 bytes a group, byte b holding
// column b in its low nibble and 16+b in its high one, value nibble − 8) rows into the panel; codes
// become unsigned (Q8 + 128, Q4 the nibble itself).
void pack_group_quant(const WeightMatrix& w, int64_t j0, int rows, Panel& p) {
  const bool q4 = w.dtype == DType::kU8;
  const int64_t rb = row_bytes(w), G = w.cols / 32;
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const __m512i offs = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32(static_cast<int>(rb)));
  const __m512i nib = _mm512_set1_epi8(0x0f), flip = _mm512_set1_epi32(static_cast<int>(0x80808080u));
  const uint8_t* base = static_cast<const uint8_t*>(w.data) + j0 * rb;
  for (int64_t b = 0; b < G; ++b) {
    if (q4) {
      for (int g = 0; g < 4; ++g) {
        const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, base + b * 16 + 4 * g, 1);
        _mm512_store_si512(p.codes + (b * kGroups + g) * 64, _mm512_and_si512(v, nib));
        _mm512_store_si512(p.codes + (b * kGroups + 4 + g) * 64, _mm512_and_si512(_mm512_srli_epi16(v, 4), nib));
      }
    } else {
      for (int g = 0; g < kGroups; ++g) {
        const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, offs, base + b * 32 + 4 * g, 1);
        _mm512_store_si512(p.codes + (b * kGroups + g) * 64, _mm512_maskz_xor_epi32(live, v, flip));
      }
    }
    for (int r = 0; r < kNR; ++r) p.scale[b * kNR + r] = r < rows ? w.group_scale[(j0 + r) * G + b] : 0.0f;
  }
}

// y[i0 .. i0+MR-1, j0 .. j0+rows-1] from the panel. kOffset: the code offset whose kOffset·Σxq
// comes off each block's sums (Q8_0 / Q8 128, Q4 8); 0: Q4_K, whose min term comes off instead.
template <int kOffset, int MR>
void panel_rows(const Panel& p, const ref::GgmlActs& ac, int64_t nblocks, int64_t i0, float* const* y, __mmask16 live,
                Prefetch& pf) {
  const int64_t k = ac.k, G = k / 32;
  // Activation steps are per ac.group columns: 32 (per block) or 256 (8 blocks); group / 32 is a
  // power of two, so the step index is a shift (an integer division here per row and block had
  // cost as much as a block's products).
  const int shift = std::countr_zero(static_cast<uint64_t>(ac.group / 32));
  __m512 acc[MR], corr[MR];  // corr: Σ_b scale · step·Σxq, the offset term taken off once at the end
  const int8_t* xq[MR];
  const float* st[MR];
  const float* stbs[MR];
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) {
    acc[i] = corr[i] = _mm512_setzero_ps();
    xq[i] = ac.q + (i0 + i) * k;
    st[i] = ac.step + (i0 + i) * (k / ac.group);
    stbs[i] = ac.step_bsum32 + (i0 + i) * G;
  }
  for (int64_t b = 0; b < nblocks; ++b) {
    pf.step();
    __m512i dot[MR];
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) dot[i] = _mm512_setzero_si512();
    RADSEEK_UNROLL
    for (int g = 0; g < kGroups; ++g) {
      const __m512i c = _mm512_load_si512(p.codes + (b * kGroups + g) * 64);
      RADSEEK_UNROLL
      for (int i = 0; i < MR; ++i) {
        int32_t x4;
        std::memcpy(&x4, xq[i] + b * 32 + 4 * g, 4);
        dot[i] = _mm512_dpbusd_epi32(dot[i], c, _mm512_set1_epi32(x4));
      }
    }
    const __m512 sc = _mm512_load_ps(p.scale + b * kNR);
    const int64_t sb = b >> shift;
    RADSEEK_UNROLL
    for (int i = 0; i < MR; ++i) {
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[i]), _mm512_mul_ps(sc, _mm512_set1_ps(st[i][sb])), acc[i]);
      if constexpr (kOffset == 0)  // Q4_K: the min term dmin·m · step·Σxq
        acc[i] = _mm512_fnmadd_ps(_mm512_load_ps(p.min + b * kNR), _mm512_set1_ps(stbs[i][b]), acc[i]);
      else
        corr[i] = _mm512_fmadd_ps(sc, _mm512_set1_ps(stbs[i][b]), corr[i]);
    }
  }
  RADSEEK_UNROLL
  for (int i = 0; i < MR; ++i) {
    if constexpr (kOffset != 0) acc[i] = _mm512_fnmadd_ps(corr[i], _mm512_set1_ps(static_cast<float>(kOffset)), acc[i]);
    _mm512_mask_storeu_ps(y[i], live, acc[i]);
  }
}

template <int kOffset>
void panel_all_rows(const GemmArgs& a, const ref::GgmlActs& ac, const Panel& p, int64_t j0, int rows, Prefetch& pf) {
  const __mmask16 live = static_cast<__mmask16>((1u << rows) - 1u);
  const int64_t nblocks = a.w->cols / 32;
  float* y[kMR];
  int64_t i0 = 0;
  for (; i0 + kMR <= a.m; i0 += kMR) {
    for (int i = 0; i < kMR; ++i) y[i] = a.y + (i0 + i) * a.ldy + j0 - a.y_col_offset;
    panel_rows<kOffset, kMR>(p, ac, nblocks, i0, y, live, pf);
  }
  for (; i0 < a.m; ++i0) {
    y[0] = a.y + i0 * a.ldy + j0 - a.y_col_offset;
    panel_rows<kOffset, 1>(p, ac, nblocks, i0, y, live, pf);
  }
}

}  // namespace

bool gemm_ggml_panels(const GemmArgs& a, const ref::GgmlActs& ac) {
  const WeightMatrix& w = *a.w;
  const bool q4k = w.ggml == GgmlQuant::kQ4_K;
  if (a.m < kPanelMinRows || (!q4k && w.ggml != GgmlQuant::kQ8_0)) return false;
  const int64_t k = w.cols, nblocks = k / 32, rb = row_bytes(w);
  thread_local Panel p;  // the calling thread's
  p.reserve(nblocks);
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t j0 = a.n_begin; j0 < a.n_end; j0 += kNR) {
    const int rows = static_cast<int>(std::min<int64_t>(kNR, a.n_end - j0));
    const int64_t next = std::min(a.n_end, j0 + kNR);  // the next panel's first row (n_end: none)
    Prefetch pf(base + next * rb, (std::min(a.n_end, next + kNR) - next) * rb, nblocks);
    if (q4k) {
      pack_q4_k(base, rb, j0, rows, k / 256, p);
      panel_all_rows<0>(a, ac, p, j0, rows, pf);
    } else {
      pack_q8_0(base, rb, j0, rows, nblocks, p);
      panel_all_rows<128>(a, ac, p, j0, rows, pf);
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
  const ref::GgmlActs ac = ref::ggml_acts_view(buf, a.m, w.cols, GgmlQuant::kQ8_0);
  thread_local Panel p;  // the calling thread's
  p.reserve(w.cols / 32);
  const int64_t rb = row_bytes(w), G = w.cols / 32;
  for (int64_t j0 = a.n_begin; j0 < a.n_end; j0 += kNR) {
    const int rows = static_cast<int>(std::min<int64_t>(kNR, a.n_end - j0));
    const int64_t next = std::min(a.n_end, j0 + kNR), next_rows = std::min(a.n_end, next + kNR) - next;
    Prefetch pf(static_cast<const uint8_t*>(w.data) + next * rb, next_rows * rb, G);
    prefetch_head(w.group_scale + next * G, next_rows * G * 4);  // its scale rows, at once (small)
    pack_group_quant(w, j0, rows, p);
    if (w.dtype == DType::kU8) panel_all_rows<8>(a, ac, p, j0, rows, pf);
    else panel_all_rows<128>(a, ac, p, j0, rows, pf);
  }
  return true;
}

}  // namespace radseek::kernels::avx512
