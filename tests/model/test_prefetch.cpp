// The prefetching batch path of fit/evaluate/predict (model/prefetcher.hpp), which a model on a
// GPU takes: run here on the CPU (PrefetchPolicy::always), it must give bit for bit what the
// synchronous path gives, over shuffling, passes spanning epochs, resumed runs, last smaller
// batches, sample and class weights, several inputs and Datasets. And the Prefetcher itself:
// one batch queued at a time, staged into a plan with its labels, buffers reused.
#include <catch2/catch.hpp>

#include <functional>
#include <vector>

#include "fitrun/fitrun.hpp"
#include "model/graph.hpp"
#include "model/prefetch_helpers.hpp"
#include "model/prefetcher.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using detail::PrefetchPolicy;
using Catch::Matchers::Contains;

namespace {

using prefetch_test::check_same;
using prefetch_test::Data;
using prefetch_test::make_data;
using prefetch_test::Policy;

/// BackupAndRestore's way in: fit starts at `epoch`, skipping its first `batch` batches.
class ResumeAt : public callbacks::Callback {
 public:
  ResumeAt(int epoch, int64_t batch) : epoch_(epoch), batch_(batch) {}
  void on_train_begin(const Logs&) override { model()->resume_from = {epoch_, batch_}; }

 private:
  int epoch_;
  int64_t batch_;
};

}  // namespace

TEST_CASE("prefetched fit on arrays gives the synchronous path's weights bit for bit",
          "[model][prefetch]") {
  const Data d = make_data(50, 3);
  SECTION("shuffled, a smaller last batch, sample weights, validation split") {
    check_same(Device::cpu(), [&](Model& m) {
      m.fit(d.x, d.y, {.batch_size = 7, .epochs = 3, .verbose = 0, .validation_split = 0.2,
                       .sample_weight = d.w});
    });
  }
  SECTION("steps_per_epoch: passes continue across epochs; class weights") {
    check_same(Device::cpu(), [&](Model& m) {
      m.fit(d.x, d.y, {.batch_size = 8, .epochs = 4, .verbose = 0, .steps_per_epoch = 5,
                       .class_weight = {{0, 2.f}, {2, 0.5f}}});
    });
  }
  SECTION("a resumed run skips batches; unshuffled; validation data") {
    const Data v = make_data(9, 11);
    check_same(Device::cpu(), [&](Model& m) {
      m.fit(d.x, d.y, {.batch_size = 6, .epochs = 3, .verbose = 0,
                       .callbacks = {std::make_shared<ResumeAt>(1, 3)},
                       .validation_data = ValidationData{v.x, v.y}, .shuffle = false});
    });
  }
}

TEST_CASE("prefetched fit on a Dataset gives the synchronous path's weights bit for bit",
          "[model][prefetch]") {
  const Data d = make_data(45, 21);
  // A fresh dataset per run: a shuffled dataset counts its passes.
  const auto shuffled = [&] {
    return datasets::Dataset::from_tensors(d.x, d.y, d.w).shuffle(45, 4).batch(8);
  };
  SECTION("a pass per epoch, a smaller last batch, validation on a dataset") {
    const auto val = std::make_shared<const datasets::Dataset>(
        datasets::Dataset::from_tensors(d.x, d.y).batch(10));
    check_same(Device::cpu(), [&](Model& m) {
      m.fit(shuffled(), {.epochs = 3, .verbose = 0, .validation_dataset = val});
    });
  }
  SECTION("steps_per_epoch over a repeated dataset") {
    check_same(Device::cpu(), [&](Model& m) {
      m.fit(shuffled().repeat(), {.epochs = 3, .verbose = 0, .steps_per_epoch = 4});
    });
  }
  SECTION("steps_per_epoch beyond the data ends training as before") {
    check_same(Device::cpu(), [&](Model& m) {
      m.fit(shuffled(), {.epochs = 3, .verbose = 0, .steps_per_epoch = 4});
      CHECK(m.train_steps() == 6);  // 45 samples: 6 batches of 8, then the warning
    });
  }
  SECTION("class weights, resumed") {
    const auto plain = datasets::Dataset::from_tensors(d.x, d.y).batch(8);
    check_same(Device::cpu(), [&](Model& m) {
      m.fit(plain, {.epochs = 2, .verbose = 0, .callbacks = {std::make_shared<ResumeAt>(0, 2)},
                    .class_weight = {{1, 3.f}}});
    });
  }
}

TEST_CASE("prefetched evaluate and predict give the synchronous path's results",
          "[model][prefetch]") {
  prefetch_test::check_same_inference(Device::cpu(), 23, 5);
}

TEST_CASE("a prefetched fit allocates its buffers once, nothing per step", "[model][prefetch]") {
  Policy on(PrefetchPolicy::always);
  const int64_t one = prefetch_test::fit_allocations(Device::cpu(), 1);
  CHECK(prefetch_test::fit_allocations(Device::cpu(), 3) == one);
  CHECK(one > 0);
}

TEST_CASE("Prefetcher: one batch queued at a time, staged with its labels, buffers reused",
          "[model][prefetch]") {
  set_seed(1);
  KerasTensor in = Input({3});
  KerasTensor out = Dense(2)(in);
  detail::Graph graph({in}, {out}, "m");
  detail::Plan plan4(graph, 4, false), plan2(graph, 2, false);
  const Tensor x = Tensor::from_vector(
      {0.f, 1.f, 2.f, 10.f, 11.f, 12.f, 20.f, 21.f, 22.f, 30.f, 31.f, 32.f, 40.f, 41.f, 42.f},
      {5, 3});
  const Tensor y = Tensor::from_vector({0, 1, 2, 3, 4}, {5});
  const datasets::Element source{{x}, {y}, {}};
  const int64_t index[] = {4, 0, 3, 1};

  detail::Prefetcher pf(Device::cpu());
  CHECK(pf.empty());
  CHECK_THROWS_WITH(pf.pop(plan4), Contains("no batch queued"));
  pf.push_rows(source, index, 4);
  CHECK_THROWS_WITH(pf.push_rows(source, index, 4), Contains("already queued"));
  CHECK(pf.rows() == 4);
  CHECK_THROWS_WITH(pf.pop(plan2), Contains("4 rows popped into a plan for 2"));
  const datasets::Element& host = pf.pop(plan4);
  CHECK(host.x[0].to_vector() == std::vector<float>{40, 41, 42, 0, 1, 2, 30, 31, 32, 10, 11, 12});
  CHECK(host.y[0].to_vector() == std::vector<float>{4, 0, 3, 1});
  CHECK(plan4.label(0).to_vector() == host.y[0].to_vector());
  CHECK_FALSE(plan4.sample_weight().defined());

  // Both slots have their buffers now, and plan2 its own after one batch; a smaller batch is
  // a view of the slots' buffers.
  pf.push_rows(source, index + 1, 4);
  pf.pop(plan4);
  pf.push_rows(source, index + 2, 2);
  const datasets::Element& last = pf.pop(plan2);
  CHECK(last.x[0].to_vector() == std::vector<float>{30, 31, 32, 10, 11, 12});
  CHECK(plan2.label(0).to_vector() == std::vector<float>{3, 1});
  const int64_t storages = debug::storage_allocations();
  pf.push(datasets::Element{{x.slice(1, 3)}, {y.slice(1, 3)}, {}});
  CHECK(pf.pop(plan2).x[0].to_vector() == std::vector<float>{10, 11, 12, 20, 21, 22});
  pf.push_rows(source, index, 4);
  pf.pop(plan4);
  CHECK(debug::storage_allocations() == storages);

  // Sample weights join the layout: new buffers, staged next to the labels.
  const Tensor w = Tensor::from_vector({0.5f, 2.f}, {2});
  pf.push(datasets::Element{{x.slice(0, 2)}, {y.slice(0, 2)}, w});
  CHECK(debug::storage_allocations() > storages);
  pf.pop(plan2);
  CHECK(plan2.sample_weight().to_vector() == w.to_vector());
  CHECK(plan2.label(0).to_vector() == std::vector<float>{0, 1});
}
