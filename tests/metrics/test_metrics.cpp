// Metrics: values on small hand-made batches (several from Keras' docstrings), accumulation
// over batches, reset, the name registry and Keras' choice of "accuracy".
#include <catch2/catch.hpp>

#include "fitrun/error.hpp"
#include "fitrun/metrics/metric.hpp"

using namespace fitrun;
using namespace fitrun::metrics;
using Catch::Matchers::Message;

namespace {
Tensor floats(std::vector<float> v, Shape s) { return Tensor::from_vector(v, s); }
Tensor ints(std::vector<int32_t> v, Shape s) { return Tensor::from_vector(v, s); }
}  // namespace

TEST_CASE("sparse_categorical_accuracy accumulates over batches and resets", "[metrics]") {
  SparseCategoricalAccuracy m;
  CHECK(m.result() == 0.0);
  m.update_state(ints({1, 1, 2}, {3}), floats({0.1f, 0.6f, 0.3f,  // argmax 1: hit
                                              0.5f, 0.2f, 0.3f,  // argmax 0: miss
                                              0.2f, 0.2f, 0.6f},  // argmax 2: hit
                                             {3, 3}));
  CHECK(m.result() == Approx(2.0 / 3));
  // Float labels, (N, 1) labels; a tie goes to the first index as argmax does.
  m.update_state(floats({0.f}, {1, 1}), floats({0.5f, 0.5f, 0.f}, {1, 3}));
  CHECK(m.result() == Approx(3.0 / 4));
  m.update_state(ints({1}, {1}), floats({0.5f, 0.5f, 0.f}, {1, 3}));
  CHECK(m.result() == Approx(3.0 / 5));
  m.reset_state();
  CHECK(m.result() == 0.0);
  m.update_state(ints({2}, {1}), floats({0.f, 0.f, 1.f}, {1, 3}));
  CHECK(m.result() == 1.0);
}

TEST_CASE("sparse_categorical_accuracy counts every timestep of a sequence", "[metrics]") {
  SparseCategoricalAccuracy m;
  m.update_state(ints({1, 0}, {1, 2}), floats({0.1f, 0.9f, 0.2f, 0.8f}, {1, 2, 2}));
  CHECK(m.result() == Approx(0.5));
  m.update_state(ints({1}, {1}), floats({0.1f, 0.9f}, {1, 2}));
  CHECK(m.result() == Approx(2.0 / 3));
}

TEST_CASE("categorical_accuracy compares the argmax of labels and predictions", "[metrics]") {
  CategoricalAccuracy m;
  m.update_state(floats({0, 0, 1, 0, 1, 0}, {2, 3}),
                 floats({0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0.f}, {2, 3}));
  CHECK(m.result() == Approx(0.5));  // Keras' docstring
  m.update_state(floats({1, 0, 0}, {1, 3}), floats({0.7f, 0.2f, 0.1f}, {1, 3}));
  CHECK(m.result() == Approx(2.0 / 3));
}

TEST_CASE("binary_accuracy thresholds predictions", "[metrics]") {
  const Tensor y_true = floats({1, 1, 0, 0}, {4, 1});
  const Tensor y_pred = floats({0.98f, 1.f, 0.f, 0.6f}, {4, 1});
  BinaryAccuracy m;
  m.update_state(y_true, y_pred);
  CHECK(m.result() == Approx(0.75));  // Keras' docstring
  BinaryAccuracy strict("binary_accuracy", 0.7f);
  strict.update_state(y_true, y_pred);
  CHECK(strict.result() == 1.0);
  // Two outputs per sample: per-sample means 1 and 0.5, then one more sample at 0.
  BinaryAccuracy two;
  two.update_state(ints({1, 0, 0, 0}, {2, 2}), floats({0.6f, 0.2f, 0.7f, 0.1f}, {2, 2}));
  CHECK(two.result() == Approx(0.75));
  two.update_state(floats({1, 1}, {1, 2}), floats({0.5f, 0.f}, {1, 2}));  // 0.5 is not > 0.5
  CHECK(two.result() == Approx(1.5 / 3));
}

TEST_CASE("mean_absolute_error and mean_squared_error metrics", "[metrics]") {
  MeanAbsoluteError mae;
  MeanSquaredError mse;
  for (Metric* m : std::initializer_list<Metric*>{&mae, &mse})
    m->update_state(floats({0, 1, 0, 0}, {2, 2}), floats({1, 1, 1, 0}, {2, 2}));
  CHECK(mae.result() == Approx(0.5));  // Keras' docstrings
  CHECK(mse.result() == Approx(0.5));
  // Weighted by sample count: one sample with errors (2, 0).
  for (Metric* m : std::initializer_list<Metric*>{&mae, &mse})
    m->update_state(floats({0, 0}, {1, 2}), floats({2, 0}, {1, 2}));
  CHECK(mae.result() == Approx((0.5 * 2 + 1) / 3));
  CHECK(mse.result() == Approx((0.5 * 2 + 2) / 3));
  mae.reset_state();
  CHECK(mae.result() == 0.0);
}

TEST_CASE("sparse_top_k_categorical_accuracy", "[metrics]") {
  const Tensor labels = ints({2, 1}, {2});
  const Tensor y_pred = floats({0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0.f}, {2, 3});
  SparseTopKCategoricalAccuracy top1(1);
  top1.update_state(labels, y_pred);
  CHECK(top1.result() == Approx(0.5));  // Keras' docstring
  SparseTopKCategoricalAccuracy top2(2);
  top2.update_state(labels, y_pred);
  CHECK(top2.result() == 1.0);
  // Ties at the boundary count as in the top k (TensorFlow's in_top_k).
  SparseTopKCategoricalAccuracy tie(1);
  tie.update_state(ints({2}, {1}), floats({0.5f, 0.5f, 0.5f}, {1, 3}));
  CHECK(tie.result() == 1.0);
  CHECK(top1.name() == "sparse_top_k_categorical_accuracy");
}

TEST_CASE("Metric::get resolves Keras names and keeps the identifier as the log key",
          "[metrics]") {
  CHECK(Metric::get("mae")->class_name() == "MeanAbsoluteError");
  CHECK(Metric::get("mae")->name() == "mae");
  CHECK(Metric::get("mean_absolute_error")->name() == "mean_absolute_error");
  CHECK(Metric::get("MeanAbsoluteError")->name() == "mean_absolute_error");
  CHECK(Metric::get("mse")->class_name() == "MeanSquaredError");
  CHECK(Metric::get("sparse_categorical_accuracy")->class_name() == "SparseCategoricalAccuracy");
  CHECK(Metric::get("categorical_accuracy")->class_name() == "CategoricalAccuracy");
  CHECK(Metric::get("binary_accuracy")->class_name() == "BinaryAccuracy");
  CHECK(Metric::get("sparse_top_k_categorical_accuracy")->class_name() ==
        "SparseTopKCategoricalAccuracy");
  CHECK(Metric::get("top_k")->class_name() == "SparseTopKCategoricalAccuracy");
  CHECK(Metric::get("accuracy")->class_name() == "Accuracy");
  CHECK(Metric::get("acc")->name() == "acc");
  MetricRef ref = "mse";
  CHECK(ref->name() == "mse");

  CHECK_THROWS_MATCHES(
      Metric::get("accuracy_score"), ConfigError,
      Message("unknown metric \"accuracy_score\"; known metrics: accuracy, acc, "
              "sparse_categorical_accuracy, categorical_accuracy, binary_accuracy, "
              "mean_absolute_error, mae, mean_squared_error, mse, "
              "sparse_top_k_categorical_accuracy, top_k, SparseCategoricalAccuracy, "
              "CategoricalAccuracy, BinaryAccuracy, MeanAbsoluteError, MeanSquaredError, "
              "SparseTopKCategoricalAccuracy"));
}

TEST_CASE("accuracy must be resolved from the loss before use", "[metrics]") {
  auto acc = Metric::get("accuracy");
  CHECK_THROWS_MATCHES(acc->update_state(ints({0}, {1}), floats({1, 0}, {1, 2})), Error,
                       Message("metric \"accuracy\" has not been resolved: compile() turns "
                               "\"accuracy\" into binary, categorical or sparse categorical "
                               "accuracy from the loss (see resolve_accuracy)"));

  auto sparse = resolve_accuracy("SparseCategoricalCrossentropy", Shape{10}, "accuracy");
  CHECK(sparse->class_name() == "SparseCategoricalAccuracy");
  CHECK(sparse->name() == "accuracy");
  CHECK(resolve_accuracy("BinaryCrossentropy", Shape{3}, "acc")->class_name() ==
        "BinaryAccuracy");
  CHECK(resolve_accuracy("BinaryCrossentropy", Shape{3}, "acc")->name() == "acc");
  // A one-unit output means binary whatever the loss.
  CHECK(resolve_accuracy("MeanSquaredError", Shape{1}, "accuracy")->class_name() ==
        "BinaryAccuracy");
  CHECK(resolve_accuracy("SparseCategoricalCrossentropy", Shape{1}, "accuracy")->class_name() ==
        "BinaryAccuracy");
  CHECK(resolve_accuracy("CategoricalCrossentropy", Shape{10}, "accuracy")->class_name() ==
        "CategoricalAccuracy");
  CHECK(resolve_accuracy("sparse_categorical_crossentropy", Shape{4, 10}, "accuracy")
            ->class_name() == "SparseCategoricalAccuracy");
}

TEST_CASE("metric shape errors and independent clones", "[metrics]") {
  SparseCategoricalAccuracy m;
  CHECK_THROWS_MATCHES(m.update_state(ints({0, 1, 2}, {3}), Tensor::zeros({2, 3})), ShapeError,
                       Message("sparse_categorical_accuracy: labels of shape (3,) do not fit "
                               "predictions of shape (2, 3)"));
  CHECK_THROWS_MATCHES(m.update_state(ints({0, 1, 2, 0}, {2, 2}), Tensor::zeros({2, 3})),
                       ShapeError,
                       Message("sparse_categorical_accuracy: labels of shape (2, 2) do not fit "
                               "predictions of shape (2, 3); expected one class index per row "
                               "of 3 predictions"));
  CHECK_THROWS_MATCHES(MeanSquaredError().update_state(Tensor::zeros({2, 2}),
                                                       Tensor::zeros({2, 3})),
                       ShapeError,
                       Message("mean_squared_error: labels of shape (2, 2) do not fit "
                               "predictions of shape (2, 3); expected one label per prediction"));

  m.update_state(ints({1}, {1}), floats({0, 1}, {1, 2}));
  auto copy = m.clone();
  copy->reset_state();
  CHECK(m.result() == 1.0);
  CHECK(copy->result() == 0.0);
  CHECK(copy->name() == m.name());
}

TEST_CASE("metrics name their device formula; a subclass without one keeps its host update",
          "[metrics]") {
  CHECK(SparseCategoricalAccuracy().row_spec().kind == RowSpec::Kind::sparse_categorical_accuracy);
  const RowSpec binary = BinaryAccuracy("b", 0.3f).row_spec();
  CHECK(binary.kind == RowSpec::Kind::binary_accuracy);
  CHECK(binary.threshold == 0.3f);
  CHECK(SparseTopKCategoricalAccuracy(3).row_spec().k == 3);
  CHECK(Mean().row_spec().kind == RowSpec::Kind::none);
  // A user's subclass that opts out of the device path still takes sparse labels.
  struct HostOnly : SparseCategoricalAccuracy {
    RowSpec row_spec() const override { return {}; }
  } host_only;
  CHECK(host_only.row_spec().kind == RowSpec::Kind::none);
  host_only.update_state(ints({1, 0}, {2}), floats({0.2f, 0.8f, 0.9f, 0.1f}, {2, 2}));
  CHECK(host_only.result() == 1.0);
  // A clone starts from its own totals.
  const MetricPtr copy = host_only.clone();
  copy->reset_state();
  CHECK(copy->result() == 0.0);
  CHECK(host_only.result() == 1.0);
}
