#pragma once
// Training steps on a GPU replayed from a CUDA graph (backend/cuda/step_graph.hpp). A plan's
// step (forward, loss, backward) runs eagerly kWarmup times, so that buffers, cuDNN algorithm
// searches and workspaces settle; then it is captured once and replayed for as long as the
// tensors it touches stay where they were. A capture that fails (an op that synchronizes,
// allocates or cannot be captured) makes this plan run eagerly for good, after one warning
// naming the reason. On the CPU, or in a build without CUDA, every step runs eagerly.
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "fitrun/device.hpp"

namespace fitrun::cuda {
class StepGraph;
}

namespace fitrun::detail {

class CapturedStep {
 public:
  /// Eager steps before the capture.
  static constexpr int kWarmup = 2;

  explicit CapturedStep(Device device);
  CapturedStep(const CapturedStep&) = delete;
  CapturedStep& operator=(const CapturedStep&) = delete;
  ~CapturedStep();

  /// What the captured work depends on beyond its plan's own buffers (the weights' and
  /// gradients' addresses, the label buffers'...): the caller refills it before each run, and a
  /// change drops the graph (the next steps warm up and capture again).
  std::vector<const void*>& key() { return key_; }

  /// Runs `work` (which enqueues training step `step`'s device work) eagerly, by capturing
  /// and replaying it, or by replaying the captured graph.
  template <class F>
  void run(uint64_t step, F&& work) {
    switch (next()) {
      case Next::eager:
        work();
        ++eager_runs_;
        return;
      case Next::replay:
        replay(step);
        return;
      case Next::capture:
        begin(step);
        try {
          work();
        } catch (const std::exception& e) {
          abandon(e.what());
          work();  // eagerly; a real error (not the capture's) is raised again here
          return;
        }
        if (!end()) {
          work();
          return;
        }
        replay(step);  // capturing ran nothing: this step's work runs now
        return;
    }
  }

  /// Steps replayed from the graph so far.
  uint64_t replays() const { return replays_; }
  /// Why this plan's steps are not captured ("" while they may be).
  const std::string& refusal() const { return refusal_; }

 private:
  enum class Next { eager, capture, replay };
  Next next();
  void begin(uint64_t step);
  bool end();  // false: the capture failed and was abandoned
  void abandon(const std::string& why);
  void replay(uint64_t step);

  Device device_;
  std::unique_ptr<cuda::StepGraph> graph_;
  std::vector<const void*> key_, captured_key_;
  int eager_runs_ = 0;
  uint64_t replays_ = 0;
  std::string refusal_;
};

}  // namespace fitrun::detail
