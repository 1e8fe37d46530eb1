#pragma once
// IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed.
#include <string>

#include "fitrun/tensor.hpp"

namespace fitrun::datasets {

/// Reads an IDX file: ubyte/byte/short/int data become int32, float/double become float32.
/// Errors name the file and the fault: bad magic number, unknown type code, truncated data.
Tensor load_idx(const std::string& path);
/// The same, converted to `dtype` while reading (MNIST images straight to float32).
Tensor load_idx(const std::string& path, DType dtype);

}  // namespace fitrun::datasets
