#pragma once
// Rich display in Jupyter notebooks (xeus-cling's xcpp17 kernel, xeus-cpp).
//
// xeus-cling shows a cell's value, and xcpp::display(x) shows x, through a function
//   nlohmann::json mime_bundle_repr(const T&)
// found by argument-dependent lookup in T's namespace: a map from mime type to content. This
// header provides them for Tensor (text), Model (its summary), History (learning curves as
// SVG) and notebook::Svg (images), and includes nothing from xeus, so it compiles anywhere (it
// is part of fitrun.hpp). Example, in a notebook:
//   #include "xcpp/xdisplay.hpp"
//   xcpp::display(history);                               // the learning-curve plot
//   xcpp::display(notebook::image_grid(x_test.slice(0, 8).reshape({8, 8, 8})));
#include <string>
#include <vector>

#include "fitrun/callbacks/history.hpp"
#include "fitrun/json.hpp"
#include "fitrun/model.hpp"
#include "fitrun/sequential.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun {

/// {"text/plain": numpy-like text (Tensor::to_string), "text/html": the same in a <pre>}.
json mime_bundle_repr(const Tensor& tensor);
/// {"text/plain": model.summary_string(), "text/html": the table in a <pre>}.
json mime_bundle_repr(const Model& model);
/// Same as for Model. An exact match, so it wins over a kernel's generic
/// template<class T> mime_bundle_repr(const T&) (older xeus-cling releases have one).
json mime_bundle_repr(const Sequential& model);

}  // namespace fitrun

namespace fitrun::callbacks {

/// {"image/svg+xml": notebook::learning_curve_svg(history),
///  "text/plain": notebook::history_table(history)}.
json mime_bundle_repr(const History& history);

}  // namespace fitrun::callbacks

namespace fitrun::notebook {

/// A finished SVG document; displays as an image.
struct Svg {
  std::string markup;
};
/// {"image/svg+xml": svg.markup}.
json mime_bundle_repr(const Svg& svg);

struct LearningCurveOptions {
  /// Metrics to plot, one panel each (their val_* series join the same panel). Empty: every
  /// recorded metric, "loss" first.
  std::vector<std::string> metrics;
  int panel_width = 320;   // pixels, per panel; panels sit side by side
  int panel_height = 240;
};

/// Keras-tutorial learning curves drawn from History: per metric a panel with the training
/// series (solid, blue) and the validation series (dashed, orange) against the epoch
/// (1-based). Non-finite values leave a gap. Requires: every requested metric was recorded
/// (else throws fitrun::Error listing the recorded keys).
std::string learning_curve_svg(const callbacks::History& history,
                               const LearningCurveOptions& options = {});

/// Plain-text table, one row per epoch: "epoch  accuracy  loss  val_accuracy  val_loss".
std::string history_table(const callbacks::History& history);

/// Grey-scale images side by side, ink dark on white, each scaled from its own min (white) to
/// max (black). `images` is (n, h, w) or (n, h, w, 1); `captions` (empty or n strings) are
/// written under the images. `pixel` is the size in screen pixels of one image pixel.
/// Throws ShapeError for other shapes and Error when the caption count is not n.
Svg image_grid(const Tensor& images, const std::vector<std::string>& captions = {},
               int pixel = 4);

}  // namespace fitrun::notebook
