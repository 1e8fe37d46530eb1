#pragma once
// Learning-rate schedules (keras.optimizers.schedules): functions of the optimizer's step that
// any optimizer takes in place of a constant learning rate. Each evaluates Keras 3's formula
// (learning_rate_schedule.py) in double precision; the optimizer rounds the result to float32
// as Keras' float32 learning rate would be.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "fitrun/json.hpp"

namespace fitrun::optimizers::schedules {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule();
  /// The learning rate at optimizer step `step` (0 for the first update).
  virtual double operator()(int64_t step) const = 0;
  virtual std::string class_name() const = 0;
  /// Keras' get_config() (the arguments, with "name").
  virtual json get_config() const = 0;
};

using SchedulePtr = std::shared_ptr<LearningRateSchedule>;

/// initial_learning_rate * decay_rate ^ (step / decay_steps); the exponent is floored when
/// `staircase`.
class ExponentialDecay : public LearningRateSchedule {
 public:
  ExponentialDecay(double initial_learning_rate, double decay_steps, double decay_rate,
                   bool staircase = false, std::string name = "ExponentialDecay");
  double operator()(int64_t step) const override;
  std::string class_name() const override { return "ExponentialDecay"; }
  json get_config() const override;

 private:
  double initial_, decay_steps_, decay_rate_;
  bool staircase_;
  std::string name_;
};

/// values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
/// boundaries[i], values.back() after the last boundary.
class PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  PiecewiseConstantDecay(std::vector<double> boundaries, std::vector<double> values,
                         std::string name = "PiecewiseConstant");
  double operator()(int64_t step) const override;
  std::string class_name() const override { return "PiecewiseConstantDecay"; }
  json get_config() const override;

 private:
  std::vector<double> boundaries_, values_;
  std::string name_;
};

/// (initial - end) * (1 - step/decay_steps)^power + end, with step capped at decay_steps; with
/// `cycle`, decay_steps grows to the first multiple of itself >= step instead.
class PolynomialDecay : public LearningRateSchedule {
 public:
  PolynomialDecay(double initial_learning_rate, double decay_steps,
                  double end_learning_rate = 0.0001, double power = 1.0, bool cycle = false,
                  std::string name = "PolynomialDecay");
  double operator()(int64_t step) const override;
  std::string class_name() const override { return "PolynomialDecay"; }
  json get_config() const override;

 private:
  double initial_, decay_steps_, end_, power_;
  bool cycle_;
  std::string name_;
};

/// initial_learning_rate / (1 + decay_rate * step / decay_steps) (floored when `staircase`).
class InverseTimeDecay : public LearningRateSchedule {
 public:
  InverseTimeDecay(double initial_learning_rate, double decay_steps, double decay_rate,
                   bool staircase = false, std::string name = "InverseTimeDecay");
  double operator()(int64_t step) const override;
  std::string class_name() const override { return "InverseTimeDecay"; }
  json get_config() const override;

 private:
  double initial_, decay_steps_, decay_rate_;
  bool staircase_;
  std::string name_;
};

/// Optional linear warmup from initial_learning_rate to warmup_target over warmup_steps, then
/// a cosine from the start value (warmup_target, or initial_learning_rate without warmup) to
/// start * alpha over decay_steps, constant after.
class CosineDecay : public LearningRateSchedule {
 public:
  CosineDecay(double initial_learning_rate, double decay_steps, double alpha = 0.0,
              std::optional<double> warmup_target = std::nullopt, double warmup_steps = 0,
              std::string name = "CosineDecay");
  double operator()(int64_t step) const override;
  std::string class_name() const override { return "CosineDecay"; }
  json get_config() const override;

 private:
  double initial_, decay_steps_, alpha_;
  std::optional<double> warmup_target_;
  double warmup_steps_;
  std::string name_;
};

/// SGDR: cosine periods from 1 to alpha; period i lasts first_decay_steps * t_mul^i steps and
/// starts at initial_learning_rate * m_mul^i.
class CosineDecayRestarts : public LearningRateSchedule {
 public:
  CosineDecayRestarts(double initial_learning_rate, double first_decay_steps, double t_mul = 2.0,
                      double m_mul = 1.0, double alpha = 0.0, std::string name = "SGDRDecay");
  double operator()(int64_t step) const override;
  std::string class_name() const override { return "CosineDecayRestarts"; }
  json get_config() const override;

 private:
  double initial_, first_decay_steps_, t_mul_, m_mul_, alpha_;
  std::string name_;
};

/// A schedule from Keras' serialized form {"class_name": "CosineDecay", "config": {...}}
/// (Keras 3 or tf.keras; "module"/"registered_name" are accepted). Throws ConfigError naming
/// the JSON path (`path` is where `config` sits in its document) on an unknown class, a
/// missing or bad argument, or an unknown key.
SchedulePtr schedule_from_config(const json& config, const std::string& path = "");
/// Keras 3's serialized form: {"module": "keras.optimizers.schedules", "class_name", "config",
/// "registered_name": null}.
json serialize(const LearningRateSchedule& schedule);

}  // namespace fitrun::optimizers::schedules

namespace fitrun::optimizers {

/// An optimizer's learning_rate argument: a number or a schedule, as in Keras.
///   SGD({.learning_rate = 0.1});
///   SGD({.learning_rate = schedules::CosineDecay(0.1, 1000)});
class LearningRate {
 public:
  LearningRate(double value) : value_(value) {}  // NOLINT: implicit, as Keras' float argument
  LearningRate(schedules::SchedulePtr schedule);  // NOLINT
  template <class S, class = std::enable_if_t<
                         std::is_base_of_v<schedules::LearningRateSchedule, std::decay_t<S>>>>
  LearningRate(S&& schedule)  // NOLINT
      : LearningRate(schedules::SchedulePtr(std::make_shared<std::decay_t<S>>(
            std::forward<S>(schedule)))) {}

  bool is_schedule() const { return schedule_ != nullptr; }
  const schedules::SchedulePtr& schedule() const { return schedule_; }
  /// The constant value (meaningless for a schedule).
  double value() const { return value_; }
  /// The learning rate at optimizer step `step`.
  double at(int64_t step) const { return schedule_ ? (*schedule_)(step) : value_; }

 private:
  double value_ = 0.0;
  schedules::SchedulePtr schedule_;
};

}  // namespace fitrun::optimizers
