// Jupyter display hooks (fitrun/notebook.hpp): mime bundles and the SVG drawings behind them.
#include "fitrun/notebook.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "fitrun/error.hpp"

namespace fitrun {

namespace {

std::string escape_xml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string pre(const std::string& text) { return "<pre>" + escape_xml(text) + "</pre>"; }

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

bool is_val_key(const std::string& key) { return key.rfind("val_", 0) == 0; }

// Panel metrics: the requested ones, or every recorded base name with "loss" first.
std::vector<std::string> panel_metrics(const callbacks::History& h,
                                       const std::vector<std::string>& requested) {
  if (!requested.empty()) {
    for (const auto& m : requested)
      if (!h.history.count(m) && !h.history.count("val_" + m)) {
        std::string keys;
        for (const auto& [k, v] : h.history) keys += (keys.empty() ? "" : ", ") + k;
        throw Error("learning_curve_svg: History has no \"" + m + "\"; recorded keys: " +
                    (keys.empty() ? "(none)" : keys));
      }
    return requested;
  }
  std::set<std::string> bases;
  for (const auto& [key, values] : h.history) bases.insert(is_val_key(key) ? key.substr(4) : key);
  std::vector<std::string> out;
  if (bases.erase("loss")) out.push_back("loss");
  out.insert(out.end(), bases.begin(), bases.end());
  return out;
}

// Number of epoch rows: the recorded epochs, or the longest series for a hand-made History.
size_t row_count(const callbacks::History& h) {
  size_t n = h.epoch.size();
  for (const auto& [key, values] : h.history) n = std::max(n, values.size());
  return n;
}

// The epoch row of each value of a series. A shorter series (val_* with validation_freq > 1)
// is taken as evenly spaced, validated at the end of every (rows / size)-th epoch.
std::vector<size_t> series_rows(size_t rows, size_t size) {
  std::vector<size_t> out(size);
  const size_t every = size < rows && size > 0 ? rows / size : 1;
  for (size_t k = 0; k < size; ++k) out[k] = std::min(rows - 1, (k + 1) * every - 1);
  return out;
}

// 1-based epoch number of a row, as Keras' plots and progress bars count.
double epoch_of(const callbacks::History& h, size_t row) {
  return row < h.epoch.size() ? h.epoch[row] + 1.0 : row + 1.0;
}

struct Series {
  std::vector<double> x, y;  // epoch, value (non-finite values kept: they break the line)
};

Series series(const callbacks::History& h, const std::string& key) {
  Series s;
  auto it = h.history.find(key);
  if (it == h.history.end()) return s;
  const auto rows = series_rows(row_count(h), it->second.size());
  for (size_t k = 0; k < rows.size(); ++k) {
    s.x.push_back(epoch_of(h, rows[k]));
    s.y.push_back(it->second[k]);
  }
  return s;
}

// Padded [lo, hi] over the finite values; a single value gets a small band around it.
std::pair<double, double> value_range(const std::vector<const Series*>& all) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series* s : all)
    for (double v : s->y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (!(lo <= hi)) return {0.0, 1.0};
  if (hi - lo < 1e-12) {
    const double pad = std::max(std::fabs(lo) * 0.05, 0.05);
    return {lo - pad, hi + pad};
  }
  const double pad = (hi - lo) * 0.05;
  return {lo - pad, hi + pad};
}

// Plot area inside a panel (tests/notebooks/test_notebook_display.cpp relies on these).
constexpr double kLeft = 56, kRight = 12, kTop = 28, kBottom = 40;

}  // namespace

json mime_bundle_repr(const Tensor& tensor) {
  const std::string text = tensor.to_string();
  return {{"text/plain", text}, {"text/html", pre(text)}};
}

json mime_bundle_repr(const Model& model) {
  const std::string text = model.summary_string();
  return {{"text/plain", text}, {"text/html", pre(text)}};
}

json mime_bundle_repr(const Sequential& model) {
  return mime_bundle_repr(static_cast<const Model&>(model));
}

namespace callbacks {
json mime_bundle_repr(const History& history) {
  return {{"image/svg+xml", notebook::learning_curve_svg(history)},
          {"text/plain", notebook::history_table(history)}};
}
}  // namespace callbacks

namespace notebook {

json mime_bundle_repr(const Svg& svg) { return {{"image/svg+xml", svg.markup}}; }

std::string learning_curve_svg(const callbacks::History& history,
                               const LearningCurveOptions& options) {
  const auto metrics = panel_metrics(history, options.metrics);
  const double pw = options.panel_width, ph = options.panel_height;
  const int panels = std::max<int>(1, static_cast<int>(metrics.size()));
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", pw * panels) +
                    "\" height=\"" + fmt("%.0f", ph) + "\" viewBox=\"0 0 " +
                    fmt("%.0f", pw * panels) + " " + fmt("%.0f", ph) +
                    "\" font-family=\"sans-serif\" font-size=\"11\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  if (metrics.empty() || row_count(history) == 0) {
    svg += "<text x=\"" + fmt("%.1f", pw / 2) + "\" y=\"" + fmt("%.1f", ph / 2) +
           "\" text-anchor=\"middle\">no epochs recorded</text>\n</svg>\n";
    return svg;
  }
  const double x0 = kLeft, x1 = pw - kRight, y0 = kTop, y1 = ph - kBottom;
  const size_t rows = row_count(history);
  const double e_lo = epoch_of(history, 0), e_hi = epoch_of(history, rows - 1);

  for (size_t p = 0; p < metrics.size(); ++p) {
    const Series train = series(history, metrics[p]);
    const Series val = series(history, "val_" + metrics[p]);
    const auto [v_lo, v_hi] = value_range({&train, &val});
    auto X = [&](double e) { return e_hi > e_lo ? x0 + (e - e_lo) / (e_hi - e_lo) * (x1 - x0) : (x0 + x1) / 2; };
    auto Y = [&](double v) { return y1 - (v - v_lo) / (v_hi - v_lo) * (y1 - y0); };

    svg += "<g class=\"panel\" transform=\"translate(" + fmt("%.0f", pw * p) + ",0)\">\n";
    svg += "<text x=\"" + fmt("%.1f", (x0 + x1) / 2) + "\" y=\"18\" text-anchor=\"middle\" font-size=\"13\">" +
           escape_xml(metrics[p]) + "</text>\n";
    svg += "<rect x=\"" + fmt("%.1f", x0) + "\" y=\"" + fmt("%.1f", y0) + "\" width=\"" +
           fmt("%.1f", x1 - x0) + "\" height=\"" + fmt("%.1f", y1 - y0) +
           "\" fill=\"none\" stroke=\"#888\"/>\n";
    // Axis ticks: every epoch up to 10, else about 8; five values.
    const int epochs = static_cast<int>(std::lround(e_hi - e_lo)) + 1;
    const int step = epochs <= 10 ? 1 : (epochs + 7) / 8;
    for (int e = static_cast<int>(e_lo); e <= static_cast<int>(e_hi); e += step)
      svg += "<text x=\"" + fmt("%.1f", X(e)) + "\" y=\"" + fmt("%.1f", y1 + 14) +
             "\" text-anchor=\"middle\">" + std::to_string(e) + "</text>\n";
    for (int t = 0; t <= 4; ++t) {
      const double v = v_lo + (v_hi - v_lo) * t / 4;
      svg += "<text x=\"" + fmt("%.1f", x0 - 4) + "\" y=\"" + fmt("%.1f", Y(v) + 4) +
             "\" text-anchor=\"end\">" + fmt("%.3g", v) + "</text>\n";
    }
    svg += "<text x=\"" + fmt("%.1f", (x0 + x1) / 2) + "\" y=\"" + fmt("%.1f", ph - 8) +
           "\" text-anchor=\"middle\">epoch</text>\n";

    auto draw = [&](const Series& s, const char* colour, const char* dash, const char* cls) {
      std::string points;
      auto flush = [&] {
        if (!points.empty())
          svg += "<polyline class=\"" + std::string(cls) + "\" fill=\"none\" stroke=\"" + colour +
                 "\" stroke-width=\"2\"" + dash + " points=\"" + points + "\"/>\n";
        points.clear();
      };
      for (size_t k = 0; k < s.y.size(); ++k) {
        if (!std::isfinite(s.y[k])) {  // a gap, not a plunge to the axis
          flush();
          continue;
        }
        points += (points.empty() ? "" : " ") + fmt("%.1f", X(s.x[k])) + "," + fmt("%.1f", Y(s.y[k]));
        svg += "<circle cx=\"" + fmt("%.1f", X(s.x[k])) + "\" cy=\"" + fmt("%.1f", Y(s.y[k])) +
               "\" r=\"2.5\" fill=\"" + colour + "\"/>\n";
      }
      flush();
    };
    draw(train, "#1f77b4", "", "training");
    draw(val, "#ff7f0e", " stroke-dasharray=\"6,3\"", "validation");
    if (!train.y.empty() && !val.y.empty()) {  // legend, top right of the plot area
      svg += "<line x1=\"" + fmt("%.1f", x1 - 92) + "\" y1=\"" + fmt("%.1f", y0 + 10) + "\" x2=\"" +
             fmt("%.1f", x1 - 72) + "\" y2=\"" + fmt("%.1f", y0 + 10) +
             "\" stroke=\"#1f77b4\" stroke-width=\"2\"/><text x=\"" + fmt("%.1f", x1 - 68) +
             "\" y=\"" + fmt("%.1f", y0 + 14) + "\">training</text>\n";
      svg += "<line x1=\"" + fmt("%.1f", x1 - 92) + "\" y1=\"" + fmt("%.1f", y0 + 24) + "\" x2=\"" +
             fmt("%.1f", x1 - 72) + "\" y2=\"" + fmt("%.1f", y0 + 24) +
             "\" stroke=\"#ff7f0e\" stroke-width=\"2\" stroke-dasharray=\"6,3\"/><text x=\"" +
             fmt("%.1f", x1 - 68) + "\" y=\"" + fmt("%.1f", y0 + 28) + "\">validation</text>\n";
    }
    svg += "</g>\n";
  }
  return svg + "</svg>\n";
}

std::string history_table(const callbacks::History& history) {
  std::vector<std::string> keys;
  for (const auto& m : panel_metrics(history, {}))
    for (const std::string& k : {m, "val_" + m})
      if (history.history.count(k)) keys.push_back(k);
  const size_t rows = row_count(history);
  std::vector<std::vector<std::string>> cells(rows, std::vector<std::string>(keys.size()));
  for (size_t c = 0; c < keys.size(); ++c) {
    const auto& values = history.history.at(keys[c]);
    const auto at = series_rows(rows, values.size());
    for (size_t k = 0; k < values.size(); ++k) cells[at[k]][c] = fmt("%.4f", values[k]);
  }
  std::string out = "epoch";
  std::vector<size_t> width(keys.size());
  for (size_t c = 0; c < keys.size(); ++c) {
    width[c] = std::max<size_t>(keys[c].size(), 6);
    out += "  " + std::string(width[c] - keys[c].size(), ' ') + keys[c];
  }
  out += "\n";
  for (size_t r = 0; r < rows; ++r) {
    const std::string e = fmt("%.0f", epoch_of(history, r));
    out += std::string(5 - std::min<size_t>(5, e.size()), ' ') + e;
    for (size_t c = 0; c < keys.size(); ++c)
      out += "  " + std::string(width[c] - std::min(width[c], cells[r][c].size()), ' ') + cells[r][c];
    out += "\n";
  }
  return out;
}

Svg image_grid(const Tensor& images, const std::vector<std::string>& captions, int pixel) {
  const Shape& s = images.shape();
  if (!(s.rank() == 3 || (s.rank() == 4 && s[3] == 1)))
    throw ShapeError("image_grid: expected images of shape (n, h, w) or (n, h, w, 1), got " +
                     s.to_string());
  const int64_t n = s[0], h = s[1], w = s[2];
  if (!captions.empty() && static_cast<int64_t>(captions.size()) != n)
    throw Error("image_grid: " + std::to_string(captions.size()) + " captions for " +
                std::to_string(n) + " images");
  if (pixel < 1) throw Error("image_grid: pixel must be >= 1, got " + std::to_string(pixel));
  const int64_t gap = 8, caption_h = captions.empty() ? 0 : 16;
  const int64_t width = n * w * pixel + (n + 1) * gap, height = h * pixel + 2 * gap + caption_h;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width) +
                    "\" height=\"" + std::to_string(height) + "\" font-family=\"sans-serif\" font-size=\"11\">\n"
                    "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const Tensor f = images.dtype() == DType::float32 ? images : images.astype(DType::float32);
  const float* data = f.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const float* img = data + i * h * w;
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t k = 0; k < h * w; ++k)
      if (std::isfinite(img[k])) lo = std::min(lo, img[k]), hi = std::max(hi, img[k]);
    const int64_t ox = gap + i * (w * pixel + gap), oy = gap;
    svg += "<g class=\"image\"><rect x=\"" + std::to_string(ox) + "\" y=\"" + std::to_string(oy) +
           "\" width=\"" + std::to_string(w * pixel) + "\" height=\"" + std::to_string(h * pixel) +
           "\" fill=\"white\" stroke=\"#ccc\"/>\n";
    for (int64_t r = 0; r < h; ++r)
      for (int64_t c = 0; c < w; ++c) {
        const float v = img[r * w + c];
        const double t = hi > lo && std::isfinite(v) ? (v - lo) / (hi - lo) : 0.0;
        const int grey = static_cast<int>(std::lround(255.0 * (1.0 - t)));
        if (grey >= 255) continue;  // white on white: leave it out
        svg += "<rect x=\"" + std::to_string(ox + c * pixel) + "\" y=\"" +
               std::to_string(oy + r * pixel) + "\" width=\"" + std::to_string(pixel) +
               "\" height=\"" + std::to_string(pixel) + "\" fill=\"rgb(" + std::to_string(grey) +
               "," + std::to_string(grey) + "," + std::to_string(grey) + ")\"/>\n";
      }
    if (!captions.empty())
      svg += "<text x=\"" + std::to_string(ox + w * pixel / 2) + "\" y=\"" +
             std::to_string(oy + h * pixel + 14) + "\" text-anchor=\"middle\">" +
             escape_xml(captions[static_cast<size_t>(i)]) + "</text>\n";
    svg += "</g>\n";
  }
  return Svg{svg + "</svg>\n"};
}

}  // namespace notebook

}  // namespace fitrun
