#include "fitrun/initializers.hpp"

#include <cmath>
#include <vector>
#include <algorithm>

#include "fitrun/error.hpp"
#include "io/keras_json.hpp"

namespace fitrun::initializers {

std::pair<double, double> compute_fans(const Shape& shape) {
  if (shape.rank() == 0) return {1, 1};
  if (shape.rank() == 1) return {double(shape[0]), double(shape[0])};
  if (shape.rank() == 2) return {double(shape[0]), double(shape[1])};
  double receptive = 1;
  for (int i = 0; i < shape.rank() - 2; ++i) receptive *= double(shape[i]);
  return {double(shape.dim(-2)) * receptive, double(shape.dim(-1)) * receptive};
}

void Zeros::fill(Tensor& t, Generator&) const { t.fill(0); }
void Ones::fill(Tensor& t, Generator&) const { t.fill(1); }
void Constant::fill(Tensor& t, Generator&) const { t.fill(value_); }

void RandomNormal::fill(Tensor& t, Generator& gen) const {
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i) p[i] = mean_ + stddev_ * gen.normal();
}

void RandomUniform::fill(Tensor& t, Generator& gen) const {
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i) p[i] = minval_ + (maxval_ - minval_) * gen.uniform();
}

void VarianceScaling::fill(Tensor& t, Generator& gen) const {
  auto [fan_in, fan_out] = compute_fans(t.shape());
  double n = mode_ == Mode::fan_in ? fan_in : mode_ == Mode::fan_out ? fan_out
                                                                      : (fan_in + fan_out) / 2;
  double s = scale_ / std::max(1.0, n);
  float* p = t.data<float>();
  const int64_t count = t.size();
  switch (distribution_) {
    case Distribution::truncated_normal: {
      // Keras: stddev of a normal truncated at ±2σ has this correction constant.
      const float stddev = static_cast<float>(std::sqrt(s) / 0.87962566103423978);
      for (int64_t i = 0; i < count; ++i) {
        float v;
        do v = gen.normal(); while (std::fabs(v) > 2.f);
        p[i] = v * stddev;
      }
      break;
    }
    case Distribution::untruncated_normal: {
      const float stddev = static_cast<float>(std::sqrt(s));
      for (int64_t i = 0; i < count; ++i) p[i] = gen.normal() * stddev;
      break;
    }
    case Distribution::uniform: {
      const float limit = static_cast<float>(std::sqrt(3.0 * s));
      for (int64_t i = 0; i < count; ++i) p[i] = -limit + 2 * limit * gen.uniform();
      break;
    }
  }
}

json VarianceScaling::get_config() const {
  // Keras' GlorotUniform, HeNormal, ... take only a seed; VarianceScaling itself takes all.
  if (name_ != "VarianceScaling") return {{"seed", nullptr}};
  static const char* modes[] = {"fan_in", "fan_out", "fan_avg"};
  static const char* dists[] = {"truncated_normal", "untruncated_normal", "uniform"};
  return {{"scale", io::keras_float(scale_)}, {"mode", modes[int(mode_)]},
          {"distribution", dists[int(distribution_)]}, {"seed", nullptr}};
}

json Constant::get_config() const { return {{"value", io::keras_float(value_)}}; }
json RandomNormal::get_config() const {
  return {{"mean", io::keras_float(mean_)}, {"stddev", io::keras_float(stddev_)}, {"seed", nullptr}};
}
json RandomUniform::get_config() const {
  return {{"minval", io::keras_float(minval_)}, {"maxval", io::keras_float(maxval_)},
          {"seed", nullptr}};
}

using M = VarianceScaling::Mode;
using D = VarianceScaling::Distribution;
void Orthogonal::fill(Tensor& t, Generator& gen) const {
  if (t.rank() < 2) throw ConfigError("Orthogonal: the weight must have rank >= 2, got " +
                                      t.shape().to_string());
  const int64_t cols_in = t.dim(-1), rows_in = t.size() / cols_in;
  // Orthonormalize the columns of a tall (rows >= cols) normal matrix by modified
  // Gram-Schmidt (the Q of its QR with R's diagonal made positive, as Keras does).
  const bool wide = rows_in < cols_in;
  const int64_t rows = wide ? cols_in : rows_in, cols = wide ? rows_in : cols_in;
  std::vector<double> a(static_cast<size_t>(rows * cols));
  for (double& v : a) v = gen.normal();
  for (int64_t j = 0; j < cols; ++j) {
    for (int64_t k = 0; k < j; ++k) {
      double dot = 0;
      for (int64_t i = 0; i < rows; ++i) dot += a[i * cols + j] * a[i * cols + k];
      for (int64_t i = 0; i < rows; ++i) a[i * cols + j] -= dot * a[i * cols + k];
    }
    double norm = 0;
    for (int64_t i = 0; i < rows; ++i) norm += a[i * cols + j] * a[i * cols + j];
    norm = std::sqrt(std::max(norm, 1e-30));
    for (int64_t i = 0; i < rows; ++i) a[i * cols + j] /= norm;
  }
  float* p = t.data<float>();
  for (int64_t r = 0; r < rows_in; ++r)
    for (int64_t c = 0; c < cols_in; ++c)
      p[r * cols_in + c] =
          static_cast<float>(gain_ * (wide ? a[c * cols + r] : a[r * cols + c]));
}

json Orthogonal::get_config() const { return {{"gain", io::keras_float(gain_)}, {"seed", nullptr}}; }

VarianceScaling GlorotUniform() { return {1.f, M::fan_avg, D::uniform, "GlorotUniform"}; }
VarianceScaling GlorotNormal() { return {1.f, M::fan_avg, D::truncated_normal, "GlorotNormal"}; }
VarianceScaling HeUniform() { return {2.f, M::fan_in, D::uniform, "HeUniform"}; }
VarianceScaling HeNormal() { return {2.f, M::fan_in, D::truncated_normal, "HeNormal"}; }
VarianceScaling LecunNormal() { return {1.f, M::fan_in, D::truncated_normal, "LecunNormal"}; }
VarianceScaling LecunUniform() { return {1.f, M::fan_in, D::uniform, "LecunUniform"}; }

std::shared_ptr<Initializer> Initializer::get(const std::string& name) {
  if (name == "zeros" || name == "Zeros") return std::make_shared<Zeros>();
  if (name == "ones" || name == "Ones") return std::make_shared<Ones>();
  if (name == "constant" || name == "Constant") return std::make_shared<Constant>();
  if (name == "random_normal" || name == "RandomNormal" || name == "normal") return std::make_shared<RandomNormal>();
  if (name == "random_uniform" || name == "RandomUniform" || name == "uniform") return std::make_shared<RandomUniform>();
  if (name == "glorot_uniform" || name == "GlorotUniform")
    return std::make_shared<VarianceScaling>(GlorotUniform());
  if (name == "glorot_normal" || name == "GlorotNormal")
    return std::make_shared<VarianceScaling>(GlorotNormal());
  if (name == "he_uniform" || name == "HeUniform")
    return std::make_shared<VarianceScaling>(HeUniform());
  if (name == "he_normal" || name == "HeNormal") return std::make_shared<VarianceScaling>(HeNormal());
  if (name == "lecun_normal" || name == "LecunNormal")
    return std::make_shared<VarianceScaling>(LecunNormal());
  if (name == "lecun_uniform" || name == "LecunUniform")
    return std::make_shared<VarianceScaling>(LecunUniform());
  if (name == "orthogonal" || name == "Orthogonal") return std::make_shared<Orthogonal>();
  throw ConfigError("unknown initializer \"" + name +
                    "\"; known: zeros, ones, constant, random_normal, random_uniform, "
                    "glorot_uniform, glorot_normal, he_uniform, he_normal, lecun_normal, "
                    "lecun_uniform, orthogonal");
}

}  // namespace fitrun::initializers
