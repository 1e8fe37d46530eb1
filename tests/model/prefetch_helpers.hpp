#pragma once
// Shared by the prefetch tests on the CPU (tests/model/test_prefetch.cpp) and on a GPU
// (tests/cuda/test_cuda_prefetch.cpp): a small two-input model, its data, and a check that
// training with batches prefetched gives what training with synchronous copies gives.
#include <catch2/catch.hpp>

#include <functional>
#include <vector>

#include "fitrun/fitrun.hpp"
#include "model/prefetcher.hpp"

namespace prefetch_test {

using namespace fitrun;
using namespace fitrun::layers;
using detail::PrefetchPolicy;

/// Sets the policy for one scope (the default, gpu, afterwards).
struct Policy {
  explicit Policy(PrefetchPolicy p) { detail::set_prefetch_policy(p); }
  ~Policy() { detail::set_prefetch_policy(PrefetchPolicy::gpu); }
};

/// Two inputs (a vector and an image-like block), dropout (its masks follow the step count),
/// softmax over 3 classes; on `device`.
inline Model make_model(Device device = Device::cpu()) {
  set_seed(5);
  KerasTensor a = Input({4}), b = Input({2, 3});
  KerasTensor h = Concatenate()({Dense(6, "relu")(a), Dense(6, "tanh")(Flatten()(b))});
  Model m({a, b}, {Dense(3, "softmax")(Dropout(0.25f)(h))}, "prefetch_case");
  m.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  m.to(device);
  return m;
}

struct Data {
  TensorList x, y;
  Tensor w;
};
inline Data make_data(int64_t n, int64_t seed) {
  Tensor labels({n}, DType::int32);
  for (int64_t i = 0; i < n; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>((i * 7) % 3);
  return {{Tensor::normal({n, 4}, 0.f, 1.f, seed), Tensor::normal({n, 2, 3}, 0.f, 1.f, seed + 1)},
          {labels},
          Tensor::uniform({n}, 0.5f, 1.5f, seed + 2)};
}

inline std::vector<std::vector<float>> weights_of(const Model& m) {
  std::vector<std::vector<float>> w;
  for (const auto& v : m.weights()) w.push_back(v->value.to_vector());
  return w;
}

/// Runs `train` on a fresh model on `device` with prefetching off, then on one with it on
/// (forced on the CPU); weights, history and step count must agree exactly.
inline void check_same(Device device, const std::function<void(Model&)>& train) {
  Model plain = make_model(device), prefetched = make_model(device);
  {
    Policy off(PrefetchPolicy::never);
    train(plain);
  }
  {
    Policy on(device.is_cpu() ? PrefetchPolicy::always : PrefetchPolicy::gpu);
    train(prefetched);
  }
  CHECK(weights_of(prefetched) == weights_of(plain));
  CHECK(prefetched.history().history == plain.history().history);
  CHECK(prefetched.train_steps() == plain.train_steps());
}

/// A model on `device` trained one epoch on n samples evaluates (arrays and a Dataset, whole
/// and limited by steps) and predicts in batches of `bs` exactly alike with prefetching off
/// and on (forced on the CPU).
inline void check_same_inference(Device device, int64_t n, int bs) {
  Model m = make_model(device);
  const Data d = make_data(n, 31);
  m.fit(d.x, d.y, {.batch_size = 2 * bs, .epochs = 1, .verbose = 0});
  const auto ds = datasets::Dataset::from_tensors(d.x, d.y, d.w).batch(bs);
  Logs logs[2], ds_logs[2], ds_part_logs[2];
  TensorList pred[2];
  for (int on = 0; on < 2; ++on) {
    Policy p(on ? (device.is_cpu() ? PrefetchPolicy::always : PrefetchPolicy::gpu)
                : PrefetchPolicy::never);
    logs[on] = m.evaluate(d.x, d.y, {.batch_size = bs, .verbose = 0, .sample_weight = d.w});
    pred[on] = m.predict(d.x, {.batch_size = bs});
    ds_logs[on] = m.evaluate(ds, {.verbose = 0});
    ds_part_logs[on] = m.evaluate(ds, {.verbose = 0, .steps = 2});
  }
  CHECK(logs[1] == logs[0]);
  CHECK(ds_logs[1] == ds_logs[0]);
  CHECK(ds_part_logs[1] == ds_part_logs[0]);
  CHECK(ds_part_logs[0] != ds_logs[0]);  // two batches of several: the steps limit holds
  REQUIRE(pred[1].size() == 1);
  CHECK(pred[1][0].to_vector() == pred[0][0].to_vector());
}

/// Tensor storages allocated by a fit of `epochs` epochs (a fresh model, prefetching as the
/// default policy has it): setup only, when steps allocate nothing, so the same for 1 and 3.
inline int64_t fit_allocations(Device device, int epochs) {
  Model m = make_model(device);
  const Data d = make_data(40, 7);
  const int64_t before = debug::storage_allocations();
  m.fit(d.x, d.y, {.batch_size = 16, .epochs = epochs, .verbose = 0, .sample_weight = d.w});
  return debug::storage_allocations() - before;
}

}  // namespace prefetch_test
