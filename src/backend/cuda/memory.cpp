#include "backend/cuda/memory.hpp"

#include "backend/cuda/context.hpp"

namespace fitrun::cuda {

void* device_alloc(std::size_t bytes, int device) {
  const char* op = "tensor allocation";
  Context& ctx = context(device, op);  // also makes the device current
  (void)ctx;
  const std::size_t rounded = bytes ? ((bytes + 255) / 256) * 256 : 256;
  void* p = nullptr;
  FITRUN_CUDA_CHECK(cudaMalloc(&p, rounded), op);
  return p;
}

void device_free(void* p, int device) noexcept {
  if (!p) return;
  int current = -1;
  if (cudaGetDevice(&current) == cudaSuccess && current != device) cudaSetDevice(device);
  // cudaFree waits for work that may still use p; an error here (driver unloading at exit)
  // cannot be reported from a destructor and is cleared instead.
  if (cudaFree(p) != cudaSuccess) cudaGetLastError();
}

void* pinned_alloc(std::size_t bytes) {
  if (device_count() == 0) return nullptr;
  void* p = nullptr;
  FITRUN_CUDA_CHECK(cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocPortable),
                    "pinned host allocation");
  return p;
}

void pinned_free(void* p) noexcept {
  if (p && cudaFreeHost(p) != cudaSuccess) cudaGetLastError();
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes) {
  const char* op = "tensor copy";
  if (bytes == 0) return;
  // Unified addressing lets cudaMemcpyDefault tell the directions apart; the copy is queued on
  // the stream of the device involved so that it follows the kernels that produced src.
  if (dst_device.is_cuda() && src_device.is_cuda() && dst_device != src_device) {
    // Across two GPUs the copy (queued on the destination's stream) must follow the source
    // device's queued work.
    synchronize(context(src_device.index(), op), op);
  }
  const int device = dst_device.is_cuda() ? dst_device.index() : src_device.index();
  Context& ctx = context(device, op);
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, ctx.stream), op);
  FITRUN_CUDA_CHECK(cudaStreamSynchronize(ctx.stream), op);
}

}  // namespace fitrun::cuda
