// The fused optimizer updates on a GPU (one kernel launch for all parameters) against the CPU
// ops, which tests/optimizers/test_fused_updates.cpp ties bit for bit to the optimizer classes:
// weights and every slot within 1e-6 relative after several steps. Tagged [gpu]; without a
// CUDA device each case passes as skipped.
#include <catch2/catch.hpp>

#include <vector>

#include "fitrun/ops.hpp"
#include "gpu_helpers.hpp"

using namespace fitrun;
using gpu_test::kGpu;
using gpu_test::random;
using gpu_test::relative_error;

namespace {
/// Only the order of float operations may differ (the GPU contracts a*b+c into one FMA).
constexpr double kUpdateTolerance = 1e-6;
constexpr int kSteps = 4;

/// Four parameters of different sizes (one empty) with three slots each, on `d`. Slot 0 is
/// positive (RMSprop's velocity, which the centered form reduces by avg²), slot 2 may be
/// negative (RMSprop's average gradient).
struct State {
  std::vector<Tensor> w, g, slot[3];
  explicit State(Device d) {
    const Shape shapes[] = {Shape{64, 33}, Shape{0}, Shape{1000}, Shape{7}};
    int64_t seed = 70;
    for (const Shape& s : shapes) {
      w.push_back(random(s, seed++).to(d));
      g.push_back(random(s, seed++).to(d));
      slot[0].push_back(random(s, seed++, 0.2f, 0.6f).to(d));
      slot[1].push_back(random(s, seed++, 0.f, 0.1f).to(d));
      slot[2].push_back(random(s, seed++, -0.1f, 0.1f).to(d));
    }
  }
  /// A new gradient per step, the same on both devices.
  void set_grads(int step) {
    for (size_t i = 0; i < g.size(); ++i)
      g[i].copy_from(random(g[i].shape(), 500 + 10 * step + int64_t(i)));
  }
  std::vector<Tensor*> params() { return ptrs(w); }
  std::vector<const Tensor*> grads() {
    std::vector<const Tensor*> r;
    for (Tensor& t : g) r.push_back(&t);
    return r;
  }
  std::vector<Tensor*> slots(int k) { return ptrs(slot[k]); }
  static std::vector<Tensor*> ptrs(std::vector<Tensor>& ts) {
    std::vector<Tensor*> r;
    for (Tensor& t : ts) r.push_back(&t);
    return r;
  }
};

/// Runs `update(state)` kSteps times on each device and compares the weights and the first
/// `slots` slots.
template <class F>
void require_same_updates(int slots, F update) {
  State cpu(Device::cpu()), gpu(kGpu);
  for (int step = 0; step < kSteps; ++step)
    for (State* s : {&cpu, &gpu}) {
      s->set_grads(step);
      update(*s, step);
    }
  for (size_t i = 0; i < cpu.w.size(); ++i) {
    INFO("parameter " << i);
    CHECK(relative_error(gpu.w[i], cpu.w[i]) <= kUpdateTolerance);
    for (int k = 0; k < slots; ++k) {
      INFO("slot " << k);
      CHECK(relative_error(gpu.slot[k][i], cpu.slot[k][i]) <= kUpdateTolerance);
    }
  }
  // The updates moved the weights (a kernel that did nothing would fail here).
  CHECK(relative_error(cpu.w[0], State(Device::cpu()).w[0]) > 1e-3);
}
}  // namespace

TEST_CASE("GPU fused SGD update matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const double momentum = GENERATE(0.0, 0.9);
  const bool nesterov = GENERATE(false, true);
  const ops::SGDUpdate u{0.05f, momentum, nesterov, 0.01};
  require_same_updates(momentum > 0 ? 1 : 0, [&](State& s, int) {
    ops::sgd_update(s.params().data(), s.grads().data(), s.slots(0).data(), int(s.w.size()), u);
  });
}

TEST_CASE("GPU fused Adam and AMSGrad updates match the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const bool amsgrad = GENERATE(false, true);
  ops::AdamUpdate u{0.01f, 0.9, 0.999, 1e-7, 1, GENERATE(0.0, 0.004)};
  require_same_updates(amsgrad ? 3 : 2, [&](State& s, int step) {
    u.step = step + 1;
    if (amsgrad)
      ops::amsgrad_update(s.params().data(), s.grads().data(), s.slots(0).data(),
                          s.slots(1).data(), s.slots(2).data(), int(s.w.size()), u);
    else
      ops::adam_update(s.params().data(), s.grads().data(), s.slots(0).data(),
                       s.slots(1).data(), int(s.w.size()), u);
  });
}

TEST_CASE("GPU fused RMSprop update matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const double momentum = GENERATE(0.0, 0.9);
  const bool centered = GENERATE(false, true);
  const ops::RMSpropUpdate u{0.01f, 0.9, momentum, 1e-7, centered, GENERATE(0.0, 0.01)};
  // Slots 0, 1, 2: velocity, momentum, average gradient (unused ones are left alone).
  require_same_updates(3, [&](State& s, int) {
    ops::rmsprop_update(s.params().data(), s.grads().data(), s.slots(0).data(),
                        momentum > 0 ? s.slots(1).data() : nullptr,
                        centered ? s.slots(2).data() : nullptr, int(s.w.size()), u);
  });
}

TEST_CASE("GPU fused Adagrad update matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  const ops::AdagradUpdate u{0.05f, 1e-7, GENERATE(0.0, 0.01)};
  require_same_updates(1, [&](State& s, int) {
    ops::adagrad_update(s.params().data(), s.grads().data(), s.slots(0).data(), int(s.w.size()),
                        u);
  });
}

TEST_CASE("GPU gradient clipping matches the CPU", "[gpu]") {
  FITRUN_REQUIRE_GPU();
  using Kind = ops::GradientClip::Kind;
  const Kind kind = GENERATE(Kind::norm, Kind::global_norm, Kind::value);
  // The parameters stand in for gradients (uniform in [-1, 1]: norms ~1.5 to ~26); the limits
  // clip some tensors and some elements.
  const ops::GradientClip clip{kind, kind == Kind::value ? 0.5f : 3.f};
  CAPTURE(static_cast<int>(kind));
  State cpu(Device::cpu()), gpu(kGpu);
  for (State* s : {&cpu, &gpu}) ops::clip_gradients(s->params().data(), int(s->w.size()), clip);
  const State before(Device::cpu());
  for (size_t i = 0; i < cpu.w.size(); ++i) {
    INFO("tensor " << i);
    CHECK(relative_error(gpu.w[i], cpu.w[i]) <= kUpdateTolerance);
  }
  // Clipping changed the large tensor (a kernel that did nothing would fail here).
  CHECK(relative_error(cpu.w[0], before.w[0]) > 1e-3);
}
