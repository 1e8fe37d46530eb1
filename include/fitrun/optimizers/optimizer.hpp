#pragma once
// Optimizer: updates variables from their gradients with Keras' exact update rules
// (see docs/training-maths.md and docs/optimizers.md). Slots (momenta, velocities) are created
// on the first step. The base class adds what Keras' BaseOptimizer adds to every optimizer:
// loss scaling, gradient accumulation, clipping, decoupled weight decay, an exponential moving
// average of the weights, constraints, and learning-rate schedules.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fitrun/json.hpp"
#include "fitrun/optimizers/schedules.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/variable.hpp"

namespace fitrun::optimizers {

// Keras' base-optimizer arguments, appended to every optimizer's options struct so that they
// are set by name like the rest: SGD({.learning_rate = 0.1, .clipnorm = 1.0}). One list, kept
// in a macro, so the five option structs cannot drift apart.
#define FITRUN_OPTIMIZER_BASE_OPTIONS                                                          \
  /* Clip each gradient tensor to this L2 norm. Only one clipping applies, tested in the  */ \
  /* order clipnorm, global_clipnorm, clipvalue (as Keras). */                              \
  std::optional<double> clipnorm;                                                            \
  /* Clip every gradient element to [-clipvalue, clipvalue]. */                              \
  std::optional<double> clipvalue;                                                           \
  /* Clip all gradients together to this joint L2 norm. */                                   \
  std::optional<double> global_clipnorm;                                                     \
  /* Keep an exponential moving average of the weights; fit() copies it into the weights */ \
  /* at the end of training (Keras' finalize_variable_values). */                           \
  bool use_ema = false;                                                                      \
  double ema_momentum = 0.99;                                                                \
  /* Copy the average into the weights every this many updates (none: only at the end). */  \
  std::optional<int64_t> ema_overwrite_frequency;                                            \
  /* Static loss scale: the loss is multiplied by it before backward and the gradients */   \
  /* divided by it before anything else (mixed precision). */                               \
  std::optional<double> loss_scale_factor;                                                   \
  /* Update every N steps with the mean gradient of those N steps (N >= 2). */              \
  std::optional<int64_t> gradient_accumulation_steps;

/// Copies the base-optimizer arguments between any two structs that hold them (an
/// optimizer's options struct or BaseOptimizerOptions): the one list of their names.
template <class From, class To> void copy_base_options(const From& from, To& to) {
  to.clipnorm = from.clipnorm;
  to.clipvalue = from.clipvalue;
  to.global_clipnorm = from.global_clipnorm;
  to.use_ema = from.use_ema;
  to.ema_momentum = from.ema_momentum;
  to.ema_overwrite_frequency = from.ema_overwrite_frequency;
  to.loss_scale_factor = from.loss_scale_factor;
  to.gradient_accumulation_steps = from.gradient_accumulation_steps;
}

/// The base-optimizer arguments on their own.
struct BaseOptimizerOptions {
  FITRUN_OPTIMIZER_BASE_OPTIONS
  /// The base arguments of any optimizer's options struct.
  template <class O> static BaseOptimizerOptions from(const O& o) {
    BaseOptimizerOptions b;
    copy_base_options(o, b);
    return b;
  }
};

class Optimizer {
 public:
  Optimizer(std::string name, LearningRate learning_rate, double weight_decay = 0.0,
            BaseOptimizerOptions base = {});
  virtual ~Optimizer() = default;

  /// One step from every variable's grad (Keras' optimizer.apply): unscales the grads by
  /// loss_scale_factor, accumulates them (gradient_accumulation_steps), clips them, applies
  /// weight decay and the update rule, then the EMA and the variables' constraints. The grads
  /// are processed in place: afterwards each grad holds what was applied (unscaled, averaged,
  /// clipped). Creates the slots on the first call; the variable list must then stay the
  /// same. Skips frozen variables and those without a grad. Throws ShapeError (naming the
  /// variable) when a grad's size differs from its value's. Allocates nothing after the first
  /// call.
  void apply(const std::vector<VariablePtr>& variables);
  /// Creates the slots of every trainable variable at their initial values (as Keras'
  /// optimizer.build), and the EMA averages and gradient accumulators when enabled. apply()
  /// calls it when the variable count changes; a checkpoint loader calls it first, then fills
  /// slots(), averages() and accumulators().
  void build(const std::vector<VariablePtr>& variables);
  /// Moves the slots, averages and accumulators to `device` (Model::to calls it).
  void move_state_to(Device device);
  /// With use_ema: copies the moving averages into the variables (Keras'
  /// finalize_variable_values; fit() calls it after the last epoch). No-op otherwise.
  void finalize_variable_values(const std::vector<VariablePtr>& variables);

  /// The learning rate of the next update: the schedule evaluated at iterations(), or the
  /// constant.
  double learning_rate() const { return learning_rate_.at(iterations_); }
  /// Sets a constant learning rate (what callbacks use). Throws Error when the optimizer was
  /// created with a schedule, as Keras does.
  void set_learning_rate(double lr);
  /// The schedule given as learning_rate; null for a constant.
  const schedules::SchedulePtr& learning_rate_schedule() const {
    return learning_rate_.schedule();
  }
  double weight_decay() const { return weight_decay_; }
  const BaseOptimizerOptions& base_options() const { return base_; }
  /// loss_scale_factor, or 1 when unset: train steps multiply the loss gradient by it.
  double loss_scale() const { return base_.loss_scale_factor.value_or(1.0); }
  /// Number of apply() calls so far (Keras' optimizer._iterations, the "iteration" saved with
  /// the optimizer state; schedules are evaluated at it).
  int64_t iterations() const { return iterations_; }
  void set_iterations(int64_t n) { iterations_ = n; }
  /// Number of variable updates so far (Keras' optimizer.iterations): iterations() divided
  /// by gradient_accumulation_steps. Update rules (Adam's bias correction) count these.
  int64_t updates() const;

  virtual std::string class_name() const = 0;
  const std::string& name() const { return name_; }
  /// Keras' get_config(): {"name", "learning_rate" (a number or a serialized schedule),
  /// "weight_decay", "clipnorm", ..., "gradient_accumulation_steps", then the optimizer's own}.
  virtual json get_config() const;
  /// Slot tensors per variable, in Keras' order (e.g. Adam: momentum, velocity); empty for a
  /// non-trainable variable.
  const std::vector<std::vector<Tensor>>& slots() const { return slots_; }
  std::vector<std::vector<Tensor>>& slots() { return slots_; }
  virtual std::vector<std::string> slot_names() const { return {}; }
  /// With use_ema: the moving average of each variable (undefined for non-trainable ones);
  /// empty otherwise. Saved with the optimizer state as Keras' "<var>_average" variables.
  std::vector<Tensor>& averages() { return averages_; }
  const std::vector<Tensor>& averages() const { return averages_; }
  /// With gradient_accumulation_steps: each variable's gradient sum since the last update;
  /// empty otherwise. Saved as Keras' "<var>_gradient_accumulator" variables.
  std::vector<Tensor>& accumulators() { return accumulators_; }
  const std::vector<Tensor>& accumulators() const { return accumulators_; }

  /// "adam", "sgd", "rmsprop", "adamw", "adagrad" (or the class names).
  static std::shared_ptr<Optimizer> get(const std::string& name);

 protected:
  /// Updates one variable (values w, gradient g, its slots) at update updates()+1.
  virtual void update(float* w, const float* g, std::vector<Tensor>& slots, int64_t n,
                      float lr) = 0;
  /// Every trainable variable of a step, for a fused update: params[i], grads[i] and
  /// slot[k][i] (the k-th slot of variable i).
  struct FusedBatch {
    std::vector<Tensor*> params;
    std::vector<const Tensor*> grads;
    std::vector<Tensor*> slot[3];
    int count() const { return static_cast<int>(params.size()); }
  };
  /// Updates all variables at once at update updates()+1 with the fused ops of fitrun/ops.hpp
  /// (one kernel launch on a GPU), decoupled weight decay `wd` included. Returns false when
  /// this optimizer (or its configuration) has no fused form; the GPU path then throws.
  virtual bool fused_update(FusedBatch& batch, float lr, float wd) {
    (void)batch, (void)lr, (void)wd;
    return false;
  }
  virtual int num_slots() const { return 0; }
  virtual float slot_initial_value(int slot) const { (void)slot; return 0.f; }
  double weight_decay_ = 0.0;  // decoupled, applied before the update as in Keras

 private:
  /// The slots of one variable, at their initial values.
  std::vector<Tensor> make_slots(const Variable& v) const;
  void check_variable(const Variable& v, const std::vector<Tensor>& slots) const;
  /// Loss unscaling and accumulation into v.grad; false when this variable is not updated at
  /// this step (its gradient was only accumulated).
  bool prepare_gradient(size_t i, Variable& v, bool update_step);
  /// Clipping of all prepared gradients, in place (Keras' _clip_gradients), on their device.
  void clip_gradients(const std::vector<VariablePtr>& variables);
  void update_moving_averages(const std::vector<VariablePtr>& variables);
  /// apply() for variables on a GPU: the fused update of all of them; the base options that
  /// have no GPU form yet are errors naming the option.
  void apply_on_device(const std::vector<VariablePtr>& variables);

  std::string name_;
  LearningRate learning_rate_;
  BaseOptimizerOptions base_;
  int64_t iterations_ = 0;
  std::vector<std::vector<Tensor>> slots_;
  std::vector<Tensor> averages_, accumulators_;
  FusedBatch fused_;  // reused every step: no allocation after the first
  std::vector<Tensor*> clip_grads_;  // the gradients clip_gradients works on, reused likewise
};

using OptimizerPtr = std::shared_ptr<Optimizer>;

struct SGDOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;
  FITRUN_OPTIMIZER_BASE_OPTIONS
};
class SGD : public Optimizer {
 public:
  explicit SGD(SGDOptions o = {});
  std::string class_name() const override { return "SGD"; }
  json get_config() const override;
  std::vector<std::string> slot_names() const override;

 protected:
  void update(float*, const float*, std::vector<Tensor>&, int64_t, float) override;
  bool fused_update(FusedBatch& batch, float lr, float wd) override;
  int num_slots() const override { return opts_.momentum != 0.0 ? 1 : 0; }

 private:
  SGDOptions opts_;
};

struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  double weight_decay = 0.0;
  FITRUN_OPTIMIZER_BASE_OPTIONS
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
  bool fused_update(FusedBatch& batch, float lr, float wd) override;
  int num_slots() const override { return opts_.amsgrad ? 3 : 2; }
  AdamOptions opts_;
};

/// Adam with decoupled weight decay (default 0.004 as in Keras).
struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  double weight_decay = 0.004;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
  FITRUN_OPTIMIZER_BASE_OPTIONS
};
class AdamW : public Adam {
 public:
  explicit AdamW(AdamWOptions o = {});
  std::string class_name() const override { return "AdamW"; }
};

struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  double weight_decay = 0.0;
  FITRUN_OPTIMIZER_BASE_OPTIONS
};
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(RMSpropOptions o = {});
  std::string class_name() const override { return "RMSprop"; }
  json get_config() const override;
  std::vector<std::string> slot_names() const override;

 protected:
  void update(float*, const float*, std::vector<Tensor>&, int64_t, float) override;
  bool fused_update(FusedBatch& batch, float lr, float wd) override;
  int num_slots() const override;

 private:
  RMSpropOptions opts_;
};

struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  double weight_decay = 0.0;
  FITRUN_OPTIMIZER_BASE_OPTIONS
};
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(AdagradOptions o = {});
  std::string class_name() const override { return "Adagrad"; }
  json get_config() const override;
  std::vector<std::string> slot_names() const override { return {"accumulator"}; }

 protected:
  void update(float*, const float*, std::vector<Tensor>&, int64_t, float) override;
  bool fused_update(FusedBatch& batch, float lr, float wd) override;
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
