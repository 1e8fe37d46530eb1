#pragma once
// Activation functions by Keras name. Parsing an unknown name throws a ConfigError that
// lists the known ones.
#include <string>

namespace fitrun {

enum class ActivationFn {
  linear, relu, sigmoid, tanh, gelu, gelu_approximate, elu, selu, leaky_relu,
  swish, softplus, softmax, log_softmax, exponential
};

/// "relu", "sigmoid", ..., "silu" (= swish), "" or "linear"/"None" for no activation.
ActivationFn parse_activation(const std::string& name);
std::string activation_name(ActivationFn a);

}  // namespace fitrun
