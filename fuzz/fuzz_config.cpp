// libFuzzer harness: arbitrary bytes as config.json. An accepted config must satisfy the invariants
// the model layer relies on without re-checking them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "format/hf_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto c = radseek::format::parse_model_config(text, "fuzz/config.json");
  if (!c) return 0;
  const bool ok = c->hidden_size > 0 && c->vocab_size > 0 && c->num_hidden_layers > 0 && c->qk_rope_head_dim % 2 == 0 &&
                  c->n_group >= 1 && (c->n_routed_experts == 0 || c->n_routed_experts % c->n_group == 0) &&
                  c->rms_norm_eps > 0 && (!c->quantization || (c->quantization->block_rows > 0 && c->quantization->block_cols > 0));
  if (!ok) __builtin_trap();
  for (int64_t id : c->eos_token_ids)
    if (id < 0 || id >= c->vocab_size) __builtin_trap();
  return 0;
}
