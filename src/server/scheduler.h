// The scheduler thread owns the engine's forward passes. Every step advances ALL active sequences
// in one Engine::feed_batch call (continuous batching): decoding sequences contribute one token,
// sequences still reading their prompt a chunk of it. New requests join between steps from a
// bounded queue; a full queue is refused (429) rather than buffered without limit. Sampling, stop
// conditions and detokenization run per sequence (engine::SequenceState) after each step, and the
// pieces go to the request's handle, where the HTTP thread picks them up.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "engine/engine.h"
#include "engine/sequence.h"
#include "model/model.h"
#include "server/openai_schema.h"
#include "server/prefix_cache.h"

namespace radseek::server {

using Clock = std::chrono::steady_clock;

struct SchedulerOptions {
  int max_batch = 16;                 // sequences advanced per step
  int max_queue = 64;                 // requests waiting for a slot; one more is refused with 429
  int64_t prefill_chunk = 256;        // prompt tokens one sequence reads per step
  int64_t step_token_budget = 512;    // tokens in one forward pass (decode tokens + prompt chunks)
  PrefixCacheOptions prefix_cache = {};
  // kMtp: each decoding sequence feeds [token, the MTP module's draft of the one after] and keeps
  // both when the main model agrees (speculative.h's scheme inside the batched step; the output is
  // what plain decoding gives). kNgram is not offered here.
  engine::GenerateParams::Speculation speculation = engine::GenerateParams::Speculation::kNone;
};

struct SequenceRequest {
  std::vector<int32_t> prompt;
  engine::SequenceOptions seq;
  Clock::time_point deadline = Clock::time_point::max();
};

struct Outcome {
  std::string finish_reason;  // "stop", "length", "cancelled" or "error"
  bool timed_out = false;     // the deadline ended it (reported as "length", like llama.cpp)
  std::string error;          // set with finish_reason "error"
  int64_t prompt_tokens = 0, completion_tokens = 0, reasoning_tokens = 0, cached_tokens = 0;
  std::vector<int32_t> ids;
  double queue_seconds = 0, first_token_seconds = -1, total_seconds = 0;  // from submission
};

// Shared by the HTTP thread that submitted the request and the scheduler thread.
class RequestHandle {
 public:
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // Waits until pieces arrive, the request ends, or `timeout`; moves new pieces into `out`.
  // Returns true once the request has ended (its outcome is final).
  bool wait(std::vector<engine::SequenceStep>& out, std::chrono::milliseconds timeout);
  Outcome outcome() const;

 private:
  friend class Scheduler;
  void push(engine::SequenceStep piece);
  void finish(Outcome o);
  void mark_started();

  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<engine::SequenceStep> pieces_;
  bool started_ = false, finished_ = false;
  Outcome outcome_;
  Clock::time_point submitted_ = Clock::now();
};

struct SchedulerStats {
  int64_t queued = 0, active = 0, steps = 0, step_tokens = 0, prefix_hits = 0, prefix_tokens_reused = 0;
  int64_t drafted = 0, accepted = 0;  // MTP drafts verified / kept
};

class Scheduler {
 public:
  Scheduler(const engine::Engine& e, SchedulerOptions o);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // A handle to follow the request, or 429 (queue full) / 503 (shutting down).
  std::variant<std::shared_ptr<RequestHandle>, ApiError> submit(SequenceRequest r);
  // Stops accepting; lets queued and running requests finish until `deadline`, then cancels the
  // rest and joins the thread. Idempotent.
  void shutdown(Clock::time_point deadline);
  SchedulerStats stats() const;

 private:
  struct Active;
  void loop();
  void admit();
  void reap();
  void run_step();
  bool advance(Active& a);
  bool advance_verified(Active& a);
  void draft(Active& a, std::span<const int32_t> tokens);
  void end(Active& a, const char* reason, std::string error = {});

  const engine::Engine& e_;
  SchedulerOptions o_;
  PrefixCache prefix_;
  model::Scratch scratch_;  // the batched forward's buffers, used by the scheduler thread only
  const model::Model* mtp_ = nullptr;  // set when drafting with the MTP module
  std::vector<std::unique_ptr<Active>> active_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::shared_ptr<RequestHandle>, SequenceRequest>> queue_;
  bool stopping_ = false;
  Clock::time_point deadline_ = Clock::time_point::max();
  std::atomic<int64_t> active_count_{0}, steps_{0}, step_tokens_{0}, prefix_hits_{0}, prefix_reused_{0};
  std::atomic<int64_t> drafted_{0}, accepted_{0};
  std::thread thread_;
};

}  // namespace radseek::server
