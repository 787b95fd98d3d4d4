#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace radseek::engine {

SamplingParams r1_recommended_sampling() {
  return SamplingParams{.temperature = 0.6f, .top_k = 0, .top_p = 0.95f, .min_p = 0.0f, .seed = 0};
}

int32_t argmax(const float* x, int64_t n) {
  int32_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(const SamplingParams& p, int64_t vocab)
    : p_(p), rng_(p.seed), idx_(static_cast<size_t>(vocab)), prob_(static_cast<size_t>(vocab)) {}

int32_t Sampler::sample(const float* logits) {
  const int64_t V = static_cast<int64_t>(idx_.size());
  if (p_.temperature <= 0.0f) return argmax(logits, V);
  // Candidates sorted by logit (descending), truncated by top-k.
  std::iota(idx_.begin(), idx_.end(), 0);
  int64_t n = V;
  if (p_.top_k > 0 && p_.top_k < V) {
    n = p_.top_k;
    std::partial_sort(idx_.begin(), idx_.begin() + n, idx_.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  } else {
    std::sort(idx_.begin(), idx_.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  }
  const float mx = logits[idx_[0]];
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += (prob_[i] = std::exp((logits[idx_[i]] - mx) / p_.temperature));
  for (int64_t i = 0; i < n; ++i) prob_[i] = static_cast<float>(prob_[i] / sum);
  // min-p: relative to the most likely token.
  if (p_.min_p > 0.0f) {
    const float cut = p_.min_p * prob_[0];
    int64_t keep = 1;
    while (keep < n && prob_[keep] >= cut) ++keep;
    n = keep;
  }
  // top-p: the smallest prefix whose mass reaches top_p.
  if (p_.top_p < 1.0f) {
    double acc = 0.0;
    int64_t keep = 0;
    while (keep < n) {
      acc += prob_[keep++];
      if (acc >= p_.top_p) break;
    }
    n = keep;
  }
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i) total += prob_[i];
  std::uniform_real_distribution<double> u(0.0, total);
  double r = u(rng_);
  for (int64_t i = 0; i < n; ++i) {
    r -= prob_[i];
    if (r <= 0.0) return idx_[i];
  }
  return idx_[n - 1];
}

}  // namespace radseek::engine
