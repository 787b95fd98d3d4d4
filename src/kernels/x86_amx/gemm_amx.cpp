// AMX-BF16 gemm for ActPrecision::kBF16 with BF16 or FP8 weights and m >= kMinRows: tdpbf16ps on the
// same packed chunks as the AVX512_BF16 kernel (pack_avx512.h); smaller or other products go there.
//
// Legend: m activation rows, k reduction length, n weight rows. Tiles: C0..C3 (tmm0-3) = a 32 × 32
// block of y partial sums (2 × 2 tiles of 16 × 16 f32), A (tmm4-5) = 16 activation rows × 32 k
// bf16, B (tmm6-7) = 16 k-pairs × 16 weight rows (VNNI pairs). Loop nest as in the AVX512_BF16
// kernel: per (activation block, k chunk) the A chunk is packed once and every 32-row weight panel
// is converted into bp[] once and multiplied by all activation rows; after each chunk the C tiles go
// to a stack buffer and y += C · scale in f32 (the FP8 block scale, as the reference applies it).
// Tile state is configured on entry and released on exit, so callers need no AMX awareness.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>


#include "kernels/kernels.h"
#include "kernels/variants.h"
#include "kernels/x86_avx512/avx512_convert.h"
#include "kernels/x86_avx512/pack_avx512.h"

namespace radseek::kernels::amx {
namespace {

constexpr int64_t kMinRows = 16;      // one full A tile; below it the AVX512_BF16 kernel is as fast
constexpr int64_t kBlockRows = 256;   // activation rows per A chunk: 256 × 128 bf16 = 64 KiB (L2)
constexpr int64_t kTileRows = 16;
constexpr int64_t kArchReqXcompPerm = 0x1023;  // arch/x86/include/uapi/asm/prctl.h
constexpr int64_t kXfeatureXtiledata = 18;

using avx512::kPackK;
using avx512::kPackN;

// ldtilecfg's 64-byte operand (Intel SDM vol. 1 §18.2, palette 1).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

void configure_tiles() {
  TileConfig cfg;
  RADSEEK_UNROLL
  for (int t = 0; t < 8; ++t) {
    cfg.colsb[t] = 64;  // every tile row is 64 bytes: 16 f32, or 32 bf16
    cfg.rows[t] = kTileRows;
  }
  _tile_loadconfig(&cfg);
}

struct Block {
  const uint16_t* ap;  // [rows_padded][kPackK]
  const uint32_t* bp;  // [kPackK / 2][kPackN]
  const float* sv;     // [kPackN]
  int64_t kc;          // padded chunk length (multiple of 32)
  float* y;            // y at (first activation row of the block, n0)
  int64_t ldy;
  int64_t valid_n;
  bool first;
};

// y[i.. i+rows) × 32 panel rows (+)= scale · C, C read from the stored tiles c[32][32].
void store_rows(const Block& b, const float* c, int64_t i, int64_t rows) {
  const __mmask16 m0 = static_cast<__mmask16>(b.valid_n >= 16 ? 0xffff : (1u << b.valid_n) - 1u);
  const __mmask16 m1 = static_cast<__mmask16>(b.valid_n >= 32 ? 0xffff : b.valid_n <= 16 ? 0 : (1u << (b.valid_n - 16)) - 1u);
  const __m512 s0 = _mm512_load_ps(b.sv), s1 = _mm512_load_ps(b.sv + 16);
  for (int64_t r = 0; r < rows; ++r) {
    float* yr = b.y + (i + r) * b.ldy;
    __m512 v0 = _mm512_mul_ps(_mm512_load_ps(c + r * 32), s0);
    __m512 v1 = _mm512_mul_ps(_mm512_load_ps(c + r * 32 + 16), s1);
    if (!b.first) {
      v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, yr));
      v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, yr + 16));
    }
    _mm512_mask_storeu_ps(yr, m0, v0);
    _mm512_mask_storeu_ps(yr + 16, m1, v1);
  }
}

// 32 activation rows (two A tiles, rows past the data are zero-padded) × the 32-row panel.
void tile_32x32(const Block& b, int64_t i, int64_t rows) {
  alignas(64) float c[32 * 32];
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  const int64_t lda = kPackK * 2;  // bytes per packed A row
  const int64_t ldb = kPackN * 4;  // bytes per packed B k-pair row
  for (int64_t kk = 0; kk < b.kc; kk += 32) {
    _tile_loadd(4, b.ap + i * kPackK + kk, lda);
    _tile_loadd(5, b.ap + (i + 16) * kPackK + kk, lda);
    _tile_loadd(6, b.bp + (kk / 2) * kPackN, ldb);
    _tile_loadd(7, b.bp + (kk / 2) * kPackN + 16, ldb);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  _tile_stored(0, c, 128);
  _tile_stored(1, c + 16, 128);
  _tile_stored(2, c + 16 * 32, 128);
  _tile_stored(3, c + 16 * 32 + 16, 128);
  store_rows(b, c, i, std::min<int64_t>(rows - i, 32));
}

void gemm_tiles(const GemmArgs& a) {
  const WeightMatrix& w = *a.w;
  alignas(64) uint16_t ap[kBlockRows * kPackK];
  alignas(64) uint32_t bp[kPackK / 2 * kPackN];
  alignas(64) float sv[kPackN];
  configure_tiles();
  for (int64_t i0 = 0; i0 < a.m; i0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, a.m - i0);
    const int64_t rows_padded = (rows + 31) / 32 * 32;
    for (int64_t k0 = 0; k0 < w.cols;) {
      const int64_t k1 = avx512::chunk_end(w, k0);
      avx512::pack_a(a.x + i0 * a.ldx, a.ldx, rows, rows_padded, k0, k1, ap);
      for (int64_t n0 = a.n_begin; n0 < a.n_end; n0 += kPackN) {
        avx512::pack_b(w, n0, a.n_end, k0, k1, bp);
        avx512::chunk_scales(w, n0, a.n_end, k0, sv);
        const Block b{.ap = ap, .bp = bp, .sv = sv, .kc = avx512::padded_k(k0, k1),
                      .y = a.y + i0 * a.ldy + n0 - a.y_col_offset, .ldy = a.ldy, .valid_n = a.n_end - n0, .first = k0 == 0};
        for (int64_t i = 0; i < rows; i += 32) tile_32x32(b, i, rows);
      }
      k0 = k1;
    }
  }
  _tile_release();
}

}  // namespace

bool request_permission() {
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

void gemm(const GemmArgs& a) {
  const DType d = a.w->dtype;
  if (a.precision == ActPrecision::kBF16 && (d == DType::kBF16 || d == DType::kF8E4M3) && a.m >= kMinRows) {
    gemm_tiles(a);
  } else {
    avx512::gemm_bf16(a);
  }
}

}  // namespace radseek::kernels::amx
