// The CUDA backend's runtime side, runnable on any machine: build_info, Device::parse("auto"),
// allocation without a device, and the check macro's error messages.
#include <catch2/catch.hpp>

#include <string>

#include "backend/cuda/check.hpp"
#include "fitrun/device.hpp"
#include "fitrun/error.hpp"
#include "fitrun/runtime.hpp"
#include "fitrun/tensor.hpp"

using namespace fitrun;

TEST_CASE("build_info reports the CUDA backend and its devices", "[cuda]") {
  const std::string info = build_info();
  CAPTURE(info);
  CHECK(info.find("CUDA backend: built") != std::string::npos);
  CHECK(info.find("CUDA runtime ") != std::string::npos);
  CHECK(info.find("cuBLAS ") != std::string::npos);
  CHECK(info.find("cuDNN 9.") != std::string::npos);
  if (cuda_device_count() == 0)
    CHECK(info.find("no CUDA device") != std::string::npos);
  else
    CHECK(info.find("cuda:0 ") != std::string::npos);
}

TEST_CASE("Device::parse(\"auto\") picks a GPU only when one is present", "[cuda]") {
  const Device d = Device::parse("auto");
  if (cuda_device_count() > 0)
    CHECK(d == Device::cuda(0));
  else
    CHECK(d == Device::cpu());
  CHECK(Device::parse("cpu") == Device::cpu());
  CHECK(Device::parse("cuda:1") == Device::cuda(1));
}

TEST_CASE("a tensor on a missing CUDA device is a clear error", "[cuda]") {
  if (cuda_device_count() > 0) {
    // cuda:<count> never exists.
    const Device missing = Device::cuda(cuda_device_count());
    REQUIRE_THROWS_WITH(Tensor(Shape{4}, DType::float32, missing),
                        Catch::Contains("no device " + missing.to_string()));
    return;
  }
  REQUIRE_THROWS_AS(Tensor(Shape{4}, DType::float32, Device::cuda(0)), BackendError);
  REQUIRE_THROWS_WITH(Tensor(Shape{4}, DType::float32, Device::cuda(0)),
                      Catch::Contains("no CUDA device"));
  REQUIRE_THROWS_WITH(Tensor::of({1.f, 2.f}).to(Device::cuda(0)),
                      Catch::Contains("no CUDA device"));
}

namespace {
cublasStatus_t fake_cublas(int) { return CUBLAS_STATUS_NOT_SUPPORTED; }
}  // namespace

TEST_CASE("FITRUN_CUDA_CHECK names the call, the op and the status", "[cuda]") {
  REQUIRE_THROWS_AS(FITRUN_CUDA_CHECK(cudaErrorNoDevice, "dense_forward"), BackendError);
  REQUIRE_THROWS_WITH(
      ::fitrun::cuda::check(cudaErrorMemoryAllocation, "cudaMalloc(&p, bytes)", "fill"),
      "cudaMalloc failed in fill: cudaErrorMemoryAllocation (out of memory)");
  // The macro keeps the function name of a whole call expression.
  REQUIRE_THROWS_WITH(FITRUN_CUDA_CHECK(fake_cublas(3), "dense_forward"),
                      "fake_cublas failed in dense_forward: CUBLAS_STATUS_NOT_SUPPORTED");
  REQUIRE_THROWS_WITH(
      ::fitrun::cuda::check(CUBLAS_STATUS_EXECUTION_FAILED, "cublasLtMatmul", "dense_forward"),
      "cublasLtMatmul failed in dense_forward: CUBLAS_STATUS_EXECUTION_FAILED");
  REQUIRE_THROWS_WITH(
      ::fitrun::cuda::check(CUDNN_STATUS_BAD_PARAM, "cudnnConvolutionForward(h, ...)",
                            "conv2d_forward"),
      Catch::StartsWith("cudnnConvolutionForward failed in conv2d_forward: CUDNN_STATUS_BAD_PARAM"));
  // Success passes silently.
  REQUIRE_NOTHROW(FITRUN_CUDA_CHECK(cudaSuccess, "copy"));
  REQUIRE_NOTHROW(FITRUN_CUDA_CHECK(CUBLAS_STATUS_SUCCESS, "copy"));
  REQUIRE_NOTHROW(FITRUN_CUDA_CHECK(CUDNN_STATUS_SUCCESS, "copy"));
}

TEST_CASE("failure_message trims the call to its function name", "[cuda]") {
  CHECK(fitrun::cuda::failure_message("::cudaMemcpyAsync (dst, src, n, k, s)", "tensor copy",
                                      "cudaErrorInvalidValue") ==
        "cudaMemcpyAsync failed in tensor copy: cudaErrorInvalidValue");
  CHECK(fitrun::cuda::failure_message("cudaFree", "", "x") == "cudaFree failed in fitrun: x");
}
