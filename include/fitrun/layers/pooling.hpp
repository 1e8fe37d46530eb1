#pragma once
// Pooling layers, channels_last: MaxPooling1D/2D, AveragePooling1D/2D (padding "valid" or
// "same"; average pooling divides by the number of real, unpadded elements, as Keras), and
// GlobalAveragePooling1D/2D, GlobalMaxPooling1D/2D.
#include <string>

#include "fitrun/layer.hpp"
#include "fitrun/layers/spatial.hpp"

namespace fitrun::layers {

struct Pooling2DOptions {
  Size2 strides;                  // unset (0, 0): the pool size, as Keras' strides=None
  std::string padding = "valid";  // "valid" or "same"
  std::string name;
};

struct Pooling1DOptions {
  int64_t strides = 0;            // 0: the pool size
  std::string padding = "valid";
  std::string name;
};

/// The shared implementation of the four windowed pooling layers (1-D ones run as 2-D with a
/// height of 1).
class Pooling : public Layer {
 public:
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;

  Size2 pool_size() const { return pool_; }
  Size2 strides() const { return strides_; }
  const std::string& padding() const { return padding_; }

 protected:
  Pooling(bool max, int spatial_rank, Size2 pool_size, Size2 strides, std::string padding,
          std::string name, const char* class_name);
  bool max_;
  int rank_;  // 1 or 2 spatial axes
  Size2 pool_, strides_;
  std::string padding_;
};

class MaxPooling2D : public Pooling {
 public:
  explicit MaxPooling2D(Size2 pool_size = 2, Pooling2DOptions options = {});
  std::string class_name() const override { return "MaxPooling2D"; }
  std::shared_ptr<Layer> take() && override;
};

class AveragePooling2D : public Pooling {
 public:
  explicit AveragePooling2D(Size2 pool_size = 2, Pooling2DOptions options = {});
  std::string class_name() const override { return "AveragePooling2D"; }
  std::shared_ptr<Layer> take() && override;
};

class MaxPooling1D : public Pooling {
 public:
  explicit MaxPooling1D(int64_t pool_size = 2, Pooling1DOptions options = {});
  std::string class_name() const override { return "MaxPooling1D"; }
  std::shared_ptr<Layer> take() && override;
};

class AveragePooling1D : public Pooling {
 public:
  explicit AveragePooling1D(int64_t pool_size = 2, Pooling1DOptions options = {});
  std::string class_name() const override { return "AveragePooling1D"; }
  std::shared_ptr<Layer> take() && override;
};

struct GlobalPoolingOptions {
  bool keepdims = false;  // keep the pooled axes with size 1
  std::string name;
};

/// The shared implementation of the global pooling layers: the whole spatial extent is one
/// window.
class GlobalPooling : public Layer {
 public:
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  void forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
               Tensor& output) override;
  void backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& output,
                const Tensor& grad_output, const std::vector<Tensor*>& grad_inputs) override;
  json get_config() const override;
  bool keepdims() const { return keepdims_; }

 protected:
  GlobalPooling(bool max, int spatial_rank, GlobalPoolingOptions options, const char* class_name);
  bool max_;
  int rank_;
  bool keepdims_;
};

class GlobalAveragePooling2D : public GlobalPooling {
 public:
  explicit GlobalAveragePooling2D(GlobalPoolingOptions options = {});
  std::string class_name() const override { return "GlobalAveragePooling2D"; }
  std::shared_ptr<Layer> take() && override;
};

class GlobalMaxPooling2D : public GlobalPooling {
 public:
  explicit GlobalMaxPooling2D(GlobalPoolingOptions options = {});
  std::string class_name() const override { return "GlobalMaxPooling2D"; }
  std::shared_ptr<Layer> take() && override;
};

class GlobalAveragePooling1D : public GlobalPooling {
 public:
  explicit GlobalAveragePooling1D(GlobalPoolingOptions options = {});
  std::string class_name() const override { return "GlobalAveragePooling1D"; }
  std::shared_ptr<Layer> take() && override;
};

class GlobalMaxPooling1D : public GlobalPooling {
 public:
  explicit GlobalMaxPooling1D(GlobalPoolingOptions options = {});
  std::string class_name() const override { return "GlobalMaxPooling1D"; }
  std::shared_ptr<Layer> take() && override;
};

}  // namespace fitrun::layers
