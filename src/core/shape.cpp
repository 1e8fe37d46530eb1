#include "fitrun/shape.hpp"

#include "fitrun/error.hpp"

namespace fitrun {

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}

Shape::Shape(const std::vector<int64_t>& dims) {
  for (int64_t d : dims) push_back(d);
}

void Shape::push_back(int64_t d) {
  if (rank_ >= kMaxRank)
    throw ShapeError("shape rank exceeds the maximum of " + std::to_string(kMaxRank));
  dims_[static_cast<size_t>(rank_++)] = d;
}

int64_t Shape::num_elements() const {
  int64_t n = 1;
  for (int64_t d : *this) n *= d;
  return n;
}

int64_t Shape::sample_size() const {
  int64_t n = 1;
  for (int i = 1; i < rank_; ++i) n *= dims_[static_cast<size_t>(i)];
  return n;
}

bool Shape::fully_defined() const {
  for (int64_t d : *this)
    if (d < 0) return false;
  return true;
}

Shape Shape::with_batch(int64_t batch) const {
  Shape s = *this;
  if (s.rank_ > 0) s.dims_[0] = batch;
  return s;
}

Shape Shape::drop_batch() const {
  Shape s;
  for (int i = 1; i < rank_; ++i) s.push_back(dims_[static_cast<size_t>(i)]);
  return s;
}

std::string Shape::to_string() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    int64_t d = dims_[static_cast<size_t>(i)];
    s += d < 0 ? "None" : std::to_string(d);
  }
  if (rank_ == 1) s += ",";
  return s + ")";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i)
    if (a.dims_[static_cast<size_t>(i)] != b.dims_[static_cast<size_t>(i)]) return false;
  return true;
}

}  // namespace fitrun
