// hf_to_gguf DIR OUT.gguf [f32|f16|bf16|q8_0|q4_0|q5_0|q4_1|q5_1|q4_k|q5_k|q6_k] [--split-kv-b]: the test converter as a tool,
// for benchmarks on GGUF copies of generated checkpoints.
#include <cstdio>
#include <cstring>
#include <string>

#include "gguf_convert.h"

int main(int argc, char** argv) {
  using radseek::testing::GgufWeights;
  if (argc < 3) {
    std::fprintf(stderr, "usage: hf_to_gguf DIR OUT.gguf [f32|f16|bf16|q8_0|q4_0|q5_0|q4_1|q5_1|q4_k|q5_k|q6_k] [--split-kv-b]\n");
    return 2;
  }
  radseek::testing::GgufConvertArgs a{.hf_dir = argv[1], .out_path = argv[2]};
  for (int i = 3; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--split-kv-b") a.split_kv_b = true;
    else if (s == "f32") a.weights = GgufWeights::kF32;
    else if (s == "f16") a.weights = GgufWeights::kF16;
    else if (s == "bf16") a.weights = GgufWeights::kBF16;
    else if (s == "q8_0") a.weights = GgufWeights::kQ8_0;
    else if (s == "q4_0") a.weights = GgufWeights::kQ4_0;
    else if (s == "q5_0") a.weights = GgufWeights::kQ5_0;
    else if (s == "q4_1") a.weights = GgufWeights::kQ4_1;
    else if (s == "q5_1") a.weights = GgufWeights::kQ5_1;
    else if (s == "q4_k") a.weights = GgufWeights::kQ4_K;
    else if (s == "q5_k") a.weights = GgufWeights::kQ5_K;
    else if (s == "q6_k") a.weights = GgufWeights::kQ6_K;
    else {
      std::fprintf(stderr, "hf_to_gguf: unknown argument '%s'\n", s.c_str());
      return 2;
    }
  }
  const radseek::Status st = radseek::testing::convert_to_gguf(a);
  if (!st.ok()) {
    std::fprintf(stderr, "hf_to_gguf: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
