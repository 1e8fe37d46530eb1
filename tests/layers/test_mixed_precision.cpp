// The mixed_bfloat16 policy on the CPU: the policy API, and Dense and the convolution layers
// computing in bfloat16 (oneDNN) within bfloat16's rounding of their float32 results, with
// gradients that still pass a finite-difference check.
#include <catch2/catch.hpp>

#include "fitrun/layers/conv.hpp"
#include "fitrun/layers/dense.hpp"
#include "fitrun/mixed_precision.hpp"
#include "fitrun/runtime.hpp"
#include "layers/layer_test_helpers.hpp"
#include "mixed_precision_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
namespace mp = fitrun::mixed_precision;
using fitrun_test::relative_error;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

/// The output, input gradient and weight gradients of one forward+backward pass.
struct Pass {
  Tensor y, dx;
  std::vector<Tensor> grads;
};
Pass run_pass(Layer& layer, const Tensor& x, const Tensor& dy) {
  Pass p;
  p.y = layer_test::forward(layer, {x});
  p.dx = layer_test::backward(layer, {x}, dy)[0];
  for (const auto& v : layer.trainable_weights()) p.grads.push_back(v->grad.clone());
  return p;
}

/// A second backward with accumulate_grads (a shared layer's second call) adds the same
/// gradients again: `once` holds the first pass's, still in the layer.
void check_accumulates(Layer& layer, const Tensor& x, const Tensor& dy, const Pass& once) {
  CallContext ctx;
  const Tensor y = layer_test::forward(layer, {x}, ctx);
  Tensor dx(x.shape());
  ctx.accumulate_grads = true;
  layer.backward(ctx, {&x}, y, dy, {&dx});
  const auto weights = layer.trainable_weights();
  for (size_t i = 0; i < weights.size(); ++i) {
    Tensor twice = once.grads[i].clone();
    ops::scale(twice, 2.f, twice);
    INFO("accumulated weight gradient " << i);
    CHECK(relative_error(weights[i]->grad, twice) <= 1e-6);
  }
}

/// Runs `layer` in float32, then the same layer (same weights) under mixed_bfloat16, and
/// checks every result is within bfloat16's tolerance of float32, that the output really
/// was computed in bfloat16 (it differs from float32), and that bf16 gradients accumulate.
void check_close_to_float32(Layer& layer, const Shape& x_shape) {
  const Tensor x = Tensor::normal(x_shape, 0.f, 1.f, 11);
  layer.ensure_built({x_shape});
  const Tensor dy = Tensor::normal(layer.compute_output_shape({x_shape}), 0.f, 1.f, 12);
  layer.set_dtype_policy("float32");
  const Pass f32 = run_pass(layer, x, dy);
  layer.set_dtype_policy("mixed_bfloat16");
  const Pass bf16 = run_pass(layer, x, dy);
  INFO(layer.class_name());
  CHECK(relative_error(bf16.y, f32.y) <= 2e-2);
  CHECK(relative_error(bf16.y, f32.y) > 1e-5);  // rounded to bfloat16, not float32 maths
  CHECK(relative_error(bf16.dx, f32.dx) <= 2e-2);
  for (size_t i = 0; i < f32.grads.size(); ++i) {
    INFO("weight gradient " << i);
    CHECK(relative_error(bf16.grads[i], f32.grads[i]) <= 2e-2);
  }
  check_accumulates(layer, x, dy, bf16);
}
}  // namespace

TEST_CASE("DTypePolicy: Keras' names, float32 variables, exact errors", "[layers][mixed_precision]") {
  const mp::DTypePolicy def;
  CHECK(def.name() == "float32");
  CHECK(def.compute_dtype() == "float32");
  const mp::DTypePolicy mixed("mixed_bfloat16");
  CHECK(mixed.compute_dtype() == "bfloat16");
  CHECK(mixed.variable_dtype() == "float32");
  CHECK(mixed.compute() == ComputeDType::bfloat16);
  CHECK(error_of([] { mp::DTypePolicy("mixed_bf16"); }) ==
        "unknown dtype policy \"mixed_bf16\"; expected \"float32\" or \"mixed_bfloat16\"");
  CHECK(error_of([] { mp::set_global_policy("mixed_float16"); }) ==
        "dtype policy \"mixed_float16\" is not supported yet; fitrun supports \"float32\" and "
        "\"mixed_bfloat16\"");
  CHECK(mp::global_policy().name() == "float32");  // a refused policy changes nothing
}

TEST_CASE("layers take the global policy when made, and keep their own",
          "[layers][mixed_precision]") {
  Dense before(4);
  {
    mp::PolicyScope scope("mixed_bfloat16");
    CHECK(mp::global_policy().name() == "mixed_bfloat16");
    Dense during(4);
    CHECK(during.dtype_policy().name() == "mixed_bfloat16");
    CHECK(during.compute_dtype() == ComputeDType::bfloat16);
    CHECK(during.get_config()["dtype"]["config"]["name"] == "mixed_bfloat16");
    Dense head = Dense(10).with_dtype_policy("float32");  // Keras: Dense(10, dtype="float32")
    CHECK(head.dtype_policy().name() == "float32");
    CHECK(head.get_config()["dtype"] ==
          json({{"module", "keras"},
                {"class_name", "DTypePolicy"},
                {"config", {{"name", "float32"}}},
                {"registered_name", nullptr}}));
  }
  CHECK(mp::global_policy().name() == "float32");
  CHECK(before.dtype_policy().name() == "float32");
  CHECK(Conv2D(4, 3).dtype_policy().name() == "float32");
}

TEST_CASE("mixed_bfloat16 Dense and convolutions are within bfloat16 tolerance of float32",
          "[layers][mixed_precision]") {
  if (!fitrun_test::cpu_has_bfloat16()) return;
  set_seed(21);
  SECTION("Dense, fused relu") {
    Dense l(24, "relu");
    check_close_to_float32(l, {16, 40});
  }
  SECTION("Dense, unfused activation, no bias") {
    Dense l(24, "gelu", {.use_bias = false});
    check_close_to_float32(l, {16, 40});
  }
  SECTION("Conv2D, same padding, stride 2") {
    ConvOptions o;
    o.padding = "same";
    o.strides = 2;
    Conv2D l(16, 3, "relu", o);
    check_close_to_float32(l, {4, 9, 9, 8});
  }
  SECTION("Conv2D with groups") {
    ConvOptions o;
    o.groups = 2;
    Conv2D l(8, 3, "", o);
    check_close_to_float32(l, {2, 7, 7, 4});
  }
  SECTION("Conv1D") {
    Conv1D l(8, 3, "tanh");
    check_close_to_float32(l, {3, 12, 5});
  }
  SECTION("DepthwiseConv2D") {
    DepthwiseConv2D l(3);
    check_close_to_float32(l, {2, 8, 8, 6});
  }
  SECTION("SeparableConv2D") {
    SeparableConv2D l(8, 3, "relu");
    check_close_to_float32(l, {2, 8, 8, 4});
  }
  SECTION("Conv2DTranspose") {
    ConvOptions o;
    o.strides = 2;
    Conv2DTranspose l(6, 3, "", o);
    check_close_to_float32(l, {2, 5, 5, 4});
  }
}

TEST_CASE("mixed_bfloat16 gradients pass a loosened gradient check",
          "[layers][mixed_precision][gradcheck]") {
  if (!fitrun_test::cpu_has_bfloat16()) return;
  set_seed(22);
  mp::PolicyScope scope("mixed_bfloat16");
  // bfloat16 keeps 8 significant bits: a large step and tolerance, still far below the
  // O(1) errors of a wrong gradient.
  testing::GradientCheckOptions o;
  o.epsilon = 0.1;
  o.tolerance = 0.1;
  o.floor = 0.1;
  auto check = [&](Layer& layer, const Tensor& x) {
    auto r = testing::check_gradients(layer, {x}, o);
    INFO(layer.class_name() << ": " << r.report);
    CHECK(r.ok);
  };
  Dense dense(6, "tanh");
  check(dense, Tensor::normal({4, 10}, 0.f, 1.f, 3));
  Conv2D conv(4, 3, "sigmoid");
  check(conv, Tensor::normal({2, 6, 6, 3}, 0.f, 1.f, 4));
}
