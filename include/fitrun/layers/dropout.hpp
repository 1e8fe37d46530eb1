#pragma once
#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// Zeroes a `rate` fraction of inputs in training and scales the rest by 1/(1-rate).
/// Identity at inference.
class Dropout : public LayerOf<Dropout> {
 public:
  explicit Dropout(float rate, std::string name = "");
  std::string class_name() const override { return "Dropout"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  float rate() const { return rate_; }

 private:
  float rate_;
};

}  // namespace fitrun::layers
