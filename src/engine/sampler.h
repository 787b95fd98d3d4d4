// Token sampling over a logits row: greedy, temperature, top-k, top-p, min-p, with an explicit seeded
// RNG. Buffers are sized once per vocabulary, so sampling allocates nothing per token.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace radseek::engine {

struct SamplingParams {
  float temperature = 0.0f;  // 0: greedy (argmax)
  int32_t top_k = 0;         // 0: off
  float top_p = 1.0f;        // 1: off
  float min_p = 0.0f;        // 0: off; keeps tokens with p >= min_p · p_max
  uint64_t seed = 0;
};

// DeepSeek-R1's recommended sampling (R1 README "Usage Recommendations").
SamplingParams r1_recommended_sampling();

class Sampler {
 public:
  Sampler(const SamplingParams& p, int64_t vocab);
  int32_t sample(const float* logits);
  const SamplingParams& params() const { return p_; }

 private:
  SamplingParams p_;
  std::mt19937_64 rng_;
  std::vector<int32_t> idx_;
  std::vector<float> prob_;
};

int32_t argmax(const float* x, int64_t n);

}  // namespace radseek::engine
