// The functional API: multi-input/multi-output graphs, shared layers, nested models, errors.
#include <catch2/catch.hpp>

#include "model/helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;

TEST_CASE("a two-input two-output functional model trains", "[model][functional]") {
  set_seed(4);
  auto a = Input({8}, {.name = "a"});
  auto b = Input({4}, {.name = "b"});
  auto h = Concatenate()({Dense(16, "relu")(a), Dense(16, "relu")(b)});
  auto cls = Dense(3, "", {.name = "cls"})(h);
  auto reg = Dense(1, "", {.name = "reg"})(h);
  Model model({a, b}, {cls, reg});
  REQUIRE(model.layers().size() == 5);

  // Class = argmax of the first 3 features of a; target = sum of b.
  const int64_t n = 256;
  auto xa = Tensor::normal({n, 8}, 0, 1, 1), xb = Tensor::normal({n, 4}, 0, 1, 2);
  auto yc = Tensor::zeros({n}, DType::int32);
  auto yr = Tensor::zeros({n, 1});
  for (int64_t i = 0; i < n; ++i) {
    const float* r = xa.data<float>() + i * 8;
    yc.data<int32_t>()[i] = r[0] > r[1] ? (r[0] > r[2] ? 0 : 2) : (r[1] > r[2] ? 1 : 2);
    const float* s = xb.data<float>() + i * 4;
    yr.data<float>()[i] = s[0] + s[1] + s[2] + s[3];
  }
  model.compile("adam",
                {losses::SparseCategoricalCrossentropy({.from_logits = true}), LossRef("mse")},
                {"accuracy"}, {.loss_weights = {1.f, 0.5f}});
  auto& h1 = model.fit({xa, xb}, {yc, yr}, {.batch_size = 32, .epochs = 30, .verbose = 0});
  const auto& loss = h1.history.at("loss");
  CHECK(loss.back() < 0.3 * loss.front());
  CHECK(h1.history.count("cls_loss") == 1);
  CHECK(h1.history.count("reg_loss") == 1);
  CHECK(h1.history.count("cls_accuracy") == 1);
  CHECK(h1.last("cls_accuracy") > 0.7);  // chance is 1/3
  // The total is the weighted sum of the output losses.
  CHECK(h1.last("loss") == Approx(h1.last("cls_loss") + 0.5 * h1.last("reg_loss")).epsilon(1e-4));

  TensorList out = model.predict({xa, xb}, {.batch_size = 100});
  REQUIRE(out.size() == 2);
  CHECK(out[0].shape() == Shape{n, 3});
  CHECK(out[1].shape() == Shape{n, 1});
}

namespace {
/// d(loss)/d(w[i]) by central differences of test_on_batch's loss.
double numeric_grad(Model& model, Variable& w, int64_t i, const TensorList& x,
                    const TensorList& y) {
  float* p = w.value.data<float>();
  const float saved = p[i];
  const float eps = 1e-2f;
  p[i] = saved + eps;
  double plus = model.test_on_batch(x, y)["loss"];
  p[i] = saved - eps;
  double minus = model.test_on_batch(x, y)["loss"];
  p[i] = saved;
  return (plus - minus) / (2 * eps);
}
}  // namespace

TEST_CASE("a shared layer accumulates the gradients of all its calls", "[model][functional]") {
  set_seed(9);
  auto x1 = Input({5}), x2 = Input({5});
  auto shared_dense = shared(Dense(3, "tanh"));
  auto y = Add()({shared_dense(x1), shared_dense(x2)});
  Model model({x1, x2}, Dense(2)(y));
  REQUIRE(shared_dense->call_count() == 2);
  model.compile("sgd", "mse");
  auto a = Tensor::normal({6, 5}, 0, 1, 3), b = Tensor::normal({6, 5}, 0, 1, 4);
  auto t = Tensor::normal({6, 2}, 0, 1, 5);
  model.compute_gradients({a, b}, t);
  Variable& k = *shared_dense->kernel();
  std::vector<float> analytic = k.grad.to_vector();
  for (int64_t i = 0; i < k.value.size(); ++i)
    CHECK(analytic[static_cast<size_t>(i)] ==
          Approx(numeric_grad(model, k, i, {a, b}, t)).margin(2e-3).epsilon(2e-2));
}

TEST_CASE("a model nests as a layer and its weights train", "[model][functional]") {
  set_seed(10);
  Sequential encoder({Input({6}), Dense(4, "relu"), Dense(3)}, "encoder");
  auto in = Input({6});
  auto enc = std::make_shared<Sequential>(std::move(encoder));
  auto out = Dense(1)((*enc)(in));
  Model model(in, out);
  CHECK(model.count_params() == (6 * 4 + 4) + (4 * 3 + 3) + (3 + 1));
  model.compile("sgd", "mse");
  auto x = Tensor::normal({8, 6}, 0, 1, 1);
  auto t = Tensor::normal({8, 1}, 0, 1, 2);
  model.compute_gradients(x, t);
  auto inner = std::dynamic_pointer_cast<Dense>(enc->layers()[0]);
  Variable& k = *inner->kernel();
  for (int64_t i : {0, 5, 11, 23})
    CHECK(k.grad.flat(i) == Approx(numeric_grad(model, k, i, x, t)).margin(2e-3).epsilon(2e-2));
}

TEST_CASE("summary() shows Keras' parameter counts", "[model][summary]") {
  clear_session();
  Sequential model({Input({784}), Dense(512, "relu"), Dense(512, "relu"), Dense(10)});
  // Keras: Dense params = in*units + units.
  CHECK(model.count_params() == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10);
  const std::string s = model.summary_string();
  CHECK_THAT(s, Catch::Contains("Model: \"sequential\""));
  CHECK_THAT(s, Catch::Contains("dense (Dense)"));
  CHECK_THAT(s, Catch::Contains("(None, 512)"));
  CHECK_THAT(s, Catch::Contains("401,920"));
  CHECK_THAT(s, Catch::Contains("262,656"));
  CHECK_THAT(s, Catch::Contains("5,130"));
  CHECK_THAT(s, Catch::Contains("Total params: 669,706 (2.55 MB)"));
  CHECK_THAT(s, Catch::Contains("Trainable params: 669,706 (2.55 MB)"));
  CHECK_THAT(s, Catch::Contains("Non-trainable params: 0 (0.00 B)"));

  auto a = Input({32}, {.name = "left"});
  auto b = Input({16}, {.name = "right"});
  auto c = Concatenate()({Dense(8)(a), b});
  Model m({a, b}, Dense(1)(c), "two_towers");
  const std::string f = m.summary_string();
  CHECK_THAT(f, Catch::Contains("Connected to"));
  CHECK_THAT(f, Catch::Contains("left[0][0]"));
  CHECK(m.count_params() == (32 * 8 + 8) + (24 + 1));
  CHECK_THAT(f, Catch::Contains("Total params: 289 (1.13 KB)"));
}
