// Speculative decoding (speculative.h): the Speculator, and Engine::generate's loop over it.
#include "engine/speculative.h"

#include <algorithm>

#include "base/timer.h"

namespace radseek::engine {
namespace {

// The token that followed the most recent earlier occurrence of history's last token (or the last
// token itself when it never occurred before).
int32_t ngram_draft(const std::vector<int32_t>& history) {
  const int32_t last = history.back();
  for (size_t i = history.size() - 1; i-- > 0;)
    if (history[i] == last) return history[i + 1];
  return last;
}

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

Speculator::Speculator(const Engine& e, Session& s, GenerateParams::Speculation kind, int64_t prompt_len)
    : e_(&e), s_(&s), m_(dynamic_cast<const model::Model*>(&e.model())),
      mtp_(kind == GenerateParams::Speculation::kMtp), d_(e.model().config().hidden_size),
      V_(e.model().config().vocab_size) {
  if (mtp_) mtp_cache_ = m_->make_mtp_cache(s.capacity());
  const int64_t rows = std::max<int64_t>(prompt_len, 2);
  hidden_.resize(static_cast<size_t>(rows * d_));
  shifted_.resize(static_cast<size_t>(rows));
  logits2_.resize(static_cast<size_t>(2 * V_));
  draft_logits_.resize(static_cast<size_t>(V_));
}

Expected<Speculator> Speculator::make(const Engine& e, Session& s, GenerateParams::Speculation kind, int64_t prompt_len) {
  const auto* m = dynamic_cast<const model::Model*>(&e.model());
  if (kind == GenerateParams::Speculation::kMtp && (!m || !m->has_mtp()))
    return make_error(ErrorCode::kUnsupported, e.model().checkpoint().dir() + ": no MTP module for speculative decoding");
  if (kind == GenerateParams::Speculation::kNone)
    return make_error(ErrorCode::kInvalidArgument, "speculative decoding needs a draft source (mtp or ngram)");
  if (prompt_len < 1) return make_error(ErrorCode::kInvalidArgument, "speculative decoding: empty prompt");
  return Speculator(e, s, kind, prompt_len);
}

Expected<float*> Speculator::prefill(std::span<const int32_t> prompt) {
  history_.assign(1, prompt[0]);
  fed_ = static_cast<int64_t>(prompt.size());
  std::copy(prompt.begin() + 1, prompt.end(), shifted_.begin());
  RADSEEK_TRY(e_->model().forward(e_->context(), {.tokens = prompt, .cache = &s_->cache(), .scratch = &s_->scratch(),
                                                   .logits = s_->logits_buffer().data(), .rows = model::LogitsRows::kLast,
                                                   .hidden_out = hidden_.data()}));
  return s_->logits_buffer().data();
}

Status Speculator::draft(const float* hidden, std::span<const int32_t> toks) {
  history_.insert(history_.end(), toks.begin(), toks.end());
  if (!mtp_) {
    guess_ = ngram_draft(history_);
    return {};
  }
  RADSEEK_TRY(m_->mtp_forward(e_->context(), {.hidden = hidden, .tokens = toks, .cache = &mtp_cache_,
                                             .scratch = &mtp_scratch_, .logits = draft_logits_.data()}));
  guess_ = argmax(draft_logits_.data(), V_);
  return {};
}

Status Speculator::start(int32_t first) {
  // The prompt's positions (the session may already hold earlier turns: the MTP module then drafts
  // from this prompt's positions only, which costs acceptance, not correctness).
  shifted_[static_cast<size_t>(fed_ - 1)] = first;
  last_ = first;
  return draft(hidden_.data(), std::span<const int32_t>(shifted_).first(static_cast<size_t>(fed_)));
}

bool Speculator::room() const { return s_->length() + 2 <= s_->capacity(); }

Expected<float*> Speculator::verify() {
  const int32_t pair[2] = {last_, guess_};
  RADSEEK_TRY(e_->model().forward(e_->context(), {.tokens = pair, .cache = &s_->cache(), .scratch = &s_->scratch(),
                                                   .logits = logits2_.data(), .rows = model::LogitsRows::kAll,
                                                   .hidden_out = hidden_.data()}));
  ++forward_steps;
  ++drafted;
  return logits2_.data();
}

Status Speculator::accept(int32_t next) {
  ++accepted;
  const int32_t toks[2] = {guess_, next};
  last_ = next;
  return draft(hidden_.data(), toks);
}

Status Speculator::reject(int32_t next) {
  s_->cache().set_length(s_->length() - 1);  // the draft's cache row is dropped
  last_ = next;
  return draft(hidden_.data(), std::span(&next, 1));
}

void Speculator::drop_guess() { s_->cache().set_length(s_->length() - 1); }

Expected<GenerateResult> Engine::generate_speculative(Session& s, std::span<const int32_t> prompt,
                                                      const GenerateParams& p) const {
  auto spec = Speculator::make(*this, s, p.speculation, static_cast<int64_t>(prompt.size()));
  if (!spec) return spec.error();
  GenerateResult r;
  r.prompt_tokens = static_cast<int64_t>(prompt.size());
  r.finish_reason = "length";
  std::vector<int32_t> stops = p.stop_ids;
  if (!p.ignore_eos) for (int32_t e : eos_ids()) stops.push_back(e);
  Sampler sampler(p.sampling, model_->config().vocab_size);
  Emitter out{p, stops, r};
  auto sample = [&](float* logits) {
    if (p.logits_hook) p.logits_hook(r.ids, logits);
    return sampler.sample(logits);
  };
  const int64_t V = model_->config().vocab_size;
  Timer timer;
  auto logits = spec->prefill(prompt);
  if (!logits) return logits.error();
  r.prefill_seconds = timer.seconds();
  timer.reset();
  const int32_t a = sample(*logits);
  if (out.emit(a)) {
    RADSEEK_TRY(spec->start(a));
    while (spec->room()) {
      auto rows = spec->verify();
      if (!rows) return rows.error();
      const int32_t guess = spec->guess();
      const int32_t x1 = sample(*rows);
      if (x1 == guess) {
        if (!out.emit(guess)) {
          // As plain generate leaves it: the last emitted token is not in the cache (a caller that
          // continues, like classify's answer phase after its reasoning, feeds it next).
          spec->drop_guess();
          ++spec->accepted;
          break;
        }
        const int32_t x2 = sample(*rows + V);
        if (!out.emit(x2)) {
          ++spec->accepted;
          break;
        }
        RADSEEK_TRY(spec->accept(x2));
      } else {
        if (!out.emit(x1)) {
          s.cache().set_length(s.length() - 1);
          break;
        }
        RADSEEK_TRY(spec->reject(x1));
      }
    }
  }
  r.drafted = spec->drafted;
  r.accepted = spec->accepted;
  r.forward_steps = spec->forward_steps;
  r.decode_seconds = timer.seconds();
  return r;
}

}  // namespace radseek::engine
