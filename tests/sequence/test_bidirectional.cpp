// Bidirectional: the merge of a forward and a backward recurrent layer run by hand, gradient
// checks, masks, Keras' names and config, and weights through both HDF5 layouts.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fitrun/fitrun.hpp>
#include <fitrun/io/model_config.hpp>
#include <fitrun/layers/bidirectional.hpp>

#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;

using layer_test::randomize;

namespace {

LayerRef make_rnn(int kind, RNNOptions o) {
  if (kind == 0) return SimpleRNN(3, o);
  if (kind == 1) return LSTM(3, o);
  return GRU(3, o);
}

/// Runs `l` on x with an optional mask in a fresh context.
Tensor run(Layer& l, const Tensor& x, const Tensor* mask = nullptr) {
  l.ensure_built({x.shape()});
  CallContext ctx;
  ctx.input_masks = {mask};
  Tensor y(l.compute_output_shape({x.shape()}));
  l.forward(ctx, {&x}, y);
  return y;
}

/// Keras' merge of the two outputs, the backward one flipped in time when it is a sequence;
/// masked timesteps give zeros.
std::vector<double> merge(const Tensor& a, const Tensor& b, const std::string& mode,
                          const Tensor* mask) {
  const bool seq = a.rank() == 3;
  const int64_t n = a.dim(0), steps = seq ? a.dim(1) : 1, u = a.dim(-1);
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t t = 0; t < steps; ++t) {
      const bool masked = seq && mask && mask->at({i, t}) == 0.0;
      auto av = [&](int64_t k) { return seq ? a.at({i, t, k}) : a.at({i, k}); };
      auto bv = [&](int64_t k) { return seq ? b.at({i, steps - 1 - t, k}) : b.at({i, k}); };
      if (mode == "concat") {
        for (int64_t k = 0; k < u; ++k) out.push_back(masked ? 0 : av(k));
        for (int64_t k = 0; k < u; ++k) out.push_back(masked ? 0 : bv(k));
      } else {
        for (int64_t k = 0; k < u; ++k) {
          const double x = av(k), y = bv(k);
          const double v = mode == "sum" ? x + y : mode == "mul" ? x * y : (x + y) / 2;
          out.push_back(masked ? 0 : v);
        }
      }
    }
  return out;
}

const char* const kModes[] = {"concat", "sum", "mul", "ave"};

}  // namespace

TEST_CASE("Bidirectional merges its forward and backward layers as Keras does",
          "[sequence][bidirectional]") {
  const Tensor x = Tensor::uniform({2, 4, 5}, -1.f, 1.f, 21);
  // Sample 0 is padded at the end, sample 1 at the start.
  const Tensor mask = Tensor::from_vector({1.f, 1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 1.f}, {2, 4});
  for (int kind = 0; kind < 3; ++kind)
    for (bool seq : {false, true})
      for (const char* mode : kModes) {
        DYNAMIC_SECTION("cell " << kind << (seq ? " sequences " : " last ") << mode) {
          Bidirectional bi(make_rnn(kind, {.return_sequences = seq}), {.merge_mode = mode});
          bi.ensure_built({x.shape()});
          randomize(bi, 50);
          for (const Tensor* m : {static_cast<const Tensor*>(nullptr), &mask}) {
            const Tensor y = run(bi, x, m);
            const Tensor a = run(*bi.forward_layer(), x, m);
            const Tensor b = run(*bi.backward_layer(), x, m);
            layer_test::check_close(y, merge(a, b, mode, m), 1e-6, 1e-6);
          }
          CHECK(bi.compute_output_shape({Shape{-1, 4, 5}}) ==
                (seq ? Shape{-1, 4, std::string(mode) == "concat" ? 6 : 3}
                     : Shape{-1, std::string(mode) == "concat" ? 6 : 3}));
          CHECK(bi.produces_mask({true}) == seq);
        }
      }
}

TEST_CASE("Bidirectional passes gradient checks", "[sequence][bidirectional][gradients]") {
  const Tensor x = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 22);
  for (int kind = 0; kind < 3; ++kind)
    for (const char* mode : kModes) {
      DYNAMIC_SECTION("cell " << kind << " " << mode) {
        Bidirectional bi(make_rnn(kind, {.return_sequences = kind != 1}), {.merge_mode = mode});
        bi.ensure_built({x.shape()});
        randomize(bi, 60);
        layer_test::require_gradients(bi, {x}, {.epsilon = 1e-2, .tolerance = 2e-2});
      }
    }
}

TEST_CASE("Bidirectional uses Keras' names, weights and config", "[sequence][bidirectional][config]") {
  clear_session();
  Bidirectional bi(LSTM(4, {.return_sequences = true}));
  bi.ensure_built({Shape{-1, 6, 3}});
  CHECK(bi.name() == "bidirectional");
  CHECK(bi.forward_layer()->name() == "forward_lstm");
  CHECK(bi.backward_layer()->name() == "backward_lstm");
  const auto w = bi.weights();
  REQUIRE(w.size() == 6);
  CHECK(w[0]->path == "bidirectional/forward_lstm/lstm_cell/kernel");
  CHECK(w[2]->path == "bidirectional/forward_lstm/lstm_cell/bias");
  CHECK(w[3]->path == "bidirectional/backward_lstm/lstm_cell/kernel");
  CHECK(bi.count_params() == 2 * (3 * 16 + 4 * 16 + 16));

  const json c = bi.get_config();
  CHECK(c["merge_mode"] == "concat");
  CHECK(c["layer"]["class_name"] == "LSTM");
  CHECK(c["layer"]["config"]["name"] == "forward_lstm");
  CHECK(c["layer"]["config"]["go_backwards"] == false);
  CHECK(c["backward_layer"]["config"]["name"] == "backward_lstm");
  CHECK(c["backward_layer"]["config"]["go_backwards"] == true);
  CHECK(layer_from_config("Bidirectional", c)->get_config() == c);

  // tf.keras writes the original layer and no backward_layer: both copies derive from it.
  json no_backward = c;
  no_backward.erase("backward_layer");
  no_backward["layer"]["config"]["name"] = "lstm";
  auto derived = std::dynamic_pointer_cast<Bidirectional>(layer_from_config("Bidirectional", no_backward));
  REQUIRE(derived);
  CHECK(derived->forward_layer()->name() == "forward_lstm");
  CHECK(derived->backward_layer()->name() == "backward_lstm");
  CHECK(static_cast<RNN&>(*derived->backward_layer()).options().go_backwards);

  // A custom backward layer is used as given.
  Bidirectional custom(GRU(2, {.name = "f"}),
                       {.merge_mode = "ave",
                        .backward_layer = GRU(2, {.activation = "relu", .go_backwards = true,
                                                  .name = "b"})});
  CHECK(custom.backward_layer()->name() == "b");
  CHECK(layer_from_config("Bidirectional", custom.get_config())->get_config() ==
        custom.get_config());

  // With dropout, the two directions draw their own masks (a derived seed is re-drawn).
  Bidirectional dropped(LSTM(2, {.dropout = 0.5f}));
  CHECK(dropped.forward_layer()->get_config()["seed"] !=
        dropped.backward_layer()->get_config()["seed"]);
  CHECK(layer_from_config("Bidirectional", dropped.get_config())->get_config() ==
        dropped.get_config());

  json none = c;
  none["merge_mode"] = nullptr;  // Keras' merge_mode=None
  const LayerPtr unmerged = layer_from_config("Bidirectional", none);
  CHECK(static_cast<const Bidirectional&>(*unmerged).merge_mode() == "none");
  CHECK(unmerged->get_config()["merge_mode"].is_null());
  json bad = c;
  bad["merge_mode"] = "max";
  CHECK_THROWS_WITH(layer_from_config("Bidirectional", bad), Catch::Contains("merge_mode"));
  bad = c;
  bad["backward_layer"]["config"]["go_backwards"] = false;
  CHECK_THROWS_WITH(layer_from_config("Bidirectional", bad),
                    Catch::Contains("different go_backwards values"));
  bad = c;
  bad["backward_layer"]["config"]["return_sequences"] = false;
  CHECK_THROWS_WITH(layer_from_config("Bidirectional", bad), Catch::Contains("return_sequences"));
  bad = c;
  bad["layer"]["config"]["units"] = 0;
  CHECK_THROWS_WITH(layer_from_config("Bidirectional", bad),
                    Catch::Contains("/layer: ") && Catch::Contains("units"));
  CHECK_THROWS_WITH(Bidirectional(Dense(3)),
                    "Bidirectional: the wrapped layer must be a SimpleRNN, LSTM or GRU, got Dense");
}

TEST_CASE("A Keras config with Bidirectional layers loads, and its weights go through HDF5",
          "[sequence][bidirectional][io]") {
  std::ifstream in(std::string(FITRUN_TEST_DATA) + "/keras3_bidirectional.json");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto model = model_from_json(text.str());
  const auto layers = model->layers();
  REQUIRE(layers.size() == 4);
  auto* bi = dynamic_cast<Bidirectional*>(layers[1].get());
  REQUIRE(bi);
  CHECK(bi->merge_mode() == "concat");
  CHECK(bi->forward_layer()->name() == "forward_lstm");
  CHECK(static_cast<RNN&>(*bi->backward_layer()).options().go_backwards);
  auto* bi2 = dynamic_cast<Bidirectional*>(layers[2].get());
  REQUIRE(bi2);
  CHECK(bi2->merge_mode() == "sum");
  CHECK(static_cast<RNN&>(*bi2->forward_layer()).options().reset_after == false);
  CHECK(model->outputs()[0].shape() == Shape{-1, 2});

  const Tensor x = Tensor::from_vector({3, 7, 1, 0, 0, 5, 2, 9, 4, 8}, {2, 5});
  const Tensor y = model->predict(x)[0];
  for (const std::string path : {"/tmp/fitrun_bidi_test.weights.h5", "/tmp/fitrun_bidi_test.h5"}) {
    model->save_weights(path);
    auto other = model_from_json(model->to_json());
    other->load_weights(path);
    CHECK(other->predict(x)[0].to_vector() == y.to_vector());
    std::remove(path.c_str());
  }
  model->save("/tmp/fitrun_bidi_test_model.h5");
  auto loaded = load_model("/tmp/fitrun_bidi_test_model.h5");
  CHECK(loaded->predict(x)[0].to_vector() == y.to_vector());
  std::remove("/tmp/fitrun_bidi_test_model.h5");
}

TEST_CASE("Bidirectional with merge_mode none gives both directions as outputs",
          "[sequence][bidirectional]") {
  const Tensor x = Tensor::uniform({2, 4, 5}, -1.f, 1.f, 23);
  const Tensor mask = Tensor::from_vector({1.f, 1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 1.f}, {2, 4});
  for (int kind = 0; kind < 3; ++kind)
    for (bool seq : {false, true}) {
      DYNAMIC_SECTION("cell " << kind << (seq ? " sequences" : " last")) {
        Bidirectional bi(make_rnn(kind, {.return_sequences = seq}), {.merge_mode = "none"});
        bi.ensure_built({x.shape()});
        randomize(bi, 51);
        REQUIRE(bi.num_outputs() == 2);
        const std::vector<Shape> shapes = bi.compute_output_shapes({Shape{-1, 4, 5}});
        const Shape inner = seq ? Shape{-1, 4, 3} : Shape{-1, 3};
        CHECK(shapes == std::vector<Shape>{inner, inner});
        for (const Tensor* m : {static_cast<const Tensor*>(nullptr), &mask}) {
          CallContext ctx;
          ctx.input_masks = {m};
          Tensor yf(shapes[0].with_batch(2)), yb(shapes[1].with_batch(2));
          bi.forward_multi(ctx, {&x}, {&yf, &yb});
          // [yf | yb] row by row is the concat merge of the two inner layers' outputs.
          std::vector<float> joined;
          const int64_t rows = yf.size() / 3;
          for (int64_t r = 0; r < rows; ++r)
            for (const Tensor* t : {&yf, &yb})
              for (int64_t k = 0; k < 3; ++k) joined.push_back(static_cast<float>(t->flat(r * 3 + k)));
          const Tensor a = run(*bi.forward_layer(), x, m);
          const Tensor b = run(*bi.backward_layer(), x, m);
          layer_test::check_close(Tensor::from_vector(joined, {rows, 6}),
                                  merge(a, b, "concat", m), 1e-6, 1e-6);
        }
        layer_test::require_gradients(bi, {x}, {.epsilon = 1e-2, .tolerance = 2e-2});
      }
    }
}

TEST_CASE("a functional model reads both unmerged directions and round-trips its config",
          "[sequence][bidirectional][config]") {
  set_seed(5);
  KerasTensor in = Input({4, 5});
  auto [f, b] = Bidirectional(GRU(3, {.return_sequences = true}), {.merge_mode = "none"})
                    .call_multi<2>(in);
  Model m(in, Dense(2)(Concatenate()({f, b})), "unmerged");
  const Tensor x = Tensor::uniform({3, 4, 5}, -1.f, 1.f, 24);
  const Tensor p = m.predict(x)[0];
  CHECK(m.to_json().find("\"merge_mode\":null") != std::string::npos);
  std::shared_ptr<Model> back = model_from_json(m.to_json());
  for (size_t i = 0; i < m.weights().size(); ++i)
    back->weights()[i]->value.copy_from(m.weights()[i]->value);
  const std::vector<float> expected = p.to_vector();
  layer_test::check_close(back->predict(x)[0],
                          std::vector<double>(expected.begin(), expected.end()), 1e-6, 1e-7);
}

TEST_CASE("Bidirectional merge_mode none with return_state: both outputs, then the states",
          "[sequence][bidirectional]") {
  const Tensor x = Tensor::uniform({2, 4, 5}, -1.f, 1.f, 25);
  Bidirectional none(LSTM(3, {.return_sequences = true, .return_state = true}),
                     {.merge_mode = "none"});
  Bidirectional cat(LSTM(3, {.return_sequences = true, .return_state = true}));
  none.ensure_built({x.shape()});
  cat.ensure_built({x.shape()});
  randomize(none, 52);
  for (size_t i = 0; i < none.weights().size(); ++i)
    cat.weights()[i]->value.copy_from(none.weights()[i]->value);
  REQUIRE(none.num_outputs() == 6);  // forward, backward, h and c each way
  REQUIRE(cat.num_outputs() == 5);
  auto outputs = [&](Bidirectional& l) {
    std::vector<Tensor> ts;
    for (const Shape& s : l.compute_output_shapes({x.shape()})) ts.emplace_back(s.with_batch(2));
    std::vector<Tensor*> ptrs;
    for (Tensor& t : ts) ptrs.push_back(&t);
    CallContext ctx;
    l.forward_multi(ctx, {&x}, ptrs);
    return ts;
  };
  const std::vector<Tensor> a = outputs(none), b = outputs(cat);
  for (size_t k = 0; k < 4; ++k) {  // the states
    const std::vector<float> want = b[1 + k].to_vector();
    layer_test::check_close(a[2 + k], std::vector<double>(want.begin(), want.end()), 1e-6, 1e-7);
  }
}
