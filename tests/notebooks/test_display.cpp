// fitrun/notebook.hpp: the mime bundles xeus-cling displays, and the SVG drawings behind them.
#include <fitrun/fitrun.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <iostream>
#include <sstream>
#include <string>

using namespace fitrun;

namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Every element opened is closed: <tag ...> ... </tag> or <tag .../>.
void check_balanced(const std::string& svg, const std::string& tag) {
  const size_t open = count(svg, "<" + tag + " ") + count(svg, "<" + tag + ">");
  size_t self_closed = 0;
  for (size_t at = svg.find("<" + tag + " "); at != std::string::npos;
       at = svg.find("<" + tag + " ", at + 1))
    if (svg.compare(svg.find('>', at) - 1, 2, "/>") == 0) ++self_closed;
  CHECK(open == self_closed + count(svg, "</" + tag + ">"));
}

// The plot area of a default 320x240 panel (src/core/notebook.cpp): x 56..308, y 28..200.
double px(double epoch, double first, double last) { return 56 + (epoch - first) / (last - first) * 252; }
double py(double v, double lo, double hi) {
  const double pad = (hi - lo) * 0.05;
  return 200 - (v - (lo - pad)) / ((hi + pad) - (lo - pad)) * 172;
}
std::string point(double x, double y) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f,%.1f", x, y);
  return buf;
}

callbacks::History two_metric_history() {
  callbacks::History h;
  h.epoch = {0, 1, 2};
  h.history["loss"] = {1.0, 0.6, 0.5};
  h.history["val_loss"] = {1.2, 0.9, 0.8};
  h.history["accuracy"] = {0.5, 0.75, 0.875};
  h.history["val_accuracy"] = {0.25, 0.5, 0.625};
  return h;
}

}  // namespace

TEST_CASE("a tensor displays as its numpy-like text", "[notebook]") {
  const Tensor t = Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2});
  const json bundle = mime_bundle_repr(t);
  CHECK(bundle.at("text/plain") == "array([[1., 2.],\n       [3., 4.]], shape=(2, 2), dtype=float32)");
  CHECK(bundle.at("text/html") ==
        "<pre>array([[1., 2.],\n       [3., 4.]], shape=(2, 2), dtype=float32)</pre>");
}

TEST_CASE("a model displays as its summary table with HTML escaped", "[notebook]") {
  using namespace layers;
  clear_session();
  Sequential model({Input({4}), Dense(3)}, "<tiny & small>");
  const json bundle = mime_bundle_repr(model);  // the Sequential overload
  CHECK(bundle.at("text/plain") == model.summary_string());
  const std::string html = bundle.at("text/html");
  CHECK(html.rfind("<pre>Model: &quot;&lt;tiny &amp; small&gt;&quot;", 0) == 0);
  CHECK(html.find("<tiny") == std::string::npos);
  CHECK(mime_bundle_repr(static_cast<const Model&>(model)) == bundle);  // the Model overload
}

TEST_CASE("History displays its learning curves as SVG with the points where they belong",
          "[notebook]") {
  const auto h = two_metric_history();
  const json bundle = mime_bundle_repr(h);
  REQUIRE(bundle.contains("image/svg+xml"));
  const std::string svg = bundle.at("image/svg+xml");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"240\"", 0) == 0);
  CHECK(svg.find("</svg>") == svg.size() - 7);
  CHECK(count(svg, "<g class=\"panel\"") == 2);
  // "loss" comes first, then the other metrics alphabetically.
  CHECK(svg.find(">loss</text>") < svg.find(">accuracy</text>"));
  // The loss panel: one range over training and validation values (0.5 .. 1.2).
  const std::string loss_line = point(px(1, 1, 3), py(1.0, 0.5, 1.2)) + " " +
                                point(px(2, 1, 3), py(0.6, 0.5, 1.2)) + " " +
                                point(px(3, 1, 3), py(0.5, 0.5, 1.2));
  CHECK(svg.find("class=\"training\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"" +
                 loss_line + "\"") != std::string::npos);
  const std::string val_line = point(px(1, 1, 3), py(1.2, 0.5, 1.2)) + " " +
                               point(px(2, 1, 3), py(0.9, 0.5, 1.2)) + " " +
                               point(px(3, 1, 3), py(0.8, 0.5, 1.2));
  CHECK(svg.find("stroke-dasharray=\"6,3\" points=\"" + val_line + "\"") != std::string::npos);
  CHECK(count(svg, "<circle") == 12);
  CHECK(count(svg, ">training</text>") == 2);
  for (const char* tag : {"svg", "g", "text", "polyline", "circle", "rect", "line"})
    check_balanced(svg, tag);

  CHECK(bundle.at("text/plain") ==
        "epoch    loss  val_loss  accuracy  val_accuracy\n"
        "    1  1.0000    1.2000    0.5000        0.2500\n"
        "    2  0.6000    0.9000    0.7500        0.5000\n"
        "    3  0.5000    0.8000    0.8750        0.6250\n");
}

TEST_CASE("learning curves leave a gap at a non-finite loss and place sparse validation",
          "[notebook]") {
  callbacks::History h;
  h.epoch = {0, 1, 2, 3};
  h.history["loss"] = {1.0, NAN, 0.5, 0.25};
  h.history["val_loss"] = {0.75, 0.5};  // validation_freq = 2: epochs 2 and 4
  notebook::LearningCurveOptions o;
  o.metrics = {"loss"};
  const std::string svg = notebook::learning_curve_svg(h, o);
  CHECK(count(svg, "class=\"training\"") == 2);  // two segments around the NaN
  CHECK(svg.find("points=\"" + point(px(1, 1, 4), py(1.0, 0.25, 1.0)) + "\"") != std::string::npos);
  CHECK(svg.find("points=\"" + point(px(3, 1, 4), py(0.5, 0.25, 1.0)) + " " +
                 point(px(4, 1, 4), py(0.25, 0.25, 1.0)) + "\"") != std::string::npos);
  CHECK(svg.find("points=\"" + point(px(2, 1, 4), py(0.75, 0.25, 1.0)) + " " +
                 point(px(4, 1, 4), py(0.5, 0.25, 1.0)) + "\"") != std::string::npos);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(notebook::history_table(h) ==
        "epoch    loss  val_loss\n"
        "    1  1.0000          \n"
        "    2     nan    0.7500\n"
        "    3  0.5000          \n"
        "    4  0.2500    0.5000\n");
}

TEST_CASE("learning curves of an empty History or an unknown metric", "[notebook]") {
  callbacks::History empty;
  const std::string svg = notebook::learning_curve_svg(empty);
  CHECK(svg.find(">no epochs recorded</text>") != std::string::npos);
  CHECK(notebook::history_table(empty) == "epoch\n");
  notebook::LearningCurveOptions o;
  o.metrics = {"acc"};
  CHECK_THROWS_WITH(notebook::learning_curve_svg(two_metric_history(), o),
                    "learning_curve_svg: History has no \"acc\"; recorded keys: accuracy, loss, "
                    "val_accuracy, val_loss");
}

TEST_CASE("image_grid draws grey levels from each image's own range", "[notebook]") {
  // Two 2x2 images: the first spans 0..16 (white, light grey, dark grey, black).
  const Tensor images = Tensor::from_vector({0.f, 4.f, 12.f, 16.f, 1.f, 1.f, 1.f, 1.f}, {2, 2, 2});
  const notebook::Svg s = notebook::image_grid(images, {"7", "<1>"}, 3);
  const json bundle = mime_bundle_repr(s);
  CHECK(bundle.size() == 1);
  CHECK(bundle.at("image/svg+xml") == s.markup);
  CHECK(s.markup.find("width=\"36\" height=\"38\"") != std::string::npos);  // 2*6 + 3*8, 6+16+16
  CHECK(count(s.markup, "fill=\"rgb(") == 3);  // white pixels are left out; a flat image is white
  CHECK(s.markup.find("<rect x=\"11\" y=\"8\" width=\"3\" height=\"3\" fill=\"rgb(191,191,191)\"/>") !=
        std::string::npos);
  CHECK(s.markup.find("<rect x=\"8\" y=\"11\" width=\"3\" height=\"3\" fill=\"rgb(64,64,64)\"/>") !=
        std::string::npos);
  CHECK(s.markup.find(">&lt;1&gt;</text>") != std::string::npos);
  CHECK_THROWS_WITH(notebook::image_grid(Tensor::zeros({2, 4})),
                    "image_grid: expected images of shape (n, h, w) or (n, h, w, 1), got (2, 4)");
  CHECK_THROWS_WITH(notebook::image_grid(images, {"a"}), "image_grid: 1 captions for 2 images");
}

TEST_CASE("the progress bar and callback messages go through std::cout, as xeus-cling captures",
          "[notebook][display]") {
  // xeus-cling shows a cell's output by swapping std::cout's buffer; do the same.
  std::ostringstream captured;
  std::streambuf* saved = std::cout.rdbuf(captured.rdbuf());
  set_seed(1);
  Sequential model({Input({2}), layers::Dense(1)});
  model.compile("sgd", "mse");
  const Tensor x = Tensor::normal({8, 2}, 0.f, 1.f, 1), y = Tensor::normal({8, 1}, 0.f, 1.f, 2);
  auto stop = std::make_shared<callbacks::EarlyStopping>(
      callbacks::EarlyStoppingOptions{
          .monitor = "loss", .min_delta = 1e9, .patience = 1, .verbose = 1, .mode = "max"});
  model.fit({x}, {y}, {.batch_size = 4, .epochs = 3, .verbose = 1, .callbacks = {stop}});
  std::cout.rdbuf(saved);
  const std::string text = captured.str();
  CHECK(text.find("Epoch 1/3") != std::string::npos);
  CHECK(text.find("2/2") != std::string::npos);
  CHECK(text.find("Epoch 2: early stopping") != std::string::npos);
}
