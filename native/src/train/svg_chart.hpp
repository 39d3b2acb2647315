// A small self-contained SVG line chart (training curves): panels stacked vertically, each with
// axes, ticks, a legend and one polyline per series. No external assets; opens in any browser.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace qs {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points are skipped
};

struct ChartPanel {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
  bool unit_range = false;  // true: y axis fixed to [0, 1] (scores); false: fitted to the data
};

std::string render_svg_chart(const std::vector<ChartPanel>& panels, const std::string& title);

}  // namespace qs
