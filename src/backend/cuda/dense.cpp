// Dense on cuBLASLt. Tensors are row-major and cuBLAS column-major, so each product is written
// for the transposes: a row-major (r, c) matrix is a column-major (c, r) one. With the Keras
// kernel W (in, out):
//   forward   yᵀ(out×N)  = Wᵀ(out×in)·xᵀ(in×N)      A = W  (N), B = x  (N)
//   bwd data  dxᵀ(in×N)  = W(in×out)·dyᵀ(out×N)     A = W  (T), B = dy (N)
//   bwd wts   dWᵀ(out×in)= dyᵀ(out×N)·x(N×in)       A = dy (N), B = x  (T)
// Bias and relu run in the matmul's epilogue; other fusable activations (and bias when an
// epilogue has no algorithm) run in one bias-activation kernel after it. fp32 compute
// (CUBLAS_COMPUTE_32F) so results match the CPU within float rounding, or TF32 tensor cores
// (CUBLAS_COMPUTE_32F_FAST_TF32) after set_float32_matmul_precision("high"); plans are cached
// per precision.
#include <cstring>
#include <string>
#include <unordered_map>

#include "backend/cuda/bytewise_hash.hpp"
#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "core/matmul_precision.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {
constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLASLt's recommendation for Hopper

struct PlanKey {
  int device, transa, transb, epilogue, tf32, unused;
  int64_t m, n, k, align;
  bool operator==(const PlanKey& o) const { return std::memcmp(this, &o, sizeof o) == 0; }
};

/// A matmul description, its layouts and the chosen algorithm, made once per shape.
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool found = false;  // false: cuBLASLt has no algorithm (for this epilogue)
};

/// 16 when every pointer is 16-byte aligned (cuBLASLt's default assumption), else 4: views of
/// a batch (Tensor::slice) can start anywhere on a float boundary.
int64_t alignment(std::initializer_list<const void*> ptrs) {
  for (const void* p : ptrs)
    if (p && reinterpret_cast<uintptr_t>(p) % 16 != 0) return 4;
  return 16;
}

/// Returns the cached plan for D(m×n) = op(A)·op(B) (+ beta·D), creating it on first use.
Plan& plan(Context& ctx, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
           int64_t k, cublasLtEpilogue_t epilogue, int64_t align, const char* op) {
  PlanKey key{};  // zeroed padding: the key is compared bytewise
  key.device = ctx.device;
  key.transa = ta;
  key.transb = tb;
  key.epilogue = epilogue;
  key.tf32 = tf32_allowed();
  key.m = m;
  key.n = n;
  key.k = k;
  key.align = align;
  static thread_local std::unordered_map<PlanKey, Plan, BytewiseHash<PlanKey>> cache;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  Plan p;
  const cublasComputeType_t compute =
      key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  FITRUN_CUDA_CHECK(cublasLtMatmulDescCreate(&p.desc, compute, CUDA_R_32F), op);
  FITRUN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta,
                                                   sizeof ta),
                    op);
  FITRUN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                                                   sizeof tb),
                    op);
  FITRUN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                   &epilogue, sizeof epilogue),
                    op);
  // Stored (untransposed) shapes; leading dimensions are the stored row counts (packed).
  const int64_t a_rows = ta == CUBLAS_OP_N ? m : k, a_cols = ta == CUBLAS_OP_N ? k : m;
  const int64_t b_rows = tb == CUBLAS_OP_N ? k : n, b_cols = tb == CUBLAS_OP_N ? n : k;
  FITRUN_CUDA_CHECK(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, a_rows, a_cols, a_rows), op);
  FITRUN_CUDA_CHECK(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_32F, b_rows, b_cols, b_rows), op);
  FITRUN_CUDA_CHECK(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, m, n, m), op);
  cublasLtMatmulPreference_t pref = nullptr;
  FITRUN_CUDA_CHECK(cublasLtMatmulPreferenceCreate(&pref), op);
  const size_t ws = kWorkspaceBytes;
  FITRUN_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(
                        pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws),
                    op);
  if (align < 16) {
    const uint32_t a = static_cast<uint32_t>(align);
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
      FITRUN_CUDA_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &a, sizeof a), op);
  }
  cublasLtMatmulHeuristicResult_t result{};
  int returned = 0;
  const cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(ctx.lt, p.desc, p.a, p.b, p.c, p.c,
                                                          pref, 1, &result, &returned);
  cublasLtMatmulPreferenceDestroy(pref);
  if (s != CUBLAS_STATUS_NOT_SUPPORTED) check(s, "cublasLtMatmulAlgoGetHeuristic", op);
  if (s == CUBLAS_STATUS_SUCCESS && returned > 0) {
    p.algo = result.algo;
    p.found = true;
  }
  return cache.emplace(key, p).first->second;
}

/// Runs a found plan: D = op(A)·op(B) + beta·D, with `bias` for bias epilogues.
void run(Context& ctx, Plan& p, const float* A, const float* B, float* D, float beta,
         const float* bias, const char* op) {
  if (bias)
    FITRUN_CUDA_CHECK(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                     &bias, sizeof bias),
                      op);
  const float alpha = 1.f;
  void* ws = workspace(ctx, kWorkspaceBytes, op);
  FITRUN_CUDA_CHECK(cublasLtMatmul(ctx.lt, p.desc, &alpha, A, p.a, B, p.b, &beta, D, p.c, D,
                                   p.c, &p.algo, ws, kWorkspaceBytes, ctx.stream),
                    op);
}

/// D = op(A)·op(B) (+ D when accumulating), with no epilogue; throws when cuBLASLt has no
/// algorithm at all for the shape.
void matmul(Context& ctx, cublasOperation_t ta, cublasOperation_t tb, int64_t m, int64_t n,
            int64_t k, const float* A, const float* B, float* D, bool accumulate, const char* op) {
  Plan& p = plan(ctx, ta, tb, m, n, k, CUBLASLT_EPILOGUE_DEFAULT, alignment({A, B, D}), op);
  if (!p.found)
    fail("cublasLtMatmulAlgoGetHeuristic", op,
         "no algorithm for m=" + std::to_string(m) + " n=" + std::to_string(n) +
             " k=" + std::to_string(k));
  run(ctx, p, A, B, D, accumulate ? 1.f : 0.f, nullptr, op);
}

/// (rows, features) view of an (..., features) tensor.
std::pair<int64_t, int64_t> rows_cols(const Tensor& t) {
  const int64_t cols = t.dim(-1);
  return {cols ? t.size() / cols : 0, cols};
}
}  // namespace

void dense_forward(const Tensor& x, const Tensor& kernel, const Tensor& bias, ActivationFn act,
                   Tensor& y) {
  const char* op = "dense_forward";
  auto [n, in] = rows_cols(x);
  const int64_t out = kernel.dim(1);
  if (kernel.dim(0) != in)
    throw ShapeError("dense_forward: input has " + std::to_string(in) +
                     " features, kernel expects " + std::to_string(kernel.dim(0)));
  if (y.size() != n * out)
    throw ShapeError("dense_forward: output " + y.shape().to_string() + " does not hold " +
                     std::to_string(n) + " rows of " + std::to_string(out));
  if (n == 0 || out == 0) return;
  Context& ctx = context_of(y, op);
  const float* px = f32(x, op, "input");
  const float* pw = f32(kernel, op, "kernel");
  const float* pb = bias.defined() ? f32(bias, op, "bias") : nullptr;
  float* py = f32(y, op, "output");
  if (in == 0) {  // an empty product: y = act(bias)
    FITRUN_CUDA_CHECK(cudaMemsetAsync(py, 0, y.nbytes(), ctx.stream), op);
    launch_bias_activation(py, pb, n, out, act, 0.f, ctx.stream, op);
    return;
  }
  // The epilogues that match Keras exactly: bias, relu and both.
  cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
  if (act == ActivationFn::relu)
    epi = pb ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  else if (act == ActivationFn::linear && pb)
    epi = CUBLASLT_EPILOGUE_BIAS;
  if (epi != CUBLASLT_EPILOGUE_DEFAULT) {
    Plan& p = plan(ctx, CUBLAS_OP_N, CUBLAS_OP_N, out, n, in, epi, alignment({pw, px, py, pb}),
                   op);
    if (p.found) return run(ctx, p, pw, px, py, 0.f, pb, op);
  }
  matmul(ctx, CUBLAS_OP_N, CUBLAS_OP_N, out, n, in, pw, px, py, false, op);
  if (pb || act != ActivationFn::linear)
    launch_bias_activation(py, pb, n, out, act, 0.f, ctx.stream, op);
}

void dense_backward_data(const Tensor& dy, const Tensor& kernel, Tensor& dx) {
  const char* op = "dense_backward_data";
  auto [n, out] = rows_cols(dy);
  const int64_t in = kernel.dim(0);
  if (kernel.dim(1) != out || dx.size() != n * in)
    throw ShapeError("dense_backward_data: dy " + dy.shape().to_string() + ", kernel " +
                     kernel.shape().to_string() + " and dx " + dx.shape().to_string() +
                     " do not match");
  if (n == 0 || in == 0) return;
  Context& ctx = context_of(dx, op);
  if (out == 0) {
    FITRUN_CUDA_CHECK(cudaMemsetAsync(f32(dx, op, "dx"), 0, dx.nbytes(), ctx.stream), op);
    return;
  }
  matmul(ctx, CUBLAS_OP_T, CUBLAS_OP_N, in, n, out, f32(kernel, op, "kernel"), f32(dy, op, "dy"),
         f32(dx, op, "dx"), false, op);
}

void dense_backward_weights(const Tensor& x, const Tensor& dy, Tensor& dkernel, Tensor& dbias,
                            bool accumulate) {
  const char* op = "dense_backward_weights";
  auto [n, in] = rows_cols(x);
  const int64_t out = dy.dim(-1);
  if (dkernel.size() != in * out || rows_cols(dy).first != n)
    throw ShapeError("dense_backward_weights: x " + x.shape().to_string() + ", dy " +
                     dy.shape().to_string() + " and dkernel " + dkernel.shape().to_string() +
                     " do not match");
  Context& ctx = context_of(dkernel, op);
  float* pdw = f32(dkernel, op, "dkernel");
  if (n == 0) {  // no rows: the gradients are zero
    if (!accumulate) {
      FITRUN_CUDA_CHECK(cudaMemsetAsync(pdw, 0, dkernel.nbytes(), ctx.stream), op);
      if (dbias.defined())
        FITRUN_CUDA_CHECK(cudaMemsetAsync(f32(dbias, op, "dbias"), 0, dbias.nbytes(), ctx.stream),
                          op);
    }
    return;
  }
  if (in > 0 && out > 0)
    matmul(ctx, CUBLAS_OP_N, CUBLAS_OP_T, out, in, n, f32(dy, op, "dy"), f32(x, op, "input"), pdw,
           accumulate, op);
  if (dbias.defined())
    launch_column_sums(f32(dy, op, "dy"), f32(dbias, op, "dbias"), n, out, accumulate,
                       ctx.stream, op);
}

}  // namespace fitrun::cuda
