// Markdown and self-contained HTML (inline SVG, no scripts, no external files) evaluation reports.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "base/line_chart.h"  // xml_escape
#include "radiology/metrics.h"

namespace radseek::radiology {
namespace {

std::string fmt(double v, int digits = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}


std::string md_cell(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '|') o += "\\|";
    else if (c == '\n') o += ' ';
    else o.push_back(c);
  }
  return o;
}

// Rows of the summary table, shared by both renderers: {cells per system}.
std::vector<std::vector<std::string>> summary_rows(const EvalReport& r) {
  std::vector<std::vector<std::string>> rows;
  for (const SystemEval& s : r.systems) {
    std::vector<std::string> row = {s.name};
    if (r.has_labels) {
      row.push_back(fmt(s.micro.precision()));
      row.push_back(fmt(s.micro.recall()));
      row.push_back(fmt(s.micro.f1()) + " [" + fmt(s.micro_f1_ci.lo) + ", " + fmt(s.micro_f1_ci.hi) + "]");
      row.push_back(fmt(s.macro_f1));
    }
    if (r.has_mc) {
      row.push_back(fmt(s.mc_total > 0 ? static_cast<double>(s.mc_correct) / s.mc_total : 0) + " [" +
                    fmt(s.mc_accuracy_ci.lo) + ", " + fmt(s.mc_accuracy_ci.hi) + "] (" +
                    std::to_string(s.mc_correct) + "/" + std::to_string(s.mc_total) + ")");
    }
    row.push_back(std::to_string(s.matched) + " / " + std::to_string(s.missing) + " / " + std::to_string(s.errors));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::string> summary_header(const EvalReport& r) {
  std::vector<std::string> h = {"System"};
  if (r.has_labels) {
    for (const char* c : {"Micro precision", "Micro recall", "Micro F1 [95% CI]", "Macro F1"}) h.push_back(c);
  }
  if (r.has_mc) h.push_back("MC accuracy [95% CI]");
  h.push_back("Scored / missing / errors");
  return h;
}

std::string md_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream o;
  o << "|";
  for (const auto& h : header) o << " " << md_cell(h) << " |";
  o << "\n|";
  for (size_t i = 0; i < header.size(); ++i) o << " --- |";
  o << "\n";
  for (const auto& row : rows) {
    o << "|";
    for (const auto& c : row) o << " " << md_cell(c) << " |";
    o << "\n";
  }
  return o.str();
}

std::vector<std::vector<std::string>> label_rows(const EvalReport& r, const SystemEval& s) {
  std::vector<std::vector<std::string>> rows;
  for (size_t l = 0; l < r.labels.size(); ++l) {
    const Counts& c = s.per_label[l];
    rows.push_back({r.labels[l], std::to_string(c.tp + c.fn), fmt(c.precision()), fmt(c.recall()), fmt(c.f1()),
                    std::to_string(c.tp), std::to_string(c.fp), std::to_string(c.fn)});
  }
  return rows;
}

const std::vector<std::string> kLabelHeader = {"Label", "Gold positives", "Precision", "Recall", "F1", "TP", "FP", "FN"};

std::string policy_text(const EvalReport& r) {
  switch (r.options.policy) {
    case UncertainPolicy::kNegative: return "uncertain (-1) counted as absent";
    case UncertainPolicy::kPositive: return "uncertain (-1) counted as present";
    case UncertainPolicy::kKeep: return "uncertain (-1) kept as its own value (must match exactly)";
  }
  return "";
}

std::string dist_text(const Distribution& d, const char* unit) {
  if (d.n == 0) return "n/a";
  return "median " + fmt(d.median, 1) + " " + unit + ", p90 " + fmt(d.p90, 1) + " " + unit + ", mean " + fmt(d.mean, 1) + " (n=" + std::to_string(d.n) + ")";
}

std::string svg_f1_bars(const EvalReport& r) {
  static const char* kColors[] = {"#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f"};
  const int row_h = 12 * static_cast<int>(r.systems.size()) + 8;
  const int width = 640, left = 190, bar_w = 400;
  const int legend_h = 14 * static_cast<int>(r.systems.size());
  const int height = row_h * static_cast<int>(r.labels.size()) + 40 + legend_h;
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height << "' role='img' aria-label='F1 per label'>";
  for (size_t l = 0; l < r.labels.size(); ++l) {
    const int y = 10 + static_cast<int>(l) * row_h;
    o << "<text x='" << left - 6 << "' y='" << y + row_h / 2 << "' text-anchor='end' font-size='12'>" << xml_escape(r.labels[l]) << "</text>";
    for (size_t s = 0; s < r.systems.size(); ++s) {
      const double f1 = r.systems[s].per_label[l].f1();
      const int by = y + 2 + static_cast<int>(s) * 12;
      o << "<rect x='" << left << "' y='" << by << "' width='" << static_cast<int>(f1 * bar_w) << "' height='10' fill='" << kColors[s % 5] << "'><title>" << xml_escape(r.systems[s].name) << ": F1 " << fmt(f1) << "</title></rect>";
      o << "<text x='" << left + static_cast<int>(f1 * bar_w) + 4 << "' y='" << by + 9 << "' font-size='10'>" << fmt(f1, 2) << "</text>";
    }
  }
  const int axis_y = height - 22 - legend_h;
  o << "<line x1='" << left << "' y1='" << axis_y << "' x2='" << left + bar_w << "' y2='" << axis_y << "' stroke='#444'/>";
  for (int t = 0; t <= 4; ++t) {
    o << "<text x='" << left + t * bar_w / 4 << "' y='" << axis_y + 14 << "' font-size='10' text-anchor='middle'>" << fmt(t * 0.25, 2) << "</text>";
  }
  // The legend: the chart is also written on its own (radseek eval --svg), away from the tables.
  for (size_t s = 0; s < r.systems.size(); ++s) {
    const int ly = axis_y + 24 + static_cast<int>(s) * 14;
    o << "<rect x='" << left << "' y='" << ly - 9 << "' width='10' height='10' fill='" << kColors[s % 5] << "'/>";
    o << "<text x='" << left + 14 << "' y='" << ly << "' font-size='11'>" << xml_escape(r.systems[s].name) << "</text>";
  }
  o << "</svg>";
  return o.str();
}

std::string svg_histogram(const Distribution& d) {
  if (d.n == 0) return {};
  constexpr int kBins = 20;
  const double hi = *std::max_element(d.values.begin(), d.values.end());
  const double lo = *std::min_element(d.values.begin(), d.values.end());
  const double w = hi > lo ? (hi - lo) / kBins : 1.0;
  std::vector<int> bins(kBins, 0);
  for (double v : d.values) ++bins[std::min(kBins - 1, static_cast<int>((v - lo) / w))];
  const int peak = std::max(1, *std::max_element(bins.begin(), bins.end()));
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='520' height='180' role='img' aria-label='Reasoning length histogram'>";
  for (int b = 0; b < kBins; ++b) {
    const int h = bins[b] * 130 / peak;
    o << "<rect x='" << 20 + b * 24 << "' y='" << 145 - h << "' width='22' height='" << h << "' fill='#4a5568'><title>" << fmt(lo + b * w, 0) << "-" << fmt(lo + (b + 1) * w, 0) << ": " << bins[b] << "</title></rect>";
  }
  o << "<text x='20' y='165' font-size='11'>" << fmt(lo, 0) << "</text><text x='500' y='165' font-size='11' text-anchor='end'>" << fmt(hi, 0) << "</text>";
  o << "</svg>";
  return o.str();
}

}  // namespace

std::string render_f1_svg(const EvalReport& r) {
  return "<?xml version='1.0' encoding='UTF-8'?>\n" + svg_f1_bars(r) + "\n";
}

namespace {

std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream o;
  o << "<table><tr>";
  for (const auto& h : header) o << "<th>" << xml_escape(h) << "</th>";
  o << "</tr>";
  for (const auto& row : rows) {
    o << "<tr>";
    for (const auto& c : row) o << "<td>" << xml_escape(c) << "</td>";
    o << "</tr>";
  }
  o << "</table>";
  return o.str();
}

std::vector<std::vector<std::string>> paired_rows(const EvalReport& r) {
  std::vector<std::vector<std::string>> rows;
  for (const McNemar& m : r.paired) {
    rows.push_back({m.a + " vs " + m.b, std::to_string(m.a_only), std::to_string(m.b_only),
                    m.exact ? "exact binomial" : fmt(m.statistic, 2), fmt(m.p_value, 4)});
  }
  return rows;
}
const std::vector<std::string> kPairedHeader = {"Systems", "Only first right", "Only second right", "Chi-square", "p-value"};

}  // namespace

std::string render_markdown(const EvalReport& r) {
  std::ostringstream o;
  o << "# radseek evaluation\n\nGold: `" << r.gold_name << "`. Policy: " << policy_text(r)
    << ". 95% confidence intervals: percentile bootstrap over reports, " << r.options.bootstrap
    << " resamples, seed " << r.options.seed << ".\n\n## Summary\n\n" << md_table(summary_header(r), summary_rows(r));
  if (r.has_labels) {
    for (const SystemEval& s : r.systems) o << "\n## Per label: " << s.name << "\n\n" << md_table(kLabelHeader, label_rows(r, s));
  }
  if (!r.paired.empty()) o << "\n## Paired comparison (McNemar)\n\n" << md_table(kPairedHeader, paired_rows(r));
  o << "\n## Reasoning, latency, errors\n\n";
  for (const SystemEval& s : r.systems) {
    o << "- **" << s.name << "**: reasoning length " << dist_text(s.reasoning, "tokens") << "; latency "
      << dist_text(s.latency_ms, "ms") << "; throughput " << fmt(s.throughput, 1) << " reports/s\n";
    for (const auto& e : s.error_examples) o << "  - error: " << md_cell(e) << "\n";
  }
  if (r.has_labels) {
    o << "\n## Confusion matrices (rows gold, columns predicted: 1, 0, -1, blank)\n";
    for (const SystemEval& s : r.systems) {
      o << "\n### " << s.name << "\n\n| Label | gold 1 | gold 0 | gold -1 | gold blank |\n| --- | --- | --- | --- | --- |\n";
      for (size_t l = 0; l < r.labels.size(); ++l) {
        o << "| " << md_cell(r.labels[l]);
        for (int g = 0; g < 4; ++g) {
          o << " | " << s.confusion[l][g][0] << "/" << s.confusion[l][g][1] << "/" << s.confusion[l][g][2] << "/" << s.confusion[l][g][3];
        }
        o << " |\n";
      }
    }
  }
  o << "\n## How to read this\n\nPrecision: of the findings the system reported, the share the gold standard also has. "
       "Recall (sensitivity): of the gold findings, the share the system found. F1 balances both. Micro F1 pools "
       "every finding; macro F1 averages labels so rare findings weigh as much as common ones. A p-value below 0.05 "
       "in the paired comparison means the two systems' error patterns differ more than chance would explain.\n";
  return o.str();
}

std::string render_html(const EvalReport& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>radseek evaluation</title><style>"
       "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#1a202c}"
       "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #cbd5e0;padding:4px 8px;text-align:left}"
       "th{background:#edf2f7}.note{color:#4a5568}</style></head><body>";
  o << "<h1>radseek evaluation</h1><p class='note'>Gold: " << xml_escape(r.gold_name) << ". Policy: " << xml_escape(policy_text(r))
    << ". 95% confidence intervals from " << r.options.bootstrap << " bootstrap resamples (seed " << r.options.seed << ").</p>";
  o << "<h2>Summary</h2>" << html_table(summary_header(r), summary_rows(r));
  if (r.has_labels) {
    o << "<h2>F1 per finding</h2><p class='note'>One bar per system:";
    for (const auto& s : r.systems) o << " " << xml_escape(s.name) << ";";
    o << " hover a bar for the value.</p>" << svg_f1_bars(r);
    for (const SystemEval& s : r.systems) o << "<h3>" << xml_escape(s.name) << "</h3>" << html_table(kLabelHeader, label_rows(r, s));
  }
  if (!r.paired.empty()) o << "<h2>Paired comparison (McNemar)</h2>" << html_table(kPairedHeader, paired_rows(r));
  o << "<h2>Reasoning length, latency, errors</h2>";
  for (const SystemEval& s : r.systems) {
    o << "<h3>" << xml_escape(s.name) << "</h3><p>Reasoning: " << xml_escape(dist_text(s.reasoning, "tokens"))
      << ". Latency: " << xml_escape(dist_text(s.latency_ms, "ms")) << ". Throughput " << fmt(s.throughput, 1) << " reports/s.</p>";
    o << svg_histogram(s.reasoning);
    for (const auto& e : s.error_examples) o << "<p class='note'>Error: " << xml_escape(e) << "</p>";
  }
  o << "<h2>How to read this</h2><p>Precision: of the findings the system reported, the share the gold standard also has. "
       "Recall (sensitivity): of the gold findings, the share the system found. F1 balances both. Micro F1 pools every "
       "finding; macro F1 averages findings so rare ones weigh as much as common ones. The bracketed range is where the "
       "score would likely fall on another sample of similar reports. A paired-test p-value below 0.05 means the two "
       "systems differ by more than chance.</p></body></html>\n";
  return o.str();
}

}  // namespace radseek::radiology
