#pragma once
// Weight initializers with Keras' names and maths (fan_in/fan_out from the weight's shape).
#include <memory>
#include <string>

#include "fitrun/json.hpp"
#include "fitrun/random.hpp"
#include "fitrun/ref.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::initializers {

class Initializer {
 public:
  virtual ~Initializer() = default;
  /// Fills `t` using `gen`. fan_in/fan_out follow Keras' `compute_fans`.
  virtual void fill(Tensor& t, Generator& gen) const = 0;
  virtual std::string class_name() const = 0;
  virtual json get_config() const { return json::object(); }
  /// "glorot_uniform", "he_normal", "zeros", ... (Keras' snake_case or class names).
  static std::shared_ptr<Initializer> get(const std::string& name);
};

/// Keras' fans: Dense (in, out) -> (in, out); Conv (k..., in, out) -> (in*k, out*k).
std::pair<double, double> compute_fans(const Shape& shape);

class Zeros : public Initializer {
 public:
  void fill(Tensor& t, Generator&) const override;
  std::string class_name() const override { return "Zeros"; }
};
class Ones : public Initializer {
 public:
  void fill(Tensor& t, Generator&) const override;
  std::string class_name() const override { return "Ones"; }
};
class Constant : public Initializer {
 public:
  explicit Constant(float value = 0.f) : value_(value) {}
  void fill(Tensor& t, Generator&) const override;
  std::string class_name() const override { return "Constant"; }
  json get_config() const override;
 private:
  float value_;
};
class RandomNormal : public Initializer {
 public:
  explicit RandomNormal(float mean = 0.f, float stddev = 0.05f) : mean_(mean), stddev_(stddev) {}
  void fill(Tensor& t, Generator& gen) const override;
  std::string class_name() const override { return "RandomNormal"; }
  json get_config() const override;
 private:
  float mean_, stddev_;
};
class RandomUniform : public Initializer {
 public:
  explicit RandomUniform(float minval = -0.05f, float maxval = 0.05f)
      : minval_(minval), maxval_(maxval) {}
  void fill(Tensor& t, Generator& gen) const override;
  std::string class_name() const override { return "RandomUniform"; }
  json get_config() const override;
 private:
  float minval_, maxval_;
};

/// Keras' VarianceScaling: the family behind glorot_*, he_*, lecun_*.
class VarianceScaling : public Initializer {
 public:
  enum class Mode { fan_in, fan_out, fan_avg };
  enum class Distribution { truncated_normal, untruncated_normal, uniform };
  VarianceScaling(float scale, Mode mode, Distribution distribution, std::string name)
      : scale_(scale), mode_(mode), distribution_(distribution), name_(std::move(name)) {}
  void fill(Tensor& t, Generator& gen) const override;
  std::string class_name() const override { return name_; }
  json get_config() const override;
 private:
  float scale_;
  Mode mode_;
  Distribution distribution_;
  std::string name_;
};

/// Keras' Orthogonal (the recurrent kernels' default): the weight viewed as
/// (prod(shape[:-1]), shape[-1]) gets orthonormal columns (or rows, when it is wide) from the
/// QR decomposition of a normal matrix, times `gain`.
class Orthogonal : public Initializer {
 public:
  explicit Orthogonal(float gain = 1.f) : gain_(gain) {}
  void fill(Tensor& t, Generator& gen) const override;
  std::string class_name() const override { return "Orthogonal"; }
  json get_config() const override;
 private:
  float gain_;
};

VarianceScaling GlorotUniform();
VarianceScaling GlorotNormal();
VarianceScaling HeUniform();
VarianceScaling HeNormal();
VarianceScaling LecunNormal();
VarianceScaling LecunUniform();

}  // namespace fitrun::initializers

namespace fitrun {
using InitializerRef = Ref<initializers::Initializer>;
}
