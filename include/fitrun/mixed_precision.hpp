#pragma once
// Keras' mixed-precision policies (keras.mixed_precision): a layer made while the global policy
// is "mixed_bfloat16" multiplies in bfloat16 and keeps float32 variables ("master weights").
//
//   fitrun::mixed_precision::set_global_policy("mixed_bfloat16");
//   Sequential model({Input({784}), Dense(256, "relu"), Dense(10)});     // both bf16 compute
//   auto head = Dense(10).with_dtype_policy("float32");                    // this one float32
//
// Unlike Keras, tensors between layers stay float32 (as PyTorch's autocast does): only the
// heavy ops of Dense and the convolution layers read their inputs and weights in bfloat16,
// accumulate in float32 and write float32 outputs and gradients. Every other layer computes in
// float32 whatever its policy. docs/gpu.md ("Mixed precision") says what runs where.
#include <string>

#include "fitrun/dtype.hpp"

namespace fitrun::mixed_precision {

/// Keras' DTypePolicy: a name, the dtype layers compute in and the dtype of their variables.
/// fitrun knows "float32" and "mixed_bfloat16"; "mixed_float16" (float16 with loss scaling)
/// is not supported yet.
class DTypePolicy {
 public:
  /// "float32".
  DTypePolicy() = default;
  /// Throws ConfigError for a name fitrun does not support, naming it and the supported ones.
  DTypePolicy(const std::string& name);  // NOLINT: implicit, as Keras takes dtype="..."
  DTypePolicy(const char* name) : DTypePolicy(std::string(name)) {}  // NOLINT

  const std::string& name() const { return name_; }
  /// "float32" or "bfloat16".
  std::string compute_dtype() const { return compute_dtype_name(compute_); }
  /// Always "float32": fitrun keeps master weights in float32.
  std::string variable_dtype() const { return "float32"; }
  ComputeDType compute() const { return compute_; }
  bool operator==(const DTypePolicy& o) const { return name_ == o.name_; }
  bool operator!=(const DTypePolicy& o) const { return name_ != o.name_; }

 private:
  std::string name_ = "float32";
  ComputeDType compute_ = ComputeDType::float32;
};

/// The policy layers take when they are made (Keras' set_global_policy / dtype_policy()).
/// Layers already made keep theirs. Throws ConfigError for an unsupported name.
void set_global_policy(const DTypePolicy& policy);
const DTypePolicy& global_policy();

/// Sets the global policy for a scope and restores the previous one on exit.
class PolicyScope {
 public:
  explicit PolicyScope(const DTypePolicy& policy) : saved_(global_policy()) {
    set_global_policy(policy);
  }
  ~PolicyScope() { set_global_policy(saved_); }
  PolicyScope(const PolicyScope&) = delete;
  PolicyScope& operator=(const PolicyScope&) = delete;

 private:
  DTypePolicy saved_;
};

}  // namespace fitrun::mixed_precision
