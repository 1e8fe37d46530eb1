// return_state: SimpleRNN/LSTM/GRU calls that give [output, h] / [output, h, c] — the final
// states against the naive reference (go_backwards, masks), gradients through the state
// outputs (layers alone and inside models that use only a state), Bidirectional's
// [output, forward states, backward states], the functional API's multi-output calls and their
// errors, and a model reading the states that learns.
#include <catch2/catch.hpp>

#include <cmath>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/bidirectional.hpp>
#include <fitrun/layers/recurrent.hpp>
#include <fitrun/layers/time_distributed.hpp>

#include "layers/layer_test_helpers.hpp"
#include "model/helpers.hpp"
#include "sequence/rnn_reference.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using layer_test::check_close;
using layer_test::randomize;
using layer_test::require_gradients;
using rnn_test::FinalStates;
using rnn_test::reference;

namespace {

using rnn_test::Case;
using rnn_test::kCases;
using rnn_test::make;

/// One call through forward_multi, with `mask` (may be null) on the context.
struct Call {
  CallContext ctx;
  std::vector<Tensor> outs;
  std::vector<Tensor*> out_ptrs;
  std::vector<const Tensor*> out_cptrs;

  Call(RNN& l, const Tensor& x, const Tensor* mask) {
    l.ensure_built({x.shape()});
    ctx.input_masks = {mask};
    for (const Shape& s : l.compute_output_shapes({x.shape()})) outs.emplace_back(s);
    for (auto& t : outs) {
      out_ptrs.push_back(&t);
      out_cptrs.push_back(&t);
    }
    run(l, x);
  }
  void run(RNN& l, const Tensor& x) { l.forward_multi(ctx, {&x}, out_ptrs); }
};

/// L = Σ_k Σ w_k·output_k for fixed random w_k, through forward_multi with a mask on the
/// context (check_gradients has no masks).
double projected(RNN& l, const Tensor& x, const Tensor* mask, const std::vector<Tensor>& w) {
  Call c(l, x, mask);
  double sum = 0;
  for (size_t k = 0; k < w.size(); ++k)
    for (int64_t i = 0; i < w[k].size(); ++i) sum += double(c.outs[k].flat(i)) * w[k].flat(i);
  return sum;
}

}  // namespace

TEST_CASE("return_state gives the final states of Keras' equations", "[sequence][rnn][state]") {
  // Sample 0 keeps steps {0, 2, 3}, sample 1 keeps {1}: the states carry through masked steps.
  const Tensor mask = Tensor::from_vector({1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 0.f, 0.f}, {2, 4});
  for (const Case& c : kCases) {
    for (const bool masked : {false, true}) {
      SECTION(std::string(c.what) + (masked ? ", masked" : "")) {
        auto l = make(c, 5, true);
        const Tensor x = Tensor::uniform({2, 4, 6}, -1.f, 1.f, 11);
        l->ensure_built({x.shape()});
        randomize(*l, 20);
        const Tensor* m = masked ? &mask : nullptr;
        Call call(*l, x, m);
        REQUIRE(call.outs.size() == (c.cell == RNN::Cell::lstm ? 3u : 2u));
        FinalStates states;
        check_close(call.outs[0], reference(*l, x, m, nullptr, nullptr, &states), 1e-4, 1e-5);
        CHECK(call.outs[1].shape() == Shape{2, 5});
        check_close(call.outs[1], states.h, 1e-4, 1e-5);
        if (c.cell == RNN::Cell::lstm) check_close(call.outs[2], states.c, 1e-4, 1e-5);
        // Without return_sequences the output is the last state itself, as in Keras.
        if (!c.return_sequences) check_close(call.outs[0], states.h, 1e-6, 1e-7);
        // The same layer without return_state (the fused kernel when unmasked) agrees.
        auto plain = make(c, 5, false);
        plain->ensure_built({x.shape()});
        for (size_t w = 0; w < plain->weights().size(); ++w)
          plain->weights()[w]->value.copy_from(l->weights()[w]->value);
        Call p(*plain, x, m);
        check_close(p.outs[0], layer_test::to_doubles(call.outs[0]), 1e-5, 1e-6);
      }
    }
  }
}

TEST_CASE("gradients flow from the state outputs", "[sequence][rnn][state][gradients]") {
  for (const Case& c : kCases) {
    SECTION(c.what) {
      auto l = make(c, 4, true);
      const Tensor x = Tensor::uniform({2, 3, 5}, -1.f, 1.f, 12);
      l->ensure_built({x.shape()});
      randomize(*l, 30);
      // L projects every output: the sequence (or last output) and each state.
      require_gradients(*l, {x}, {.epsilon = 1e-2, .tolerance = 2e-2});
    }
  }
}

TEST_CASE("state gradients skip masked steps", "[sequence][rnn][state][mask][gradients]") {
  const Tensor mask = Tensor::from_vector({1.f, 0.f, 1.f, 0.f, 1.f, 1.f, 0.f, 0.f}, {2, 4});
  for (const Case& c : kCases) {
    SECTION(c.what) {
      auto l = make(c, 3, true);
      const Tensor x = Tensor::uniform({2, 4, 3}, -1.f, 1.f, 13);
      l->ensure_built({x.shape()});
      randomize(*l, 40);
      Call call(*l, x, &mask);
      std::vector<Tensor> w;
      for (size_t k = 0; k < call.outs.size(); ++k)
        w.push_back(k == 0 ? Tensor::zeros(call.outs[0].shape())  // the states only
                           : Tensor::uniform(call.outs[k].shape(), -1.f, 1.f, int64_t(50 + k)));
      std::vector<const Tensor*> dys;
      for (const auto& t : w) dys.push_back(&t);
      Tensor dx(x.shape());
      l->backward_multi(call.ctx, {&x}, call.out_cptrs, dys, {&dx});
      const double eps = 1e-2;
      Tensor xp = x.clone();
      for (int64_t i = 0; i < x.size(); ++i) {
        const float saved = xp.data<float>()[i];
        xp.data<float>()[i] = saved + float(eps);
        const double plus = projected(*l, xp, &mask, w);
        xp.data<float>()[i] = saved - float(eps);
        const double minus = projected(*l, xp, &mask, w);
        xp.data<float>()[i] = saved;
        const double numeric = (plus - minus) / (2 * eps);
        INFO("input element " << i);
        CHECK(dx.flat(i) == Approx(numeric).margin(2e-3).epsilon(2e-2));
        if (mask.flat(i / 3) == 0.f) CHECK(dx.flat(i) == 0.0);
      }
      for (const auto& v : l->trainable_weights()) {
        const Tensor analytic = v->grad.clone();
        for (int64_t i = 0; i < v->value.size(); i += 3) {
          float* p = v->value.data<float>();
          const float saved = p[i];
          p[i] = saved + float(eps);
          const double plus = projected(*l, x, &mask, w);
          p[i] = saved - float(eps);
          const double minus = projected(*l, x, &mask, w);
          p[i] = saved;
          INFO(v->path << " element " << i);
          CHECK(analytic.flat(i) == Approx((plus - minus) / (2 * eps)).margin(2e-3).epsilon(2e-2));
        }
      }
    }
  }
}

TEST_CASE("a model that uses only a state gets its gradients through it",
          "[sequence][rnn][state][model][gradients]") {
  for (const char* which : {"h", "c", "h and sequence"}) {
    SECTION(which) {
      set_seed(5);
      KerasTensor x = Input({4, 3});
      auto outs = LSTM(4, {.return_sequences = true, .return_state = true}).call_multi(x);
      REQUIRE(outs.size() == 3);
      CHECK(outs[0].shape() == Shape{-1, 4, 4});
      CHECK(outs[1].shape() == Shape{-1, 4});
      CHECK(outs[1].tensor_index() == 1);
      CHECK(outs[2].tensor_index() == 2);
      KerasTensor y;
      if (std::string(which) == "h") y = Dense(2)(outs[1]);
      else if (std::string(which) == "c") y = outs[2];
      else y = Concatenate()({outs[1], GlobalAveragePooling1D()(outs[0])});
      Model model(x, y);
      randomize(model, 60);
      const Tensor data = Tensor::uniform({2, 4, 3}, -1.f, 1.f, 14);
      require_gradients(model, {data}, {.epsilon = 1e-2, .tolerance = 2e-2});
    }
  }
}

TEST_CASE("an activity regularizer sees every output, unused ones too, step after step",
          "[sequence][rnn][state][model]") {
  set_seed(7);
  KerasTensor x = Input({3, 2});
  // c and the last output are unused: only their activity penalty reaches them.
  auto [y, h, c] = LSTM(3, {.activity_regularizer = regularizers::L2(0.1), .return_state = true})
                       .call_multi<3>(x);
  Model model({x}, {Dense(1)(h)});
  model.compile("sgd", "mse");
  const Tensor data = Tensor::uniform({4, 3, 2}, -1.f, 1.f, 3);
  const Tensor target = Tensor::uniform({4, 1}, -1.f, 1.f, 4);
  const double loss1 = model.compute_gradients(data, target);
  std::vector<Tensor> first;
  for (const auto& w : model.trainable_weights()) first.push_back(w->grad.clone());
  const double loss2 = model.compute_gradients(data, target);
  CHECK(loss1 == loss2);
  const auto ws = model.trainable_weights();
  for (size_t k = 0; k < ws.size(); ++k) CHECK(ws[k]->grad.to_vector() == first[k].to_vector());
  // The penalty covers the three outputs: 0.1 Σ y² + 0.1 Σ h² + 0.1 Σ c² (y == h here).
  const TensorList p = model.predict(data, {.verbose = 0});
  auto sq = [](const Tensor& t) {
    double s = 0;
    for (float v : t.to_vector()) s += double(v) * v;
    return s;
  };
  double mse = 0;
  for (int64_t i = 0; i < 4; ++i) mse += std::pow(p[0].flat(i) - target.flat(i), 2) / 4;
  // The states through a second model on the same layer call.
  Model states({x}, {h, c});
  const TensorList hc = states.predict(data, {.verbose = 0});
  CHECK(loss1 == Approx(mse + 0.1 * (2 * sq(hc[0]) + sq(hc[1]))).epsilon(1e-5));
}

TEST_CASE("multi-output calls in the functional API", "[sequence][rnn][state][api]") {
  set_seed(6);
  KerasTensor x = Input({5, 3});
  // Structured bindings through call_multi<N>.
  auto [y, h, c] = LSTM(4, {.name = "enc", .return_state = true}).call_multi<3>(x);
  CHECK(y.shape() == Shape{-1, 4});
  CHECK(h.layer() == y.layer());
  CHECK(c.node() == y.node());
  CHECK(c.to_string().find("name=enc[2]") != std::string::npos);
  auto [s, gh] = GRU(2, {.return_sequences = true, .return_state = true}).call_multi<2>(x);
  CHECK(s.shape() == Shape{-1, 5, 2});
  CHECK(gh.shape() == Shape{-1, 2});
  // A one-output layer gives a list of one.
  CHECK(Dense(3).call_multi(h).size() == 1);

  auto message = [](const std::function<void()>& f) {
    try {
      f();
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no ConfigError)");
  };
  CHECK(message([&] { LSTM(4, {.name = "lstm_x", .return_state = true})(x); }) ==
        "layer \"lstm_x\" (LSTM) gives 3 outputs (e.g. return_state); call it with "
        "call_multi(x) to get them all");
  CHECK(message([&] { SimpleRNN(4, {.name = "rnn_x", .return_state = true}).call_multi<3>(x); }) ==
        "layer \"rnn_x\" (SimpleRNN) gives 2 outputs, but call_multi<N> asked for 3");
  CHECK_THAT(message([&] { Sequential({Input({5, 3}), LSTM(2, {.return_state = true})}); }),
             Catch::Contains("gives 3 outputs (return_state); every layer of a Sequential must "
                             "give one: use the functional API"));
  CHECK_THAT(message([&] {
               Bidirectional(LSTM(2, {.return_state = true}),
                             {.backward_layer = LSTM(2, {.go_backwards = true})});
             }),
             Catch::Contains("must have the same return_sequences, return_state and stateful"));
  CHECK_THAT(message([&] { TimeDistributed(GRU(2, {.name = "g", .return_state = true})); }),
             Catch::Contains("TimeDistributed: the wrapped layer \"g\" gives 2 outputs"));

  // The summary lists a call's outputs and which output feeds a layer.
  KerasTensor head = Dense(2, "", {.name = "head"})(Concatenate()({h, c}));
  Model m({x}, {head, y});
  const std::string text = m.summary_string();
  INFO(text);
  // One output per line where the list does not fit the column, on one line where it does.
  CHECK(text.find("│ [(None, 4),  ") != std::string::npos);
  CHECK(text.find("│  (None, 4)]  ") != std::string::npos);
  CHECK(m.summary_string(160).find("[(None, 4), (None, 4), (None, 4)]") != std::string::npos);
  CHECK(text.find("enc[0][1]") != std::string::npos);
  CHECK(text.find("enc[0][2]") != std::string::npos);
}

TEST_CASE("a classifier on an LSTM's final states learns UCI digits",
          "[sequence][rnn][state][learning]") {
  auto [train, test] = fitrun_test::digits();
  auto rows = [](const Tensor& x) { return x.reshape({x.dim(0), 8, 8}); };
  set_seed(3);
  clear_session();
  // An encoder's states as the features of a Dense head (h and c concatenated), with the
  // encoder's last output as a second, auxiliary output.
  KerasTensor x = Input({8, 8});
  auto [last, h, c] = LSTM(32, {.return_state = true}).call_multi<3>(x);
  KerasTensor logits = Dense(10, "", {.name = "digit"})(Concatenate()({h, c}));
  KerasTensor aux = Dense(10, "", {.name = "aux"})(last);
  Model model({x}, {logits, aux});
  model.compile(optimizers::Adam({.learning_rate = 1e-2}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"},
                {.loss_weights = {1.f, 0.2f}});
  model.fit(rows(train.x), {train.y, train.y}, {.batch_size = 32, .epochs = 8, .verbose = 0});
  Logs r = model.evaluate(rows(test.x), {test.y, test.y}, {.verbose = 0});
  INFO("test accuracy " << r["digit_accuracy"]);
  CHECK(r["digit_accuracy"] >= 0.93);
}

TEST_CASE("Bidirectional with return_state gives both directions' states",
          "[sequence][bidirectional][state]") {
  const Tensor x = Tensor::uniform({2, 4, 3}, -1.f, 1.f, 31);
  const Tensor mask = Tensor::from_vector({1.f, 1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 1.f}, {2, 4});
  const Case cases[] = {{"SimpleRNN", RNN::Cell::simple, true, false, false},
                        {"LSTM sequences", RNN::Cell::lstm, true, true, false},
                        {"GRU", RNN::Cell::gru, true, false, false},
                        {"GRU reset_before sequences", RNN::Cell::gru, false, true, false}};
  for (const Case& c : cases) {
    for (const bool masked : {false, true}) {
      SECTION(std::string(c.what) + (masked ? ", masked" : "")) {
        Bidirectional bi(make(c, 3, true), {.merge_mode = "sum"});
        bi.ensure_built({x.shape()});
        randomize(bi, 70);
        const int states = c.cell == RNN::Cell::lstm ? 2 : 1;
        REQUIRE(bi.num_outputs() == 1 + 2 * states);
        const std::vector<Shape> shapes = bi.compute_output_shapes({x.shape()});
        for (int k = 1; k <= 2 * states; ++k) CHECK(shapes[size_t(k)] == Shape{2, 3});

        std::vector<Tensor> outs;
        std::vector<Tensor*> ptrs;
        for (const Shape& s : shapes) outs.emplace_back(s);
        for (auto& t : outs) ptrs.push_back(&t);
        CallContext ctx;
        ctx.input_masks = {masked ? &mask : nullptr};
        bi.forward_multi(ctx, {&x}, ptrs);
        // Each direction's states are its inner layer's, run on its own.
        for (int dir = 0; dir < 2; ++dir) {
          auto& inner = static_cast<RNN&>(dir == 0 ? *bi.forward_layer() : *bi.backward_layer());
          FinalStates st;
          reference(inner, x, masked ? &mask : nullptr, nullptr, nullptr, &st);
          check_close(outs[size_t(1 + dir * states)], st.h, 1e-4, 1e-5);
          if (states == 2) check_close(outs[size_t(2 + dir * states)], st.c, 1e-4, 1e-5);
        }
        // The merged output is the one without return_state.
        Tensor plain(shapes[0]);
        CallContext ctx1;
        ctx1.input_masks = ctx.input_masks;
        bi.forward(ctx1, {&x}, plain);
        CHECK(plain.to_vector() == outs[0].to_vector());
        if (!masked) require_gradients(bi, {x}, {.epsilon = 1e-2, .tolerance = 2e-2});
      }
    }
  }
}

TEST_CASE("a model on Bidirectional states round-trips its config",
          "[sequence][bidirectional][state][config]") {
  set_seed(8);
  KerasTensor x = Input({4, 3});
  auto outs = Bidirectional(LSTM(3, {.return_state = true})).call_multi(x);
  REQUIRE(outs.size() == 5);
  KerasTensor y = Dense(2)(Concatenate()({outs[1], outs[4]}));  // forward h, backward c
  Model model({x}, {y, outs[0]});
  auto back = model_from_json(model.to_json());
  CHECK(back->to_json() == model.to_json());
  const auto a = model.weights(), b = back->weights();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->value.copy_from(a[i]->value);
  const Tensor data = Tensor::uniform({3, 4, 3}, -1.f, 1.f, 9);
  const TensorList p = model.predict(data, {.verbose = 0}), q = back->predict(data, {.verbose = 0});
  for (size_t k = 0; k < 2; ++k) CHECK(p[k].to_vector() == q[k].to_vector());
}

TEST_CASE("an encoder model giving its states nests as a layer with several outputs",
          "[sequence][rnn][state][model]") {
  set_seed(9);
  KerasTensor x = Input({4, 3}, {.name = "tokens"});
  auto [seq, h, c] =
      LSTM(3, {.return_sequences = true, .return_state = true}).call_multi<3>(x);
  auto encoder = std::make_shared<Model>(std::vector<KerasTensor>{x},
                                         std::vector<KerasTensor>{seq, h, c}, "encoder");
  CHECK(encoder->num_outputs() == 3);
  KerasTensor x2 = Input({4, 3}, {.name = "outer_in"});
  std::vector<KerasTensor> enc = encoder->call_multi(x2);
  REQUIRE(enc.size() == 3);
  CHECK(enc[0].shape() == Shape{-1, 4, 3});
  CHECK(enc[2].shape() == Shape{-1, 3});
  KerasTensor y = Dense(2)(Concatenate()({enc[1], enc[2]}));
  Model outer({x2}, {y, enc[0]});
  randomize(outer, 80);
  // The nested call gives the encoder's own outputs.
  const Tensor data = Tensor::uniform({3, 4, 3}, -1.f, 1.f, 10);
  const TensorList direct = encoder->predict(data, {.verbose = 0});
  const TensorList nested = outer.predict(data, {.verbose = 0});
  CHECK(nested[1].to_vector() == direct[0].to_vector());
  // Gradients through the nested model's state outputs (the outer model as one layer whose
  // loss reads the head only).
  Model head_only({x2}, y);
  require_gradients(head_only, {data}, {.epsilon = 1e-2, .tolerance = 2e-2});
  // A config round trip keeps which of the encoder's outputs feeds what.
  auto back = model_from_json(outer.to_json());
  CHECK(back->to_json() == outer.to_json());
  const auto a = outer.weights(), b = back->weights();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->value.copy_from(a[i]->value);
  const TensorList again = back->predict(data, {.verbose = 0});
  for (size_t k = 0; k < 2; ++k) CHECK(again[k].to_vector() == nested[k].to_vector());
}
