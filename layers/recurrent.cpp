// SimpleRNN, LSTM and GRU. The input projection of all timesteps is one matmul
// (x (N·T, in) · kernel); each step then does one recurrent matmul (h (N, units) ·
// recurrent_kernel) through ops::dense_forward and the gate maths in a loop; the backward is
// backpropagation through time with the weight gradients as two matmuls over all steps.
// Dropout (training) masks the matmuls' inputs through layers/rnn_dropout.cpp.
// Calls that need no step loop and use the default activations run instead as one fused oneDNN
// RNN primitive (fused_config below, layers/recurrent_fused.cpp, ops::rnn_forward).
// Everything is stored time-major per call in the context's scratch (held by value: a later
// scratch() call may move the slots), so a steady-state step
// allocates nothing.
#include "fitrun/layers/recurrent.hpp"

#include <cmath>
#include <optional>
#include <utility>

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"
#include "layers/recurrent_fused.hpp"
#include "layers/rnn_dropout.hpp"

namespace fitrun::layers {

namespace {

// Scratch slots of one call (a MaskedMatmul takes 8 from its first).
enum Slot {
  kXW, kZ, kH, kC, kHR, kB, kDXW, kDHR, kDH, kDC, kDHTmp, kDB, kHB, kDBVec,
  kInMask, kInOnes, kRecMask, kRecOnes,
  kInMM = 20, kRecMM = 28, kRecAllMM = 36
};

inline float sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }
/// tanh through one expf (glibc's tanhf goes through the much slower expm1f, which dominated
/// the LSTM step); absolute error ~1e-7, saturating correctly at ±1.
inline float fast_tanh(float x) { return 2.f / (1.f + std::exp(-2.f * x)) - 1.f; }

/// The activations an RNN accepts, elementwise, with their derivative from the input.
float act_fwd(ActivationFn f, float x) {
  switch (f) {
    case ActivationFn::tanh: return fast_tanh(x);
    case ActivationFn::sigmoid: return sigmoid(x);
    case ActivationFn::relu: return x > 0 ? x : 0.f;
    case ActivationFn::linear: return x;
    case ActivationFn::elu: return x > 0 ? x : std::expm1(x);
    case ActivationFn::softplus: return std::log1p(std::exp(x));
    case ActivationFn::swish: return x * sigmoid(x);
    default: return x;
  }
}
float act_grad(ActivationFn f, float x) {
  switch (f) {
    case ActivationFn::tanh: { const float y = fast_tanh(x); return 1.f - y * y; }
    case ActivationFn::sigmoid: { const float y = sigmoid(x); return y * (1.f - y); }
    case ActivationFn::relu: return x > 0 ? 1.f : 0.f;
    case ActivationFn::linear: return 1.f;
    case ActivationFn::elu: return x > 0 ? 1.f : std::exp(x);
    case ActivationFn::softplus: return sigmoid(x);
    case ActivationFn::swish: { const float s = sigmoid(x); return s + x * s * (1.f - s); }
    default: return 1.f;
  }
}

ActivationFn rnn_activation(const std::string& name, const char* key) {
  const ActivationFn f = parse_activation(name);
  switch (f) {
    case ActivationFn::tanh: case ActivationFn::sigmoid: case ActivationFn::relu:
    case ActivationFn::linear: case ActivationFn::elu: case ActivationFn::softplus:
    case ActivationFn::swish:
      return f;
    default:
      throw ConfigError(std::string("recurrent layers: ") + key + " \"" + name +
                        "\" is not supported (tanh, sigmoid, relu, linear, elu, softplus, swish)");
  }
}

/// Rows [s, s+1) of a time-major (T, N, F) buffer as an (N, F) view.
inline Tensor step_view(const Tensor& t, int64_t s) {
  return t.slice(s, s + 1).reshape({t.dim(1), t.dim(2)});
}

using rnn_dropout::MaskedMatmul;

/// The dropout of one training call, as Keras 3's cells do it: masks drawn once per call (the
/// same at every step), one per sample. The input gets one mask shared by the gates, or one
/// per gate once recurrent dropout is on (Keras' "implementation 1"); the recurrent state one
/// per gate (SimpleRNN: one of each).
struct Dropouts {
  bool input = false, recurrent = false;
  Tensor in_masks, rec_masks;  // (1 or gates, N, in), (gates, N, units)
};
/// `draw` in forward; backward reads the masks its forward drew.
Dropouts dropouts(CallContext& ctx, const RNNOptions& o, uint32_t seed, int64_t gates,
                  int64_t n, int64_t in, int64_t u, bool draw) {
  Dropouts d;
  if (!ctx.training) return d;
  d.input = o.dropout > 0.f;
  d.recurrent = o.recurrent_dropout > 0.f;
  // A fresh mask per step and per call of a shared layer, reproducible from the step number.
  const uint64_t base = seed ^ (static_cast<uint64_t>(ctx.call_index) << 32);
  if (d.input) {
    const Shape s{d.recurrent ? gates : 1, n, in};
    d.in_masks = ctx.scratch(kInMask, s);
    Tensor ones = ctx.scratch(kInOnes, s);
    if (draw) rnn_dropout::draw(d.in_masks, ones, o.dropout, base, ctx.step);
  }
  if (d.recurrent) {
    const Shape s{gates, n, u};
    d.rec_masks = ctx.scratch(kRecMask, s);
    Tensor ones = ctx.scratch(kRecOnes, s);
    if (draw) rnn_dropout::draw(d.rec_masks, ones, o.recurrent_dropout, base ^ (1ULL << 48), ctx.step);
  }
  return d;
}

/// The fused oneDNN kernel a call runs on (layers/recurrent_fused.cpp), if any: a call that
/// needs no step loop (RNN::needs_step_loop: no mask, no dropout in training, not stateful)
/// with Keras' default activations (SimpleRNN: tanh or relu). Other calls take the step loop.
/// return_state also takes the step loop: the fused kernel has the final h (dst_iter) but the
/// LSTM's final c and the states' gradients would need more of ops::rnn_forward/rnn_backward,
/// while the step loop has all states at hand.
std::optional<ops::RNNConfig> fused_config(RNN::Cell cell, const RNNOptions& o, ActivationFn act,
                                           ActivationFn recurrent_act, bool needs_step_loop) {
  if (needs_step_loop || o.return_state || !ops::fused_rnn_enabled()) return std::nullopt;
  const bool gates_ok = act == ActivationFn::tanh && recurrent_act == ActivationFn::sigmoid;
  ops::RNNConfig c{ops::RNNCell::lstm, o.go_backwards, o.return_sequences};
  switch (cell) {
    case RNN::Cell::simple:
      if (act != ActivationFn::tanh && act != ActivationFn::relu) return std::nullopt;
      c.cell = act == ActivationFn::tanh ? ops::RNNCell::simple_tanh : ops::RNNCell::simple_relu;
      return c;
    case RNN::Cell::lstm:
      if (!gates_ok) return std::nullopt;
      return c;
    case RNN::Cell::gru:
      if (!gates_ok) return std::nullopt;
      c.cell = o.reset_after ? ops::RNNCell::gru_reset_after : ops::RNNCell::gru_reset_before;
      return c;
  }
  return std::nullopt;
}

}  // namespace

RNN::RNN(Cell cell, int64_t units, RNNOptions options)
    : Layer(options.name),
      cell_(cell),
      units_(units),
      options_(std::move(options)),
      act_(rnn_activation(options_.activation, "activation")),
      recurrent_act_(rnn_activation(options_.recurrent_activation, "recurrent_activation")),
      // 31 bits: a seed any Keras version accepts when it reads the config.
      noise_seed_(options_.seed ? *options_.seed : static_cast<uint32_t>(Layer::seed() >> 33)) {
  activity_regularizer = options_.activity_regularizer;
  if (units <= 0)
    throw ConfigError("recurrent layer: units must be a positive integer, got " +
                      std::to_string(units));
  for (auto [key, rate] : {std::pair{"dropout", options_.dropout},
                           std::pair{"recurrent_dropout", options_.recurrent_dropout}})
    if (!(rate >= 0.f && rate < 1.f))
      throw ConfigError(std::string("recurrent layer: ") + key + " must be in [0, 1), got " +
                        std::to_string(rate));
}

bool RNN::needs_step_loop(const CallContext& ctx) const {
  return options_.stateful || ctx.input_mask(0) != nullptr ||
         (ctx.training && (options_.dropout > 0.f || options_.recurrent_dropout > 0.f));
}

Shape RNN::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 1, 1);
  if (s[0].rank() != 3)
    shape_error("expected an input (batch, timesteps, features), got " + s[0].to_string());
  if (s[0].dim(1) <= 0 || s[0].dim(2) <= 0)
    shape_error("timesteps and features must be known, got " + s[0].to_string());
  if (built() && s[0].dim(2) != kernel_->value.dim(0))
    shape_error("built for " + std::to_string(kernel_->value.dim(0)) + " features, got input " +
                s[0].to_string());
  if (options_.return_sequences) return Shape{s[0].dim(0), s[0].dim(1), units_};
  return Shape{s[0].dim(0), units_};
}

int RNN::num_outputs() const {
  if (!options_.return_state) return 1;
  return cell_ == Cell::lstm ? 3 : 2;
}

std::vector<Shape> RNN::compute_output_shapes(const std::vector<Shape>& s) const {
  std::vector<Shape> out = {compute_output_shape(s)};
  for (int k = 1; k < num_outputs(); ++k) out.push_back(Shape{s[0].dim(0), units_});
  return out;
}

void RNN::build(const std::vector<Shape>& s) {
  const int64_t in = s[0].dim(2), g = gates() * units_;
  // Keras names the weights after the cell: lstm/lstm_cell/kernel.
  const std::string cell_name = cell_ == Cell::lstm ? "lstm_cell"
                                : cell_ == Cell::gru ? "gru_cell"
                                                     : "simple_rnn_cell";
  auto weight = [&](const std::string& n, const Shape& shape, const InitializerRef& init,
                    const RegularizerRef& reg, const ConstraintRef& con) {
    VariablePtr v = add_weight(n, shape, init, reg, con);
    v->path = name() + "/" + cell_name + "/" + n;
    return v;
  };
  kernel_ = weight("kernel", {in, g}, options_.kernel_initializer, options_.kernel_regularizer,
                   options_.kernel_constraint);
  recurrent_kernel_ = weight("recurrent_kernel", {units_, g}, options_.recurrent_initializer,
                             options_.recurrent_regularizer, options_.recurrent_constraint);
  if (options_.use_bias) {
    const bool two = cell_ == Cell::gru && options_.reset_after;
    bias_ = weight("bias", two ? Shape{2, g} : Shape{g}, options_.bias_initializer,
                   options_.bias_regularizer, options_.bias_constraint);
    if (cell_ == Cell::lstm && options_.unit_forget_bias) {
      // Keras: zeros for i, c, o and ones for f (the bias initializer is used for i, c, o).
      float* b = bias_->value.data<float>();
      for (int64_t u = 0; u < units_; ++u) b[units_ + u] = 1.f;
    }
  }
}

bool RNN::produces_mask(const std::vector<bool>& in) const {
  return options_.return_sequences && !in.empty() && in[0];
}

void RNN::forward(CallContext& ctx, const std::vector<const Tensor*>& inputs, Tensor& y) {
  run_forward(ctx, *inputs[0], y, nullptr, nullptr);
}

void RNN::forward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                        const std::vector<Tensor*>& outputs) {
  run_forward(ctx, *inputs[0], *outputs[0], outputs.size() > 1 ? outputs[1] : nullptr,
              outputs.size() > 2 ? outputs[2] : nullptr);
}

void RNN::run_forward(CallContext& ctx, const Tensor& x, Tensor& y, Tensor* h_out, Tensor* c_out) {
  const int64_t n = x.dim(0), steps = x.dim(1), in = x.dim(2), u = units_, g = gates() * u;
  const Tensor* mask = ctx.input_mask(0);
  if (const auto fc =
          fused_config(cell_, options_, act_, recurrent_act_, needs_step_loop(ctx))) {
    fused_rnn::forward(ctx, *fc, x, kernel_->value, recurrent_kernel_->value,
                       bias_ ? bias_->value : Tensor(), y);
    return;
  }
  const bool gru = cell_ == Cell::gru, lstm = cell_ == Cell::lstm;
  const bool two_bias = gru && options_.reset_after && bias_;

  Tensor xw = ctx.scratch(kXW, {n * steps, g});
  Tensor z = ctx.scratch(kZ, {steps, n, g});
  Tensor h = ctx.scratch(kH, {steps + 1, n, u});
  Tensor c = ctx.scratch(kC, {lstm ? steps + 1 : 1, n, u});
  Tensor hr = ctx.scratch(kHR, {steps, n, g});
  Tensor b = ctx.scratch(kB, {gru && !options_.reset_after ? steps : 1, n, u});
  Tensor hb = ctx.scratch(kHB, {n, g});

  Tensor bias_in, bias_rec;
  if (bias_) {
    bias_in = two_bias ? bias_->value.slice(0, 1).reshape({g}) : bias_->value;
    if (two_bias) bias_rec = bias_->value.slice(1, 2).reshape({g});
  }
  const Dropouts drop = dropouts(ctx, options_, noise_seed_, gates(), n, in, u, true);
  const Tensor x2 = x.reshape({n * steps, in});
  if (drop.input)  // rows (i, t): sample i = row / steps
    MaskedMatmul(ctx, kInMM, drop.in_masks, steps, kernel_->value, bias_in, n * steps).forward(x2, xw);
  else
    ops::dense_forward(x2, kernel_->value, bias_in, ActivationFn::linear, xw);
  MaskedMatmul rec_mm;
  if (drop.recurrent) rec_mm = MaskedMatmul(ctx, kRecMM, drop.rec_masks, 1, recurrent_kernel_->value, bias_rec, n);
  // GRU reset_before: the candidate's recurrent input is r·(h ⊙ its mask).
  const float* rm_h = drop.recurrent && gru ? drop.rec_masks.data<float>() + 2 * n * u : nullptr;
  if (options_.stateful) {
    // The state the previous call ended with (zeros after reset_states); backward treats it
    // as a constant, so gradients stop at the batch boundary as in Keras.
    if (!state_h_.defined()) {
      state_h_ = Tensor::zeros({n, u});  // once per reset, not per step
      if (lstm) state_c_ = Tensor::zeros({n, u});
    } else if (state_h_.dim(0) != n) {
      shape_error("stateful: the state holds " + std::to_string(state_h_.dim(0)) +
                  " samples but this batch has " + std::to_string(n) +
                  "; a stateful layer needs the same batch size every call (call reset_states() "
                  "to start over with another)");
    }
    step_view(h, 0).copy_from(state_h_);
    if (lstm) step_view(c, 0).copy_from(state_c_);
  } else {
    step_view(h, 0).fill(0);
    if (lstm) step_view(c, 0).fill(0);
  }

  const float* xwp = xw.data<float>();
  const float* mp = mask ? mask->data<float>() : nullptr;
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t t = options_.go_backwards ? steps - 1 - s : s;
    const Tensor hp_t = step_view(h, s);
    Tensor hr_t = step_view(hr, s);
    if (drop.recurrent) rec_mm.forward(hp_t, hr_t);
    else ops::dense_forward(hp_t, recurrent_kernel_->value, bias_rec, ActivationFn::linear, hr_t);
    const float* hp = hp_t.data<float>();
    const float* r = hr_t.data<float>();
    float* zs = step_view(z, s).data<float>();
    float* hn = step_view(h, s + 1).data<float>();
    if (gru && !options_.reset_after) {
      // (r·h_prev)·U_h needs r first: gates z and r, then the second matmul.
      float* bs = step_view(b, s).data<float>();
      for (int64_t i = 0; i < n; ++i) {
        const float* xr = xwp + (i * steps + t) * g;
        for (int64_t k = 0; k < u; ++k) {
          const float zr = xr[u + k] + r[i * g + u + k];
          bs[i * u + k] = act_fwd(recurrent_act_, zr) * hp[i * u + k] * (rm_h ? rm_h[i * u + k] : 1.f);
        }
      }
      ops::dense_forward(step_view(b, s), recurrent_kernel_->value, Tensor(), ActivationFn::linear, hb);
    }
    const float* hbp = hb.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      float* hrow = hn + i * u;
      const float* hprow = hp + i * u;
      if (mp && mp[i * steps + t] == 0.f) {  // masked: the state carries over unchanged
        for (int64_t k = 0; k < u; ++k) hrow[k] = hprow[k];
        if (lstm) {
          float* cn = step_view(c, s + 1).data<float>() + i * u;
          const float* cp = step_view(c, s).data<float>() + i * u;
          for (int64_t k = 0; k < u; ++k) cn[k] = cp[k];
        }
        continue;
      }
      const float* xr = xwp + (i * steps + t) * g;
      const float* rr = r + i * g;
      float* zr = zs + i * g;
      if (cell_ == Cell::simple) {
        for (int64_t k = 0; k < u; ++k) {
          zr[k] = xr[k] + rr[k];
          hrow[k] = act_fwd(act_, zr[k]);
        }
      } else if (lstm) {
        float* cn = step_view(c, s + 1).data<float>() + i * u;
        const float* cp = step_view(c, s).data<float>() + i * u;
        for (int64_t k = 0; k < g; ++k) zr[k] = xr[k] + rr[k];
        for (int64_t k = 0; k < u; ++k) {
          const float ig = act_fwd(recurrent_act_, zr[k]);
          const float fg = act_fwd(recurrent_act_, zr[u + k]);
          const float cc = act_fwd(act_, zr[2 * u + k]);
          const float og = act_fwd(recurrent_act_, zr[3 * u + k]);
          cn[k] = fg * cp[k] + ig * cc;
          hrow[k] = og * act_fwd(act_, cn[k]);
        }
      } else {
        for (int64_t k = 0; k < u; ++k) {
          zr[k] = xr[k] + rr[k];
          zr[u + k] = xr[u + k] + rr[u + k];
          const float zg = act_fwd(recurrent_act_, zr[k]);
          const float rg = act_fwd(recurrent_act_, zr[u + k]);
          zr[2 * u + k] = options_.reset_after ? xr[2 * u + k] + rg * rr[2 * u + k]
                                               : xr[2 * u + k] + hbp[i * g + 2 * u + k];
          const float hh = act_fwd(act_, zr[2 * u + k]);
          hrow[k] = zg * hprow[k] + (1.f - zg) * hh;
        }
      }
    }
  }
  if (options_.return_sequences) {
    // y (N, T, units) from the time-major states, in processing order (as Keras).
    float* yp = y.data<float>();
    const bool zero_masked = mp && options_.zero_output_for_mask;
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = options_.go_backwards ? steps - 1 - s : s;
      const float* hs = step_view(h, s + 1).data<float>();
      for (int64_t i = 0; i < n; ++i) {
        const bool zero = zero_masked && mp[i * steps + t] == 0.f;
        for (int64_t k = 0; k < u; ++k) yp[(i * steps + s) * u + k] = zero ? 0.f : hs[i * u + k];
      }
    }
  } else {
    y.copy_from(step_view(h, steps));
  }
  // The final states, as Keras: what the last step left (masked steps carried them over).
  if (h_out) h_out->copy_from(step_view(h, steps));
  if (c_out) c_out->copy_from(step_view(c, steps));
  if (options_.stateful) {
    state_h_.copy_from(step_view(h, steps));
    if (lstm) state_c_.copy_from(step_view(c, steps));
  }
}

void RNN::reset_states() {
  state_h_ = Tensor();
  state_c_ = Tensor();
}

void RNN::backward(CallContext& ctx, const std::vector<const Tensor*>& inputs, const Tensor& y,
                   const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  run_backward(ctx, *inputs[0], y, dy, nullptr, nullptr, grad_inputs[0]);
}

void RNN::backward_multi(CallContext& ctx, const std::vector<const Tensor*>& inputs,
                         const std::vector<const Tensor*>& outputs,
                         const std::vector<const Tensor*>& grad_outputs,
                         const std::vector<Tensor*>& grad_inputs) {
  run_backward(ctx, *inputs[0], *outputs[0], *grad_outputs[0],
               grad_outputs.size() > 1 ? grad_outputs[1] : nullptr,
               grad_outputs.size() > 2 ? grad_outputs[2] : nullptr, grad_inputs[0]);
}

void RNN::run_backward(CallContext& ctx, const Tensor& x, const Tensor& y, const Tensor& dy,
                       const Tensor* dh_out, const Tensor* dc_out, Tensor* dx_out) {
  const int64_t n = x.dim(0), steps = x.dim(1), in = x.dim(2), u = units_, g = gates() * u;
  const Tensor* mask = ctx.input_mask(0);
  if (const auto fc =
          fused_config(cell_, options_, act_, recurrent_act_, needs_step_loop(ctx))) {
    fused_rnn::backward(ctx, *fc, x, *kernel_, *recurrent_kernel_, bias_.get(), trainable, y, dy,
                        dx_out);
    return;
  }
  const bool gru = cell_ == Cell::gru, lstm = cell_ == Cell::lstm;
  const bool reset_after = options_.reset_after, two_bias = gru && reset_after && bias_;
  const bool gru_before = gru && !reset_after;

  const Tensor z = ctx.scratch(kZ, {steps, n, g});
  const Tensor h = ctx.scratch(kH, {steps + 1, n, u});
  const Tensor c = ctx.scratch(kC, {lstm ? steps + 1 : 1, n, u});
  const Tensor hr = ctx.scratch(kHR, {steps, n, g});
  const Tensor b = ctx.scratch(kB, {gru_before ? steps : 1, n, u});
  Tensor dxw = ctx.scratch(kDXW, {n * steps, g});
  Tensor dhr = ctx.scratch(kDHR, {steps, n, g});
  Tensor dh = ctx.scratch(kDH, {n, u});
  Tensor dc = ctx.scratch(kDC, {n, u});
  Tensor dh_tmp = ctx.scratch(kDHTmp, {n, u});
  Tensor db = ctx.scratch(kDB, {gru_before ? steps : 1, n, g});
  Tensor db_vec = ctx.scratch(kDBVec, {n, u});
  // Backpropagation through time starts from the final states' gradients (return_state).
  if (dh_out) dh.copy_from(*dh_out);
  else dh.fill(0);
  if (dc_out) dc.copy_from(*dc_out);
  else dc.fill(0);
  if (gru_before) db.fill(0);
  const Dropouts drop = dropouts(ctx, options_, noise_seed_, gates(), n, in, u, false);
  MaskedMatmul rec_mm;
  if (drop.recurrent) rec_mm = MaskedMatmul(ctx, kRecMM, drop.rec_masks, 1, recurrent_kernel_->value, Tensor(), n);
  const float* rm_h = drop.recurrent && gru ? drop.rec_masks.data<float>() + 2 * n * u : nullptr;

  const float* mp = mask ? mask->data<float>() : nullptr;
  const float* dyp = dy.data<float>();
  float* dxwp = dxw.data<float>();
  float* dhp_ = dh.data<float>();
  float* dcp_ = dc.data<float>();
  const Tensor& R = recurrent_kernel_->value;
  for (int64_t s = steps; s-- > 0;) {
    const int64_t t = options_.go_backwards ? steps - 1 - s : s;
    // dL/dh_s: from the output at this step plus what flowed back from step s + 1.
    if (options_.return_sequences) {
      for (int64_t i = 0; i < n; ++i) {
        if (mp && options_.zero_output_for_mask && mp[i * steps + t] == 0.f) continue;  // a 0 output
        for (int64_t k = 0; k < u; ++k) dhp_[i * u + k] += dyp[(i * steps + s) * u + k];
      }
    } else if (s == steps - 1) {
      for (int64_t i = 0; i < n * u; ++i) dhp_[i] += dyp[i];
    }
    const float* zs = step_view(z, s).data<float>();
    const float* hp = step_view(h, s).data<float>();
    const float* rr_all = step_view(hr, s).data<float>();
    float* dr_all = step_view(dhr, s).data<float>();
    if (gru_before) {
      // The candidate's matmul input was r·h_prev: its gradient needs dZ_h first.
      float* dbs = step_view(db, s).data<float>();
      for (int64_t i = 0; i < n; ++i) {
        if (mp && mp[i * steps + t] == 0.f) continue;
        for (int64_t k = 0; k < u; ++k) {
          const float zg = act_fwd(recurrent_act_, zs[i * g + k]);
          const float dhh = dhp_[i * u + k] * (1.f - zg);
          dbs[i * g + 2 * u + k] = dhh * act_grad(act_, zs[i * g + 2 * u + k]);
        }
      }
      ops::dense_backward_data(step_view(db, s), R, db_vec);
    }
    const float* dbv = db_vec.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      float* dxr = dxwp + (i * steps + t) * g;
      float* drr = dr_all + i * g;
      if (mp && mp[i * steps + t] == 0.f) {  // masked: no gate gradient, dh and dc pass through
        for (int64_t k = 0; k < g; ++k) dxr[k] = drr[k] = 0.f;
        continue;
      }
      const float* zr = zs + i * g;
      float* dhr_row = dhp_ + i * u;
      if (cell_ == Cell::simple) {
        for (int64_t k = 0; k < u; ++k) dxr[k] = drr[k] = dhr_row[k] * act_grad(act_, zr[k]);
      } else if (lstm) {
        const float* cn = step_view(c, s + 1).data<float>() + i * u;
        const float* cp = step_view(c, s).data<float>() + i * u;
        float* dcr = dcp_ + i * u;
        for (int64_t k = 0; k < u; ++k) {
          const float ig = act_fwd(recurrent_act_, zr[k]);
          const float fg = act_fwd(recurrent_act_, zr[u + k]);
          const float cc = act_fwd(act_, zr[2 * u + k]);
          const float og = act_fwd(recurrent_act_, zr[3 * u + k]);
          const float dhv = dhr_row[k];
          const float dct = dcr[k] + dhv * og * act_grad(act_, cn[k]);
          dxr[k] = dct * cc * act_grad(recurrent_act_, zr[k]);
          dxr[u + k] = dct * cp[k] * act_grad(recurrent_act_, zr[u + k]);
          dxr[2 * u + k] = dct * ig * act_grad(act_, zr[2 * u + k]);
          dxr[3 * u + k] = dhv * act_fwd(act_, cn[k]) * act_grad(recurrent_act_, zr[3 * u + k]);
          dcr[k] = dct * fg;
          for (int64_t q = 0; q < 4; ++q) drr[q * u + k] = dxr[q * u + k];
        }
      } else {
        const float* rr = rr_all + i * g;
        for (int64_t k = 0; k < u; ++k) {
          const float zg = act_fwd(recurrent_act_, zr[k]);
          const float rg = act_fwd(recurrent_act_, zr[u + k]);
          const float hh = act_fwd(act_, zr[2 * u + k]);
          const float dhv = dhr_row[k];
          const float dzh = dhv * (1.f - zg) * act_grad(act_, zr[2 * u + k]);
          const float drg = reset_after ? dzh * rr[2 * u + k]
                                        : dbv[i * u + k] * hp[i * u + k] * (rm_h ? rm_h[i * u + k] : 1.f);
          dxr[k] = drr[k] = dhv * (hp[i * u + k] - hh) * act_grad(recurrent_act_, zr[k]);
          dxr[u + k] = drr[u + k] = drg * act_grad(recurrent_act_, zr[u + k]);
          dxr[2 * u + k] = dzh;
          drr[2 * u + k] = reset_after ? dzh * rg : 0.f;
        }
      }
    }
    // dL/dh_{s-1} = dZ_rec·Uᵀ (+ the direct paths: GRU's z·h_prev, masked rows' carry-over).
    if (drop.recurrent) rec_mm.backward_data(step_view(dhr, s), dh_tmp);
    else ops::dense_backward_data(step_view(dhr, s), R, dh_tmp);
    const float* dt = dh_tmp.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      float* d = dhp_ + i * u;
      if (mp && mp[i * steps + t] == 0.f) {
        for (int64_t k = 0; k < u; ++k) d[k] += dt[i * u + k];  // dt is 0 here: pass through
        continue;
      }
      const float* zr = zs + i * g;
      for (int64_t k = 0; k < u; ++k) {
        float direct = 0.f;
        if (gru) {
          direct = d[k] * act_fwd(recurrent_act_, zr[k]);
          if (!reset_after)
            direct += dbv[i * u + k] * act_fwd(recurrent_act_, zr[u + k]) * (rm_h ? rm_h[i * u + k] : 1.f);
        }
        d[k] = dt[i * u + k] + direct;
      }
    }
  }

  const Tensor x2 = x.reshape({n * steps, in});
  MaskedMatmul in_mm;
  if (drop.input) in_mm = MaskedMatmul(ctx, kInMM, drop.in_masks, steps, kernel_->value, Tensor(), n * steps);
  if (trainable) {
    Tensor none;
    Tensor db_in = none, db_rec = none;
    if (bias_) {
      db_in = two_bias ? bias_->grad.slice(0, 1).reshape({g}) : bias_->grad;
      if (two_bias) db_rec = bias_->grad.slice(1, 2).reshape({g});
    }
    const bool acc = ctx.accumulate_grads;
    if (drop.input) in_mm.backward_weights(x2, dxw, kernel_->grad, db_in, acc);
    else ops::dense_backward_weights(x2, dxw, kernel_->grad, db_in, acc);
    const Tensor hs = h.slice(0, steps).reshape({steps * n, u}), dz = dhr.reshape({steps * n, g});
    if (drop.recurrent)  // rows (t, i): sample i = row % n
      MaskedMatmul(ctx, kRecAllMM, drop.rec_masks, 1, R, Tensor(), steps * n)
          .backward_weights(hs, dz, recurrent_kernel_->grad, db_rec, acc);
    else
      ops::dense_backward_weights(hs, dz, recurrent_kernel_->grad, db_rec, acc);
    if (gru_before)
      ops::dense_backward_weights(b.reshape({steps * n, u}), db.reshape({steps * n, g}),
                                  recurrent_kernel_->grad, none, true);
  }
  if (dx_out) {
    Tensor dx = dx_out->reshape({n * steps, in});
    if (drop.input) in_mm.backward_data(dxw, dx);
    else ops::dense_backward_data(dxw, kernel_->value, dx);
  }
}

std::vector<Layer::WeightGroup> RNN::weight_tree() const {
  const std::string cell_name = cell_ == Cell::lstm ? "lstm_cell"
                                : cell_ == Cell::gru ? "gru_cell"
                                                     : "simple_rnn_cell";
  return {{"", name(), {}}, {"cell", cell_name, Layer::weight_tree()[0].variables}};
}

json RNN::get_config() const {
  json c = Layer::get_config();
  c["units"] = units_;
  c["activation"] = activation_name(act_);
  if (cell_ != Cell::simple) c["recurrent_activation"] = activation_name(recurrent_act_);
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = io::serialize_initializer(*options_.kernel_initializer);
  c["recurrent_initializer"] = io::serialize_initializer(*options_.recurrent_initializer);
  c["bias_initializer"] = io::serialize_initializer(*options_.bias_initializer);
  if (cell_ == Cell::lstm) c["unit_forget_bias"] = options_.unit_forget_bias;
  c["kernel_regularizer"] = io::serialize_or_null(options_.kernel_regularizer);
  c["recurrent_regularizer"] = io::serialize_or_null(options_.recurrent_regularizer);
  c["bias_regularizer"] = io::serialize_or_null(options_.bias_regularizer);
  c["activity_regularizer"] = io::serialize_or_null(activity_regularizer);
  c["kernel_constraint"] = io::serialize_or_null(options_.kernel_constraint);
  c["recurrent_constraint"] = io::serialize_or_null(options_.recurrent_constraint);
  c["bias_constraint"] = io::serialize_or_null(options_.bias_constraint);
  c["dropout"] = io::keras_float(options_.dropout);
  c["recurrent_dropout"] = io::keras_float(options_.recurrent_dropout);
  const bool random = options_.dropout > 0.f || options_.recurrent_dropout > 0.f;
  c["seed"] = options_.seed || random ? json(noise_seed_) : json(nullptr);
  c["return_sequences"] = options_.return_sequences;
  c["return_state"] = options_.return_state;
  c["go_backwards"] = options_.go_backwards;
  c["stateful"] = options_.stateful;
  c["unroll"] = false;
  c["zero_output_for_mask"] = options_.zero_output_for_mask;
  if (cell_ == Cell::gru) c["reset_after"] = options_.reset_after;
  return c;
}

}  // namespace fitrun::layers
