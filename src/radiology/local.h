// The local engine backend (`--engine local -m DIR`): the model reasons, then answers in the format
// of prompt.h with the answer constrained, so it always parses.
//
// One case runs in two phases on one KV cache:
//  1. reasoning: the prompt opens "<think>\n" (R1's recommendation; the newer templates do it
//     themselves); generation stops at "</think>", at the thinking budget, at a repetition loop
//     (loop_detector.h) or at EOS; in the last three cases "\n</think>\n\n" is fed to close it.
//     The compact family's reasoning can instead be held to the walk of walk.h (reasoning_end
//     "walk"), for multi-label and multiple-choice cases;
//  2. answer: generation under engine::ConstrainedDecoder, greedy by default, with the confidence
//     of every decision (a label's value, the option letter) taken from the model's probabilities.
// Evidence comes from the answer's quotes matched back to the report (evidence.h). Cases run one at a
// time (the engine already uses every thread for one sequence).
#pragma once

#include <memory>
#include <optional>

#include "base/status.h"
#include "engine/engine.h"
#include "radiology/backend.h"
#include "radiology/loop_detector.h"
#include "radiology/prompt.h"
#include "tokenizer/chat_template.h"

namespace radseek::radiology {

enum class AnswerSource { kWalk, kModel };

struct LocalOptions {
  ModelFamily family = ModelFamily::kR1;
  std::optional<tokenizer::ChatTemplateKind> chat_template;  // default: the model folder's
  engine::SamplingParams sampling;  // for the reasoning (R1: temperature 0.6, top-p 0.95)
  float answer_temperature = 0.0f;  // 0: the most probable allowed answer
  int64_t max_thinking_tokens = 2048;  // 0: no reasoning, answer at once
  LoopDetectorOptions loop;
  int top_n = 16;  // answer candidates checked per step
  // Compact family, multi-label and multiple choice: hold the reasoning to the walk of walk.h
  // (sentences verbatim, in order; the model picks what each states and, for multiple choice, the
  // letter on the walk's last line), greedy. False: the model writes its reasoning freely.
  bool guided_walk = true;
  // With the walk: the labels are the walk's sentence verdicts aggregated (walk.h read_walk: the
  // answer can never contradict the reasoning shown), or the model's own constrained answer block.
  AnswerSource answer = AnswerSource::kWalk;
  // Draft-and-verify decoding for every phase (engine::GenerateParams::speculation): the MTP module
  // (or prompt lookup) drafts the next token, the main model checks it in the same step. The
  // output is the same as without it (greedy phases); only the number of forward steps changes.
  engine::GenerateParams::Speculation speculation = engine::GenerateParams::Speculation::kNone;
};

// Takes the loaded engine; fails when the model folder has no tokenizer.json.
Expected<std::unique_ptr<ClassifierBackend>> make_local_backend(std::unique_ptr<engine::Engine> engine,
                                                                const LocalOptions& opts);

// The prompt ids the local backend feeds before the model's turn: the chat template's rendering
// with its generation prompt, then "<think>\n" when thinking and the template does not open it
// (or "\n</think>\n\n" closing an opened one when not thinking). The engine needs a tokenizer.
// `radseek train grpo` samples from exactly these prompts.
Expected<std::vector<int32_t>> local_prompt_ids(const engine::Engine& e, const std::vector<ChatMessage>& messages,
                                                std::optional<tokenizer::ChatTemplateKind> chat_template, bool thinking);

// The family a model's chat template implies: R1 templates -> r1, others -> generic.
ModelFamily family_for_template(tokenizer::ChatTemplateKind kind);
// The family a model folder asks for: config.json's "radseek_prompt_family" (radseek's training
// recipe writes the family its model was fine-tuned on, e.g. "compact"), else the template's.
// Errors name the file and the field.
Expected<ModelFamily> family_for_model(const std::string& model_dir, tokenizer::ChatTemplateKind kind);

}  // namespace radseek::radiology
