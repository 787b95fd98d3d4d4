// libFuzzer harness: arbitrary bytes as a safetensors file. Every tensor the parser accepts is read
// end to end, so a view that reaches past the buffer shows up as an ASan report.
#include <cstddef>
#include <cstdint>

#include "format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto tensors = radseek::format::parse_safetensors(data, size, "fuzz.safetensors");
  if (!tensors) return 0;
  uint64_t sum = 0;
  for (const auto& t : *tensors) {
    if (t.nbytes != t.numel() * radseek::dtype_size(t.dtype)) __builtin_trap();
    for (size_t i = 0; i < t.nbytes; ++i) sum += t.data[i];
  }
  volatile uint64_t sink = sum;
  (void)sink;
  return 0;
}
