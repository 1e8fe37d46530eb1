#pragma once
// Which built-in loss formula a loss computes per row, with its options: what the device
// kernels need to compute it on a GPU (the maths is in losses/loss_rows.hpp). No dependencies,
// so that CUDA sources include it plainly.
#include "fitrun/host_device.hpp"

namespace fitrun::losses {

struct RowSpec {
  /// none: a loss without a device path (a user's subclass); a model computes it on host copies.
  enum class Kind { none, sparse_crossentropy, categorical_crossentropy, binary_crossentropy,
                    squared_error, absolute_error, huber };
  Kind kind = Kind::none;
  bool from_logits = false;
  float label_smoothing = 0.f;
  float delta = 1.f;  // Huber
  /// Crossentropies average a sample's loss over its positions (rows of the last axis); the
  /// element-wise losses over its elements.
  FITRUN_HD bool per_position() const {
    return kind == Kind::sparse_crossentropy || kind == Kind::categorical_crossentropy;
  }
};

}  // namespace fitrun::losses
