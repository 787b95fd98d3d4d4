// The classifier interface every engine implements: the rule labeler now, the local model and
// OpenAI-compatible endpoints through the same calls. Backends return Expected: an unparseable
// model answer or a refused endpoint is an error record, never a guess.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "radiology/labels.h"
#include "radiology/record.h"
#include "radiology/rules.h"

namespace radseek::radiology {

struct MultiLabelRequest {
  const ReportRecord* report = nullptr;
  const LabelSet* labels = nullptr;
  const std::vector<std::string>* sections = nullptr;  // canonical names; empty: whole report
};

struct McRequest {
  const ReportRecord* report = nullptr;  // report text, question, options
  const std::vector<std::string>* sections = nullptr;
};

struct BackendAnswer {
  std::optional<LabelOutput> labels;  // values before the uncertainty policy
  std::optional<McOutput> mc;
  std::string reasoning;
  int64_t reasoning_tokens = -1;
  std::string reasoning_end;  // "closed", "budget", "loop", "eos", "walk", "off" (LLM backends)
  int64_t prompt_tokens = -1;
  int64_t answer_tokens = -1;
  int64_t drafted = 0, accepted = 0;  // speculative decoding: drafts checked / agreed with
};

class ClassifierBackend {
 public:
  virtual ~ClassifierBackend() = default;
  virtual std::string name() const = 0;
  // How many classify/choose calls may run at once on this object (endpoint: concurrent requests).
  virtual int max_concurrency() const { return 1; }
  virtual Expected<BackendAnswer> classify(const MultiLabelRequest& req) = 0;
  virtual Expected<BackendAnswer> choose(const McRequest& req) = 0;
};

// The rule labeler as a backend. Builds one RuleLabeler per label set it is asked about.
std::unique_ptr<ClassifierBackend> make_rules_backend();

// Multiple choice with rules: each option's text is matched against the report's findings (the
// union of the built-in vocabularies plus the option's own words); the option asserted positive
// in the report scores highest, then uncertain, then not mentioned, then negated. Ties go to the
// option found in the impression, then to the earlier letter. Deterministic.
class McScorer {
 public:
  static Expected<McScorer> create();
  McOutput choose(const ReportRecord& r, const std::vector<std::string>& sections) const;

 private:
  LabelSet vocab_;
  std::unique_ptr<RuleLabeler> labeler_;
};

}  // namespace radseek::radiology
