#include "engine/engine.h"

#include <algorithm>
#include <filesystem>
#include <cmath>
#include <thread>

#include "base/timer.h"
#include "engine/chat.h"
#include "format/gguf_model.h"
#include "format/gguf_tokenizer.h"

namespace radseek::engine {

double log_sum_exp(const float* x, int64_t n) {
  float mx = x[0];
  for (int64_t i = 1; i < n; ++i) mx = std::max(mx, x[i]);
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(x[i]) - mx);
  return mx + std::log(s);
}

Session::Session(const model::CausalLM& m, int64_t capacity)
    : cache_(m.make_cache(capacity)), logits_(static_cast<size_t>(m.config().vocab_size)) {}

Status Session::copy_prefix_from(const Session& src, int64_t n) {
  const auto& a = src.cache_.shape();
  const auto& b = cache_.shape();
  if (a.n_layers != b.n_layers || a.row_size != b.row_size)
    return make_error(ErrorCode::kInvalidArgument, "prefix cache from a different model");
  if (n > src.length() || n > capacity())
    return make_error(ErrorCode::kOutOfRange, "prefix of " + std::to_string(n) + " tokens does not fit");
  if (src.cache_.dtype() != cache_.dtype())
    return make_error(ErrorCode::kInvalidArgument, "prefix cache of a different KV cache type");
  cache_.copy_prefix(src.cache_, n);
  cache_.set_length(n);
  return {};
}

namespace {

Expected<std::optional<tokenizer::Tokenizer>> load_gguf_tokenizer(const std::string& path) {
  auto f = format::GgufFile::open(path);
  if (!f) return f.error();
  auto files = format::gguf_tokenizer_files(*f);
  if (!files) return files.error();
  if (!*files) return std::optional<tokenizer::Tokenizer>();
  auto tok = tokenizer::Tokenizer::from_json((*files)->tokenizer_json, (*files)->tokenizer_config_json, path + " (GGUF tokenizer)");
  if (!tok) return tok.error();
  return std::optional<tokenizer::Tokenizer>(std::move(*tok));
}

}  // namespace

Expected<tokenizer::Tokenizer> load_model_tokenizer(const std::string& model_path) {
  if (!format::is_gguf_file(model_path)) return tokenizer::Tokenizer::load(model_path);
  auto tok = load_gguf_tokenizer(model_path);
  if (!tok) return tok.error();
  if (!*tok) return make_error(ErrorCode::kNotFound, model_path + ": the GGUF file holds no tokenizer (tokenizer.ggml.* keys)");
  return std::move(**tok);
}

namespace {

void add_unique(std::vector<int32_t>& ids, int64_t id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(static_cast<int32_t>(id));
}

}  // namespace

// Every id that ends a turn: config.json's eos_token_id, generation_config.json's (instruct releases
// list <|eot_id|> / <|im_end|> there), the tokenizer's EOS (it wins where config.json is stale:
// R1-Distill-Qwen keeps Qwen's old ids) and the end-of-turn tokens of the chat template. GGUF files
// carry eos/eot/eom ids, which the GGUF loader puts in the config's list.
Status Engine::collect_eos_ids(const std::string& model_path) {
  const format::ModelConfig& c = model_->config();
  for (int64_t id : c.eos_token_ids) add_unique(eos_ids_, id);
  if (!format::is_gguf_file(model_path)) {
    auto gen = format::load_generation_eos_ids(model_path, c.vocab_size);
    if (!gen) return gen.error();
    for (int64_t id : *gen) add_unique(eos_ids_, id);
  }
  if (!tokenizer_) return {};
  if (tokenizer_->eos_id()) add_unique(eos_ids_, *tokenizer_->eos_id());
  // An unknown template is reported where a prompt is rendered; here it only adds no ids.
  auto kind = resolve_chat_template(*this, std::nullopt);
  if (!kind) return {};
  for (std::string_view text : tokenizer::end_of_turn_tokens(*kind))
    if (auto id = tokenizer_->token_to_id(text); id && *id < c.vocab_size) add_unique(eos_ids_, *id);
  return {};
}

Expected<std::unique_ptr<Engine>> Engine::load(const EngineOptions& opts) {
  auto m = model::load_causal_lm(opts.model_dir, opts.weights);
  if (!m) return m.error();
  auto e = std::unique_ptr<Engine>(new Engine());
  e->model_ = std::move(*m);
  e->model_->set_kv_cache_dtype(opts.kv_cache);
  if (format::is_gguf_file(opts.model_dir)) {  // the tokenizer stored in the GGUF, if any
    auto tok = load_gguf_tokenizer(opts.model_dir);
    if (!tok) return tok.error();
    e->tokenizer_ = std::move(*tok);
  } else if (std::filesystem::exists(std::filesystem::path(opts.model_dir) / "tokenizer.json")) {
    auto tok = tokenizer::Tokenizer::load(opts.model_dir);
    if (!tok) return tok.error();
    e->tokenizer_ = std::move(*tok);
  }
  int threads = opts.threads > 0 ? opts.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  e->pool_ = std::make_unique<ThreadPool>(threads);
  const kernels::Isa best = kernels::best_supported_isa(kernels::detect_cpu_features());
  kernels::Isa isa = opts.isa ? std::min(*opts.isa, best) : best;
  e->kernels_ = kernels::make_kernel_table(isa);
  e->ctx_ = model::Context{.pool = e->pool_.get(), .kernels = &e->kernels_, .precision = opts.precision,
                           .attention = opts.attention};
  e->model_->prepare(e->ctx_);
  RADSEEK_TRY(e->collect_eos_ids(opts.model_dir));
  if (e->tokenizer_)
    for (int32_t id = 0; id < static_cast<int32_t>(e->model_->config().vocab_size); ++id)
      if (!e->tokenizer_->token_bytes(id)) e->textless_ids_.push_back(id);
  return e;
}

Status Engine::feed(Session& s, std::span<const int32_t> ids) const {
  return model_->forward(ctx_, model::ForwardArgs{.tokens = ids, .cache = &s.cache(), .scratch = &s.scratch(),
                                                  .logits = s.logits_buffer().data(), .rows = model::LogitsRows::kLast});
}

Status Engine::feed_batch(model::Scratch& scratch, std::span<const BatchItem> items) const {
  std::vector<model::SeqStep> steps;
  steps.reserve(items.size());
  for (const BatchItem& it : items)
    steps.push_back(model::SeqStep{.tokens = it.tokens, .cache = &it.session->cache(),
                                   .logits = it.logits != nullptr ? it.logits : it.session->logits_buffer().data(),
                                   .rows = it.rows, .hidden_out = it.hidden_out});
  return model_->forward_batch(ctx_, model::BatchArgs{.seqs = steps, .scratch = &scratch});
}

Expected<std::vector<PositionScore>> Engine::score(std::span<const int32_t> ids, int top_k) const {
  const int64_t T = static_cast<int64_t>(ids.size()), V = model_->config().vocab_size;
  if (T == 0) return make_error(ErrorCode::kInvalidArgument, "score: no input ids");
  Session s(*model_, T);
  std::vector<float> logits(static_cast<size_t>(T * V));
  RADSEEK_TRY(model_->forward(ctx_, model::ForwardArgs{.tokens = ids, .cache = &s.cache(), .scratch = &s.scratch(),
                                                       .logits = logits.data(), .rows = model::LogitsRows::kAll}));
  std::vector<PositionScore> out;
  const int64_t K = std::min<int64_t>(std::max(top_k, 0), V);
  std::vector<int32_t> order(static_cast<size_t>(V));
  for (int64_t t = 0; t < T; ++t) {
    const float* row = logits.data() + t * V;
    const double lse = log_sum_exp(row, V);
    PositionScore p;
    p.pos = t;
    if (t + 1 < T) {
      p.next_id = ids[t + 1];
      p.next_logprob = row[ids[t + 1]] - lse;
    }
    for (int64_t i = 0; i < V; ++i) order[i] = static_cast<int32_t>(i);
    std::partial_sort(order.begin(), order.begin() + K, order.end(),
                      [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
    for (int64_t i = 0; i < K; ++i) p.top.push_back(TopToken{order[i], row[order[i]] - lse});
    out.push_back(std::move(p));
  }
  return out;
}

Expected<GenerateResult> Engine::generate(Session& s, std::span<const int32_t> prompt, const GenerateParams& p) const {
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  if (prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "generate: empty prompt");
  if (p.speculation != GenerateParams::Speculation::kNone) return generate_speculative(s, prompt, p);
  Timer timer;
  RADSEEK_TRY(feed(s, prompt));
  r.prefill_seconds = timer.seconds();
  timer.reset();
  Sampler sampler(p.sampling, model_->config().vocab_size);
  std::vector<int32_t> stops = p.stop_ids;
  if (!p.ignore_eos) for (int32_t e : eos_ids()) stops.push_back(e);
  r.finish_reason = "length";
  for (int64_t i = 0; i < p.max_new_tokens; ++i) {
    if (p.logits_hook) p.logits_hook(r.ids, s.logits_buffer().data());
    const int32_t id = sampler.sample(s.last_logits());
    r.ids.push_back(id);
    const bool stop = std::find(stops.begin(), stops.end(), id) != stops.end();
    const bool more = p.on_token ? p.on_token(id) : true;
    if (stop || !more) {
      r.finish_reason = "stop";
      break;
    }
    if (i + 1 == p.max_new_tokens) break;
    if (s.length() >= s.capacity()) break;
    const int32_t one[1] = {id};
    RADSEEK_TRY(feed(s, one));
  }
  r.decode_seconds = timer.seconds();
  return r;
}

}  // namespace radseek::engine
