#pragma once
// Finite-difference gradient checking, public so that authors of custom layers can verify
// their backward the same way fitrun's own tests do.
#include <string>
#include <vector>

#include "fitrun/layer.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::testing {

struct GradientCheckOptions {
  double epsilon = 1e-2;        // central-difference step (float32 needs a large one)
  double tolerance = 2e-2;      // max relative error |a-n| / max(|a|+|n|, floor)
  double floor = 1e-2;          // denominator floor for near-zero gradients
  int max_checks_per_tensor = 64;  // elements sampled per input/weight tensor
  bool training = true;         // forward mode (Dropout uses a fixed mask across checks)
  uint64_t seed = 1234;         // for the random projection of the output
};

struct GradientCheckResult {
  bool ok = true;
  double max_error = 0;
  /// Where the largest error was: "input 0 [12]" or "weight dense/kernel [3]".
  std::string worst;
  std::string report;  // one line per failing element
};

/// Compares `layer`'s backward with central differences of L = Σ w·forward(inputs) for a
/// fixed random w, over inputs and trainable weights. Builds the layer if needed. A layer with
/// several outputs (num_outputs() > 1) is checked through all of them: L sums one such
/// projection per output (forward_multi / backward_multi).
GradientCheckResult check_gradients(Layer& layer, const std::vector<Tensor>& inputs,
                                    const GradientCheckOptions& options = {});

}  // namespace fitrun::testing
