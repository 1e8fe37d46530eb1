#include "fitrun/model.hpp"

#include <chrono>
#include <iomanip>
#include <limits>
#include <set>
#include <sstream>

#include "fitrun/layers/input_layer.hpp"
#include "fitrun/ops.hpp"
#include "fitrun/random.hpp"
#include "fitrun/regularizers.hpp"
#include "fitrun/runtime.hpp"
#include "model/model_impl.hpp"

namespace fitrun {

// ---------------------------------------------------------------- Impl
detail::Plan& Model::Impl::plan(int64_t batch, bool input_grads) {
  auto& cache = input_grads ? plans_with_input_grads : plans;
  auto it = cache.find(batch);
  if (it != cache.end() && it->second->device() == device) return *it->second;
  if (it != cache.end()) cache.erase(it);
  place_weights();
  return *cache.emplace(batch, std::make_unique<detail::Plan>(*graph, batch, input_grads, device))
              .first->second;
}

void Model::Impl::place_weights() {
  if (!graph) return;
  for (const auto& layer : graph->layers) {
    // A nested model runs its own plans: it moves along.
    if (auto* sub = dynamic_cast<Model*>(layer.get()); sub && sub->device() != device)
      sub->to(device);
    for (const auto& v : layer->weights()) {
      if (v->value.defined() && v->value.device() != device) v->value = v->value.to(device);
      if (v->grad.defined() && v->grad.device() != device) v->grad = v->grad.to(device);
    }
  }
  if (optimizer) optimizer->move_state_to(device);
}

std::string Model::Impl::prefix(size_t k) const {
  if (graph->output_nodes.size() == 1) return "";
  return graph->nodes[static_cast<size_t>(graph->output_nodes[k])].layer->name() + "_";
}

// ---------------------------------------------------------------- construction
Model::Model(std::string name) : LayerOf<Model>(std::move(name)), impl_(std::make_unique<Impl>()) {
  impl_->shuffle_seed = global_generator().next_u64();
}

Model::Model(const KerasTensor& inputs, const KerasTensor& outputs, std::string name)
    : Model(std::vector<KerasTensor>{inputs}, std::vector<KerasTensor>{outputs}, std::move(name)) {}

Model::Model(const std::vector<KerasTensor>& inputs, const std::vector<KerasTensor>& outputs,
             std::string name)
    : Model(std::move(name)) {
  set_graph(inputs, outputs);
}

Model::Model(const std::vector<KerasTensor>& inputs, const KerasTensor& output, std::string name)
    : Model(inputs, std::vector<KerasTensor>{output}, std::move(name)) {}

Model::Model(Model&&) noexcept = default;
Model::~Model() = default;

void Model::set_graph(const std::vector<KerasTensor>& inputs,
                      const std::vector<KerasTensor>& outputs) {
  impl_->graph = std::make_unique<detail::Graph>(inputs, outputs, name());
  impl_->inputs = inputs;
  impl_->outputs = outputs;
  impl_->plans.clear();
  impl_->plans_with_input_grads.clear();
}

bool Model::has_graph() const { return impl_->graph != nullptr; }

Model& Model::to(Device device) {
  if (device.is_cuda() && cuda_device_count() <= device.index())
    throw Error("model \"" + name() + "\": cannot move to " + device.to_string() + ": " +
                (cuda_device_count() == 0 ? std::string("no CUDA device is present")
                                          : "there are " + std::to_string(cuda_device_count()) +
                                                " CUDA device(s)"));
  impl_->device = device;
  impl_->place_weights();
  return *this;
}

Device Model::device() const { return impl_->device; }

void Model::ensure_graph(const TensorList&) {
  if (!has_graph()) throw Error("model \"" + name() + "\" has no layers graph yet");
}

std::vector<LayerPtr> Model::layers() const {
  return has_graph() ? impl_->graph->layers : std::vector<LayerPtr>{};
}

LayerPtr Model::get_layer(const std::string& layer_name) const {
  std::string known;
  for (const auto& l : layers()) {
    if (l->name() == layer_name) return l;
    known += (known.empty() ? "" : ", ") + l->name();
  }
  throw ConfigError("model \"" + name() + "\" has no layer \"" + layer_name + "\"; layers: " + known);
}

const std::vector<KerasTensor>& Model::inputs() const { return impl_->inputs; }
const std::vector<KerasTensor>& Model::outputs() const { return impl_->outputs; }

std::vector<VariablePtr> Model::weights() const {
  std::vector<VariablePtr> out;
  std::set<const Variable*> seen;
  for (const auto& l : layers())
    for (const auto& w : l->weights())
      if (seen.insert(w.get()).second) out.push_back(w);
  return out;
}

// ---------------------------------------------------------------- compile
void Model::compile(OptimizerRef optimizer, LossRef loss, std::vector<MetricRef> metrics,
                    CompileOptions options) {
  compile(std::move(optimizer), std::vector<LossRef>{std::move(loss)}, std::move(metrics),
          std::move(options));
}

void Model::compile(OptimizerRef optimizer, std::vector<LossRef> losses,
                    std::vector<MetricRef> metrics, CompileOptions options) {
  if (!optimizer) throw ConfigError("compile: an optimizer is required");
  if (losses.empty() || !losses[0]) throw ConfigError("compile: a loss is required");
  Impl& m = *impl_;
  m.optimizer = optimizer.ptr();
  m.losses.clear();
  for (auto& l : losses) m.losses.push_back(l.ptr());
  m.loss_weights = options.loss_weights;
  m.jit_compile = options.jit_compile;
  m.metrics.clear();
  m.compiled = true;
  m.trainable.clear();
  m.pending_metrics.clear();
  for (auto& mr : metrics) m.pending_metrics.push_back(mr.ptr());
  m.compile_finished = false;  // a second compile() resolves its own losses and metrics
  ++m.compile_generation;
  if (has_graph()) m.finish_compile(name());
}


void Model::Impl::finish_compile(const std::string& model_name) {
  if (!compiled || compile_finished) return;
  const size_t outs = graph->output_nodes.size();
  if (losses.size() == 1 && outs > 1) losses.assign(outs, losses[0]);
  if (losses.size() != outs)
    throw ConfigError("compile: model \"" + model_name + "\" has " + std::to_string(outs) +
                      " outputs but " + std::to_string(losses.size()) + " losses were given");
  if (loss_weights.empty()) loss_weights.assign(outs, 1.f);
  if (loss_weights.size() != outs)
    throw ConfigError("compile: model \"" + model_name + "\" has " + std::to_string(outs) +
                      " outputs but " + std::to_string(loss_weights.size()) +
                      " loss_weights were given");
  loss_coeffs.assign(loss_weights.begin(), loss_weights.end());
  metrics.assign(outs, {});
  output_loss_trackers.clear();
  for (size_t k = 0; k < outs; ++k) {
    const Shape out_shape =
        graph->nodes[static_cast<size_t>(graph->output_nodes[k])].shape.drop_batch();
    output_loss_trackers.emplace_back(prefix(k) + "loss");
    for (const auto& proto : pending_metrics) {
      metrics::MetricPtr metric;
      if (proto->class_name() == "Accuracy")
        metric = metrics::resolve_accuracy(losses[k]->class_name(), out_shape, proto->name());
      else
        metric = proto->clone();
      metric->set_name(prefix(k) + metric->name());
      metrics[k].push_back(std::move(metric));
    }
  }
  trainable.clear();
  std::set<const Variable*> seen;
  for (const auto& l : graph->layers)
    for (const auto& w : l->trainable_weights())
      if (seen.insert(w.get()).second) trainable.push_back(w);
  regularized.clear();
  variables.clear();
  seen.clear();
  for (const auto& l : graph->layers)
    for (const auto& w : l->weights())
      if (seen.insert(w.get()).second) {
        variables.push_back(w);
        if (w->regularizer) regularized.push_back(w);
      }
  compile_finished = true;
}

void Model::Impl::require_compiled(const std::string& model_name, const char* what) const {
  if (!compiled)
    throw Error(std::string(what) + ": model \"" + model_name +
                "\" must be compiled first: call compile(optimizer, loss, metrics)");
}

int64_t Model::Impl::check_data(const std::string& model_name, const TensorList& x,
                                const TensorList* y) const {
  const auto& ins = graph->input_nodes;
  if (x.size() != ins.size())
    throw ShapeError("model \"" + model_name + "\" expects " + std::to_string(ins.size()) +
                     " input array(s), got " + std::to_string(x.size()));
  if (x.empty() || x[0].rank() == 0)
    throw ShapeError("model \"" + model_name + "\": input data must have a batch dimension");
  const int64_t n = x[0].dim(0);
  for (size_t k = 0; k < x.size(); ++k) {
    const detail::GraphNode& g = graph->nodes[static_cast<size_t>(ins[k])];
    if (!x[k].defined())
      throw ShapeError("model \"" + model_name + "\": input " + std::to_string(k) + " is empty");
    if (x[k].shape().with_batch(-1) != g.shape)
      throw ShapeError("model \"" + model_name + "\": input \"" + g.layer->name() +
                       "\" expects data of shape " + g.shape.to_string() + ", got " +
                       x[k].shape().to_string());
    if (x[k].dim(0) != n)
      throw ShapeError("model \"" + model_name + "\": input arrays have different sample "
                       "counts: " + std::to_string(n) + " and " + std::to_string(x[k].dim(0)));
  }
  if (y) {
    const auto& outs = graph->output_nodes;
    if (y->size() != outs.size())
      throw ShapeError("model \"" + model_name + "\" has " + std::to_string(outs.size()) +
                       " output(s), got " + std::to_string(y->size()) + " label array(s)");
    for (size_t k = 0; k < y->size(); ++k) {
      const Tensor& t = (*y)[k];
      if (!t.defined() || t.rank() == 0 || t.dim(0) != n)
        throw ShapeError("model \"" + model_name + "\": x has " + std::to_string(n) +
                         " samples but y" + (y->size() > 1 ? "[" + std::to_string(k) + "]" : "") +
                         " has " + (t.defined() && t.rank() ? std::to_string(t.dim(0)) : "none"));
      losses[k]->check_shapes(t.shape().drop_batch(),
                              graph->nodes[static_cast<size_t>(outs[k])].shape.drop_batch());
    }
  }
  return n;
}

bool Model::Impl::device_path_for(const Tensor* sample_weight) const {
  if (!device.is_cuda()) return false;
  for (const auto& l : losses)
    if (!l->has_device_path()) return false;
  for (const auto& ms : metrics)
    for (const auto& m : ms)
      if (m->row_spec().kind == metrics::RowSpec::Kind::none) return false;
  return !sample_weight || sample_weight->dtype() == DType::float32;
}

const Layer* Model::Impl::activity_regularized_layer() const {
  for (const auto& l : graph->layers)
    if (l->activity_regularizer) return l.get();
  return nullptr;
}

bool Model::Impl::losses_on_device() const {
  return compile_finished && device_path_for(nullptr) && regularized.empty() &&
         !activity_regularized_layer();
}

void Model::Impl::check_host_labels(const detail::Plan& p, const TensorList& y) const {
  for (size_t k = 0; k < losses.size(); ++k)
    if (!y[k].device().is_cuda()) losses[k]->check_label_values(y[k], p.output(k));
}

double Model::Impl::read_step_loss(detail::Plan& p) const {
  double total[2];  // (loss, 1)
  ops::read_doubles(p.step_total(), total);
  return total[0];
}

double Model::Impl::loss_and_metrics(detail::Plan& p, const TensorList& y, bool grads,
                                     const Tensor* sample_weight, double penalty,
                                     float grad_scale, bool read_value) {
  const double batch = static_cast<double>(p.batch());
  if (p.device().is_cuda() && device_path_for(sample_weight)) {
    // Each loss writes its batch loss into values[k]; the trackers add them on the device.
    static constexpr double kOne = 1.0;
    Tensor& values = p.loss_values();
    const Tensor* w = sample_weight ? &p.bind_sample_weight(*sample_weight) : nullptr;
    check_host_labels(p, y);
    for (size_t k = 0; k < losses.size(); ++k) {
      const Tensor& labels = p.bind_label(k, y[k]);
      losses[k]->compute_on_device(labels, p.output(k), grads ? &p.output_grad(k) : nullptr,
                                   loss_weights[k] * grad_scale, w, values,
                                   static_cast<int64_t>(k));
      output_loss_trackers[k].update_on_device(values, static_cast<int64_t>(k), &kOne, 1, 0.0,
                                               batch);
      for (const auto& m : metrics[k]) m->update_state(labels, p.output(k));
    }
    // The step's total, penalty + Σ_k loss_weight_k loss_k, as (total, 1) in step_total.
    Tensor& total = p.step_total();
    ops::zero_doubles(total);
    ops::mean_on_device(total, values, 0, loss_coeffs.data(), static_cast<int>(losses.size()),
                        penalty, 1.0);
    loss_tracker.update_on_device(total, 0, &kOne, 1, 0.0, batch);
    return read_value ? read_step_loss(p) : std::numeric_limits<double>::quiet_NaN();
  }
  // Host path: on a GPU the losses and metrics see host copies of the outputs (small:
  // batch x classes) and their gradients go back in one copy per output.
  double total = penalty;
  for (size_t k = 0; k < losses.size(); ++k) {
    const Tensor& out = p.host_output(k);
    const double l = losses[k]->compute(y[k], out, grads ? &p.host_output_grad(k) : nullptr,
                                        loss_weights[k] * grad_scale, sample_weight);
    total += loss_weights[k] * l;
    output_loss_trackers[k].update(l, batch);
    for (const auto& m : metrics[k]) m->update_state(y[k], out);
  }
  if (grads) p.upload_output_grads();
  loss_tracker.update(total, batch);
  return total;
}

// Writes into `why` (reusing its capacity: the step loop allocates nothing once warm).
// Writes into `why` (reusing its capacity: the step loop allocates nothing once warm).
void Model::Impl::capture_refusal(const detail::Plan& p, const Tensor* sample_weight,
                                  std::string& why) const {
  why.clear();
  if (!p.device().is_cuda()) {
    why.assign("the model is on the CPU");
  } else if (!jit_compile) {
    why.assign("compiled with jit_compile=false");
  } else if (!regularized.empty()) {
    why.assign("weight regularizers are computed on the host");
  } else if (!device_path_for(sample_weight)) {
    why.assign("a loss or metric runs on the host (no device path)");
  } else if (!p.captured_step().refusal().empty()) {
    why.assign(p.captured_step().refusal());
  } else if (const Layer* l = activity_regularized_layer()) {
    why.assign("layer \"").append(l->name()).append("\" has an activity regularizer");
  }
}

// The step as one CUDA graph (captured_step.hpp): everything it reads is first put where the
// captured kernels expect it (the batch in the plan's buffers, the labels staged, checked on
// the host), then forward, loss, metrics and backward run, are captured or are replayed.
double Model::Impl::captured_gradients(detail::Plan& p, const TensorList& y,
                                       const Tensor* sample_weight, float scale) {
  p.own_inputs();
  if (!p.targets_staged()) p.stage_targets(y, sample_weight ? *sample_weight : Tensor());
  check_host_labels(p, y);  // a replay does not run loss_and_metrics' own check
  fill_capture_key(p);
  p.captured_step().run(step, [&] {
    p.forward(true, step);
    loss_and_metrics(p, y, true, sample_weight, 0.0, scale, /*read_value=*/false);
    p.backward(false, scale);
  });
  return defer_loss_read ? std::numeric_limits<double>::quiet_NaN() : read_step_loss(p);
}

void Model::Impl::fill_capture_key(detail::Plan& p) const {
  std::vector<std::uintptr_t>& key = p.captured_step().key();
  key.clear();  // keeps its capacity: no allocation once warm
  const auto address = [](const Tensor& t) {
    return reinterpret_cast<std::uintptr_t>(t.defined() ? t.device_data() : nullptr);
  };
  for (const auto& v : variables) {
    key.push_back(address(v->value));
    key.push_back(address(v->grad));
  }
  key.push_back(p.scratch_allocations());
  key.push_back(compile_generation);  // new metric and loss-tracker objects
}

double Model::Impl::regularization_penalty() const {
  double total = 0;
  for (const auto& v : regularized) total += v->regularizer->penalty(v->value);
  return total;
}

void Model::Impl::reset_metrics() {
  loss_tracker.reset_state();
  for (auto& t : output_loss_trackers) t.reset_state();
  for (auto& ms : metrics)
    for (auto& m : ms) m->reset_state();
}

void Model::Impl::collect_logs(Logs& logs, const std::string& pre) const {
  logs[pre + "loss"] = loss_tracker.result();
  if (output_loss_trackers.size() > 1)
    for (const auto& t : output_loss_trackers) logs[pre + t.name()] = t.result();
  for (const auto& ms : metrics)
    for (const auto& m : ms) logs[pre + m->name()] = m->result();
}

bool Model::compiled() const { return impl_->compiled; }
bool Model::losses_on_device() const { return impl_->losses_on_device(); }

optimizers::Optimizer& Model::optimizer() const {
  impl_->require_compiled(name(), "optimizer()");
  return *impl_->optimizer;
}

const std::vector<losses::LossPtr>& Model::loss_functions() const { return impl_->losses; }

callbacks::History& Model::history() { return impl_->history; }

// ---------------------------------------------------------------- steps
detail::Plan& Model::Impl::bound_plan(const TensorList& x) {
  detail::Plan& p = plan(x[0].dim(0));
  for (size_t k = 0; k < x.size(); ++k) p.bind_input(k, x[k]);
  return p;
}

double Model::Impl::gradients(detail::Plan& p, const TensorList& y,
                              const Tensor* sample_weight) {
  // The loss (regularization included) is scaled by the optimizer's loss_scale_factor for the
  // backward pass only; the optimizer divides it out of the gradients (Keras' scale_loss).
  const float scale = optimizer ? static_cast<float>(optimizer->loss_scale()) : 1.f;
  capture_refusal(p, sample_weight, last_capture_refusal);
  if (last_capture_refusal.empty()) return captured_gradients(p, y, sample_weight, scale);
  p.forward(true, step);
  const double loss = loss_and_metrics(p, y, true, sample_weight,
                                       regularization_penalty() + p.activity_penalty(), scale,
                                       !defer_loss_read);
  p.backward(false, scale);
  for (const auto& v : regularized)
    if (v->trainable && v->grad.defined()) v->regularizer->add_gradient(v->value, v->grad, scale);
  return loss;
}

double Model::Impl::train(detail::Plan& p, const TensorList& y, const Tensor* sample_weight) {
  const double loss = gradients(p, y, sample_weight);
  optimizer->apply(trainable);
  ++step;
  return loss;
}

double Model::compute_gradients(const TensorList& x, const TensorList& y,
                                const Tensor* sample_weight) {
  return impl_->gradients(impl_->bound_plan(x), y, sample_weight);
}

double Model::train_step(const TensorList& x, const TensorList& y, const Tensor* sample_weight) {
  return impl_->train(impl_->bound_plan(x), y, sample_weight);
}

std::string Model::profile_train_step(const TensorList& x, const TensorList& y, int steps) {
  Impl& m = *impl_;
  m.require_compiled(name(), "profile_train_step");
  train_step(x, y);  // warm-up: plans, primitives, algorithm searches, optimizer slots
  detail::Plan& p = m.plan(x[0].dim(0));
  const size_t n = m.graph->nodes.size();
  detail::LayerTimes t{std::vector<double>(n, 0.0), std::vector<double>(n, 0.0)};
  double step_s = 0, update_s = 0;
  using clock = std::chrono::steady_clock;
  const auto since = [](clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  p.set_profile(&t);
  for (int s = 0; s < steps; ++s) {
    synchronize(m.device);
    auto t0 = clock::now();
    compute_gradients(x, y);
    synchronize(m.device);
    step_s += since(t0);
    t0 = clock::now();
    m.optimizer->apply(m.trainable);
    synchronize(m.device);
    update_s += since(t0);
    ++m.step;
  }
  p.set_profile(nullptr);
  const double per = 1000.0 / std::max(steps, 1);
  std::ostringstream os;
  os << std::fixed << std::setprecision(3);
  // One line: a name, then milliseconds per step (a second column for layers' backward).
  const auto row = [&](const std::string& name, double first_s, const double* second_s) {
    os << std::left << std::setw(40) << name << std::right << std::setw(12) << first_s * per;
    if (second_s) os << std::setw(13) << *second_s * per;
    os << "\n";
  };
  os << std::left << std::setw(40) << "layer (class)" << std::right << std::setw(12)
     << "forward ms" << std::setw(13) << "backward ms" << "\n";
  double layers_s = 0;
  for (size_t i = 0; i < n; ++i) {
    const detail::GraphNode& g = m.graph->nodes[i];
    if (!g.is_call()) continue;  // inputs, and a call's second and later outputs
    layers_s += t.forward[i] + t.backward[i];
    row(g.layer->name() + " (" + g.layer->class_name() + ")", t.forward[i], &t.backward[i]);
  }
  row("loss, metrics and their copies", step_s - layers_s, nullptr);
  row("optimizer update", update_s, nullptr);
  row("step (drained after every layer)", step_s + update_s, nullptr);
  return os.str();
}

Logs Model::train_on_batch(const TensorList& x, const TensorList& y) {
  ensure_graph(x);
  Impl& m = *impl_;
  m.require_compiled(name(), "train_on_batch");
  m.finish_compile(name());
  m.check_data(name(), x, &y);
  m.reset_metrics();
  train_step(x, y);
  Logs logs;
  m.collect_logs(logs);
  return logs;
}

Logs Model::test_on_batch(const TensorList& x, const TensorList& y) {
  ensure_graph(x);
  Impl& m = *impl_;
  m.require_compiled(name(), "test_on_batch");
  m.finish_compile(name());
  m.check_data(name(), x, &y);
  m.reset_metrics();
  detail::Plan& p = m.bound_plan(x);
  p.forward(false, m.step);
  m.loss_and_metrics(p, y, false, nullptr, m.regularization_penalty() + p.activity_penalty(),
                     1.f, false);
  Logs logs;
  m.collect_logs(logs);
  return logs;
}

TensorList Model::predict_on_batch(const TensorList& x) {
  ensure_graph(x);
  impl_->check_data(name(), x, nullptr);
  detail::Plan& p = impl_->bound_plan(x);
  p.forward(false, impl_->step);
  std::vector<Tensor> out;
  for (size_t k = 0; k < impl_->graph->output_nodes.size(); ++k) out.push_back(p.output(k).clone());
  return out;
}

// ---------------------------------------------------------------- Model as a Layer
Shape Model::compute_output_shape(const std::vector<Shape>& input_shapes) const {
  if (!has_graph()) shape_error("the model has no graph yet");
  return compute_output_shapes(input_shapes)[0];
}

int Model::num_outputs() const {
  return has_graph() ? static_cast<int>(impl_->outputs.size()) : 1;
}

std::vector<Shape> Model::compute_output_shapes(const std::vector<Shape>& input_shapes) const {
  if (!has_graph()) shape_error("the model has no graph yet");
  expect_inputs(input_shapes, impl_->inputs.size(), impl_->inputs.size());
  for (size_t k = 0; k < input_shapes.size(); ++k)
    if (input_shapes[k].with_batch(-1) != impl_->inputs[k].shape())
      shape_error("input " + std::to_string(k) + " has shape " + input_shapes[k].to_string() +
                  ", expected " + impl_->inputs[k].shape().to_string());
  std::vector<Shape> out;
  for (const auto& y : impl_->outputs) out.push_back(y.shape().with_batch(input_shapes[0][0]));
  return out;
}

namespace {
/// A nested model keeps one plan per call site, so a model used twice in an outer graph keeps
/// both calls' activations for the backward pass; the plan runs where the outer model runs.
detail::Plan& call_plan(CallContext& ctx, const detail::Graph& graph, int64_t batch) {
  auto& plan = ctx.state<std::unique_ptr<detail::Plan>>();
  if (!plan || plan->batch() != batch || plan->device() != ctx.device)
    plan = std::make_unique<detail::Plan>(graph, batch, true, ctx.device);
  return *plan;
}

/// A nested model's call, its outputs copied into outputs[0..count).
void nested_forward(CallContext& ctx, const detail::Graph& graph,
                    const std::vector<const Tensor*>& inputs, Tensor* const* outputs,
                    size_t count) {
  detail::Plan& p = call_plan(ctx, graph, outputs[0]->dim(0));
  p.bind_inputs(inputs);
  p.forward(ctx.training, ctx.step);
  for (size_t k = 0; k < count; ++k) ops::copy(p.output(k), *outputs[k]);
}

/// Its backward from the gradients of its first `count` outputs.
void nested_backward(CallContext& ctx, const detail::Graph& graph, int64_t batch,
                     const Tensor* const* grad_outputs, size_t count,
                     const std::vector<Tensor*>& grad_inputs) {
  detail::Plan& p = call_plan(ctx, graph, batch);
  for (size_t k = 0; k < count; ++k) ops::copy(*grad_outputs[k], p.output_grad(k));
  p.backward(ctx.accumulate_grads);
  for (size_t k = 0; k < grad_inputs.size(); ++k)
    if (grad_inputs[k]) ops::copy(p.input_grad(k), *grad_inputs[k]);
}
}  // namespace

void Model::forward(CallContext& ctx, const std::vector<const Tensor*>& inputs, Tensor& output) {
  Tensor* out = &output;
  nested_forward(ctx, *impl_->graph, inputs, &out, 1);
}

void Model::backward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                     const Tensor& output, const Tensor& grad_output,
                     const std::vector<Tensor*>& grad_inputs) {
  (void)inputs;
  const Tensor* dy = &grad_output;
  nested_backward(ctx, *impl_->graph, output.dim(0), &dy, 1, grad_inputs);
}

void Model::forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                          const std::vector<Tensor*>& outputs) {
  nested_forward(ctx, *impl_->graph, inputs, outputs.data(), outputs.size());
}

void Model::backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                           const std::vector<const Tensor*>& outputs,
                           const std::vector<const Tensor*>& grad_outputs,
                           const std::vector<Tensor*>& grad_inputs) {
  (void)inputs;
  nested_backward(ctx, *impl_->graph, outputs[0]->dim(0), grad_outputs.data(),
                  grad_outputs.size(), grad_inputs);
}

// get_config(), to_json() and the file formats live in src/io (model_config.cpp, saving.cpp).

uint64_t Model::train_steps() const { return impl_->step; }

bool Model::jit_compile() const { return impl_->jit_compile; }
void Model::set_jit_compile(bool on) { impl_->jit_compile = on; }

uint64_t Model::cuda_graph_replays() const {
  uint64_t total = 0;
  for (const auto& [batch, plan] : impl_->plans) total += plan->captured_step().replays();
  return total;
}

std::string Model::cuda_graph_refusal() const { return impl_->last_capture_refusal; }
void Model::set_train_steps(uint64_t steps) { impl_->step = steps; }
uint64_t Model::shuffle_seed() const { return impl_->shuffle_seed; }
void Model::set_shuffle_seed(uint64_t seed) { impl_->shuffle_seed = seed; }

}  // namespace fitrun
