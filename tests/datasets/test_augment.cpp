// Image augmentation: flips, pad-and-crop, normalization, compared with hand-computed images;
// seeded and reproducible through Dataset::map_random.
#include <catch2/catch.hpp>
#include <fitrun/datasets/augment.hpp>
#include <fitrun/error.hpp>

#include <numeric>
#include <set>

using namespace fitrun;
using namespace fitrun::datasets;

namespace {

/// (n, h, w, c) images whose value encodes its position: 1000 n + 100 y + 10 x + c.
Tensor coded(int64_t n, int64_t h, int64_t w, int64_t c) {
  Tensor t({n, h, w, c}, DType::float32);
  float* p = t.data<float>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t k = 0; k < c; ++k) *p++ = float(1000 * i + 100 * y + 10 * x + k);
  return t;
}

Element element(Tensor x) {
  Element e;
  e.x = TensorList(std::move(x));
  return e;
}

}  // namespace

TEST_CASE("random_flip mirrors each image or leaves it as it is", "[datasets][augment]") {
  Tensor src = coded(64, 2, 3, 2);
  Generator gen(5);
  Tensor out = augment::random_flip()(element(src), gen).x[0];
  REQUIRE(out.shape() == src.shape());
  CHECK_FALSE(out.shares_storage(src));
  int flipped = 0;
  for (int64_t i = 0; i < 64; ++i) {
    const bool f = out.at({i, 0, 0, 1}) == 1000 * i + 20 + 1;
    flipped += f;
    for (int64_t y = 0; y < 2; ++y)
      for (int64_t x = 0; x < 3; ++x)
        for (int64_t k = 0; k < 2; ++k)
          REQUIRE(out.at({i, y, x, k}) == 1000 * i + 100 * y + 10 * (f ? 2 - x : x) + k);
  }
  CHECK(flipped > 16);  // about half of 64
  CHECK(flipped < 48);
  Tensor v = augment::random_flip("vertical")(element(coded(1, 2, 2, 1).reshape({2, 2, 1})), gen).x[0];
  CHECK((v.at({0, 0, 0}) == 0 || v.at({0, 0, 0}) == 100));
  CHECK(v.at({1, 0, 0}) == 100 - v.at({0, 0, 0}));
  CHECK_THROWS_WITH(augment::random_flip("diagonal"),
                    "random_flip: mode must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\", got \"diagonal\"");
  CHECK_THROWS_WITH(augment::random_flip()(element(Tensor::of({1.f})), gen),
                    "random_flip: expects float32 images (H, W, C) or (N, H, W, C), got (1,) float32");
}

TEST_CASE("random_crop with padding shifts the image and fills with zeros", "[datasets][augment]") {
  Tensor src = coded(200, 4, 4, 1);
  Generator gen(11);
  Tensor out = augment::random_crop(4, 4, 2)(element(src), gen).x[0];
  REQUIRE(out.shape() == Shape{200, 4, 4, 1});
  std::set<std::pair<int, int>> offsets;
  for (int64_t i = 0; i < 200; ++i) {
    // Find the offset (dy, dx) in [-2, 2]: output (y, x) holds input (y + dy, x + dx) or 0.
    bool found = false;
    for (int dy = -2; dy <= 2 && !found; ++dy)
      for (int dx = -2; dx <= 2 && !found; ++dx) {
        bool ok = true;
        for (int y = 0; y < 4 && ok; ++y)
          for (int x = 0; x < 4 && ok; ++x) {
            const int sy = y + dy, sx = x + dx;
            const double want = (sy < 0 || sy >= 4 || sx < 0 || sx >= 4) ? 0.0 : 1000.0 * i + 100 * sy + 10 * sx;
            ok = out.at({i, y, x, 0}) == want;
          }
        if (ok) offsets.insert({dy, dx}), found = true;
      }
    REQUIRE(found);
  }
  CHECK(offsets.size() == 25);  // every offset of the 5x5 range shows up
  // Without padding, a smaller window of a single (H, W, C) image.
  Tensor small = augment::random_crop(2, 3, 0)(element(coded(1, 4, 4, 1).reshape({4, 4, 1})), gen).x[0];
  CHECK(small.shape() == Shape{2, 3, 1});
  const double corner = small.at({0, 0, 0});
  CHECK(small.at({1, 2, 0}) == corner + 100 + 20);
  CHECK_THROWS_WITH(augment::random_crop(9, 4, 2)(element(src), gen),
                    "random_crop: a 9x4 crop does not fit the padded 8x8 image");
}

TEST_CASE("normalize and rescale per channel", "[datasets][augment]") {
  Tensor src = Tensor::from_vector({10.f, 20.f, 30.f, 40.f, 50.f, 60.f}, {1, 2, 3});
  Tensor n = augment::normalize({10.f, 20.f, 30.f}, {2.f, 4.f, 5.f})(element(src)).x[0];
  CHECK(n.to_vector() == std::vector<float>{0.f, 0.f, 0.f, 15.f, 7.5f, 6.f});
  CHECK(src.flat(0) == 10.f);  // the source is untouched
  CHECK(augment::normalize({10.f}, {10.f})(element(src)).x[0].flat(5) == 5.f);
  CHECK(augment::rescale(1.f / 10, -1.f)(element(src)).x[0].flat(2) == Approx(2.f));
  CHECK_THROWS_WITH(augment::normalize({1.f, 2.f}, {1.f, 1.f})(element(src)),
                    "normalize: 2 mean/std values for images with 3 channels");
  CHECK_THROWS_WITH(augment::normalize({1.f}, {0.f}), "normalize: std values must be > 0, got 0.000000");
}

TEST_CASE("augmentation in a pipeline is reproducible per pass and differs between passes", "[datasets][augment]") {
  auto make = [] {
    return Dataset::from_tensors(coded(16, 4, 4, 1))
        .map_random(augment::random_flip(), 1)
        .map_random(augment::random_crop(4, 4, 1), 2)
        .map(augment::rescale(0.5f))
        .batch(8)
        .prefetch();
  };
  auto pass = [](const Dataset& ds) {
    std::vector<float> all;
    auto it = ds.iterate();
    Element e;
    while (it.next(e)) {
      auto v = e.x[0].to_vector();
      all.insert(all.end(), v.begin(), v.end());
    }
    return all;
  };
  auto a = make(), b = make();
  const auto a0 = pass(a), a1 = pass(a);
  CHECK(a0.size() == 16 * 16);
  CHECK(a0 != a1);
  CHECK(pass(b) == a0);
  CHECK(pass(b) == a1);
}
