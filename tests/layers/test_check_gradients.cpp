// fitrun::testing::check_gradients itself: it passes a correct custom layer and catches a wrong
// input gradient and a wrong weight gradient, naming where.
#include <catch2/catch.hpp>

#include "fitrun/layer.hpp"
#include "fitrun/testing.hpp"

using namespace fitrun;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// y = w ⊙ x² on the last axis, with a deliberately wrong backward when asked.
class ScaledSquare : public LayerOf<ScaledSquare> {
 public:
  enum class Bug { none, input, weight };
  explicit ScaledSquare(Bug bug) : LayerOf<ScaledSquare>("probe_square"), bug_(bug) {}
  std::string class_name() const override { return "ScaledSquare"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override { return s[0]; }
  void build(const std::vector<Shape>& s) override {
    w_ = add_weight("w", {s[0].dim(-1)}, initializers::RandomUniform(0.5f, 1.5f));
  }
  void forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) override {
    const int64_t d = w_->value.size();
    for (int64_t i = 0; i < y.size(); ++i) {
      const float x = in[0]->data<float>()[i];
      y.data<float>()[i] = w_->value.data<float>()[i % d] * x * x;
    }
  }
  void backward(CallContext& ctx, const std::vector<const Tensor*>& in, const Tensor&,
                const Tensor& dy, const std::vector<Tensor*>& dx) override {
    const int64_t d = w_->value.size();
    float* dw = w_->grad.data<float>();
    if (!ctx.accumulate_grads) w_->grad.fill(0);
    for (int64_t i = 0; i < dy.size(); ++i) {
      const float x = in[0]->data<float>()[i], g = dy.data<float>()[i];
      const float w = w_->value.data<float>()[i % d];
      if (dx[0]) dx[0]->data<float>()[i] = g * w * x * (bug_ == Bug::input ? 1.f : 2.f);
      dw[i % d] += g * x * x * (bug_ == Bug::weight ? 1.1f : 1.f);
    }
  }

 private:
  Bug bug_;
  VariablePtr w_;
};

}  // namespace

TEST_CASE("check_gradients passes a correct layer and names a wrong gradient",
          "[layers][gradients]") {
  const Tensor x = Tensor::uniform({4, 3}, -1.f, 1.f, 21);
  SECTION("correct") {
    ScaledSquare layer(ScaledSquare::Bug::none);
    const auto r = testing::check_gradients(layer, {x});
    INFO(r.report);
    CHECK(r.ok);
    CHECK(r.max_error < 1e-3);
    CHECK(r.report.empty());
  }
  SECTION("wrong input gradient") {
    ScaledSquare layer(ScaledSquare::Bug::input);
    const auto r = testing::check_gradients(layer, {x});
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.worst, StartsWith("input 0 ["));
    CHECK_THAT(r.report, Contains("input 0 [") && Contains("analytic") && Contains("numeric"));
    CHECK_THAT(r.report, !Contains("weight"));
  }
  SECTION("wrong weight gradient") {
    ScaledSquare layer(ScaledSquare::Bug::weight);
    const auto r = testing::check_gradients(layer, {x});
    CHECK_FALSE(r.ok);
    CHECK_THAT(r.worst, StartsWith("weight probe_square/w ["));
    CHECK_THAT(r.report, !Contains("input 0"));
  }
  SECTION("inputs are left untouched") {
    ScaledSquare layer(ScaledSquare::Bug::none);
    const Tensor copy = x.clone();
    testing::check_gradients(layer, {x});
    CHECK(x.to_vector() == copy.to_vector());
  }
}
