#include "backend/cuda/copy_stream.hpp"

#include "backend/cuda/context.hpp"

namespace fitrun::cuda {

namespace {
cudaStream_t stream_of(Context& ctx, Stream s, const char* op) {
  return s == Stream::compute ? ctx.stream : copy_stream(ctx, op);
}
}  // namespace

Event::Event(int device) : device_(device) {
  context(device, "event creation");  // makes the device current
  cudaEvent_t e = nullptr;
  FITRUN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "event creation");
  event_ = e;
}

Event::~Event() {
  // As device_free: the driver may be gone at exit; an error cannot leave a destructor.
  if (event_ && cudaEventDestroy(static_cast<cudaEvent_t>(event_)) != cudaSuccess)
    cudaGetLastError();
}

void Event::record(Stream stream) {
  const char* op = "event record";
  Context& ctx = context(device_, op);
  FITRUN_CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event_), stream_of(ctx, stream, op)),
                    op);
}

void Event::wait(Stream stream) const {
  const char* op = "stream wait on event";
  Context& ctx = context(device_, op);
  FITRUN_CUDA_CHECK(
      cudaStreamWaitEvent(stream_of(ctx, stream, op), static_cast<cudaEvent_t>(event_), 0), op);
}

void Event::synchronize() const {
  FITRUN_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event_)), "event synchronize");
}

void copy_to_device_async(void* dst, const void* src, std::size_t bytes, int device) {
  const char* op = "batch copy to the device";
  if (bytes == 0) return;
  Context& ctx = context(device, op);
  FITRUN_CUDA_CHECK(
      cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, copy_stream(ctx, op)), op);
}

}  // namespace fitrun::cuda
