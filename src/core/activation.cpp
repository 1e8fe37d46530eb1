#include "fitrun/activation.hpp"

#include <utility>

#include "fitrun/error.hpp"

namespace fitrun {

namespace {
const std::pair<const char*, ActivationFn> kNames[] = {
    {"linear", ActivationFn::linear},       {"relu", ActivationFn::relu},
    {"sigmoid", ActivationFn::sigmoid},     {"tanh", ActivationFn::tanh},
    {"gelu", ActivationFn::gelu},           {"gelu_approximate", ActivationFn::gelu_approximate},
    {"elu", ActivationFn::elu},             {"selu", ActivationFn::selu},
    {"leaky_relu", ActivationFn::leaky_relu}, {"swish", ActivationFn::swish},
    {"silu", ActivationFn::swish},          {"softplus", ActivationFn::softplus},
    {"softmax", ActivationFn::softmax},     {"log_softmax", ActivationFn::log_softmax},
    {"exponential", ActivationFn::exponential},
};
}  // namespace

ActivationFn parse_activation(const std::string& name) {
  if (name.empty() || name == "None" || name == "none") return ActivationFn::linear;
  for (const auto& [n, a] : kNames)
    if (name == n) return a;
  std::string known;
  for (const auto& [n, a] : kNames) known += (known.empty() ? "" : ", ") + std::string(n);
  throw ConfigError("unknown activation \"" + name + "\"; known activations: " + known);
}

std::string activation_name(ActivationFn a) {
  for (const auto& [n, v] : kNames)
    if (v == a) return n;
  return "linear";
}

}  // namespace fitrun
