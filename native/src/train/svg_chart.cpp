#include "train/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace qs {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '&': o += "&amp;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

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

// "Nice" tick step for a range, about `target` ticks.
double nice_step(double range, int target) {
  if (!(range > 0)) return 1.0;
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

}  // namespace

std::string render_svg_chart(const std::vector<ChartPanel>& panels, const std::string& title) {
  const double W = 760, panel_h = 300, top = 40, left = 70, right = 220, gap = 60;
  const double H = top + panels.size() * (panel_h + gap);
  std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + px(W) + "\" height=\"" + px(H) +
                  "\" viewBox=\"0 0 " + px(W) + " " + px(H) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s += "<text x=\"" + px(W / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">" + esc(title) + "</text>\n";
  for (std::size_t pi = 0; pi < panels.size(); ++pi) {
    const auto& p = panels[pi];
    const double y0 = top + pi * (panel_h + gap) + 20;  // plot area top
    const double ph = panel_h - 40, pw = W - left - right;
    double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
    for (const auto& se : p.series)
      for (const auto& [x, y] : se.points) {
        if (!std::isfinite(x) || !std::isfinite(y)) continue;
        xmin = std::min(xmin, x);
        xmax = std::max(xmax, x);
        ymin = std::min(ymin, y);
        ymax = std::max(ymax, y);
      }
    if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
    if (xmax <= xmin) xmax = xmin + 1;
    if (p.unit_range) ymin = 0, ymax = 1;
    else {
      if (ymax <= ymin) ymax = ymin + 1;
      const double pad = (ymax - ymin) * 0.05;
      ymin = std::max(0.0, ymin - pad);
      ymax += pad;
    }
    auto X = [&](double x) { return left + (x - xmin) / (xmax - xmin) * pw; };
    auto Y = [&](double y) { return y0 + ph - (y - ymin) / (ymax - ymin) * ph; };
    s += "<text x=\"" + px(left) + "\" y=\"" + px(y0 - 6) + "\" font-size=\"14\">" + esc(p.title) + "</text>\n";
    s += "<rect x=\"" + px(left) + "\" y=\"" + px(y0) + "\" width=\"" + px(pw) + "\" height=\"" + px(ph) +
         "\" fill=\"none\" stroke=\"#444\"/>\n";
    const double ys = nice_step(ymax - ymin, 5);
    for (double t = std::ceil(ymin / ys) * ys; t <= ymax + 1e-12; t += ys) {
      s += "<line x1=\"" + px(left) + "\" x2=\"" + px(left + pw) + "\" y1=\"" + px(Y(t)) + "\" y2=\"" + px(Y(t)) +
           "\" stroke=\"#ddd\"/>\n";
      s += "<text x=\"" + px(left - 6) + "\" y=\"" + px(Y(t) + 4) + "\" text-anchor=\"end\">" + num(t) + "</text>\n";
    }
    const double xs = std::max(1.0, nice_step(xmax - xmin, 8));
    for (double t = std::ceil(xmin / xs) * xs; t <= xmax + 1e-12; t += xs)
      s += "<text x=\"" + px(X(t)) + "\" y=\"" + px(y0 + ph + 16) + "\" text-anchor=\"middle\">" + num(t) + "</text>\n";
    s += "<text x=\"" + px(left + pw / 2) + "\" y=\"" + px(y0 + ph + 32) + "\" text-anchor=\"middle\">" +
         esc(p.x_label) + "</text>\n";
    s += "<text transform=\"translate(" + px(18) + "," + px(y0 + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
         esc(p.y_label) + "</text>\n";
    for (std::size_t si = 0; si < p.series.size(); ++si) {
      const auto& se = p.series[si];
      const char* color = kColors[si % 8];
      std::string pts;
      for (const auto& [x, y] : se.points)
        if (std::isfinite(x) && std::isfinite(y)) pts += px(X(x)) + "," + px(Y(y)) + " ";
      if (!pts.empty()) {
        s += "<polyline fill=\"none\" stroke=\"" + std::string(color) + "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
        for (const auto& [x, y] : se.points)
          if (std::isfinite(x) && std::isfinite(y))
            s += "<circle cx=\"" + px(X(x)) + "\" cy=\"" + px(Y(y)) + "\" r=\"2.5\" fill=\"" + color + "\"/>\n";
      }
      const double ly = y0 + 10 + si * 18;
      s += "<line x1=\"" + px(left + pw + 12) + "\" x2=\"" + px(left + pw + 32) + "\" y1=\"" + px(ly) + "\" y2=\"" +
           px(ly) + "\" stroke=\"" + color + "\" stroke-width=\"2\"/>\n";
      s += "<text x=\"" + px(left + pw + 38) + "\" y=\"" + px(ly + 4) + "\">" + esc(se.name) + "</text>\n";
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace qs
