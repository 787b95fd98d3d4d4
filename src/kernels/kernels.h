// The kernel boundary: pure functions over raw arrays, chosen once at start-up into a KernelTable.
// Knows nothing of layers or DeepSeek. Every entry has a scalar reference (kernels/ref) that is the
// test oracle and the fallback; ISA variants live in x86_*/ and are the only place intrinsics appear.
//
// Legend: m = rows of activations (tokens), k = reduction length, n = rows of the weight matrix.
// Assumptions (checked by callers, not here): pointers valid for the stated shapes, ld >= k or n.
#pragma once

#include <cstdint>

#include "base/dtype.h"

namespace radseek::kernels {

enum class Isa : uint8_t { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAmx = 3 };
const char* isa_name(Isa isa);

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512_bf16 = false;
  bool avx512_fp16 = false;
  bool avx512_vnni = false;
  bool amx_tile = false;
  bool amx_bf16 = false;
  bool amx_int8 = false;
};
CpuFeatures detect_cpu_features();
// Highest ISA level this CPU (and OS) can run.
Isa best_supported_isa(const CpuFeatures& f);

// Block size of DeepSeek's FP8 weight scales (config quantization_config.weight_block_size).
inline constexpr int64_t kFp8Block = 128;

// Columns per scale group of radseek's integer formats (config quantization_config.group_size).
inline constexpr int64_t kQuantGroup = 32;
// Bytes per group of the 4-bit format: 32 nibbles.
inline constexpr int64_t kQ4GroupBytes = kQuantGroup / 2;

// ggml block formats read in place from GGUF files (layouts in kernels/ref/ggml_quants.h). Values
// match ggml's type ids only by name; format/gguf.h maps the ids.
enum class GgmlQuant : uint8_t { kNone, kQ8_0, kQ4_0, kQ5_0, kQ4_1, kQ5_1, kQ4_K, kQ5_K, kQ6_K };
struct GgmlQuantInfo {
  int64_t block_elems = 1;  // elements per block (a row holds cols / block_elems blocks)
  int64_t block_bytes = 0;
  const char* name = "";
};
constexpr GgmlQuantInfo ggml_quant_info(GgmlQuant q) {
  switch (q) {
    case GgmlQuant::kQ8_0: return {32, 34, "Q8_0"};
    case GgmlQuant::kQ4_0: return {32, 18, "Q4_0"};
    case GgmlQuant::kQ5_0: return {32, 22, "Q5_0"};
    case GgmlQuant::kQ4_1: return {32, 20, "Q4_1"};
    case GgmlQuant::kQ5_1: return {32, 24, "Q5_1"};
    case GgmlQuant::kQ4_K: return {256, 144, "Q4_K"};
    case GgmlQuant::kQ5_K: return {256, 176, "Q5_K"};
    case GgmlQuant::kQ6_K: return {256, 210, "Q6_K"};
    case GgmlQuant::kNone: break;
  }
  return {};
}

// A weight matrix W as stored in the checkpoint: [rows, cols] row-major, y = x · Wᵀ.
// radseek's integer formats (quant_method "radseek", written by `radseek quantize`) reuse two dtype
// tags, always with group_scale set:
//   kI8 (Q8): data int8 [rows, cols]; W[r, c] = q · group_scale[r, c / 32].
//   kU8 (Q4): data uint8 [rows, ceil(cols/32)·16]; group g of a row is 16 bytes, byte b holding
//             column 32g+b in its low nibble and 32g+16+b in its high nibble (ggml's Q4_0 order, so
//             a 16-byte load splits into two runs of 16 consecutive columns); W = (nibble − 8) · scale.
//             Nibbles past `cols` in the last group are padding (any value).
// ggml block formats (GGUF) set `ggml` and dtype kU8 without group_scale: each row is
// cols / block_elems consecutive blocks (cols a multiple of the block), scales inside the blocks.
struct WeightMatrix {
  DType dtype = DType::kF32;   // kF32, kBF16, kF16, kF8E4M3, or kI8 / kU8 (see above)
  const void* data = nullptr;  // [rows, cols] (kU8: [rows, ceil(cols/32)·16] bytes)
  int64_t rows = 0;
  int64_t cols = 0;
  // FP8 only: [ceil(rows/block_rows), ceil(cols/block_cols)] multipliers (weight_scale_inv).
  const float* block_scale = nullptr;
  int64_t block_rows = kFp8Block;
  int64_t block_cols = kFp8Block;
  // kI8 / kU8 only: [rows, ceil(cols/kQuantGroup)] multipliers.
  const float* group_scale = nullptr;
  // ggml block format of `data`, or kNone (then dtype alone describes it).
  GgmlQuant ggml = GgmlQuant::kNone;
  // FP8 only, optional: [ceil(rows/kFp8FlagRows), ceil(cols/block_cols)] bytes; bit r % 8 of byte
  // (r / 8, b) is set when row r holds a subnormal (|code| 1..7) or NaN (|code| 127) code in column
  // block b (KernelTable::fp8_flags). With them the AVX512_BF16 decode kernel skips its own per-byte
  // test for those codes, a quarter of its instructions. They describe this matrix's rows as a whole:
  // a view of some of its rows (data moved) must not carry them over.
  const uint8_t* fp8_flags = nullptr;
};

// Rows per byte of WeightMatrix::fp8_flags.
inline constexpr int64_t kFp8FlagRows = 8;
// Bytes of WeightMatrix::fp8_flags for an FP8 matrix.
constexpr int64_t fp8_flags_bytes(const WeightMatrix& w) {
  return (w.rows + kFp8FlagRows - 1) / kFp8FlagRows * ((w.cols + w.block_cols - 1) / w.block_cols);
}

constexpr bool is_ggml(const WeightMatrix& w) { return w.ggml != GgmlQuant::kNone; }

// True for radseek's group-quantised integer formats, which go through KernelTable::gemm_q.
constexpr bool is_group_quant(DType d) { return d == DType::kI8 || d == DType::kU8; }
// Bytes of one stored row of `w`.
constexpr int64_t row_bytes(const WeightMatrix& w) {
  if (is_ggml(w)) return w.cols / ggml_quant_info(w.ggml).block_elems * ggml_quant_info(w.ggml).block_bytes;
  if (w.dtype == DType::kU8) return (w.cols + kQuantGroup - 1) / kQuantGroup * kQ4GroupBytes;
  return w.cols * static_cast<int64_t>(dtype_size(w.dtype));
}

// Activation precision of a product. kF32: exact FP32 arithmetic on the stored weights (the
// accuracy path). kBF16: activations rounded to BF16 so BF16 dot-product hardware can be used.
// With kI8 / kU8 weights kBF16 instead quantises activations to int8 per 32-column group
// (d = amax/127, q = nearest(x · 127/amax)) for integer dot products (vpdpbusd / vpmaddubsw).
// With ggml block weights kBF16 quantises activations the same way per 32 columns (Q8_0, Q4_0) or
// per 256 (k-quants, as ggml's Q8_K, so a super-block's integer sums need one float scale).
enum class ActPrecision : uint8_t { kF32, kBF16 };

struct GemmArgs {
  const float* x = nullptr;  // [m, ldx] activations, first k = w.cols used
  int64_t m = 0;
  int64_t ldx = 0;
  const WeightMatrix* w = nullptr;
  float* y = nullptr;  // [m, ldy]; columns [n_begin, n_end) are written
  int64_t ldy = 0;
  int64_t n_begin = 0;  // the weight rows this call computes (callers split n across threads)
  int64_t n_end = 0;
  ActPrecision precision = ActPrecision::kF32;
  // Output of weight row j goes to y[i, j - y_col_offset], so a row range [n_begin, n_end) of a big
  // matrix can land in a small y (MLA's W_UV slice of kv_b_proj); y_col_offset <= n_begin.
  int64_t y_col_offset = 0;
  // kBF16 only: x already quantised by the same table's quantize_ggml (same x, m, k = w.cols), so the
  // tasks of one product share one quantisation; null: the kernel quantises itself. ggml block
  // weights: quantised for w.ggml. radseek's Q8 / Q4 (m >= kPanelMinRows, w.cols a multiple of 32): quantised
  // as for Q8_0 (per 32 columns), used by the kernels that take that layout (AVX-512 prefill panels).
  const void* xq = nullptr;
};

// From this many activation rows, the AVX-512 VNNI level multiplies kBF16 products with ggml block
// weights (GGUF; 32-column block types with rows of <= 256 columns at any count) and radseek's Q8 / Q4 weights on repacked 16-row
// panels; with Q8 / Q4 those take the shared quantised activations of GemmArgs::xq, which callers
// therefore make only from this many rows.
inline constexpr int64_t kPanelMinRows = 8;

// KernelTable::quantize_ggml: the int8 activations of a kBF16 product with ggml weights of type
// `type` (m rows of k = w.cols columns) into `out`, ggml_acts_bytes(m, k) bytes (layout:
// ref/ggml_gemm.h GgmlActs, the same on every level).
struct GgmlQuantizeArgs {
  const float* x = nullptr;  // [m, ldx]
  int64_t m = 0;
  int64_t ldx = 0;
  int64_t k = 0;
  GgmlQuant type = GgmlQuant::kNone;
  void* out = nullptr;
};
// Bytes of the quantised activations of m rows of k columns (k a multiple of 32) in the row layout
// every level reads (ref/ggml_gemm.h GgmlActs).
constexpr int64_t ggml_acts_rows_bytes(int64_t m, int64_t k) {
  const int64_t q = (m * k + 63) / 64 * 64;  // codes, padded so the f32/i32 arrays stay aligned
  return q + m * (k / 32 * 4 + k / 16 * 4 + k / 32 * 4 + k / 32 * 4);
}
// The whole buffer: the row layout, then room for a level's own copy in the order its kernels read
// (the AVX-512 VNNI level's prefill panels: codes, steps and block sums interleaved per 8 rows,
// written by its quantize_ggml; other levels leave it unwritten).
constexpr int64_t ggml_acts_bytes(int64_t m, int64_t k) {
  return ggml_acts_rows_bytes(m, k) + (m * k + 63) / 64 * 64 + m * (k / 32) * (4 + 4 + 12);
}

// Transposed product over a row range, for m vectors: y[v·ldy + c] += Σ_{i<rows} x[v·ldx + i] ·
// W[row0 + i, c] for v < m, c < w.cols. Weights are dequantised in registers (MLA's q_abs = W_UKᵀ ·
// q_nope without a dequantised copy). m > 1 is for vectors that share the rows — the heads of one
// query against a chunk of the MLA cache — so a kernel can read each row once for several of them.
struct GemvTArgs {
  const float* x = nullptr;  // [m, ldx]: row v's first `rows` entries are used
  const WeightMatrix* w = nullptr;
  int64_t row0 = 0;
  int64_t rows = 0;
  float* y = nullptr;  // [m, ldy], the first w.cols of each row accumulated into
  int64_t m = 1;
  int64_t ldx = 0;  // 0: rows
  int64_t ldy = 0;  // 0: w.cols
};
// The strides GemvTArgs means by ldx = 0 / ldy = 0.
constexpr int64_t gemv_t_ldx(const GemvTArgs& a) { return a.ldx != 0 ? a.ldx : a.rows; }
constexpr int64_t gemv_t_ldy(const GemvTArgs& a) { return a.ldy != 0 ? a.ldy : a.w->cols; }

// Writes the bytes of WeightMatrix::fp8_flags that cover rows [row_begin, row_end) of an FP8 matrix
// (row_begin a multiple of kFp8FlagRows, so ranges given to different threads share no byte).
struct Fp8FlagsArgs {
  const WeightMatrix* w = nullptr;
  int64_t row_begin = 0;
  int64_t row_end = 0;
  uint8_t* flags = nullptr;  // [fp8_flags_bytes(*w)], the whole matrix's
};

// out[j·ldo + i] = a[i·lda + j] for i < rows, j < cols: a block of a row-major matrix, transposed.
// Callers split rows into bands (a + r0·lda, out + r0) to spread one transpose over threads.
struct TransposeArgs {
  const float* a = nullptr;  // [rows, lda]
  int64_t lda = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  float* out = nullptr;  // [cols, ldo]
  int64_t ldo = 0;
};

struct KernelTable {
  Isa isa = Isa::kScalar;
  // y[i, j] = Σ_k x[i, k] · W[j, k] for j in [n_begin, n_end); float weight dtypes (F32/BF16/F16/FP8).
  void (*gemm)(const GemmArgs& args) = nullptr;
  // The same for group-quantised weights (kI8 / kU8, is_group_quant); see select_gemm.
  void (*gemm_q)(const GemmArgs& args) = nullptr;
  // The same for ggml block formats (WeightMatrix::ggml set); see select_gemm.
  void (*gemm_ggml)(const GemmArgs& args) = nullptr;
  // See GgmlQuantizeArgs; only for gemm_ggml with ActPrecision::kBF16.
  void (*quantize_ggml)(const GgmlQuantizeArgs& args) = nullptr;
  // See GemvTArgs. Every weight dtype (integer and ggml formats through the reference).
  void (*gemv_t)(const GemvTArgs& args) = nullptr;
  // Σ a[i]·b[i] over f32 arrays.
  float (*dot_f32)(const float* a, const float* b, int64_t n) = nullptr;
  // y[i] += alpha · x[i].
  void (*axpy_f32)(float alpha, const float* x, float* y, int64_t n) = nullptr;
  // y = w ⊙ x / sqrt(mean(x²) + eps); w stored as f32.
  void (*rmsnorm_f32)(const float* x, const float* w, float eps, float* y, int64_t n) = nullptr;
  // out[i] = silu(gate[i]) · up[i].
  void (*silu_mul_f32)(const float* gate, const float* up, float* out, int64_t n) = nullptr;
  // dst[i] = the float8_e4m3fn value of src[i] (NaN codes give NaN); the conversion the FP8 gemm
  // uses in registers, exposed for small tensors and for testing it on all 256 codes.
  void (*fp8_e4m3_to_f32)(const uint8_t* src, float* dst, int64_t n) = nullptr;
  // See TransposeArgs; the training backward's products transpose activations and weights each step.
  void (*transpose_f32)(const TransposeArgs& args) = nullptr;
  // See Fp8FlagsArgs; made once when a model loads, and only where gemm reads them.
  void (*fp8_flags)(const Fp8FlagsArgs& args) = nullptr;
  bool gemm_reads_fp8_flags = false;
};

// The gemm entry for a weight dtype (not for ggml blocks: use the WeightMatrix overload).
inline auto select_gemm(const KernelTable& t, DType d) { return is_group_quant(d) ? t.gemm_q : t.gemm; }
// The gemm entry for a weight matrix, ggml block formats included.
inline auto select_gemm(const KernelTable& t, const WeightMatrix& w) {
  return is_ggml(w) ? t.gemm_ggml : select_gemm(t, w.dtype);
}

// The scalar table (oracle and fallback).
KernelTable reference_kernels();
// The table for `isa`, which must be <= best_supported_isa(); levels without their own variant of an
// entry inherit the next lower level's.
KernelTable make_kernel_table(Isa isa);

}  // namespace radseek::kernels
