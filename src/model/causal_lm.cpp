#include "model/causal_lm.h"

#include "format/gguf_model.h"
#include "model/dense.h"
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "model/linear.h"

namespace radseek::model {

Status validate_steps(std::span<const SeqStep> seqs, int64_t vocab) {
  for (const SeqStep& q : seqs) {
    const int64_t need = q.cache->length() + static_cast<int64_t>(q.tokens.size());
    if (need > q.cache->capacity())
      return make_error(ErrorCode::kOutOfRange, "context of " + std::to_string(need) +
                                                    " tokens exceeds the KV cache capacity " +
                                                    std::to_string(q.cache->capacity()));
    for (int32_t id : q.tokens)
      if (id < 0 || id >= vocab)
        return make_error(ErrorCode::kOutOfRange,
                          "token id " + std::to_string(id) + " outside the vocabulary [0, " + std::to_string(vocab) + ")");
  }
  return {};
}

void finish_step(const Context& ctx, const FinishStepArgs& a) {
  int64_t r = 0;
  for (const SeqStep& q : a.seqs) {
    const int64_t Ti = static_cast<int64_t>(q.tokens.size());
    q.cache->set_length(q.cache->length() + Ti);
    if (q.hidden_out) std::memcpy(q.hidden_out, a.normed + r * a.d, sizeof(float) * Ti * a.d);
    if (q.rows != LogitsRows::kNone && Ti > 0) {
      const int64_t first = q.rows == LogitsRows::kAll ? 0 : Ti - 1;
      linear(ctx, LinearArgs{.x = a.normed + (r + first) * a.d, .m = Ti - first, .ldx = a.d, .w = a.lm_head,
                             .y = q.logits, .ldy = a.vocab});
    }
    r += Ti;
  }
}

void softmax_inplace(float* x, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += (x[i] = std::exp(x[i] - mx));
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

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

Expected<std::unique_ptr<CausalLM>> load_gguf(const std::string& path, FileBacking backing) {
  auto g = format::open_gguf_model(path, backing);
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

Expected<std::unique_ptr<CausalLM>> load_causal_lm(const std::string& dir, FileBacking backing) {
  if (format::is_gguf_file(dir)) return load_gguf(dir, backing);
  auto cfg = format::load_model_config(dir);
  if (!cfg) return cfg.error();
  if (cfg->is_deepseek()) {
    auto m = Model::load(dir, backing);
    if (!m) return m.error();
    return std::unique_ptr<CausalLM>(std::move(*m));
  }
  auto ckpt = format::Checkpoint::open(dir, backing);
  if (!ckpt) return ckpt.error();
  auto m = DenseModel::load(std::move(*cfg), std::move(*ckpt));
  if (!m) return m.error();
  return std::unique_ptr<CausalLM>(std::move(*m));
}

}  // namespace radseek::model
