// libFuzzer harness: arbitrary bytes as a GGUF file. Accepted tensors are read end to end (ASan
// catches a view past the buffer), and those of the reference-dequantised types are dequantised.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "format/gguf.h"
#include "kernels/ref/ggml_quants.h"

namespace {

using radseek::format::GgmlType;
namespace ref = radseek::kernels::ref;

void dequantize(const radseek::format::GgufTensorInfo& t) {
  constexpr int64_t kMaxDequant = int64_t{1} << 20;  // keep each run fast; the layout is what is tested
  const int64_t n = t.numel();
  if (n <= 0 || n > kMaxDequant) return;
  std::vector<float> out(static_cast<size_t>(n));
  switch (t.type) {
    case GgmlType::kF32: ref::dequantize_row_f32(t.data, out.data(), n); break;
    case GgmlType::kF16: ref::dequantize_row_f16(t.data, out.data(), n); break;
    case GgmlType::kBF16: ref::dequantize_row_bf16(t.data, out.data(), n); break;
    case GgmlType::kQ8_0: ref::dequantize_row_q8_0(t.data, out.data(), n); break;
    case GgmlType::kQ4_0: ref::dequantize_row_q4_0(t.data, out.data(), n); break;
    case GgmlType::kQ4_K: ref::dequantize_row_q4_k(t.data, out.data(), n); break;
    case GgmlType::kQ5_K: ref::dequantize_row_q5_k(t.data, out.data(), n); break;
    case GgmlType::kQ6_K: ref::dequantize_row_q6_k(t.data, out.data(), n); break;
    default: break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto c = radseek::format::parse_gguf(data, size, "fuzz.gguf");
  if (!c) return 0;
  uint64_t sum = 0;
  for (const auto& t : c->tensors) {
    if (t.data < data || t.data + t.nbytes > data + size) __builtin_trap();
    for (size_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
    dequantize(t);
  }
  for (const auto& [key, v] : c->metadata) sum += key.size() + v.array_size();
  volatile uint64_t sink = sum;
  (void)sink;
  return 0;
}
