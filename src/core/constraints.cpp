// Constraints as keras/src/constraints/constraints.py computes them: w * desired / (eps + norm)
// with eps = 1e-7 (backend.epsilon()).
#include "fitrun/constraints.hpp"

#include <algorithm>
#include <cmath>

#include "fitrun/error.hpp"
#include "io/config_reader.hpp"
#include "io/keras_json.hpp"
#include "io/keras_object_registry.hpp"

namespace fitrun::constraints {

namespace {
constexpr float kEpsilon = 1e-7f;
}

void NormConstraint::apply(Tensor& w) const {
  const int64_t n = w.size();
  if (n == 0) return;
  if (w.shape() != shape_) {
    // Map each element to its slice (its index with the reduced axes dropped), once per shape.
    const int rank = static_cast<int>(w.rank());
    std::vector<bool> reduced(static_cast<size_t>(std::max(rank, 1)), false);
    for (int a : axis_) {
      const int ax = a < 0 ? a + rank : a;
      if (ax < 0 || ax >= std::max(rank, 1))
        throw ShapeError(class_name() + ": axis " + std::to_string(a) +
                         " is out of range for a weight of shape " + w.shape().to_string());
      reduced[static_cast<size_t>(ax)] = true;
    }
    slice_of_.assign(static_cast<size_t>(n), 0);
    int64_t slices = 1;
    for (int d = 0; d < rank; ++d)
      if (!reduced[static_cast<size_t>(d)]) slices *= w.dim(d);
    std::vector<int64_t> index(static_cast<size_t>(rank), 0);
    for (int64_t e = 0; e < n; ++e) {
      int64_t s = 0;
      for (int d = 0; d < rank; ++d)
        if (!reduced[static_cast<size_t>(d)]) s = s * w.dim(d) + index[static_cast<size_t>(d)];
      slice_of_[static_cast<size_t>(e)] = s;
      for (int d = rank - 1; d >= 0; --d) {  // row-major increment
        if (++index[static_cast<size_t>(d)] < w.dim(d)) break;
        index[static_cast<size_t>(d)] = 0;
      }
    }
    norms_.assign(static_cast<size_t>(slices), 0.0);
    shape_ = w.shape();
  }
  float* p = w.data<float>();
  std::fill(norms_.begin(), norms_.end(), 0.0);
  for (int64_t e = 0; e < n; ++e)
    norms_[static_cast<size_t>(slice_of_[static_cast<size_t>(e)])] += double(p[e]) * p[e];
  for (double& v : norms_) v = scale(static_cast<float>(std::sqrt(v)));
  for (int64_t e = 0; e < n; ++e)
    p[e] *= static_cast<float>(norms_[static_cast<size_t>(slice_of_[static_cast<size_t>(e)])]);
}

json NormConstraint::axis_json() const {
  return axis_.size() == 1 ? json(axis_[0]) : json(axis_);
}

MaxNorm::MaxNorm(double max_value, std::vector<int> axis)
    : NormConstraint(std::move(axis)), max_value_(max_value) {}
float MaxNorm::scale(float norm) const {
  const float desired = std::clamp(norm, 0.f, static_cast<float>(max_value_));
  return desired / (kEpsilon + norm);
}
json MaxNorm::get_config() const { return {{"max_value", max_value_}, {"axis", axis_json()}}; }

float UnitNorm::scale(float norm) const { return 1.f / (kEpsilon + norm); }
json UnitNorm::get_config() const { return {{"axis", axis_json()}}; }

MinMaxNorm::MinMaxNorm(double min_value, double max_value, double rate, std::vector<int> axis)
    : NormConstraint(std::move(axis)), min_value_(min_value), max_value_(max_value), rate_(rate) {
  if (min_value > max_value)
    throw ConfigError("MinMaxNorm: min_value " + std::to_string(min_value) +
                      " is greater than max_value " + std::to_string(max_value));
}
float MinMaxNorm::scale(float norm) const {
  const float rate = static_cast<float>(rate_);
  const float desired =
      rate * std::clamp(norm, static_cast<float>(min_value_), static_cast<float>(max_value_)) +
      (1.f - rate) * norm;
  return desired / (kEpsilon + norm);
}
json MinMaxNorm::get_config() const {
  return {{"min_value", min_value_}, {"max_value", max_value_}, {"rate", rate_},
          {"axis", axis_json()}};
}

void NonNeg::apply(Tensor& w) const {
  float* p = w.data<float>();
  const int64_t n = w.size();
  for (int64_t e = 0; e < n; ++e) p[e] = p[e] >= 0.f ? p[e] : 0.f;
}

// ---------------------------------------------------------------- configs
json serialize(const Constraint& c) {
  return io::keras_object("keras.constraints", c.class_name(), c.get_config());
}

namespace {

std::vector<int> read_axis(const io::ConfigReader& c) {
  const json* v = c.find("axis");
  if (!v) return {0};
  if (v->is_number_integer()) return {v->get<int>()};
  std::vector<int> out;
  if (v->is_array())
    for (const json& e : *v) {
      if (!e.is_number_integer()) c.expected("axis", "an integer or a list of integers");
      out.push_back(e.get<int>());
    }
  if (out.empty()) c.expected("axis", "an integer or a list of integers");
  return out;
}

const io::KerasObjectRegistry<ConstraintPtr>& registry() {
  static const io::KerasObjectRegistry<ConstraintPtr> r(
      "constraint",
      {{"MaxNorm",
        [](const io::ConfigReader& c) {
          return std::make_shared<MaxNorm>(c.number("max_value", 2.0, 0.0, 1e30), read_axis(c));
        }},
       {"UnitNorm", [](const io::ConfigReader& c) { return std::make_shared<UnitNorm>(read_axis(c)); }},
       {"MinMaxNorm",
        [](const io::ConfigReader& c) {
          return std::make_shared<MinMaxNorm>(
              c.number("min_value", 0.0, 0.0, 1e30), c.number("max_value", 1.0, 0.0, 1e30),
              c.number("rate", 1.0, 0.0, 1.0), read_axis(c));
        }},
       {"NonNeg", [](const io::ConfigReader&) { return std::make_shared<NonNeg>(); }}},
      {{"max_norm", "MaxNorm"}, {"unit_norm", "UnitNorm"}, {"min_max_norm", "MinMaxNorm"},
       {"non_neg", "NonNeg"}});
  return r;
}

}  // namespace

ConstraintPtr Constraint::get(const std::string& name) { return registry().get(name); }

ConstraintPtr constraint_from_config(const json& value, const std::string& path) {
  return registry().from_config(value, path);
}

}  // namespace fitrun::constraints
