// radseek eval: gold labels vs one or more prediction files -> metrics, Markdown and HTML reports.
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "radiology/metrics.h"

namespace radseek::cli {
namespace {

namespace rad = radseek::radiology;

struct EvalFlags {
  std::string gold;
  std::vector<std::string> predictions;
  std::string uncertain = "negative";
  int bootstrap = 1000;
  uint64_t seed = 20250101;
  std::string labels;
  std::string markdown;
  std::string html;
  std::string svg;
  bool json = false;
};

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) return make_error(ErrorCode::kIo, path + ": cannot write");
  return {};
}

int fail(const Error& e) {
  std::fprintf(stderr, "radseek eval: %s\n", e.message.c_str());
  return 1;
}

std::string summary_json(const rad::EvalReport& r) {
  nlohmann::json j = {{"gold", r.gold_name}, {"policy", rad::uncertain_policy_name(r.options.policy)},
                      {"labels", r.labels}, {"systems", nlohmann::json::array()}};
  for (const auto& s : r.systems) {
    nlohmann::json sj = {{"name", s.name}, {"micro_precision", s.micro.precision()}, {"micro_recall", s.micro.recall()},
                         {"micro_f1", s.micro.f1()}, {"micro_f1_ci", {s.micro_f1_ci.lo, s.micro_f1_ci.hi}},
                         {"macro_f1", s.macro_f1}, {"matched", s.matched}, {"missing", s.missing}, {"errors", s.errors}};
    if (r.has_mc) {
      sj["mc_accuracy"] = s.mc_total > 0 ? static_cast<double>(s.mc_correct) / s.mc_total : 0.0;
      sj["mc_accuracy_ci"] = {s.mc_accuracy_ci.lo, s.mc_accuracy_ci.hi};
    }
    nlohmann::json per = nlohmann::json::object();
    for (size_t l = 0; l < r.labels.size(); ++l) {
      const auto& c = s.per_label[l];
      per[r.labels[l]] = {{"precision", c.precision()}, {"recall", c.recall()}, {"f1", c.f1()}, {"tp", c.tp}, {"fp", c.fp}, {"fn", c.fn}};
    }
    sj["per_label"] = std::move(per);
    j["systems"].push_back(std::move(sj));
  }
  for (const auto& m : r.paired) {
    j["mcnemar"].push_back({{"a", m.a}, {"b", m.b}, {"a_only", m.a_only}, {"b_only", m.b_only}, {"p_value", m.p_value}});
  }
  return j.dump(2);
}

int run_eval(const EvalFlags& f) {
  auto policy = rad::parse_uncertain_policy(f.uncertain);
  if (!policy) return fail(policy.error());
  auto gold = rad::load_eval_dataset(f.gold);
  if (!gold) return fail(gold.error());
  std::vector<rad::EvalDataset> systems;
  for (const auto& p : f.predictions) {
    auto ds = rad::load_eval_dataset(p);
    if (!ds) return fail(ds.error());
    systems.push_back(std::move(*ds));
  }
  rad::EvalOptions opts{.policy = *policy, .bootstrap = f.bootstrap, .seed = f.seed, .labels = {}};
  std::stringstream ss(f.labels);
  for (std::string l; std::getline(ss, l, ',');) {
    if (!l.empty()) opts.labels.push_back(l);
  }
  auto report = rad::evaluate(*gold, systems, opts);
  if (!report) return fail(report.error());
  if (!f.markdown.empty()) {
    auto st = write_file(f.markdown, rad::render_markdown(*report));
    if (!st) return fail(st.error());
  }
  if (!f.svg.empty()) {
    auto st = write_file(f.svg, rad::render_f1_svg(*report));
    if (!st) return fail(st.error());
  }
  if (!f.html.empty()) {
    auto st = write_file(f.html, rad::render_html(*report));
    if (!st) return fail(st.error());
  }
  std::fputs(f.json ? (summary_json(*report) + "\n").c_str() : rad::render_markdown(*report).c_str(), stdout);
  return 0;
}

}  // namespace

void register_eval(CLI::App& app) {
  auto f = std::make_shared<EvalFlags>();
  auto* cmd = app.add_subcommand("eval", "Score prediction files against gold labels: P/R/F1, CIs, McNemar, reports");
  cmd->add_option("--gold", f->gold, "Gold file: JSONL {id, labels|gold, answer} or CSV id + label columns (1/0/-1/blank)")->required();
  cmd->add_option("--pred,--predictions", f->predictions, "One or more prediction files (radseek classify output, JSONL or CSV)")
      ->required();
  cmd->add_option("--uncertain", f->uncertain,
                  "Uncertain (-1) in gold and predictions: negative (counts as absent, default, as the NIH "
                  "ChestX-ray14 labels), positive (counts as present), keep (must match exactly)")->capture_default_str();
  cmd->add_option("--bootstrap", f->bootstrap, "Bootstrap resamples for 95% CIs (0 = none)")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Bootstrap seed")->capture_default_str();
  cmd->add_option("--labels", f->labels, "Comma-separated labels to score (default: those in both gold and predictions)");
  cmd->add_option("--markdown,--md", f->markdown, "Write the Markdown report here");
  cmd->add_option("--html", f->html, "Write the self-contained HTML report (inline SVG charts) here");
  cmd->add_option("--svg", f->svg, "Write the per-label F1 bar chart (every system, with a legend) as an SVG file here");
  cmd->add_flag("--json", f->json, "Print a JSON summary instead of Markdown on stdout");
  cmd->footer(
      "Examples:\n"
      "  radseek eval --gold examples/gold_chestxray14.jsonl --pred out.jsonl\n"
      "  radseek eval --gold gold.csv --pred rules.jsonl --pred model.jsonl --html report.html --md report.md\n"
      "The first prediction file is compared with each other one by McNemar's paired test.");
  cmd->callback([f] { std::exit(run_eval(*f)); });
}

}  // namespace radseek::cli
