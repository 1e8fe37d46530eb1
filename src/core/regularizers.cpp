// Regularizers as keras/src/regularizers/regularizers.py computes them.
#include "fitrun/regularizers.hpp"

#include <cmath>

#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "io/config_reader.hpp"
#include "io/keras_json.hpp"
#include "io/keras_object_registry.hpp"

namespace fitrun::regularizers {

namespace {
void check_factor(const char* cls, const char* arg, double v) {
  if (!(v >= 0) || !std::isfinite(v))
    throw ConfigError(std::string(cls) + ": " + arg + " must be a non-negative number, got " +
                      std::to_string(v));
}
}  // namespace

// Through ops, so a weight on a GPU is penalized there (two deterministic reductions read
// back; the gradient is one kernel).
double Regularizer::penalty(const Tensor& w) const {
  double total = 0;
  if (l1_ != 0) total += l1_ * ops::sum_abs(w);
  if (l2_ != 0) total += l2_ * ops::sum_squares(w);
  return total;
}

void Regularizer::add_gradient(const Tensor& w, Tensor& grad, float scale) const {
  ops::add_regularizer_gradient(w, grad, static_cast<float>(l1_) * scale,
                                2.f * static_cast<float>(l2_) * scale);
}

L1::L1(double l1) : Regularizer(l1, 0.0) { check_factor("L1", "l1", l1); }
json L1::get_config() const { return {{"l1", l1()}}; }
L2::L2(double l2) : Regularizer(0.0, l2) { check_factor("L2", "l2", l2); }
json L2::get_config() const { return {{"l2", l2()}}; }
L1L2::L1L2(double l1, double l2) : Regularizer(l1, l2) {
  check_factor("L1L2", "l1", l1);
  check_factor("L1L2", "l2", l2);
}
json L1L2::get_config() const { return {{"l1", l1()}, {"l2", l2()}}; }

// ---------------------------------------------------------------- configs
json serialize(const Regularizer& r) {
  return io::keras_object("keras.regularizers", r.class_name(), r.get_config());
}

namespace {

const io::KerasObjectRegistry<RegularizerPtr>& registry() {
  static const io::KerasObjectRegistry<RegularizerPtr> r(
      "regularizer",
      {{"L1", [](const io::ConfigReader& c) { return std::make_shared<L1>(c.number("l1", 0.01, 0.0, 1e30)); }},
       {"L2", [](const io::ConfigReader& c) { return std::make_shared<L2>(c.number("l2", 0.01, 0.0, 1e30)); }},
       {"L1L2",
        [](const io::ConfigReader& c) {
          return std::make_shared<L1L2>(c.number("l1", 0.0, 0.0, 1e30), c.number("l2", 0.0, 0.0, 1e30));
        }}},
      {{"l1", "L1"}, {"l2", "L2"}, {"l1_l2", "L1L2"}});
  return r;
}

}  // namespace

RegularizerPtr Regularizer::get(const std::string& name) { return registry().get(name); }

RegularizerPtr regularizer_from_config(const json& value, const std::string& path) {
  return registry().from_config(value, path);
}

}  // namespace fitrun::regularizers
