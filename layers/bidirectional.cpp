// Bidirectional: the two recurrent layers run on the same input in their own call contexts
// (so each keeps its scratch between forward and backward); their outputs live in this call's
// scratch, and one loop merges them (flipping the backward one's time axis) and, in backward,
// splits the output gradient back. Nothing is allocated per step.
#include "fitrun/layers/bidirectional.hpp"

#include "fitrun/layers/recurrent.hpp"
#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"

namespace fitrun::layers {

namespace {

enum Slot { kYF, kYB, kDYF, kDYB, kDX };

/// The inner layers' own call contexts, kept across forward and backward, and the argument
/// lists handed to them (kept so that a steady-state call allocates nothing).
struct Inner {
  CallContext fwd, bwd;
  std::vector<const Tensor*> x{nullptr};
  std::vector<Tensor*> dx{nullptr};
  // return_state: each direction's [output, states...], and their gradients.
  std::vector<Tensor*> f_out, b_out;
  std::vector<const Tensor*> f_cout, b_cout, f_grad, b_grad;
};

/// `all` = [`heads` outputs, forward states..., backward states...]: `dir`'s [inner output,
/// its states].
template <class P>
void direction(std::vector<P>& into, P inner_output, const std::vector<P>& all, bool backward,
               size_t heads) {
  const size_t states = (all.size() - heads) / 2;
  into.resize(1 + states);
  into[0] = inner_output;
  for (size_t k = 0; k < states; ++k) into[1 + k] = all[heads + (backward ? states : 0) + k];
}

const RNN& expect_rnn(const Layer& l, const char* what) {
  const auto* rnn = dynamic_cast<const RNN*>(&l);
  if (!rnn)
    throw ConfigError(std::string("Bidirectional: ") + what +
                      " must be a SimpleRNN, LSTM or GRU, got " + l.class_name());
  return *rnn;
}

std::string without_prefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0 ? s.substr(prefix.size()) : s;
}

/// A fresh layer from `l`'s config (Keras re-creates the wrapped layer the same way, so the
/// wrapper never shares weights or state with the layer it was given).
LayerPtr recreate(const RNN& l, const std::string& name, bool go_backwards) {
  json c = l.get_config();
  c["name"] = name;
  if (go_backwards) c["go_backwards"] = true;
  c["zero_output_for_mask"] = l.options().return_sequences;  // as Keras forces it
  // A derived (not user-given) dropout seed is re-drawn, so the two directions differ.
  if (!l.options().seed) c["seed"] = nullptr;
  return layer_from_config(l.class_name(), c);
}

/// How an RNN's output row maps into the inner output: (N, T, u) with sequences, (N, u) else.
struct Dims {
  int64_t n, steps, u;
};
Dims dims_of(const Tensor& inner, bool seq) {
  return {inner.dim(0), seq ? inner.dim(1) : 1, inner.dim(seq ? 2 : 1)};
}

}  // namespace

Shape Bidirectional::inner_shape(const Shape& out) const {
  if (merge_mode_ != "concat") return out;
  Shape s = out;
  s[s.rank() - 1] /= 2;
  return s;
}

Bidirectional::Bidirectional(LayerRef layer, BidirectionalOptions o)
    : LayerOf<Bidirectional>(std::move(o.name)), merge_mode_(std::move(o.merge_mode)) {
  if (!layer) throw ConfigError("Bidirectional: the wrapped layer is null");
  if (merge_mode_ != "concat" && merge_mode_ != "sum" && merge_mode_ != "mul" &&
      merge_mode_ != "ave" && merge_mode_ != "none")
    throw ConfigError("Bidirectional: merge_mode must be \"concat\", \"sum\", \"mul\", \"ave\" "
                      "or \"none\", got \"" + merge_mode_ + "\"");
  const RNN& rnn = expect_rnn(*layer, "the wrapped layer");
  const std::string base = layer->name();
  forward_ = recreate(rnn, "forward_" + without_prefix(base, "forward_"), false);
  if (o.backward_layer) {
    expect_rnn(*o.backward_layer, "backward_layer");
    backward_ = o.backward_layer.ptr();
  } else {
    backward_ = recreate(rnn, "backward_" + without_prefix(base, "backward_"), true);
  }
  const RNNOptions& f = static_cast<const RNN&>(*forward_).options();
  const RNNOptions& b = static_cast<const RNN&>(*backward_).options();
  if (f.go_backwards == b.go_backwards)
    throw ConfigError("Bidirectional: the forward and backward layers must have different "
                      "go_backwards values, both have " + std::string(f.go_backwards ? "true" : "false"));
  if (f.return_sequences != b.return_sequences || f.stateful != b.stateful ||
      f.return_state != b.return_state)
    throw ConfigError("Bidirectional: the forward and backward layers must have the same "
                      "return_sequences, return_state and stateful values");
  return_sequences_ = f.return_sequences;
  supports_masking_ = true;
}

Shape Bidirectional::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  std::vector<int64_t> out = forward_->compute_output_shape(s).to_vector();
  backward_->compute_output_shape(s);  // validates the backward layer too
  if (merge_mode_ == "concat") out.back() *= 2;
  return Shape(out);
}

int Bidirectional::num_outputs() const {
  return heads() + 2 * (forward_->num_outputs() - 1);
}

std::vector<Shape> Bidirectional::compute_output_shapes(const std::vector<Shape>& s) const {
  std::vector<Shape> out(static_cast<size_t>(heads()), compute_output_shape(s));
  const std::vector<Shape> f = forward_->compute_output_shapes(s), b = backward_->compute_output_shapes(s);
  out.insert(out.end(), f.begin() + 1, f.end());
  out.insert(out.end(), b.begin() + 1, b.end());
  return out;
}

void Bidirectional::build(const std::vector<Shape>& s) {
  forward_->ensure_built(s);
  backward_->ensure_built(s);
  // Keras' variable paths nest the inner layers under the wrapper:
  // bidirectional/forward_lstm/lstm_cell/kernel.
  for (const auto& w : weights()) w->path = name() + "/" + w->path;
}

std::vector<Layer::WeightGroup> Bidirectional::weight_tree() const {
  std::vector<WeightGroup> out{{"", name(), {}}};
  for (const auto& [prefix, inner] : {std::pair<std::string, LayerPtr>{"forward_layer", forward_},
                                      std::pair<std::string, LayerPtr>{"backward_layer", backward_}})
    for (auto g : inner->weight_tree()) {
      g.path = g.path.empty() ? prefix : prefix + "/" + g.path;
      out.push_back(std::move(g));
    }
  return out;
}

std::vector<VariablePtr> Bidirectional::weights() const {
  std::vector<VariablePtr> out = forward_->weights();
  for (const auto& w : backward_->weights()) out.push_back(w);
  return out;
}

bool Bidirectional::produces_mask(const std::vector<bool>& in) const {
  return return_sequences_ && !in.empty() && in[0];
}

void Bidirectional::forward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                            Tensor& y) {
  run_forward(ctx, *inputs[0], y, nullptr, nullptr);
}

void Bidirectional::forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                                  const std::vector<Tensor*>& outputs) {
  const size_t h = static_cast<size_t>(heads());
  run_forward(ctx, *inputs[0], *outputs[0], outputs.size() > h ? &outputs : nullptr,
              h == 2 ? outputs[1] : nullptr);
}

void Bidirectional::backward(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                             const Tensor& y, const Tensor& dy,
                             const std::vector<Tensor*>& grad_inputs) {
  run_backward(ctx, *inputs[0], y, dy, nullptr, nullptr, nullptr, grad_inputs[0]);
}

void Bidirectional::backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                                   const std::vector<const Tensor*>& outputs,
                                   const std::vector<const Tensor*>& grad_outputs,
                                   const std::vector<Tensor*>& grad_inputs) {
  const size_t h = static_cast<size_t>(heads());
  const bool states = outputs.size() > h;
  run_backward(ctx, *inputs[0], *outputs[0], *grad_outputs[0], states ? &outputs : nullptr,
               states ? &grad_outputs : nullptr, h == 2 ? grad_outputs[1] : nullptr,
               grad_inputs[0]);
}

void Bidirectional::run_forward(CallContext& ctx, const Tensor& x, Tensor& y,
                                const std::vector<Tensor*>* outputs, Tensor* y_back) {
  Inner& inner = ctx.state<Inner>();
  for (CallContext* c : {&inner.fwd, &inner.bwd}) {
    c->training = ctx.training;
    c->step = ctx.step;
    c->call_index = ctx.call_index;
    c->input_masks = ctx.input_masks;
  }
  const Shape s = inner_shape(y.shape());
  Tensor yf = ctx.scratch(kYF, s), yb = ctx.scratch(kYB, s);
  inner.x[0] = &x;
  if (outputs) {  // return_state: each direction writes its states into this call's outputs
    direction(inner.f_out, &yf, *outputs, false, static_cast<size_t>(heads()));
    direction(inner.b_out, &yb, *outputs, true, static_cast<size_t>(heads()));
    forward_->forward_multi(inner.fwd, inner.x, inner.f_out);
    backward_->forward_multi(inner.bwd, inner.x, inner.b_out);
  } else {
    forward_->forward(inner.fwd, inner.x, yf);
    backward_->forward(inner.bwd, inner.x, yb);
  }

  const auto [n, steps, u] = dims_of(yf, return_sequences_);
  const Tensor* mask = return_sequences_ ? ctx.input_mask(0) : nullptr;
  const float* mp = mask ? mask->data<float>() : nullptr;
  const float* a = yf.data<float>();
  const float* b = yb.data<float>();
  float* out = y.data<float>();
  float* out_back = y_back ? y_back->data<float>() : nullptr;  // merge_mode "none"
  const bool concat = merge_mode_ == "concat", sum = merge_mode_ == "sum",
             mul = merge_mode_ == "mul";
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < steps; ++t) {
      // The backward layer's output is in its processing order: step t is at T-1-t.
      const float* ar = a + (i * steps + t) * u;
      const float* br = b + (i * steps + steps - 1 - t) * u;
      const bool masked = mp && mp[i * steps + t] == 0.f;  // Keras outputs zeros there
      float* o = out + (i * steps + t) * u * (concat ? 2 : 1);
      float* ob = out_back ? out_back + (i * steps + t) * u : nullptr;
      for (int64_t k = 0; k < u; ++k) {
        if (ob) {
          o[k] = masked ? 0.f : ar[k];
          ob[k] = masked ? 0.f : br[k];
        } else if (concat) {
          o[k] = masked ? 0.f : ar[k];
          o[u + k] = masked ? 0.f : br[k];
        } else {
          o[k] = masked ? 0.f : sum ? ar[k] + br[k] : mul ? ar[k] * br[k] : (ar[k] + br[k]) / 2;
        }
      }
    }
}

void Bidirectional::run_backward(CallContext& ctx, const Tensor& x, const Tensor& y,
                                 const Tensor& dy, const std::vector<const Tensor*>* outputs,
                                 const std::vector<const Tensor*>* grad_outputs,
                                 const Tensor* dy_back, Tensor* dx) {
  Inner& inner = ctx.state<Inner>();
  for (CallContext* c : {&inner.fwd, &inner.bwd}) {
    c->accumulate_grads = ctx.accumulate_grads;
    c->input_masks = ctx.input_masks;
  }
  forward_->trainable = trainable;
  backward_->trainable = trainable;
  const Shape s = inner_shape(y.shape());
  const Tensor yf = ctx.scratch(kYF, s), yb = ctx.scratch(kYB, s);
  Tensor dyf = ctx.scratch(kDYF, s), dyb = ctx.scratch(kDYB, s);

  const auto [n, steps, u] = dims_of(yf, return_sequences_);
  const Tensor* mask = return_sequences_ ? ctx.input_mask(0) : nullptr;
  const float* mp = mask ? mask->data<float>() : nullptr;
  const float* a = yf.data<float>();
  const float* b = yb.data<float>();
  const float* g = dy.data<float>();
  const float* g_back = dy_back ? dy_back->data<float>() : nullptr;  // merge_mode "none"
  float* da = dyf.data<float>();
  float* db = dyb.data<float>();
  const bool concat = merge_mode_ == "concat", mul = merge_mode_ == "mul";
  const float half = merge_mode_ == "ave" ? 0.5f : 1.f;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t ra = (i * steps + t) * u, rb = (i * steps + steps - 1 - t) * u;
      const bool masked = mp && mp[i * steps + t] == 0.f;
      const float* gr = g + ra * (concat ? 2 : 1);
      for (int64_t k = 0; k < u; ++k) {
        if (masked) {
          da[ra + k] = db[rb + k] = 0.f;
        } else if (g_back) {
          da[ra + k] = gr[k];
          db[rb + k] = g_back[ra + k];
        } else if (concat) {
          da[ra + k] = gr[k];
          db[rb + k] = gr[u + k];
        } else if (mul) {
          da[ra + k] = gr[k] * b[rb + k];
          db[rb + k] = gr[k] * a[ra + k];
        } else {
          da[ra + k] = db[rb + k] = gr[k] * half;
        }
      }
    }

  inner.x[0] = &x;
  inner.dx[0] = dx;
  // Each direction's backward, with its states' gradients under return_state.
  auto run_inner = [&](Layer& layer, CallContext& c, const Tensor& yi, const Tensor& dyi,
                       bool backward_dir) {
    if (!outputs) {
      layer.backward(c, inner.x, yi, dyi, inner.dx);
      return;
    }
    auto& outs = backward_dir ? inner.b_cout : inner.f_cout;
    auto& grads = backward_dir ? inner.b_grad : inner.f_grad;
    direction(outs, &yi, *outputs, backward_dir, static_cast<size_t>(heads()));
    direction(grads, &dyi, *grad_outputs, backward_dir, static_cast<size_t>(heads()));
    layer.backward_multi(c, inner.x, outs, grads, inner.dx);
  };
  run_inner(*forward_, inner.fwd, yf, dyf, false);
  if (!dx) {
    run_inner(*backward_, inner.bwd, yb, dyb, true);
    return;
  }
  // The backward layer's input gradient goes to scratch, then adds to the forward one's.
  Tensor dx_back = ctx.scratch(kDX, x.shape());
  inner.dx[0] = &dx_back;
  run_inner(*backward_, inner.bwd, yb, dyb, true);
  ops::add_inplace(*dx, dx_back);
}

void Bidirectional::reset_states() {
  static_cast<RNN&>(*forward_).reset_states();
  static_cast<RNN&>(*backward_).reset_states();
}

json Bidirectional::get_config() const {
  json c = Layer::get_config();
  c["merge_mode"] = merge_mode_ == "none" ? json(nullptr) : json(merge_mode_);
  c["layer"] = io::keras_object("keras.layers", forward_->class_name(), forward_->get_config());
  c["backward_layer"] =
      io::keras_object("keras.layers", backward_->class_name(), backward_->get_config());
  return c;
}

}  // namespace fitrun::layers
