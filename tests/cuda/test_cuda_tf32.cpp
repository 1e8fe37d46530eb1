// set_float32_matmul_precision on a GPU: with "high" (TF32 tensor cores) dense, batched matmul
// and conv results stay within TF32's tolerance of the CPU, and dense really changes (TF32 is
// engaged); with "highest" they match to 1e-4 as every other [gpu] test. Tagged [gpu];
// without a CUDA device each case passes as skipped.
#include <catch2/catch.hpp>

#include <string>

#include "conv_compare.hpp"
#include "fitrun/ops.hpp"
#include "fitrun/runtime.hpp"
#include "gpu_helpers.hpp"

using namespace fitrun;
using gpu_test::kGpu;
using gpu_test::kTolerance;
using gpu_test::random;
using gpu_test::relative_error;

namespace {
/// TF32 keeps 10 of float32's 23 mantissa bits: ~5e-4 per product, less once accumulated.
constexpr double kTf32Tolerance = 1e-2;

/// Sets the precision for one test and restores the default ("highest") after it.
struct Precision {
  explicit Precision(const std::string& p) { set_float32_matmul_precision(p); }
  ~Precision() { set_float32_matmul_precision("highest"); }
};
}  // namespace

TEST_CASE("GPU dense and batched_matmul in TF32 stay within its tolerance of the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const std::string precision = GENERATE("highest", "high");
  CAPTURE(precision);
  const bool tf32 = precision == "high";
  const double tolerance = tf32 ? kTf32Tolerance : kTolerance;
  const int64_t n = 256, in = 512, out = 384;
  const Tensor x = random({n, in}, 1), k = random({in, out}, 2), b = random({out}, 3);
  const Tensor dy = random({n, out}, 4);
  Tensor y({n, out}), dx({n, in}), dk({in, out}), db({out});
  ops::dense_forward(x, k, b, ActivationFn::relu, y);
  ops::dense_backward_data(dy, k, dx);
  ops::dense_backward_weights(x, dy, dk, db, false);

  Precision scope(precision);
  Tensor yg({n, out}, DType::float32, kGpu), dxg({n, in}, DType::float32, kGpu);
  Tensor dkg({in, out}, DType::float32, kGpu), dbg({out}, DType::float32, kGpu);
  ops::dense_forward(x.to(kGpu), k.to(kGpu), b.to(kGpu), ActivationFn::relu, yg);
  ops::dense_backward_data(dy.to(kGpu), k.to(kGpu), dxg);
  ops::dense_backward_weights(x.to(kGpu), dy.to(kGpu), dkg, dbg, false);
  const double forward = relative_error(yg, y);
  CHECK(forward <= tolerance);
  CHECK(relative_error(dxg, dx) <= tolerance);
  CHECK(relative_error(dkg, dk) <= tolerance);
  CHECK(relative_error(dbg, db) <= kTolerance);  // a column sum: no matmul
  // fp32 matches to rounding (~1e-7); TF32's rounded inputs show at this size (k = 512).
  if (tf32) CHECK(forward > 1e-6);

  const Tensor a = random({4, 64, 128}, 5), c = random({4, 128, 96}, 6);
  Tensor ab({4, 64, 96}), abg({4, 64, 96}, DType::float32, kGpu);
  ops::batched_matmul(a, false, c, false, 1.f, ab, false);
  ops::batched_matmul(a.to(kGpu), false, c.to(kGpu), false, 1.f, abg, false);
  CHECK(relative_error(abg, ab) <= tolerance);
}

TEST_CASE("GPU conv2d in TF32 stays within its tolerance of the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const std::string precision = GENERATE("highest", "high");
  CAPTURE(precision);
  Precision scope(precision);
  const double tolerance = precision == "high" ? kTf32Tolerance : kTolerance;
  // A ResNet-like 3x3 conv, a strided one and the one-channel first conv of a digits CNN.
  const gpu_test::ConvCase c = GENERATE(gpu_test::ConvCase{8, 16, 16, 32, 64, 3, 1, 1, 1, 1},
                                        gpu_test::ConvCase{4, 15, 15, 16, 32, 3, 2, 1, 1, 1},
                                        gpu_test::ConvCase{16, 8, 8, 1, 32, 3, 1, 1, 1, 1});
  gpu_test::compare_conv(c, ActivationFn::relu, false, tolerance);
}
