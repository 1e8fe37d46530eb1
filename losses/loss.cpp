// Loss base: input checks, the reduction over samples, the gradient scaling, and the name
// registry behind Loss::get.
#include "fitrun/losses/loss.hpp"

#include <functional>
#include <utility>
#include <vector>

#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "losses/loss_rows.hpp"

namespace fitrun::losses {

namespace {

constexpr int64_t kParallelWork = 1 << 15;  // below this, threads cost more than they save

std::string reduction_name(Reduction r) {
  switch (r) {
    case Reduction::sum_over_batch_size: return "sum_over_batch_size";
    case Reduction::sum: return "sum";
    case Reduction::none: return "none";
  }
  return "sum_over_batch_size";
}

// Keras squeezes or expands a trailing 1 so that (N,) labels fit (N, 1) predictions.
bool same_up_to_trailing_one(const Shape& a, const Shape& b) {
  if (a == b) return true;
  if (a.rank() == b.rank() + 1 && a.dim(-1) == 1) {
    Shape head;
    for (int i = 0; i + 1 < a.rank(); ++i) head.push_back(a[i]);
    return head == b;
  }
  if (b.rank() == a.rank() + 1) return same_up_to_trailing_one(b, a);
  return false;
}

// Thread-local scratch that only grows, so a training step allocates nothing once warm.
float* per_sample_buffer(int64_t n) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < static_cast<size_t>(n)) buffer.resize(static_cast<size_t>(n));
  return buffer.data();
}

// Labels of another dtype (int 0/1 targets for binary_crossentropy) converted to float32 in a
// cached tensor; slice + reshape are views, so this allocates only when the batch grows.
Tensor float_labels(const Tensor& y_true) {
  thread_local Tensor cache;
  if (!cache.defined() || cache.size() < y_true.size())
    cache = Tensor(Shape{y_true.size()}, DType::float32);
  Tensor view = cache.slice(0, y_true.size()).reshape(y_true.shape());
  float* out = view.data<float>();
  for (int64_t i = 0; i < y_true.size(); ++i) out[i] = static_cast<float>(y_true.flat(i));
  return view;
}

}  // namespace

void Loss::check_shapes(const Shape& y_true, const Shape& y_pred) const {
  if (!same_up_to_trailing_one(y_true, y_pred))
    throw ShapeError(name_ + ": labels of shape " + y_true.to_string() +
                     " do not fit predictions of shape " + y_pred.to_string() +
                     "; expected labels of shape " + y_pred.to_string());
}

json Loss::get_config() const {
  return json{{"name", name_}, {"reduction", reduction_name(reduction_)}};
}

// Checks the inputs of compute/compute_on_device; returns the sample count.
int64_t Loss::check_inputs(const Tensor& y_true, const Tensor& y_pred, const Tensor* grad,
                           const Tensor* sample_weight) const {
  if (!y_pred.defined() || !y_true.defined())
    throw Error(name_ + ": y_true and y_pred must both be defined tensors");
  if (y_pred.dtype() != DType::float32)
    throw Error(name_ + ": predictions must be float32, got " + dtype_name(y_pred.dtype()));
  if (y_pred.rank() < 1 || y_true.rank() < 1 || y_true.dim(0) != y_pred.dim(0))
    throw ShapeError(name_ + ": labels of shape " + y_true.shape().to_string() +
                     " and predictions of shape " + y_pred.shape().to_string() +
                     " differ in their number of samples");
  check_shapes(y_true.shape().drop_batch(), y_pred.shape().drop_batch());
  const int64_t n = y_pred.dim(0);
  if (grad && (grad->dtype() != DType::float32 || grad->size() != y_pred.size()))
    throw ShapeError(name_ + ": gradient buffer of shape " + grad->shape().to_string() + " " +
                     dtype_name(grad->dtype()) + " does not match predictions of shape " +
                     y_pred.shape().to_string() + " float32");
  if (sample_weight && sample_weight->size() != n)
    throw ShapeError(name_ + ": sample_weight of shape " + sample_weight->shape().to_string() +
                     " needs one weight per sample (" + std::to_string(n) + ")");
  if (n > 0 && y_pred.size() == 0)
    throw ShapeError(name_ + ": predictions of shape " + y_pred.shape().to_string() +
                     " hold no values per sample");
  return n;
}

// Reduction none returns the same scalar as sum_over_batch_size (the per-sample values are
// not exposed); sum multiplies by the number of timesteps per sample so that, as in Keras,
// it sums the per-position losses rather than their per-sample means.
double Loss::reduction_factor(const Tensor& y_pred) const {
  const int64_t n = y_pred.dim(0);
  const int64_t d = y_pred.size() / n;
  const int64_t last = y_pred.rank() >= 2 ? y_pred.dim(-1) : 1;
  return reduction_ == Reduction::sum ? static_cast<double>(last > 0 ? d / last : 1)
                                      : 1.0 / static_cast<double>(n);
}

double Loss::compute(const Tensor& y_true, const Tensor& y_pred, Tensor* grad, float scale,
                     const Tensor* sample_weight) const {
  const int64_t n = check_inputs(y_true, y_pred, grad, sample_weight);
  if (n == 0) return 0.0;
  if (y_pred.device().is_cuda()) {
    thread_local Tensor result;  // one float64, reused
    if (!result.defined() || result.device() != y_pred.device())
      result = ops::device_doubles(1, y_pred.device());
    compute_on_device(y_true, y_pred, grad, scale, sample_weight, result, 0);
    double value = 0;
    ops::read_doubles(result, &value);
    return value;
  }

  const bool float_y = y_true.dtype() == DType::float32 || label_dtype() != DType::float32;
  const Tensor labels = float_y ? y_true : float_labels(y_true);
  float* losses = per_sample_buffer(n);
  float* g = grad ? grad->data<float>() : nullptr;
  per_sample(labels, y_pred, losses, g);

  const int64_t d = y_pred.size() / n;
  const double factor = reduction_factor(y_pred);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double w = sample_weight ? sample_weight->flat(i) : 1.0;
    total += w * losses[i];
    if (g) {
      const float row_scale = static_cast<float>(w * factor * scale);
      for (int64_t j = i * d; j < (i + 1) * d; ++j) g[j] *= row_scale;
    }
  }
  return total * factor;
}

void Loss::compute_on_device(const Tensor& y_true, const Tensor& y_pred, Tensor* grad,
                             float scale, const Tensor* sample_weight, Tensor& result,
                             int64_t slot) const {
  if (!has_device_path())
    throw Error(name_ + " (" + class_name() +
                ") has no device path: compute it on host tensors (Loss::row_spec)");
  const int64_t n = check_inputs(y_true, y_pred, grad, sample_weight);
  if (sample_weight && sample_weight->dtype() != DType::float32)
    throw Error(name_ + ": sample_weight must be float32 on " + y_pred.device().to_string());
  ops::loss_on_device(row_spec(), y_true, y_pred, sample_weight, grad, scale,
                      n > 0 ? reduction_factor(y_pred) : 1.0, result, slot);
}

void Loss::elementwise_per_sample(const Tensor& y_true, const Tensor& y_pred, float* out,
                                  float* grad) const {
  const int64_t n = y_pred.dim(0);
  const int64_t d = y_pred.size() / n;
  const float* p = y_pred.data<float>();
  const float* t = y_true.data<float>();
  const RowSpec spec = row_spec();
#pragma omp parallel for schedule(static) if (y_pred.size() >= kParallelWork)
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = i * d;
    const double total =
        rows::elementwise_row(spec, p + k, t + k, d, grad ? grad + k : nullptr, double(d));
    out[i] = static_cast<float>(total / d);
  }
}

namespace {

using Factory = std::function<std::shared_ptr<Loss>()>;

template <class T>
Factory make() {
  return [] { return std::make_shared<T>(); };
}

// Keras' snake_case function names, their short aliases and the class names, in the order
// the "known losses" list shows them.
const std::vector<std::pair<std::string, Factory>>& registry() {
  static const std::vector<std::pair<std::string, Factory>> entries = {
      {"sparse_categorical_crossentropy", make<SparseCategoricalCrossentropy>()},
      {"categorical_crossentropy", make<CategoricalCrossentropy>()},
      {"binary_crossentropy", make<BinaryCrossentropy>()},
      {"mean_squared_error", make<MeanSquaredError>()},
      {"mse", make<MeanSquaredError>()},
      {"mean_absolute_error", make<MeanAbsoluteError>()},
      {"mae", make<MeanAbsoluteError>()},
      {"huber", make<Huber>()},
      {"huber_loss", make<Huber>()},
      {"SparseCategoricalCrossentropy", make<SparseCategoricalCrossentropy>()},
      {"CategoricalCrossentropy", make<CategoricalCrossentropy>()},
      {"BinaryCrossentropy", make<BinaryCrossentropy>()},
      {"MeanSquaredError", make<MeanSquaredError>()},
      {"MeanAbsoluteError", make<MeanAbsoluteError>()},
      {"Huber", make<Huber>()},
  };
  return entries;
}

}  // namespace

std::shared_ptr<Loss> Loss::get(const std::string& name) {
  std::string known;
  for (const auto& [key, factory] : registry()) {
    if (key == name) return factory();
    known += (known.empty() ? "" : ", ") + key;
  }
  throw ConfigError("unknown loss \"" + name + "\"; known losses: " + known);
}

}  // namespace fitrun::losses
