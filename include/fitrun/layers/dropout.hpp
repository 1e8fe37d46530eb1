#pragma once
#include <optional>

#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// Zeroes a `rate` fraction of inputs in training and scales the rest by 1/(1-rate).
/// Identity at inference. The mask of a step is a function of `seed` and the model's step
/// counter; without a seed, one is drawn from the global seed (fitrun::set_seed). get_config()
/// writes the seed in use, so a saved and reloaded model drops the same units.
class Dropout : public LayerOf<Dropout> {
 public:
  explicit Dropout(float rate, std::string name = "", std::optional<uint32_t> seed = std::nullopt);
  std::string class_name() const override { return "Dropout"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  float rate() const { return rate_; }
  /// The seed of the masks (Keras' `seed` argument, or the one drawn at construction).
  uint32_t noise_seed() const { return noise_seed_; }

 private:
  float rate_;
  uint32_t noise_seed_;
};

}  // namespace fitrun::layers
