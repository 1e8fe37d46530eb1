// GPU pooling and normalization against the CPU ops on the same random inputs (relative error
// <= 1e-4): forward and backward, odd sizes, asymmetric padding, overlapping max-pool windows,
// channel counts that are not a multiple of 32, row counts that are not a multiple of a block,
// BatchNormalization in training and inference form, accumulate on and off, undefined
// gamma/beta. Tagged [gpu]; without a CUDA device each case passes as skipped.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "gpu_helpers.hpp"

using namespace fitrun;
using gpu_test::gpu_like;
using gpu_test::kGpu;
using gpu_test::kTolerance;
using gpu_test::random;
using gpu_test::relative_error;

namespace {
Tensor to_gpu(const Tensor& t) { return t.defined() ? t.to(kGpu) : Tensor(); }

struct PoolCase {
  Shape x;
  int64_t kh, kw, sh, sw, top, bottom, left, right;
};

ops::Pool2DParams params_of(const PoolCase& c, ops::PoolAlg alg) {
  ops::Pool2DParams p;
  p.alg = alg;
  p.kernel_h = c.kh;
  p.kernel_w = c.kw;
  p.stride_h = c.sh;
  p.stride_w = c.sw;
  p.pad_top = c.top;
  p.pad_bottom = c.bottom;
  p.pad_left = c.left;
  p.pad_right = c.right;
  return p;
}

Shape pool_output(const PoolCase& c) {
  return Shape{c.x[0], (c.x[1] + c.top + c.bottom - c.kh) / c.sh + 1,
               (c.x[2] + c.left + c.right - c.kw) / c.sw + 1, c.x[3]};
}

std::string describe(const PoolCase& c) {
  return c.x.to_string() + " pool " + std::to_string(c.kh) + "x" + std::to_string(c.kw) +
         " strides " + std::to_string(c.sh) + "x" + std::to_string(c.sw) + " pads t" +
         std::to_string(c.top) + " b" + std::to_string(c.bottom) + " l" + std::to_string(c.left) +
         " r" + std::to_string(c.right);
}
}  // namespace

TEST_CASE("GPU pool2d forward and backward match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const PoolCase c = GENERATE(
      PoolCase{Shape{3, 8, 8, 33}, 2, 2, 2, 2, 0, 0, 0, 0},     // plain 2x2/2, C % 32 != 0
      PoolCase{Shape{2, 7, 9, 5}, 3, 3, 2, 2, 1, 1, 1, 1},      // overlapping, padded, odd
      PoolCase{Shape{1, 11, 7, 70}, 3, 2, 1, 2, 1, 0, 0, 1},    // stride < kernel, asymmetric
      PoolCase{Shape{2, 5, 5, 3}, 5, 5, 1, 1, 2, 2, 2, 2},      // "same" 5x5/1: big overlap
      PoolCase{Shape{2, 6, 6, 4}, 2, 2, 1, 1, 0, 1, 0, 1},      // "same" with an even kernel
      PoolCase{Shape{4, 13, 17, 64}, 3, 3, 2, 2, 0, 0, 0, 0},   // "valid" 3x3/2 (ResNet stem)
      PoolCase{Shape{1, 1, 9, 7}, 1, 3, 1, 3, 0, 0, 1, 1});     // 1-D along W
  const ops::PoolAlg alg = GENERATE(ops::PoolAlg::max, ops::PoolAlg::avg);
  const std::string pool = describe(c), algorithm = alg == ops::PoolAlg::max ? "max" : "avg";
  CAPTURE(pool, algorithm);
  const ops::Pool2DParams p = params_of(c, alg);
  const Shape ys = pool_output(c);
  Tensor x = random(c.x, 20, -2.f, 2.f), xg = x.to(kGpu);

  // Inference forward (no workspace).
  {
    Tensor y_cpu(ys), ws_cpu, ws_gpu;
    ops::pool2d_forward(x, p, false, y_cpu, ws_cpu);
    Tensor y_gpu(ys, DType::float32, kGpu);
    ops::pool2d_forward(xg, p, false, y_gpu, ws_gpu);
    CHECK(relative_error(y_gpu, y_cpu) <= kTolerance);
  }

  // Training forward, backward.
  Tensor y_cpu(ys), ws_cpu;
  ops::pool2d_forward(x, p, true, y_cpu, ws_cpu);
  Tensor y_gpu(ys, DType::float32, kGpu), ws_gpu;
  ops::pool2d_forward(xg, p, true, y_gpu, ws_gpu);
  CHECK(relative_error(y_gpu, y_cpu) <= kTolerance);
  if (alg == ops::PoolAlg::max) {
    REQUIRE(ws_gpu.defined());
    CHECK(ws_gpu.device() == kGpu);
    const void* first = ws_gpu.device_data();
    ops::pool2d_forward(xg, p, true, y_gpu, ws_gpu);  // same shape: the same workspace
    CHECK(ws_gpu.device_data() == first);
    CHECK(relative_error(y_gpu, y_cpu) <= kTolerance);
  }

  Tensor dy = random(ys, 21);
  Tensor dx_cpu(c.x);
  ops::pool2d_backward(dy, ws_cpu, p, dx_cpu);
  Tensor dx_gpu(c.x, DType::float32, kGpu);
  dx_gpu.fill(7.0);  // the backward overwrites every element
  ops::pool2d_backward(dy.to(kGpu), ws_gpu, p, dx_gpu);
  CHECK(relative_error(dx_gpu, dx_cpu) <= kTolerance);
}

TEST_CASE("GPU max pool backward without the training workspace is an error", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  ops::Pool2DParams p;
  p.kernel_h = p.kernel_w = p.stride_h = p.stride_w = 2;
  Tensor dy(Shape{1, 2, 2, 3}, DType::float32, kGpu), dx(Shape{1, 4, 4, 3}, DType::float32, kGpu);
  Tensor none;
  REQUIRE_THROWS_WITH(ops::pool2d_backward(dy, none, p, dx),
                      Catch::StartsWith("pool2d_backward: max pooling needs the workspace"));
  Tensor wrong(Shape{5}, DType::int32, kGpu);
  REQUIRE_THROWS_WITH(ops::pool2d_backward(dy, wrong, p, dx),
                      Catch::StartsWith("pool2d_backward: max pooling needs the workspace"));
}

TEST_CASE("GPU batch_norm forward (training and inference) matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const Shape xs = GENERATE(Shape{37, 5}, Shape{1000, 64}, Shape{3, 7, 9, 33},
                            Shape{4101, 256}, Shape{65537, 70}, Shape{2, 1}, Shape{300001, 3});
  const bool scale = GENERATE(true, false);
  const bool center = GENERATE(true, false);
  const std::string shape = xs.to_string();
  CAPTURE(shape, scale, center);
  const int64_t C = xs[xs.rank() - 1];
  const float eps = 1e-3f;
  Tensor x = random(xs, 30, -1.f, 3.f);  // an offset: the variance is not E[x²] - mean² safe
  Tensor gamma = scale ? random({C}, 31, 0.5f, 1.5f) : Tensor();
  Tensor beta = center ? random({C}, 32) : Tensor();

  Tensor y_cpu(xs), mean_cpu({C}), var_cpu({C});
  ops::batch_norm_forward_training(x, gamma, beta, eps, y_cpu, mean_cpu, var_cpu);
  Tensor y_gpu(xs, DType::float32, kGpu);
  Tensor mean_gpu = gpu_like(mean_cpu), var_gpu = gpu_like(var_cpu);
  ops::batch_norm_forward_training(x.to(kGpu), to_gpu(gamma), to_gpu(beta), eps, y_gpu, mean_gpu,
                                   var_gpu);
  CHECK(relative_error(mean_gpu, mean_cpu) <= kTolerance);
  CHECK(relative_error(var_gpu, var_cpu) <= kTolerance);
  CHECK(relative_error(y_gpu, y_cpu) <= kTolerance);

  // Inference with given (moving) statistics.
  Tensor mm = random({C}, 33, -0.5f, 0.5f), mv = random({C}, 34, 0.2f, 2.f);
  Tensor yi_cpu(xs);
  ops::batch_norm_forward_inference(x, gamma, beta, mm, mv, eps, yi_cpu);
  Tensor yi_gpu(xs, DType::float32, kGpu);
  ops::batch_norm_forward_inference(x.to(kGpu), to_gpu(gamma), to_gpu(beta), mm.to(kGpu),
                                    mv.to(kGpu), eps, yi_gpu);
  CHECK(relative_error(yi_gpu, yi_cpu) <= kTolerance);
}

TEST_CASE("GPU batch_norm_backward matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const Shape xs = GENERATE(Shape{37, 5}, Shape{3, 7, 9, 33}, Shape{4101, 256},
                            Shape{65537, 70}, Shape{300001, 3});
  const bool global_stats = GENERATE(false, true);
  const int params = GENERATE(0, 1, 2, 3);  // bit 0: gamma, bit 1: beta
  const bool accumulate = GENERATE(false, true);
  const bool scale = params & 1, center = params & 2;
  const std::string shape = xs.to_string();
  CAPTURE(shape, global_stats, scale, center, accumulate);
  const int64_t C = xs[xs.rank() - 1];
  const float eps = 1e-3f;
  Tensor x = random(xs, 40, -1.f, 3.f), dy = random(xs, 41);
  Tensor gamma = scale ? random({C}, 42, 0.5f, 1.5f) : Tensor();
  Tensor beta = center ? random({C}, 43) : Tensor();
  Tensor mean({C}), var({C});
  if (global_stats) {
    mean = random({C}, 44, 0.5f, 1.5f);
    var = random({C}, 45, 0.2f, 2.f);
  } else {
    Tensor y(xs);
    ops::batch_norm_forward_training(x, gamma, beta, eps, y, mean, var);
  }
  // dgamma/dbeta start from the same values on both sides (they matter when accumulating, and
  // must stay untouched when gamma/beta are undefined).
  Tensor dgamma0 = random({C}, 46), dbeta0 = random({C}, 47);
  Tensor dx_cpu(xs), dgamma_cpu = dgamma0.clone(), dbeta_cpu = dbeta0.clone();
  ops::batch_norm_backward(x, dy, gamma, beta, mean, var, eps, global_stats, dx_cpu, dgamma_cpu,
                           dbeta_cpu, accumulate);
  Tensor dx_gpu(xs, DType::float32, kGpu), dgamma_gpu = dgamma0.to(kGpu),
                                           dbeta_gpu = dbeta0.to(kGpu);
  ops::batch_norm_backward(x.to(kGpu), dy.to(kGpu), to_gpu(gamma), to_gpu(beta), mean.to(kGpu),
                           var.to(kGpu), eps, global_stats, dx_gpu, dgamma_gpu, dbeta_gpu,
                           accumulate);
  CHECK(relative_error(dx_gpu, dx_cpu) <= kTolerance);
  CHECK(relative_error(dgamma_gpu, dgamma_cpu) <= kTolerance);
  CHECK(relative_error(dbeta_gpu, dbeta_cpu) <= kTolerance);
  if (!scale) CHECK(dgamma_gpu.to_vector() == dgamma0.to_vector());
  if (!center) CHECK(dbeta_gpu.to_vector() == dbeta0.to_vector());

  // Undefined dgamma/dbeta (gradients not wanted): dx alone.
  Tensor none_g, none_b, dx2_gpu(xs, DType::float32, kGpu), dx2_cpu(xs), ng, nb;
  ops::batch_norm_backward(x, dy, gamma, beta, mean, var, eps, global_stats, dx2_cpu, ng, nb,
                           false);
  ops::batch_norm_backward(x.to(kGpu), dy.to(kGpu), to_gpu(gamma), to_gpu(beta), mean.to(kGpu),
                           var.to(kGpu), eps, global_stats, dx2_gpu, none_g, none_b, false);
  CHECK(relative_error(dx2_gpu, dx2_cpu) <= kTolerance);
}

TEST_CASE("GPU moving_average_update matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const int64_t n = GENERATE(1, 33, 1000);
  Tensor moving = random({n}, 50), value = random({n}, 51);
  Tensor moving_gpu = moving.to(kGpu);
  ops::moving_average_update(moving, value, 0.99f);
  ops::moving_average_update(moving_gpu, value.to(kGpu), 0.99f);
  CHECK(relative_error(moving_gpu, moving) <= kTolerance);
}

TEST_CASE("GPU layer_norm forward and backward match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const Shape xs = GENERATE(Shape{37, 5}, Shape{1000, 64}, Shape{3, 7, 1024}, Shape{513, 1000},
                            Shape{100003, 16}, Shape{7, 3});
  const int params = GENERATE(0, 1, 2, 3);  // bit 0: gamma, bit 1: beta
  const bool accumulate = GENERATE(false, true);
  const bool scale = params & 1, center = params & 2;
  const std::string shape = xs.to_string();
  CAPTURE(shape, scale, center, accumulate);
  const int64_t C = xs[xs.rank() - 1], rows = xs.num_elements() / C;
  const float eps = 1e-5f;
  Tensor x = random(xs, 60, -1.f, 3.f), dy = random(xs, 61);
  Tensor gamma = scale ? random({C}, 62, 0.5f, 1.5f) : Tensor();
  Tensor beta = center ? random({C}, 63) : Tensor();

  Tensor y_cpu(xs), mean_cpu({rows}), var_cpu({rows});
  ops::layer_norm_forward(x, gamma, beta, eps, y_cpu, mean_cpu, var_cpu);
  Tensor y_gpu(xs, DType::float32, kGpu);
  Tensor mean_gpu = gpu_like(mean_cpu), var_gpu = gpu_like(var_cpu);
  const Tensor xg = x.to(kGpu), gg = to_gpu(gamma), bg = to_gpu(beta);
  ops::layer_norm_forward(xg, gg, bg, eps, y_gpu, mean_gpu, var_gpu);
  CHECK(relative_error(mean_gpu, mean_cpu) <= kTolerance);
  CHECK(relative_error(var_gpu, var_cpu) <= kTolerance);
  CHECK(relative_error(y_gpu, y_cpu) <= kTolerance);

  Tensor dgamma0 = random({C}, 64), dbeta0 = random({C}, 65);
  Tensor dx_cpu(xs), dgamma_cpu = dgamma0.clone(), dbeta_cpu = dbeta0.clone();
  ops::layer_norm_backward(x, dy, gamma, beta, mean_cpu, var_cpu, eps, dx_cpu, dgamma_cpu,
                           dbeta_cpu, accumulate);
  Tensor dx_gpu(xs, DType::float32, kGpu), dgamma_gpu = dgamma0.to(kGpu),
                                           dbeta_gpu = dbeta0.to(kGpu);
  ops::layer_norm_backward(xg, dy.to(kGpu), gg, bg, mean_cpu.to(kGpu), var_cpu.to(kGpu), eps,
                           dx_gpu, dgamma_gpu, dbeta_gpu, accumulate);
  CHECK(relative_error(dx_gpu, dx_cpu) <= kTolerance);
  CHECK(relative_error(dgamma_gpu, dgamma_cpu) <= kTolerance);
  CHECK(relative_error(dbeta_gpu, dbeta_cpu) <= kTolerance);
  if (!scale) CHECK(dgamma_gpu.to_vector() == dgamma0.to_vector());
  if (!center) CHECK(dbeta_gpu.to_vector() == dbeta0.to_vector());
}

TEST_CASE("GPU batch_norm is deterministic run to run", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const Shape xs{65537, 70};
  Tensor x = random(xs, 70).to(kGpu), dy = random(xs, 71).to(kGpu);
  Tensor gamma = random({70}, 72).to(kGpu), beta = random({70}, 73).to(kGpu);
  std::vector<float> first[4];
  for (int run = 0; run < 2; ++run) {
    Tensor y(xs, DType::float32, kGpu), mean(Shape{70}, DType::float32, kGpu),
        var(Shape{70}, DType::float32, kGpu), dx(xs, DType::float32, kGpu),
        dg(Shape{70}, DType::float32, kGpu), db(Shape{70}, DType::float32, kGpu);
    ops::batch_norm_forward_training(x, gamma, beta, 1e-3f, y, mean, var);
    ops::batch_norm_backward(x, dy, gamma, beta, mean, var, 1e-3f, false, dx, dg, db, false);
    const std::vector<float> now[4] = {mean.to_vector(), var.to_vector(), dg.to_vector(),
                                       dx.to_vector()};
    for (int k = 0; k < 4; ++k) {
      if (run == 0)
        first[k] = now[k];
      else
        CHECK(now[k] == first[k]);
    }
  }
}

TEST_CASE("GPU normalization: parameter sizes are checked, naming the op", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  Tensor x(Shape{4, 6}, DType::float32, kGpu), y = gpu_like(x);
  Tensor mean(Shape{6}, DType::float32, kGpu), var(Shape{6}, DType::float32, kGpu);
  Tensor bad(Shape{5}, DType::float32, kGpu);
  REQUIRE_THROWS_WITH(ops::batch_norm_forward_training(x, bad, Tensor(), 1e-3f, y, mean, var),
                      Catch::StartsWith("batch_norm_forward_training: gamma has 5 elements"));
  Tensor lmean(Shape{4}, DType::float32, kGpu);
  REQUIRE_THROWS_WITH(ops::layer_norm_forward(x, Tensor(), Tensor(), 1e-3f, y, lmean, var),
                      Catch::StartsWith("layer_norm_forward: variance has 6 elements"));
}
