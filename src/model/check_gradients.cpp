// fitrun::testing::check_gradients: central differences of L = Σ w·layer(x) against backward.
#include <cmath>
#include <sstream>

#include "fitrun/random.hpp"
#include "fitrun/testing.hpp"

namespace fitrun::testing {

namespace {

struct Probe {
  Layer& layer;
  std::vector<Tensor> inputs;
  std::vector<const Tensor*> in_ptrs;
  Tensor output, projection;
  CallContext ctx;

  double loss() {
    layer.forward(ctx, in_ptrs, output);
    const float* y = output.data<float>();
    const float* w = projection.data<float>();
    double l = 0;
    for (int64_t i = 0; i < output.size(); ++i) l += double(y[i]) * w[i];
    return l;
  }
};

/// Elements to probe: all of them for small tensors, else an even spread.
std::vector<int64_t> sample(int64_t size, int max) {
  std::vector<int64_t> idx;
  if (size <= max) {
    for (int64_t i = 0; i < size; ++i) idx.push_back(i);
  } else {
    for (int k = 0; k < max; ++k) idx.push_back(k * size / max);
  }
  return idx;
}

}  // namespace

GradientCheckResult check_gradients(Layer& layer, const std::vector<Tensor>& inputs,
                                    const GradientCheckOptions& o) {
  std::vector<Shape> shapes;
  for (const auto& t : inputs) shapes.push_back(t.shape());
  layer.ensure_built(shapes);
  const Shape out_shape = layer.compute_output_shape(shapes);

  Probe p{layer, {}, {}, Tensor(out_shape), Tensor::uniform(out_shape, -1.f, 1.f,
                                                             static_cast<int64_t>(o.seed)), {}};
  for (const auto& t : inputs) p.inputs.push_back(t.clone());
  for (const auto& t : p.inputs) p.in_ptrs.push_back(&t);
  p.ctx.training = o.training;

  // Analytic gradients.
  p.loss();
  std::vector<Tensor> dx;
  std::vector<Tensor*> dx_ptrs;
  for (const auto& t : p.inputs) dx.push_back(t.dtype() == DType::float32 ? Tensor::zeros(t.shape()) : Tensor());
  for (auto& t : dx) dx_ptrs.push_back(t.defined() ? &t : nullptr);
  p.ctx.accumulate_grads = false;
  layer.backward(p.ctx, p.in_ptrs, p.output, p.projection, dx_ptrs);

  GradientCheckResult r;
  std::ostringstream report;
  auto check = [&](Tensor& value, const Tensor& analytic, const std::string& what) {
    float* v = value.data<float>();
    for (int64_t i : sample(value.size(), o.max_checks_per_tensor)) {
      const float saved = v[i];
      v[i] = saved + static_cast<float>(o.epsilon);
      const double plus = p.loss();
      v[i] = saved - static_cast<float>(o.epsilon);
      const double minus = p.loss();
      v[i] = saved;
      const double numeric = (plus - minus) / (2 * o.epsilon);
      const double a = analytic.flat(i);
      const double err = std::fabs(a - numeric) / std::max(std::fabs(a) + std::fabs(numeric), o.floor);
      if (err > r.max_error) {
        r.max_error = err;
        r.worst = what + " [" + std::to_string(i) + "]";
      }
      if (err > o.tolerance) {
        r.ok = false;
        report << what << " [" << i << "]: analytic " << a << ", numeric " << numeric << "\n";
      }
    }
  };
  for (size_t k = 0; k < p.inputs.size(); ++k)
    if (dx[k].defined()) check(p.inputs[k], dx[k], "input " + std::to_string(k));
  for (const auto& w : layer.trainable_weights()) {
    Tensor analytic = w->grad.clone();
    check(w->value, analytic, "weight " + w->path);
  }
  r.report = report.str();
  return r;
}

}  // namespace fitrun::testing
