#include "backend/cuda/context.hpp"

#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {
struct DeviceInfo {
  int count = 0;
  std::string reason;
};

/// Asked once: the answer does not change while the process runs. A machine without a GPU or
/// driver gets cudaErrorNoDevice / cudaErrorInsufficientDriver here, which is not an error for
/// fitrun: it runs on the CPU.
const DeviceInfo& device_info() {
  static const DeviceInfo info = [] {
    DeviceInfo d;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      d.reason = "no CUDA device (" + status_name(e) + ")";
      cudaGetLastError();  // leave no error behind for later calls
    } else if (n == 0) {
      d.reason = "no CUDA device (cudaGetDeviceCount found none)";
    } else {
      d.count = n;
    }
    return d;
  }();
  return info;
}

std::mutex& contexts_mutex() {
  static std::mutex m;
  return m;
}
std::vector<std::unique_ptr<Context>>& contexts() {
  static std::vector<std::unique_ptr<Context>> c;
  return c;
}
}  // namespace

int device_count() { return device_info().count; }

const std::string& no_device_reason() { return device_info().reason; }

void require_device(int index, const char* op) {
  if (device_count() == 0) throw BackendError(std::string(op) + ": " + no_device_reason());
  if (index < 0 || index >= device_count())
    throw BackendError(std::string(op) + ": no device cuda:" + std::to_string(index) + " (" +
                       std::to_string(device_count()) + " CUDA device(s) present)");
}

void set_device(int index, const char* op) {
  int current = -1;
  FITRUN_CUDA_CHECK(cudaGetDevice(&current), op);
  if (current != index) FITRUN_CUDA_CHECK(cudaSetDevice(index), op);
}

Context& context(int device, const char* op) {
  require_device(device, op);
  set_device(device, op);
  auto& all = contexts();
  {
    std::lock_guard<std::mutex> lock(contexts_mutex());
    if (all.empty()) all.resize(static_cast<size_t>(device_count()));
    if (!all[static_cast<size_t>(device)]) {
      auto c = std::make_unique<Context>();
      c->device = device;
      FITRUN_CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), op);
      FITRUN_CUDA_CHECK(cublasCreate(&c->blas), op);
      FITRUN_CUDA_CHECK(cublasSetStream(c->blas, c->stream), op);
      FITRUN_CUDA_CHECK(cublasLtCreate(&c->lt), op);
      all[static_cast<size_t>(device)] = std::move(c);
    }
  }
  // Handles are deliberately never destroyed: at process exit the driver may already be
  // gone, and destroying them then fails.
  return *all[static_cast<size_t>(device)];
}

Context& context_of(const Tensor& t, const char* op) {
  if (!t.device().is_cuda())
    throw BackendError(std::string(op) + ": tensor on " + t.device().to_string() +
                       " given to the CUDA backend");
  return context(t.device().index(), op);
}

cudnnHandle_t cudnn_handle(Context& ctx, const char* op) {
  if (!ctx.dnn) {
    FITRUN_CUDA_CHECK(cudnnCreate(&ctx.dnn), op);
    FITRUN_CUDA_CHECK(cudnnSetStream(ctx.dnn, ctx.stream), op);
  }
  return ctx.dnn;
}

cudaStream_t copy_stream(Context& ctx, const char* op) {
  if (!ctx.copy_stream)
    FITRUN_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx.copy_stream, cudaStreamNonBlocking), op);
  return ctx.copy_stream;
}

void* grow(Context& ctx, GrowBuffer& b, std::size_t bytes, std::size_t granule, const char* op) {
  if (bytes <= b.bytes) return b.p;
  if (b.p) {
    FITRUN_CUDA_CHECK(cudaStreamSynchronize(ctx.stream), op);  // in use by queued work
    FITRUN_CUDA_CHECK(cudaFree(b.p), op);
    b.p = nullptr;
    b.bytes = 0;
  }
  const std::size_t rounded = (bytes + granule - 1) / granule * granule;
  FITRUN_CUDA_CHECK(cudaMalloc(&b.p, rounded), op);
  b.bytes = rounded;
  ++ctx.memory_epoch;
  return b.p;
}

void* workspace(Context& ctx, std::size_t bytes, const char* op) {
  return grow(ctx, ctx.workspace, bytes, std::size_t(1) << 20, op);
}

void synchronize(Context& ctx, const char* op) {
  FITRUN_CUDA_CHECK(cudaStreamSynchronize(ctx.stream), op);
}

float* f32(const Tensor& t, const char* op, const char* what) {
  if (!t.defined()) throw Error(std::string(op) + ": " + what + " is undefined");
  if (t.dtype() != DType::float32)
    throw Error(std::string(op) + ": " + what + " must be float32, got " + dtype_name(t.dtype()));
  if (!t.device().is_cuda())
    throw Error(std::string(op) + ": " + what + " is on " + t.device().to_string() +
                ", expected a CUDA device");
  return static_cast<float*>(t.device_data());
}

std::string describe() {
  std::ostringstream os;
  int runtime = 0, driver = 0;
  cudaRuntimeGetVersion(&runtime);
  cudaDriverGetVersion(&driver);  // 0 without a driver
  int blas[3] = {0, 0, 0};
  cublasGetProperty(MAJOR_VERSION, &blas[0]);
  cublasGetProperty(MINOR_VERSION, &blas[1]);
  cublasGetProperty(PATCH_LEVEL, &blas[2]);
  const size_t dnn = cudnnGetVersion();  // e.g. 91900 = 9.19.0
  os << "  CUDA runtime " << runtime / 1000 << "." << (runtime % 1000) / 10 << ", driver ";
  if (driver)
    os << driver / 1000 << "." << (driver % 1000) / 10;
  else
    os << "none";
  os << ", cuBLAS " << blas[0] << "." << blas[1] << "." << blas[2] << ", cuDNN "
     << dnn / 10000 << "." << (dnn % 10000) / 100 << "." << dnn % 100;
#ifdef FITRUN_CUDNN_BUILD_VERSION
  os << " (built with " << FITRUN_CUDNN_BUILD_VERSION << ")";
#endif
#ifdef FITRUN_CUDA_ARCHITECTURES
  os << ", architectures " << FITRUN_CUDA_ARCHITECTURES;
#endif
  os << "\n";
  if (device_count() == 0) {
    os << "  " << no_device_reason() << "\n";
    return os.str();
  }
  for (int i = 0; i < device_count(); ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) {
      cudaGetLastError();
      os << "  cuda:" << i << " (properties unavailable)\n";
      continue;
    }
    os << "  cuda:" << i << " " << p.name << ", compute capability " << p.major << "."
       << p.minor << ", " << p.multiProcessorCount << " SMs, "
       << (p.totalGlobalMem >> 20) << " MiB\n";
  }
  return os.str();
}

}  // namespace fitrun::cuda
