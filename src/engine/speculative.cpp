// Speculative decoding with one drafted token. MTP (DeepSeek-V3 report §2.2 / §5.4.3): the MTP module
// drafts token i+2 from the main model's hidden state at i and token i+1. N-gram: prompt lookup. The
// next main step feeds [token i+1, draft] and so computes the distribution after the draft at no extra
// pass when the draft is right; every emitted token is sampled from the main model.
#include <algorithm>

#include "base/timer.h"
#include "engine/engine.h"
#include "model/model.h"

namespace radseek::engine {
namespace {

// The emit-and-check part of a step: returns false when generation must stop.
struct Emitter {
  const GenerateParams& p;
  const std::vector<int32_t>& stops;
  GenerateResult& r;
  bool emit(int32_t id) {
    r.ids.push_back(id);
    const bool stop = std::find(stops.begin(), stops.end(), id) != stops.end();
    const bool more = p.on_token ? p.on_token(id) : true;
    if (stop || !more) {
      r.finish_reason = "stop";
      return false;
    }
    return static_cast<int64_t>(r.ids.size()) < p.max_new_tokens;
  }
};

}  // namespace

bool Engine::has_mtp() const {
  const auto* m = dynamic_cast<const model::Model*>(model_.get());
  return m && m->has_mtp();
}

// The token that followed the most recent earlier occurrence of history's last token (or the last
// token itself when it never occurred before).
static int32_t ngram_draft(const std::vector<int32_t>& history) {
  const int32_t last = history.back();
  for (size_t i = history.size() - 1; i-- > 0;)
    if (history[i] == last) return history[i + 1];
  return last;
}

Expected<GenerateResult> Engine::generate_speculative(Session& s, std::span<const int32_t> prompt,
                                                      const GenerateParams& p) const {
  const bool use_mtp = p.speculation == GenerateParams::Speculation::kMtp;
  const auto* m = dynamic_cast<const model::Model*>(model_.get());
  if (use_mtp && (!m || !m->has_mtp()))
    return make_error(ErrorCode::kUnsupported, model_->checkpoint().dir() + ": no MTP module for speculative decoding");
  const int64_t d = model_->config().hidden_size, V = model_->config().vocab_size, P = static_cast<int64_t>(prompt.size());
  GenerateResult r;
  r.prompt_tokens = P;
  r.finish_reason = "length";
  model::KvCache mtp_cache = use_mtp ? m->make_mtp_cache(s.capacity()) : model::KvCache();
  std::vector<int32_t> history = {prompt[0]};  // prompt + output; draft() appends the rest
  model::Scratch mtp_scratch;
  std::vector<float> hidden(static_cast<size_t>(std::max<int64_t>(P, 2) * d)), logits2(static_cast<size_t>(2 * V));
  std::vector<float> draft_logits(static_cast<size_t>(V));
  std::vector<int32_t> next(static_cast<size_t>(std::max<int64_t>(P, 2)));
  std::vector<int32_t> stops = p.stop_ids;
  if (!p.ignore_eos) for (int32_t e : eos_ids()) stops.push_back(e);
  Sampler sampler(p.sampling, V);
  Emitter out{p, stops, r};
  auto sample = [&](float* logits) {
    if (p.logits_hook) p.logits_hook(r.ids, logits);
    return sampler.sample(logits);
  };
  auto draft = [&](const float* h, std::span<const int32_t> toks) -> Expected<int32_t> {
    history.insert(history.end(), toks.begin(), toks.end());
    if (!use_mtp) return ngram_draft(history);
    RADSEEK_TRY(m->mtp_forward(ctx_, {.hidden = h, .tokens = toks, .cache = &mtp_cache, .scratch = &mtp_scratch,
                                      .logits = draft_logits.data()}));
    return argmax(draft_logits.data(), V);
  };
  Timer timer;
  RADSEEK_TRY(model_->forward(ctx_, {.tokens = prompt, .cache = &s.cache(), .scratch = &s.scratch(),
                                     .logits = s.logits_buffer().data(), .rows = model::LogitsRows::kLast,
                                     .hidden_out = hidden.data()}));
  r.prefill_seconds = timer.seconds();
  timer.reset();
  int32_t a = sample(s.logits_buffer().data());
  if (!out.emit(a)) return r.decode_seconds = timer.seconds(), r;
  std::copy(prompt.begin() + 1, prompt.end(), next.begin());
  next[P - 1] = a;
  auto dr = draft(hidden.data(), std::span(next).first(P));
  if (!dr) return dr.error();
  int32_t guess = *dr;
  while (s.length() + 2 <= s.capacity()) {
    const int32_t pair[2] = {a, guess};
    RADSEEK_TRY(model_->forward(ctx_, {.tokens = pair, .cache = &s.cache(), .scratch = &s.scratch(),
                                       .logits = logits2.data(), .rows = model::LogitsRows::kAll, .hidden_out = hidden.data()}));
    ++r.forward_steps;
    ++r.drafted;
    const int32_t x1 = sample(logits2.data());
    if (x1 == guess) {
      ++r.accepted;
      if (!out.emit(guess)) {
        // As plain generate leaves it: the last emitted token is not in the cache (a caller that
        // continues, like classify's answer phase after its reasoning, feeds it next).
        s.cache().set_length(s.length() - 1);
        break;
      }
      const int32_t x2 = sample(logits2.data() + V);
      if (!out.emit(x2)) break;
      const int32_t toks[2] = {guess, x2};
      dr = draft(hidden.data(), toks);
      a = x2;
    } else {
      s.cache().set_length(s.length() - 1);  // the draft's cache row is dropped
      if (!out.emit(x1)) break;
      dr = draft(hidden.data(), std::span(&x1, 1));
      a = x1;
    }
    if (!dr) return dr.error();
    guess = *dr;
  }
  r.decode_seconds = timer.seconds();
  return r;
}

}  // namespace radseek::engine
