// radseek plot: training-loss CSVs (radseek train --loss-log) overlaid in one SVG line chart.
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/line_chart.h"
#include "cli/commands.h"
#include "train/loss_log.h"

namespace radseek::cli {
namespace {

struct PlotFlags {
  std::vector<std::string> csvs;  // PATH or PATH:LABEL
  std::string x = "step", y = "loss", out, title, y_label;
  int64_t smooth = 1;
  bool log_y = false;
  int width = 800, height = 480;
};

// "runs/a.csv:BF16" -> path, label; without a label the file name is the label. The last ':' splits,
// so a path may hold colons when a label is given.
std::pair<std::string, std::string> path_and_label(const std::string& arg) {
  const size_t colon = arg.rfind(':');
  if (colon != std::string::npos && colon > 0 && colon + 1 < arg.size()) return {arg.substr(0, colon), arg.substr(colon + 1)};
  const size_t slash = arg.rfind('/');
  return {arg, slash == std::string::npos ? arg : arg.substr(slash + 1)};
}

Expected<ChartSeries> load_series(const std::string& arg, const PlotFlags& f) {
  const auto [path, label] = path_and_label(arg);
  auto table = train::read_numeric_csv(path);
  if (!table) return table.error();
  auto x = table->column(f.x);
  if (!x) return x.error();
  auto y = table->column(f.y);
  if (!y) return y.error();
  return ChartSeries{.name = label, .x = std::move(*x), .y = moving_average(*y, f.smooth)};
}

int run_plot(const PlotFlags& f) {
  std::vector<ChartSeries> series;
  for (const std::string& arg : f.csvs) {
    auto s = load_series(arg, f);
    if (!s) {
      std::fprintf(stderr, "radseek plot: %s\n", s.error().message.c_str());
      return 2;
    }
    series.push_back(std::move(*s));
  }
  std::string y_label = f.y_label.empty() ? f.y : f.y_label;
  if (f.smooth > 1) y_label += " (moving average of " + std::to_string(f.smooth) + ")";
  auto svg = render_line_chart_svg(series, {.title = f.title, .x_label = f.x, .y_label = y_label, .log_y = f.log_y,
                                            .width = f.width, .height = f.height});
  if (!svg) {
    std::fprintf(stderr, "radseek plot: %s\n", svg.error().message.c_str());
    return 2;
  }
  std::ofstream out(f.out, std::ios::binary);
  out << *svg;
  if (!out.flush()) {
    std::fprintf(stderr, "radseek plot: %s: write failed\n", f.out.c_str());
    return 1;
  }
  std::fprintf(stderr, "wrote %s (%zu series)\n", f.out.c_str(), series.size());
  return 0;
}

}  // namespace

void register_plot(CLI::App& app) {
  auto f = std::make_shared<PlotFlags>();
  auto* cmd = app.add_subcommand("plot", "Line chart (SVG) of numeric CSV columns, e.g. training loss logs overlaid");
  cmd->add_option("--csv", f->csvs, "CSV with a header row, as PATH or PATH:LABEL (repeat to overlay runs)")->required();
  cmd->add_option("-o,--output", f->out, "SVG file to write")->required();
  cmd->add_option("--x", f->x, "Column for the x axis")->capture_default_str();
  cmd->add_option("--y", f->y, "Column for the y axis")->capture_default_str();
  cmd->add_option("--smooth", f->smooth, "Trailing moving average over N rows (1: raw)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
  cmd->add_flag("--log-y", f->log_y, "Logarithmic y axis");
  cmd->add_option("--title", f->title, "Chart title");
  cmd->add_option("--y-label", f->y_label, "y axis label (default: the column name)");
  cmd->add_option("--width", f->width, "Width in pixels")->capture_default_str();
  cmd->add_option("--height", f->height, "Height in pixels")->capture_default_str();
  cmd->footer("Example:\n  radseek plot --csv bf16.csv:BF16 --csv fp8.csv:FP8 --y loss --smooth 20 --title 'FP8 vs BF16' -o loss.svg");
  cmd->callback([f] { std::exit(run_plot(*f)); });
}

}  // namespace radseek::cli
