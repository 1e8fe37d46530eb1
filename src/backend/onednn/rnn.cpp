// SimpleRNN, LSTM and GRU on oneDNN's fused RNN primitives: vanilla_rnn (tanh or relu),
// vanilla_lstm, vanilla_gru (Keras' GRU reset_after=false) and lbr_gru (reset_after=true).
//
// Layouts. The input x (N, T, features) and a return_sequences output (N, T, units) are used in
// place as oneDNN's {T, N, C} with tag::ntc. Keras' kernel (in, G·u) and recurrent_kernel
// (u, G·u) are byte-identical to oneDNN's ldigo weights with L = D = 1, and the gate orders
// agree (LSTM i, f, c, o; GRU Keras z, r, h = oneDNN u, r, o). The primitives prefer other
// weight layouts (the backward rejects ldigo), so weights are reordered into each primitive's
// layout on every call (they change every optimizer step; ~0.1 ms); the gradients come back
// in plain ldigo = Keras' layout. Keras' reset_after GRU bias (2, 3u) (input row, recurrent
// row) becomes lbr_gru's 4 bias gates {b_z + b'_z, b_r + b'_r, b_h, b'_h}.
//
// go_backwards is direction right2left: oneDNN then writes the output for input step t at
// position t, Keras at position T-1-t, so a return_sequences output is reversed in time
// (and its gradient likewise). A last-output-only layer reads dst_iter (the final state),
// whose gradient is diff_dst_iter, with a zero diff_dst_layer.
//
// Memory: primitives, reordered weights and temporaries are created once per shape (cached
// per thread). What must live from the training forward to the backward — oneDNN's
// workspace, the dst_layer the output does not hold, an LSTM's final cell state — is in the
// caller's workspace tensor (rnn_workspace_size), so several layers of one shape can share a
// cache entry. oneDNN's backward adds into the weight gradients: they are zeroed first unless
// accumulating, which is then free.
#include <cstdlib>
#include <cstring>

#include "backend/onednn/context.hpp"
#include "fitrun/ops.hpp"

namespace fitrun::cpu {

using ops::RNNCell;
using ops::RNNConfig;

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kRnn = 900 };

struct Geom {
  RNNConfig c;
  int64_t n, t, in, u;
  int64_t gates() const {
    return c.cell == RNNCell::lstm ? 4
           : (c.cell == RNNCell::gru_reset_after || c.cell == RNNCell::gru_reset_before) ? 3
                                                                                       : 1;
  }
  int64_t bias_gates() const { return c.cell == RNNCell::gru_reset_after ? 4 : gates(); }
  bool lstm() const { return c.cell == RNNCell::lstm; }
  bool seq() const { return c.return_sequences; }
  /// dst_layer is y itself only for a forward return_sequences layer.
  bool own_dst_layer() const { return !c.return_sequences || c.go_backwards; }
};

Geom geometry(const RNNConfig& c, const Shape& x, int64_t units, const char* op) {
  if (x.rank() != 3 || units <= 0)
    throw ShapeError(std::string(op) + ": expected an input (batch, timesteps, features), got " +
                     x.to_string());
  return {c, x[0], x[1], x[2], units};
}

constexpr int64_t round16(int64_t v) { return (v + 15) / 16 * 16; }

/// One shape's primitives and temporaries (training entries also have the backward).
struct Entry {
  Primitive fwd, bwd;
  Primitive re_wl_f, re_wi_f, re_wl_b, re_wi_b;  // Keras weights → each pd's layout
  Tensor wl_f, wi_f, wl_b, wi_b;  // the reordered weights (undefined: no reorder needed)
  Tensor bias, dbias;             // oneDNN-side bias and its gradient when not Keras' own
  Tensor dst;                     // inference: dst_layer (+ cell state) when y is not it
  Tensor init, dinit;             // the zero initial state; its gradient (unused)
  Tensor zeros;                   // diff_dst_layer (+ diff_dst_iter_c) of a last-output layer
  Tensor rev;                     // a go_backwards sequence gradient in oneDNN's time order
  Tensor dsrc, dwl, dwi;          // gradients nobody asked for
  // Workspace layout in floats: oneDNN's workspace, then dst_layer, then the final c state.
  int64_t ws_dst = 0, ws_c = 0, ws_total = 0;
};

std::unordered_map<Key, Entry, KeyHash>& entries() {
  static thread_local std::unordered_map<Key, Entry, KeyHash> cache;
  return cache;
}

dnnl::algorithm simple_alg(RNNCell c) {
  return c == RNNCell::simple_relu ? dnnl::algorithm::eltwise_relu
                                   : dnnl::algorithm::eltwise_tanh;
}

/// Memory descriptors of one shape; `w_any` lets the primitive pick the weights' layout.
struct Mds {
  memory::desc src, dst, wl, wi, wl_any, wi_any, bias, iter, init;  // iter: zero with sequences
  explicit Mds(const Geom& g) {
    const int64_t G = g.gates();
    src = memory::desc({g.t, g.n, g.in}, dt::f32, tag::ntc);
    dst = memory::desc({g.t, g.n, g.u}, dt::f32, tag::ntc);
    wl = memory::desc({1, 1, g.in, G, g.u}, dt::f32, tag::ldigo);
    wi = memory::desc({1, 1, g.u, G, g.u}, dt::f32, tag::ldigo);
    wl_any = memory::desc({1, 1, g.in, G, g.u}, dt::f32, tag::any);
    wi_any = memory::desc({1, 1, g.u, G, g.u}, dt::f32, tag::any);
    bias = memory::desc({1, 1, g.bias_gates(), g.u}, dt::f32, tag::ldgo);
    init = memory::desc({1, 1, g.n, g.u}, dt::f32, tag::ldnc);
    if (!g.seq()) iter = init;
  }
};

/// Calls `f(fwd_pd, make_bwd_pd)` with the forward pd of this cell and a maker of the
/// backward pd (diff weights in plain ldigo, i.e. Keras' layout; the rest as the forward).
template <class F>
void with_pds(const Geom& g, const Mds& m, bool training, F&& f) {
  const auto prop = training ? dnnl::prop_kind::forward_training
                             : dnnl::prop_kind::forward_inference;
  const auto bwd = dnnl::prop_kind::backward;
  const auto dir = g.c.go_backwards ? dnnl::rnn_direction::unidirectional_right2left
                                    : dnnl::rnn_direction::unidirectional_left2right;
  const auto attr = default_attr();
  auto& eng = engine();
  // The initial state is an explicit zero tensor: with a zero descriptor instead, oneDNN
  // 2.6's backward reads a wrong h_0 for the recurrent weights' gradient in some shapes (a
  // one-step left-to-right LSTM or vanilla RNN; tnc inputs with two steps).
  const memory::desc& h0 = m.init;
  switch (g.c.cell) {
    case RNNCell::simple_tanh:
    case RNNCell::simple_relu: {
      const auto alg = simple_alg(g.c.cell);
      const dnnl::vanilla_rnn_forward::primitive_desc fpd(
          {prop, alg, dir, m.src, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter}, attr, eng);
      f(fpd, [&] {
        return dnnl::vanilla_rnn_backward::primitive_desc(
            {bwd, alg, dir, m.src, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter, m.src, h0, m.wl,
             m.wi, m.bias, m.dst, m.iter},
            attr, eng, fpd);
      });
      return;
    }
    case RNNCell::lstm: {
      const dnnl::lstm_forward::primitive_desc fpd(
          {prop, dir, m.src, h0, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter, m.iter}, attr, eng);
      f(fpd, [&] {
        return dnnl::lstm_backward::primitive_desc(
            {bwd, dir, m.src, h0, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter, m.iter, m.src, h0,
             h0, m.wl, m.wi, m.bias, m.dst, m.iter, m.iter},
            attr, eng, fpd);
      });
      return;
    }
    case RNNCell::gru_reset_before: {
      const dnnl::gru_forward::primitive_desc fpd(
          {prop, dir, m.src, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter}, attr, eng);
      f(fpd, [&] {
        return dnnl::gru_backward::primitive_desc(
            {bwd, dir, m.src, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter, m.src, h0, m.wl, m.wi,
             m.bias, m.dst, m.iter},
            attr, eng, fpd);
      });
      return;
    }
    case RNNCell::gru_reset_after: {
      const dnnl::lbr_gru_forward::primitive_desc fpd(
          {prop, dir, m.src, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter}, attr, eng);
      f(fpd, [&] {
        return dnnl::lbr_gru_backward::primitive_desc(
            {bwd, dir, m.src, h0, m.wl_any, m.wi_any, m.bias, m.dst, m.iter, m.src, h0, m.wl, m.wi,
             m.bias, m.dst, m.iter},
            attr, eng, fpd);
      });
      return;
    }
  }
}

memory::desc arg_md(const dnnl::primitive_desc& pd, int arg) {
  return pd.query_md(dnnl::query::exec_arg_md, arg);
}

/// A primitive with an (unset) memory for each of `args` that the pd has, plus scratchpad.
Primitive make_primitive(const dnnl::primitive_desc& pd, std::initializer_list<int> args) {
  Primitive r;
  r.prim = dnnl::primitive(pd);
  for (int a : args) {
    const memory::desc md = arg_md(pd, a);
    if (!md.is_zero()) r.args[a] = memory(md, engine(), nullptr);
  }
  reserve_scratchpad(pd.scratchpad_desc(), r);
  return r;
}

/// A reorder from Keras' plain weights into `to`; false when none is needed.
bool make_reorder(const memory::desc& from, const memory::desc& to, Primitive& p, Tensor& buf) {
  if (from == to) return false;
  auto pd = dnnl::reorder::primitive_desc(engine(), from, engine(), to, default_attr());
  p.prim = dnnl::reorder(pd);
  p.args[DNNL_ARG_SRC] = memory(from, engine(), nullptr);
  p.args[DNNL_ARG_DST] = memory(to, engine(), nullptr);
  reserve_scratchpad(pd.scratchpad_desc(), p);
  buf = Tensor({round16(static_cast<int64_t>(to.get_size() / sizeof(float)))});
  return true;
}

Entry& entry(const Geom& g, bool training, const char* op) {
  const Key key(kRnn, {int64_t(g.c.cell), g.n, g.t, g.in, g.u, g.c.go_backwards, g.seq(),
                       training});
  auto& cache = entries();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Entry e = guarded(op, [&] {
    Entry r;
    const Mds m(g);
    with_pds(g, m, training, [&](const dnnl::primitive_desc& fpd, auto&& make_bwd) {
      r.fwd = make_primitive(fpd, {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C,
                                   DNNL_ARG_WEIGHTS_LAYER,
                                   DNNL_ARG_WEIGHTS_ITER, DNNL_ARG_BIAS, DNNL_ARG_DST_LAYER,
                                   DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C, DNNL_ARG_WORKSPACE});
      make_reorder(m.wl, arg_md(fpd, DNNL_ARG_WEIGHTS_LAYER), r.re_wl_f, r.wl_f);
      make_reorder(m.wi, arg_md(fpd, DNNL_ARG_WEIGHTS_ITER), r.re_wi_f, r.wi_f);
      const int64_t nu = g.n * g.u, tnu = g.t * nu;
      if (training) {
        const dnnl::primitive_desc bpd = make_bwd();
        r.bwd = make_primitive(
            bpd, {DNNL_ARG_SRC_LAYER, DNNL_ARG_SRC_ITER, DNNL_ARG_SRC_ITER_C,
                  DNNL_ARG_DIFF_SRC_ITER, DNNL_ARG_DIFF_SRC_ITER_C, DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER,
                  DNNL_ARG_BIAS, DNNL_ARG_DST_LAYER, DNNL_ARG_DST_ITER, DNNL_ARG_DST_ITER_C,
                  DNNL_ARG_WORKSPACE, DNNL_ARG_DIFF_SRC_LAYER, DNNL_ARG_DIFF_WEIGHTS_LAYER,
                  DNNL_ARG_DIFF_WEIGHTS_ITER, DNNL_ARG_DIFF_BIAS, DNNL_ARG_DIFF_DST_LAYER,
                  DNNL_ARG_DIFF_DST_ITER, DNNL_ARG_DIFF_DST_ITER_C});
        make_reorder(m.wl, arg_md(bpd, DNNL_ARG_WEIGHTS_LAYER), r.re_wl_b, r.wl_b);
        make_reorder(m.wi, arg_md(bpd, DNNL_ARG_WEIGHTS_ITER), r.re_wi_b, r.wi_b);
        r.ws_dst = round16(static_cast<int64_t>(fpd.workspace_desc().get_size() / sizeof(float)));
        r.ws_c = r.ws_dst + (g.own_dst_layer() ? round16(tnu) : 0);
        r.ws_total = r.ws_c + (g.lstm() && !g.seq() ? round16(nu) : 0);
        if (!g.seq()) r.zeros = Tensor::zeros({tnu + nu});
        if (g.seq() && g.c.go_backwards) r.rev = Tensor({tnu});
      } else if (g.own_dst_layer()) {
        r.dst = Tensor({tnu + (g.lstm() ? nu : 0)});
      }
    });
    r.init = Tensor::zeros({g.n * g.u});
    if (training) r.dinit = Tensor({2 * g.n * g.u});
    r.bias = Tensor::zeros({g.bias_gates() * g.u});
    r.dbias = Tensor({g.bias_gates() * g.u});
    return r;
  });
  return cache.emplace(key, std::move(e)).first->second;
}

/// The weights in a primitive's layout: Keras' own, or reordered into `buf`.
const void* weights(Primitive& reorder, const Tensor& buf, const Tensor& keras) {
  if (!buf.defined()) return keras.raw();
  reorder.run({{DNNL_ARG_SRC, keras.raw()}, {DNNL_ARG_DST, buf.raw()}});
  return buf.raw();
}

/// dst[n, s] = src[n, T-1-s] for (N, T, u) buffers.
void reverse_time(const float* src, float* dst, const Geom& g) {
  const size_t row = static_cast<size_t>(g.u) * sizeof(float);
  for (int64_t i = 0; i < g.n; ++i)
    for (int64_t s = 0; s < g.t; ++s)
      std::memcpy(dst + (i * g.t + s) * g.u, src + (i * g.t + (g.t - 1 - s)) * g.u, row);
}

/// The bias oneDNN reads: Keras' own, or lbr_gru's 4 gates, or zeros without a bias.
const void* onednn_bias(Entry& e, const Geom& g, const Tensor& bias) {
  if (!bias.defined()) return e.bias.raw();  // stays zero
  if (g.c.cell != RNNCell::gru_reset_after) return bias.raw();
  const int64_t u = g.u, g3 = 3 * u;
  const float* k = bias.data<float>();  // (2, 3u): input row, recurrent row
  float* b = e.bias.data<float>();
  for (int64_t j = 0; j < 2 * u; ++j) b[j] = k[j] + k[g3 + j];
  for (int64_t j = 0; j < u; ++j) {
    b[2 * u + j] = k[2 * u + j];
    b[3 * u + j] = k[g3 + 2 * u + j];
  }
  return b;
}

void check_weights(const Geom& g, const Tensor& kernel, const Tensor& recurrent, const char* op) {
  const int64_t G = g.gates() * g.u;
  if (kernel.shape() != Shape{g.in, G} || recurrent.shape() != Shape{g.u, G})
    throw ShapeError(std::string(op) + ": kernel " + kernel.shape().to_string() +
                     " and recurrent kernel " + recurrent.shape().to_string() + " do not fit " +
                     std::to_string(g.in) + " features and " + std::to_string(g.u) + " units");
}

bool& fused_flag() {
  static bool on = [] {
    const char* v = std::getenv("FITRUN_FUSED_RNN");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on;
}
}  // namespace

bool fused_rnn_enabled() { return fused_flag(); }
void set_fused_rnn_enabled(bool enabled) { fused_flag() = enabled; }

int64_t rnn_workspace_size(const RNNConfig& c, const Shape& x, int64_t units) {
  const Geom g = geometry(c, x, units, "rnn_workspace_size");
  return entry(g, true, "rnn_workspace_size").ws_total;
}

void rnn_forward(const RNNConfig& c, bool training, const Tensor& x, const Tensor& kernel,
                 const Tensor& recurrent_kernel, const Tensor& bias, Tensor& y,
                 Tensor& workspace) {
  check_cpu_f32(x, "rnn_forward", "input");
  const Geom g = geometry(c, x.shape(), recurrent_kernel.dim(0), "rnn_forward");
  check_weights(g, kernel, recurrent_kernel, "rnn_forward");
  Entry& e = entry(g, training, "rnn_forward");
  if (training && workspace.size() < e.ws_total)
    throw Error("rnn_forward: the workspace has " + std::to_string(workspace.size()) +
                " elements, the training forward needs " + std::to_string(e.ws_total));
  const void* wl = weights(e.re_wl_f, e.wl_f, kernel);
  const void* wi = weights(e.re_wi_f, e.wi_f, recurrent_kernel);
  float* ws = training ? workspace.data<float>() : nullptr;
  float* dst = !g.own_dst_layer() ? y.data<float>()
               : training          ? ws + e.ws_dst
                                   : e.dst.data<float>();
  float* dst_c = training ? ws + e.ws_c : e.dst.defined() ? e.dst.data<float>() + g.t * g.n * g.u
                                                          : nullptr;
  const void* b = onednn_bias(e, g, bias);
  auto& args = e.fwd.args;
  // Handles of the arguments this primitive has (the others were zero descriptors).
  std::pair<int, const void*> h[10];
  int k = 0;
  h[k++] = {DNNL_ARG_SRC_LAYER, x.raw()};
  h[k++] = {DNNL_ARG_SRC_ITER, e.init.raw()};
  if (g.lstm()) h[k++] = {DNNL_ARG_SRC_ITER_C, e.init.raw()};
  h[k++] = {DNNL_ARG_WEIGHTS_LAYER, wl};
  h[k++] = {DNNL_ARG_WEIGHTS_ITER, wi};
  h[k++] = {DNNL_ARG_BIAS, b};
  h[k++] = {DNNL_ARG_DST_LAYER, dst};
  if (args.count(DNNL_ARG_DST_ITER)) h[k++] = {DNNL_ARG_DST_ITER, y.raw()};
  if (args.count(DNNL_ARG_DST_ITER_C)) h[k++] = {DNNL_ARG_DST_ITER_C, dst_c};
  if (args.count(DNNL_ARG_WORKSPACE)) h[k++] = {DNNL_ARG_WORKSPACE, ws};
  e.fwd.run(h, k);
  if (g.seq() && g.c.go_backwards) reverse_time(dst, y.data<float>(), g);
}

void rnn_backward(const RNNConfig& c, const Tensor& x, const Tensor& kernel,
                  const Tensor& recurrent_kernel, const Tensor& bias, const Tensor& y,
                  const Tensor& workspace, const Tensor& dy, Tensor& dx, Tensor& dkernel,
                  Tensor& drecurrent, Tensor& dbias, bool accumulate) {
  check_cpu_f32(dy, "rnn_backward", "output gradient");
  const Geom g = geometry(c, x.shape(), recurrent_kernel.dim(0), "rnn_backward");
  check_weights(g, kernel, recurrent_kernel, "rnn_backward");
  Entry& e = entry(g, true, "rnn_backward");
  if (workspace.size() < e.ws_total)
    throw Error("rnn_backward: the workspace is not the one of a training rnn_forward");
  float* ws = workspace.data<float>();
  const int64_t tnu = g.t * g.n * g.u;
  // The gradient arriving at dst_layer (oneDNN's time order) and at the final state.
  const void* ddst = dy.raw();
  if (!g.seq()) {
    ddst = e.zeros.raw();
  } else if (g.c.go_backwards) {
    reverse_time(dy.data<float>(), e.rev.data<float>(), g);
    ddst = e.rev.raw();
  }
  // Gradient outputs: the caller's, or this entry's throw-away buffers. oneDNN adds into the
  // weight and bias gradients.
  auto out = [&](Tensor& t, Tensor& spare, int64_t n, bool keep) -> void* {
    if (!t.defined()) {
      if (!spare.defined()) spare = Tensor({n});
      t = spare;
      keep = false;
    }
    if (!keep) t.fill(0);
    return t.raw();
  };
  Tensor dwl = dkernel, dwi = drecurrent;
  Tensor none;
  void* pdwl = out(dwl, e.dwl, kernel.size(), accumulate);
  void* pdwi = out(dwi, e.dwi, recurrent_kernel.size(), accumulate);
  const bool keras_bias = dbias.defined() && g.c.cell != RNNCell::gru_reset_after;
  Tensor db = keras_bias ? dbias : e.dbias;
  void* pdb = out(db, none, 0, keras_bias && accumulate);
  void* pdx = dx.defined() ? dx.raw() : nullptr;
  if (!pdx) {
    if (!e.dsrc.defined()) e.dsrc = Tensor({x.size()});
    pdx = e.dsrc.raw();
  }

  auto& args = e.bwd.args;
  std::pair<int, const void*> h[20];
  int k = 0;
  h[k++] = {DNNL_ARG_SRC_LAYER, x.raw()};
  h[k++] = {DNNL_ARG_SRC_ITER, e.init.raw()};
  h[k++] = {DNNL_ARG_DIFF_SRC_ITER, e.dinit.raw()};
  if (g.lstm()) {
    h[k++] = {DNNL_ARG_SRC_ITER_C, e.init.raw()};
    h[k++] = {DNNL_ARG_DIFF_SRC_ITER_C, e.dinit.data<float>() + g.n * g.u};
  }
  h[k++] = {DNNL_ARG_WEIGHTS_LAYER, weights(e.re_wl_b, e.wl_b, kernel)};
  h[k++] = {DNNL_ARG_WEIGHTS_ITER, weights(e.re_wi_b, e.wi_b, recurrent_kernel)};
  h[k++] = {DNNL_ARG_BIAS, onednn_bias(e, g, bias)};
  h[k++] = {DNNL_ARG_DST_LAYER, g.own_dst_layer() ? ws + e.ws_dst : y.raw()};
  h[k++] = {DNNL_ARG_WORKSPACE, ws};
  h[k++] = {DNNL_ARG_DIFF_SRC_LAYER, pdx};
  h[k++] = {DNNL_ARG_DIFF_WEIGHTS_LAYER, pdwl};
  h[k++] = {DNNL_ARG_DIFF_WEIGHTS_ITER, pdwi};
  h[k++] = {DNNL_ARG_DIFF_BIAS, pdb};
  h[k++] = {DNNL_ARG_DIFF_DST_LAYER, ddst};
  if (args.count(DNNL_ARG_DST_ITER)) {
    h[k++] = {DNNL_ARG_DST_ITER, y.raw()};
    h[k++] = {DNNL_ARG_DIFF_DST_ITER, dy.raw()};
  }
  if (args.count(DNNL_ARG_DST_ITER_C)) {
    h[k++] = {DNNL_ARG_DST_ITER_C, ws + e.ws_c};
    h[k++] = {DNNL_ARG_DIFF_DST_ITER_C, e.zeros.data<float>() + tnu};
  }
  e.bwd.run(h, k);

  if (dbias.defined() && !keras_bias) {
    // lbr_gru's {z, r, h, h'} gradient: z and r feed both Keras bias rows.
    const int64_t u = g.u, g3 = 3 * u;
    const float* s = e.dbias.data<float>();
    float* d = dbias.data<float>();
    auto put = [&](int64_t i, float v) { d[i] = accumulate ? d[i] + v : v; };
    for (int64_t j = 0; j < 2 * u; ++j) {
      put(j, s[j]);
      put(g3 + j, s[j]);
    }
    for (int64_t j = 0; j < u; ++j) {
      put(2 * u + j, s[2 * u + j]);
      put(g3 + 2 * u + j, s[3 * u + j]);
    }
  }
}

}  // namespace fitrun::cpu
