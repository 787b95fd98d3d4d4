#include "model/causal_lm.h"

#include "model/dense.h"
#include "model/model.h"

namespace radseek::model {

Expected<std::unique_ptr<CausalLM>> load_causal_lm(const std::string& dir) {
  auto cfg = format::load_model_config(dir);
  if (!cfg) return cfg.error();
  if (cfg->is_deepseek()) {
    auto m = Model::load(dir);
    if (!m) return m.error();
    return std::unique_ptr<CausalLM>(std::move(*m));
  }
  auto ckpt = format::Checkpoint::open(dir);
  if (!ckpt) return ckpt.error();
  auto m = DenseModel::load(std::move(*cfg), std::move(*ckpt));
  if (!m) return m.error();
  return std::unique_ptr<CausalLM>(std::move(*m));
}

}  // namespace radseek::model
