#include "model/captured_step.hpp"

#include <spdlog/spdlog.h>

#ifdef FITRUN_HAVE_CUDA
#include "backend/cuda/step_graph.hpp"
#endif

namespace fitrun::detail {

#ifdef FITRUN_HAVE_CUDA
CapturedStep::CapturedStep(Device device) : device_(device) {
  if (device.is_cuda()) graph_ = std::make_unique<cuda::StepGraph>();
  else refusal_ = "the model is on the CPU";
}
#else
CapturedStep::CapturedStep(Device device) : device_(device) {
  refusal_ = "this build has no CUDA backend";
}
#endif

CapturedStep::~CapturedStep() = default;

CapturedStep::Next CapturedStep::next() {
  if (!refusal_.empty()) return Next::eager;
#ifdef FITRUN_HAVE_CUDA
  if (graph_->ready()) {
    if (key_ == captured_key_) return Next::replay;
    graph_->reset();  // weights or buffers moved since the capture: warm up and capture again
    eager_runs_ = 0;
  }
  return eager_runs_ < kWarmup ? Next::eager : Next::capture;
#else
  return Next::eager;
#endif
}

void CapturedStep::begin(uint64_t step) {
#ifdef FITRUN_HAVE_CUDA
  captured_key_ = key_;
  graph_->begin_capture(device_.index(), step);
#else
  (void)step;
#endif
}

bool CapturedStep::end() {
#ifdef FITRUN_HAVE_CUDA
  const std::string failure = graph_->end_capture();
  if (failure.empty()) return true;
  abandon(failure);
#endif
  return false;
}

void CapturedStep::abandon(const std::string& why) {
#ifdef FITRUN_HAVE_CUDA
  if (graph_->capturing()) (void)graph_->end_capture();  // an op threw mid-capture
  graph_->reset();
#endif
  refusal_ = "capturing the step failed: " + why;
  spdlog::warn("training on {} runs eagerly, without a CUDA graph: {}", device_.to_string(),
               refusal_);
}

void CapturedStep::replay(uint64_t step) {
#ifdef FITRUN_HAVE_CUDA
  graph_->replay(step);
  ++replays_;
#else
  (void)step;
#endif
}

}  // namespace fitrun::detail
