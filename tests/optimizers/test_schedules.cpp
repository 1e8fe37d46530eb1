// Learning-rate schedules against Keras 3's formulas written out by hand at chosen steps, their
// configs (round trips, errors with JSON paths) and their use inside optimizers.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>

#include "fitrun/error.hpp"
#include "fitrun/io/compile_config.hpp"
#include "fitrun/optimizers/optimizer.hpp"
#include "fitrun/optimizers/schedules.hpp"

using namespace fitrun;
using namespace fitrun::optimizers;
using namespace fitrun::optimizers::schedules;

namespace {
const double kPi = std::acos(-1.0);

json round_trip(const LearningRateSchedule& s) {
  return schedule_from_config(serialize(s))->get_config();
}
}  // namespace

TEST_CASE("ExponentialDecay and InverseTimeDecay equal Keras' formulas", "[optimizers][schedules]") {
  ExponentialDecay smooth(0.1, 100, 0.5);
  CHECK(smooth(0) == Approx(0.1));
  CHECK(smooth(50) == Approx(0.1 * std::pow(0.5, 0.5)));
  CHECK(smooth(250) == Approx(0.1 * std::pow(0.5, 2.5)));
  ExponentialDecay stairs(0.1, 100, 0.5, true);
  CHECK(stairs(99) == Approx(0.1));
  CHECK(stairs(100) == Approx(0.05));
  CHECK(stairs(250) == Approx(0.025));

  InverseTimeDecay inv(0.2, 10, 0.5);
  CHECK(inv(0) == Approx(0.2));
  CHECK(inv(15) == Approx(0.2 / (1 + 0.5 * 1.5)));
  InverseTimeDecay inv_stairs(0.2, 10, 0.5, true);
  CHECK(inv_stairs(15) == Approx(0.2 / 1.5));
  CHECK(inv_stairs(20) == Approx(0.2 / 2.0));
}

TEST_CASE("PiecewiseConstantDecay switches after each boundary", "[optimizers][schedules]") {
  PiecewiseConstantDecay s({100, 110}, {1.0, 0.5, 0.1});
  CHECK(s(0) == 1.0);
  CHECK(s(100) == 1.0);  // step <= boundaries[0]
  CHECK(s(101) == 0.5);
  CHECK(s(110) == 0.5);
  CHECK(s(111) == 0.1);
  CHECK_THROWS_WITH(PiecewiseConstantDecay({1, 2}, {1.0}),
                    "PiecewiseConstantDecay: the length of boundaries (2) should be 1 less than "
                    "the length of values (1)");
}

TEST_CASE("PolynomialDecay with power and cycle", "[optimizers][schedules]") {
  PolynomialDecay linear(0.1, 100);
  CHECK(linear(0) == Approx(0.1));
  CHECK(linear(50) == Approx((0.1 - 1e-4) * 0.5 + 1e-4));
  CHECK(linear(100) == Approx(1e-4));
  CHECK(linear(500) == Approx(1e-4));  // capped at decay_steps
  PolynomialDecay sq(1.0, 10, 0.0, 2.0);
  CHECK(sq(3) == Approx(0.7 * 0.7));
  PolynomialDecay cyc(1.0, 10, 0.0, 1.0, true);
  CHECK(cyc(0) == Approx(1.0));
  CHECK(cyc(10) == Approx(0.0));
  // Step 15: decay_steps becomes 20, p = 0.75.
  CHECK(cyc(15) == Approx(0.25));
}

TEST_CASE("CosineDecay at step 0 warmup end middle and end", "[optimizers][schedules]") {
  CosineDecay plain(0.1, 100, 0.1);
  auto decayed = [](double from, double step, double steps, double alpha) {
    return from * ((1 - alpha) * 0.5 * (1 + std::cos(kPi * step / steps)) + alpha);
  };
  CHECK(plain(0) == Approx(0.1));
  CHECK(plain(50) == Approx(decayed(0.1, 50, 100, 0.1)));
  CHECK(plain(100) == Approx(0.01));
  CHECK(plain(1000) == Approx(0.01));

  CosineDecay warm(0.0, 100, 0.0, 1.0, 10);
  CHECK(warm(0) == Approx(0.0));
  CHECK(warm(5) == Approx(0.5));           // linear warmup from 0 to 1
  CHECK(warm(10) == Approx(1.0));          // warmup end = decay start
  CHECK(warm(60) == Approx(decayed(1.0, 50, 100, 0.0)));
  CHECK(warm(110) == Approx(0.0).margin(1e-12));
  CHECK(warm(5000) == Approx(0.0).margin(1e-12));
}

TEST_CASE("CosineDecayRestarts periods grow by t_mul and restart at m_mul", "[optimizers][schedules]") {
  CosineDecayRestarts s(1.0, 10, 2.0, 0.5, 0.1);
  auto cosine = [](double frac, double m, double alpha) {
    return (1 - alpha) * 0.5 * m * (1 + std::cos(kPi * frac)) + alpha;
  };
  CHECK(s(0) == Approx(1.0));
  CHECK(s(5) == Approx(cosine(0.5, 1.0, 0.1)));
  CHECK(s(10) == Approx(cosine(0.0, 0.5, 0.1)));  // restart 1 at half height
  CHECK(s(20) == Approx(cosine(0.5, 0.5, 0.1)));  // period 1 lasts 20 steps
  CHECK(s(30) == Approx(cosine(0.0, 0.25, 0.1)));
  CosineDecayRestarts even(1.0, 10, 1.0);
  CHECK(even(15) == Approx(cosine(0.5, 1.0, 0.0)));
}

TEST_CASE("schedules round-trip through Keras configs", "[optimizers][schedules][io]") {
  CHECK(round_trip(ExponentialDecay(0.1, 1000, 0.96, true)) ==
        json{{"initial_learning_rate", 0.1}, {"decay_steps", 1000}, {"decay_rate", 0.96},
             {"staircase", true}, {"name", "ExponentialDecay"}});
  CHECK(round_trip(CosineDecay(0.0, 1000, 0.0, 0.1, 100)) ==
        CosineDecay(0.0, 1000, 0.0, 0.1, 100).get_config());
  CHECK(round_trip(PiecewiseConstantDecay({10, 20}, {1.0, 0.5, 0.1})) ==
        PiecewiseConstantDecay({10, 20}, {1.0, 0.5, 0.1}).get_config());
  CHECK(round_trip(PolynomialDecay(0.1, 10, 0.01, 0.5, true)) ==
        PolynomialDecay(0.1, 10, 0.01, 0.5, true).get_config());
  CHECK(round_trip(InverseTimeDecay(0.1, 1, 0.5)) == InverseTimeDecay(0.1, 1, 0.5).get_config());
  CHECK(round_trip(CosineDecayRestarts(0.1, 10)) == CosineDecayRestarts(0.1, 10).get_config());
  CHECK(serialize(CosineDecay(0.1, 10))["module"] == "keras.optimizers.schedules");
}

TEST_CASE("bad schedule configs name the JSON path", "[optimizers][schedules][io]") {
  CHECK_THROWS_WITH(schedule_from_config(json{{"class_name", "Cosine"}, {"config", json::object()}},
                                         "/optimizer/config/learning_rate"),
                    Catch::StartsWith("/optimizer/config/learning_rate/class_name: unknown "
                                      "learning-rate schedule \"Cosine\"; known: CosineDecay"));
  CHECK_THROWS_WITH(
      schedule_from_config(json{{"class_name", "CosineDecay"},
                                {"config", {{"initial_learning_rate", 0.1}}}}),
      "/config/decay_steps: required but missing");
  CHECK_THROWS_WITH(
      schedule_from_config(json{{"class_name", "ExponentialDecay"},
                                {"config", {{"initial_learning_rate", 0.1}, {"decay_steps", 0},
                                            {"decay_rate", 0.5}}}}),
      "/config: ExponentialDecay: decay_steps must be > 0, got 0.000000");
  CHECK_THROWS_WITH(
      schedule_from_config(json{{"class_name", "ExponentialDecay"},
                                {"config", {{"initial_learning_rate", 0.1}, {"decay_steps", 5},
                                            {"decay_rate", 0.5}, {"stair", true}}}}),
      Catch::StartsWith("/config/stair: unknown key"));
}

TEST_CASE("an optimizer evaluates its schedule at its iterations", "[optimizers][schedules]") {
  SGD opt({.learning_rate = PiecewiseConstantDecay({1}, {0.5, 0.25})});
  auto v = std::make_shared<Variable>();
  v->path = "w";
  v->value = Tensor::from_vector(std::vector<float>{1.f}, Shape{1});
  v->grad = Tensor::from_vector(std::vector<float>{1.f}, Shape{1});
  CHECK(opt.learning_rate() == 0.5);
  opt.apply({v});  // step 0: lr 0.5
  CHECK(v->value.flat(0) == Approx(0.5));
  opt.apply({v});  // step 1: lr 0.5 (step <= 1)
  CHECK(v->value.flat(0) == Approx(0.0));
  CHECK(opt.learning_rate() == 0.25);
  opt.apply({v});
  CHECK(v->value.flat(0) == Approx(-0.25));
  CHECK_THROWS_WITH(opt.set_learning_rate(0.1),
                    "SGD: this optimizer was created with a learning-rate schedule "
                    "(PiecewiseConstantDecay) as its learning_rate, hence its learning rate is "
                    "not settable; create it with a number learning_rate instead");
  CHECK(opt.get_config()["learning_rate"]["class_name"] == "PiecewiseConstantDecay");
}

TEST_CASE("optimizer configs carry schedules and base options both ways", "[optimizers][schedules][io]") {
  AdamOptions o;
  o.learning_rate = CosineDecay(0.01, 100, 0.0, 0.1, 10);
  o.clipnorm = 1.5;
  o.use_ema = true;
  o.ema_momentum = 0.9;
  o.ema_overwrite_frequency = 5;
  o.loss_scale_factor = 128.0;
  o.gradient_accumulation_steps = 4;
  Adam adam(o);
  const json serialized = optimizers::serialize(adam);
  auto back = optimizers::deserialize(serialized);
  CHECK(back->get_config() == adam.get_config());
  CHECK(back->learning_rate_schedule() != nullptr);
  CHECK(back->learning_rate() == Approx(0.01));
  CHECK(back->base_options().gradient_accumulation_steps == 4);
  CHECK(back->loss_scale() == 128.0);

  json bad = serialized;
  bad["config"]["gradient_accumulation_steps"] = 1;
  CHECK_THROWS_WITH(optimizers::deserialize(bad, "/optimizer"),
                    "/optimizer/config/gradient_accumulation_steps: expected an integer in [2, "
                    "9007199254740992], got 1");
}
