#include "fitrun/mixed_precision.hpp"

#include "fitrun/error.hpp"

namespace fitrun::mixed_precision {

namespace {
DTypePolicy& global() {
  static DTypePolicy policy;
  return policy;
}
}  // namespace

DTypePolicy::DTypePolicy(const std::string& name) : name_(name) {
  if (name == "float32") {
    compute_ = ComputeDType::float32;
  } else if (name == "mixed_bfloat16") {
    compute_ = ComputeDType::bfloat16;
  } else if (name == "mixed_float16" || name == "bfloat16" || name == "float16" ||
             name == "float64") {
    // Keras' other policies: float16 needs loss scaling (planned for GPUs); the plain
    // bfloat16/float16/float64 policies would store variables in that type.
    throw ConfigError("dtype policy \"" + name +
                      "\" is not supported yet; fitrun supports \"float32\" and "
                      "\"mixed_bfloat16\"");
  } else {
    throw ConfigError("unknown dtype policy \"" + name +
                      "\"; expected \"float32\" or \"mixed_bfloat16\"");
  }
}

void set_global_policy(const DTypePolicy& policy) { global() = policy; }

const DTypePolicy& global_policy() { return global(); }

}  // namespace fitrun::mixed_precision
