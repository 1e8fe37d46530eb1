#pragma once
// Optimizer: updates variables from their gradients with Keras' exact update rules
// (see docs/training-maths.md). Slots (momenta, velocities) are created on the first step.
#include <memory>
#include <string>
#include <vector>

#include "fitrun/json.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/variable.hpp"

namespace fitrun::optimizers {

class Optimizer {
 public:
  explicit Optimizer(std::string name, double learning_rate)
      : name_(std::move(name)), learning_rate_(learning_rate) {}
  virtual ~Optimizer() = default;

  /// One update of every variable from its grad. Creates the slots on the first call; the
  /// variable list must then stay the same. Skips frozen variables and those without a grad.
  /// Throws ShapeError (naming the variable) when a grad's size differs from its value's.
  void apply(const std::vector<VariablePtr>& variables);
  /// Creates the slots of every trainable variable at their initial values (as Keras'
  /// optimizer.build). apply() calls it when the variable count changes; a checkpoint loader
  /// calls it first, then fills slots().
  void build(const std::vector<VariablePtr>& variables);

  double learning_rate() const { return learning_rate_; }
  void set_learning_rate(double lr) { learning_rate_ = lr; }
  double weight_decay() const { return weight_decay_; }
  /// Number of updates applied so far (Keras' optimizer.iterations).
  int64_t iterations() const { return iterations_; }
  void set_iterations(int64_t n) { iterations_ = n; }

  virtual std::string class_name() const = 0;
  const std::string& name() const { return name_; }
  /// Keras' get_config(): {"name", "learning_rate", ...}.
  virtual json get_config() const;
  /// Slot tensors per variable, in Keras' order (e.g. Adam: momentum, velocity); empty for a
  /// non-trainable variable.
  const std::vector<std::vector<Tensor>>& slots() const { return slots_; }
  std::vector<std::vector<Tensor>>& slots() { return slots_; }
  virtual std::vector<std::string> slot_names() const { return {}; }

  /// "adam", "sgd", "rmsprop", "adamw", "adagrad" (or the class names).
  static std::shared_ptr<Optimizer> get(const std::string& name);

 protected:
  /// Updates one variable (values w, gradient g, its slots) at step t = iterations()+1.
  virtual void update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n,
                      float lr) = 0;
  virtual int num_slots() const { return 0; }
  virtual float slot_initial_value(int slot) const { (void)slot; return 0.f; }
  double weight_decay_ = 0.0;  // decoupled, applied before the update as in Keras

 private:
  /// The slots of one variable, at their initial values.
  std::vector<Tensor> make_slots(const Variable& v) const;
  void check_variable(const Variable& v, const std::vector<Tensor>& slots) const;

  std::string name_;
  double learning_rate_;
  int64_t iterations_ = 0;
  std::vector<std::vector<Tensor>> slots_;
};

using OptimizerPtr = std::shared_ptr<Optimizer>;

struct SGDOptions {
  double learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
};
class SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions o = {});
  std::string class_name() const override { return "SGD"; }
  json get_config() const override;
  std::vector<std::string> slot_names() const override;

 protected:
  void update(float*, const float*, std::vector<Tensor>&, int64_t, float) override;
  int num_slots() const override { return opts_.momentum != 0.0 ? 1 : 0; }

 private:
  SGDOptions opts_;
};

struct AdamOptions {
  double learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  double weight_decay = 0.0;
};
class Adam : public Optimizer {
 public:
  explicit Adam(AdamOptions o = {});
  std::string class_name() const override { return "Adam"; }
  json get_config() const override;
  std::vector<std::string> slot_names() const override;

 protected:
  Adam(std::string name, AdamOptions o);
  void update(float*, const float*, std::vector<Tensor>&, int64_t, float) override;
  int num_slots() const override { return opts_.amsgrad ? 3 : 2; }
  AdamOptions opts_;
};

/// Adam with decoupled weight decay (default 0.004 as in Keras).
struct AdamWOptions {
  double learning_rate = 0.001;
  double weight_decay = 0.004;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
};
class AdamW : public Adam {
 public:
  explicit AdamW(AdamWOptions o = {});
  std::string class_name() const override { return "AdamW"; }
};

struct RMSpropOptions {
  double learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  double weight_decay = 0.0;
};
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(RMSpropOptions o = {});
  std::string class_name() const override { return "RMSprop"; }
  json get_config() const override;
  std::vector<std::string> slot_names() const override;

 protected:
  void update(float*, const float*, std::vector<Tensor>&, int64_t, float) override;
  int num_slots() const override;

 private:
  RMSpropOptions opts_;
};

struct AdagradOptions {
  double learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  double weight_decay = 0.0;
};
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(AdagradOptions o = {});
  std::string class_name() const override { return "Adagrad"; }
  json get_config() const override;
  std::vector<std::string> slot_names() const override { return {"accumulator"}; }

 protected:
  void update(float*, const float*, std::vector<Tensor>&, int64_t, float) override;
  int num_slots() const override { return 1; }
  float slot_initial_value(int) const override {
    return static_cast<float>(opts_.initial_accumulator_value);
  }

 private:
  AdagradOptions opts_;
};

}  // namespace fitrun::optimizers

namespace fitrun {
using OptimizerRef = Ref<optimizers::Optimizer>;
}
