// Optimizer base: slot creation, the per-step loop over variables (decoupled weight decay, then
// the subclass' update rule) and the name registry.
#include "fitrun/optimizers/optimizer.hpp"

#include <functional>
#include <map>

#include "fitrun/error.hpp"

namespace fitrun::optimizers {

std::vector<Tensor> Optimizer::make_slots(const Variable& v) const {
  std::vector<Tensor> slots;
  for (int k = 0; k < num_slots(); ++k) {
    Tensor slot(v.value.shape(), DType::float32, v.value.device());
    slot.fill(slot_initial_value(k));
    slots.push_back(std::move(slot));
  }
  return slots;
}

void Optimizer::build(const std::vector<VariablePtr>& variables) {
  slots_.assign(variables.size(), {});
  for (size_t i = 0; i < variables.size(); ++i)
    // Keras builds slots for trainable variables only; an empty list keeps indices aligned.
    if (variables[i]->trainable) slots_[i] = make_slots(*variables[i]);
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

void Optimizer::apply(const std::vector<VariablePtr>& variables) {
  // Comparing counts (not a "built" flag) keeps slots that a checkpoint loader filled in.
  if (slots_.size() != variables.size()) build(variables);
  const float lr = static_cast<float>(learning_rate_);
  const float wd = static_cast<float>(weight_decay_);
  for (size_t i = 0; i < variables.size(); ++i) {
    Variable& v = *variables[i];
    if (!v.trainable || !v.grad.defined()) continue;
    // A variable made trainable after the first step gets its slots now.
    if (slots_[i].empty()) slots_[i] = make_slots(v);
    check_variable(v, slots_[i]);
    const int64_t n = v.value.size();
    float* w = v.value.data<float>();
    const float* g = v.grad.data<float>();
    if (wd != 0.f) {
      // Keras' _apply_weight_decay: w = w - w*wd*lr, before the update.
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) w[j] = w[j] - w[j] * wd * lr;
    }
    update(w, g, slots_[i], n, lr);
  }
  ++iterations_;
}

json Optimizer::get_config() const {
  // fitrun has no clipping, EMA, loss scaling or accumulation: those keys carry Keras' defaults
  // so that Keras reads the config back unchanged.
  return json{{"name", name_},
              {"learning_rate", learning_rate_},
              {"weight_decay", weight_decay_ != 0.0 ? json(weight_decay_) : json(nullptr)},
              {"clipnorm", nullptr},
              {"global_clipnorm", nullptr},
              {"clipvalue", nullptr},
              {"use_ema", false},
              {"ema_momentum", 0.99},
              {"ema_overwrite_frequency", nullptr},
              {"loss_scale_factor", nullptr},
              {"gradient_accumulation_steps", nullptr}};
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
