// Regression losses (formulas in losses/loss_rows.hpp, loop in Loss::elementwise_per_sample).
// Keras takes the mean over the last axis and then over the batch (and timesteps); here each
// sample's loss is the mean over all its elements, which is the same.
#include "fitrun/losses/loss.hpp"

namespace fitrun::losses {

void MeanSquaredError::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                                  float* grad) const {
  elementwise_per_sample(y_true, y_pred, out, grad);
}

void MeanAbsoluteError::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                                   float* grad) const {
  elementwise_per_sample(y_true, y_pred, out, grad);
}

void Huber::per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                       float* grad) const {
  elementwise_per_sample(y_true, y_pred, out, grad);
}

json Huber::get_config() const {
  json config = Loss::get_config();
  config["delta"] = delta_;
  return config;
}

}  // namespace fitrun::losses
