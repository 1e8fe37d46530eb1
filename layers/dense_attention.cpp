// Attention (Luong) and AdditiveAttention (Bahdanau) with Keras 3's formulas (Keras 2 called
// this family "dense attention"). They attend over their inputs as given, without
// projections: dot scores are one batched matmul on oneDNN (ops::batched_matmul), the tanh
// scores of "concat" and AdditiveAttention a plain loop (no oneDNN primitive computes them);
// masks, softmax and dropout are MultiHeadAttention's (layers/attention_util.hpp), and the
// output is one more batched matmul. Every buffer lives in the call's scratch.
#include <algorithm>
#include <cmath>

#include "fitrun/layers/attention.hpp"
#include "fitrun/ops.hpp"
#include "io/keras_json.hpp"
#include "layers/attention_util.hpp"

namespace fitrun::layers {

namespace {

enum Slot { kS, kP, kPd, kDropMask, kDO, kDW, kDS, kG, kDQ, kDK };
constexpr detail::WeightSlots kWeightSlots = {kP, kPd, kDropMask};

/// One call's recipe: which of Keras' score functions, with which weights (null: absent).
///   dot:      scores = s · q·kᵀ
///   additive: scores[i, j] = c · Σ_d w[d] · tanh(s · (q[i, d] + k[j, d]))
/// Attention reads s = scale and c = concat_score_weight, AdditiveAttention w = scale.
struct Scoring {
  bool additive = false;
  Variable* s = nullptr;
  Variable* w = nullptr;
  Variable* c = nullptr;
  bool causal = false;
  float dropout = 0.f;
  uint64_t seed = 0;
};

float scalar(const Variable* v) { return v ? v->value.data<float>()[0] : 1.f; }

/// The variable when its gradient is wanted in this backward pass, else null.
Variable* wants_grad(Variable* v, bool layer_trainable) {
  return layer_trainable && v && v->trainable && v->grad.defined() ? v : nullptr;
}

/// Writes (or adds, for a shared layer's later calls) `count` gradient values.
void store_grad(Variable* v, const float* g, int64_t count, bool accumulate) {
  float* out = v->grad.data<float>();
  for (int64_t i = 0; i < count; ++i) out[i] = accumulate ? out[i] + g[i] : g[i];
}

/// What is wrong with [query, value(, key)] shapes, or "" when they fit.
std::string shape_problem(const std::vector<Shape>& s) {
  for (const Shape& x : s)
    if (x.rank() != 3 || x.dim(2) <= 0)
      return "expected inputs (batch, steps, features) with known features, got " + x.to_string();
  const Shape& key = s.size() > 2 ? s[2] : s[1];
  if (key.dim(2) != s[0].dim(2))
    return "query and key must have the same number of features, got " + s[0].to_string() +
           " and " + key.to_string();
  if (key.dim(1) > 0 && s[1].dim(1) > 0 && key.dim(1) != s[1].dim(1))
    return "key and value must have the same number of steps, got " + key.to_string() + " and " +
           s[1].to_string();
  return "";
}

/// x (n, t, d): zeroes the steps where mask (n, t) is 0.
void zero_masked_steps(Tensor& x, const Tensor& mask) {
  const int64_t rows = mask.size(), d = x.size() / rows;
  const float* m = mask.data<float>();
  float* p = x.data<float>();
  for (int64_t r = 0; r < rows; ++r)
    if (m[r] == 0.f) std::fill(p + r * d, p + (r + 1) * d, 0.f);
}

void additive_scores(const Scoring& sc, const Tensor& q, const Tensor& k, Tensor& S) {
  const int64_t n = q.dim(0), tq = q.dim(1), tv = k.dim(1), dim = q.dim(2);
  const float s = scalar(sc.s), c = scalar(sc.c);
  const float* w = sc.w ? sc.w->value.data<float>() : nullptr;
  const float* qp = q.data<float>();
  const float* kp = k.data<float>();
  float* sp = S.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < tq; ++i) {
      const float* qi = qp + (b * tq + i) * dim;
      for (int64_t j = 0; j < tv; ++j) {
        const float* kj = kp + (b * tv + j) * dim;
        float acc = 0.f;
        for (int64_t d = 0; d < dim; ++d)
          acc += (w ? w[d] : 1.f) * std::tanh(s * (qi[d] + kj[d]));
        sp[(b * tq + i) * tv + j] = c * acc;
      }
    }
}

/// Gradients of additive_scores: dq (overwritten), dk (overwritten, or added to when
/// `dk_add`: key = value) and the weights' (recomputing the tanh terms rather than keeping a
/// (n, tq, tv, dim) tensor).
void additive_scores_backward(const Scoring& sc, CallContext& ctx, bool train, const Tensor& q,
                              const Tensor& k, const Tensor& dS, Tensor& dq, Tensor& dk,
                              bool dk_add) {
  const int64_t n = q.dim(0), tq = q.dim(1), tv = k.dim(1), dim = q.dim(2);
  const float s = scalar(sc.s), c = scalar(sc.c);
  const float* w = sc.w ? sc.w->value.data<float>() : nullptr;
  Variable* gs = wants_grad(sc.s, train);
  Variable* gc = wants_grad(sc.c, train);
  Variable* gw = wants_grad(sc.w, train);
  Tensor dw = ctx.scratch(kG, {dim});
  dw.fill(0);
  dq.fill(0);
  if (!dk_add) dk.fill(0);
  double ds = 0, dc = 0;
  const float* qp = q.data<float>();
  const float* kp = k.data<float>();
  const float* gp = dS.data<float>();
  float* dqp = dq.data<float>();
  float* dkp = dk.data<float>();
  float* dwp = dw.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tv; ++j) {
        const float g = gp[(b * tq + i) * tv + j];
        if (g == 0.f) continue;  // masked keys (weight exactly 0) get here often
        const float* qi = qp + (b * tq + i) * dim;
        const float* kj = kp + (b * tv + j) * dim;
        float* dqi = dqp + (b * tq + i) * dim;
        float* dkj = dkp + (b * tv + j) * dim;
        for (int64_t d = 0; d < dim; ++d) {
          const float x = qi[d] + kj[d], t = std::tanh(s * x), wd = w ? w[d] : 1.f;
          const float u = g * c * wd * (1.f - t * t);  // d score / d(s·x), times g
          dqi[d] += s * u;
          dkj[d] += s * u;
          ds += u * x;
          dc += g * wd * t;
          dwp[d] += g * c * t;
        }
      }
  const float dsf = static_cast<float>(ds), dcf = static_cast<float>(dc);
  if (gs) store_grad(gs, &dsf, 1, ctx.accumulate_grads);
  if (gc) store_grad(gc, &dcf, 1, ctx.accumulate_grads);
  if (gw) store_grad(gw, dwp, dim, ctx.accumulate_grads);
}

void attend_forward(const Scoring& sc, CallContext& ctx, const std::vector<const Tensor*>& in,
                    Tensor& y) {
  const Tensor& q = *in[0];
  const Tensor& v = *in[1];
  const Tensor& k = in.size() > 2 ? *in[2] : v;
  Tensor S = ctx.scratch(kS, {q.dim(0), q.dim(1), v.dim(1)});
  if (sc.additive) additive_scores(sc, q, k, S);
  else ops::batched_matmul(q, false, k, true, scalar(sc.s), S);
  // Keras: the value mask and the causal mask exclude keys; the query mask only zeroes the
  // output (it is not part of the score mask, unlike in MultiHeadAttention).
  detail::mask_scores(S, 1, nullptr, ctx.input_mask(1), sc.causal);
  const Tensor W = detail::attention_weights(ctx, S, sc.dropout, sc.seed, kWeightSlots);
  ops::batched_matmul(W, false, v, false, 1.f, y);
  if (const Tensor* qm = ctx.input_mask(0)) zero_masked_steps(y, *qm);
}

void attend_backward(const Scoring& sc, CallContext& ctx, bool train,
                     const std::vector<const Tensor*>& in, const Tensor& dy,
                     const std::vector<Tensor*>& grad_inputs) {
  const Tensor& q = *in[0];
  const Tensor& v = *in[1];
  const bool own_key = in.size() > 2;
  const Tensor& k = own_key ? *in[2] : v;
  const Shape score_shape{q.dim(0), q.dim(1), v.dim(1)};
  const Tensor S = ctx.scratch(kS, score_shape);
  const bool dropped = ctx.training && sc.dropout > 0.f;
  const Tensor W = ctx.scratch(dropped ? kPd : kP, score_shape);

  Tensor dO = dy;
  if (const Tensor* qm = ctx.input_mask(0)) {
    dO = ctx.scratch(kDO, dy.shape());
    ops::copy(dy, dO);
    zero_masked_steps(dO, *qm);
  }
  // output = W·value
  Tensor dW = ctx.scratch(kDW, score_shape);
  ops::batched_matmul(dO, false, v, true, 1.f, dW);
  Tensor* dv = grad_inputs[1];
  if (dv) ops::batched_matmul(W, true, dO, false, 1.f, *dv);
  Tensor dS = ctx.scratch(kDS, score_shape);
  detail::attention_weights_backward(ctx, S, sc.dropout, kWeightSlots, dW, dS);

  // The key's gradient goes to its own input, or is added to the value's when key = value.
  Tensor* dk = own_key ? grad_inputs[2] : dv;
  const bool dk_add = !own_key;
  Tensor* dq = grad_inputs[0];
  if (sc.additive) {
    // The loop writes both; a gradient nobody asked for lands in scratch.
    Tensor& dq_out = dq ? *dq : ctx.scratch(kDQ, q.shape());
    Tensor& dk_out = dk ? *dk : ctx.scratch(kDK, k.shape());
    additive_scores_backward(sc, ctx, train, q, k, dS, dq_out, dk_out, dk && dk_add);
    return;
  }
  const float s = scalar(sc.s);
  if (Variable* gs = wants_grad(sc.s, train)) {
    // d/ds Σ dS ⊙ s·q·kᵀ = Σ q ⊙ (dS·k), and dq = s · dS·k.
    Tensor G = ctx.scratch(kG, q.shape());
    ops::batched_matmul(dS, false, k, false, 1.f, G);
    double acc = 0;
    const float* qp = q.data<float>();
    const float* gp = G.data<float>();
    for (int64_t i = 0; i < q.size(); ++i) acc += double(qp[i]) * gp[i];
    const float dsf = static_cast<float>(acc);
    store_grad(gs, &dsf, 1, ctx.accumulate_grads);
    if (dq) ops::scale(G, s, *dq);
  } else if (dq) {
    ops::batched_matmul(dS, false, k, false, s, *dq);
  }
  if (dk) ops::batched_matmul(dS, true, q, false, s, *dk, dk_add);
}

void check_dropout(const char* layer, float rate) {
  if (!(rate >= 0.f && rate < 1.f))
    throw ConfigError(std::string(layer) + ": dropout must be in [0, 1), got " +
                      std::to_string(rate));
}

}  // namespace

// ---------------------------------------------------------------- Attention

Attention::Attention(AttentionOptions options)
    : LayerOf<Attention>(options.name), options_(std::move(options)) {
  if (options_.score_mode != "dot" && options_.score_mode != "concat")
    throw ConfigError("Attention: score_mode must be \"dot\" or \"concat\", got \"" +
                      options_.score_mode + "\"");
  check_dropout("Attention", options_.dropout);
  supports_masking_ = true;  // the output carries the query's mask
}

Shape Attention::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 2, 3);
  if (std::string problem = shape_problem(s); !problem.empty()) shape_error(problem);
  return Shape{s[0].dim(0), s[0].dim(1), s[1].dim(2)};
}

void Attention::build(const std::vector<Shape>&) {
  if (options_.use_scale) scale_ = add_weight("scale", Shape{}, "ones");
  if (options_.score_mode == "concat")
    concat_score_weight_ = add_weight("concat_score_weight", Shape{}, "ones");
}

namespace {
Scoring attention_scoring(const AttentionOptions& o, const VariablePtr& scale,
                          const VariablePtr& concat_weight, uint64_t seed) {
  Scoring sc;
  sc.additive = o.score_mode == "concat";
  sc.s = scale.get();
  sc.c = concat_weight.get();
  sc.causal = o.use_causal_mask;
  sc.dropout = o.dropout;
  sc.seed = seed;
  return sc;
}
}  // namespace

void Attention::forward(CallContext& ctx, const std::vector<const Tensor*>& in, Tensor& y) {
  const uint64_t call_seed = seed() ^ (uint64_t(ctx.call_index) << 32);
  attend_forward(attention_scoring(options_, scale_, concat_score_weight_, call_seed), ctx, in, y);
}

void Attention::backward(CallContext& ctx, const std::vector<const Tensor*>& in, const Tensor&,
                         const Tensor& dy, const std::vector<Tensor*>& grad_inputs) {
  const uint64_t call_seed = seed() ^ (uint64_t(ctx.call_index) << 32);
  attend_backward(attention_scoring(options_, scale_, concat_score_weight_, call_seed), ctx,
                  trainable, in, dy, grad_inputs);
}

json Attention::get_config() const {
  json c = Layer::get_config();
  c["use_scale"] = options_.use_scale;
  c["score_mode"] = options_.score_mode;
  c["dropout"] = io::keras_float(options_.dropout);
  // A call argument in Keras; kept in the config (only when set) so a saved model keeps it.
  if (options_.use_causal_mask) c["use_causal_mask"] = true;
  return c;
}

// ---------------------------------------------------------------- AdditiveAttention

AdditiveAttention::AdditiveAttention(AdditiveAttentionOptions options)
    : LayerOf<AdditiveAttention>(options.name), options_(std::move(options)) {
  check_dropout("AdditiveAttention", options_.dropout);
  supports_masking_ = true;  // the output carries the query's mask
}

Shape AdditiveAttention::compute_output_shape(const std::vector<Shape>& s) const {
  expect_inputs(s, 2, 3);
  if (std::string problem = shape_problem(s); !problem.empty()) shape_error(problem);
  return Shape{s[0].dim(0), s[0].dim(1), s[1].dim(2)};
}

void AdditiveAttention::build(const std::vector<Shape>& s) {
  if (options_.use_scale) scale_ = add_weight("scale", Shape{s[0].dim(2)}, "glorot_uniform");
}

namespace {
Scoring additive_scoring(const AdditiveAttentionOptions& o, const VariablePtr& scale,
                         uint64_t seed) {
  Scoring sc;
  sc.additive = true;
  sc.w = scale.get();
  sc.causal = o.use_causal_mask;
  sc.dropout = o.dropout;
  sc.seed = seed;
  return sc;
}
}  // namespace

void AdditiveAttention::forward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                Tensor& y) {
  const uint64_t call_seed = seed() ^ (uint64_t(ctx.call_index) << 32);
  attend_forward(additive_scoring(options_, scale_, call_seed), ctx, in, y);
}

void AdditiveAttention::backward(CallContext& ctx, const std::vector<const Tensor*>& in,
                                 const Tensor&, const Tensor& dy,
                                 const std::vector<Tensor*>& grad_inputs) {
  const uint64_t call_seed = seed() ^ (uint64_t(ctx.call_index) << 32);
  attend_backward(additive_scoring(options_, scale_, call_seed), ctx, trainable, in, dy,
                  grad_inputs);
}

json AdditiveAttention::get_config() const {
  json c = Layer::get_config();
  c["use_scale"] = options_.use_scale;
  c["dropout"] = io::keras_float(options_.dropout);
  if (options_.use_causal_mask) c["use_causal_mask"] = true;
  return c;
}

}  // namespace fitrun::layers
