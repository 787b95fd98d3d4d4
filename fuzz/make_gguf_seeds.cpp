// Writes fuzz/corpus/gguf/ seeds with the project's GGUF writer: a deepseek2-style file with metadata
// of every value type and one small tensor of each reference-dequantised ggml type.
// Built by scripts/fuzz.sh (target make_gguf_seeds); run: build-fuzz/make_gguf_seeds fuzz/corpus/gguf
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "format/gguf_writer.h"
#include "kernels/ref/ggml_quants.h"

using namespace radseek::format;  // a small tool: read the format API unqualified
using radseek::Status;

namespace {

std::vector<float> wave(int n) {
  std::vector<float> v(n);
  for (int i = 0; i < n; ++i) v[i] = std::sin(0.3f * i);
  return v;
}

// Bytes of a k-quant tensor: deterministic patterns (any bytes are valid blocks).
std::vector<uint8_t> pattern(GgmlType t, int64_t n) {
  std::vector<uint8_t> b(ggml_row_bytes(t, n));
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(i * 37 + 11);
  return b;
}

GgufWriteArgs deepseek2_like() {
  GgufWriteArgs a;
  std::vector<uint8_t> q4(ggml_row_bytes(GgmlType::kQ4_0, 64)), q8(ggml_row_bytes(GgmlType::kQ8_0, 64));
  radseek::kernels::ref::quantize_row_q4_0(wave(64).data(), q4.data(), 64);
  radseek::kernels::ref::quantize_row_q8_0(wave(64).data(), q8.data(), 64);
  a.metadata = {
      {"general.architecture", GgufValue::of_string("deepseek2")},
      {"deepseek2.block_count", GgufValue::of_int(GgufType::kU32, 2)},
      {"deepseek2.rope.freq_base", GgufValue::of_float(GgufType::kF32, 10000.0)},
      {"deepseek2.expert_weights_norm", GgufValue::of_int(GgufType::kBool, 1)},
      {"deepseek2.expert_gating_func", GgufValue::of_int(GgufType::kU32, 2)},
      {"general.file_type", GgufValue::of_int(GgufType::kI32, 7)},
      {"x.u8", GgufValue::of_int(GgufType::kU8, 1)}, {"x.i16", GgufValue::of_int(GgufType::kI16, -2)},
      {"x.u64", GgufValue::of_u64(3)}, {"x.f64", GgufValue::of_float(GgufType::kF64, 0.5)},
      {"tokenizer.ggml.model", GgufValue::of_string("gpt2")},
      {"tokenizer.ggml.tokens", GgufValue::of_strings({"<s>", "</s>", "a", "b"})},
      {"tokenizer.ggml.token_type", GgufValue::of_ints(GgufType::kI32, {3, 3, 1, 1})},
      {"tokenizer.ggml.merges", GgufValue::of_strings({"a b"})},
      {"tokenizer.ggml.scores", GgufValue::of_floats(GgufType::kF32, {0, 0, -1, -2})},
  };
  a.tensors = {
      {.name = "token_embd.weight", .type = GgmlType::kF16, .shape = {4, 8}, .bytes = encode_f16(wave(32))},
      {.name = "output_norm.weight", .type = GgmlType::kF32, .shape = {8}, .bytes = encode_f32(wave(8))},
      {.name = "blk.0.attn_norm.weight", .type = GgmlType::kBF16, .shape = {8}, .bytes = encode_bf16(wave(8))},
      {.name = "blk.0.attn_q.weight", .type = GgmlType::kQ4_0, .shape = {2, 32}, .bytes = q4},
      {.name = "blk.0.attn_output.weight", .type = GgmlType::kQ8_0, .shape = {2, 32}, .bytes = q8},
      {.name = "blk.0.ffn_gate_exps.weight", .type = GgmlType::kQ4_K, .shape = {1, 256}, .bytes = pattern(GgmlType::kQ4_K, 256)},
      {.name = "blk.0.ffn_up_exps.weight", .type = GgmlType::kQ5_K, .shape = {1, 256}, .bytes = pattern(GgmlType::kQ5_K, 256)},
      {.name = "blk.0.ffn_down_exps.weight", .type = GgmlType::kQ6_K, .shape = {1, 256}, .bytes = pattern(GgmlType::kQ6_K, 256)},
  };
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  GgufWriteArgs a = deepseek2_like();
  Status st = write_gguf(dir + "/deepseek2_like.gguf", a);
  a.alignment = 64;
  a.version = 2;
  a.metadata.resize(3);
  a.tensors.resize(2);
  if (st) st = write_gguf(dir + "/v2_align64.gguf", a);
  a.tensors.clear();
  if (st) st = write_gguf(dir + "/metadata_only.gguf", a);
  if (!st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
