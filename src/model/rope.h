// Rotary embeddings for the MLA rope parts, with YaRN frequency correction (spec §3.3, §3.4).
#pragma once

#include <cstdint>
#include <vector>

#include "format/hf_config.h"

namespace radseek::model {

// mscale(s, m) = 0.1·m·ln(s) + 1 for s > 1, else 1 (DeepSeek-V2 report §3.1.4; V3 report §4.3).
double yarn_mscale(double factor, double m);

struct RopeTables {
  int64_t dim = 0;                // qk_rope_head_dim
  std::vector<double> inv_freq;   // [dim/2], YaRN-corrected
  double attention_factor = 1.0;  // HF multiplies cos and sin by mscale(s, mscale)/mscale(s, mscale_all_dim)
  double softmax_scale = 0.0;     // (dn+dr)^-1/2 · mscale(s, mscale_all_dim)²
};

RopeTables make_rope_tables(const format::ModelConfig& cfg);

// cs [dim]: (cos, sin) of pos·inv_freq[i] at cs[2i], cs[2i+1], scaled by attention_factor. Angles are
// formed in double so long positions keep their precision.
void rope_cos_sin(const RopeTables& t, int64_t pos, float* cs);

// Rotates adjacent pairs (x[2i], x[2i+1]) of x [dim] (the interleaved layout the checkpoints use;
// DeepSeek reference view_as_complex) by the angles in cs.
void apply_rope_interleaved(const float* cs, int64_t dim, float* x);

}  // namespace radseek::model
