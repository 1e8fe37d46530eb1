// Every GPU op against the CPU op on the same random inputs (relative error <= 1e-4; dropout
// masks bit for bit). Tagged [gpu]; without a CUDA device each case passes as skipped.
#include <catch2/catch.hpp>

#include <vector>

#include "backend/cuda/cuda_ops.hpp"
#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "conv_compare.hpp"
#include "gpu_helpers.hpp"

using namespace fitrun;
using gpu_test::compare_conv;
using gpu_test::ConvCase;
using gpu_test::gpu_like;
using gpu_test::kGpu;
using gpu_test::kTolerance;
using gpu_test::random;
using gpu_test::relative_error;

TEST_CASE("GPU tensors: round trips, clone, copy_from, CPU access errors", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  Tensor h = random({3, 257}, 1);
  Tensor d = h.to(kGpu);
  CHECK(d.device() == kGpu);
  CHECK(d.to(kGpu).shares_storage(d));
  CHECK(d.to(Device::cpu()).to_vector() == h.to_vector());
  CHECK(d.clone().device() == kGpu);
  CHECK(d.clone().to_vector() == h.to_vector());
  CHECK(d.slice(1, 3).to_vector() == h.slice(1, 3).to_vector());
  Tensor back(h.shape());
  back.copy_from(d);
  CHECK(back.to_vector() == h.to_vector());
  CHECK(Tensor::of({2.5f}).to(kGpu).item() == 2.5);
  CHECK(d.to_string().find("device=cuda:0") != std::string::npos);
  REQUIRE_THROWS_WITH(d.data<float>(), Catch::Contains("on cuda:0") &&
                                           Catch::Contains("to(Device::cpu())"));
  Tensor f(Shape{5}, DType::float32, kGpu);
  f.fill(3.0);
  CHECK(f.to_vector() == std::vector<float>(5, 3.f));
}

TEST_CASE("GPU ops: a device mix or a CPU-only op is an error naming the op", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  Tensor a = random({8}, 2).to(kGpu), b = random({8}, 3), y = gpu_like(a);
  REQUIRE_THROWS_WITH(ops::add(a, b, y), Catch::StartsWith("add: tensors on cuda:0 and cpu"));
  // The fused recurrent layers stay CPU-only for now.
  Tensor x = random({2, 3, 4}, 4).to(kGpu), ws;
  Tensor kernel = random({4, 20}, 5).to(kGpu), recurrent = random({5, 20}, 6).to(kGpu);
  Tensor out(Shape{2, 5}, DType::float32, kGpu);
  REQUIRE_THROWS_WITH(
      ops::rnn_forward(ops::RNNConfig{}, false, x, kernel, recurrent, Tensor(), out, ws),
      Catch::StartsWith("rnn_forward is not implemented on cuda:0"));
}

TEST_CASE("GPU dense_forward matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const ActivationFn act = GENERATE(ActivationFn::linear, ActivationFn::relu,
                                    ActivationFn::sigmoid, ActivationFn::tanh, ActivationFn::elu,
                                    ActivationFn::exponential);
  const bool with_bias = GENERATE(true, false);
  const Shape xs = GENERATE(Shape{37, 53}, Shape{4, 5, 16}, Shape{1, 1});
  const int64_t in = xs[xs.rank() - 1], out = in == 1 ? 3 : 29;
  CAPTURE(activation_name(act), with_bias, xs.to_string());
  Tensor x = random(xs, 10), k = random({in, out}, 11, -0.5f, 0.5f);
  Tensor b = with_bias ? random({out}, 12) : Tensor();
  Shape ys = xs;
  ys[ys.rank() - 1] = out;
  Tensor y_cpu(ys);
  ops::dense_forward(x, k, b, act, y_cpu);
  Tensor y_gpu(ys, DType::float32, kGpu);
  ops::dense_forward(x.to(kGpu), k.to(kGpu), with_bias ? b.to(kGpu) : Tensor(), act, y_gpu);
  CHECK(relative_error(y_gpu, y_cpu) <= kTolerance);
}

TEST_CASE("GPU dense works on a batch view that is not 16-byte aligned", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const ActivationFn act = GENERATE(ActivationFn::linear, ActivationFn::relu);
  Tensor x = random({20, 53}, 13), k = random({53, 7}, 14), b = random({7}, 15);
  Tensor xs = x.slice(3, 20), y({17, 7});  // 3 rows of 53 floats in: 636 bytes
  ops::dense_forward(xs, k, b, act, y);
  Tensor yg({17, 7}, DType::float32, kGpu);
  ops::dense_forward(x.to(kGpu).slice(3, 20), k.to(kGpu), b.to(kGpu), act, yg);
  CHECK(relative_error(yg, y) <= kTolerance);
}

TEST_CASE("GPU dense backward (data, weights, bias) matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const bool accumulate = GENERATE(false, true);
  const bool with_bias = GENERATE(true, false);
  const int64_t n = 41, in = 23, out = 17;
  Tensor x = random({n, in}, 20), dy = random({n, out}, 21), k = random({in, out}, 22);
  Tensor dx_cpu({n, in});
  ops::dense_backward_data(dy, k, dx_cpu);
  Tensor dx_gpu({n, in}, DType::float32, kGpu);
  ops::dense_backward_data(dy.to(kGpu), k.to(kGpu), dx_gpu);
  CHECK(relative_error(dx_gpu, dx_cpu) <= kTolerance);

  Tensor dw_cpu = random({in, out}, 23), db_cpu = with_bias ? random({out}, 24) : Tensor();
  Tensor dw_gpu = dw_cpu.to(kGpu), db_gpu = with_bias ? db_cpu.to(kGpu) : Tensor();
  ops::dense_backward_weights(x, dy, dw_cpu, db_cpu, accumulate);
  ops::dense_backward_weights(x.to(kGpu), dy.to(kGpu), dw_gpu, db_gpu, accumulate);
  CHECK(relative_error(dw_gpu, dw_cpu) <= kTolerance);
  if (with_bias) CHECK(relative_error(db_gpu, db_cpu) <= kTolerance);
}

TEST_CASE("GPU conv2d (cuDNN) forward and backward match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const ConvCase c = GENERATE(ConvCase{2, 9, 11, 3, 8, 3, 1, 1, 1, 1},
                              ConvCase{3, 12, 12, 4, 6, 3, 2, 1, 0, 1},
                              ConvCase{1, 10, 10, 4, 8, 3, 1, 2, 2, 2},
                              ConvCase{2, 7, 7, 5, 4, 1, 1, 1, 0, 1});
  compare_conv(c, GENERATE(ActivationFn::linear, ActivationFn::relu), GENERATE(false, true));
}

TEST_CASE("GPU conv2d with one channel matches the CPU in every C=1 layout", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  using cuda::ConvC1Layout;
  const ConvC1Layout layout =
      GENERATE(ConvC1Layout::nhwc, ConvC1Layout::nchw, ConvC1Layout::nchw_all);
  // One input channel (the first conv of a digits CNN, "same"/"valid", stride 2 with Keras'
  // asymmetric "same", dilation), one output channel, and both.
  const ConvCase c = GENERATE(ConvCase{4, 8, 8, 1, 16, 3, 1, 1, 1, 1},
                              ConvCase{3, 12, 10, 1, 6, 3, 2, 1, 0, 1, 1},
                              ConvCase{2, 11, 9, 1, 5, 3, 1, 2, 0, 1},
                              ConvCase{2, 9, 9, 1, 4, 5, 2, 1, 2, 1},
                              ConvCase{2, 9, 11, 3, 1, 3, 1, 1, 1, 1},
                              ConvCase{3, 10, 10, 1, 1, 3, 2, 2, 1, 1});
  const ActivationFn act = GENERATE(ActivationFn::linear, ActivationFn::relu);
  CAPTURE(static_cast<int>(layout));
  struct Restore {
    ConvC1Layout before = cuda::conv_c1_layout();
    ~Restore() { cuda::set_conv_c1_layout(before); }
  } restore;
  cuda::set_conv_c1_layout(layout);
  compare_conv(c, act, act == ActivationFn::relu);
}

TEST_CASE("GPU activations forward and backward match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const ActivationFn act = GENERATE(
      ActivationFn::linear, ActivationFn::relu, ActivationFn::sigmoid, ActivationFn::tanh,
      ActivationFn::gelu, ActivationFn::gelu_approximate, ActivationFn::elu, ActivationFn::selu,
      ActivationFn::leaky_relu, ActivationFn::swish, ActivationFn::softplus,
      ActivationFn::softmax, ActivationFn::log_softmax, ActivationFn::exponential);
  CAPTURE(activation_name(act));
  const float alpha = act == ActivationFn::leaky_relu ? 0.2f : 0.f;
  const Shape s = GENERATE(Shape{13, 70}, Shape{3, 1000});
  Tensor x = random(s, 30, -3.f, 3.f), dy = random(s, 31);
  Tensor y_cpu(s), dx_cpu(s);
  ops::activation_forward(act, alpha, x, y_cpu);
  ops::activation_backward(act, alpha, x, y_cpu, dy, dx_cpu);
  Tensor xg = x.to(kGpu), yg = gpu_like(x), dxg = gpu_like(x);
  ops::activation_forward(act, alpha, xg, yg);
  ops::activation_backward(act, alpha, xg, yg, dy.to(kGpu), dxg);
  CHECK(relative_error(yg, y_cpu) <= kTolerance);
  CHECK(relative_error(dxg, dx_cpu) <= kTolerance);
}

TEST_CASE("GPU elementwise arithmetic matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const Shape s{1000, 37};
  Tensor a = random(s, 40), b = random(s, 41);
  Tensor ag = a.to(kGpu), bg = b.to(kGpu), yg = gpu_like(a), y(s);
  ops::add(a, b, y);
  ops::add(ag, bg, yg);
  CHECK(relative_error(yg, y) <= kTolerance);
  ops::mul(a, b, y);
  ops::mul(ag, bg, yg);
  CHECK(relative_error(yg, y) <= kTolerance);
  ops::scale(a, -1.75f, y);
  ops::scale(ag, -1.75f, yg);
  CHECK(relative_error(yg, y) <= kTolerance);
  ops::add_inplace(y, b);
  ops::add_inplace(yg, bg);
  CHECK(relative_error(yg, y) <= kTolerance);
  ops::copy(a, y);
  ops::copy(ag, yg);
  CHECK(yg.to_vector() == y.to_vector());
  ops::fill(y, 0.25f);
  ops::fill(yg, 0.25f);
  CHECK(yg.to_vector() == y.to_vector());
  Tensor bias = random({37}, 42);
  ops::bias_add(a, bias, y);
  ops::bias_add(ag, bias.to(kGpu), yg);
  CHECK(relative_error(yg, y) <= kTolerance);
}

TEST_CASE("GPU reductions match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const int64_t n = GENERATE(1, 255, 100003, 3000000);
  Tensor x = random({n}, 50);
  const double s = ops::sum(x), sg = ops::sum(x.to(kGpu));
  CHECK(std::fabs(sg - s) <= kTolerance * std::max(1.0, std::fabs(s)));
  const double q = ops::sum_squares(x), qg = ops::sum_squares(x.to(kGpu));
  CHECK(std::fabs(qg - q) <= kTolerance * q);
  const double a = ops::sum_abs(x), ag = ops::sum_abs(x.to(kGpu));
  CHECK(a > 0);
  CHECK(std::fabs(ag - a) <= kTolerance * a);
  Tensor m = random({301, 45}, 51), out = random({45}, 52), outg = out.to(kGpu);
  const bool accumulate = GENERATE(false, true);
  ops::sum_rows(m, out, accumulate);
  ops::sum_rows(m.to(kGpu), outg, accumulate);
  CHECK(relative_error(outg, out) <= kTolerance);
}

TEST_CASE("GPU regularizer gradients match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  Tensor w = random({37, 11}, 60), g = random({37, 11}, 61);
  w.data<float>()[5] = 0.f;  // sign(0) = 0
  Tensor gg = g.to(kGpu);
  ops::add_regularizer_gradient(w, g, 0.03f, 0.1f);
  ops::add_regularizer_gradient(w.to(kGpu), gg, 0.03f, 0.1f);
  CHECK(relative_error(gg, g) <= 1e-6);
}

TEST_CASE("GPU dropout draws the CPU's mask bit for bit", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const float rate = GENERATE(0.1f, 0.5f);
  const Shape s{129, 65};
  Tensor x = random(s, 60), dy = random(s, 61);
  Tensor mask(s), y(s), dx(s);
  ops::dropout_forward(x, rate, 1234, 7, mask, y);
  ops::dropout_backward(dy, mask, dx);
  Tensor maskg = gpu_like(x), yg = gpu_like(x), dxg = gpu_like(x);
  ops::dropout_forward(x.to(kGpu), rate, 1234, 7, maskg, yg);
  ops::dropout_backward(dy.to(kGpu), maskg, dxg);
  CHECK(maskg.to_vector() == mask.to_vector());
  CHECK(yg.to_vector() == y.to_vector());
  CHECK(dxg.to_vector() == dx.to_vector());
}

