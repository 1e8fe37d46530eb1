// Convolution layers: forward against naive double-precision loops for many stride / padding /
// dilation / groups / activation cases (with oneDNN's weight layout and with the plain Keras
// layout), finite-difference gradients for inputs and every weight, shapes, config round trips
// and the errors a user sees.
#include <catch2/catch.hpp>

#include "fitrun/error.hpp"
#include "fitrun/layers/conv.hpp"
#include "fitrun/ops.hpp"
#include "layers/layer_test_helpers.hpp"
#include "layers/vision_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using namespace layer_test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

constexpr double kLeakySlope = 0.2;  // Keras' "leaky_relu" string

struct Conv2DCase {
  Shape x;
  int64_t filters;
  Size2 kernel, strides, dilation;
  const char* padding;
  int64_t groups;
  const char* activation;
  bool use_bias;
};

const std::vector<Conv2DCase> kConv2DCases = {
    {{2, 7, 6, 3}, 4, 3, 1, 1, "valid", 1, "linear", true},
    {{2, 7, 6, 3}, 4, 3, 2, 1, "same", 1, "relu", true},
    {{2, 8, 7, 4}, 6, {3, 2}, {2, 1}, 1, "same", 2, "tanh", true},
    {{1, 9, 9, 2}, 3, 3, 1, 2, "same", 1, "linear", false},
    {{2, 9, 8, 2}, 2, {2, 3}, 1, {2, 3}, "valid", 1, "sigmoid", true},
    {{2, 6, 6, 4}, 4, 1, 3, 1, "same", 4, "gelu", true},
    {{2, 5, 5, 3}, 5, 4, 2, 1, "same", 1, "elu", true},
    {{3, 4, 4, 8}, 8, 3, 1, 1, "same", 8, "leaky_relu", true},
    {{2, 10, 3, 2}, 4, {5, 1}, {3, 1}, 1, "valid", 2, "selu", true},
};

ConvOptions conv_options(const Conv2DCase& c) {
  ConvOptions o;
  o.strides = c.strides;
  o.dilation_rate = c.dilation;
  o.padding = c.padding;
  o.groups = c.groups;
  o.use_bias = c.use_bias;
  o.bias_initializer = initializers::RandomUniform(-0.5f, 0.5f);
  return o;
}

std::string describe(const Conv2DCase& c) {
  return c.x.to_string() + " filters " + std::to_string(c.filters) + " kernel " +
         std::to_string(c.kernel.h) + "x" + std::to_string(c.kernel.w) + " strides " +
         std::to_string(c.strides.h) + "x" + std::to_string(c.strides.w) + " dilation " +
         std::to_string(c.dilation.h) + "x" + std::to_string(c.dilation.w) + " " + c.padding +
         " groups " + std::to_string(c.groups) + " " + c.activation +
         (c.use_bias ? " bias" : " no-bias");
}

/// The activations whose derivative jumps at 0 (finite differences there are meaningless)
/// are gradient-checked through a smooth one with the same code path.
std::string smooth(const std::string& act) {
  if (act == "relu") return "tanh";       // fused
  if (act == "leaky_relu" || act == "selu") return "gelu";  // not fused
  return act;
}

std::vector<double> conv2d_reference(const Conv2D& conv, const Tensor& x, const Conv2DCase& c) {
  const bool same = std::string(c.padding) == "same";
  vision_test::ConvGeometry g;
  g.sh = c.strides.h;
  g.sw = c.strides.w;
  g.dh = c.dilation.h;
  g.dw = c.dilation.w;
  g.pt = vision_test::pad_before(x.dim(1), c.kernel.h, g.sh, g.dh, same);
  g.pl = vision_test::pad_before(x.dim(2), c.kernel.w, g.sw, g.dw, same);
  g.groups = c.groups;
  const int64_t oh = vision_test::out_len(x.dim(1), c.kernel.h, g.sh, g.dh, same);
  const int64_t ow = vision_test::out_len(x.dim(2), c.kernel.w, g.sw, g.dw, same);
  const Tensor* bias = conv.bias() ? &conv.bias()->value : nullptr;
  return activate(parse_activation(c.activation),
                  vision_test::conv2d(x, conv.kernel()->value, bias, g, oh, ow), c.filters,
                  kLeakySlope);
}

/// Runs `body` with oneDNN's preferred weight layout and again with the plain Keras layout.
template <class F>
void for_both_weight_layouts(F&& body) {
  for (bool plain : {false, true}) {
    INFO("plain hwio weights: " << plain);
    ops::set_conv_plain_weights(plain);
    body();
  }
  ops::set_conv_plain_weights(false);
}

}  // namespace

TEST_CASE("Conv2D forward equals direct summation for strides, padding, dilation and groups",
          "[layers][conv]") {
  for (const Conv2DCase& c : kConv2DCases) {
    INFO(describe(c));
    Conv2D conv(c.filters, c.kernel, c.activation, conv_options(c));
    const Tensor x = Tensor::uniform(c.x, -1.f, 1.f, 11);
    for_both_weight_layouts([&] {
      const Tensor y = forward(conv, {x});
      const bool same = std::string(c.padding) == "same";
      CHECK(y.shape() == Shape{c.x[0],
                               vision_test::out_len(c.x[1], c.kernel.h, c.strides.h,
                                                    c.dilation.h, same),
                               vision_test::out_len(c.x[2], c.kernel.w, c.strides.w,
                                                    c.dilation.w, same),
                               c.filters});
      check_close(y, conv2d_reference(conv, x, c), 1e-4, 1e-5);
    });
    CHECK(conv.kernel()->value.shape() ==
          Shape{c.kernel.h, c.kernel.w, c.x[3] / c.groups, c.filters});
    CHECK(static_cast<bool>(conv.bias()) == c.use_bias);
  }
}

TEST_CASE("Conv2D gradients match central differences for input, kernel and bias",
          "[layers][conv][gradients]") {
  for (const Conv2DCase& c : kConv2DCases) {
    INFO(describe(c) << " (checked with " << smooth(c.activation) << ")");
    for_both_weight_layouts([&] {
      Conv2D conv(c.filters, c.kernel, smooth(c.activation), conv_options(c));
      require_gradients(conv, {Tensor::uniform(c.x, -1.f, 1.f, 12)});
    });
  }
}

TEST_CASE("Conv2D runs each batch size with its own primitives (the last, smaller batch)",
          "[layers][conv]") {
  const Conv2DCase c{{4, 6, 6, 3}, 4, 3, 1, 1, "same", 1, "relu", true};
  Conv2D conv(c.filters, c.kernel, c.activation, conv_options(c));
  for (int64_t n : {4, 3, 4, 1}) {
    Conv2DCase cn = c;
    cn.x[0] = n;
    const Tensor x = Tensor::uniform(cn.x, -1.f, 1.f, n);
    const Tensor y = forward(conv, {x});  // builds the layer on the first pass
    check_close(y, conv2d_reference(conv, x, cn), 1e-4, 1e-5);
  }
}

TEST_CASE("Conv2D backward of a shared layer adds to the weight gradients",
          "[layers][conv][gradients]") {
  Conv2D conv(3, 3, "", conv_options({{2, 5, 5, 2}, 3, 3, 1, 1, "same", 1, "linear", true}));
  const Tensor x = Tensor::uniform({2, 5, 5, 2}, -1.f, 1.f, 1);
  const Tensor dy = Tensor::uniform({2, 5, 5, 3}, -1.f, 1.f, 2);
  backward(conv, {x}, dy);
  const std::vector<double> dk = to_doubles(conv.kernel()->grad);
  const std::vector<double> db = to_doubles(conv.bias()->grad);
  CallContext ctx;
  ctx.accumulate_grads = true;
  Tensor y = forward(conv, {x}, ctx);
  Tensor dx(x.shape());
  conv.backward(ctx, {&x}, y, dy, {&dx});
  std::vector<double> dk2 = dk, db2 = db;
  for (double& v : dk2) v *= 2;
  for (double& v : db2) v *= 2;
  check_close(conv.kernel()->grad, dk2, 1e-5, 1e-6);
  check_close(conv.bias()->grad, db2, 1e-5, 1e-6);
  // The bias gradient is Σ dy over batch and pixels.
  std::vector<double> db_ref(3, 0.0);
  for (int64_t i = 0; i < dy.size(); ++i) db_ref[static_cast<size_t>(i % 3)] += dy.flat(i);
  check_close(conv.bias()->grad, {2 * db_ref[0], 2 * db_ref[1], 2 * db_ref[2]}, 1e-5, 1e-5);
}

// ---------------------------------------------------------------- Conv1D
TEST_CASE("Conv1D forward equals direct summation, including causal padding",
          "[layers][conv]") {
  struct Case {
    Shape x;
    int64_t filters, kernel, strides, dilation, groups;
    const char* padding;
  };
  const std::vector<Case> cases = {
      {{2, 9, 3}, 4, 3, 1, 1, 1, "valid"}, {{2, 9, 3}, 4, 3, 2, 1, 1, "same"},
      {{2, 9, 3}, 2, 3, 1, 2, 1, "causal"}, {{2, 8, 6}, 6, 2, 1, 1, 3, "same"},
      {{1, 7, 2}, 3, 4, 3, 1, 1, "causal"}};
  for (const Case& c : cases) {
    INFO(c.x.to_string() << " kernel " << c.kernel << " strides " << c.strides << " dilation "
                         << c.dilation << " groups " << c.groups << " " << c.padding);
    Conv1DOptions o;
    o.strides = c.strides;
    o.dilation_rate = c.dilation;
    o.groups = c.groups;
    o.padding = c.padding;
    o.bias_initializer = initializers::RandomUniform(-0.5f, 0.5f);
    Conv1D conv(c.filters, c.kernel, "tanh", o);
    const Tensor x = Tensor::uniform(c.x, -1.f, 1.f, 5);
    const Tensor y = forward(conv, {x});
    const std::string padding = c.padding;
    const int64_t keff = (c.kernel - 1) * c.dilation + 1;
    vision_test::ConvGeometry g;
    g.sw = c.strides;
    g.dw = c.dilation;
    g.groups = c.groups;
    int64_t out;
    if (padding == "causal") {
      g.pl = keff - 1;  // Keras: pad (k_eff - 1) on the left, then "valid"
      out = (c.x[1] + keff - 1 - keff) / c.strides + 1;
    } else {
      g.pl = vision_test::pad_before(c.x[1], c.kernel, c.strides, c.dilation, padding == "same");
      out = vision_test::out_len(c.x[1], c.kernel, c.strides, c.dilation, padding == "same");
    }
    CHECK(y.shape() == Shape{c.x[0], out, c.filters});
    CHECK(conv.kernel()->value.shape() == Shape{c.kernel, c.x[2] / c.groups, c.filters});
    const Tensor x4 = x.reshape({c.x[0], 1, c.x[1], c.x[2]});
    const Tensor k = conv.kernel()->value;
    const Tensor k4 = k.reshape({1, k.dim(0), k.dim(1), k.dim(2)});
    check_close(y, activate(ActivationFn::tanh,
                            vision_test::conv2d(x4, k4, &conv.bias()->value, g, 1, out),
                            c.filters, 0),
                1e-4, 1e-5);
    require_gradients(conv, {x});
  }
}

// ---------------------------------------------------------------- DepthwiseConv2D
TEST_CASE("DepthwiseConv2D convolves each channel with its own depth_multiplier filters",
          "[layers][conv]") {
  struct Case {
    Shape x;
    Size2 kernel, strides, dilation;
    int64_t multiplier;
    const char* padding;
  };
  const std::vector<Case> cases = {{{2, 6, 5, 3}, 3, 1, 1, 2, "same"},
                                   {{2, 7, 7, 2}, 3, 2, 1, 1, "valid"},
                                   {{1, 8, 6, 3}, {3, 2}, 1, 2, 3, "same"},
                                   {{2, 5, 6, 4}, 2, {2, 1}, 1, 1, "same"}};
  for (const Case& c : cases) {
    INFO(c.x.to_string() << " multiplier " << c.multiplier << " " << c.padding);
    ConvOptions o;
    o.strides = c.strides;
    o.dilation_rate = c.dilation;
    o.depth_multiplier = c.multiplier;
    o.padding = c.padding;
    o.bias_initializer = initializers::RandomUniform(-0.5f, 0.5f);
    DepthwiseConv2D conv(c.kernel, "", o);
    const Tensor x = Tensor::uniform(c.x, -1.f, 1.f, 8);
    const Tensor y = forward(conv, {x});
    const Tensor& k = conv.kernel()->value;
    const int64_t ch = c.x[3], m = c.multiplier;
    CHECK(k.shape() == Shape{c.kernel.h, c.kernel.w, ch, m});
    // Reference straight from Keras' definition: out[..., c*m + j] = Σ x[..., c]·k[.., c, j].
    const bool same = std::string(c.padding) == "same";
    const int64_t oh = vision_test::out_len(c.x[1], c.kernel.h, c.strides.h, c.dilation.h, same);
    const int64_t ow = vision_test::out_len(c.x[2], c.kernel.w, c.strides.w, c.dilation.w, same);
    const int64_t pt = vision_test::pad_before(c.x[1], c.kernel.h, c.strides.h, c.dilation.h, same);
    const int64_t pl = vision_test::pad_before(c.x[2], c.kernel.w, c.strides.w, c.dilation.w, same);
    REQUIRE(y.shape() == Shape{c.x[0], oh, ow, ch * m});
    std::vector<double> ref(static_cast<size_t>(y.size()));
    for (int64_t b = 0; b < c.x[0]; ++b)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t q = 0; q < ow; ++q)
          for (int64_t cc = 0; cc < ch; ++cc)
            for (int64_t j = 0; j < m; ++j) {
              double s = conv.bias()->value.flat(cc * m + j);
              for (int64_t u = 0; u < c.kernel.h; ++u)
                for (int64_t v = 0; v < c.kernel.w; ++v) {
                  const int64_t hi = r * c.strides.h - pt + u * c.dilation.h;
                  const int64_t wi = q * c.strides.w - pl + v * c.dilation.w;
                  if (hi < 0 || hi >= c.x[1] || wi < 0 || wi >= c.x[2]) continue;
                  s += x.flat(((b * c.x[1] + hi) * c.x[2] + wi) * ch + cc) *
                       k.flat(((u * c.kernel.w + v) * ch + cc) * m + j);
                }
              ref[static_cast<size_t>(((b * oh + r) * ow + q) * ch * m + cc * m + j)] = s;
            }
    check_close(y, ref, 1e-4, 1e-5);
    require_gradients(conv, {x});
  }
}

// ---------------------------------------------------------------- SeparableConv2D
TEST_CASE("SeparableConv2D is a depthwise convolution followed by a 1x1 convolution",
          "[layers][conv]") {
  for (const char* padding : {"same", "valid"}) {
    for (int64_t stride : {1, 2}) {
      INFO(padding << " stride " << stride);
      ConvOptions o;
      o.padding = padding;
      o.strides = stride;
      o.depth_multiplier = 2;
      o.bias_initializer = initializers::RandomUniform(-0.5f, 0.5f);
      SeparableConv2D sep(4, 3, "tanh", o);
      const Tensor x = Tensor::uniform({2, 6, 7, 3}, -1.f, 1.f, 9);
      const Tensor y = forward(sep, {x});
      CHECK(sep.depthwise_kernel()->value.shape() == Shape{3, 3, 3, 2});
      CHECK(sep.pointwise_kernel()->value.shape() == Shape{1, 1, 6, 4});
      CHECK(sep.weights().size() == 3);
      CHECK(sep.weights()[0]->name == "depthwise_kernel");
      // Reference: the depthwise step as a grouped convolution (groups = channels, kernel
      // (3, 3, 1, 6) is the same memory), then the pointwise one.
      const bool same = std::string(padding) == "same";
      vision_test::ConvGeometry g;
      g.sh = g.sw = stride;
      g.pt = vision_test::pad_before(6, 3, stride, 1, same);
      g.pl = vision_test::pad_before(7, 3, stride, 1, same);
      g.groups = 3;
      const int64_t oh = vision_test::out_len(6, 3, stride, 1, same);
      const int64_t ow = vision_test::out_len(7, 3, stride, 1, same);
      const auto mid = vision_test::conv2d(x, sep.depthwise_kernel()->value.reshape({3, 3, 1, 6}),
                                           nullptr, g, oh, ow);
      std::vector<float> midf(mid.begin(), mid.end());
      const Tensor mid_t = Tensor::from_vector(midf, {2, oh, ow, 6});
      const auto ref = vision_test::conv2d(mid_t, sep.pointwise_kernel()->value,
                                           &sep.bias()->value, {}, oh, ow);
      check_close(y, activate(ActivationFn::tanh, ref, 4, 0), 1e-4, 1e-5);
      require_gradients(sep, {x});
    }
  }
}

// ---------------------------------------------------------------- Conv2DTranspose
TEST_CASE("Conv2DTranspose equals TensorFlow's scatter definition and Keras' output sizes",
          "[layers][conv]") {
  struct Case {
    Shape x;
    int64_t filters;
    Size2 kernel, strides, dilation;
    const char* padding;
    Size2 output_padding;
  };
  const std::vector<Case> cases = {
      {{2, 4, 3, 3}, 2, 3, 2, 1, "same", {-1, -1}},
      {{2, 4, 3, 3}, 2, 3, 2, 1, "valid", {-1, -1}},
      {{1, 3, 3, 2}, 3, 2, 2, 1, "valid", {-1, -1}},
      {{2, 4, 5, 2}, 2, 3, 1, 1, "same", {-1, -1}},
      {{2, 3, 4, 2}, 2, 3, 3, 1, "same", {-1, -1}},
      {{1, 3, 3, 2}, 2, 3, 2, 1, "same", {1, 1}},
      {{1, 3, 3, 2}, 2, 3, 2, 1, "valid", {1, 0}},
      {{2, 4, 4, 2}, 3, 3, 1, 2, "valid", {-1, -1}},
      {{1, 4, 3, 2}, 2, {4, 2}, {2, 1}, 1, "same", {-1, -1}},
  };
  for (const Case& c : cases) {
    INFO(c.x.to_string() << " kernel " << c.kernel.h << "x" << c.kernel.w << " strides "
                         << c.strides.h << "x" << c.strides.w << " dilation " << c.dilation.h
                         << " " << c.padding << " output_padding " << c.output_padding.h);
    ConvOptions o;
    o.strides = c.strides;
    o.dilation_rate = c.dilation;
    o.padding = c.padding;
    o.bias_initializer = initializers::RandomUniform(-0.5f, 0.5f);
    Conv2DTranspose conv(c.filters, c.kernel, "", o, c.output_padding);
    const Tensor x = Tensor::uniform(c.x, -1.f, 1.f, 4);
    const bool same = std::string(c.padding) == "same";
    const int64_t oh = vision_test::transpose_len(c.x[1], c.kernel.h, c.strides.h, c.dilation.h,
                                                  same, c.output_padding.h);
    const int64_t ow = vision_test::transpose_len(c.x[2], c.kernel.w, c.strides.w, c.dilation.w,
                                                  same, c.output_padding.w);
    const Tensor y = forward(conv, {x});
    REQUIRE(y.shape() == Shape{c.x[0], oh, ow, c.filters});
    CHECK(conv.kernel()->value.shape() == Shape{c.kernel.h, c.kernel.w, c.filters, c.x[3]});
    check_close(y,
                vision_test::conv2d_transpose(x, conv.kernel()->value, &conv.bias()->value,
                                              c.strides.h, c.strides.w, c.dilation.h,
                                              c.dilation.w, same, oh, ow),
                1e-4, 1e-5);
    require_gradients(conv, {x});
  }
  SECTION("with a fused and a non-fused activation") {
    for (const char* act : {"sigmoid", "gelu"}) {
      ConvOptions o;
      o.strides = 2;
      o.padding = "same";
      Conv2DTranspose conv(3, 3, act, o);
      const Tensor x = Tensor::uniform({2, 3, 3, 2}, -1.f, 1.f, 6);
      const Tensor y = forward(conv, {x});
      check_close(y,
                  activate(parse_activation(act),
                           vision_test::conv2d_transpose(x, conv.kernel()->value,
                                                         &conv.bias()->value, 2, 2, 1, 1, true,
                                                         6, 6),
                           3, 0),
                  1e-4, 1e-5);
      require_gradients(conv, {x});
    }
  }
}

// ---------------------------------------------------------------- configs and errors
TEST_CASE("convolution layers round-trip through get_config and the registry",
          "[layers][conv][config]") {
  ConvOptions o;
  o.strides = {2, 1};
  o.padding = "same";
  o.groups = 2;
  o.use_bias = false;
  o.kernel_initializer = "he_normal";
  std::vector<LayerPtr> layers = {
      std::make_shared<Conv2D>(8, Size2{3, 5}, "relu", o),
      std::make_shared<Conv1D>(4, 3, "tanh", Conv1DOptions{.strides = 2, .padding = "causal"}),
      std::make_shared<DepthwiseConv2D>(3, "", ConvOptions{1, "valid", 2, 1, 3}),
      std::make_shared<SeparableConv2D>(6, 3, "elu"),
      std::make_shared<Conv2DTranspose>(4, 3, "sigmoid", ConvOptions{2, "same"}, Size2{1, 1}),
  };
  for (const LayerPtr& l : layers) {
    INFO(l->class_name());
    const json config = l->get_config();
    LayerPtr back = layer_from_config(l->class_name(), config);
    CHECK(back->class_name() == l->class_name());
    CHECK(back->get_config() == config);
  }
  const json c = layers[0]->get_config();
  CHECK(c["kernel_size"] == json::array({3, 5}));
  CHECK(c["strides"] == json::array({2, 1}));
  CHECK(c["groups"] == 2);
  CHECK(c["data_format"] == "channels_last");
}

TEST_CASE("convolution shape errors name the layer and the shapes", "[layers][conv][errors]") {
  ConvOptions named;
  named.name = "probe_conv";
  Conv2D conv(4, 3, "", named);
  CHECK_THROWS_AS(conv.compute_output_shape({Shape{-1, 28, 28}}), ShapeError);
  CHECK_THROWS_WITH(conv.compute_output_shape({Shape{-1, 28, 28}}),
                    StartsWith("layer \"probe_conv\" (Conv2D): ") && Contains("rank 4") &&
                        Contains("(None, 28, 28)"));
  CHECK_THROWS_WITH(conv.compute_output_shape({Shape{-1, 2, 2, 1}}),
                    StartsWith("layer \"probe_conv\" (Conv2D): ") && Contains("3x3") &&
                        Contains("(None, 2, 2, 1)") && Contains("valid"));
  conv.ensure_built({Shape{-1, 8, 8, 3}});
  CHECK_THROWS_WITH(conv.compute_output_shape({Shape{-1, 8, 8, 5}}),
                    Contains("probe_conv") && Contains("(None, 8, 8, 3)") &&
                        Contains("(None, 8, 8, 5)"));
  ConvOptions grouped;
  grouped.groups = 2;
  Conv2D g(4, 3, "", grouped);
  CHECK_THROWS_WITH(g.compute_output_shape({Shape{-1, 8, 8, 3}}),
                    Contains("(Conv2D)") && Contains("divisible by groups"));
  Conv1D c1(2, 3);
  CHECK_THROWS_WITH(c1.compute_output_shape({Shape{-1, 8, 8, 3}}),
                    Contains("(Conv1D)") && Contains("rank 3"));
  Conv2DTranspose t(2, 3);
  CHECK_THROWS_WITH(t.compute_output_shape({Shape{-1, 8}}),
                    Contains("(Conv2DTranspose)") && Contains("rank 4"));
}

TEST_CASE("convolution config errors say what is allowed", "[layers][conv][errors]") {
  ConvOptions full;
  full.padding = "full";
  CHECK_THROWS_WITH(Conv2D(4, 3, "", full),
                    "Conv2D: padding must be \"valid\" or \"same\", got \"full\"");
  CHECK_THROWS_WITH(Conv2D(0, 3), "Conv2D: filters must be positive, got 0");
  ConvOptions both;
  both.strides = 2;
  both.dilation_rate = 2;
  CHECK_THROWS_AS(Conv2D(4, 3, "", both), ConfigError);
  ConvOptions groups;
  groups.groups = 3;
  CHECK_THROWS_WITH(Conv2D(4, 3, "", groups), Contains("divisible by groups"));
  Conv1DOptions causal;
  causal.padding = "causal";
  CHECK_NOTHROW(Conv1D(2, 3, "", causal));
  CHECK_THROWS_AS(Conv2D(4, 3, "", ConvOptions{1, "causal"}), ConfigError);
  CHECK_THROWS_AS(Conv2DTranspose(4, 3, "", ConvOptions{2}, Size2{2, 2}), ConfigError);
}

TEST_CASE("Keras 3 and tf.keras configs of vision layers load", "[layers][conv][config]") {
  const json dtype = json::parse(R"({"module": "keras", "class_name": "DTypePolicy",
                                     "config": {"name": "float32"}, "registered_name": null})");
  json conv = json::parse(R"({
    "name": "conv2d", "trainable": true, "filters": 32, "kernel_size": [3, 3],
    "strides": [1, 1], "padding": "valid", "data_format": "channels_last",
    "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true,
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                           "config": {"seed": null}, "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                         "registered_name": null},
    "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
    "kernel_constraint": null, "bias_constraint": null})");
  conv["dtype"] = dtype;
  auto c = std::dynamic_pointer_cast<Conv2D>(layer_from_config("Conv2D", conv));
  REQUIRE(c);
  CHECK(c->name() == "conv2d");
  CHECK(c->filters() == 32);
  CHECK(c->activation() == ActivationFn::relu);
  CHECK(c->compute_output_shape({Shape{-1, 28, 28, 1}}) == Shape{-1, 26, 26, 32});

  json bn = json::parse(R"({
    "name": "batch_normalization", "trainable": true, "axis": -1, "momentum": 0.99,
    "epsilon": 0.001, "center": true, "scale": true,
    "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                         "registered_name": null},
    "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {},
                          "registered_name": null},
    "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                                "config": {}, "registered_name": null},
    "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Ones",
                                    "config": {}, "registered_name": null},
    "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null,
    "gamma_constraint": null, "synchronized": false})");
  bn["dtype"] = dtype;
  CHECK(layer_from_config("BatchNormalization", bn)->class_name() == "BatchNormalization");
  // tf.keras writes the built axis as a list ([3] for images) and a few more keys.
  json tfk_bn = {{"name", "bn"}, {"axis", {3}}, {"momentum", 0.9}, {"epsilon", 1e-5},
                 {"renorm", false}, {"renorm_clipping", nullptr}, {"renorm_momentum", 0.99},
                 {"fused", nullptr}, {"virtual_batch_size", nullptr}, {"adjustment", nullptr}};
  LayerPtr b = layer_from_config("BatchNormalization", tfk_bn);
  CHECK(b->compute_output_shape({Shape{-1, 4, 4, 8}}) == Shape{-1, 4, 4, 8});

  json pool = json::parse(R"({"name": "max_pooling2d", "trainable": true, "pool_size": [2, 2],
                              "padding": "valid", "strides": [2, 2],
                              "data_format": "channels_last"})");
  pool["dtype"] = dtype;
  CHECK(layer_from_config("MaxPooling2D", pool)->compute_output_shape({Shape{-1, 26, 26, 32}}) ==
        Shape{-1, 13, 13, 32});

  json nchw = conv;
  nchw["data_format"] = "channels_first";
  CHECK_THROWS_AS(layer_from_config("Conv2D", nchw), ConfigError);
  CHECK_THROWS_WITH(layer_from_config("Conv2D", nchw), Contains("data_format"));
  json typo = conv;
  typo["kernel_sise"] = 3;
  CHECK_THROWS_WITH(layer_from_config("Conv2D", typo), Contains("kernel_sise"));
}
