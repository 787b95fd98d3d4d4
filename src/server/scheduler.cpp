#include "server/scheduler.h"

#include <algorithm>

namespace radseek::server {

namespace {
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

// ---------------------------------------------------------------------------------------------
// RequestHandle

bool RequestHandle::wait(std::vector<engine::SequenceStep>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return !pieces_.empty() || finished_; });
  for (auto& p : pieces_) out.push_back(std::move(p));
  pieces_.clear();
  return finished_;
}

Outcome RequestHandle::outcome() const {
  std::lock_guard lock(mu_);
  return outcome_;
}

void RequestHandle::push(engine::SequenceStep piece) {
  std::lock_guard lock(mu_);
  if (outcome_.first_token_seconds < 0) outcome_.first_token_seconds = seconds_since(submitted_);
  pieces_.push_back(std::move(piece));
  cv_.notify_all();
}

void RequestHandle::mark_started() {
  std::lock_guard lock(mu_);
  started_ = true;
  outcome_.queue_seconds = seconds_since(submitted_);
  cv_.notify_all();
}

void RequestHandle::finish(Outcome o) {
  std::lock_guard lock(mu_);
  o.queue_seconds = outcome_.queue_seconds;
  o.first_token_seconds = outcome_.first_token_seconds;
  o.total_seconds = seconds_since(submitted_);
  outcome_ = std::move(o);
  finished_ = true;
  cv_.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Scheduler

struct Scheduler::Active {
  std::shared_ptr<RequestHandle> handle;
  SequenceRequest req;
  std::unique_ptr<engine::Session> session;
  std::unique_ptr<engine::SequenceState> seq;
  int64_t fed = 0;              // prompt tokens in the cache
  int64_t cached = 0;           // of those, copied from the prefix cache
  std::vector<int32_t> next;    // the sampled token to feed in the next step (decoding)
  int64_t chunk = 0;            // tokens this sequence feeds in the current step
  // MTP drafting: the guess for the token after `next` (-1: none), verified in the next step.
  int32_t guess = -1;
  int32_t pair[2] = {0, 0};     // [next, guess] as fed
  model::KvCache mtp_cache;     // the MTP module's cache (positions from the first decoded token)
  model::Scratch mtp_scratch;
  std::vector<float> logits2;   // [2, V] a verify step's logits
  std::vector<float> hidden;    // [2, d] its final-normed hidden states
  std::vector<float> draft_logits;  // [V]
};

Scheduler::Scheduler(const engine::Engine& e, SchedulerOptions o)
    : e_(e), o_(o), prefix_(e, o.prefix_cache),
      mtp_(o.speculation == engine::GenerateParams::Speculation::kMtp && e.has_mtp()
               ? dynamic_cast<const model::Model*>(&e.model())
               : nullptr),
      thread_([this] { loop(); }) {}

Scheduler::~Scheduler() { shutdown(Clock::now()); }

std::variant<std::shared_ptr<RequestHandle>, ApiError> Scheduler::submit(SequenceRequest r) {
  auto h = std::make_shared<RequestHandle>();
  std::lock_guard lock(mu_);
  if (stopping_)
    return ApiError{.status = 503, .message = "the server is shutting down", .type = "server_error", .retry_after_s = 5};
  if (static_cast<int>(queue_.size()) >= o_.max_queue)
    return ApiError{.status = 429,
                    .message = "too many requests are waiting (" + std::to_string(o_.max_queue) + "); retry later",
                    .type = "rate_limit_error", .code = "queue_full", .retry_after_s = 1};
  queue_.emplace_back(h, std::move(r));
  cv_.notify_all();
  return h;
}

void Scheduler::shutdown(Clock::time_point deadline) {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    deadline_ = std::min(deadline_, deadline);
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  {
    std::lock_guard lock(mu_);
    s.queued = static_cast<int64_t>(queue_.size());
  }
  s.active = active_count_.load();
  s.steps = steps_.load();
  s.step_tokens = step_tokens_.load();
  s.prefix_hits = prefix_hits_.load();
  s.prefix_tokens_reused = prefix_reused_.load();
  s.drafted = drafted_.load();
  s.accepted = accepted_.load();
  return s;
}

void Scheduler::loop() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
      if (stopping_ && Clock::now() >= deadline_) {  // past the shutdown deadline: cancel everything
        for (auto& [h, r] : queue_) h->finish(Outcome{.finish_reason = "cancelled", .error = "the server shut down"});
        queue_.clear();
        for (auto& a : active_) a->handle->cancel();
      }
      if (stopping_ && queue_.empty() && active_.empty()) return;
    }
    admit();
    reap();
    if (!active_.empty()) run_step();
    active_count_.store(static_cast<int64_t>(active_.size()));
  }
}

void Scheduler::admit() {
  while (static_cast<int>(active_.size()) < o_.max_batch) {
    std::pair<std::shared_ptr<RequestHandle>, SequenceRequest> next;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    auto a = std::make_unique<Active>();
    a->handle = std::move(next.first);
    a->req = std::move(next.second);
    // One more row than the output needs: a verify step holds the guess before it is judged.
    const auto capacity = static_cast<int64_t>(a->req.prompt.size()) + a->req.seq.max_new_tokens + (mtp_ ? 1 : 0);
    a->session = std::make_unique<engine::Session>(e_.model(), capacity);
    if (mtp_) {
      const auto& c = e_.model().config();
      a->mtp_cache = mtp_->make_mtp_cache(a->req.seq.max_new_tokens + 2);
      a->logits2.resize(static_cast<size_t>(2 * c.vocab_size));
      a->hidden.resize(static_cast<size_t>(2 * c.hidden_size));
      a->draft_logits.resize(static_cast<size_t>(c.vocab_size));
    }
    a->fed = a->cached = prefix_.reuse(a->req.prompt, *a->session);
    a->seq = std::make_unique<engine::SequenceState>(a->req.seq);
    a->handle->mark_started();
    active_.push_back(std::move(a));
  }
}

// Ends sequences whose client went away or whose time is up, before spending a step on them.
void Scheduler::reap() {
  const auto now = Clock::now();
  for (auto& a : active_) {
    if (a->handle->cancelled()) end(*a, "cancelled");
    else if (now >= a->req.deadline) end(*a, "timeout");
  }
  std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a == nullptr || a->session == nullptr; });
}

void Scheduler::run_step() {
  std::vector<engine::Engine::BatchItem> items;
  std::vector<Active*> in_step;
  int64_t budget = o_.step_token_budget;
  // Decoding sequences first (one token each): they are what clients are waiting on.
  for (auto& a : active_) {
    a->chunk = 0;
    if (a->next.empty()) continue;
    if (a->guess >= 0 && a->session->length() + 2 <= a->session->capacity()) {
      a->pair[0] = a->next[0];
      a->pair[1] = a->guess;
      a->chunk = 2;
      items.push_back({.session = a->session.get(), .tokens = a->pair, .rows = model::LogitsRows::kAll,
                       .logits = a->logits2.data(), .hidden_out = a->hidden.data()});
    } else {
      a->guess = -1;
      a->chunk = 1;
      items.push_back({.session = a->session.get(), .tokens = a->next, .hidden_out = mtp_ ? a->hidden.data() : nullptr});
    }
    budget -= a->chunk;
    in_step.push_back(a.get());
  }
  for (auto& a : active_) {
    if (!a->next.empty() || budget <= 0) continue;
    const auto left = static_cast<int64_t>(a->req.prompt.size()) - a->fed;
    a->chunk = std::min({left, o_.prefill_chunk, budget});
    budget -= a->chunk;
    items.push_back({.session = a->session.get(),
                     .tokens = std::span<const int32_t>(a->req.prompt).subspan(static_cast<size_t>(a->fed),
                                                                               static_cast<size_t>(a->chunk))});
    in_step.push_back(a.get());
  }
  if (items.empty()) return;
  const Status st = e_.feed_batch(scratch_, items);
  steps_.fetch_add(1);
  step_tokens_.fetch_add(o_.step_token_budget - budget);
  for (Active* a : in_step) {
    if (!st.ok()) {
      end(*a, "error", "forward pass failed: " + st.error().message);
      continue;
    }
    if (!advance(*a)) end(*a, a->seq->finish_reason().c_str());
  }
  std::erase_if(active_, [](const std::unique_ptr<Active>& a) { return a->session == nullptr; });
  prefix_hits_.store(prefix_.hits());
  prefix_reused_.store(prefix_.reused_tokens());
}

// After a step: a sequence that has read its whole prompt samples its next token. Returns false
// when the sequence is finished.
bool Scheduler::advance(Active& a) {
  const bool was_decoding = !a.next.empty();
  if (!was_decoding) {
    a.fed += a.chunk;
    if (a.fed < static_cast<int64_t>(a.req.prompt.size())) return true;  // more prompt to read
    prefix_.remember(a.req.prompt, *a.session);
  }
  if (was_decoding && a.chunk == 2) return advance_verified(a);
  auto step = a.seq->step(a.session->logits_buffer().data());
  if (!step) {
    end(a, "error", step.error().message);
    return true;  // already ended
  }
  const bool done = step->done || a.session->length() >= a.session->capacity();
  const int32_t id = step->id;
  a.handle->push(std::move(*step));
  if (done) return false;
  a.next.assign(1, id);
  // A decode step fed one token with its hidden state kept: the MTP module drafts the one after id.
  if (mtp_ && was_decoding) draft(a, a.next);
  return true;
}

// After a verify step that fed [t, guess]: the token after t comes from row 0; when it is the guess,
// the token after the guess comes from row 1 (two tokens this step), else the guess's cache row is
// dropped. Returns false when the sequence is finished.
bool Scheduler::advance_verified(Active& a) {
  const int64_t V = e_.model().config().vocab_size;
  const int32_t guess = a.guess;
  a.guess = -1;
  drafted_.fetch_add(1);
  auto first = a.seq->step(a.logits2.data());
  if (!first) return end(a, "error", first.error().message), true;
  const int32_t x1 = first->id;
  const bool done1 = first->done;
  a.handle->push(std::move(*first));
  if (x1 != guess) {
    a.session->cache().set_length(a.session->length() - 1);
    if (done1 || a.session->length() >= a.session->capacity()) return false;
    a.next.assign(1, x1);
    draft(a, a.next);
    return true;
  }
  accepted_.fetch_add(1);
  if (done1) return false;
  auto second = a.seq->step(a.logits2.data() + V);
  if (!second) return end(a, "error", second.error().message), true;
  const int32_t x2 = second->id;
  const bool done2 = second->done || a.session->length() >= a.session->capacity();
  a.handle->push(std::move(*second));
  if (done2) return false;
  a.next.assign(1, x2);
  const int32_t toks[2] = {guess, x2};
  draft(a, toks);
  return true;
}

// tokens: the tokens that follow the positions whose hidden states the last step kept ([1] or [2]).
// A failed draft only costs speed: the sequence then decodes one token a step.
void Scheduler::draft(Active& a, std::span<const int32_t> tokens) {
  if (a.mtp_cache.length() + static_cast<int64_t>(tokens.size()) > a.mtp_cache.capacity()) return;
  const Status st = mtp_->mtp_forward(e_.context(), {.hidden = a.hidden.data(), .tokens = tokens, .cache = &a.mtp_cache,
                                                     .scratch = &a.mtp_scratch, .logits = a.draft_logits.data()});
  if (st.ok()) a.guess = engine::argmax(a.draft_logits.data(), e_.model().config().vocab_size);
}

void Scheduler::end(Active& a, const char* reason, std::string error) {
  if (!a.session) return;
  const std::string why = reason;
  auto tail = a.seq->finish();
  if ((why == "stop" || why == "length" || why == "timeout") && !(tail.reasoning.empty() && tail.content.empty()))
    a.handle->push(engine::SequenceStep{.id = -1, .in_answer = true, .reasoning_delta = std::move(tail.reasoning),
                                        .content_delta = std::move(tail.content)});
  Outcome o;
  o.finish_reason = why == "timeout" ? "length" : why.empty() ? "length" : why;
  o.timed_out = why == "timeout";
  o.error = std::move(error);
  o.prompt_tokens = static_cast<int64_t>(a.req.prompt.size());
  o.completion_tokens = static_cast<int64_t>(a.seq->ids().size());
  o.reasoning_tokens = a.seq->reasoning_tokens();
  o.cached_tokens = a.cached;
  o.ids = a.seq->ids();
  a.handle->finish(std::move(o));
  a.session.reset();  // marks the slot free; removed from active_ by the caller
}

}  // namespace radseek::server
