#pragma once
// Small value types shared by the convolution, pooling and image reshaping layers.
#include <cstdint>
#include <utility>

namespace fitrun::layers {

/// A (height, width) pair, written as Keras writes it: `3` means (3, 3), `{3, 1}` is (3, 1).
/// Default-constructed it is (0, 0), which the pooling layers read as "unset".
struct Size2 {
  int64_t h = 0, w = 0;
  Size2() = default;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit, as Keras accepts an int
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
  bool operator==(const Size2& o) const { return h == o.h && w == o.w; }
  bool operator!=(const Size2& o) const { return !(*this == o); }
};

/// Amounts on the four sides of an image (ZeroPadding2D's padding, Cropping2D's cropping):
/// `1` (all sides), `{1, 2}` (symmetric height, width) or `{{1, 0}, {2, 3}}`
/// ((top, bottom), (left, right)), as in Keras.
struct Padding2D {
  int64_t top = 0, bottom = 0, left = 0, right = 0;
  Padding2D(int64_t all = 0) : top(all), bottom(all), left(all), right(all) {}  // NOLINT
  Padding2D(int64_t height, int64_t width)
      : top(height), bottom(height), left(width), right(width) {}
  Padding2D(std::pair<int64_t, int64_t> top_bottom, std::pair<int64_t, int64_t> left_right)
      : top(top_bottom.first), bottom(top_bottom.second), left(left_right.first),
        right(left_right.second) {}
};

}  // namespace fitrun::layers
