#pragma once
// Per-device CUDA state: one compute stream, one cuBLAS and one cuBLASLt handle, a cuDNN handle
// made on first use, and one grow-only workspace, all created once per device and reused by
// every op (no per-step cudaMalloc). Ops enqueue on the compute stream; host reads synchronize
// it. A second stream, made on first use, carries the prefetched batches' host-to-device copies
// (copy_stream.hpp); events order it against the compute stream.
#include <cstddef>
#include <string>

#include "backend/cuda/check.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::cuda {

/// Usable devices; 0 (never an exception) when there is no device or no driver.
int device_count();
/// Why device_count() is 0: "no CUDA device (cudaErrorNoDevice ...)"; empty when it is not.
const std::string& no_device_reason();
/// Throws a BackendError naming `op` unless `index` is a usable device.
void require_device(int index, const char* op);
/// Makes `index` the calling thread's current device (skips the call when it already is).
void set_device(int index, const char* op);

/// A grow-only device buffer shared by the ops of a device (never shrinks; reuse is safe
/// because all work of a device is ordered on its one stream).
struct GrowBuffer {
  void* p = nullptr;
  std::size_t bytes = 0;
};

struct Context {
  int device = 0;
  cudaStream_t stream = nullptr;       // compute: every op
  cudaStream_t copy_stream = nullptr;  // host-to-device batch copies; copy_stream() makes it
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  cudnnHandle_t dnn = nullptr;  // cudnn_handle() creates it on first use
  GrowBuffer workspace;
  // Bumped whenever a GrowBuffer moves: a captured step graph that baked the old address is
  // stale then (StepGraph::ready()).
  uint64_t memory_epoch = 0;
  // StepGraph (step_graph.hpp): the device register holding a replayed step's offset from the
  // captured one (allocated at the first capture), and whether the stream is being captured.
  uint64_t* step_offset = nullptr;
  bool capturing = false;
};

/// The context of `device`, created on first use; also makes the device current.
Context& context(int device, const char* op);
/// The context of the device `t` lives on (which must be a CUDA device).
Context& context_of(const Tensor& t, const char* op);
cudnnHandle_t cudnn_handle(Context& ctx, const char* op);
/// The device's copy stream, created on first use.
cudaStream_t copy_stream(Context& ctx, const char* op);
/// At least `bytes` of `b`: a larger buffer (`bytes` rounded up to `granule`) when it is too
/// small, after the work queued on the old one has finished.
void* grow(Context& ctx, GrowBuffer& b, std::size_t bytes, std::size_t granule, const char* op);
/// At least `bytes` of the device's shared workspace (whole MiB).
void* workspace(Context& ctx, std::size_t bytes, const char* op);
/// Waits for the device's stream (before the host reads results).
void synchronize(Context& ctx, const char* op);

/// Device pointer of a float32 CUDA tensor; throws naming `op` and `what` otherwise.
float* f32(const Tensor& t, const char* op, const char* what);

/// Versions and devices, one line each, for fitrun::build_info().
std::string describe();

}  // namespace fitrun::cuda
