// Optimizer base: slot creation, the per-step pipeline of Keras' BaseOptimizer.apply (loss
// unscaling, gradient accumulation, clipping, decoupled weight decay, the subclass' update rule,
// EMA, constraints) and the name registry. Every stage works in place, allocation-free.
#include "fitrun/optimizers/optimizer.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "fitrun/constraints.hpp"
#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "ops/optimizer_math.hpp"

namespace fitrun::optimizers {

Optimizer::Optimizer(std::string name, LearningRate learning_rate, double weight_decay,
                     BaseOptimizerOptions base)
    : weight_decay_(weight_decay), name_(std::move(name)),
      learning_rate_(std::move(learning_rate)), base_(base) {
  // Keras' argument checks, with its wording.
  auto fail = [&](const std::string& what) { throw ConfigError(name_ + ": " + what); };
  if (!learning_rate_.is_schedule() && !(learning_rate_.value() >= 0))
    fail("learning_rate must be >= 0, got " + std::to_string(learning_rate_.value()));
  if (!(weight_decay >= 0)) fail("weight_decay must be >= 0, got " + std::to_string(weight_decay));
  for (auto [key, v] : {std::pair{"clipnorm", base.clipnorm},
                        std::pair{"clipvalue", base.clipvalue},
                        std::pair{"global_clipnorm", base.global_clipnorm}})
    if (v && !(*v > 0)) fail(std::string(key) + " must be > 0, got " + std::to_string(*v));
  int clips = base.clipnorm.has_value() + base.clipvalue.has_value() +
              base.global_clipnorm.has_value();
  if (clips > 1) fail("only one of clipnorm, clipvalue and global_clipnorm can be set");
  if (base.use_ema && !(base.ema_momentum >= 0 && base.ema_momentum <= 1))
    fail("ema_momentum must be in the range [0, 1], got " + std::to_string(base.ema_momentum));
  if (base.use_ema && base.ema_overwrite_frequency && *base.ema_overwrite_frequency < 1)
    fail("ema_overwrite_frequency must be an integer >= 1 or None, got " +
         std::to_string(*base.ema_overwrite_frequency));
  if (base.gradient_accumulation_steps && *base.gradient_accumulation_steps < 2)
    fail("gradient_accumulation_steps must be an integer >= 2, got " +
         std::to_string(*base.gradient_accumulation_steps));
  if (base.loss_scale_factor && !(*base.loss_scale_factor > 0))
    fail("loss_scale_factor must be > 0, got " + std::to_string(*base.loss_scale_factor));
}

void Optimizer::set_learning_rate(double lr) {
  if (learning_rate_.is_schedule())
    throw Error(name_ + ": this optimizer was created with a learning-rate schedule (" +
                learning_rate_.schedule()->class_name() +
                ") as its learning_rate, hence its learning rate is not settable; create it "
                "with a number learning_rate instead");
  if (!(lr >= 0)) throw Error(name_ + ": learning rate must be >= 0, got " + std::to_string(lr));
  learning_rate_ = LearningRate(lr);
}

int64_t Optimizer::updates() const {
  return base_.gradient_accumulation_steps ? iterations_ / *base_.gradient_accumulation_steps
                                           : iterations_;
}

std::vector<Tensor> Optimizer::make_slots(const Variable& v) const {
  std::vector<Tensor> slots;
  for (int k = 0; k < num_slots(); ++k) {
    Tensor slot(v.value.shape(), DType::float32, v.value.device());
    slot.fill(slot_initial_value(k));
    slots.push_back(std::move(slot));
  }
  return slots;
}

namespace {
Tensor zeros_like(const Variable& v) {
  Tensor t(v.value.shape(), DType::float32, v.value.device());
  t.fill(0.f);
  return t;
}
}  // namespace

void Optimizer::build(const std::vector<VariablePtr>& variables) {
  slots_.assign(variables.size(), {});
  averages_.assign(base_.use_ema ? variables.size() : 0, Tensor());
  accumulators_.assign(base_.gradient_accumulation_steps ? variables.size() : 0, Tensor());
  for (size_t i = 0; i < variables.size(); ++i) {
    // Keras builds slots for trainable variables only; an empty list keeps indices aligned.
    if (!variables[i]->trainable) continue;
    slots_[i] = make_slots(*variables[i]);
    if (base_.use_ema) averages_[i] = zeros_like(*variables[i]);
    if (base_.gradient_accumulation_steps) accumulators_[i] = zeros_like(*variables[i]);
  }
}

// A wrong dtype, gradient shape or slot list is a bug upstream; say which variable.
void Optimizer::check_variable(const Variable& v, const std::vector<Tensor>& slots) const {
  if (v.value.dtype() != DType::float32 || v.grad.dtype() != DType::float32)
    throw Error(name_ + ": variable " + v.path + " is " + dtype_name(v.value.dtype()) +
                " with a " + dtype_name(v.grad.dtype()) + " gradient; expected float32");
  if (v.grad.size() != v.value.size())
    throw ShapeError(name_ + ": variable " + v.path + " of shape " + v.value.shape().to_string() +
                     " got a gradient of shape " + v.grad.shape().to_string());
  bool slots_match = slots.size() == static_cast<size_t>(num_slots());
  for (const Tensor& s : slots) slots_match = slots_match && s.size() == v.value.size();
  if (!slots_match)
    throw ShapeError(name_ + ": the slots of variable " + v.path + " do not match its shape " +
                     v.value.shape().to_string() + " (expected " + std::to_string(num_slots()) +
                     " slots of that shape)");
}

bool Optimizer::prepare_gradient(size_t i, Variable& v, bool update_step) {
  const int64_t n = v.value.size();
  float* g = v.grad.data<float>();
  const float inv_scale =
      base_.loss_scale_factor ? static_cast<float>(1.0 / *base_.loss_scale_factor) : 1.f;
  if (!base_.gradient_accumulation_steps) {
    if (inv_scale != 1.f) {
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) g[j] *= inv_scale;
    }
    return true;
  }
  Tensor& acc_t = accumulators_[i];
  if (!acc_t.defined()) acc_t = zeros_like(v);
  float* acc = acc_t.data<float>();
  if (!update_step) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) acc[j] += g[j] * inv_scale;
    return false;
  }
  // The update uses the mean of the accumulated gradients and this one; then restart.
  const float steps = static_cast<float>(*base_.gradient_accumulation_steps);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    g[j] = (g[j] * inv_scale + acc[j]) / steps;
    acc[j] = 0.f;
  }
  return true;
}

void Optimizer::clip_gradients(const std::vector<VariablePtr>& variables) {
  ops::GradientClip clip;
  if (base_.clipnorm) {
    clip = {ops::GradientClip::Kind::norm, static_cast<float>(*base_.clipnorm)};
  } else if (base_.global_clipnorm) {
    clip = {ops::GradientClip::Kind::global_norm, static_cast<float>(*base_.global_clipnorm)};
  } else if (base_.clipvalue) {
    clip = {ops::GradientClip::Kind::value, static_cast<float>(*base_.clipvalue)};
  } else {
    return;
  }
  clip_grads_.clear();  // keeps its capacity: no allocation after the first step
  for (const auto& vp : variables)
    if (vp->trainable && vp->grad.defined()) clip_grads_.push_back(&vp->grad);
  ops::clip_gradients(clip_grads_.data(), static_cast<int>(clip_grads_.size()), clip);
}

void Optimizer::update_moving_averages(const std::vector<VariablePtr>& variables) {
  // Keras: momentum is 0 at the first update (the average starts as the weights).
  const float mu = updates() != 0 ? static_cast<float>(base_.ema_momentum) : 0.f;
  const bool overwrite = base_.ema_overwrite_frequency &&
                         (updates() + 1) % *base_.ema_overwrite_frequency == 0;
  for (size_t i = 0; i < variables.size(); ++i) {
    Variable& v = *variables[i];
    if (!v.trainable) continue;
    if (!averages_[i].defined()) averages_[i] = zeros_like(v);
    float* avg = averages_[i].data<float>();
    float* w = v.value.data<float>();
    const int64_t n = v.value.size();
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) avg[j] = mu * avg[j] + (1.f - mu) * w[j];
    if (overwrite) std::copy(avg, avg + n, w);
  }
}

void Optimizer::move_state_to(Device device) {
  auto move = [&](Tensor& t) {
    if (t.defined() && t.device() != device) t = t.to(device);
  };
  for (auto& slots : slots_)
    for (Tensor& t : slots) move(t);
  for (Tensor& t : averages_) move(t);
  for (Tensor& t : accumulators_) move(t);
}

void Optimizer::apply_on_device(const std::vector<VariablePtr>& variables) {
  const auto unsupported = [&](const std::string& what) {
    throw Error(name_ + ": " + what + " is not supported on a GPU yet (train on the CPU, or "
                "leave it unset)");
  };
  if (base_.gradient_accumulation_steps) unsupported("gradient_accumulation_steps");
  if (base_.use_ema) unsupported("use_ema");
  if (base_.loss_scale_factor && *base_.loss_scale_factor != 1.0) unsupported("loss_scale_factor");
  fused_.params.clear();
  fused_.grads.clear();
  for (auto& s : fused_.slot) s.clear();
  for (size_t i = 0; i < variables.size(); ++i) {
    Variable& v = *variables[i];
    if (!v.trainable || !v.grad.defined()) continue;
    if (v.constraint) unsupported("a weight constraint (on " + v.path + ")");
    if (slots_[i].empty()) slots_[i] = make_slots(v);
    check_variable(v, slots_[i]);
    fused_.params.push_back(&v.value);
    fused_.grads.push_back(&v.grad);
    for (size_t k = 0; k < slots_[i].size() && k < 3; ++k) fused_.slot[k].push_back(&slots_[i][k]);
  }
  if (fused_.params.empty()) return;
  clip_gradients(variables);  // on the device, before the update as on the CPU
  if (!fused_update(fused_, static_cast<float>(learning_rate()), static_cast<float>(weight_decay_)))
    throw Error(name_ + " has no fused update, so it cannot train on a GPU (the built-in "
                "optimizers have one; a custom one needs fused_update)");
}

void Optimizer::apply(const std::vector<VariablePtr>& variables) {
  // Comparing counts (not a "built" flag) keeps slots that a checkpoint loader filled in.
  if (slots_.size() != variables.size()) build(variables);
  for (const auto& v : variables)
    if (v->trainable && v->grad.defined()) {
      if (v->value.device().is_cpu()) break;
      apply_on_device(variables);
      ++iterations_;
      return;
    }
  const bool update_step = !base_.gradient_accumulation_steps ||
                           (iterations_ + 1) % *base_.gradient_accumulation_steps == 0;
  bool any = false;
  for (size_t i = 0; i < variables.size(); ++i) {
    Variable& v = *variables[i];
    if (!v.trainable || !v.grad.defined()) continue;
    // A variable made trainable after the first step gets its slots now.
    if (slots_[i].empty()) slots_[i] = make_slots(v);
    check_variable(v, slots_[i]);
    any = prepare_gradient(i, v, update_step) || any;
  }
  if (any) {
    clip_gradients(variables);
    const float lr = static_cast<float>(learning_rate());
    const float wd = static_cast<float>(weight_decay_);
    for (size_t i = 0; i < variables.size(); ++i) {
      Variable& v = *variables[i];
      if (!v.trainable || !v.grad.defined()) continue;
      const int64_t n = v.value.size();
      float* w = v.value.data<float>();
      ops::optimizer_math::decay_tensor(w, n, wd, lr);  // Keras: before the update
      update(w, v.grad.data<float>(), slots_[i], n, lr);
    }
  }
  if (base_.use_ema) update_moving_averages(variables);
  // Constraints project the weights after every step, as Keras' apply() does.
  for (const auto& vp : variables)
    if (vp->trainable && vp->constraint) vp->constraint->apply(vp->value);
  ++iterations_;
}

void Optimizer::finalize_variable_values(const std::vector<VariablePtr>& variables) {
  if (!base_.use_ema || averages_.size() != variables.size()) return;
  for (size_t i = 0; i < variables.size(); ++i)
    if (variables[i]->trainable && averages_[i].defined())
      std::copy(averages_[i].data<float>(), averages_[i].data<float>() + averages_[i].size(),
                variables[i]->value.data<float>());
}

json Optimizer::get_config() const {
  auto opt = [](const auto& v) { return v ? json(*v) : json(nullptr); };
  json lr = learning_rate_.is_schedule() ? schedules::serialize(*learning_rate_.schedule())
                                         : json(learning_rate_.value());
  return json{{"name", name_},
              {"learning_rate", lr},
              {"weight_decay", weight_decay_ != 0.0 ? json(weight_decay_) : json(nullptr)},
              {"clipnorm", opt(base_.clipnorm)},
              {"global_clipnorm", opt(base_.global_clipnorm)},
              {"clipvalue", opt(base_.clipvalue)},
              {"use_ema", base_.use_ema},
              {"ema_momentum", base_.ema_momentum},
              {"ema_overwrite_frequency", opt(base_.ema_overwrite_frequency)},
              {"loss_scale_factor", opt(base_.loss_scale_factor)},
              {"gradient_accumulation_steps", opt(base_.gradient_accumulation_steps)}};
}

std::shared_ptr<Optimizer> Optimizer::get(const std::string& name) {
  using Factory = std::function<std::shared_ptr<Optimizer>()>;
  // Keras accepts the class name and its lower-case form (optimizers.get / ALL_OBJECTS_DICT).
  static const std::map<std::string, Factory> factories = {
      {"sgd", [] { return std::make_shared<SGD>(); }},
      {"adam", [] { return std::make_shared<Adam>(); }},
      {"adamw", [] { return std::make_shared<AdamW>(); }},
      {"rmsprop", [] { return std::make_shared<RMSprop>(); }},
      {"adagrad", [] { return std::make_shared<Adagrad>(); }},
  };
  static const std::map<std::string, std::string> class_names = {
      {"SGD", "sgd"}, {"Adam", "adam"}, {"AdamW", "adamw"},
      {"RMSprop", "rmsprop"}, {"Adagrad", "adagrad"}};
  auto it = factories.find(name);
  if (it == factories.end()) {
    auto cls = class_names.find(name);
    if (cls != class_names.end()) it = factories.find(cls->second);
  }
  if (it == factories.end()) {
    std::string known;
    for (const auto& [key, factory] : factories) known += (known.empty() ? "" : ", ") + key;
    throw ConfigError("unknown optimizer \"" + name + "\"; known optimizers: " + known);
  }
  return it->second();
}

}  // namespace fitrun::optimizers
