#include "fitrun/tensor_list.hpp"

#include <string>

#include "fitrun/error.hpp"

namespace fitrun {

TensorList::operator Tensor() const { return single(); }

const Tensor& TensorList::single() const {
  if (items_.size() != 1)
    throw Error("expected a single tensor, got a list of " + std::to_string(items_.size()));
  return items_[0];
}

}  // namespace fitrun
