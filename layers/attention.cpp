// MultiHeadAttention: the four projections are Dense-style matmuls on the Keras kernels viewed
// as (in, heads·dim) — no reorders —, the heads are split by one permute, and the scores and
// context are batched matmuls over (batch·heads) on oneDNN (ops::batched_matmul). The score
// masks and the softmax + dropout defined here serve Attention and AdditiveAttention too
// (layers/attention_util.hpp).
#include "fitrun/layers/attention.hpp"

#include <cmath>

#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"
#include "layers/attention_util.hpp"

namespace fitrun::layers {

namespace {
enum Slot { kQ, kK, kV, kQp, kKp, kVp, kS, kP, kPd, kDropMask, kO, kOt, kMask,
            kDOt, kDO, kDP, kDS, kDQp, kDKp, kDVp, kDQ, kDK, kDV, kTmp };
constexpr int kPerm[4] = {0, 2, 1, 3};  // (N, T, H, d) <-> (N, H, T, d)
constexpr detail::WeightSlots kWeightSlots = {kP, kPd, kDropMask};
}  // namespace

namespace detail {

void mask_scores(Tensor& scores, int64_t heads, const Tensor* qm, const Tensor* vm,
                 bool causal) {
  if (!qm && !vm && !causal) return;
  const int64_t n = scores.dim(0) / heads, tq = scores.dim(1), tv = scores.dim(2);
  float* sp = scores.data<float>();
  const float* qmp = qm ? qm->data<float>() : nullptr;
  const float* vmp = vm ? vm->data<float>() : nullptr;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tv; ++j) {
        const bool keep = (!qmp || qmp[b * tq + i] != 0.f) && (!vmp || vmp[b * tv + j] != 0.f) &&
                          (!causal || j <= i);
        if (keep) continue;
        for (int64_t h = 0; h < heads; ++h) sp[((b * heads + h) * tq + i) * tv + j] += kMaskedScore;
      }
}

Tensor attention_weights(CallContext& ctx, const Tensor& scores, float rate, uint64_t seed,
                         const WeightSlots& slots) {
  Tensor P = ctx.scratch(slots.probs, scores.shape());
  ops::activation_forward(ActivationFn::softmax, 0.f, scores, P);
  if (!ctx.training || rate <= 0.f) return P;
  Tensor Pd = ctx.scratch(slots.dropped, P.shape());
  Tensor mask = ctx.scratch(slots.dropout_mask, P.shape());
  ops::dropout_forward(P, rate, seed, ctx.step, mask, Pd);
  return Pd;
}

void attention_weights_backward(CallContext& ctx, const Tensor& scores, float rate,
                                const WeightSlots& slots, Tensor& dweights, Tensor& dscores) {
  if (ctx.training && rate > 0.f)
    ops::dropout_backward(dweights, ctx.scratch(slots.dropout_mask, scores.shape()), dweights);
  ops::activation_backward(ActivationFn::softmax, 0.f, scores,
                           ctx.scratch(slots.probs, scores.shape()), dweights, dscores);
}

}  // namespace detail

MultiHeadAttention::MultiHeadAttention(int64_t num_heads, int64_t key_dim,
                                       MultiHeadAttentionOptions options)
    : LayerOf<MultiHeadAttention>(options.name),
      heads_(num_heads),
      key_dim_(key_dim),
      value_dim_(options.value_dim > 0 ? options.value_dim : key_dim),
      options_(std::move(options)) {
  if (num_heads <= 0)
    throw ConfigError("MultiHeadAttention: num_heads must be a positive integer, got " +
                      std::to_string(num_heads));
  if (key_dim <= 0)
    throw ConfigError("MultiHeadAttention: key_dim must be a positive integer, got " +
                      std::to_string(key_dim));
  if (!(options_.dropout >= 0.f && options_.dropout < 1.f))
    throw ConfigError("MultiHeadAttention: dropout must be in [0, 1), got " +
                      std::to_string(options_.dropout));
  supports_masking_ = true;  // the output carries the query's mask
}

Shape MultiHeadAttention::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 2, 3);
  for (const Shape& x : s)
    if (x.rank() != 3 || x.dim(1) <= 0 || x.dim(2) <= 0)
      shape_error("expected inputs (batch, steps, features) with known steps and features, got " +
                  x.to_string());
  const Shape& key = s.size() > 2 ? s[2] : s[1];
  if (key.dim(1) != s[1].dim(1))
    shape_error("key and value must have the same number of steps, got " + key.to_string() +
                " and " + s[1].to_string());
  if (options_.use_causal_mask && s[0].dim(1) != s[1].dim(1))
    shape_error("use_causal_mask needs as many query steps as value steps, got " +
                s[0].to_string() + " and " + s[1].to_string());
  return Shape{s[0].dim(0), s[0].dim(1),
               options_.output_shape > 0 ? options_.output_shape : s[0].dim(2)};
}

void MultiHeadAttention::build(const std::vector<Shape>& s) {
  const int64_t dq = s[0].dim(2), dv = s[1].dim(2), dk = s.size() > 2 ? s[2].dim(2) : dv;
  const int64_t out = options_.output_shape > 0 ? options_.output_shape : dq;
  auto weight = [&](const std::string& group, const std::string& n, const Shape& shape,
                    const InitializerRef& init) {
    VariablePtr v = add_weight(n, shape, init);
    v->path = name() + "/" + group + "/" + n;  // Keras 3: multi_head_attention/query/kernel
    return v;
  };
  wq_ = weight("query", "kernel", {dq, heads_, key_dim_}, options_.kernel_initializer);
  if (options_.use_bias) bq_ = weight("query", "bias", {heads_, key_dim_}, options_.bias_initializer);
  wk_ = weight("key", "kernel", {dk, heads_, key_dim_}, options_.kernel_initializer);
  if (options_.use_bias) bk_ = weight("key", "bias", {heads_, key_dim_}, options_.bias_initializer);
  wv_ = weight("value", "kernel", {dv, heads_, value_dim_}, options_.kernel_initializer);
  if (options_.use_bias)
    bv_ = weight("value", "bias", {heads_, value_dim_}, options_.bias_initializer);
  wo_ = weight("attention_output", "kernel", {heads_, value_dim_, out}, options_.kernel_initializer);
  if (options_.use_bias) bo_ = weight("attention_output", "bias", {out}, options_.bias_initializer);
}

namespace {
/// A (d0, d1, ..., dk) weight as the 2-D (d0·…·dk-1, dk) matrix the matmuls read.
Tensor as_matrix(const Tensor& w, int64_t rows) { return w.reshape({rows, w.size() / rows}); }
Tensor flat(const VariablePtr& v, bool grad) {
  if (!v) return Tensor();
  return (grad ? v->grad : v->value).reshape({v->value.size()});
}
}  // namespace

void MultiHeadAttention::forward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                 Tensor& y) {
  const Tensor& q = *in[0];
  const Tensor& v = *in[1];
  const Tensor& k = in.size() > 2 ? *in[2] : v;
  const int64_t n = q.dim(0), tq = q.dim(1), tv = v.dim(1), h = heads_, kd = key_dim_,
                vd = value_dim_;
  Tensor Q = ctx.scratch(kQ, {n, tq, h, kd}), K = ctx.scratch(kK, {n, tv, h, kd}),
         V = ctx.scratch(kV, {n, tv, h, vd});
  ops::dense_forward(q.reshape({n * tq, q.dim(2)}), as_matrix(wq_->value, q.dim(2)), flat(bq_, false),
                     ActivationFn::linear, Q);
  ops::dense_forward(k.reshape({n * tv, k.dim(2)}), as_matrix(wk_->value, k.dim(2)), flat(bk_, false),
                     ActivationFn::linear, K);
  ops::dense_forward(v.reshape({n * tv, v.dim(2)}), as_matrix(wv_->value, v.dim(2)), flat(bv_, false),
                     ActivationFn::linear, V);
  Tensor Qp = ctx.scratch(kQp, {n, h, tq, kd}), Kp = ctx.scratch(kKp, {n, h, tv, kd}),
         Vp = ctx.scratch(kVp, {n, h, tv, vd});
  ops::permute(Q, kPerm, Qp);
  ops::permute(K, kPerm, Kp);
  ops::permute(V, kPerm, Vp);

  Tensor S = ctx.scratch(kS, {n * h, tq, tv});
  ops::batched_matmul(Qp.reshape({n * h, tq, kd}), false, Kp.reshape({n * h, tv, kd}), true,
                      1.f / std::sqrt(static_cast<float>(kd)), S);
  // Masked scores: query mask × value mask × causal, as Keras combines them.
  detail::mask_scores(S, h, ctx.input_mask(0), ctx.input_mask(1), options_.use_causal_mask);
  const Tensor Pd = detail::attention_weights(
      ctx, S, options_.dropout, seed() ^ (uint64_t(ctx.call_index) << 32), kWeightSlots);
  Tensor O = ctx.scratch(kO, {n, h, tq, vd}), Ot = ctx.scratch(kOt, {n, tq, h, vd});
  Tensor O3 = O.reshape({n * h, tq, vd});
  ops::batched_matmul(Pd, false, Vp.reshape({n * h, tv, vd}), false, 1.f, O3);
  ops::permute(O, kPerm, Ot);
  ops::dense_forward(Ot.reshape({n * tq, h * vd}), as_matrix(wo_->value, h * vd), flat(bo_, false),
                     ActivationFn::linear, y);
}

void MultiHeadAttention::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                  const Tensor&, const Tensor& dy,
                                  const std::vector<Tensor*>& grad_inputs) {
  const Tensor& q = *in[0];
  const Tensor& v = *in[1];
  const bool own_key = in.size() > 2;
  const Tensor& k = own_key ? *in[2] : v;
  const int64_t n = q.dim(0), tq = q.dim(1), tv = v.dim(1), h = heads_, kd = key_dim_,
                vd = value_dim_;
  const float scale = 1.f / std::sqrt(static_cast<float>(kd));
  const bool acc = ctx.accumulate_grads, train = trainable;
  Tensor Qp = ctx.scratch(kQp, {n, h, tq, kd}), Kp = ctx.scratch(kKp, {n, h, tv, kd}),
         Vp = ctx.scratch(kVp, {n, h, tv, vd});
  Tensor S = ctx.scratch(kS, {n * h, tq, tv});
  const bool dropped = ctx.training && options_.dropout > 0.f;
  Tensor Pd = ctx.scratch(dropped ? kPd : kP, S.shape());
  Tensor Ot = ctx.scratch(kOt, {n, tq, h, vd});

  // Output projection.
  const Tensor dy2 = dy.reshape({n * tq, dy.dim(2)});
  if (train) {
    Tensor gw = as_matrix(wo_->grad, h * vd), gb = flat(bo_, true);
    ops::dense_backward_weights(Ot.reshape({n * tq, h * vd}), dy2, gw, gb, acc);
  }
  Tensor dOt = ctx.scratch(kDOt, {n, tq, h, vd}), dO = ctx.scratch(kDO, {n, h, tq, vd});
  Tensor dOt2 = dOt.reshape({n * tq, h * vd});
  ops::dense_backward_data(dy2, as_matrix(wo_->value, h * vd), dOt2);
  ops::permute(dOt, kPerm, dO);
  const Tensor dO3 = dO.reshape({n * h, tq, vd});

  // Context = P·V.
  Tensor dP = ctx.scratch(kDP, {n * h, tq, tv});
  ops::batched_matmul(dO3, false, Vp.reshape({n * h, tv, vd}), true, 1.f, dP);
  Tensor dVp = ctx.scratch(kDVp, {n, h, tv, vd});
  Tensor dVp3 = dVp.reshape({n * h, tv, vd});
  ops::batched_matmul(Pd, true, dO3, false, 1.f, dVp3);

  // Scores = scale · Q·Kᵀ through the softmax.
  Tensor dS = ctx.scratch(kDS, {n * h, tq, tv});
  detail::attention_weights_backward(ctx, S, options_.dropout, kWeightSlots, dP, dS);
  Tensor dQp = ctx.scratch(kDQp, {n, h, tq, kd}), dKp = ctx.scratch(kDKp, {n, h, tv, kd});
  Tensor dQp3 = dQp.reshape({n * h, tq, kd}), dKp3 = dKp.reshape({n * h, tv, kd});
  ops::batched_matmul(dS, false, Kp.reshape({n * h, tv, kd}), false, scale, dQp3);
  ops::batched_matmul(dS, true, Qp.reshape({n * h, tq, kd}), false, scale, dKp3);

  Tensor dQ = ctx.scratch(kDQ, {n, tq, h, kd}), dK = ctx.scratch(kDK, {n, tv, h, kd}),
         dV = ctx.scratch(kDV, {n, tv, h, vd});
  ops::permute(dQp, kPerm, dQ);
  ops::permute(dKp, kPerm, dK);
  ops::permute(dVp, kPerm, dV);

  // The three input projections.
  struct Proj { const Tensor& x; const Tensor& d; const VariablePtr& w; const VariablePtr& b; };
  const Proj projs[3] = {{q, dQ, wq_, bq_}, {v, dV, wv_, bv_}, {k, dK, wk_, bk_}};
  for (const Proj& p : projs) {
    const int64_t rows = p.x.dim(0) * p.x.dim(1), f = p.x.dim(2);
    const Tensor d2 = p.d.reshape({rows, p.d.size() / rows});
    if (train) {
      Tensor gw = as_matrix(p.w->grad, f), gb = flat(p.b, true);
      ops::dense_backward_weights(p.x.reshape({rows, f}), d2, gw, gb, acc);
    }
  }
  auto data_grad = [&](const Proj& p, Tensor* out, bool add) {
    if (!out) return;
    const int64_t rows = p.x.dim(0) * p.x.dim(1), f = p.x.dim(2);
    const Tensor d2 = p.d.reshape({rows, p.d.size() / rows});
    if (!add) {
      Tensor o2 = out->reshape({rows, f});
      ops::dense_backward_data(d2, as_matrix(p.w->value, f), o2);
      return;
    }
    Tensor tmp = ctx.scratch(kTmp, {rows, f});
    ops::dense_backward_data(d2, as_matrix(p.w->value, f), tmp);
    Tensor o2 = out->reshape({rows, f});
    ops::add_inplace(o2, tmp);
  };
  data_grad(projs[0], grad_inputs[0], false);
  data_grad(projs[1], grad_inputs[1], false);
  if (own_key) data_grad(projs[2], grad_inputs[2], false);
  else data_grad(projs[2], grad_inputs[1], true);  // key = value: both paths reach it
}

std::vector<Layer::WeightGroup> MultiHeadAttention::weight_tree() const {
  auto dense = [](const std::string& path, const std::string& n, const VariablePtr& w,
                  const VariablePtr& b) {
    WeightGroup g{path, n, {}};
    if (w) g.variables.push_back(w);
    if (b) g.variables.push_back(b);
    return g;
  };
  return {{"", name(), {}},
          dense("query_dense", "query", wq_, bq_),
          dense("key_dense", "key", wk_, bk_),
          dense("value_dense", "value", wv_, bv_),
          dense("output_dense", "attention_output", wo_, bo_),
          {"_softmax", "softmax", {}},
          {"_dropout_layer", "dropout", {}}};
}

json MultiHeadAttention::get_config() const {
  json c = Layer::get_config();
  c["num_heads"] = heads_;
  c["key_dim"] = key_dim_;
  c["value_dim"] = value_dim_;
  c["dropout"] = io::keras_float(options_.dropout);
  c["use_bias"] = options_.use_bias;
  c["output_shape"] = options_.output_shape > 0 ? json(options_.output_shape) : json(nullptr);
  c["attention_axes"] = nullptr;
  c["kernel_initializer"] = io::serialize_initializer(*options_.kernel_initializer);
  c["bias_initializer"] = io::serialize_initializer(*options_.bias_initializer);
  for (const char* key : {"kernel_regularizer", "bias_regularizer", "activity_regularizer",
                          "kernel_constraint", "bias_constraint"})
    c[key] = nullptr;
  c["seed"] = nullptr;
  // A call argument in Keras; kept in the config (only when set) so a saved model keeps it.
  if (options_.use_causal_mask) c["use_causal_mask"] = true;
  return c;
}

}  // namespace fitrun::layers
