#pragma once
// SpatialDropout1D/2D: Dropout that drops whole channels (feature maps) per sample, as Keras
// (noise shape (batch, 1, [1,] channels)), channels_last.
#include <optional>
#include <string>

#include "fitrun/layer.hpp"

namespace fitrun::layers {

/// In training, zeroes each (sample, channel) feature map with probability `rate` and scales
/// the others by 1/(1-rate). Identity at inference. Input (batch, height, width, channels).
/// Masks follow Dropout's seed rule (`seed`, or one drawn from the global seed).
class SpatialDropout2D : public LayerOf<SpatialDropout2D> {
 public:
  explicit SpatialDropout2D(float rate, std::string name = "",
                            std::optional<uint32_t> seed = std::nullopt);
  std::string class_name() const override { return "SpatialDropout2D"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  float rate() const { return rate_; }
  uint32_t noise_seed() const { return noise_seed_; }

 protected:
  SpatialDropout2D(float rate, std::string name, std::optional<uint32_t> seed, int rank);
  float rate_;
  uint32_t noise_seed_;
  int rank_;  // expected input rank
};

/// SpatialDropout2D for (batch, steps, channels).
class SpatialDropout1D : public SpatialDropout2D {
 public:
  explicit SpatialDropout1D(float rate, std::string name = "",
                            std::optional<uint32_t> seed = std::nullopt);
  std::string class_name() const override { return "SpatialDropout1D"; }
  std::shared_ptr<Layer> take() && override;
};

}  // namespace fitrun::layers
