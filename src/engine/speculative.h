// Draft-and-verify decoding with one drafted token, shared by Engine::generate and chat(). MTP
// (DeepSeek-V3 report §2.2 / §5.4.3): the MTP module drafts token i+2 from the main model's hidden
// state at i and token i+1. N-gram: prompt lookup. A verify step feeds [token i+1, draft] and so
// computes the distribution after the draft at no extra pass when the draft is right; every emitted
// token is sampled from the main model, so the output is what plain decoding gives.
//
// The caller owns sampling and stopping:
//   logits = prefill(prompt); a = sample(logits); start(a)
//   loop: rows = verify();  x1 = sample(rows[0])
//         x1 == guess(): x2 = sample(rows[1]); accept(x2)      (two tokens this step)
//         otherwise:     reject(x1)                             (one token; the draft's row dropped)
// The cache then holds every emitted token but the last, as plain decoding leaves it; a caller that
// stops right after emitting an accepted guess calls drop_guess() to keep that contract.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/engine.h"
#include "model/model.h"

namespace radseek::engine {

class Speculator {
 public:
  // Fails when MTP is asked for and the model has no MTP module.
  static Expected<Speculator> make(const Engine& e, Session& s, GenerateParams::Speculation kind, int64_t prompt_len);

  Expected<float*> prefill(std::span<const int32_t> prompt);  // -> logits [V] after the prompt
  Status start(int32_t first);  // the first sampled token: draft the one after it
  int32_t guess() const { return guess_; }
  Expected<float*> verify();    // -> logits [2, V]: after the last token, after the guess
  Status accept(int32_t next);  // the guess was right; `next` was sampled from row 1
  Status reject(int32_t next);  // the guess was wrong; `next` was sampled from row 0
  void drop_guess();            // the caller stops right after emitting an accepted guess
  bool room() const;            // the cache can take another verify step

  int64_t drafted = 0, accepted = 0, forward_steps = 0;

 private:
  Speculator(const Engine& e, Session& s, GenerateParams::Speculation kind, int64_t prompt_len);
  Status draft(const float* hidden, std::span<const int32_t> toks);

  const Engine* e_;
  Session* s_;
  const model::Model* m_ = nullptr;  // for mtp_forward (null for n-gram drafts)
  bool mtp_ = false;
  int64_t d_ = 0, V_ = 0;
  int32_t last_ = 0, guess_ = 0;
  int64_t fed_ = 0;  // tokens of the prompt given to prefill()
  model::KvCache mtp_cache_;
  model::Scratch mtp_scratch_;
  std::vector<int32_t> history_;    // prompt + output, for n-gram drafts
  std::vector<float> hidden_;       // [max(P, 2), d] main model hidden states of the last forward
  std::vector<float> logits2_;      // [2, V]
  std::vector<float> draft_logits_; // [V]
  std::vector<int32_t> shifted_;    // [P] prompt[1:] + first token, for the MTP pass over the prompt
};

}  // namespace radseek::engine
