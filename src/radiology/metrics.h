// Evaluation: gold labels vs one or more prediction files.
//
// Binary metrics follow the uncertainty policy, applied to gold and predictions alike:
//   negative (default): only 1 counts as present; -1 counts as absent, as in the NIH ChestX-ray14
//            labels, where uncertain mentions were not labelled positive;
//   positive: 1 and -1 count as present ("U-ones");
//   keep:     -1 is its own class: a prediction is a true positive only when it equals a gold 1 or -1;
//            a wrong non-blank value counts as a false positive and, if gold is 1/-1, a false negative.
// Blank (not mentioned) counts as absent. A gold report with no prediction, or with an error record,
// is scored as all-blank and counted under "missing" / "errors". Macro F1 averages labels with at
// least one gold positive. Confidence intervals: percentile bootstrap over reports (seeded).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "radiology/record.h"

namespace radseek::radiology {

struct EvalDoc {
  std::string id;
  std::map<std::string, LabelValue> labels;  // only labels present in the file
  std::string answer;                        // multiple choice letter, if any
  std::optional<std::string> error;
  double latency_ms = -1;
  double reasoning_length = -1;  // reasoning_tokens, else words of "reasoning"
};

struct EvalDataset {
  std::string name;  // file name, used as the system's name
  std::vector<EvalDoc> docs;
  std::unordered_map<std::string, size_t> by_id;
};

// Reads JSONL ({"id", "labels"|"gold", "answer", "error", "timings", "reasoning"...}) or CSV
// (id + one column per label in the 1/0/-1/blank convention). Malformed lines are errors naming
// the file and line.
Expected<EvalDataset> load_eval_dataset(const std::string& path);

struct Counts {
  int64_t tp = 0, fp = 0, fn = 0, tn = 0;
  double precision() const;
  double recall() const;
  double f1() const;
};

struct Interval {
  double lo = 0, hi = 0;
};

// Confusion matrix of one label, rows gold, columns prediction, in the order 1, 0, -1, blank.
using Confusion = std::array<std::array<int64_t, 4>, 4>;

struct Distribution {
  int64_t n = 0;
  double mean = 0, median = 0, p90 = 0;
  std::vector<double> values;  // for histograms
};

struct SystemEval {
  std::string name;
  std::vector<Counts> per_label;  // in EvalReport::labels order
  std::vector<Confusion> confusion;
  Counts micro;
  double macro_f1 = 0;
  Interval micro_f1_ci;
  int64_t mc_total = 0, mc_correct = 0;
  Interval mc_accuracy_ci;
  int64_t matched = 0, missing = 0, errors = 0;
  std::vector<std::string> error_examples;  // first few error messages (no report text)
  Distribution latency_ms;
  Distribution reasoning;
  double throughput = 0;  // reports per second of backend time
};

struct McNemar {
  std::string a, b;
  int64_t a_only = 0;  // a correct, b wrong
  int64_t b_only = 0;
  double statistic = 0;  // continuity-corrected chi-square
  double p_value = 1;    // exact binomial when a_only + b_only < 25
  bool exact = false;
};

struct EvalOptions {
  UncertainPolicy policy = UncertainPolicy::kNegative;
  int bootstrap = 1000;
  uint64_t seed = 20250101;
  std::vector<std::string> labels;  // restrict to these (empty: labels found in gold and predictions)
};

struct EvalReport {
  std::string gold_name;
  EvalOptions options;
  std::vector<std::string> labels;
  std::vector<SystemEval> systems;
  std::vector<McNemar> paired;  // first system vs each other
  bool has_labels = false;
  bool has_mc = false;
};

Expected<EvalReport> evaluate(const EvalDataset& gold, const std::vector<EvalDataset>& systems,
                              const EvalOptions& opts);

// Exposed for tests.
McNemar mcnemar_test(int64_t a_only, int64_t b_only);
Distribution summarize(std::vector<double> values);

std::string render_markdown(const EvalReport& r);
std::string render_html(const EvalReport& r);
// The per-label F1 bar chart (one bar per system, with a legend) as a standalone SVG file.
std::string render_f1_svg(const EvalReport& r);

}  // namespace radseek::radiology
