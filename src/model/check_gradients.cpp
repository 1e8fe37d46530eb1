// fitrun::testing::check_gradients: central differences of L = Σ_k Σ w_k·layer(x)_k (over all
// of the layer's outputs) against backward.
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
  std::vector<Tensor> outputs, projections;  // one of each per layer output
  std::vector<Tensor*> out_ptrs;
  std::vector<const Tensor*> out_cptrs, proj_ptrs;
  CallContext ctx;

  double loss() {
    layer.forward_multi(ctx, in_ptrs, out_ptrs);
    double l = 0;
    for (size_t k = 0; k < outputs.size(); ++k) {
      const float* y = outputs[k].data<float>();
      const float* w = projections[k].data<float>();
      for (int64_t i = 0; i < outputs[k].size(); ++i) l += double(y[i]) * w[i];
    }
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
  const std::vector<Shape> out_shapes = layer.compute_output_shapes(shapes);

  Probe p{layer, {}, {}, {}, {}, {}, {}, {}, {}};
  for (size_t k = 0; k < out_shapes.size(); ++k) {
    p.outputs.push_back(Tensor(out_shapes[k]));
    p.projections.push_back(
        Tensor::uniform(out_shapes[k], -1.f, 1.f, static_cast<int64_t>(o.seed + k)));
  }
  for (size_t k = 0; k < out_shapes.size(); ++k) {
    p.out_ptrs.push_back(&p.outputs[k]);
    p.out_cptrs.push_back(&p.outputs[k]);
    p.proj_ptrs.push_back(&p.projections[k]);
  }
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
  layer.backward_multi(p.ctx, p.in_ptrs, p.out_cptrs, p.proj_ptrs, dx_ptrs);

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
