#include "model/executor.hpp"

#include <chrono>
#include <map>

#include "fitrun/ops.hpp"
#include "fitrun/runtime.hpp"

namespace fitrun::detail {

namespace {
Tensor filled(const Shape& shape, float value, Device device) {
  Tensor t(shape, DType::float32, device);
  t.fill(value);
  return t;
}
}  // namespace

Plan::Plan(const Graph& graph, int64_t batch, bool input_grads, Device device)
    : graph_(graph), batch_(batch), device_(device), captured_(device) {
  const size_t n = graph.nodes.size();
  values_.resize(n);
  grads_.resize(n);
  ctx_.resize(n);
  in_ptrs_.resize(n);
  grad_ptrs_.resize(n);
  accumulate_.resize(n);
  runs_backward_.assign(n, false);
  first_weight_write_.assign(n, false);

  for (size_t i = 0; i < n; ++i) {
    const GraphNode& g = graph.nodes[i];
    if (!g.is_input) values_[i] = Tensor(g.shape.with_batch(batch), g.dtype, device);
    ctx_[i].call_index = g.call_index;
    ctx_[i].device = device;
    for (int in : g.inputs) in_ptrs_[i].push_back(&values_[static_cast<size_t>(in)]);
  }
  masks_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const GraphNode& g = graph.nodes[i];
    if (g.has_mask) {
      Shape s = g.shape.with_batch(batch);
      masks_[i] = filled(s.rank() > 1 ? Shape(std::vector<int64_t>(s.begin(), s.end() - 1))
                                      : Shape{batch},
                         1.f, device);
    }
    bool any = false;
    for (int in : g.inputs) any = any || graph.nodes[static_cast<size_t>(in)].has_mask;
    if (any)
      for (int in : g.inputs)
        ctx_[i].input_masks.push_back(graph.nodes[static_cast<size_t>(in)].has_mask
                                          ? &masks_[static_cast<size_t>(in)]
                                          : nullptr);
  }

  // Which values carry a gradient: those on a path to an output (and not model inputs,
  // unless asked). Walk backwards in topological order.
  std::vector<bool> contributes(n, false);
  for (int o : graph.output_nodes) contributes[static_cast<size_t>(o)] = true;
  for (size_t i = n; i-- > 0;)
    for (int c : graph.nodes[i].consumers)
      if (contributes[static_cast<size_t>(c)]) contributes[i] = true;
  auto wants_grad = [&](size_t v) {
    return contributes[v] && (!graph.nodes[v].is_input || input_grads);
  };
  for (size_t i = 0; i < n; ++i)
    if (wants_grad(i) || (contributes[i] && !graph.nodes[i].is_input))
      grads_[i] = filled(graph.nodes[i].shape.with_batch(batch), 0.f, device);
  for (int o : graph.output_nodes)
    if (!grads_[static_cast<size_t>(o)].defined())
      grads_[static_cast<size_t>(o)] =
          filled(graph.nodes[static_cast<size_t>(o)].shape.with_batch(batch), 0.f, device);
  // A call's outputs, each with its gradient: an output nothing reads (a state output left
  // unused) keeps a zero gradient.
  out_ptrs_.resize(n);
  out_cptrs_.resize(n);
  out_grad_ptrs_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!graph.nodes[i].is_call()) continue;
    for (int o : graph.nodes[i].outputs) {
      const auto v = static_cast<size_t>(o);
      if (contributes[i] && !grads_[v].defined())
        grads_[v] = filled(graph.nodes[v].shape.with_batch(batch), 0.f, device);
      out_ptrs_[i].push_back(&values_[v]);
      out_cptrs_[i].push_back(&values_[v]);
      out_grad_ptrs_[i].push_back(&grads_[v]);
    }
  }

  // Gradient writers in backward order: the loss writes output gradients first; after that,
  // the first consumer to run writes a value's gradient and later ones add into it.
  std::vector<bool> written(n, false);
  for (int o : graph.output_nodes) written[static_cast<size_t>(o)] = true;
  std::map<const Layer*, bool> layer_written;
  for (size_t i = n; i-- > 0;) {
    const GraphNode& g = graph.nodes[i];
    if (!g.is_call() || !contributes[i]) continue;  // an extra output is its call's business
    runs_backward_[i] = true;
    first_weight_write_[i] = !layer_written[g.layer.get()];
    layer_written[g.layer.get()] = true;
    for (int in : g.inputs) {
      const auto v = static_cast<size_t>(in);
      if (!wants_grad(v)) {
        grad_ptrs_[i].push_back(nullptr);
      } else if (!written[v]) {
        written[v] = true;
        grad_ptrs_[i].push_back(&grads_[v]);
      } else {
        grad_scratch_.push_back(
            Tensor(graph.nodes[v].shape.with_batch(batch), DType::float32, device));
        grad_ptrs_[i].push_back(&grad_scratch_.back());
        accumulate_[i].push_back({&grad_scratch_.back(), &grads_[v]});
      }
    }
  }
  // A call's output that nothing reads keeps a zero gradient, only its activity penalty's.
  unwritten_grad_.resize(n);
  for (size_t v = 0; v < n; ++v) unwritten_grad_[v] = grads_[v].defined() && !written[v];
  // Layers that never receive a gradient keep zero gradients rather than stale ones.
  for (const auto& layer : graph.layers)
    if (!layer_written[layer.get()])
      for (const auto& w : layer->trainable_weights()) w->grad.fill(0);
}

void Plan::bind_inputs(const std::vector<const Tensor*>& inputs) {
  for (size_t k = 0; k < inputs.size(); ++k) bind_input(k, *inputs[k]);
}

namespace {
/// `t` copied into buffers[k], which is made (again) only when t's shape or dtype differs.
const Tensor& stage(std::vector<Tensor>& buffers, size_t k, const Tensor& t, Device device) {
  if (buffers.size() <= k) buffers.resize(k + 1);
  Tensor& b = buffers[k];
  if (!b.defined() || b.shape() != t.shape() || b.dtype() != t.dtype())
    b = Tensor(t.shape(), t.dtype(), device);
  if (t.device() == device)
    ops::copy(t, b);  // queued on the device's stream
  else
    b.copy_from(t);
  return b;
}
}  // namespace

void Plan::bind_input(size_t k, const Tensor& t) {
  targets_staged_ = false;  // a new batch: its labels are not staged yet
  if (t.device() == device_)
    values_[static_cast<size_t>(graph_.input_nodes[k])] = t;
  else
    stage_input(k, t);
}

void Plan::stage_input(size_t k, const Tensor& t) {
  values_[static_cast<size_t>(graph_.input_nodes[k])] = stage(staged_inputs_, k, t, device_);
}

void Plan::stage_targets(const TensorList& y, const Tensor& sample_weight) {
  for (size_t k = 0; k < y.size(); ++k) stage(staged_labels_, k, y[k], device_);
  sample_weight_ =
      sample_weight.defined() ? stage(staged_weights_, 0, sample_weight, device_) : Tensor();
  targets_staged_ = true;
}

const Tensor& Plan::bind_label(size_t k, const Tensor& y) {
  if (targets_staged_) return staged_labels_.at(k);
  if (y.device() == device_) return y;
  return stage(staged_labels_, k, y, device_);
}

const Tensor& Plan::bind_sample_weight(const Tensor& w) {
  if (targets_staged_ && sample_weight_.defined()) return sample_weight_;
  if (w.device() == device_) return w;
  return stage(staged_weights_, 0, w, device_);
}

Tensor& Plan::loss_values() {
  if (!loss_values_.defined())
    loss_values_ = ops::device_doubles(static_cast<int64_t>(graph_.output_nodes.size()), device_);
  return loss_values_;
}

Tensor& Plan::step_total() {
  if (!step_total_.defined()) step_total_ = ops::device_doubles(2, device_);
  return step_total_;
}

uint64_t Plan::scratch_allocations() const {
  uint64_t total = 0;
  for (const CallContext& c : ctx_) total += c.scratch_allocations();
  return total;
}

void Plan::own_inputs() {
  for (size_t k = 0; k < graph_.input_nodes.size(); ++k) {
    const Tensor bound = values_[static_cast<size_t>(graph_.input_nodes[k])];
    if (k >= staged_inputs_.size() || !staged_inputs_[k].defined() ||
        staged_inputs_[k].device_data() != bound.device_data())
      stage_input(k, bound);
  }
}

const Tensor& Plan::host_output(size_t k) {
  const Tensor& out = output(k);
  if (device_.is_cpu()) return out;
  if (host_outputs_.size() <= k) host_outputs_.resize(graph_.output_nodes.size());
  Tensor& host = host_outputs_[k];
  if (!host.defined()) host = Tensor(out.shape(), out.dtype());
  host.copy_from(out);
  return host;
}

Tensor& Plan::host_output_grad(size_t k) {
  if (device_.is_cpu()) return output_grad(k);
  if (host_grads_.size() <= k) host_grads_.resize(graph_.output_nodes.size());
  Tensor& host = host_grads_[k];
  if (!host.defined()) host = Tensor(output_grad(k).shape());
  return host;
}

void Plan::upload_output_grads() {
  if (device_.is_cpu()) return;
  for (size_t k = 0; k < host_grads_.size(); ++k)
    if (host_grads_[k].defined()) output_grad(k).copy_from(host_grads_[k]);
}

// A backend failure (a CUDA, cuDNN, cuBLAS or oneDNN call, an op the device lacks) names the
// layer too: 'layer "conv2d" (Conv2D) backward: cudnnConvolutionBackwardFilter failed in
// conv2d_backward_weights: ...'. Profiling drains the device before and after the pass.
template <class F>
void Plan::run_pass(size_t i, bool backward, F&& f) {
  const Layer& layer = *graph_.nodes[i].layer;
  try {
    if (!profile_) return f();
    synchronize(device_);
    const auto t0 = std::chrono::steady_clock::now();
    f();
    synchronize(device_);
    (backward ? profile_->backward : profile_->forward)[i] +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const BackendError& e) {
    throw BackendError("layer \"" + layer.name() + "\" (" + layer.class_name() + ") " +
                       (backward ? "backward" : "forward") + ": " + e.what());
  }
}

void Plan::forward(bool training, uint64_t step) {
  activity_penalty_ = 0;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    const GraphNode& g = graph_.nodes[i];
    if (!g.is_call()) continue;
    CallContext& ctx = ctx_[i];
    ctx.training = training;
    ctx.step = step;
    run_pass(i, false, [&] { g.layer->forward_multi(ctx, in_ptrs_[i], out_ptrs_[i]); });
    if (g.has_mask) g.layer->compute_mask(ctx, in_ptrs_[i], masks_[i]);
    if (g.layer->activity_regularizer)  // on every output, as Keras
      for (const Tensor* y : out_cptrs_[i])
        activity_penalty_ += g.layer->activity_regularizer->penalty(*y);
  }
}

void Plan::backward(bool accumulate_weights, float loss_scale) {
  for (size_t i = graph_.nodes.size(); i-- > 0;) {
    if (!runs_backward_[i]) continue;
    const GraphNode& g = graph_.nodes[i];
    CallContext& ctx = ctx_[i];
    ctx.accumulate_grads = accumulate_weights || !first_weight_write_[i];
    // Every consumer has written its part of the output gradients by now: add the penalty's.
    if (g.layer->activity_regularizer)
      for (int o : g.outputs) {
        const auto v = static_cast<size_t>(o);
        if (!grads_[v].defined()) continue;
        if (unwritten_grad_[v]) grads_[v].fill(0);  // not last step's penalty gradient
        g.layer->activity_regularizer->add_gradient(values_[v], grads_[v], loss_scale);
      }
    run_pass(i, true, [&] {
      g.layer->backward_multi(ctx, in_ptrs_[i], out_cptrs_[i], out_grad_ptrs_[i], grad_ptrs_[i]);
    });
    for (const Accumulate& a : accumulate_[i]) ops::add_inplace(*a.into, *a.from);
  }
}

}  // namespace fitrun::detail
