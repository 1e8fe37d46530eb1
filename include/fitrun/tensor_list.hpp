#pragma once
// TensorList: one tensor or several, for multi-input / multi-output models and datasets.
#include <initializer_list>
#include <vector>

#include "fitrun/tensor.hpp"

namespace fitrun {

/// One tensor or several (multi-input / multi-output models). Converts to a single Tensor when
/// it holds exactly one: `Tensor p = model.predict(x);`.
class TensorList {
 public:
  TensorList() = default;
  TensorList(Tensor t) : items_{std::move(t)} {}
  TensorList(std::initializer_list<Tensor> ts) : items_(ts) {}
  TensorList(std::vector<Tensor> ts) : items_(std::move(ts)) {}
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const Tensor& operator[](size_t i) const { return items_.at(i); }
  Tensor& operator[](size_t i) { return items_.at(i); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  const std::vector<Tensor>& vector() const { return items_; }
  /// The single tensor; throws fitrun::Error when there are several.
  operator Tensor() const;
  const Tensor& single() const;

 private:
  std::vector<Tensor> items_;
};

}  // namespace fitrun
