// The Dataset pipeline: from_tensors, shuffle, batch, map, repeat, take, prefetch, cardinality.
#include <catch2/catch.hpp>
#include <fitrun/datasets/dataset.hpp>
#include <fitrun/error.hpp>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <thread>

using namespace fitrun;
using namespace fitrun::datasets;

namespace {

Tensor range_tensor(int64_t n, int64_t width = 1) {
  std::vector<float> v(static_cast<size_t>(n * width));
  std::iota(v.begin(), v.end(), 0.f);
  return width == 1 ? Tensor::from_vector(v, {n}) : Tensor::from_vector(v, {n, width});
}

/// The first x value of every element of a pass (or every row, for batches of vectors).
std::vector<float> firsts(const Dataset& ds) {
  std::vector<float> out;
  auto it = ds.iterate();
  Element e;
  while (it.next(e)) {
    const Tensor& x = e.x[0];
    if (x.rank() == 0) out.push_back(static_cast<float>(x.item()));
    else for (int64_t i = 0; i < x.dim(0); ++i) out.push_back(static_cast<float>(x.flat(i * x.shape().sample_size())));
  }
  return out;
}

std::vector<float> iota(int n, float start = 0.f) {
  std::vector<float> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

}  // namespace

TEST_CASE("from_tensors slices rows without copying", "[datasets]") {
  Tensor x = range_tensor(4, 3);
  Tensor y = Tensor::from_vector({0, 1, 2, 3}, {4});
  auto ds = Dataset::from_tensors(x, y, Tensor::of({1.f, 2.f, 3.f, 4.f}));
  REQUIRE(ds.cardinality() == 4);
  auto it = ds.iterate();
  Element e;
  int n = 0;
  while (it.next(e)) {
    REQUIRE(e.x[0].shape() == Shape{3});
    REQUIRE(e.x[0].shares_storage(x));
    CHECK(e.x[0].at({1}) == n * 3 + 1);
    REQUIRE(e.y[0].rank() == 0);
    CHECK(e.y[0].item() == n);
    CHECK(e.sample_weight.item() == n + 1);
    ++n;
  }
  CHECK(n == 4);
  CHECK_FALSE(it.next(e));
}

TEST_CASE("from_tensors names the tensor whose first dimension disagrees", "[datasets]") {
  CHECK_THROWS_WITH(Dataset::from_tensors(range_tensor(4), Tensor::from_vector({0, 1, 2}, {3})),
                    "Dataset.from_tensors: y[0] has 3 rows (shape (3,)) but x[0] has 4; all tensors "
                    "must agree on the first dimension");
  CHECK_THROWS_AS(Dataset::from_tensors({range_tensor(4), range_tensor(5)}), ShapeError);
  CHECK_THROWS_WITH(Dataset::from_tensors(TensorList{}), Catch::Contains("x is empty"));
}

TEST_CASE("batch stacks elements and handles the remainder", "[datasets]") {
  auto ds = Dataset::from_tensors(range_tensor(10, 2), Tensor::from_vector(std::vector<int32_t>(10, 7), {10}));
  auto b = ds.batch(4);
  CHECK(b.cardinality() == 3);
  CHECK(ds.batch(4, true).cardinality() == 2);
  auto it = b.iterate();
  Element e;
  std::vector<int64_t> sizes;
  while (it.next(e)) {
    sizes.push_back(e.x[0].dim(0));
    REQUIRE(e.x[0].dim(1) == 2);
    REQUIRE(e.y[0].shape() == Shape{e.x[0].dim(0)});
    REQUIRE(e.y[0].dtype() == DType::int32);
    CHECK(e.y[0].flat(0) == 7);
  }
  CHECK(sizes == std::vector<int64_t>{4, 4, 2});
  CHECK(firsts(b) == std::vector<float>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18});
  CHECK(firsts(ds.batch(4, true)).size() == 8);
  CHECK_THROWS_WITH(ds.batch(0), "Dataset.batch: batch_size must be > 0, got 0");
}

TEST_CASE("batch names the element whose shape differs", "[datasets]") {
  auto ds = Dataset::from_tensors(range_tensor(3)).map([](Element e) {
    if (e.x[0].item() == 2) e.x[0] = Tensor::of({1.f, 2.f});
    return e;
  });
  Element e;
  auto it = ds.batch(3).iterate();
  CHECK_THROWS_WITH(it.next(e), "Dataset.batch: x[0] of element 2 has shape (2,) float32 but element 0 "
                                "has () float32; elements of a batch must agree");
}

TEST_CASE("shuffle is a reproducible permutation that changes every pass", "[datasets]") {
  auto ds = Dataset::from_tensors(range_tensor(50)).shuffle(50, 42);
  auto p0 = firsts(ds), p1 = firsts(ds);
  auto again = Dataset::from_tensors(range_tensor(50)).shuffle(50, 42);
  CHECK(firsts(again) == p0);  // the same seed gives the same sequence of passes
  CHECK(firsts(again) == p1);
  CHECK(p0 != p1);             // reshuffled each pass
  CHECK(p0 != iota(50));
  auto sorted = p0;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == iota(50));
  CHECK(firsts(Dataset::from_tensors(range_tensor(50)).shuffle(50, 43)) != p0);
}

TEST_CASE("a small shuffle buffer only moves elements locally", "[datasets]") {
  // With buffer b, element k cannot come out before position k - (b - 1).
  auto out = firsts(Dataset::from_tensors(range_tensor(100)).shuffle(3, 1));
  REQUIRE(out.size() == 100);
  for (size_t pos = 0; pos < out.size(); ++pos) CHECK(out[pos] <= static_cast<float>(pos + 2));
  CHECK(firsts(Dataset::from_tensors(range_tensor(10)).shuffle(1)) == iota(10));
}

TEST_CASE("map repeat and take compose with the right cardinality", "[datasets]") {
  auto ds = Dataset::from_tensors(range_tensor(3)).map([](Element e) {
    Tensor t = e.x[0].clone();
    t.fill(t.item() * 10);
    e.x = TensorList(t);
    return e;
  });
  CHECK(firsts(ds) == std::vector<float>{0, 10, 20});
  CHECK(ds.repeat(2).cardinality() == 6);
  CHECK(firsts(ds.repeat(2)) == std::vector<float>{0, 10, 20, 0, 10, 20});
  CHECK(ds.repeat().cardinality() == Dataset::kInfinite);
  CHECK(ds.repeat().take(7).cardinality() == 7);
  CHECK(firsts(ds.repeat().take(7)) == std::vector<float>{0, 10, 20, 0, 10, 20, 0});
  CHECK(ds.take(2).cardinality() == 2);
  CHECK(ds.take(10).cardinality() == 3);
  CHECK(ds.take(-1).cardinality() == 3);
  CHECK(ds.repeat(0).cardinality() == 0);
  CHECK(firsts(ds.repeat(0)).empty());
  CHECK(ds.repeat().batch(2).cardinality() == Dataset::kInfinite);
  CHECK(Dataset().cardinality() == 0);
  CHECK(firsts(Dataset().repeat()).empty());  // an empty input ends instead of spinning
  CHECK_THROWS_WITH(ds.take(-2), "Dataset.take: count must be >= -1, got -2");
}

TEST_CASE("repeat after shuffle gives a new order in each repetition", "[datasets]") {
  auto out = firsts(Dataset::from_tensors(range_tensor(20)).shuffle(20, 3).repeat(2));
  REQUIRE(out.size() == 40);
  std::vector<float> a(out.begin(), out.begin() + 20), b(out.begin() + 20, out.end());
  CHECK(a != b);
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  CHECK(a == iota(20));
  CHECK(b == iota(20));
}

TEST_CASE("map_random passes are reproducible and differ from each other", "[datasets]") {
  auto noisy = Dataset::from_tensors(range_tensor(5)).map_random(
      [](Element e, Generator& g) {
        e.x = TensorList(Tensor::of({static_cast<float>(g.below(1000))}));
        return e;
      },
      9);
  auto p0 = firsts(noisy), p1 = firsts(noisy);
  CHECK(p0 != p1);
  auto fresh = Dataset::from_tensors(range_tensor(5)).map_random(
      [](Element e, Generator& g) {
        e.x = TensorList(Tensor::of({static_cast<float>(g.below(1000))}));
        return e;
      },
      9);
  CHECK(firsts(fresh) == p0);
}

TEST_CASE("prefetch yields the same elements in order", "[datasets]") {
  auto ds = Dataset::from_tensors(range_tensor(37)).batch(5);
  CHECK(ds.prefetch(3).cardinality() == 8);
  CHECK(firsts(ds.prefetch(1)) == firsts(ds));
  CHECK(firsts(ds.prefetch(3).prefetch(2)) == iota(37));
  CHECK_THROWS_WITH(ds.prefetch(0), "Dataset.prefetch: buffer_size must be > 0, got 0");
}

TEST_CASE("prefetch rethrows an exception of the pipeline in the consumer", "[datasets]") {
  auto ds = Dataset::from_tensors(range_tensor(10))
                .map([](Element e) {
                  if (e.x[0].item() == 4) throw IOError("corrupt.bin: record 4 is truncated");
                  return e;
                })
                .prefetch(2);
  auto it = ds.iterate();
  Element e;
  for (int i = 0; i < 4; ++i) REQUIRE(it.next(e));
  CHECK_THROWS_AS(it.next(e), IOError);
  CHECK_FALSE(it.next(e));
  auto it2 = ds.iterate();
  std::string message;
  try {
    while (it2.next(e)) {}
  } catch (const std::exception& ex) {
    message = ex.what();
  }
  CHECK(message == "corrupt.bin: record 4 is truncated");
}

TEST_CASE("destroying a prefetching iterator early stops its thread", "[datasets]") {
  std::atomic<int> produced{0};
  auto ds = Dataset::from_tensors(range_tensor(3))
                .repeat()  // infinite: the worker would run forever without a clean stop
                .map([&produced](Element e) {
                  ++produced;
                  return e;
                })
                .prefetch(4);
  for (int k = 0; k < 5; ++k) {
    auto it = ds.iterate();
    Element e;
    REQUIRE(it.next(e));
  }  // each iterator is destroyed with its worker blocked on a full queue
  const int after = produced.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(produced.load() == after);  // no worker is left running
  CHECK(after <= 5 * (4 + 2));      // the queue is bounded
}

TEST_CASE("prefetch overlaps a slow map with a slow consumer", "[datasets]") {
  using clock = std::chrono::steady_clock;
  const auto work = std::chrono::milliseconds(30);
  const int n = 8;
  auto slow = Dataset::from_tensors(range_tensor(n)).map([work](Element e) {
    std::this_thread::sleep_for(work);
    return e;
  });
  auto run = [&](const Dataset& ds) {
    const auto t0 = clock::now();
    auto it = ds.iterate();
    Element e;
    int count = 0;
    while (it.next(e)) {
      std::this_thread::sleep_for(work);  // the "train step"
      ++count;
    }
    REQUIRE(count == n);
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  const double serial = run(slow);
  const double overlapped = run(slow.prefetch(2));
  INFO("serial " << serial << " ms, prefetched " << overlapped << " ms");
  CHECK(serial >= 2 * n * 30 - 1);
  // Overlapped: about (n + 1) * 30 ms instead of 2 * n * 30 ms.
  CHECK(overlapped < 0.75 * serial);
}
