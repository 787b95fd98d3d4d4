#include <map>

#include "radiology/backend.h"

namespace radseek::radiology {
namespace {

class RulesBackend final : public ClassifierBackend {
 public:
  std::string name() const override { return "rules"; }

  Expected<BackendAnswer> classify(const MultiLabelRequest& req) override {
    auto it = labelers_.find(req.labels->name);
    if (it == labelers_.end()) {
      auto lab = RuleLabeler::create(*req.labels);
      if (!lab) return lab.error();
      it = labelers_.emplace(req.labels->name, std::make_unique<RuleLabeler>(std::move(*lab))).first;
    }
    LabelResult r = it->second->label(req.report->text, *req.sections);
    BackendAnswer a;
    a.labels = LabelOutput{.values = std::move(r.values), .evidence = std::move(r.evidence), .confidence = {}};
    return a;
  }

  Expected<BackendAnswer> choose(const McRequest& req) override {
    if (!scorer_) {
      auto s = McScorer::create();
      if (!s) return s.error();
      scorer_ = std::make_unique<McScorer>(std::move(*s));
    }
    BackendAnswer a;
    a.mc = scorer_->choose(*req.report, *req.sections);
    return a;
  }

 private:
  std::map<std::string, std::unique_ptr<RuleLabeler>> labelers_;
  std::unique_ptr<McScorer> scorer_;
};

}  // namespace

std::unique_ptr<ClassifierBackend> make_rules_backend() { return std::make_unique<RulesBackend>(); }

}  // namespace radseek::radiology
