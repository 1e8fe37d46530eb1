#pragma once
// LabeledData: features and integer labels, as the file loaders return them.
#include "fitrun/tensor.hpp"

namespace fitrun::datasets {

struct LabeledData {
  Tensor x;  // (n, ...) float32
  Tensor y;  // (n,) int32
};

}  // namespace fitrun::datasets
