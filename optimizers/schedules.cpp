// Learning-rate schedules with Keras 3's formulas (keras/src/optimizers/schedules/
// learning_rate_schedule.py), their configs, and reading them back from Keras' serialized form.
#include "fitrun/optimizers/schedules.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>

#include "fitrun/error.hpp"
#include "io/config_reader.hpp"
#include "io/keras_json.hpp"

namespace fitrun::optimizers::schedules {

namespace {

constexpr double kPi = 3.14159265358979323846;

/// Step counts are written as integers when they are whole, as Keras users give them.
json step_json(double v) {
  if (v == std::floor(v) && std::abs(v) < 9e15) return json(static_cast<int64_t>(v));
  return json(v);
}

void check_positive(const char* cls, const char* arg, double v) {
  if (!(v > 0))
    throw ConfigError(std::string(cls) + ": " + arg + " must be > 0, got " + std::to_string(v));
}

}  // namespace

LearningRateSchedule::~LearningRateSchedule() = default;

// ---------------------------------------------------------------- ExponentialDecay
ExponentialDecay::ExponentialDecay(double initial_learning_rate, double decay_steps,
                                   double decay_rate, bool staircase, std::string name)
    : initial_(initial_learning_rate), decay_steps_(decay_steps), decay_rate_(decay_rate),
      staircase_(staircase), name_(std::move(name)) {
  check_positive("ExponentialDecay", "decay_steps", decay_steps);
}

double ExponentialDecay::operator()(int64_t step) const {
  double p = static_cast<double>(step) / decay_steps_;
  if (staircase_) p = std::floor(p);
  return initial_ * std::pow(decay_rate_, p);
}

json ExponentialDecay::get_config() const {
  return {{"initial_learning_rate", initial_}, {"decay_steps", step_json(decay_steps_)},
          {"decay_rate", decay_rate_},         {"staircase", staircase_},
          {"name", name_}};
}

// ---------------------------------------------------------------- PiecewiseConstantDecay
PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<double> boundaries,
                                               std::vector<double> values, std::string name)
    : boundaries_(std::move(boundaries)), values_(std::move(values)), name_(std::move(name)) {
  if (boundaries_.size() + 1 != values_.size())
    throw ConfigError("PiecewiseConstantDecay: the length of boundaries (" +
                      std::to_string(boundaries_.size()) +
                      ") should be 1 less than the length of values (" +
                      std::to_string(values_.size()) + ")");
  for (size_t i = 1; i < boundaries_.size(); ++i)
    if (!(boundaries_[i] > boundaries_[i - 1]))
      throw ConfigError("PiecewiseConstantDecay: boundaries must be strictly increasing, got " +
                        json(boundaries_).dump());
}

double PiecewiseConstantDecay::operator()(int64_t step) const {
  // The first boundary not below step picks the interval: step <= boundaries[i] -> values[i].
  const double s = static_cast<double>(step);
  const auto it = std::lower_bound(boundaries_.begin(), boundaries_.end(), s);
  return values_[static_cast<size_t>(it - boundaries_.begin())];
}

json PiecewiseConstantDecay::get_config() const {
  json b = json::array();
  for (double v : boundaries_) b.push_back(step_json(v));
  return {{"boundaries", b}, {"values", values_}, {"name", name_}};
}

// ---------------------------------------------------------------- PolynomialDecay
PolynomialDecay::PolynomialDecay(double initial_learning_rate, double decay_steps,
                                 double end_learning_rate, double power, bool cycle,
                                 std::string name)
    : initial_(initial_learning_rate), decay_steps_(decay_steps), end_(end_learning_rate),
      power_(power), cycle_(cycle), name_(std::move(name)) {
  check_positive("PolynomialDecay", "decay_steps", decay_steps);
}

double PolynomialDecay::operator()(int64_t step_in) const {
  double step = static_cast<double>(step_in), decay_steps = decay_steps_;
  if (cycle_)
    // The first multiple of decay_steps that is >= step (1 at step 0).
    decay_steps *= step == 0 ? 1.0 : std::ceil(step / decay_steps_);
  else
    step = std::min(step, decay_steps);
  const double p = step / decay_steps;
  return (initial_ - end_) * std::pow(1 - p, power_) + end_;
}

json PolynomialDecay::get_config() const {
  return {{"initial_learning_rate", initial_}, {"decay_steps", step_json(decay_steps_)},
          {"end_learning_rate", end_},        {"power", power_},
          {"cycle", cycle_},                  {"name", name_}};
}

// ---------------------------------------------------------------- InverseTimeDecay
InverseTimeDecay::InverseTimeDecay(double initial_learning_rate, double decay_steps,
                                   double decay_rate, bool staircase, std::string name)
    : initial_(initial_learning_rate), decay_steps_(decay_steps), decay_rate_(decay_rate),
      staircase_(staircase), name_(std::move(name)) {
  check_positive("InverseTimeDecay", "decay_steps", decay_steps);
}

double InverseTimeDecay::operator()(int64_t step) const {
  double p = static_cast<double>(step) / decay_steps_;
  if (staircase_) p = std::floor(p);
  return initial_ / (1 + decay_rate_ * p);
}

json InverseTimeDecay::get_config() const {
  return {{"initial_learning_rate", initial_}, {"decay_steps", step_json(decay_steps_)},
          {"decay_rate", decay_rate_},         {"staircase", staircase_},
          {"name", name_}};
}

// ---------------------------------------------------------------- CosineDecay
CosineDecay::CosineDecay(double initial_learning_rate, double decay_steps, double alpha,
                         std::optional<double> warmup_target, double warmup_steps,
                         std::string name)
    : initial_(initial_learning_rate), decay_steps_(decay_steps), alpha_(alpha),
      warmup_target_(warmup_target), warmup_steps_(warmup_steps), name_(std::move(name)) {
  check_positive("CosineDecay", "decay_steps", decay_steps);
  if (warmup_target_ && !(warmup_steps_ > 0))
    throw ConfigError("CosineDecay: warmup_steps must be > 0 when warmup_target is set, got " +
                      std::to_string(warmup_steps_));
}

double CosineDecay::operator()(int64_t step_in) const {
  auto decay = [&](double step, double from) {
    const double cosine = 0.5 * (1.0 + std::cos(kPi * step / decay_steps_));
    return from * ((1 - alpha_) * cosine + alpha_);
  };
  const double step = static_cast<double>(step_in);
  if (!warmup_target_) return decay(std::min(step, decay_steps_), initial_);
  const double s = std::min(step, decay_steps_ + warmup_steps_);
  if (s < warmup_steps_) return (*warmup_target_ - initial_) * (s / warmup_steps_) + initial_;
  return decay(s - warmup_steps_, *warmup_target_);
}

json CosineDecay::get_config() const {
  return {{"initial_learning_rate", initial_},
          {"decay_steps", step_json(decay_steps_)},
          {"alpha", alpha_},
          {"name", name_},
          {"warmup_target", warmup_target_ ? json(*warmup_target_) : json(nullptr)},
          {"warmup_steps", step_json(warmup_steps_)}};
}

// ---------------------------------------------------------------- CosineDecayRestarts
CosineDecayRestarts::CosineDecayRestarts(double initial_learning_rate, double first_decay_steps,
                                         double t_mul, double m_mul, double alpha,
                                         std::string name)
    : initial_(initial_learning_rate), first_decay_steps_(first_decay_steps), t_mul_(t_mul),
      m_mul_(m_mul), alpha_(alpha), name_(std::move(name)) {
  check_positive("CosineDecayRestarts", "first_decay_steps", first_decay_steps);
  check_positive("CosineDecayRestarts", "t_mul", t_mul);
}

double CosineDecayRestarts::operator()(int64_t step) const {
  double fraction = static_cast<double>(step) / first_decay_steps_, restart;
  if (t_mul_ == 1.0) {
    restart = std::floor(fraction);
    fraction -= restart;
  } else {
    // Periods grow geometrically: restart i starts at fraction (1 - t^i) / (1 - t).
    restart = std::floor(std::log(1.0 - fraction * (1.0 - t_mul_)) / std::log(t_mul_));
    const double sum_r = (1.0 - std::pow(t_mul_, restart)) / (1.0 - t_mul_);
    fraction = (fraction - sum_r) / std::pow(t_mul_, restart);
  }
  const double cosine = 0.5 * std::pow(m_mul_, restart) * (1.0 + std::cos(kPi * fraction));
  return initial_ * ((1 - alpha_) * cosine + alpha_);
}

json CosineDecayRestarts::get_config() const {
  return {{"initial_learning_rate", initial_},
          {"first_decay_steps", step_json(first_decay_steps_)},
          {"t_mul", t_mul_},
          {"m_mul", m_mul_},
          {"alpha", alpha_},
          {"name", name_}};
}

// ---------------------------------------------------------------- configs
json serialize(const LearningRateSchedule& schedule) {
  return io::keras_object("keras.optimizers.schedules", schedule.class_name(),
                          schedule.get_config());
}

namespace {

std::vector<double> number_list(const io::ConfigReader& c, const std::string& key) {
  const json* v = c.find(key);
  if (!v || !v->is_array()) c.expected(key, "a list of numbers");
  std::vector<double> out;
  for (const json& e : *v) {
    if (!e.is_number()) c.expected(key, "a list of numbers");
    out.push_back(e.get<double>());
  }
  return out;
}

using Factory = std::function<SchedulePtr(const io::ConfigReader&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> f = {
      {"ExponentialDecay",
       [](const io::ConfigReader& c) {
         return std::make_shared<ExponentialDecay>(
             c.number("initial_learning_rate"), c.number("decay_steps"), c.number("decay_rate"),
             c.boolean("staircase", false), c.string("name", "ExponentialDecay"));
       }},
      {"PiecewiseConstantDecay",
       [](const io::ConfigReader& c) {
         return std::make_shared<PiecewiseConstantDecay>(number_list(c, "boundaries"),
                                                         number_list(c, "values"),
                                                         c.string("name", "PiecewiseConstant"));
       }},
      {"PolynomialDecay",
       [](const io::ConfigReader& c) {
         return std::make_shared<PolynomialDecay>(
             c.number("initial_learning_rate"), c.number("decay_steps"),
             c.number("end_learning_rate", 0.0001, -1e30, 1e30), c.number("power", 1.0, -1e30, 1e30),
             c.boolean("cycle", false), c.string("name", "PolynomialDecay"));
       }},
      {"InverseTimeDecay",
       [](const io::ConfigReader& c) {
         return std::make_shared<InverseTimeDecay>(
             c.number("initial_learning_rate"), c.number("decay_steps"), c.number("decay_rate"),
             c.boolean("staircase", false), c.string("name", "InverseTimeDecay"));
       }},
      {"CosineDecay",
       [](const io::ConfigReader& c) {
         std::optional<double> target;
         if (c.has("warmup_target")) target = c.number("warmup_target");
         return std::make_shared<CosineDecay>(
             c.number("initial_learning_rate"), c.number("decay_steps"),
             c.number("alpha", 0.0, -1e30, 1e30), target, c.number("warmup_steps", 0.0, 0.0, 1e30),
             c.string("name", "CosineDecay"));
       }},
      {"CosineDecayRestarts",
       [](const io::ConfigReader& c) {
         return std::make_shared<CosineDecayRestarts>(
             c.number("initial_learning_rate"), c.number("first_decay_steps"),
             c.number("t_mul", 2.0, -1e30, 1e30), c.number("m_mul", 1.0, -1e30, 1e30),
             c.number("alpha", 0.0, -1e30, 1e30), c.string("name", "SGDRDecay"));
       }},
  };
  return f;
}

}  // namespace

SchedulePtr schedule_from_config(const json& config, const std::string& path) {
  io::ConfigReader outer(config, path);
  const std::string cls = outer.string("class_name");
  outer.ignore({"module", "registered_name"});
  static const json empty = json::object();
  const json* inner = outer.find("config");
  outer.check_unknown_keys("learning-rate schedule");
  auto it = factories().find(cls);
  if (it == factories().end()) {
    std::string known;
    for (const auto& [name, f] : factories()) known += (known.empty() ? "" : ", ") + name;
    outer.fail("class_name", "unknown learning-rate schedule \"" + cls + "\"; known: " + known);
  }
  io::ConfigReader c(inner ? *inner : empty, outer.path("config"));
  SchedulePtr out;
  try {
    out = it->second(c);
  } catch (const ConfigError& e) {
    // Argument checks in the constructors do not know the path; add it.
    const std::string msg = e.what();
    if (msg.rfind(c.path(), 0) == 0 || msg.rfind("/", 0) == 0) throw;
    throw ConfigError(c.path() + ": " + msg);
  }
  c.check_unknown_keys(cls);
  return out;
}

}  // namespace fitrun::optimizers::schedules

namespace fitrun::optimizers {

LearningRate::LearningRate(schedules::SchedulePtr schedule) : schedule_(std::move(schedule)) {
  if (!schedule_) throw ConfigError("learning_rate: a null schedule was given");
}

}  // namespace fitrun::optimizers
