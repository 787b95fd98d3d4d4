// The SVG line chart (base/line_chart.h): well-formed markup, one polyline per series, the legend's
// names (escaped), ticks, log axis checks, and the moving average.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "base/line_chart.h"

namespace radseek {
namespace {

// Checks tags nest and close, attributes are quoted, and text holds no raw '<' or bare '&'.
// Returns an empty string when well formed, else what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> open;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      if (semi == std::string::npos || semi - i > 6) return "bare & at " + std::to_string(i);
      i = semi + 1;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    size_t j = i + 1;
    char quote = 0;
    for (; j < s.size(); ++j) {  // the tag ends at the first '>' outside quotes
      if (quote) {
        if (s[j] == quote) quote = 0;
        else if (s[j] == '<') return "'<' inside an attribute at " + std::to_string(j);
      } else if (s[j] == '\'' || s[j] == '"') {
        quote = s[j];
      } else if (s[j] == '>') {
        break;
      }
    }
    if (j >= s.size()) return "unterminated tag at " + std::to_string(i);
    const std::string tag = s.substr(i + 1, j - i - 1);
    const bool closing = tag[0] == '/', self = tag.back() == '/';
    const std::string name = tag.substr(closing ? 1 : 0, tag.find_first_of(" /", closing ? 1 : 0) - (closing ? 1 : 0));
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> closes " + (open.empty() ? "nothing" : open.back());
      open.pop_back();
    } else if (!self) {
      open.push_back(name);
    }
    i = j + 1;
  }
  return open.empty() ? "" : "unclosed <" + open.back() + ">";
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::vector<ChartSeries> two_runs() {
  ChartSeries a{.name = "BF16"}, b{.name = "FP8 <e4m3> & tiles"};
  for (int i = 1; i <= 50; ++i) {
    a.x.push_back(i), a.y.push_back(10.0 / i + 2.0);
    b.x.push_back(i), b.y.push_back(10.0 / i + 2.01);
  }
  return {a, b};
}

TEST(LineChart, WellFormedWithOnePolylinePerSeriesAndTheLegendNames) {
  for (bool log_y : {false, true}) {
    auto svg = render_line_chart_svg(two_runs(), {.title = "loss", .x_label = "step", .y_label = "loss", .log_y = log_y});
    ASSERT_TRUE(svg.ok()) << svg.error().message;
    EXPECT_EQ(xml_problem(*svg), "") << *svg;
    EXPECT_EQ(svg->rfind("<svg", 0), 0u);
    EXPECT_EQ(count(*svg, "<polyline"), 2u);
    EXPECT_NE(svg->find(">BF16</text>"), std::string::npos);
    EXPECT_NE(svg->find(">FP8 &lt;e4m3&gt; &amp; tiles</text>"), std::string::npos);
    // 50 points each, every one inside the plot area.
    const size_t p = svg->find("points='");
    const std::string pts = svg->substr(p + 8, svg->find('\'', p + 8) - p - 8);
    EXPECT_EQ(count(pts, ","), 50u);
  }
}

TEST(LineChart, LogAxisTicksAndErrors) {
  auto svg = render_line_chart_svg(two_runs(), {.log_y = true});
  ASSERT_TRUE(svg.ok());
  // 1-2-5 ticks within about 2.02..12.7 on the y axis (right-aligned labels; x's are centred).
  EXPECT_NE(svg->find("text-anchor='end'>5</text>"), std::string::npos);
  EXPECT_NE(svg->find("text-anchor='end'>10</text>"), std::string::npos);
  EXPECT_EQ(svg->find("text-anchor='end'>2</text>"), std::string::npos);
  auto runs = two_runs();
  runs[1].y[3] = 0.0;
  EXPECT_FALSE(render_line_chart_svg(runs, {.log_y = true}).ok());
  EXPECT_TRUE(render_line_chart_svg(runs, {.log_y = false}).ok());
  runs[0].x.pop_back();
  EXPECT_FALSE(render_line_chart_svg(runs, {}).ok());
  EXPECT_FALSE(render_line_chart_svg({}, {}).ok());
}

TEST(LineChart, NiceTicks) {
  EXPECT_EQ(nice_ticks(0.0, 1000.0, 5), (std::vector<double>{0, 200, 400, 600, 800, 1000}));
  EXPECT_EQ(nice_ticks(2.13, 2.61, 5), (std::vector<double>{2.2, 2.3, 2.4, 2.5, 2.6}));
  EXPECT_EQ(nice_ticks(-1.0, 1.0, 4), (std::vector<double>{-1.0, -0.5, 0.0, 0.5, 1.0}));
}

TEST(LineChart, TrailingMovingAverage) {
  EXPECT_EQ(moving_average({1, 2, 3, 4, 5}, 2), (std::vector<double>{1, 1.5, 2.5, 3.5, 4.5}));
  EXPECT_EQ(moving_average({1, 2, 3}, 1), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(moving_average({3, 6, 9}, 10), (std::vector<double>{3, 4.5, 6}));
}

}  // namespace
}  // namespace radseek
