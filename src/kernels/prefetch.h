// Software prefetch shared by the x86 kernels (AVX-512 and AVX2 levels).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace radseek::kernels {

// Requests [p, p + bytes) into L2. Decode kernels prefetch a fixed distance ahead of what they read,
// so the head of every task's row range (4 tasks per thread and product) would otherwise start cold:
// with it, V2-Lite-8L Q4 decode (AVX-512, 2 threads, alternating runs) went from 20.6-31.4 to
// 28.9-32.6 tok/s.
inline void prefetch_head(const void* p, int64_t bytes) {
  for (int64_t o = 0; o < bytes; o += 64) _mm_prefetch(static_cast<const char*>(p) + o, _MM_HINT_T1);
}

// The FP32-path FP8 decode tiles have no running prefetch; their largest user in decode is MLA's
// per-head W_UV (128 rows of 512 FP8 bytes, 64 KiB), read in 4 KiB tiles: request up to this much of
// the range at once (V2-Lite-8L FP8, 1 thread, perf: 427 / 386 → 352 / 311 samples in those tiles
// over 128 tokens, alternating runs; the same request in gemv_t's W_UK pass changed nothing).
inline constexpr int64_t kSmallRangePrefetch = 64 * 1024;

}  // namespace radseek::kernels
