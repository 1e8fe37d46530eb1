// CapturedStep's policy (src/model/captured_step.hpp), on the CPU with a fake recorder: warm
// up, capture once, replay; recapture when the key changes; a failed capture runs the step
// eagerly and leaves the plan eager with the reason; a real error still surfaces. The CUDA
// recorder itself is checked by tests/cuda/test_cuda_graphs.cpp on a GPU.
#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

#include "model/captured_step.hpp"

using fitrun::detail::CapturedStep;
using fitrun::detail::StepRecorder;

namespace {

/// Logs what CapturedStep asks of a backend; `fail_with` makes end_capture fail.
struct FakeRecorder final : StepRecorder {
  std::vector<std::string>* log;
  std::string fail_with;
  bool recording = false, has_graph = false;

  explicit FakeRecorder(std::vector<std::string>* l) : log(l) {}
  void begin_capture(uint64_t step) override {
    recording = true;
    log->push_back("begin " + std::to_string(step));
  }
  bool capturing() const override { return recording; }
  std::string end_capture() override {
    recording = false;
    has_graph = fail_with.empty();
    return fail_with;
  }
  bool ready() const override { return has_graph; }
  void replay(uint64_t step) override { log->push_back("replay " + std::to_string(step)); }
  void reset() override {
    has_graph = false;
    log->push_back("reset");
  }
};

struct Harness {
  std::vector<std::string> log;
  FakeRecorder* fake;
  CapturedStep step;
  Harness() : fake(new FakeRecorder(&log)), step(std::unique_ptr<StepRecorder>(fake), "cuda:0") {}
  /// One training step whose work logs whether it ran or was recorded.
  void run(uint64_t s) {
    step.run(s, [&] { log.push_back((fake->recording ? "record " : "run ") + std::to_string(s)); });
  }
};

}  // namespace

TEST_CASE("CapturedStep: warm up, capture once, then replay", "[model][graphs]") {
  Harness h;
  for (uint64_t s = 1; s <= 5; ++s) h.run(s);
  CHECK(h.log == std::vector<std::string>{"run 1", "run 2", "begin 3", "record 3", "replay 3",
                                          "replay 4", "replay 5"});
  CHECK(h.step.replays() == 3);
  CHECK(h.step.refusal().empty());
}

TEST_CASE("CapturedStep: a changed key drops the graph and captures again", "[model][graphs]") {
  Harness h;
  h.step.key() = {0x1000, 7};  // (a weight's address, scratch allocations)
  for (uint64_t s = 1; s <= 3; ++s) h.run(s);
  h.step.key() = {0x2000, 7};  // the weight got a new buffer
  h.log.clear();
  for (uint64_t s = 4; s <= 7; ++s) h.run(s);
  CHECK(h.log == std::vector<std::string>{"reset", "run 4", "run 5", "begin 6", "record 6",
                                          "replay 6", "replay 7"});
  CHECK(h.step.replays() == 3);
}

TEST_CASE("CapturedStep: a failed capture runs the step eagerly and stays eager",
          "[model][graphs]") {
  Harness h;
  h.fake->fail_with = "cudaStreamEndCapture: cudaErrorStreamCaptureInvalidated";
  for (uint64_t s = 1; s <= 5; ++s) h.run(s);
  CHECK(h.log == std::vector<std::string>{"run 1", "run 2", "begin 3", "record 3", "reset",
                                          "run 3", "run 4", "run 5"});
  CHECK(h.step.replays() == 0);
  CHECK(h.step.refusal() ==
        "capturing the step failed: cudaStreamEndCapture: cudaErrorStreamCaptureInvalidated");
}

TEST_CASE("CapturedStep: an op that throws while captured runs eagerly; real errors surface",
          "[model][graphs]") {
  Harness h;
  auto work = [&](uint64_t s) {
    if (h.fake->recording)
      throw std::runtime_error("cudaStreamSynchronize failed in tensor copy: "
                               "cudaErrorStreamCaptureUnsupported");
    h.log.push_back("run " + std::to_string(s));
  };
  for (uint64_t s = 1; s <= 4; ++s) h.step.run(s, [&] { work(s); });
  CHECK(h.log == std::vector<std::string>{"run 1", "run 2", "begin 3", "reset", "run 3", "run 4"});
  CHECK(!h.fake->recording);  // the capture was ended
  CHECK(h.step.refusal() == "capturing the step failed: cudaStreamSynchronize failed in tensor "
                            "copy: cudaErrorStreamCaptureUnsupported");

  Harness broken;  // an error that is not the capture's: raised by the eager rerun
  for (uint64_t s = 1; s <= 2; ++s) broken.run(s);
  CHECK_THROWS_WITH(broken.step.run(3, [] { throw std::runtime_error("shape mismatch"); }),
                    "shape mismatch");
}

TEST_CASE("CapturedStep: on the CPU every step runs eagerly", "[model][graphs]") {
  CapturedStep step(fitrun::Device::cpu());
  int runs = 0;
  for (uint64_t s = 1; s <= 4; ++s) step.run(s, [&] { ++runs; });
  CHECK(runs == 4);
  CHECK(step.replays() == 0);
  CHECK(step.refusal() == "the model is on the CPU");
}
