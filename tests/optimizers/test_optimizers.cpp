// Optimizers against hand-written references of Keras 3's update rules, computed in double.
// Each reference is written from keras/src/optimizers/*.py independently of optimizers/*.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fitrun/error.hpp"
#include "fitrun/optimizers/optimizer.hpp"

using namespace fitrun;
using namespace fitrun::optimizers;

namespace {

using Vec = std::vector<double>;
// A reference update: (weights, gradient, step t starting at 1), keeping its own slots.
using Reference = std::function<void(Vec& w, const Vec& g, int t)>;

const Vec kW0 = {0.5, -1.25, 2.0, 0.1};
// Element 0 sees a large gradient then small ones, so that v falls and AMSGrad's max matters.
const std::vector<Vec> kGrads = {
    {10.0, -0.3, 0.7, -2.0}, {0.1, 0.4, -0.5, 1.5}, {0.05, -0.2, 0.9, -0.01}};

VariablePtr make_variable(const Vec& w, const std::string& path = "dense/kernel") {
  auto v = std::make_shared<Variable>();
  v->name = "kernel";
  v->path = path;
  v->value = Tensor::from_vector(std::vector<float>(w.begin(), w.end()), Shape{2, 2});
  v->grad = Tensor::zeros(Shape{2, 2});
  return v;
}

void set_grad(Variable& v, const Vec& g) {
  float* p = v.grad.data<float>();
  for (size_t i = 0; i < g.size(); ++i) p[i] = static_cast<float>(g[i]);
}

// Three steps of `opt` and of `reference` (with Keras' decoupled weight decay applied first)
// from the same start; returns the optimizer's final weights.
std::vector<float> check_three_steps(Optimizer& opt, double weight_decay, Reference reference) {
  auto var = make_variable(kW0);
  Vec w = kW0;
  const double lr = opt.learning_rate();
  for (int step = 0; step < 3; ++step) {
    set_grad(*var, kGrads[step]);
    opt.apply({var});
    for (double& x : w) x -= x * weight_decay * lr;
    reference(w, kGrads[step], step + 1);
    INFO(opt.class_name() << " step " << step + 1);
    CHECK(opt.iterations() == step + 1);
    for (size_t i = 0; i < w.size(); ++i)
      CHECK(var->value.flat(static_cast<int64_t>(i)) == Approx(w[i]).epsilon(2e-5).margin(1e-6));
  }
  return var->value.to_vector();
}

Reference sgd_reference(double lr, double momentum, bool nesterov) {
  Vec velocity(kW0.size(), 0.0);
  return [=](Vec& w, const Vec& g, int) mutable {
    for (size_t i = 0; i < w.size(); ++i) {
      if (momentum == 0.0) {
        w[i] -= lr * g[i];
        continue;
      }
      velocity[i] = momentum * velocity[i] - lr * g[i];
      w[i] += nesterov ? momentum * velocity[i] - lr * g[i] : velocity[i];
    }
  };
}

Reference adam_reference(double lr, double b1, double b2, double eps, bool amsgrad) {
  Vec m(kW0.size(), 0.0), v(kW0.size(), 0.0), v_max(kW0.size(), 0.0);
  return [=](Vec& w, const Vec& g, int t) mutable {
    const double step_size = lr * std::sqrt(1.0 - std::pow(b2, t)) / (1.0 - std::pow(b1, t));
    for (size_t i = 0; i < w.size(); ++i) {
      m[i] = b1 * m[i] + (1.0 - b1) * g[i];
      v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
      v_max[i] = std::max(v_max[i], v[i]);
      const double denom = std::sqrt(amsgrad ? v_max[i] : v[i]) + eps;  // eps outside sqrt
      w[i] -= step_size * m[i] / denom;
    }
  };
}

Reference rmsprop_reference(double lr, double rho, double momentum, double eps, bool centered) {
  Vec ms(kW0.size(), 0.0), mg(kW0.size(), 0.0), buf(kW0.size(), 0.0);
  return [=](Vec& w, const Vec& g, int) mutable {
    for (size_t i = 0; i < w.size(); ++i) {
      ms[i] = rho * ms[i] + (1.0 - rho) * g[i] * g[i];
      mg[i] = rho * mg[i] + (1.0 - rho) * g[i];
      const double variance = centered ? ms[i] - mg[i] * mg[i] : ms[i];
      const double increment = lr * g[i] / std::sqrt(variance + eps);  // eps inside sqrt
      if (momentum > 0.0) {
        buf[i] = momentum * buf[i] + increment;
        w[i] -= buf[i];
      } else {
        w[i] -= increment;
      }
    }
  };
}

Reference adagrad_reference(double lr, double initial, double eps) {
  Vec acc(kW0.size(), initial);
  return [=](Vec& w, const Vec& g, int) mutable {
    for (size_t i = 0; i < w.size(); ++i) {
      acc[i] += g[i] * g[i];
      w[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
    }
  };
}

}  // namespace

TEST_CASE("SGD follows Keras' update rule for three steps", "[optimizers]") {
  SECTION("plain, default learning rate") {
    SGD opt;
    check_three_steps(opt, 0.0, sgd_reference(0.01, 0.0, false));
    CHECK(opt.slots()[0].empty());
  }
  SECTION("momentum") {
    SGD opt({.learning_rate = 0.1, .momentum = 0.9});
    auto plain = check_three_steps(opt, 0.0, sgd_reference(0.1, 0.9, false));
    SGD nesterov({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
    auto ahead = check_three_steps(nesterov, 0.0, sgd_reference(0.1, 0.9, true));
    CHECK(plain != ahead);
  }
  SECTION("weight decay, with and without momentum") {
    SGD opt({.learning_rate = 0.05, .weight_decay = 0.1});
    check_three_steps(opt, 0.1, sgd_reference(0.05, 0.0, false));
    SGD with_momentum({.learning_rate = 0.05, .momentum = 0.5, .weight_decay = 0.1});
    check_three_steps(with_momentum, 0.1, sgd_reference(0.05, 0.5, false));
  }
}

TEST_CASE("Adam follows Keras' update rule for three steps", "[optimizers]") {
  SECTION("defaults") {
    Adam opt;
    check_three_steps(opt, 0.0, adam_reference(0.001, 0.9, 0.999, 1e-7, false));
  }
  SECTION("non-default betas and epsilon") {
    Adam opt({.learning_rate = 0.01, .beta_1 = 0.8, .beta_2 = 0.99, .epsilon = 1e-3});
    check_three_steps(opt, 0.0, adam_reference(0.01, 0.8, 0.99, 1e-3, false));
  }
  SECTION("amsgrad") {
    Adam opt({.learning_rate = 0.1, .amsgrad = true});
    auto ams = check_three_steps(opt, 0.0, adam_reference(0.1, 0.9, 0.999, 1e-7, true));
    Adam plain({.learning_rate = 0.1});
    CHECK(ams != check_three_steps(plain, 0.0, adam_reference(0.1, 0.9, 0.999, 1e-7, false)));
  }
  SECTION("weight decay") {
    Adam opt({.learning_rate = 0.01, .weight_decay = 0.05});
    check_three_steps(opt, 0.05, adam_reference(0.01, 0.9, 0.999, 1e-7, false));
  }
}

TEST_CASE("AdamW is Adam with decoupled weight decay", "[optimizers]") {
  SECTION("defaults (weight_decay 0.004)") {
    AdamW opt;
    check_three_steps(opt, 0.004, adam_reference(0.001, 0.9, 0.999, 1e-7, false));
  }
  SECTION("options") {
    AdamW opt({.learning_rate = 0.1, .weight_decay = 0.1, .beta_1 = 0.8, .amsgrad = true});
    check_three_steps(opt, 0.1, adam_reference(0.1, 0.8, 0.999, 1e-7, true));
  }
}

TEST_CASE("RMSprop follows Keras' update rule for three steps", "[optimizers]") {
  SECTION("defaults") {
    RMSprop opt;
    check_three_steps(opt, 0.0, rmsprop_reference(0.001, 0.9, 0.0, 1e-7, false));
  }
  SECTION("rho and epsilon") {
    RMSprop opt({.learning_rate = 0.01, .rho = 0.8, .epsilon = 1e-3});
    check_three_steps(opt, 0.0, rmsprop_reference(0.01, 0.8, 0.0, 1e-3, false));
  }
  SECTION("momentum") {
    RMSprop opt({.learning_rate = 0.01, .momentum = 0.9});
    check_three_steps(opt, 0.0, rmsprop_reference(0.01, 0.9, 0.9, 1e-7, false));
  }
  SECTION("centered") {
    RMSprop opt({.learning_rate = 0.01, .centered = true});
    check_three_steps(opt, 0.0, rmsprop_reference(0.01, 0.9, 0.0, 1e-7, true));
  }
  SECTION("centered with momentum, rho and epsilon") {
    RMSprop opt(
        {.learning_rate = 0.01, .rho = 0.8, .momentum = 0.5, .epsilon = 1e-2, .centered = true});
    check_three_steps(opt, 0.0, rmsprop_reference(0.01, 0.8, 0.5, 1e-2, true));
  }
  SECTION("weight decay") {
    RMSprop opt({.learning_rate = 0.01, .weight_decay = 0.2});
    check_three_steps(opt, 0.2, rmsprop_reference(0.01, 0.9, 0.0, 1e-7, false));
  }
}

TEST_CASE("Adagrad follows Keras' update rule for three steps", "[optimizers]") {
  SECTION("defaults") {
    Adagrad opt;
    check_three_steps(opt, 0.0, adagrad_reference(0.001, 0.1, 1e-7));
  }
  SECTION("initial accumulator and epsilon") {
    Adagrad opt({.learning_rate = 0.1, .initial_accumulator_value = 0.5, .epsilon = 1e-3});
    check_three_steps(opt, 0.0, adagrad_reference(0.1, 0.5, 1e-3));
  }
  SECTION("weight decay") {
    Adagrad opt({.learning_rate = 0.1, .weight_decay = 0.3});
    check_three_steps(opt, 0.3, adagrad_reference(0.1, 0.1, 1e-7));
  }
}

TEST_CASE("Slots follow Keras' order and initial values", "[optimizers]") {
  auto var = make_variable(kW0);
  auto slot_count = [&](Optimizer& opt) {
    opt.apply({var});
    REQUIRE(opt.slots().size() == 1);
    CHECK(opt.slots()[0].size() == opt.slot_names().size());
    for (const Tensor& s : opt.slots()[0]) CHECK(s.shape() == var->value.shape());
    return opt.slots()[0].size();
  };
  SGD sgd;
  SGD sgd_momentum({.momentum = 0.9});
  Adam adam;
  Adam ams({.amsgrad = true});
  RMSprop rms;
  RMSprop rms_all({.momentum = 0.9, .centered = true});
  Adagrad adagrad;
  CHECK(slot_count(sgd) == 0);
  CHECK(slot_count(sgd_momentum) == 1);
  CHECK(slot_count(adam) == 2);
  CHECK(slot_count(ams) == 3);
  CHECK(slot_count(rms) == 1);
  CHECK(slot_count(rms_all) == 3);
  CHECK(slot_count(adagrad) == 1);
  CHECK(sgd_momentum.slot_names() == std::vector<std::string>{"momentum"});
  CHECK(ams.slot_names() == std::vector<std::string>{"momentum", "velocity", "velocity_hat"});
  CHECK(rms_all.slot_names() ==
        std::vector<std::string>{"velocity", "momentum", "average_gradient"});
  CHECK(adagrad.slot_names() == std::vector<std::string>{"accumulator"});

  Adagrad fresh({.initial_accumulator_value = 0.25});
  fresh.build({var});
  for (float x : fresh.slots()[0][0].to_vector()) CHECK(x == 0.25f);
}

TEST_CASE("apply skips frozen variables and those without a gradient", "[optimizers]") {
  auto trained = make_variable(kW0, "a/kernel");
  auto frozen = make_variable(kW0, "b/kernel");
  frozen->trainable = false;
  auto no_grad = make_variable(kW0, "c/kernel");
  no_grad->grad = Tensor();
  for (auto* v : {trained.get(), frozen.get()}) set_grad(*v, kGrads[0]);

  Adam opt({.learning_rate = 0.1, .weight_decay = 0.5});
  opt.apply({trained, frozen, no_grad});
  CHECK(opt.iterations() == 1);
  CHECK(trained->value.to_vector() != std::vector<float>(kW0.begin(), kW0.end()));
  CHECK(frozen->value.to_vector() == std::vector<float>(kW0.begin(), kW0.end()));
  CHECK(no_grad->value.to_vector() == std::vector<float>(kW0.begin(), kW0.end()));
  CHECK(opt.slots()[1].empty());      // Keras makes no slots for non-trainable variables
  CHECK(opt.slots()[2].size() == 2);  // a trainable variable has slots even without a grad
}

TEST_CASE("apply allocates nothing after the first step", "[optimizers]") {
  auto a = make_variable(kW0, "a/kernel");
  auto b = make_variable(kW0, "b/kernel");
  set_grad(*a, kGrads[0]);
  set_grad(*b, kGrads[1]);
  RMSprop opt({.momentum = 0.9, .centered = true, .weight_decay = 0.01});
  opt.apply({a, b});
  const int64_t before = debug::storage_allocations();
  for (int i = 0; i < 5; ++i) opt.apply({a, b});
  CHECK(debug::storage_allocations() == before);

  // A different variable list rebuilds the slots.
  auto c = make_variable(kW0, "c/kernel");
  opt.apply({a, b, c});
  CHECK(opt.slots().size() == 3);
}

TEST_CASE("apply names the variable whose gradient has the wrong shape", "[optimizers]") {
  auto v = make_variable(kW0, "dense_1/bias");
  v->grad = Tensor::zeros(Shape{3});
  SGD opt;
  CHECK_THROWS_AS(opt.apply({v}), ShapeError);
  CHECK_THROWS_WITH(opt.apply({v}), Catch::Contains("dense_1/bias"));
}

TEST_CASE("Adam minimizes a quadratic", "[optimizers]") {
  // f(w) = sum (w - c)^2, gradient 2 (w - c).
  const Vec target = {3.0, -2.0, 0.5, 1.0};
  auto var = make_variable({0.0, 0.0, 0.0, 0.0});
  Adam opt({.learning_rate = 0.05});
  for (int step = 0; step < 1000; ++step) {
    Vec g(target.size());
    for (size_t i = 0; i < g.size(); ++i)
      g[i] = 2.0 * (var->value.flat(static_cast<int64_t>(i)) - target[i]);
    set_grad(*var, g);
    opt.apply({var});
  }
  for (size_t i = 0; i < target.size(); ++i)
    CHECK(var->value.flat(static_cast<int64_t>(i)) == Approx(target[i]).margin(1e-3));
  CHECK(opt.iterations() == 1000);
}

TEST_CASE("Optimizer::get resolves Keras names", "[optimizers]") {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"sgd", "SGD"},         {"SGD", "SGD"},         {"adam", "Adam"},
      {"Adam", "Adam"},       {"adamw", "AdamW"},     {"AdamW", "AdamW"},
      {"rmsprop", "RMSprop"}, {"RMSprop", "RMSprop"}, {"adagrad", "Adagrad"},
      {"Adagrad", "Adagrad"}};
  for (const auto& [name, class_name] : names) {
    INFO(name);
    auto opt = Optimizer::get(name);
    REQUIRE(opt);
    CHECK(opt->class_name() == class_name);
  }
  CHECK(Optimizer::get("adam")->learning_rate() == 0.001);
  CHECK(Optimizer::get("sgd")->learning_rate() == 0.01);
  CHECK(Optimizer::get("adamw")->weight_decay() == 0.004);

  OptimizerRef by_name = "rmsprop";
  CHECK(by_name->class_name() == "RMSprop");
  OptimizerRef by_value = SGD({.momentum = 0.9});
  CHECK(by_value->get_config()["momentum"] == 0.9);
}

TEST_CASE("Optimizer::get lists the known names for an unknown one", "[optimizers]") {
  CHECK_THROWS_AS(Optimizer::get("adamax"), ConfigError);
  CHECK_THROWS_WITH(Optimizer::get("adamax"),
                    "unknown optimizer \"adamax\"; known optimizers: adagrad, adam, adamw, "
                    "rmsprop, sgd");
  CHECK_THROWS_AS(Optimizer::get("ADAM"), ConfigError);  // Keras is case-sensitive here too
}

TEST_CASE("Invalid options are ConfigErrors", "[optimizers]") {
  CHECK_THROWS_AS(SGD({.momentum = 1.5}), ConfigError);
  CHECK_THROWS_AS(SGD({.momentum = -0.1}), ConfigError);
  CHECK_THROWS_AS(Adagrad({.initial_accumulator_value = -1.0}), ConfigError);
}

TEST_CASE("get_config has Keras' keys and values", "[optimizers]") {
  const std::vector<std::string> base = {
      "name",    "learning_rate", "weight_decay", "clipnorm",
      "global_clipnorm", "clipvalue", "use_ema", "ema_momentum",
      "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps"};
  auto check_keys = [&](const Optimizer& opt, std::vector<std::string> own) {
    json c = opt.get_config();
    own.insert(own.end(), base.begin(), base.end());
    INFO(c.dump());
    CHECK(c.size() == own.size());
    for (const auto& key : own) CHECK(c.contains(key));
    return c;
  };

  json sgd = check_keys(SGD({.learning_rate = 0.1, .momentum = 0.9, .nesterov = true}),
                        {"momentum", "nesterov"});
  CHECK(sgd["name"] == "SGD");
  CHECK(sgd["learning_rate"] == 0.1);
  CHECK(sgd["nesterov"] == true);
  CHECK(sgd["weight_decay"].is_null());

  json adam = check_keys(Adam({.amsgrad = true, .weight_decay = 0.01}),
                         {"beta_1", "beta_2", "epsilon", "amsgrad"});
  CHECK(adam["name"] == "adam");
  CHECK(adam["beta_2"] == 0.999);
  CHECK(adam["epsilon"] == 1e-7);
  CHECK(adam["amsgrad"] == true);
  CHECK(adam["weight_decay"] == 0.01);

  json adamw = check_keys(AdamW(), {"beta_1", "beta_2", "epsilon", "amsgrad"});
  CHECK(adamw["name"] == "adamw");
  CHECK(adamw["weight_decay"] == 0.004);

  json rms = check_keys(RMSprop({.centered = true}), {"rho", "momentum", "epsilon", "centered"});
  CHECK(rms["name"] == "rmsprop");
  CHECK(rms["rho"] == 0.9);
  CHECK(rms["centered"] == true);

  json adagrad = check_keys(Adagrad(), {"initial_accumulator_value", "epsilon"});
  CHECK(adagrad["name"] == "adagrad");
  CHECK(adagrad["initial_accumulator_value"] == 0.1);
}
