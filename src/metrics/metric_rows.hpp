#pragma once
// The per-row maths of the built-in metrics, shared by the CPU updates (metrics.cpp) and the
// CUDA kernels (src/backend/cuda/losses.cu). A row is C predictions with, for sparse metrics,
// one class index `t[0]`, else C labels `t[0..C)`.
#include <cmath>
#include <cstdint>

#include "fitrun/host_device.hpp"
#include "fitrun/metrics/row_spec.hpp"

namespace fitrun::metrics::rows {

/// First index of the largest value, as argmax.
template <class T>
FITRUN_HD inline int64_t argmax(const T* x, int64_t c) {
  int64_t best = 0;
  for (int64_t j = 1; j < c; ++j)
    if (x[best] < x[j]) best = j;
  return best;
}

/// The row's value: a hit (0 or 1) for the accuracies; for the element-wise metrics the sum
/// over its elements (hits, |error| or error²; the caller divides the total by C).
/// Top-k: in the top k when fewer than k classes score strictly higher than the label's class,
/// so ties at the boundary count as hits (TensorFlow's in_top_k); invalid labels are misses.
template <class Label>
FITRUN_HD inline double value(const RowSpec& s, const float* x, const Label* t, int64_t c) {
  switch (s.kind) {
    case RowSpec::Kind::sparse_categorical_accuracy:
      return static_cast<double>(argmax(x, c)) == static_cast<double>(t[0]) ? 1.0 : 0.0;
    case RowSpec::Kind::categorical_accuracy: return argmax(x, c) == argmax(t, c) ? 1.0 : 0.0;
    case RowSpec::Kind::sparse_top_k_categorical_accuracy: {
      const double label = static_cast<double>(t[0]);
      if (!(label >= 0 && label < static_cast<double>(c)) ||
          label != static_cast<double>(static_cast<int64_t>(label)))
        return 0.0;
      const float target = x[static_cast<int64_t>(label)];
      int64_t higher = 0;
      for (int64_t j = 0; j < c; ++j) higher += x[j] > target;
      return higher < s.k ? 1.0 : 0.0;
    }
    default: break;
  }
  double sum = 0;
  for (int64_t j = 0; j < c; ++j) {
    const double label = static_cast<double>(t[j]);
    if (s.kind == RowSpec::Kind::binary_accuracy) {
      sum += (x[j] > s.threshold ? 1.0 : 0.0) == label ? 1.0 : 0.0;
    } else {
      const double e = static_cast<double>(x[j]) - label;
      sum += s.kind == RowSpec::Kind::absolute_error ? fabs(e) : e * e;
    }
  }
  return sum;
}

}  // namespace fitrun::metrics::rows
