#pragma once
// Whole-step CUDA graphs: the work one training step enqueues on a device's stream, captured
// once (cudaStreamBeginCapture) and replayed with one cudaGraphLaunch per step, so a step
// costs one launch instead of one per kernel and the GPU never waits for the host between
// kernels. A replay runs the captured kernels with the arguments they had at capture; values
// that change from step to step must therefore live in device memory. The only such value
// inside forward + loss + backward is the step counter that draws Dropout's masks: while a
// StepGraph captures, dropout_forward reads it from a device register (step_register below)
// that every replay updates. The optimizer update (one fused launch, with the step's learning
// rate) runs after the replay, outside the graph. A replay is valid only while every address
// it baked in is alive: the caller keys graphs on the tensors it touches, and the device's
// shared grow-only buffers (workspace, conv scratch) bump Context::memory_epoch when they move.
#include <cstdint>
#include <string>

#include "backend/cuda/context.hpp"

namespace fitrun::cuda {

class StepGraph {
 public:
  StepGraph() = default;
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;
  ~StepGraph();

  /// Starts capturing the calling thread's work on `device`'s stream, drawn for training step
  /// `step` (kernels that read the step register add the replayed step's offset from it).
  void begin_capture(int device, uint64_t step);
  /// Ends the capture and instantiates the graph. Returns why it failed ("" on success); a
  /// failed capture leaves no graph, no sticky CUDA error and the stream usable.
  std::string end_capture();
  bool capturing() const { return capturing_; }
  /// A graph exists and the shared device buffers it baked in have not moved since
  /// (Context::memory_epoch); when they have, the caller captures again.
  bool ready() const;
  /// Replays the captured work for training step `step` (asynchronously, on the stream).
  void replay(uint64_t step);
  /// Drops the graph (before recapturing, e.g. when the tensors it touches moved).
  void reset();

 private:
  int device_ = -1;
  uint64_t capture_step_ = 0;
  bool capturing_ = false;
  uint64_t epoch_ = 0;  // the device's memory_epoch at the end of the capture
  cudaGraphExec_t exec_ = nullptr;
};

/// The device register a kernel adds to the step counter it was given, while `ctx`'s stream
/// is being captured by a StepGraph; null otherwise (the counter is then used as it is).
const uint64_t* step_register(const Context& ctx);

}  // namespace fitrun::cuda
