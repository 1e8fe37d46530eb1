#include "backend/cuda/check.hpp"

#include "fitrun/error.hpp"

namespace fitrun::cuda {

std::string failure_message(const char* call, const char* op, const std::string& status) {
  std::string name(call ? call : "CUDA call");
  const size_t paren = name.find('(');
  if (paren != std::string::npos) name.erase(paren);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  // Drop a namespace qualifier written at the call site ("::cudaMalloc").
  if (name.rfind("::", 0) == 0) name.erase(0, 2);
  return name + " failed in " + (op && *op ? op : "fitrun") + ": " + status;
}

std::string status_name(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")";
}

std::string status_name(cublasStatus_t s) {
  // cublasGetStatusName is a host-only string table: safe without a device.
  return cublasGetStatusName(s);
}

std::string status_name(cudnnStatus_t s) { return cudnnGetErrorString(s); }

void fail(const char* call, const char* op, const std::string& status) {
  throw BackendError(failure_message(call, op, status));
}

}  // namespace fitrun::cuda
