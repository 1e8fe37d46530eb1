#pragma once
// One way to check every CUDA runtime, cuBLAS(Lt) and cuDNN call: FITRUN_CUDA_CHECK(call, op)
// throws fitrun::BackendError naming the failed function, the op and the status, e.g.
// "cublasLtMatmul failed in dense_forward: CUBLAS_STATUS_NOT_SUPPORTED".
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <string>

namespace fitrun::cuda {

/// "<function> failed in <op>: <status>"; `call` may be the whole call expression (only the
/// function name before '(' is kept).
std::string failure_message(const char* call, const char* op, const std::string& status);

/// "cudaErrorNoDevice (no CUDA-capable device is detected)" and the like.
std::string status_name(cudaError_t e);
std::string status_name(cublasStatus_t s);
std::string status_name(cudnnStatus_t s);

[[noreturn]] void fail(const char* call, const char* op, const std::string& status);

inline void check(cudaError_t e, const char* call, const char* op) {
  if (e != cudaSuccess) fail(call, op, status_name(e));
}
inline void check(cublasStatus_t s, const char* call, const char* op) {
  if (s != CUBLAS_STATUS_SUCCESS) fail(call, op, status_name(s));
}
inline void check(cudnnStatus_t s, const char* call, const char* op) {
  if (s != CUDNN_STATUS_SUCCESS) fail(call, op, status_name(s));
}

}  // namespace fitrun::cuda

#define FITRUN_CUDA_CHECK(call, op) ::fitrun::cuda::check((call), #call, (op))
/// After a kernel launch: launch-configuration errors surface here, naming the kernel.
#define FITRUN_CUDA_CHECK_LAUNCH(kernel, op) \
  ::fitrun::cuda::check(cudaGetLastError(), kernel, (op))
