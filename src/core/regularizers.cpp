// Regularizers as keras/src/regularizers/regularizers.py computes them.
#include "fitrun/regularizers.hpp"

#include <cmath>
#include <functional>
#include <map>

#include "fitrun/error.hpp"
#include "io/config_reader.hpp"
#include "io/keras_json.hpp"

namespace fitrun::regularizers {

namespace {
void check_factor(const char* cls, const char* arg, double v) {
  if (!(v >= 0) || !std::isfinite(v))
    throw ConfigError(std::string(cls) + ": " + arg + " must be a non-negative number, got " +
                      std::to_string(v));
}
}  // namespace

double Regularizer::penalty(const Tensor& w) const {
  const float* p = w.data<float>();
  const int64_t n = w.size();
  double abs_sum = 0, sq_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    abs_sum += std::abs(p[i]);
    sq_sum += double(p[i]) * p[i];
  }
  return l1_ * abs_sum + l2_ * sq_sum;
}

void Regularizer::add_gradient(const Tensor& w, Tensor& grad, float scale) const {
  const float* p = w.data<float>();
  float* g = grad.data<float>();
  const int64_t n = w.size();
  const float a = static_cast<float>(l1_) * scale, b = 2.f * static_cast<float>(l2_) * scale;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i)
    g[i] += a * static_cast<float>((p[i] > 0.f) - (p[i] < 0.f)) + b * p[i];
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

using Factory = std::function<RegularizerPtr(const io::ConfigReader&)>;
const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> f = {
      {"L1", [](const io::ConfigReader& c) { return std::make_shared<L1>(c.number("l1", 0.01, 0.0, 1e30)); }},
      {"L2", [](const io::ConfigReader& c) { return std::make_shared<L2>(c.number("l2", 0.01, 0.0, 1e30)); }},
      {"L1L2",
       [](const io::ConfigReader& c) {
         return std::make_shared<L1L2>(c.number("l1", 0.0, 0.0, 1e30), c.number("l2", 0.0, 0.0, 1e30));
       }},
  };
  return f;
}

const std::map<std::string, std::string>& aliases() {
  static const std::map<std::string, std::string> a = {
      {"l1", "L1"}, {"l2", "L2"}, {"l1_l2", "L1L2"}, {"L1L2", "L1L2"}};
  return a;
}

std::string known_names() { return "l1, l2, l1_l2"; }

}  // namespace

RegularizerPtr Regularizer::get(const std::string& name) {
  auto a = aliases().find(name);
  const std::string cls = a != aliases().end() ? a->second : name;
  auto it = factories().find(cls);
  if (it == factories().end())
    throw ConfigError("unknown regularizer \"" + name + "\"; known regularizers: " + known_names());
  static const json empty = json::object();
  return it->second(io::ConfigReader(empty, ""));
}

RegularizerPtr regularizer_from_config(const json& value, const std::string& path) {
  if (value.is_string()) {
    try {
      return Regularizer::get(value.get<std::string>());
    } catch (const ConfigError& e) {
      throw ConfigError((path.empty() ? "/" : path) + ": " + e.what());
    }
  }
  io::ConfigReader outer(value, path);
  std::string cls = outer.string("class_name");
  outer.ignore({"module", "registered_name"});
  const json* inner = outer.find("config");
  outer.check_unknown_keys("regularizer");
  if (auto a = aliases().find(cls); a != aliases().end()) cls = a->second;
  auto it = factories().find(cls);
  if (it == factories().end())
    outer.fail("class_name", "unknown regularizer \"" + cls + "\"; known regularizers: " +
                                 known_names());
  static const json empty = json::object();
  io::ConfigReader c(inner ? *inner : empty, outer.path("config"));
  RegularizerPtr out = it->second(c);
  c.check_unknown_keys(cls);
  return out;
}

}  // namespace fitrun::regularizers
