#include "backend/cuda/step_graph.hpp"

#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {
constexpr const char* kOp = "step_graph";
}

StepGraph::~StepGraph() {
  if (exec_) cudaGraphExecDestroy(exec_);  // no throw from a destructor; the driver may be gone
}

void StepGraph::begin_capture(int device, uint64_t step) {
  reset();
  Context& ctx = context(device, kOp);
  if (!ctx.step_offset) {
    void* p = nullptr;
    FITRUN_CUDA_CHECK(cudaMalloc(&p, sizeof(uint64_t)), kOp);
    ctx.step_offset = static_cast<uint64_t*>(p);
  }
  // Only this thread's calls join the capture, and a call that would break it (a synchronous
  // copy, a stream sync, a cudaMalloc) fails instead of silently running outside the graph.
  FITRUN_CUDA_CHECK(cudaStreamBeginCapture(ctx.stream, cudaStreamCaptureModeThreadLocal), kOp);
  ctx.capturing = true;
  capturing_ = true;
  device_ = device;
  capture_step_ = step;
}

std::string StepGraph::end_capture() {
  Context& ctx = context(device_, kOp);
  ctx.capturing = false;
  capturing_ = false;
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(ctx.stream, &graph);
  std::string failure;
  if (ended != cudaSuccess) {
    failure = "cudaStreamEndCapture: " + status_name(ended);
  } else {
    const cudaError_t made = cudaGraphInstantiate(&exec_, graph, 0);
    if (made != cudaSuccess) {
      failure = "cudaGraphInstantiate: " + status_name(made);
      exec_ = nullptr;
    }
  }
  if (graph) cudaGraphDestroy(graph);  // the executable graph keeps what it needs
  epoch_ = ctx.memory_epoch;
  if (!failure.empty()) cudaGetLastError();  // leave no error for the next checked call
  return failure;
}

bool StepGraph::ready() const {
  return exec_ && context(device_, kOp).memory_epoch == epoch_;
}

void StepGraph::replay(uint64_t step) {
  if (!ready()) throw Error("step_graph: replay without a valid captured graph");
  Context& ctx = context(device_, kOp);
  // The offset goes through the stream, so it is in place when this replay's kernels read it
  // and not overwritten before an earlier replay's have (pageable source: the call returns once
  // the value is staged, and `offset` may then go out of scope).
  const uint64_t offset = step - capture_step_;
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(ctx.step_offset, &offset, sizeof offset,
                                    cudaMemcpyHostToDevice, ctx.stream),
                    kOp);
  FITRUN_CUDA_CHECK(cudaGraphLaunch(exec_, ctx.stream), kOp);
}

void StepGraph::reset() {
  if (exec_) {
    synchronize(context(device_, kOp), kOp);  // no replay of it still running
    FITRUN_CUDA_CHECK(cudaGraphExecDestroy(exec_), kOp);
    exec_ = nullptr;
  }
}

const uint64_t* step_register(const Context& ctx) {
  return ctx.capturing ? ctx.step_offset : nullptr;
}

}  // namespace fitrun::cuda
