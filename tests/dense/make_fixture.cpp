// Writes a tiny dense test model (fixture.h) and its GGUF conversion:
//   dense_make_fixture DIR llama3|qwen2.5|qwen3|r1-distill-qwen [OUT.gguf]
#include <cstdio>
#include <cstring>
#include <string>

#include "fixture.h"
#include "gguf_convert.h"

int main(int argc, char** argv) {
  using radseek::testing::DenseFamily;
  if (argc < 3) {
    std::fprintf(stderr, "usage: dense_make_fixture DIR llama3|qwen2.5|qwen3|r1-distill-qwen [OUT.gguf]\n");
    return 2;
  }
  const std::string fam = argv[2];
  DenseFamily f;
  if (fam == "llama3") f = DenseFamily::kLlama3;
  else if (fam == "qwen2.5") f = DenseFamily::kQwen25;
  else if (fam == "qwen3") f = DenseFamily::kQwen3;
  else if (fam == "r1-distill-qwen") f = DenseFamily::kR1DistillQwen;
  else {
    std::fprintf(stderr, "dense_make_fixture: unknown family '%s'\n", fam.c_str());
    return 2;
  }
  radseek::Status st = radseek::testing::write_dense_fixture({.dir = argv[1], .family = f});
  if (st.ok() && argc > 3)
    st = radseek::testing::convert_to_gguf({.hf_dir = argv[1], .out_path = argv[3], .weights = radseek::testing::GgufWeights::kQ8_0});
  if (!st.ok()) {
    std::fprintf(stderr, "dense_make_fixture: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
