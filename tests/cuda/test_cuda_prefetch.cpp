// Batches prefetched to a GPU (model/prefetcher.hpp): pinned tensors, and fit, evaluate and
// predict with prefetching give bit for bit what per-batch synchronous copies give (the same
// kernels run on the same bytes); a step sequence whose host runs ahead of the device never
// mixes batches. Tagged [gpu]; without a CUDA device each case passes as skipped.
#include <catch2/catch.hpp>

#include <numeric>
#include <vector>

#include "backend/cuda/copy_stream.hpp"
#include "fitrun/fitrun.hpp"
#include "gpu_helpers.hpp"
#include "model/graph.hpp"
#include "model/prefetch_helpers.hpp"
#include "model/prefetcher.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using detail::PrefetchPolicy;
using gpu_test::kGpu;
using prefetch_test::Policy;

TEST_CASE("pinned tensors round-trip through the GPU, also by the copy stream", "[gpu][prefetch]") {
  FITRUN_REQUIRE_GPU();
  const Tensor src = Tensor::normal({257, 33}, 0.f, 1.f, 3);
  const Tensor pinned = src.pin_memory();
  REQUIRE(pinned.is_pinned());
  CHECK_FALSE(pinned.shares_storage(src));
  const Tensor dev = pinned.to(kGpu);
  Tensor back = Tensor::empty(src.shape(), src.dtype(), true);
  back.copy_from(dev);
  CHECK(back.is_pinned());
  CHECK(back.to_vector() == src.to_vector());

  // An asynchronous upload, completed through an event the compute stream waits for.
  Tensor dst(src.shape(), src.dtype(), kGpu);
  cuda::Event uploaded(kGpu.index());
  cuda::copy_to_device_async(dst.device_data(), pinned.raw(), pinned.nbytes(), kGpu.index());
  uploaded.record(cuda::Stream::copy);
  uploaded.wait(cuda::Stream::compute);
  Tensor copied(src.shape(), src.dtype(), kGpu);
  ops::copy(dst, copied);  // on the compute stream: after the upload
  CHECK(copied.to_vector() == src.to_vector());
  uploaded.synchronize();
}

TEST_CASE("fit on a GPU with prefetching gives the weights of synchronous copies bit for bit",
          "[gpu][prefetch]") {
  FITRUN_REQUIRE_GPU();
  const prefetch_test::Data d = prefetch_test::make_data(300, 3);
  // The GPU kernels themselves are deterministic, or the comparison below means nothing.
  {
    Policy off(PrefetchPolicy::never);
    Model a = prefetch_test::make_model(kGpu), b = prefetch_test::make_model(kGpu);
    a.fit(d.x, d.y, {.batch_size = 32, .epochs = 2, .verbose = 0});
    b.fit(d.x, d.y, {.batch_size = 32, .epochs = 2, .verbose = 0});
    REQUIRE(prefetch_test::weights_of(a) == prefetch_test::weights_of(b));
  }
  SECTION("arrays: shuffled, smaller last batch, sample weights, validation split") {
    prefetch_test::check_same(kGpu, [&](Model& m) {
      m.fit(d.x, d.y, {.batch_size = 32, .epochs = 3, .verbose = 0, .validation_split = 0.2,
                       .sample_weight = d.w});
    });
  }
  SECTION("arrays: steps_per_epoch across passes") {
    prefetch_test::check_same(kGpu, [&](Model& m) {
      m.fit(d.x, d.y, {.batch_size = 64, .epochs = 3, .verbose = 0, .steps_per_epoch = 7});
    });
  }
  SECTION("a Dataset, with validation on a dataset") {
    const auto val = std::make_shared<const datasets::Dataset>(
        datasets::Dataset::from_tensors(d.x, d.y).batch(50));
    prefetch_test::check_same(kGpu, [&](Model& m) {
      const auto ds = datasets::Dataset::from_tensors(d.x, d.y, d.w).shuffle(300, 4).batch(32);
      m.fit(ds, {.epochs = 2, .verbose = 0, .validation_dataset = val});
    });
  }
}

TEST_CASE("evaluate and predict on a GPU with prefetching give the synchronous results",
          "[gpu][prefetch]") {
  FITRUN_REQUIRE_GPU();
  prefetch_test::check_same_inference(kGpu, 203, 16);
}

TEST_CASE("a prefetched fit on a GPU allocates nothing per step", "[gpu][prefetch]") {
  FITRUN_REQUIRE_GPU();
  const int64_t one = prefetch_test::fit_allocations(kGpu, 1);
  CHECK(prefetch_test::fit_allocations(kGpu, 3) == one);
}

TEST_CASE("prefetched batches never mix while the host runs ahead of the device",
          "[gpu][prefetch]") {
  FITRUN_REQUIRE_GPU();
  // Eight 2048-wide Dense layers make each step's compute longer than the host's gather, so
  // the host queues batch k+1 while the device still works on k (and k-1): the events alone
  // keep the slots apart. Nothing synchronizes the host inside the loop.
  const int64_t width = 2048, rows = 256, batches = 40, n = rows * batches;
  set_seed(4);
  KerasTensor in = Input({width});
  KerasTensor h = in;
  for (int i = 0; i < 8; ++i) h = Dense(width, "tanh")(h);
  detail::Graph graph({in}, {h}, "stress");
  for (const auto& layer : graph.layers)
    for (const auto& v : layer->weights()) v->value = v->value.to(kGpu);
  detail::Plan plan(graph, rows, false, kGpu);

  const Tensor x = Tensor::uniform({n, width}, -1.f, 1.f, 8);
  Tensor labels({n}, DType::int32);
  for (int64_t i = 0; i < n; ++i) labels.data<int32_t>()[i] = static_cast<int32_t>(i);
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  Generator gen(12);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[gen.below(static_cast<uint64_t>(i + 1))]);
  const datasets::Element source{{x}, {labels}, {}};

  // Outputs and staged labels of every step, copied out on the compute stream.
  Tensor out_prefetched({n, width}, DType::float32, kGpu), out_sync({n, width}, DType::float32, kGpu);
  Tensor labels_seen({n}, DType::int32, kGpu);
  {
    detail::Prefetcher pf(kGpu);
    pf.push_rows(source, order.data(), rows);
    for (int64_t k = 0; k < batches; ++k) {
      pf.pop(plan);
      if (k + 1 < batches) pf.push_rows(source, order.data() + (k + 1) * rows, rows);
      plan.forward(false, 0);
      Tensor dst = out_prefetched.slice(k * rows, (k + 1) * rows);
      ops::copy(plan.output(0), dst);
      Tensor seen = labels_seen.slice(k * rows, (k + 1) * rows);
      ops::copy(plan.label(0), seen);
    }
  }
  // The same steps with synchronous per-batch copies.
  Tensor batch({rows, width});
  for (int64_t k = 0; k < batches; ++k) {
    ops::gather_rows(x, order.data() + k * rows, rows, batch);
    plan.bind_input(0, batch);
    plan.forward(false, 0);
    Tensor dst = out_sync.slice(k * rows, (k + 1) * rows);
    ops::copy(plan.output(0), dst);
  }
  synchronize(kGpu);
  const std::vector<float> seen = labels_seen.to(Device::cpu()).astype(DType::float32).to_vector();
  int64_t misplaced = 0;
  for (int64_t i = 0; i < n; ++i)
    misplaced += seen[static_cast<size_t>(i)] != static_cast<float>(order[static_cast<size_t>(i)]);
  CHECK(misplaced == 0);
  CHECK(out_prefetched.to_vector() == out_sync.to_vector());
}
