#include "base/line_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace radseek {
namespace {

constexpr const char* kColors[] = {"#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b7791f", "#c53030", "#319795"};
constexpr int kMarginLeft = 72, kMarginRight = 24, kMarginTop = 40, kMarginBottom = 52;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  // A flat range gets some height, so the line sits mid-chart instead of dividing by zero.
  void widen(double pad_fraction) {
    const double pad = hi > lo ? (hi - lo) * pad_fraction : std::max(std::fabs(lo) * 0.05, 0.5);
    lo -= pad, hi += pad;
  }
};

// Where values land: x and y (y already log10'd when log_y) mapped into the plot area.
struct Frame {
  Range x, y;
  double left = 0, right = 0, top = 0, bottom = 0;
  double px_x(double v) const { return left + (v - x.lo) / (x.hi - x.lo) * (right - left); }
  double px_y(double v) const { return bottom - (v - y.lo) / (y.hi - y.lo) * (bottom - top); }
};

// Ticks of a log axis, as values (not logs): 1-2-5 per decade, or only the powers of ten when the
// range spans many decades, or linear ticks when it spans too little for two of those.
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> all, decades;
  for (int k = static_cast<int>(std::floor(std::log10(lo))); k <= static_cast<int>(std::ceil(std::log10(hi))); ++k)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, k);
      if (v < lo || v > hi) continue;
      all.push_back(v);
      if (m == 1.0) decades.push_back(v);
    }
  if (all.size() > 10 && decades.size() >= 2) return decades;
  if (all.size() >= 2) return all;
  return nice_ticks(lo, hi, 5);
}

Status check_series(const std::vector<ChartSeries>& series, bool log_y) {
  if (series.empty()) return make_error(ErrorCode::kInvalidArgument, "line chart: no series");
  for (const ChartSeries& s : series) {
    if (s.x.size() != s.y.size())
      return make_error(ErrorCode::kBadShape, "line chart: series '" + s.name + "': x and y differ in length");
    bool any = false;
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      if (log_y && s.y[i] <= 0)
        return make_error(ErrorCode::kInvalidArgument, "line chart: series '" + s.name + "': log y axis with a value <= 0 (" + num(s.y[i]) + ")");
      any = true;
    }
    if (!any) return make_error(ErrorCode::kInvalidArgument, "line chart: series '" + s.name + "': no finite point");
  }
  return {};
}

Frame make_frame(const std::vector<ChartSeries>& series, const LineChartOptions& o) {
  Frame f;
  for (const ChartSeries& s : series)
    for (size_t i = 0; i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      f.x.add(s.x[i]);
      f.y.add(o.log_y ? std::log10(s.y[i]) : s.y[i]);
    }
  if (f.x.hi == f.x.lo) f.x.widen(0.0);
  f.y.widen(0.05);
  f.left = kMarginLeft, f.right = o.width - kMarginRight, f.top = kMarginTop, f.bottom = o.height - kMarginBottom;
  return f;
}

void draw_axes(std::ostringstream& o, const Frame& f, const LineChartOptions& opt) {
  o << "<rect x='" << px(f.left) << "' y='" << px(f.top) << "' width='" << px(f.right - f.left) << "' height='"
    << px(f.bottom - f.top) << "' fill='none' stroke='#444'/>\n";
  for (double t : nice_ticks(f.x.lo, f.x.hi, 8)) {
    const double x = f.px_x(t);
    o << "<line x1='" << px(x) << "' y1='" << px(f.bottom) << "' x2='" << px(x) << "' y2='" << px(f.bottom + 5) << "' stroke='#444'/>"
      << "<text x='" << px(x) << "' y='" << px(f.bottom + 18) << "' font-size='11' text-anchor='middle'>" << num(t) << "</text>\n";
  }
  const double ylo = opt.log_y ? std::pow(10.0, f.y.lo) : f.y.lo, yhi = opt.log_y ? std::pow(10.0, f.y.hi) : f.y.hi;
  for (double t : opt.log_y ? log_ticks(ylo, yhi) : nice_ticks(ylo, yhi, 6)) {
    const double y = f.px_y(opt.log_y ? std::log10(t) : t);
    o << "<line x1='" << px(f.left) << "' y1='" << px(y) << "' x2='" << px(f.right) << "' y2='" << px(y) << "' stroke='#ddd'/>"
      << "<text x='" << px(f.left - 6) << "' y='" << px(y + 4) << "' font-size='11' text-anchor='end'>" << num(t) << "</text>\n";
  }
  o << "<text x='" << px((f.left + f.right) / 2) << "' y='" << opt.height - 12 << "' font-size='12' text-anchor='middle'>"
    << xml_escape(opt.x_label) << "</text>\n";
  o << "<text x='16' y='" << px((f.top + f.bottom) / 2) << "' font-size='12' text-anchor='middle' transform='rotate(-90 16 "
    << px((f.top + f.bottom) / 2) << ")'>" << xml_escape(opt.y_label + (opt.log_y ? " (log)" : "")) << "</text>\n";
  o << "<text x='" << opt.width / 2 << "' y='24' font-size='15' text-anchor='middle'>" << xml_escape(opt.title) << "</text>\n";
}

void draw_legend(std::ostringstream& o, const std::vector<ChartSeries>& series, const Frame& f) {
  size_t longest = 0;
  for (const ChartSeries& s : series) longest = std::max(longest, s.name.size());
  const double w = 40 + 7.0 * static_cast<double>(longest), x0 = f.right - w - 8, y0 = f.top + 8;
  o << "<rect x='" << px(x0) << "' y='" << px(y0) << "' width='" << px(w) << "' height='" << 18 * series.size() + 8
    << "' fill='white' fill-opacity='0.85' stroke='#bbb'/>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const double y = y0 + 16 + 18.0 * static_cast<double>(i);
    o << "<line x1='" << px(x0 + 6) << "' y1='" << px(y - 4) << "' x2='" << px(x0 + 30) << "' y2='" << px(y - 4)
      << "' stroke='" << kColors[i % std::size(kColors)] << "' stroke-width='2'/>"
      << "<text x='" << px(x0 + 36) << "' y='" << px(y) << "' font-size='12'>" << xml_escape(series[i].name) << "</text>\n";
  }
}

}  // namespace

Expected<std::string> render_line_chart_svg(const std::vector<ChartSeries>& series, const LineChartOptions& opt) {
  if (auto st = check_series(series, opt.log_y); !st) return st.error();
  if (opt.width < 200 || opt.height < 150)
    return make_error(ErrorCode::kInvalidArgument, "line chart: size must be at least 200x150");
  const Frame f = make_frame(series, opt);
  std::ostringstream o;
  o << "<svg xmlns='http://www.w3.org/2000/svg' width='" << opt.width << "' height='" << opt.height
    << "' font-family='sans-serif' role='img' aria-label='" << xml_escape(opt.title) << "'>\n"
    << "<rect width='100%' height='100%' fill='white'/>\n";
  draw_axes(o, f, opt);
  for (size_t i = 0; i < series.size(); ++i) {
    const ChartSeries& s = series[i];
    o << "<polyline fill='none' stroke='" << kColors[i % std::size(kColors)] << "' stroke-width='1.5' points='";
    for (size_t j = 0; j < s.y.size(); ++j) {
      if (!std::isfinite(s.x[j]) || !std::isfinite(s.y[j])) continue;
      o << px(f.px_x(s.x[j])) << ',' << px(f.px_y(opt.log_y ? std::log10(s.y[j]) : s.y[j])) << ' ';
    }
    o << "'><title>" << xml_escape(s.name) << "</title></polyline>\n";
  }
  draw_legend(o, series, f);
  o << "</svg>\n";
  return o.str();
}

std::vector<double> moving_average(const std::vector<double>& y, int64_t window) {
  if (window <= 1) return y;
  std::vector<double> out(y.size());
  double sum = 0.0;
  for (size_t i = 0; i < y.size(); ++i) {
    sum += y[i];
    if (i >= static_cast<size_t>(window)) sum -= y[i - static_cast<size_t>(window)];
    out[i] = sum / static_cast<double>(std::min<size_t>(i + 1, static_cast<size_t>(window)));
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo) || target < 1) return {lo};
  const double raw = (hi - lo) / target, e = std::floor(std::log10(raw)), mag = std::pow(10.0, e), r = raw / mag;
  const double mult = r < 1.5 ? 1.0 : r < 3.0 ? 2.0 : r < 7.0 ? 5.0 : 10.0, step = mult * mag;
  // i·mult / 10^-e rather than i·step: both are exact integers, so 22 tenths print as 2.2, not 2.2000000000000002.
  const double div = e < 0 ? std::pow(10.0, -e) : 1.0, mul = e < 0 ? 1.0 : mag;
  std::vector<double> ticks;
  for (double i = std::ceil(lo / step); i * step <= hi + step * 1e-9; i += 1.0) ticks.push_back(i * mult * mul / div + 0.0);
  return ticks;
}

std::string xml_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default: o.push_back(c);
    }
  }
  return o;
}

}  // namespace radseek
