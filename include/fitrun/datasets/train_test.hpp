#pragma once
// TrainTest: what the Keras-like load_data() helpers return, (x_train, y_train), (x_test, y_test).
#include "fitrun/tensor.hpp"

namespace fitrun::datasets {

struct TrainTest {
  Tensor x_train, y_train, x_test, y_test;
};

}  // namespace fitrun::datasets
