// Attention (Luong) and AdditiveAttention (Bahdanau): forward against a naive double-precision
// loop of Keras 3's equations (scale, concat, causal, value and query masks, key ≠ value),
// gradient checks for every input and weight, masked keys changing nothing, configs (round
// trip, a Keras 3 model config, errors naming the key), a small model that learns with
// Attention, and a steady-state train step that creates no tensors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/attention.hpp>
#include <fitrun/layers/embedding.hpp>

#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using layer_test::check_close;

namespace {

/// Keras' equations with explicit weights (1 / none where a layer has no such weight).
struct RefScores {
  bool additive = false;
  double s = 1, c = 1;     // Attention's scale and concat_score_weight
  std::vector<double> w;   // AdditiveAttention's scale (empty: all ones)
  bool causal = false;
};

std::vector<double> reference(const RefScores& r, const Tensor& q, const Tensor& v,
                              const Tensor& k, const Tensor* qmask, const Tensor* vmask) {
  const int64_t n = q.dim(0), tq = q.dim(1), tv = v.dim(1), dim = q.dim(2), dv = v.dim(2);
  std::vector<double> y(static_cast<size_t>(n * tq * dv));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < tq; ++i) {
      std::vector<double> score(static_cast<size_t>(tv));
      for (int64_t j = 0; j < tv; ++j) {
        double s = 0;
        for (int64_t d = 0; d < dim; ++d) {
          const double qd = q.at({b, i, d}), kd = k.at({b, j, d});
          if (r.additive)
            s += (r.w.empty() ? 1.0 : r.w[size_t(d)]) * std::tanh(r.s * (qd + kd));
          else
            s += qd * kd;
        }
        s *= r.additive ? r.c : r.s;
        const bool keep = (!vmask || vmask->at({b, j}) != 0) && (!r.causal || j <= i);
        score[size_t(j)] = keep ? s : -1e9;  // s - 1e9 in float32
      }
      const double m = *std::max_element(score.begin(), score.end());
      double z = 0;
      for (double& s : score) z += (s = std::exp(s - m));
      const bool zero = qmask && qmask->at({b, i}) == 0;
      for (int64_t d = 0; d < dv; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < tv; ++j) acc += score[size_t(j)] / z * v.at({b, j, d});
        y[size_t((b * tq + i) * dv + d)] = zero ? 0.0 : acc;
      }
    }
  return y;
}

void set_scalar(const VariablePtr& v, float x) { v->value.data<float>()[0] = x; }

std::vector<double> values(const VariablePtr& v) { return layer_test::to_doubles(v->value); }

/// Forward with the given input masks (null: none).
Tensor forward_masked(Layer& l, const std::vector<Tensor>& in, const Tensor* qm,
                      const Tensor* vm) {
  CallContext ctx;
  if (qm || vm) ctx.input_masks = {qm, vm, nullptr};
  return layer_test::forward(l, in, ctx);
}

/// Forward, then backward of L = Σ r ⊙ y, with masks; returns the input gradients followed by
/// the weight gradients.
std::vector<Tensor> gradients_masked(Layer& l, const std::vector<Tensor>& in, const Tensor* qm,
                                     const Tensor* vm, const Tensor& r) {
  CallContext ctx;
  ctx.training = true;
  if (qm || vm) ctx.input_masks = {qm, vm, nullptr};
  Tensor y = layer_test::forward(l, in, ctx);
  std::vector<const Tensor*> ptrs;
  std::vector<Tensor> grads;
  for (const Tensor& t : in) {
    ptrs.push_back(&t);
    grads.push_back(Tensor::full(t.shape(), 12345.0));
  }
  std::vector<Tensor*> gptrs;
  for (Tensor& g : grads) gptrs.push_back(&g);
  l.backward(ctx, ptrs, y, r, gptrs);
  for (const auto& w : l.trainable_weights()) grads.push_back(w->grad.clone());
  return grads;
}

/// Central differences of L = Σ r ⊙ forward(inputs, masks) for every input element, against
/// the analytic gradients (check_gradients has no masks).
void check_masked_gradients(Layer& l, std::vector<Tensor> in, const Tensor* qm, const Tensor* vm) {
  const Tensor r = Tensor::uniform(forward_masked(l, in, qm, vm).shape(), -1.f, 1.f, 77);
  const std::vector<Tensor> g = gradients_masked(l, in, qm, vm, r);
  auto loss = [&] {
    const Tensor y = forward_masked(l, in, qm, vm);
    double s = 0;
    for (int64_t i = 0; i < y.size(); ++i) s += double(y.flat(i)) * r.flat(i);
    return s;
  };
  const float eps = 1e-2f;
  for (size_t t = 0; t < in.size(); ++t)
    for (int64_t i = 0; i < in[t].size(); ++i) {
      float* p = in[t].data<float>() + i;
      const float x = *p;
      *p = x + eps;
      const double up = loss();
      *p = x - eps;
      const double down = loss();
      *p = x;
      const double numeric = (up - down) / (2 * eps), analytic = g[t].flat(i);
      INFO("input " << t << " element " << i);
      CHECK(analytic == Approx(numeric).epsilon(2e-2).margin(2e-3));
    }
}

}  // namespace

TEST_CASE("Attention matches Keras' equations", "[sequence][attention]") {
  const Tensor q = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 1);
  const Tensor v = Tensor::uniform({2, 5, 6}, -1.f, 1.f, 2);  // value dim differs from query's
  const Tensor k = Tensor::uniform({2, 5, 4}, -1.f, 1.f, 3);
  const Tensor self = Tensor::uniform({2, 5, 4}, -1.f, 1.f, 4);
  SECTION("dot, key = value, no scale") {
    Attention a;
    CHECK(a.compute_output_shape({Shape{-1, 5, 4}, Shape{-1, 5, 4}}) == Shape{-1, 5, 4});
    check_close(layer_test::forward(a, {self, self}),
                reference({}, self, self, self, nullptr, nullptr), 1e-5, 1e-6);
    CHECK(a.weights().empty());
  }
  SECTION("dot with a scale, separate key") {
    Attention a({.use_scale = true});
    layer_test::forward(a, {q, v, k});
    REQUIRE(a.weights().size() == 1);
    CHECK(a.weights()[0]->value.shape() == Shape{});
    CHECK(a.weights()[0]->value.flat(0) == 1.f);  // Keras: initialized to ones
    CHECK(a.weights()[0]->path == a.name() + "/scale");
    set_scalar(a.weights()[0], 0.7f);
    RefScores r;
    r.s = 0.7;
    const Tensor y = layer_test::forward(a, {q, v, k});
    CHECK(y.shape() == Shape{2, 3, 6});
    check_close(y, reference(r, q, v, k, nullptr, nullptr), 1e-5, 1e-6);
  }
  SECTION("concat with a scale") {
    Attention a({.use_scale = true, .score_mode = "concat"});
    layer_test::forward(a, {q, v, k});
    REQUIRE(a.weights().size() == 2);
    CHECK(a.weights()[1]->path == a.name() + "/concat_score_weight");
    set_scalar(a.weights()[0], 0.8f);
    set_scalar(a.weights()[1], 1.3f);
    RefScores r;
    r.additive = true;
    r.s = 0.8;
    r.c = 1.3;
    check_close(layer_test::forward(a, {q, v, k}), reference(r, q, v, k, nullptr, nullptr), 1e-5,
                1e-6);
  }
  SECTION("concat without a scale, causal, value and query masks") {
    Attention a({.score_mode = "concat", .use_causal_mask = true});
    layer_test::forward(a, {q, v, k});
    set_scalar(a.weights()[0], 0.6f);
    RefScores r;
    r.additive = true;
    r.c = 0.6;
    r.causal = true;
    // Key 0 of each sample stays unmasked: a causal row 0 sees only key 0.
    const Tensor vm =
        Tensor::from_vector({1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f}, {2, 5});
    const Tensor qm = Tensor::from_vector({1.f, 0.f, 1.f, 1.f, 1.f, 1.f}, {2, 3});
    check_close(forward_masked(a, {q, v, k}, &qm, &vm), reference(r, q, v, k, &qm, &vm), 1e-5,
                1e-6);
  }
  SECTION("causal with fewer queries than keys, as Keras allows") {
    Attention a({.use_scale = true, .use_causal_mask = true});
    layer_test::forward(a, {q, v, k});
    set_scalar(a.weights()[0], 1.5f);
    RefScores r;
    r.s = 1.5;
    r.causal = true;
    check_close(layer_test::forward(a, {q, v, k}), reference(r, q, v, k, nullptr, nullptr), 1e-5,
                1e-6);
  }
}

TEST_CASE("AdditiveAttention matches Keras' equations", "[sequence][attention]") {
  const Tensor q = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 11);
  const Tensor v = Tensor::uniform({2, 5, 3}, -1.f, 1.f, 12);
  const Tensor k = Tensor::uniform({2, 5, 4}, -1.f, 1.f, 13);
  SECTION("with the default scale (dim) weight, separate key") {
    AdditiveAttention a;
    layer_test::forward(a, {q, v, k});
    REQUIRE(a.weights().size() == 1);
    CHECK(a.weights()[0]->value.shape() == Shape{4});
    CHECK(a.weights()[0]->path == a.name() + "/scale");
    RefScores r;
    r.additive = true;
    r.w = values(a.weights()[0]);
    check_close(layer_test::forward(a, {q, v, k}), reference(r, q, v, k, nullptr, nullptr), 1e-5,
                1e-6);
  }
  SECTION("without a scale, key = value, masks and causal") {
    const Tensor x = Tensor::uniform({2, 4, 4}, -1.f, 1.f, 14);
    AdditiveAttention a({.use_scale = false, .use_causal_mask = true});
    const Tensor vm = Tensor::from_vector({1.f, 1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 0.f}, {2, 4});
    const Tensor qm = Tensor::from_vector({1.f, 1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 1.f}, {2, 4});
    RefScores r;
    r.additive = true;
    r.causal = true;
    check_close(forward_masked(a, {x, x}, &qm, &vm), reference(r, x, x, x, &qm, &vm), 1e-5, 1e-6);
    CHECK(a.weights().empty());
  }
}

TEST_CASE("Attention and AdditiveAttention pass gradient checks",
          "[sequence][attention][gradients]") {
  const Tensor q = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 21);
  const Tensor v = Tensor::uniform({2, 5, 3}, -1.f, 1.f, 22);
  const Tensor k = Tensor::uniform({2, 5, 4}, -1.f, 1.f, 23);
  const Tensor x = Tensor::uniform({2, 4, 4}, -1.f, 1.f, 24);
  SECTION("dot with a scale, separate key") {
    Attention a({.use_scale = true});
    layer_test::forward(a, {q, v, k});
    set_scalar(a.weights()[0], 0.8f);
    layer_test::require_gradients(a, {q, v, k});
  }
  SECTION("dot, key = value, causal") {
    Attention a({.use_causal_mask = true});
    layer_test::require_gradients(a, {x, x});
  }
  SECTION("dot with a scale, key = value") {
    Attention a({.use_scale = true});
    layer_test::require_gradients(a, {x, x});
  }
  SECTION("concat with a scale, separate key") {
    Attention a({.use_scale = true, .score_mode = "concat"});
    layer_test::forward(a, {q, v, k});
    set_scalar(a.weights()[0], 0.9f);
    set_scalar(a.weights()[1], 1.2f);
    layer_test::require_gradients(a, {q, v, k});
  }
  SECTION("concat, key = value, with dropout") {
    Attention a({.use_scale = true, .score_mode = "concat", .dropout = 0.3f});
    layer_test::require_gradients(a, {x, x});
  }
  SECTION("additive with scale, separate key") {
    AdditiveAttention a;
    layer_test::require_gradients(a, {q, v, k});
  }
  SECTION("additive with scale, key = value, causal") {
    AdditiveAttention a({.use_causal_mask = true});
    layer_test::require_gradients(a, {x, x});
  }
  SECTION("additive without scale, with dropout") {
    AdditiveAttention a({.use_scale = false, .dropout = 0.25f});
    layer_test::require_gradients(a, {q, v, k});
  }
}

TEST_CASE("masks: gradients with masks, and masked keys change nothing",
          "[sequence][attention][masks]") {
  Tensor q = Tensor::uniform({2, 3, 4}, -1.f, 1.f, 31);
  Tensor v = Tensor::uniform({2, 5, 3}, -1.f, 1.f, 32);
  Tensor k = Tensor::uniform({2, 5, 4}, -1.f, 1.f, 33);
  // Key 0 stays unmasked, so no query row (causal ones included) has every key masked.
  const Tensor vm = Tensor::from_vector({1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 0.f}, {2, 5});
  const Tensor qm = Tensor::from_vector({1.f, 1.f, 0.f, 0.f, 1.f, 1.f}, {2, 3});
  Attention dot({.use_scale = true});
  Attention concat({.use_scale = true, .score_mode = "concat", .use_causal_mask = true});
  AdditiveAttention additive;
  const std::vector<Layer*> layers = {&dot, &concat, &additive};
  for (size_t li = 0; li < layers.size(); ++li) {
    Layer* l = layers[li];
    // Names by index: the layers' own names change each time Catch reruns the test case.
    DYNAMIC_SECTION("layer " << li << " (" << l->class_name() << ")") {
      layer_test::forward(*l, {q, v, k});
      for (const auto& w : l->weights())
        w->value.copy_from(Tensor::uniform(w->value.shape(), 0.5f, 1.5f, 40));
      check_masked_gradients(*l, {q, v, k}, &qm, &vm);

      // Changing what sits at masked value/key steps changes neither the output nor any
      // gradient, and those steps get zero gradient.
      const Tensor r = Tensor::uniform({2, 3, 3}, -1.f, 1.f, 41);
      const Tensor y = forward_masked(*l, {q, v, k}, &qm, &vm);
      const auto g = gradients_masked(*l, {q, v, k}, &qm, &vm, r);
      Tensor v2 = v.clone(), k2 = k.clone();
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t j = 0; j < 5; ++j)
          if (vm.at({b, j}) == 0) {
            for (int64_t d = 0; d < 3; ++d) v2.data<float>()[(b * 5 + j) * 3 + d] = 9.f;
            for (int64_t d = 0; d < 4; ++d) k2.data<float>()[(b * 5 + j) * 4 + d] = -7.f;
          }
      const Tensor y2 = forward_masked(*l, {q, v2, k2}, &qm, &vm);
      const auto g2 = gradients_masked(*l, {q, v2, k2}, &qm, &vm, r);
      check_close(y2, layer_test::to_doubles(y), 1e-6, 1e-7);
      REQUIRE(g2.size() == g.size());
      for (size_t t = 0; t < g.size(); ++t) {
        INFO("gradient " << t);
        check_close(g2[t], layer_test::to_doubles(g[t]), 1e-5, 1e-6);
      }
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t j = 0; j < 5; ++j)
          if (vm.at({b, j}) == 0) {
            for (int64_t d = 0; d < 3; ++d) CHECK(g[1].at({b, j, d}) == 0.f);
            for (int64_t d = 0; d < 4; ++d) CHECK(g[2].at({b, j, d}) == 0.f);
          }
      // Masked query steps: zero output, no gradient to their query.
      for (int64_t b = 0; b < 2; ++b)
        for (int64_t i = 0; i < 3; ++i)
          if (qm.at({b, i}) == 0) {
            for (int64_t d = 0; d < 3; ++d) CHECK(y.at({b, i, d}) == 0.f);
            for (int64_t d = 0; d < 4; ++d) CHECK(g[0].at({b, i, d}) == 0.f);
          }
    }
  }
}

TEST_CASE("Attention configs round-trip and errors name the key", "[sequence][attention][config]") {
  Attention a({.use_scale = true, .score_mode = "concat", .dropout = 0.1f,
               .use_causal_mask = true, .name = "att"});
  const json c = a.get_config();
  CHECK(c["use_scale"] == true);
  CHECK(c["score_mode"] == "concat");
  CHECK(c["dropout"] == 0.1);  // as Python prints it
  CHECK(c["use_causal_mask"] == true);
  CHECK(layer_from_config("Attention", c)->get_config() == c);
  const json plain = Attention({.name = "plain"}).get_config();
  CHECK(plain.count("use_causal_mask") == 0);  // Keras has no such key; written only when set
  CHECK(layer_from_config("Attention", plain)->get_config() == plain);

  AdditiveAttention ad({.use_scale = false, .dropout = 0.2f, .name = "add"});
  const json ac = ad.get_config();
  CHECK(ac.count("score_mode") == 0);  // Keras 3 deletes it
  CHECK(ac["use_scale"] == false);
  CHECK(layer_from_config("AdditiveAttention", ac)->get_config() == ac);

  auto error = [](const std::string& cls, json cfg) {
    try {
      layer_from_config(cls, cfg);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  json bad = c;
  bad["score_mode"] = "general";
  CHECK_THAT(error("Attention", bad), Catch::Contains("score_mode") && Catch::Contains("\"dot\""));
  bad = c;
  bad["return_attention_scores"] = true;
  CHECK_THAT(error("Attention", bad), Catch::Contains("return_attention_scores"));
  bad = ac;
  bad["return_attention_scores"] = true;
  CHECK_THAT(error("AdditiveAttention", bad), Catch::Contains("return_attention_scores"));
  bad = ac;
  bad["dropout"] = 1.5;
  CHECK_THAT(error("AdditiveAttention", bad), Catch::Contains("dropout"));
  bad = ac;
  bad["use_scal"] = true;
  CHECK_THAT(error("AdditiveAttention", bad), Catch::Contains("use_scal"));
  CHECK_THROWS_AS(Attention({.score_mode = "general"}), ConfigError);

  Attention shapes;
  CHECK_THROWS_WITH(shapes.compute_output_shape({Shape{-1, 3, 4}, Shape{-1, 5, 3}}),
                    Catch::Contains("query and key must have the same number of features"));
  CHECK_THROWS_WITH(
      shapes.compute_output_shape({Shape{-1, 3, 4}, Shape{-1, 5, 3}, Shape{-1, 6, 4}}),
      Catch::Contains("key and value must have the same number of steps"));
}

TEST_CASE("a Keras 3 model config with Attention and AdditiveAttention loads",
          "[sequence][attention][config]") {
  std::ifstream f(std::string(FITRUN_TEST_DATA) + "/keras3_attention.json");
  REQUIRE(f);
  std::stringstream text;
  text << f.rdbuf();
  clear_session();
  auto model = model_from_json(text.str());
  const json att = model->get_layer("attention")->get_config();
  CHECK(att["use_scale"] == true);
  CHECK(att["score_mode"] == "concat");
  const auto& aw = model->get_layer("attention")->weights();
  REQUIRE(aw.size() == 2);
  CHECK(aw[0]->path == "attention/scale");
  CHECK(aw[1]->path == "attention/concat_score_weight");
  const auto& bw = model->get_layer("additive_attention")->weights();
  REQUIRE(bw.size() == 1);
  CHECK(bw[0]->value.shape() == Shape{8});
  // embedding 20·8, Attention's two scalars, AdditiveAttention's scale (8), Dense 16 + 1
  CHECK(model->count_params() == 20 * 8 + 2 + 8 + (16 * 1 + 1));
  // Runs with the Embedding's mask: padded tokens (0) are masked keys, and masked query steps
  // give zeros from both layers, so the sigmoid Dense sees only its bias there.
  for (const auto& w : model->weights())
    w->value.copy_from(Tensor::uniform(w->value.shape(), -0.5f, 0.5f, 50));
  const Tensor ids = Tensor::from_vector(
      {1, 5, 7, 9, 2, 4, 3, 3, 19, 2, 4, 11, 6, 8, 0, 0, 0, 0}, {3, 6});
  const Tensor y = model->predict(ids, {.verbose = 0})[0];
  REQUIRE(y.shape() == Shape{3, 6, 1});
  const double bias = model->get_layer("dense")->weights()[1]->value.flat(0);
  const double at_masked = 1 / (1 + std::exp(-bias));
  for (int64_t i = 2; i < 6; ++i) CHECK(y.at({2, i, 0}) == Approx(at_masked).epsilon(1e-6));
  CHECK(y.at({2, 0, 0}) != Approx(at_masked).epsilon(1e-3));
  const auto copy = model_from_json(model->to_json());
  CHECK(copy->get_config() == model->get_config());
  // Scalar and (dim) weights through both HDF5 layouts.
  for (const std::string path : {"/tmp/fitrun_attention_test.weights.h5",
                                 "/tmp/fitrun_attention_test.h5"}) {
    model->save_weights(path);
    const auto other = model_from_json(model->to_json());
    other->load_weights(path);
    CHECK(other->predict(ids, {.verbose = 0})[0].to_vector() == y.to_vector());
    std::remove(path.c_str());
  }
}

TEST_CASE("a small model with Attention learns to find the marked token",
          "[sequence][attention][learning]") {
  // Six random digits and a flag marking one position; the label is the flagged digit. The
  // keys see only the flags and the values only the digits, so the model must learn a query
  // that attends to the flagged step (a learned constant, from the flags' mean).
  set_seed(3);
  clear_session();
  constexpr int64_t kSteps = 6, kSamples = 1536;
  Generator gen(17);
  Tensor digits({kSamples, kSteps}, DType::int32), flags({kSamples, kSteps, 1}),
      y({kSamples}, DType::int32);
  for (int64_t s = 0; s < kSamples; ++s) {
    const int64_t at = static_cast<int64_t>(gen.uniform() * kSteps) % kSteps;
    for (int64_t i = 0; i < kSteps; ++i) {
      const int32_t d = static_cast<int32_t>(gen.uniform() * 10) % 10;
      digits.data<int32_t>()[s * kSteps + i] = d;
      flags.data<float>()[s * kSteps + i] = i == at ? 1.f : 0.f;
      if (i == at) y.data<int32_t>()[s] = d;
    }
  }
  KerasTensor tok = Input({kSteps}, {.dtype = DType::int32});
  KerasTensor flag = Input({kSteps, 1});
  KerasTensor values = Embedding(10, 16)(tok);
  KerasTensor keys = Dense(8)(flag);
  KerasTensor query = Dense(8)(GlobalAveragePooling1D()(flag));
  query = Reshape({1, 8})(query);
  KerasTensor context = Attention({.use_scale = true})({query, values, keys});
  Model model({tok, flag}, Dense(10)(Flatten()(context)));
  model.compile(optimizers::Adam({.learning_rate = 1e-2}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  const int64_t train = kSamples * 3 / 4;
  model.fit({digits.slice(0, train), flags.slice(0, train)}, y.slice(0, train),
            {.batch_size = 32, .epochs = 15, .verbose = 0});
  Logs r = model.evaluate({digits.slice(train, kSamples), flags.slice(train, kSamples)},
                          y.slice(train, kSamples), {.verbose = 0});
  INFO("held-out accuracy " << r["accuracy"]);
  CHECK(r["accuracy"] >= 0.95);
}

TEST_CASE("the steady-state train step with Attention layers creates no tensors",
          "[sequence][attention][performance]") {
  set_seed(4);
  clear_session();
  KerasTensor tok = Input({6}, {.dtype = DType::int32});
  KerasTensor e = Embedding(12, 8, {.mask_zero = true})(tok);  // masks reach both layers
  KerasTensor a = Attention({.use_scale = true, .dropout = 0.2f})({e, e});
  KerasTensor b = AdditiveAttention({.use_causal_mask = true})({a, e, e});
  KerasTensor c = Attention({.score_mode = "concat"})({b, e});
  Model model(tok, Dense(3)(GlobalAveragePooling1D()(c)));
  model.compile("adam", losses::SparseCategoricalCrossentropy({.from_logits = true}));
  Tensor ids = Tensor::zeros({16, 6}, DType::int32);
  for (int64_t i = 0; i < 16 * 6; ++i)
    ids.data<int32_t>()[i] = static_cast<int32_t>(i % 7 % 4 + i % 3);  // some 0s: padding
  const TensorList x = ids;
  const TensorList y = Tensor::zeros({16}, DType::int32);
  model.train_on_batch(x, y);  // plans, primitives, scratch, optimizer slots
  model.train_step(x, y);
  const int64_t storages = debug::storage_allocations();
  for (int i = 0; i < 5; ++i) model.train_step(x, y);
  CHECK(debug::storage_allocations() == storages);
}
