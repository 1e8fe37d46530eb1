// Layer regularizers, activity regularizers and constraints inside a model, and fit()'s
// class_weight / sample_weight: each against the loss and update Keras defines, computed by
// hand from the weights before the step.
#include <catch2/catch.hpp>

#include <cmath>

#include "fitrun/fitrun.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using Catch::Matchers::Contains;

namespace {

const Tensor x8 = Tensor::normal({8, 3}, 0.f, 1.f, 11);
const Tensor y8 = Tensor::normal({8, 2}, 0.f, 1.f, 12);

/// Input(3) -> Dense(2) with the given options, plain SGD (lr 0.1) on MSE; same seed, so two
/// models built by this start from identical weights.
Sequential dense_model(DenseOptions o) {
  set_seed(5);
  o.bias_initializer = "ones";
  Sequential m({Input({3}), Dense(2, "", o)});
  m.compile(optimizers::SGD({.learning_rate = 0.1}), "mse");
  return m;
}

std::vector<float> values(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.size());
}

double loss_on(Sequential& m) { return m.evaluate({x8}, {y8}, {.batch_size = 8, .verbose = 0}).at("loss"); }

}  // namespace

TEST_CASE("weight regularizers add Keras' penalty to the loss and its gradient to the update",
          "[model][regularizers]") {
  Sequential plain = dense_model({});
  Sequential reg = dense_model({.kernel_regularizer = regularizers::L2(0.05),
                                .bias_regularizer = regularizers::L1(0.1)});
  auto kp = std::dynamic_pointer_cast<Dense>(plain.layers().back());
  auto kr = std::dynamic_pointer_cast<Dense>(reg.layers().back());
  const std::vector<float> k0 = values(kr->kernel()->value);
  REQUIRE(k0 == values(kp->kernel()->value));

  // Penalty: 0.05 * sum(k^2) + 0.1 * sum(|b|), no 1/2 (Keras 3's regularizers.py).
  double penalty = 0.1 * 2;  // two biases of 1
  for (float k : k0) penalty += 0.05 * double(k) * k;
  CHECK(loss_on(reg) - loss_on(plain) == Approx(penalty).epsilon(1e-5));

  plain.train_on_batch({x8}, {y8});
  reg.train_on_batch({x8}, {y8});
  // The regularized step moves each weight further by lr * d(penalty)/dw.
  const auto kp1 = values(kp->kernel()->value), kr1 = values(kr->kernel()->value);
  for (size_t i = 0; i < k0.size(); ++i)
    CHECK(kr1[i] - kp1[i] == Approx(-0.1 * 2 * 0.05 * k0[i]).margin(1e-6));
  const auto bp1 = values(kp->bias()->value), br1 = values(kr->bias()->value);
  for (size_t i = 0; i < bp1.size(); ++i) CHECK(br1[i] - bp1[i] == Approx(-0.1 * 0.1).margin(1e-6));
}

TEST_CASE("an activity regularizer penalizes the layer's output", "[model][regularizers]") {
  Sequential plain = dense_model({});
  Sequential reg = dense_model({.activity_regularizer = regularizers::L1(0.01)});
  const Tensor out = plain.predict({x8}, {.batch_size = 8})[0];
  double penalty = 0;
  for (float v : values(out)) penalty += 0.01 * std::fabs(v);  // Keras 3: not / batch size
  CHECK(loss_on(reg) - loss_on(plain) == Approx(penalty).epsilon(1e-5));

  auto kp = std::dynamic_pointer_cast<Dense>(plain.layers().back());
  auto kr = std::dynamic_pointer_cast<Dense>(reg.layers().back());
  plain.train_on_batch({x8}, {y8});
  reg.train_on_batch({x8}, {y8});
  // d(penalty)/dkernel[i][j] = 0.01 * sum_n x[n][i] * sign(out[n][j]).
  const auto kp1 = values(kp->kernel()->value), kr1 = values(kr->kernel()->value);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 2; ++j) {
      double g = 0;
      for (int n = 0; n < 8; ++n)
        g += 0.01 * x8.data<float>()[n * 3 + i] * (out.data<float>()[n * 2 + j] > 0 ? 1 : -1);
      CHECK(kr1[i * 2 + j] - kp1[i * 2 + j] == Approx(-0.1 * g).margin(1e-6));
    }
}

TEST_CASE("layer constraints hold after every update", "[model][constraints]") {
  set_seed(3);
  Sequential m({Input({3}),
                Dense(4, "relu", {.kernel_constraint = constraints::NonNeg()}),
                Dense(2, "", {.kernel_constraint = constraints::MaxNorm(0.5)})});
  m.compile(optimizers::SGD({.learning_rate = 0.5}), "mse");
  for (int step = 0; step < 5; ++step) {
    m.train_on_batch({x8}, {y8});
    auto d0 = std::dynamic_pointer_cast<Dense>(m.layers()[0]);
    for (float k : values(d0->kernel()->value)) REQUIRE(k >= 0.f);
    auto d1 = std::dynamic_pointer_cast<Dense>(m.layers()[1]);
    const auto k = values(d1->kernel()->value);  // (4, 2): one norm per output column
    for (int j = 0; j < 2; ++j) {
      double sq = 0;
      for (int i = 0; i < 4; ++i) sq += double(k[i * 2 + j]) * k[i * 2 + j];
      REQUIRE(std::sqrt(sq) <= 0.5 + 1e-5);
    }
  }
}

TEST_CASE("regularizers and constraints round-trip through Keras configs", "[model][regularizers][io]") {
  set_seed(1);
  Sequential m({Input({3}),
                Dense(4, "relu", {.kernel_regularizer = regularizers::L1L2(0.01, 0.02),
                                  .activity_regularizer = regularizers::L2(0.001),
                                  .kernel_constraint = constraints::MaxNorm(3.0)}),
                Dense(2)});
  const std::string text = m.to_json();
  const json j = json::parse(text);
  const json& dense = j["config"]["layers"][1]["config"];
  CHECK(dense["kernel_regularizer"]["class_name"] == "L1L2");
  CHECK(dense["kernel_regularizer"]["module"] == "keras.regularizers");
  CHECK(dense["kernel_regularizer"]["config"]["l2"].get<double>() == Approx(0.02));
  CHECK(dense["activity_regularizer"]["class_name"] == "L2");
  CHECK(dense["kernel_constraint"]["class_name"] == "MaxNorm");
  CHECK(dense["bias_regularizer"].is_null());
  auto back = model_from_json(text);
  CHECK(json::parse(back->to_json()) == j);

  // tf.keras 2.x writes {"class_name", "config"} without a module; names work too.
  json k2 = j;
  k2["config"]["layers"][1]["config"]["kernel_regularizer"] = {
      {"class_name", "L1L2"}, {"config", {{"l1", 0.0}, {"l2", 0.01}}}};
  k2["config"]["layers"][1]["config"]["bias_regularizer"] = "l2";
  k2["config"]["layers"][1]["config"]["bias_constraint"] = "non_neg";
  auto loaded = model_from_json(k2.dump());
  auto d = std::dynamic_pointer_cast<Dense>(loaded->layers()[0]);
  REQUIRE(d);
  CHECK(d->kernel()->regularizer->l2() == Approx(0.01));
  CHECK(d->bias()->regularizer->l2() == Approx(0.01));  // Keras' default for "l2"
  CHECK(d->bias()->constraint->class_name() == "NonNeg");

  json bad = j;
  bad["config"]["layers"][1]["config"]["kernel_regularizer"] = {{"class_name", "L3"},
                                                                {"config", json::object()}};
  CHECK_THROWS_WITH(model_from_json(bad.dump()), Contains("kernel_regularizer") && Contains("L3"));
}

TEST_CASE("class_weight weighs each sample's loss by its class, like sample_weight",
          "[model][training][weights]") {
  auto make = [] {
    set_seed(9);
    auto m = std::make_shared<Sequential>(
        std::initializer_list<SequentialItem>{Input({3}), Dense(3)});
    m->compile(optimizers::SGD({.learning_rate = 0.1}),
               losses::SparseCategoricalCrossentropy({.from_logits = true}));
    return m;
  };
  const Tensor labels = Tensor::from_vector({0.f, 1.f, 2.f, 1.f, 0.f, 2.f, 2.f, 1.f}, {8});
  auto by_class = make();
  auto by_sample = make();
  auto unweighted = make();
  FitOptions o{.batch_size = 8, .epochs = 1, .verbose = 0, .shuffle = false};
  FitOptions oc = o;
  oc.class_weight = {{0, 2.f}, {2, 0.5f}};  // class 1 absent: weight 1
  FitOptions os = o;
  os.sample_weight = Tensor::from_vector({2.f, 1.f, .5f, 1.f, 2.f, .5f, .5f, 1.f}, {8});
  const double lc = by_class->fit({x8}, {labels}, oc).history.at("loss")[0];
  const double ls = by_sample->fit({x8}, {labels}, os).history.at("loss")[0];
  CHECK(lc == ls);
  auto kc = std::dynamic_pointer_cast<Dense>(by_class->layers().back())->kernel()->value;
  auto ks = std::dynamic_pointer_cast<Dense>(by_sample->layers().back())->kernel()->value;
  CHECK(values(kc) == values(ks));

  // Keras' weighted mean divides by the batch size, not by the sum of the weights: all
  // weights 2 double the loss.
  FitOptions o2 = o;
  o2.sample_weight = Tensor::full({8}, 2.0);
  auto doubled = make();
  const double l1 = unweighted->fit({x8}, {labels}, o).history.at("loss")[0];
  const double l2 = doubled->fit({x8}, {labels}, o2).history.at("loss")[0];
  CHECK(l2 == Approx(2 * l1).epsilon(1e-6));

  FitOptions both = oc;
  both.sample_weight = os.sample_weight;
  CHECK_THROWS_WITH(make()->fit({x8}, {labels}, both),
                    "fit: class_weight and sample_weight cannot be used at the same time");
  FitOptions short_w = o;
  short_w.sample_weight = Tensor::full({5}, 1.0);
  CHECK_THROWS_WITH(make()->fit({x8}, {labels}, short_w),
                    Contains("needs one weight per sample (8)"));
}

TEST_CASE("bad regularizer and constraint configs name the JSON path", "[regularizers][constraints][io]") {
  CHECK_THROWS_WITH(regularizers::regularizer_from_config("l3", "/layer/kernel_regularizer"),
                    "/layer/kernel_regularizer: unknown regularizer \"l3\"; known regularizers: "
                    "l1, l1_l2, l2");
  CHECK_THROWS_WITH(
      regularizers::regularizer_from_config({{"class_name", "L2"}, {"config", {{"l2", -1}}}}, "/r"),
      "/r/config/l2: expected a number in [0.0, 1e+30], got -1");
  CHECK_THROWS_WITH(
      constraints::constraint_from_config({{"class_name", "MaxNorm"}, {"config", {{"max_valu", 2}}}},
                                          "/c"),
      "/c/config/max_valu: unknown key for MaxNorm; did you mean \"max_value\"?");
  CHECK_THROWS_WITH(constraints::constraint_from_config({{"class_name", "Clip"}}, "/c"),
                    "/c/class_name: unknown constraint \"Clip\"; known constraints: max_norm, "
                    "min_max_norm, non_neg, unit_norm");
  CHECK_THROWS_WITH(
      constraints::constraint_from_config({{"class_name", "MaxNorm"}, {"config", {{"axis", "x"}}}},
                                          "/c"),
      "/c/config/axis: expected an integer or a list of integers, got \"x\"");
}

TEST_CASE("the regularizer ops: Σ|w| and the L1/L2 gradient term, exactly", "[regularizers]") {
  Tensor w = Tensor::from_vector(std::vector<float>{-2.f, 0.f, 0.5f, 3.f}, {4});
  CHECK(ops::sum_abs(w) == 5.5);
  CHECK(regularizers::L1L2(0.1, 0.01).penalty(w) == Approx(0.1 * 5.5 + 0.01 * 13.25));
  Tensor g = Tensor::from_vector(std::vector<float>{1.f, 1.f, 1.f, 1.f}, {4});
  ops::add_regularizer_gradient(w, g, 0.5f, 2.f);  // g += 0.5 sign(w) + 2 w
  CHECK(g.to_vector() == std::vector<float>{1.f - 0.5f - 4.f, 1.f, 1.f + 0.5f + 1.f, 1.f + 0.5f + 6.f});
  Tensor wrong({3});
  CHECK_THROWS_WITH(ops::add_regularizer_gradient(w, wrong, 1.f, 1.f),
                    "add_regularizer_gradient: weight (4,) and gradient (3,) differ in size");
}
