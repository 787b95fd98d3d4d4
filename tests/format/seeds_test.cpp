// The fuzz seed corpus must stay valid input: a seed the parser rejects only exercises error paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "format/gguf.h"
#include "format/hf_config.h"
#include "format/safetensors.h"
#include "test_util.h"

namespace radseek::format {
namespace {

namespace fs = std::filesystem;
const fs::path kCorpus = fs::path(RADSEEK_TEST_DATA) / ".." / ".." / "fuzz" / "corpus";

TEST(FuzzSeeds, SafetensorsSeedsParse) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kCorpus / "safetensors")) {
    const auto bytes = testing::read_bytes(e.path().string());
    auto r = parse_safetensors(bytes.data(), bytes.size(), e.path().string());
    EXPECT_TRUE(r.ok()) << r.error().message;
    ++n;
  }
  EXPECT_GE(n, 3);
}

TEST(FuzzSeeds, ConfigSeedsParse) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kCorpus / "config")) {
    const auto bytes = testing::read_bytes(e.path().string());
    auto r = parse_model_config(std::string(bytes.begin(), bytes.end()), e.path().string());
    EXPECT_TRUE(r.ok()) << r.error().message;
    ++n;
  }
  EXPECT_GE(n, 5);
}

TEST(FuzzSeeds, GgufSeedsParse) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(kCorpus / "gguf")) {
    const auto bytes = testing::read_bytes(e.path().string());
    auto r = parse_gguf(bytes.data(), bytes.size(), e.path().string());
    EXPECT_TRUE(r.ok()) << r.error().message;
    ++n;
  }
  EXPECT_GE(n, 3);
}

}  // namespace
}  // namespace radseek::format
