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

// Running prefetch for decode kernels that stream weight rows once, called with the bytes they are
// about to read: the same bytes kStreamL2Ahead ahead into L2 and kStreamL1Ahead ahead into L1. Why two
// levels: L1 prefetches alone, 16 KiB ahead, kept ~20 lines of each core's stream waiting in its
// L1 fill buffers (there are ~16), which capped a core below its share of memory bandwidth; L2
// requests queue deeper. GGUF Q4_K_M of V2-Lite-8L, 2 threads, alternating runs: 34.7-39.1 tok/s
// (80-85% of the limit) with L1 only at 16 KiB, 37.0-42.6 (88-94%) with this; T1 alone at 24 KiB
// was slower (31.9-34.0), and 1 KiB / 32 KiB about as good. Re-measured with the weights in 2 MiB
// pages (medians of 6-7 alternating pairs): 16 KiB 45.2 against 45.5, 48 KiB 45.3 against 46.9 tok/s.
inline constexpr int64_t kStreamL1Ahead = 2048;
inline constexpr int64_t kStreamL2Ahead = 24576;
inline void prefetch_stream(const void* p, int64_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (int64_t o = 0; o < bytes; o += 64) {
    _mm_prefetch(c + kStreamL1Ahead + o, _MM_HINT_T0);
    _mm_prefetch(c + kStreamL2Ahead + o, _MM_HINT_T1);
  }
}

// The FP32-path FP8 decode tiles have no running prefetch; their largest user in decode is MLA's
// per-head W_UV (128 rows of 512 FP8 bytes, 64 KiB), read in 4 KiB tiles: request up to this much of
// the range at once (V2-Lite-8L FP8, 1 thread, perf: 427 / 386 → 352 / 311 samples in those tiles
// over 128 tokens, alternating runs; the same request in gemv_t's W_UK pass changed nothing).
inline constexpr int64_t kSmallRangePrefetch = 64 * 1024;

}  // namespace radseek::kernels
