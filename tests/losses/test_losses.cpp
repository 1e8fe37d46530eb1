// Losses: hand-computed values (most from the examples in Keras' own docstrings), central-
// difference checks of every gradient, and the exact text of the errors a user sees.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "fitrun/error.hpp"
#include "fitrun/losses/loss.hpp"

using namespace fitrun;
using namespace fitrun::losses;
using Catch::Matchers::Message;

namespace {

Tensor floats(std::vector<float> v, Shape s) { return Tensor::from_vector(v, s); }
Tensor ints(std::vector<int32_t> v, Shape s) { return Tensor::from_vector(v, s); }

// Compares `loss`'s gradient with central differences of compute() at every element of y_pred.
// The step is taken in float32, so the quotient uses the step actually representable.
void check_gradient(const Loss& loss, const Tensor& y_true, const Tensor& y_pred_in,
                    const Tensor* sample_weight = nullptr, float scale = 1.f) {
  Tensor y_pred = y_pred_in.clone();
  Tensor grad = Tensor::zeros(y_pred.shape());
  loss.compute(y_true, y_pred, &grad, scale, sample_weight);
  float* p = y_pred.data<float>();
  for (int64_t k = 0; k < y_pred.size(); ++k) {
    const float original = p[k];
    const float h = 1e-3f * std::max(1.f, std::abs(original));
    p[k] = original + h;
    const double up = p[k];
    const double l_up = loss.compute(y_true, y_pred, nullptr, 1.f, sample_weight);
    p[k] = original - h;
    const double down = p[k];
    const double l_down = loss.compute(y_true, y_pred, nullptr, 1.f, sample_weight);
    p[k] = original;
    const double numeric = scale * (l_up - l_down) / (up - down);
    INFO(loss.name() << " element " << k << " of " << y_pred.shape().to_string());
    CHECK(grad.flat(k) == Approx(numeric).epsilon(5e-3).margin(2e-4));
  }
}

Tensor uniform(Shape s, float low, float high, int64_t seed) {
  return Tensor::uniform(s, low, high, seed);
}

// Random errors kept away from the kinks of MAE (0) and Huber (±delta).
Tensor away_from(const Tensor& y_true, std::initializer_list<float> kinks, int64_t seed) {
  Tensor y_pred = y_true.clone();
  Tensor noise = uniform(y_true.shape(), -2.f, 2.f, seed);
  for (int64_t k = 0; k < y_pred.size(); ++k) {
    float e = noise.data<float>()[k];
    for (float kink : kinks)
      if (std::abs(std::abs(e) - kink) < 0.05f) e += 0.1f;
    y_pred.data<float>()[k] += e;
  }
  return y_pred;
}

const Tensor kProbs = floats({0.05f, 0.95f, 0.f, 0.1f, 0.8f, 0.1f}, {2, 3});

}  // namespace

// ---------------------------------------------------------------------------- values

TEST_CASE("sparse_categorical_crossentropy on probabilities", "[losses]") {
  SparseCategoricalCrossentropy loss;
  const Tensor labels = ints({1, 2}, {2});
  const double l0 = -std::log(0.95), l1 = -std::log(0.1);
  CHECK(loss.compute(labels, kProbs, nullptr) == Approx((l0 + l1) / 2));  // Keras: 1.177
  const Tensor w = Tensor::of({0.3f, 0.7f});
  CHECK(loss.compute(labels, kProbs, nullptr, 1.f, &w) ==
        Approx((0.3 * l0 + 0.7 * l1) / 2));  // Keras: 0.814
  CHECK(SparseCategoricalCrossentropy({.reduction = Reduction::sum}).compute(labels, kProbs,
                                                                             nullptr) ==
        Approx(l0 + l1));
  // (N, 1) labels and float labels holding integers mean the same.
  CHECK(loss.compute(ints({1, 2}, {2, 1}), kProbs, nullptr) == Approx((l0 + l1) / 2));
  CHECK(loss.compute(floats({1.f, 2.f}, {2}), kProbs, nullptr) == Approx((l0 + l1) / 2));
}

TEST_CASE("sparse_categorical_crossentropy normalises rows and clips", "[losses]") {
  SparseCategoricalCrossentropy loss;
  // A row summing to 2 is read as probabilities (0.25, 0.5, 0.25).
  CHECK(loss.compute(ints({1}, {1}), floats({0.5f, 1.f, 0.5f}, {1, 3}), nullptr) ==
        Approx(-std::log(0.5)));
  // A certain, correct prediction is clipped at 1 - 1e-7: a tiny loss and a zero gradient.
  Tensor grad = Tensor::full({1, 3}, 9.0);
  const double l = loss.compute(ints({1}, {1}), floats({0.f, 1.f, 0.f}, {1, 3}), &grad);
  CHECK(l == Approx(-std::log(1 - 1e-7)).margin(1e-9));
  CHECK(grad.to_vector() == std::vector<float>{0.f, 0.f, 0.f});
  // A certain, wrong one costs -log(1e-7).
  CHECK(loss.compute(ints({0}, {1}), floats({0.f, 1.f, 0.f}, {1, 3}), nullptr) ==
        Approx(-std::log(1e-7)));
}

TEST_CASE("sparse_categorical_crossentropy on logits", "[losses]") {
  SparseCategoricalCrossentropy loss({.from_logits = true});
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  const Tensor logits = floats({1, 2, 3, 1, 2, 3}, {2, 3});
  CHECK(loss.compute(ints({0, 2}, {2}), logits, nullptr) == Approx((lse - 1 + lse - 3) / 2));
  // Huge logits stay finite (log-softmax, not log(softmax)).
  const Tensor big = floats({1000.f, 0.f, -1000.f}, {1, 3});
  CHECK(loss.compute(ints({0}, {1}), big, nullptr) == Approx(0.0).margin(1e-12));
  CHECK(loss.compute(ints({2}, {1}), big, nullptr) == Approx(2000.0));
}

TEST_CASE("sparse_categorical_crossentropy on sequences averages over timesteps", "[losses]") {
  // (N=1, T=2, C=2) predictions, (1, 2) labels: Keras divides the sum by N * T.
  SparseCategoricalCrossentropy loss;
  const Tensor y_pred = floats({0.25f, 0.75f, 0.6f, 0.4f}, {1, 2, 2});
  CHECK(loss.compute(ints({1, 1}, {1, 2}), y_pred, nullptr) ==
        Approx((-std::log(0.75) - std::log(0.4)) / 2));
  check_gradient(loss, ints({1, 0, 0, 1, 1, 0}, {2, 3}), uniform({2, 3, 4}, 0.1f, 1.f, 7));
}

TEST_CASE("categorical_crossentropy on probabilities, with label smoothing", "[losses]") {
  const Tensor onehot = floats({0, 1, 0, 0, 0, 1}, {2, 3});
  const double l0 = -std::log(0.95), l1 = -std::log(0.1);
  CategoricalCrossentropy loss;
  CHECK(loss.compute(onehot, kProbs, nullptr) == Approx((l0 + l1) / 2));  // Keras: 1.177
  const Tensor w = Tensor::of({0.3f, 0.7f});
  CHECK(loss.compute(onehot, kProbs, nullptr, 1.f, &w) == Approx((0.3 * l0 + 0.7 * l1) / 2));

  // Smoothed targets t * 0.9 + 0.1 / 3; the 0 probability is clipped to 1e-7.
  CategoricalCrossentropy smooth({.label_smoothing = 0.1f});
  const double lo = 0.1 / 3, hi = 0.9 + 0.1 / 3;
  const double s0 = -(lo * std::log(0.05) + hi * std::log(0.95) + lo * std::log(1e-7));
  const double s1 = -(lo * std::log(0.1) + lo * std::log(0.8) + hi * std::log(0.1));
  CHECK(smooth.compute(onehot, kProbs, nullptr) == Approx((s0 + s1) / 2));
}

TEST_CASE("categorical_crossentropy on logits", "[losses]") {
  const Tensor logits = floats({1, 2, 3}, {1, 3});
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  CategoricalCrossentropy loss({.from_logits = true});
  CHECK(loss.compute(floats({0, 0, 1}, {1, 3}), logits, nullptr) == Approx(lse - 3));
  // Soft targets: -Σ t log_softmax.
  CHECK(loss.compute(floats({0.5f, 0, 0.5f}, {1, 3}), logits, nullptr) ==
        Approx(0.5 * (lse - 1) + 0.5 * (lse - 3)));
  CategoricalCrossentropy smooth({.from_logits = true, .label_smoothing = 0.3f});
  CHECK(smooth.compute(floats({0, 0, 1}, {1, 3}), logits, nullptr) ==
        Approx(0.1 * (lse - 1) + 0.1 * (lse - 2) + 0.8 * (lse - 3)));
}

TEST_CASE("binary_crossentropy", "[losses]") {
  const Tensor y_true = floats({0, 1, 0, 0}, {2, 2});
  // Keras' docstring examples.
  const Tensor logits = floats({-18.6f, 0.51f, 2.94f, -12.8f}, {2, 2});
  BinaryCrossentropy from_logits({.from_logits = true});
  CHECK(from_logits.compute(y_true, logits, nullptr) == Approx(0.865458).epsilon(1e-5));
  const Tensor w = Tensor::of({1.f, 0.f});
  // Σ w_i l_i / N: only sample 0 counts, still divided by 2.
  const double row0_logits = (std::log1p(std::exp(-18.6)) + std::log1p(std::exp(-0.51))) / 2;
  CHECK(from_logits.compute(y_true, logits, nullptr, 1.f, &w) == Approx(row0_logits / 2));

  const Tensor probs = floats({0.6f, 0.4f, 0.4f, 0.6f}, {2, 2});
  BinaryCrossentropy loss;
  const double row0 = -std::log(0.4), row1 = (-std::log(0.6) - std::log(0.4)) / 2;
  CHECK(loss.compute(y_true, probs, nullptr) == Approx((row0 + row1) / 2));  // Keras: 0.815
  // Integer 0/1 labels are accepted as they are in Keras.
  CHECK(loss.compute(ints({0, 1, 0, 0}, {2, 2}), probs, nullptr) == Approx((row0 + row1) / 2));

  // Smoothing pulls targets towards 0.5: t * 0.8 + 0.1.
  BinaryCrossentropy smooth({.label_smoothing = 0.2f});
  auto bce = [](double t, double p) { return -(t * std::log(p) + (1 - t) * std::log(1 - p)); };
  const double expected =
      (bce(0.1, 0.6) + bce(0.9, 0.4) + bce(0.1, 0.4) + bce(0.1, 0.6)) / 4;
  CHECK(smooth.compute(y_true, probs, nullptr) == Approx(expected));
  // Extreme logits stay finite.
  CHECK(from_logits.compute(floats({1}, {1, 1}), floats({-200.f}, {1, 1}), nullptr) ==
        Approx(200.0));
}

TEST_CASE("mean_squared_error, mean_absolute_error and huber", "[losses]") {
  const Tensor y_true = floats({0, 1, 0, 0}, {2, 2});
  const Tensor y_pred = floats({1, 1, 1, 0}, {2, 2});
  CHECK(MeanSquaredError().compute(y_true, y_pred, nullptr) == Approx(0.5));  // Keras: 0.5
  CHECK(MeanAbsoluteError().compute(y_true, y_pred, nullptr) == Approx(0.5));
  CHECK(MeanSquaredError(Reduction::sum).compute(y_true, y_pred, nullptr) == Approx(1.0));
  const Tensor w = Tensor::of({0.7f, 0.3f});
  CHECK(MeanSquaredError().compute(y_true, y_pred, nullptr, 1.f, &w) ==
        Approx((0.7 * 0.5 + 0.3 * 0.5) / 2));

  // Keras' Huber example: errors 0.6, 0.6, 0.4, 0.6 are all within delta = 1.
  const Tensor probs = floats({0.6f, 0.4f, 0.4f, 0.6f}, {2, 2});
  CHECK(Huber().compute(y_true, probs, nullptr) == Approx(0.155));
  // Beyond delta the loss is linear: delta * (|e| - delta / 2).
  CHECK(Huber(1.f).compute(floats({0}, {1, 1}), floats({-3}, {1, 1}), nullptr) == Approx(2.5));
  CHECK(Huber(2.f).compute(floats({0}, {1, 1}), floats({3}, {1, 1}), nullptr) == Approx(4.0));
  // (N,) labels fit (N, 1) predictions.
  CHECK(MeanSquaredError().compute(Tensor::of({1, 2}), floats({2, 4}, {2, 1}), nullptr) ==
        Approx(2.5));
}

TEST_CASE("sum reduction sums per-timestep losses as Keras does", "[losses]") {
  // (N=1, T=2, C=2): per-timestep means 1 and 0.5.
  const Tensor y_true = Tensor::zeros({1, 2, 2});
  const Tensor y_pred = floats({1, 1, 1, 0}, {1, 2, 2});
  CHECK(MeanSquaredError(Reduction::sum).compute(y_true, y_pred, nullptr) == Approx(1.5));
  CHECK(MeanSquaredError().compute(y_true, y_pred, nullptr) == Approx(0.75));
  // Reduction none returns the same scalar as sum_over_batch_size.
  CHECK(MeanSquaredError(Reduction::none).compute(y_true, y_pred, nullptr) == Approx(0.75));
}

// ---------------------------------------------------------------------------- gradients

TEST_CASE("crossentropy gradients match central differences", "[losses][gradients]") {
  const Tensor labels = ints({0, 3, 1, 2, 3}, {5});
  const Tensor onehot = floats({1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1},
                               {5, 4});
  const Tensor logits = uniform({5, 4}, -3.f, 3.f, 11);
  // Unnormalised positive rows exercise the 1/Σp term of the normalisation.
  const Tensor probs = uniform({5, 4}, 0.05f, 0.95f, 12);
  const Tensor w = Tensor::of({0.5f, 2.f, 0.f, 1.f, 1.5f});

  for (bool logit : {false, true}) {
    const Tensor& y_pred = logit ? logits : probs;
    SECTION(logit ? "from logits" : "from probabilities") {
      check_gradient(SparseCategoricalCrossentropy({.from_logits = logit}), labels, y_pred);
      check_gradient(SparseCategoricalCrossentropy({.from_logits = logit}), labels, y_pred, &w,
                     0.5f);
      check_gradient(
          SparseCategoricalCrossentropy({.from_logits = logit, .reduction = Reduction::sum}),
          labels, y_pred);
      check_gradient(CategoricalCrossentropy({.from_logits = logit}), onehot, y_pred);
      check_gradient(CategoricalCrossentropy({.from_logits = logit, .label_smoothing = 0.2f}),
                     onehot, y_pred, &w, 3.f);
      const Tensor bin_labels = uniform({5, 4}, 0.f, 1.f, 13);  // soft targets
      const Tensor bin_pred = logit ? logits : probs;
      check_gradient(BinaryCrossentropy({.from_logits = logit}), bin_labels, bin_pred);
      check_gradient(BinaryCrossentropy({.from_logits = logit, .label_smoothing = 0.1f}),
                     bin_labels, bin_pred, &w);
    }
  }
}

TEST_CASE("regression gradients match central differences", "[losses][gradients]") {
  const Tensor y_true = uniform({4, 3, 2}, -1.f, 1.f, 21);
  const Tensor w = Tensor::of({1.f, 0.25f, 3.f, 0.f});
  const Tensor y_pred = away_from(y_true, {0.f, 0.7f, 1.f}, 22);
  check_gradient(MeanSquaredError(), y_true, y_pred);
  check_gradient(MeanSquaredError(Reduction::sum), y_true, y_pred, &w, 2.f);
  check_gradient(MeanAbsoluteError(), y_true, y_pred);
  check_gradient(MeanAbsoluteError(Reduction::sum), y_true, y_pred, &w);
  check_gradient(Huber(), y_true, y_pred);
  check_gradient(Huber(0.7f), y_true, y_pred, &w, 0.5f);
}

TEST_CASE("large batches take the parallel path with the same result", "[losses]") {
  // 256 x 200 crosses the threshold for OpenMP; compare with a serial double reference.
  const Tensor logits = uniform({256, 200}, -4.f, 4.f, 31);
  std::vector<int32_t> y(256);
  for (int i = 0; i < 256; ++i) y[static_cast<size_t>(i)] = (i * 37) % 200;
  const Tensor labels = ints(y, {256});
  double reference = 0;
  for (int i = 0; i < 256; ++i) {
    const float* z = logits.data<float>() + i * 200;
    double s = 0;
    for (int j = 0; j < 200; ++j) s += std::exp(static_cast<double>(z[j]));
    reference += std::log(s) - z[y[static_cast<size_t>(i)]];
  }
  SparseCategoricalCrossentropy loss({.from_logits = true});
  Tensor grad = Tensor::zeros({256, 200});
  const double first = loss.compute(labels, logits, &grad);
  CHECK(first == Approx(reference / 256).epsilon(1e-6));
  CHECK(loss.compute(labels, logits, &grad) == first);  // bit-identical, deterministic
}

TEST_CASE("compute allocates nothing in steady state", "[losses]") {
  const Tensor y_pred = uniform({8, 4}, 0.1f, 0.9f, 41);
  Tensor grad = Tensor::zeros({8, 4});
  const Tensor int_targets = ints(std::vector<int32_t>(32, 1), {8, 4});
  BinaryCrossentropy loss;
  loss.compute(int_targets, y_pred, &grad);  // warms the per-thread buffers
  const int64_t before = debug::storage_allocations();
  for (int i = 0; i < 3; ++i) loss.compute(int_targets, y_pred, &grad);
  Tensor small_grad = grad.slice(0, 4);  // a smaller last batch
  loss.compute(int_targets.slice(0, 4), y_pred.slice(0, 4), &small_grad);
  CHECK(debug::storage_allocations() == before);
}

// ---------------------------------------------------------------------------- errors

TEST_CASE("Loss::get resolves Keras names and lists the known ones", "[losses]") {
  CHECK(Loss::get("sparse_categorical_crossentropy")->class_name() ==
        "SparseCategoricalCrossentropy");
  CHECK(Loss::get("CategoricalCrossentropy")->class_name() == "CategoricalCrossentropy");
  CHECK(Loss::get("binary_crossentropy")->class_name() == "BinaryCrossentropy");
  for (const char* n : {"mse", "mean_squared_error", "MeanSquaredError"})
    CHECK(Loss::get(n)->class_name() == "MeanSquaredError");
  for (const char* n : {"mae", "mean_absolute_error", "MeanAbsoluteError"})
    CHECK(Loss::get(n)->class_name() == "MeanAbsoluteError");
  for (const char* n : {"huber", "huber_loss", "Huber"}) CHECK(Loss::get(n)->class_name() == "Huber");
  CHECK(Loss::get("mse")->name() == "mean_squared_error");
  CHECK(Loss::get("mse") != Loss::get("mse"));  // a fresh object each time
  LossRef ref = "mae";
  CHECK(ref->name() == "mean_absolute_error");

  CHECK_THROWS_MATCHES(
      Loss::get("mean_square_error"), ConfigError,
      Message("unknown loss \"mean_square_error\"; known losses: sparse_categorical_crossentropy, "
              "categorical_crossentropy, binary_crossentropy, mean_squared_error, mse, "
              "mean_absolute_error, mae, huber, huber_loss, SparseCategoricalCrossentropy, "
              "CategoricalCrossentropy, BinaryCrossentropy, MeanSquaredError, "
              "MeanAbsoluteError, Huber"));
}

TEST_CASE("labels out of range name the loss, the label and the sample", "[losses]") {
  SparseCategoricalCrossentropy loss;
  CHECK_THROWS_MATCHES(loss.compute(ints({1, 3}, {2}), kProbs, nullptr), Error,
                       Message("sparse_categorical_crossentropy: label 3 of sample 1 is out of "
                               "range [0, 3)"));
  CHECK_THROWS_MATCHES(loss.compute(ints({-1, 0}, {2}), kProbs, nullptr), Error,
                       Message("sparse_categorical_crossentropy: label -1 of sample 0 is out of "
                               "range [0, 3)"));
  CHECK_THROWS_MATCHES(loss.compute(floats({0.f, 1.5f}, {2}), kProbs, nullptr), Error,
                       Message("sparse_categorical_crossentropy: label 1.5 of sample 1 is not an "
                               "integer class index"));
}

TEST_CASE("shape mismatches name the loss and both shapes", "[losses]") {
  SparseCategoricalCrossentropy sparse;
  CHECK_THROWS_MATCHES(sparse.check_shapes(Shape{3}, Shape{10}), ShapeError,
                       Message("sparse_categorical_crossentropy: labels of shape (3,) do not fit "
                               "predictions of shape (10,); expected labels of shape () or (1,)"));
  CHECK_NOTHROW(sparse.check_shapes(Shape{}, Shape{10}));
  CHECK_NOTHROW(sparse.check_shapes(Shape{1}, Shape{10}));
  CHECK_NOTHROW(sparse.check_shapes(Shape{5}, Shape{5, 10}));
  CHECK_THROWS_MATCHES(sparse.compute(ints({0, 1, 2, 0, 1, 2}, {2, 3}), Tensor::zeros({2, 10}),
                                      nullptr),
                       ShapeError,
                       Message("sparse_categorical_crossentropy: labels of shape (3,) do not fit "
                               "predictions of shape (10,); expected labels of shape () or (1,)"));

  CHECK_THROWS_MATCHES(MeanSquaredError().check_shapes(Shape{3}, Shape{4}), ShapeError,
                       Message("mean_squared_error: labels of shape (3,) do not fit predictions "
                               "of shape (4,); expected labels of shape (4,)"));
  CHECK_NOTHROW(MeanSquaredError().check_shapes(Shape{}, Shape{1}));
  CHECK_THROWS_MATCHES(CategoricalCrossentropy().check_shapes(Shape{1}, Shape{10}), ShapeError,
                       Message("categorical_crossentropy: labels of shape (1,) do not fit "
                               "predictions of shape (10,); expected labels of shape (10,) "
                               "(one-hot); for integer class labels use "
                               "sparse_categorical_crossentropy"));
  CHECK_THROWS_MATCHES(MeanSquaredError().compute(Tensor::zeros({3, 1}), Tensor::zeros({4, 1}),
                                                  nullptr),
                       ShapeError,
                       Message("mean_squared_error: labels of shape (3, 1) and predictions of "
                               "shape (4, 1) differ in their number of samples"));
  const Tensor w = Tensor::of({1.f, 1.f, 1.f});
  CHECK_THROWS_MATCHES(MeanSquaredError().compute(Tensor::zeros({2, 1}), Tensor::zeros({2, 1}),
                                                  nullptr, 1.f, &w),
                       ShapeError,
                       Message("mean_squared_error: sample_weight of shape (3,) needs one weight "
                               "per sample (2)"));
  CHECK_THROWS_AS(SparseCategoricalCrossentropy({.label_smoothing = 0.1f}), ConfigError);
  CHECK_THROWS_AS(CategoricalCrossentropy({.label_smoothing = 1.5f}), ConfigError);
}

TEST_CASE("get_config matches Keras' keys", "[losses]") {
  CHECK(SparseCategoricalCrossentropy({.from_logits = true}).get_config() ==
        json{{"name", "sparse_categorical_crossentropy"},
             {"reduction", "sum_over_batch_size"},
             {"from_logits", true},
             {"ignore_class", nullptr}});
  CHECK(CategoricalCrossentropy({.label_smoothing = 0.5f}).get_config() ==
        json{{"name", "categorical_crossentropy"},
             {"reduction", "sum_over_batch_size"},
             {"from_logits", false},
             {"label_smoothing", 0.5},
             {"axis", -1}});
  CHECK(MeanSquaredError(Reduction::sum).get_config() ==
        json{{"name", "mean_squared_error"}, {"reduction", "sum"}});
  CHECK(Huber(2.f).get_config() ==
        json{{"name", "huber_loss"}, {"reduction", "sum_over_batch_size"}, {"delta", 2.0}});
}

TEST_CASE("losses name their device formula and check host labels for it", "[losses]") {
  const RowSpec ce = CategoricalCrossentropy({.from_logits = true, .label_smoothing = 0.1f})
                         .row_spec();
  CHECK(ce.kind == RowSpec::Kind::categorical_crossentropy);
  CHECK(ce.from_logits);
  CHECK(ce.label_smoothing == 0.1f);
  CHECK(ce.per_position());
  CHECK(Huber(0.5f).row_spec().delta == 0.5f);
  CHECK_FALSE(MeanSquaredError().row_spec().per_position());
  CHECK(BinaryCrossentropy().has_device_path());
  // Sparse labels are range-checked on the host before a model copies them to a GPU.
  SparseCategoricalCrossentropy sparse;
  const Tensor p = Tensor::full({2, 3}, 1.0 / 3);
  CHECK_NOTHROW(sparse.check_label_values(ints({0, 2}, {2}), p));
  CHECK_THROWS_WITH(sparse.check_label_values(ints({0, 3}, {2}), p),
                    Catch::Contains("label 3 of sample 1 is out of range [0, 3)"));
  // The device path takes device tensors only.
  Tensor result = Tensor::zeros({1}, DType::int64);
  CHECK_THROWS_WITH(
      sparse.compute_on_device(ints({0, 2}, {2}), p, nullptr, 1.f, nullptr, result, 0),
      Catch::Contains("runs on a CUDA device only"));
}
