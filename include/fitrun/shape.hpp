#pragma once
// Shape: the dimensions of a tensor, stored inline (no heap allocation, so shapes can be
// copied freely in the training step). -1 stands for an unknown dimension (Keras' None).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace fitrun {

class Shape {
 public:
  static constexpr int kMaxRank = 8;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  /// Python-style index: dim(-1) is the last dimension.
  int64_t dim(int i) const { return dims_[static_cast<size_t>(i < 0 ? i + rank_ : i)]; }
  const int64_t* begin() const { return dims_.data(); }
  const int64_t* end() const { return dims_.data() + rank_; }

  /// Product of all dimensions (1 for a scalar). Unknown dimensions must not be present.
  int64_t num_elements() const;
  /// Product of the dimensions after the first (the per-sample size).
  int64_t sample_size() const;
  bool fully_defined() const;

  void push_back(int64_t d);
  /// This shape with the first dimension replaced.
  Shape with_batch(int64_t batch) const;
  /// The dimensions after the first.
  Shape drop_batch() const;
  std::vector<int64_t> to_vector() const { return {begin(), end()}; }

  /// Keras' notation: "(None, 28, 28, 1)".
  std::string to_string() const;

  friend bool operator==(const Shape& a, const Shape& b);
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace fitrun
