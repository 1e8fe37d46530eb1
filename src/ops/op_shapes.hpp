#pragma once
// Shape arithmetic and checks that the CPU and CUDA backends share: each backend validates an
// op's tensors the same way and reads the same sizes from them.
#include <string>

#include "fitrun/error.hpp"
#include "fitrun/shape.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::ops::shapes {

/// (outer, len, inner) around `axis`: the products of the dims before it, it, and after it.
struct Split3 {
  int64_t outer = 1, len = 1, inner = 1;
};
inline Split3 around(const Shape& s, int axis) {
  Split3 r;
  for (int i = 0; i < axis; ++i) r.outer *= s[i];
  r.len = s[axis];
  for (int i = axis + 1; i < s.rank(); ++i) r.inner *= s[i];
  return r;
}

/// The sizes of c[i] = op(a[i]) · op(b[i]) (m × k times k × n, `batch` times); throws a
/// ShapeError naming the three shapes unless a, b and c are 3-D and agree.
struct MatmulDims {
  int64_t batch, m, k, n;
};
inline MatmulDims batched_matmul_dims(const Tensor& a, bool transpose_a, const Tensor& b,
                                      bool transpose_b, const Tensor& c) {
  if (a.rank() != 3 || b.rank() != 3 || c.rank() != 3)
    throw ShapeError("batched_matmul: expected 3-D tensors, got " + a.shape().to_string() +
                     ", " + b.shape().to_string() + " and " + c.shape().to_string());
  const int64_t batch = a.dim(0);
  const int64_t m = transpose_a ? a.dim(2) : a.dim(1), k = transpose_a ? a.dim(1) : a.dim(2);
  const int64_t kb = transpose_b ? b.dim(2) : b.dim(1), n = transpose_b ? b.dim(1) : b.dim(2);
  if (k != kb || b.dim(0) != batch || c.dim(0) != batch || c.dim(1) != m || c.dim(2) != n)
    throw ShapeError("batched_matmul: shapes do not match: " + a.shape().to_string() +
                     (transpose_a ? "ᵀ" : "") + " · " + b.shape().to_string() +
                     (transpose_b ? "ᵀ" : "") + " -> " + c.shape().to_string());
  return {batch, m, k, n};
}

}  // namespace fitrun::ops::shapes
