#pragma once
// Reshaping layers for images and sequences (channels_last): ZeroPadding2D, Cropping2D,
// UpSampling2D, Permute and RepeatVector.
#include <string>
#include <vector>

#include "fitrun/layer.hpp"
#include "fitrun/layers/spatial.hpp"

namespace fitrun::layers {

/// Adds rows and columns of zeros around (batch, height, width, channels) images:
/// ZeroPadding2D(1), ZeroPadding2D({1, 2}), ZeroPadding2D({{1, 0}, {2, 2}}).
class ZeroPadding2D : public LayerOf<ZeroPadding2D> {
 public:
  explicit ZeroPadding2D(Padding2D padding = 1, std::string name = "");
  std::string class_name() const override { return "ZeroPadding2D"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  const Padding2D& padding() const { return padding_; }

 private:
  Padding2D padding_;
};

/// Removes rows and columns at the image borders: Cropping2D({{top, bottom}, {left, right}}).
class Cropping2D : public LayerOf<Cropping2D> {
 public:
  explicit Cropping2D(Padding2D cropping = 0, std::string name = "");
  std::string class_name() const override { return "Cropping2D"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  const Padding2D& cropping() const { return cropping_; }

 private:
  Padding2D cropping_;
};

/// Repeats rows and columns (nearest-neighbour upsampling): UpSampling2D(2). Only
/// interpolation "nearest" is implemented.
class UpSampling2D : public LayerOf<UpSampling2D> {
 public:
  explicit UpSampling2D(Size2 size = 2, const std::string& interpolation = "nearest",
                        std::string name = "");
  std::string class_name() const override { return "UpSampling2D"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  Size2 size() const { return size_; }

 private:
  Size2 size_;
};

/// Permutes the non-batch axes; `dims` is 1-based as in Keras: Permute({2, 1}) swaps the two
/// axes of a (batch, a, b) input.
class Permute : public LayerOf<Permute> {
 public:
  explicit Permute(std::vector<int> dims, std::string name = "");
  std::string class_name() const override { return "Permute"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  const std::vector<int>& dims() const { return dims_; }

 private:
  std::vector<int> dims_;
  int perm_[8] = {0};     // with the batch axis, 0-based
  int inverse_[8] = {0};
};

/// (batch, features) -> (batch, n, features).
class RepeatVector : public LayerOf<RepeatVector> {
 public:
  explicit RepeatVector(int64_t n, std::string name = "");
  std::string class_name() const override { return "RepeatVector"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override;
  void forward(CallContext&, const std::vector<const Tensor*>&, Tensor&) override;
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor&,
                const std::vector<Tensor*>&) override;
  json get_config() const override;
  int64_t n() const { return n_; }

 private:
  int64_t n_;
};

}  // namespace fitrun::layers
