#include "model/captured_step.hpp"

#include <spdlog/spdlog.h>

#ifdef FITRUN_HAVE_CUDA
#include "backend/cuda/step_graph.hpp"
#endif

namespace fitrun::detail {

namespace {
#ifdef FITRUN_HAVE_CUDA
class CudaRecorder final : public StepRecorder {
 public:
  explicit CudaRecorder(int device) : device_(device) {}
  void begin_capture(uint64_t step) override { graph_.begin_capture(device_, step); }
  bool capturing() const override { return graph_.capturing(); }
  std::string end_capture() override { return graph_.end_capture(); }
  bool ready() const override { return graph_.ready(); }
  void replay(uint64_t step) override { graph_.replay(step); }
  void reset() override { graph_.reset(); }

 private:
  int device_;
  cuda::StepGraph graph_;
};
#endif

std::unique_ptr<StepRecorder> recorder_for(Device device) {
#ifdef FITRUN_HAVE_CUDA
  if (device.is_cuda()) return std::make_unique<CudaRecorder>(device.index());
#else
  (void)device;
#endif
  return nullptr;
}
}  // namespace

CapturedStep::CapturedStep(Device device)
    : CapturedStep(recorder_for(device), device.to_string()) {
  if (!recorder_)
    refusal_ = device.is_cuda() ? "this build has no CUDA backend" : "the model is on the CPU";
}

CapturedStep::CapturedStep(std::unique_ptr<StepRecorder> recorder, std::string device_name)
    : recorder_(std::move(recorder)), device_name_(std::move(device_name)) {}

CapturedStep::~CapturedStep() = default;

CapturedStep::Next CapturedStep::next() {
  if (!refusal_.empty() || !recorder_) return Next::eager;
  if (recorder_->ready()) {
    if (key_ == captured_key_) return Next::replay;
    recorder_->reset();  // weights or buffers moved since the capture: warm up and capture again
    eager_runs_ = 0;
  }
  return eager_runs_ < kWarmup ? Next::eager : Next::capture;
}

void CapturedStep::begin(uint64_t step) {
  captured_key_ = key_;
  recorder_->begin_capture(step);
}

bool CapturedStep::end() {
  const std::string failure = recorder_->end_capture();
  if (failure.empty()) return true;
  abandon(failure);
  return false;
}

void CapturedStep::abandon(const std::string& why) {
  if (recorder_->capturing()) (void)recorder_->end_capture();  // an op threw mid-capture
  recorder_->reset();
  refusal_ = "capturing the step failed: " + why;
  spdlog::warn("training on {} runs eagerly, without a CUDA graph: {}", device_name_, refusal_);
}

void CapturedStep::replay(uint64_t step) {
  recorder_->replay(step);
  ++replays_;
}

}  // namespace fitrun::detail
