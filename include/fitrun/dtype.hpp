#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace fitrun {

/// Element types. float32 is the compute type; int32/int64 carry labels and indices.
enum class DType { float32, int32, int64 };

std::size_t dtype_size(DType t);
std::string dtype_name(DType t);  // "float32", "int32", "int64"

/// The type the heavy ops (matrix products, convolutions) multiply in under a mixed-precision
/// policy; their inputs, outputs and accumulation stay float32 (see mixed_precision.hpp).
enum class ComputeDType { float32, bfloat16, float16 };
std::string compute_dtype_name(ComputeDType t);  // "float32", "bfloat16", "float16"

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::float32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::int32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::int64; }

}  // namespace fitrun
