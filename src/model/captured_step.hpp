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

namespace fitrun::detail {

/// What CapturedStep needs of a backend: the CUDA one wraps cuda::StepGraph; tests give a
/// fake one to check the policy on the CPU.
class StepRecorder {
 public:
  virtual ~StepRecorder() = default;
  /// Starts recording the work enqueued from now on, drawn for training step `step`.
  virtual void begin_capture(uint64_t step) = 0;
  virtual bool capturing() const = 0;
  /// Ends recording; returns why it failed ("" when a replayable graph now exists).
  virtual std::string end_capture() = 0;
  virtual bool ready() const = 0;
  /// Enqueues the recorded work for training step `step`.
  virtual void replay(uint64_t step) = 0;
  virtual void reset() = 0;
};

class CapturedStep {
 public:
  /// Eager steps before the capture.
  static constexpr int kWarmup = 2;

  /// Captures on a CUDA device; on the CPU (or without CUDA) always eager.
  explicit CapturedStep(Device device);
  /// With a given recorder (tests).
  CapturedStep(std::unique_ptr<StepRecorder> recorder, std::string device_name);
  CapturedStep(const CapturedStep&) = delete;
  CapturedStep& operator=(const CapturedStep&) = delete;
  ~CapturedStep();

  /// What the captured work depends on beyond its plan's own buffers (the weights' and
  /// gradients' addresses, the layers' scratch allocations): the caller refills it before each
  /// run, and a change drops the graph (the next steps warm up and capture again).
  std::vector<std::uintptr_t>& key() { return key_; }

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
        try {
          begin(step);
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

  std::unique_ptr<StepRecorder> recorder_;  // null: always eager
  std::string device_name_;
  std::vector<std::uintptr_t> key_, captured_key_;
  int eager_runs_ = 0;
  uint64_t replays_ = 0;
  std::string refusal_;
};

}  // namespace fitrun::detail
