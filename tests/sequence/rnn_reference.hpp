#pragma once
// Keras' recurrent cells (SimpleRNN, LSTM, GRU both ways) written out in double precision, the
// reference the recurrent-layer tests compare fitrun's kernels against.
#include <cmath>
#include <memory>
#include <vector>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/recurrent.hpp>

#include "layers/layer_test_helpers.hpp"

namespace rnn_test {

/// The cell configurations the recurrent tests run through.
struct Case {
  const char* what;
  fitrun::layers::RNN::Cell cell;
  bool reset_after, return_sequences, go_backwards;
};
inline const Case kCases[] = {
    {"SimpleRNN", fitrun::layers::RNN::Cell::simple, true, false, false},
    {"SimpleRNN sequences backwards", fitrun::layers::RNN::Cell::simple, true, true, true},
    {"LSTM", fitrun::layers::RNN::Cell::lstm, true, false, false},
    {"LSTM sequences", fitrun::layers::RNN::Cell::lstm, true, true, false},
    {"LSTM backwards", fitrun::layers::RNN::Cell::lstm, true, false, true},
    {"GRU reset_after", fitrun::layers::RNN::Cell::gru, true, true, false},
    {"GRU reset_after backwards", fitrun::layers::RNN::Cell::gru, true, false, true},
    {"GRU reset_before", fitrun::layers::RNN::Cell::gru, false, true, false},
    {"GRU reset_before backwards", fitrun::layers::RNN::Cell::gru, false, false, true},
};

/// The layer of a case, with `units` units.
inline std::shared_ptr<fitrun::layers::RNN> make(const Case& c, int64_t units,
                                                  bool return_state = false) {
  using namespace fitrun::layers;
  RNNOptions o;
  o.reset_after = c.reset_after;
  o.return_sequences = c.return_sequences;
  o.go_backwards = c.go_backwards;
  o.return_state = return_state;
  switch (c.cell) {
    case RNN::Cell::simple: return std::make_shared<SimpleRNN>(units, o);
    case RNN::Cell::lstm: return std::make_shared<LSTM>(units, o);
    default: return std::make_shared<GRU>(units, o);
  }
}


using fitrun::Tensor;
using fitrun::layers::RNN;

using layer_test::sigmoid;

/// The output of `l` (tanh / sigmoid activations) for x (N, T, in): (N, T, units) with
/// return_sequences, else (N, units). `mask` (N, T): a 0 step keeps the previous state.
/// `in_mask` / `rec_mask`: dropout keep-masks (gates or 1, N, features) as Keras 3's
/// implementation 1 applies them — gate block q reads x ⊙ in_mask[q or 0] and h ⊙ rec_mask[q];
/// the GRU's reset-before product (r ⊙ h ⊙ rec_mask[2])·U_h. Null: no mask.
/// `states`: when given, receives the final states (N, units) each — h, and c for LSTM — as
/// return_state gives them (masked steps carry them over).
struct FinalStates {
  std::vector<double> h, c;
};
inline std::vector<double> reference(const RNN& l, const Tensor& x, const Tensor* mask = nullptr,
                                     const Tensor* in_mask = nullptr,
                                     const Tensor* rec_mask = nullptr,
                                     FinalStates* states = nullptr) {
  const int64_t n = x.dim(0), steps = x.dim(1), in = x.dim(2), u = l.units(), g = l.gates() * u;
  const Tensor& W = l.kernel()->value;
  const Tensor& U = l.recurrent_kernel()->value;
  const bool gru = l.cell() == RNN::Cell::gru, lstm = l.cell() == RNN::Cell::lstm;
  const bool reset_after = l.options().reset_after;
  auto b_in = [&](int64_t j) { return l.bias() ? double(l.bias()->value.flat(j)) : 0.0; };
  auto b_rec = [&](int64_t j) {
    return l.bias() && gru && reset_after ? double(l.bias()->value.flat(g + j)) : 0.0;
  };
  auto xm = [&](int64_t q, int64_t i, int64_t k) {
    return in_mask ? double(in_mask->at({in_mask->dim(0) == 1 ? 0 : q, i, k})) : 1.0;
  };
  auto hm = [&](int64_t q, int64_t i, int64_t k) {
    return rec_mask ? double(rec_mask->at({q, i, k})) : 1.0;
  };
  const bool seq = l.options().return_sequences;
  std::vector<double> out(static_cast<size_t>(seq ? n * steps * u : n * u));
  if (states) *states = {std::vector<double>(static_cast<size_t>(n * u)),
                         std::vector<double>(static_cast<size_t>(lstm ? n * u : 0))};
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> h(u, 0.0), c(u, 0.0);
    for (int64_t s = 0; s < steps; ++s) {
      const int64_t t = l.options().go_backwards ? steps - 1 - s : s;
      if (!mask || mask->at({i, t}) != 0.0) {
        std::vector<double> xw(g), hu(g);
        for (int64_t j = 0; j < g; ++j) {
          const int64_t q = j / u;
          xw[j] = b_in(j);
          for (int64_t k = 0; k < in; ++k) xw[j] += x.at({i, t, k}) * xm(q, i, k) * W.at({k, j});
          hu[j] = b_rec(j);
          for (int64_t k = 0; k < u; ++k) hu[j] += h[k] * hm(q, i, k) * U.at({k, j});
        }
        std::vector<double> hn(u);
        for (int64_t k = 0; k < u; ++k) {
          if (l.cell() == RNN::Cell::simple) {
            hn[k] = std::tanh(xw[k] + hu[k]);
          } else if (lstm) {
            const double ig = sigmoid(xw[k] + hu[k]), fg = sigmoid(xw[u + k] + hu[u + k]);
            const double cc = std::tanh(xw[2 * u + k] + hu[2 * u + k]);
            const double og = sigmoid(xw[3 * u + k] + hu[3 * u + k]);
            c[k] = fg * c[k] + ig * cc;
            hn[k] = og * std::tanh(c[k]);
          } else {
            const double zg = sigmoid(xw[k] + hu[k]);
            double hh;
            if (reset_after) {
              hh = std::tanh(xw[2 * u + k] + sigmoid(xw[u + k] + hu[u + k]) * hu[2 * u + k]);
            } else {
              double rh = 0;  // (r ⊙ h ⊙ mask_h)·U_h
              for (int64_t p = 0; p < u; ++p)
                rh += sigmoid(xw[u + p] + hu[u + p]) * h[p] * hm(2, i, p) * U.at({p, 2 * u + k});
              hh = std::tanh(xw[2 * u + k] + rh);
            }
            hn[k] = zg * h[k] + (1 - zg) * hh;  // the unmasked previous state, as Keras
          }
        }
        h = hn;
      }
      if (seq)
        for (int64_t k = 0; k < u; ++k) out[static_cast<size_t>((i * steps + s) * u + k)] = h[k];
    }
    if (!seq)
      for (int64_t k = 0; k < u; ++k) out[static_cast<size_t>(i * u + k)] = h[k];
    if (states)
      for (int64_t k = 0; k < u; ++k) {
        states->h[static_cast<size_t>(i * u + k)] = h[k];
        if (lstm) states->c[static_cast<size_t>(i * u + k)] = c[k];
      }
  }
  return out;
}

}  // namespace rnn_test
