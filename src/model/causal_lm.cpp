#include "model/causal_lm.h"

#include "format/gguf_model.h"
#include "model/dense.h"
#include "model/model.h"

namespace radseek::model {

namespace {

// The model loader's errors use Hugging Face names; add the GGUF tensor each one comes from.
Error with_gguf_names(Error e) {
  std::string& msg = e.message;
  for (size_t q = msg.find('\''); q != std::string::npos; q = msg.find('\'', q + 1)) {
    const size_t end = msg.find('\'', q + 1);
    if (end == std::string::npos) break;
    const std::string g = format::gguf_tensor_for(msg.substr(q + 1, end - q - 1));
    if (!g.empty()) {
      msg.insert(end + 1, " (GGUF '" + g + "')");
      break;
    }
    q = end;
  }
  return e;
}

Expected<std::unique_ptr<CausalLM>> load_gguf(const std::string& path) {
  auto g = format::open_gguf_model(path);
  if (!g) return g.error();
  if (g->config.is_deepseek()) {
    auto m = Model::load(std::move(g->config), std::move(g->checkpoint));
    if (!m) return with_gguf_names(m.error());
    return std::unique_ptr<CausalLM>(std::move(*m));
  }
  auto m = DenseModel::load(std::move(g->config), std::move(g->checkpoint));
  if (!m) return with_gguf_names(m.error());
  return std::unique_ptr<CausalLM>(std::move(*m));
}

}  // namespace

Expected<std::unique_ptr<CausalLM>> load_causal_lm(const std::string& dir) {
  if (format::is_gguf_file(dir)) return load_gguf(dir);
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
