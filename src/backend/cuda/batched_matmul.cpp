// Batched matmul (attention) on cuBLAS: one cublasGemmStridedBatchedEx per call on the
// device's cuBLAS handle (bound to its stream), fp32 compute (CUBLAS_COMPUTE_32F) so results
// match the CPU, or TF32 (CUBLAS_COMPUTE_32F_FAST_TF32) after
// set_float32_matmul_precision("high"), as in dense.cpp.
//
// Row-major vs cuBLAS' column-major: a row-major (r, c) matrix with leading dimension c is,
// read column-major, its transpose (c, r) with the same leading dimension. So the row-major
// product C(m×n) = op(A)(m×k)·op(B)(k×n) is computed as the column-major product
//   Cᵀ(n×m) = op(B)ᵀ(n×k) · op(A)ᵀ(k×m),   i.e. cuBLAS' (M, N, K) = (n, m, k),
// with cuBLAS' first operand our B and its second our A, each with the same transpose flag
// as ours:
//   B stored (k, n) (no transpose): read column-major it is (n×k) = Bᵀ already   -> OP_N
//   B stored (n, k) (transposed):   read column-major it is (k×n); we need (n×k) -> OP_T
//   (likewise A stored (m, k) -> OP_N; A stored (k, m) -> OP_T)
// Leading dimensions are the stored row lengths: lda' = b.dim(2), ldb' = a.dim(2), ldc = n.
// Check by hand, A (2×3) = [[1,2,3],[4,5,6]], B (3×4) = [[1,0,0,1],[0,1,0,1],[0,0,1,1]]:
// row-major AB = [[1,2,3,6],[4,5,6,15]]. cuBLAS gets M=4, N=2, K=3; its A is our B's storage
// [1,0,0,1, 0,1,0,1, 0,0,1,1] with ld 4: column j = B's row j, so the (4×3) matrix is Bᵀ; its
// B is our A's storage [1,2,3, 4,5,6] with ld 3: columns (1,2,3) and (4,5,6), the (3×2) Aᵀ.
// Bᵀ·Aᵀ (4×2) has column 0 = 1·(1,0,0,1) + 2·(0,1,0,1) + 3·(0,0,1,1) = (1,2,3,6) and column 1
// = (4,5,6,15); stored column-major with ldc 4 that is [1,2,3,6, 4,5,6,15], which read
// row-major (2×4) is AB. ✓
#include <climits>
#include <string>

#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "core/matmul_precision.hpp"
#include "fitrun/error.hpp"
#include "ops/op_shapes.hpp"

namespace fitrun::cuda {

namespace {
int as_int(int64_t v, const char* what, const char* op) {
  if (v > INT_MAX)
    throw BackendError(std::string(op) + ": " + what + " " + std::to_string(v) +
                       " is too large for cuBLAS (int)");
  return static_cast<int>(v);
}
}  // namespace

void batched_matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    float alpha, Tensor& c, bool accumulate) {
  const char* op = "batched_matmul";
  const auto [batch, m, k, n] = ops::shapes::batched_matmul_dims(a, transpose_a, b, transpose_b, c);
  if (batch == 0 || m == 0 || n == 0) return;
  Context& ctx = context_of(c, op);
  float* pc = f32(c, op, "c");
  if (k == 0) {  // an empty sum: c = 0, or unchanged when accumulating
    if (!accumulate) FITRUN_CUDA_CHECK(cudaMemsetAsync(pc, 0, c.nbytes(), ctx.stream), op);
    return;
  }
  const float* pa = f32(a, op, "a");
  const float* pb = f32(b, op, "b");
  const float beta = accumulate ? 1.f : 0.f;
  const cublasOperation_t op_b = transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  FITRUN_CUDA_CHECK(
      cublasGemmStridedBatchedEx(ctx.blas, op_b, op_a, as_int(n, "n", op), as_int(m, "m", op),
                                 as_int(k, "k", op), &alpha, pb, CUDA_R_32F,
                                 as_int(b.dim(2), "b's last dim", op), b.dim(1) * b.dim(2), pa,
                                 CUDA_R_32F, as_int(a.dim(2), "a's last dim", op),
                                 a.dim(1) * a.dim(2), &beta, pc, CUDA_R_32F, as_int(n, "n", op),
                                 m * n, as_int(batch, "batch", op),
                                 tf32_allowed() ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                : CUBLAS_COMPUTE_32F,
                                 CUBLAS_GEMM_DEFAULT),
      op);
}

}  // namespace fitrun::cuda
