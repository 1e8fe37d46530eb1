#pragma once
// Which built-in metric formula a metric computes per row, with its options: what the device
// kernels need to update it on a GPU (the maths is in src/metrics/metric_rows.hpp).
#include "fitrun/host_device.hpp"

namespace fitrun::metrics {

struct RowSpec {
  /// none: a metric without a device path (a user's subclass); a model updates it on host
  /// copies of the outputs.
  enum class Kind { none, sparse_categorical_accuracy, categorical_accuracy, binary_accuracy,
                    sparse_top_k_categorical_accuracy, absolute_error, squared_error };
  Kind kind = Kind::none;
  float threshold = 0.5f;  // binary accuracy
  int k = 5;               // top-k
  /// Element-wise metrics add their values over all elements and divide the sum by C (the
  /// last axis); the others add one value per row (position).
  FITRUN_HD bool elementwise() const {
    return kind == Kind::binary_accuracy || kind == Kind::absolute_error ||
           kind == Kind::squared_error;
  }
  /// Sparse metrics take one class index per row, the others one label per prediction.
  FITRUN_HD bool sparse() const {
    return kind == Kind::sparse_categorical_accuracy ||
           kind == Kind::sparse_top_k_categorical_accuracy;
  }
};

}  // namespace fitrun::metrics
