#include "radiology/metrics.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>
#include <set>

#include "radiology/readers.h"

namespace radseek::radiology {
namespace {

int value_index(LabelValue v) {
  switch (v) {
    case LabelValue::kPositive: return 0;
    case LabelValue::kNegative: return 1;
    case LabelValue::kUncertain: return 2;
    case LabelValue::kBlank: return 3;
  }
  return 3;
}

bool is_positive(LabelValue v, UncertainPolicy p) {
  return v == LabelValue::kPositive || (v == LabelValue::kUncertain && p == UncertainPolicy::kPositive);
}

// Adds one (gold, pred) pair to the counts under the policy.
void tally(LabelValue g, LabelValue p, UncertainPolicy policy, Counts& c) {
  if (policy == UncertainPolicy::kKeep) {
    const bool g_set = g == LabelValue::kPositive || g == LabelValue::kUncertain;
    const bool p_set = p == LabelValue::kPositive || p == LabelValue::kUncertain;
    if (g_set && p == g) ++c.tp;
    else if (!g_set && !p_set) ++c.tn;
    else {
      if (p_set) ++c.fp;
      if (g_set) ++c.fn;
    }
    return;
  }
  const bool gp = is_positive(g, policy);
  const bool pp = is_positive(p, policy);
  if (gp && pp) ++c.tp;
  else if (!gp && pp) ++c.fp;
  else if (gp && !pp) ++c.fn;
  else ++c.tn;
}

bool correct(LabelValue g, LabelValue p, UncertainPolicy policy) {
  Counts c;
  tally(g, p, policy, c);
  return c.fp == 0 && c.fn == 0;
}

LabelValue get(const EvalDoc* d, const std::string& label) {
  if (d == nullptr || d->error) return LabelValue::kBlank;
  auto it = d->labels.find(label);
  return it == d->labels.end() ? LabelValue::kBlank : it->second;
}

Expected<EvalDoc> doc_from_json(const nlohmann::json& j, const std::string& where) {
  EvalDoc d;
  if (!j.is_object() || !j.contains("id")) return make_error(ErrorCode::kParse, where + ": field 'id' missing");
  d.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
  for (const char* f : {"labels", "gold"}) {
    if (!j.contains(f) || !j[f].is_object()) continue;
    for (auto it = j[f].begin(); it != j[f].end(); ++it) {
      auto v = label_value_from_json(it.value());
      if (!v) return make_error(ErrorCode::kParse, where + ": field '" + std::string(f) + "." + it.key() + "': value " + it.value().dump() + " is not 1, 0, -1 or null");
      d.labels[it.key()] = *v;
    }
  }
  if (j.contains("answer") && j["answer"].is_string()) d.answer = j["answer"].get<std::string>();
  if (j.contains("error")) d.error = j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump();
  if (j.contains("timings") && j["timings"].is_object() && j["timings"].contains("total_ms") && j["timings"]["total_ms"].is_number()) {
    d.latency_ms = j["timings"]["total_ms"].get<double>();
  }
  if (j.contains("reasoning_tokens") && j["reasoning_tokens"].is_number()) {
    d.reasoning_length = j["reasoning_tokens"].get<double>();
  } else if (j.contains("reasoning") && j["reasoning"].is_string()) {
    const std::string r = j["reasoning"].get<std::string>();
    int64_t words = 0;
    bool in_word = false;
    for (char c : r) {
      const bool ws = std::isspace(static_cast<unsigned char>(c)) != 0;
      if (!ws && !in_word) ++words;
      in_word = !ws;
    }
    d.reasoning_length = static_cast<double>(words);
  }
  return d;
}

Expected<EvalDataset> load_csv(const std::string& path, EvalDataset ds) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> header;
  std::vector<std::string> f;
  std::string err;
  int lines = 0;
  int line_no = 1;
  if (!read_csv_record(in, header, &lines, &err)) return ds;
  const auto id_it = std::find(header.begin(), header.end(), "id");
  if (id_it == header.end()) return make_error(ErrorCode::kParse, path + ":1: CSV header has no 'id' column");
  const size_t id_col = static_cast<size_t>(id_it - header.begin());
  while (read_csv_record(in, f, &lines, &err)) {
    line_no += lines;
    if (!err.empty()) return make_error(ErrorCode::kParse, path + ":" + std::to_string(line_no) + ": " + err);
    if (f.size() != header.size()) {
      return make_error(ErrorCode::kParse, path + ":" + std::to_string(line_no) + ": " + std::to_string(f.size()) + " fields, header has " + std::to_string(header.size()));
    }
    EvalDoc d;
    d.id = f[id_col];
    for (size_t i = 0; i < f.size(); ++i) {
      if (i == id_col || header[i] == "text" || header[i] == "report") continue;
      if (header[i] == "error") {
        if (!f[i].empty()) d.error = f[i];
        continue;
      }
      if (header[i] == "answer") {
        d.answer = f[i];
        continue;
      }
      auto v = label_value_from_json(nlohmann::json(f[i]));
      if (!v) return make_error(ErrorCode::kParse, path + ":" + std::to_string(line_no) + ": column '" + header[i] + "': '" + f[i] + "' is not 1, 0, -1 or blank");
      d.labels[header[i]] = *v;
    }
    ds.by_id[d.id] = ds.docs.size();
    ds.docs.push_back(std::move(d));
  }
  return ds;
}

double percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (pos - static_cast<double>(lo));
}

struct DocCounts {
  int64_t tp = 0, fp = 0, fn = 0;
  int mc = -1;  // -1 no question, 0 wrong, 1 right
};

double micro_f1(int64_t tp, int64_t fp, int64_t fn) {
  const double denom = static_cast<double>(2 * tp + fp + fn);
  return denom > 0 ? 2.0 * static_cast<double>(tp) / denom : 0.0;
}

void bootstrap(const std::vector<DocCounts>& docs, const EvalOptions& o, SystemEval& s) {
  if (docs.empty() || o.bootstrap <= 0) return;
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<size_t> pick(0, docs.size() - 1);
  std::vector<double> f1s, accs;
  for (int b = 0; b < o.bootstrap; ++b) {
    int64_t tp = 0, fp = 0, fn = 0, mc_n = 0, mc_ok = 0;
    for (size_t i = 0; i < docs.size(); ++i) {
      const DocCounts& d = docs[pick(rng)];
      tp += d.tp;
      fp += d.fp;
      fn += d.fn;
      if (d.mc >= 0) {
        ++mc_n;
        mc_ok += d.mc;
      }
    }
    f1s.push_back(micro_f1(tp, fp, fn));
    if (mc_n > 0) accs.push_back(static_cast<double>(mc_ok) / static_cast<double>(mc_n));
  }
  s.micro_f1_ci = {percentile(f1s, 0.025), percentile(f1s, 0.975)};
  if (!accs.empty()) s.mc_accuracy_ci = {percentile(accs, 0.025), percentile(accs, 0.975)};
}

std::vector<std::string> pick_labels(const EvalDataset& gold, const std::vector<EvalDataset>& systems,
                                     const EvalOptions& o) {
  if (!o.labels.empty()) return o.labels;
  std::set<std::string> in_gold, in_pred;
  for (const auto& d : gold.docs) for (const auto& [k, v] : d.labels) in_gold.insert(k);
  for (const auto& s : systems) for (const auto& d : s.docs) for (const auto& [k, v] : d.labels) in_pred.insert(k);
  std::vector<std::string> out;
  for (const auto& l : in_gold) if (in_pred.count(l)) out.push_back(l);
  return out;
}

SystemEval eval_system(const EvalDataset& gold, const EvalDataset& sys, const EvalReport& r) {
  SystemEval s;
  s.name = sys.name;
  s.per_label.assign(r.labels.size(), Counts{});
  s.confusion.assign(r.labels.size(), Confusion{});
  std::vector<DocCounts> docs;
  std::vector<double> latencies, reasoning;
  for (const EvalDoc& g : gold.docs) {
    auto it = sys.by_id.find(g.id);
    const EvalDoc* p = it == sys.by_id.end() ? nullptr : &sys.docs[it->second];
    if (p == nullptr) ++s.missing;
    else if (p->error) {
      ++s.errors;
      if (s.error_examples.size() < 5) s.error_examples.push_back(p->id + ": " + *p->error);
    } else ++s.matched;
    if (p != nullptr && p->latency_ms >= 0) latencies.push_back(p->latency_ms);
    if (p != nullptr && p->reasoning_length >= 0) reasoning.push_back(p->reasoning_length);
    DocCounts dc;
    for (size_t l = 0; l < r.labels.size(); ++l) {
      const LabelValue gv = get(&g, r.labels[l]);
      const LabelValue pv = get(p, r.labels[l]);
      Counts c;
      tally(gv, pv, r.options.policy, c);
      s.per_label[l].tp += c.tp; s.per_label[l].fp += c.fp; s.per_label[l].fn += c.fn; s.per_label[l].tn += c.tn;
      dc.tp += c.tp; dc.fp += c.fp; dc.fn += c.fn;
      ++s.confusion[l][value_index(gv)][value_index(pv)];
    }
    if (r.has_mc && !g.answer.empty()) {
      dc.mc = p != nullptr && !p->error && p->answer == g.answer ? 1 : 0;
      ++s.mc_total;
      s.mc_correct += dc.mc;
    }
    docs.push_back(dc);
  }
  double macro = 0;
  int with_support = 0;
  for (const Counts& c : s.per_label) {
    s.micro.tp += c.tp; s.micro.fp += c.fp; s.micro.fn += c.fn; s.micro.tn += c.tn;
    if (c.tp + c.fn > 0) {
      macro += c.f1();
      ++with_support;
    }
  }
  s.macro_f1 = with_support > 0 ? macro / with_support : 0;
  bootstrap(docs, r.options, s);
  s.latency_ms = summarize(latencies);
  s.reasoning = summarize(reasoning);
  double total_s = 0;
  for (double l : latencies) total_s += l / 1000.0;
  s.throughput = total_s > 0 ? static_cast<double>(latencies.size()) / total_s : 0;
  return s;
}

McNemar paired(const EvalDataset& gold, const EvalDataset& a, const EvalDataset& b, const EvalReport& r) {
  int64_t a_only = 0, b_only = 0;
  for (const EvalDoc& g : gold.docs) {
    auto ia = a.by_id.find(g.id);
    auto ib = b.by_id.find(g.id);
    const EvalDoc* pa = ia == a.by_id.end() ? nullptr : &a.docs[ia->second];
    const EvalDoc* pb = ib == b.by_id.end() ? nullptr : &b.docs[ib->second];
    auto count = [&](bool ca, bool cb) {
      a_only += ca && !cb ? 1 : 0;
      b_only += cb && !ca ? 1 : 0;
    };
    for (const auto& l : r.labels) {
      const LabelValue gv = get(&g, l);
      count(correct(gv, get(pa, l), r.options.policy), correct(gv, get(pb, l), r.options.policy));
    }
    if (r.has_mc && !g.answer.empty()) {
      count(pa != nullptr && !pa->error && pa->answer == g.answer, pb != nullptr && !pb->error && pb->answer == g.answer);
    }
  }
  McNemar m = mcnemar_test(a_only, b_only);
  m.a = a.name;
  m.b = b.name;
  return m;
}

}  // namespace

double Counts::precision() const { return tp + fp > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fp) : 0; }
double Counts::recall() const { return tp + fn > 0 ? static_cast<double>(tp) / static_cast<double>(tp + fn) : 0; }
double Counts::f1() const { return micro_f1(tp, fp, fn); }

Distribution summarize(std::vector<double> values) {
  Distribution d;
  d.n = static_cast<int64_t>(values.size());
  if (values.empty()) return d;
  double sum = 0;
  for (double v : values) sum += v;
  d.mean = sum / static_cast<double>(values.size());
  d.median = percentile(values, 0.5);
  d.p90 = percentile(values, 0.9);
  d.values = std::move(values);
  return d;
}

McNemar mcnemar_test(int64_t a_only, int64_t b_only) {
  McNemar m;
  m.a_only = a_only;
  m.b_only = b_only;
  const int64_t n = a_only + b_only;
  if (n == 0) return m;
  const double diff = std::fabs(static_cast<double>(a_only - b_only)) - 1.0;
  m.statistic = diff > 0 ? diff * diff / static_cast<double>(n) : 0.0;
  if (n < 25) {
    // Exact two-sided binomial test with p = 0.5.
    m.exact = true;
    const int64_t k = std::min(a_only, b_only);
    double tail = 0;
    for (int64_t i = 0; i <= k; ++i) {
      tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
    }
    m.p_value = std::min(1.0, 2.0 * tail);
  } else {
    m.p_value = std::erfc(std::sqrt(m.statistic / 2.0));
  }
  return m;
}

Expected<EvalDataset> load_eval_dataset(const std::string& path) {
  EvalDataset ds;
  const size_t slash = path.find_last_of('/');
  ds.name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kIo, path + ": cannot open");
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0) return load_csv(path, std::move(ds));
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return make_error(ErrorCode::kParse, where + ": not valid JSON");
    auto d = doc_from_json(j, where);
    if (!d) return d.error();
    ds.by_id[d->id] = ds.docs.size();
    ds.docs.push_back(std::move(*d));
  }
  return ds;
}

Expected<EvalReport> evaluate(const EvalDataset& gold, const std::vector<EvalDataset>& systems, const EvalOptions& opts) {
  if (systems.empty()) return make_error(ErrorCode::kInvalidArgument, "eval: no prediction file given");
  EvalReport r;
  r.gold_name = gold.name;
  r.options = opts;
  r.labels = pick_labels(gold, systems, opts);
  r.has_labels = !r.labels.empty();
  // Multiple choice is scored when gold has answers and at least one system gave answers.
  auto has_answers = [](const EvalDataset& ds) {
    return std::any_of(ds.docs.begin(), ds.docs.end(), [](const EvalDoc& d) { return !d.answer.empty(); });
  };
  r.has_mc = has_answers(gold) && std::any_of(systems.begin(), systems.end(), has_answers);
  if (!r.has_labels && !r.has_mc) {
    return make_error(ErrorCode::kInvalidArgument, "eval: gold " + gold.name + " and the predictions share no label and gold has no 'answer'");
  }
  for (const auto& s : systems) r.systems.push_back(eval_system(gold, s, r));
  for (size_t i = 1; i < systems.size(); ++i) r.paired.push_back(paired(gold, systems[0], systems[i], r));
  return r;
}

}  // namespace radseek::radiology
