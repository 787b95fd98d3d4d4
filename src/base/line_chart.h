// A self-contained SVG line chart (no scripts, no external files): several series overlaid, a legend,
// axes with "nice" ticks, linear or log y. Used by `radseek plot` for training-loss curves; the
// evaluation report's charts (radiology/eval_report.cpp) are bar charts and histograms, not lines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace radseek {

struct ChartSeries {
  std::string name = {};
  std::vector<double> x = {}, y = {};  // same length; non-finite points are skipped
};

struct LineChartOptions {
  std::string title = {}, x_label = {}, y_label = {};
  bool log_y = false;  // every plotted y must then be > 0
  int width = 800, height = 480;
};

// One <polyline> per series, in order, and one legend entry per series. Errors: no series, a series
// whose x and y differ in length or that has no finite point, log_y with a value <= 0.
Expected<std::string> render_line_chart_svg(const std::vector<ChartSeries>& series, const LineChartOptions& options);

// Trailing moving average: out[i] = mean of y[max(0, i-window+1) .. i]; window <= 1 returns y.
std::vector<double> moving_average(const std::vector<double>& y, int64_t window);

// Tick values covering [lo, hi]: multiples of 1, 2 or 5 × 10^k, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target);

// &, <, >, ", ' as entities.
std::string xml_escape(const std::string& s);

}  // namespace radseek
