// Fused optimizer updates: one kernel launch updates every parameter. A table of
// (pointers, size, first flat index) per parameter is uploaded once per call; each thread
// finds its parameter by binary search over the first indices. The maths is the CPU's
// (src/backend/onednn/optimizer_updates.cpp), in float32, in the same order.
#include <cmath>
#include <string>
#include <vector>

#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cuda {

namespace {
struct Slice {
  float* w;
  const float* g;
  float* m;  // momentum / first moment (null for plain SGD)
  float* v;  // second moment (Adam)
  int64_t start;
};

struct Scalars {
  float lr, wd, mu, alpha, one_minus_b1, one_minus_b2, eps;
  bool nesterov, adam, momentum;
};

__device__ int find_slice(const Slice* s, int count, int64_t i) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (s[mid].start <= i) lo = mid; else hi = mid - 1;
  }
  return lo;
}

__global__ void update_kernel(const Slice* slices, int count, int64_t total, Scalars k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const Slice s = slices[find_slice(slices, count, i)];
    const int64_t j = i - s.start;
    float w = s.w[j];
    const float g = s.g[j];
    if (k.wd != 0.f) w = w - w * k.wd * k.lr;  // Keras' decoupled weight decay, first
    if (k.adam) {
      float m = s.m[j], v = s.v[j];
      m += (g - m) * k.one_minus_b1;
      v += (g * g - v) * k.one_minus_b2;
      w -= m * k.alpha / (sqrtf(v) + k.eps);
      s.m[j] = m;
      s.v[j] = v;
    } else if (k.momentum) {
      float m = s.m[j];
      m = m * k.mu - g * k.lr;
      w += k.nesterov ? m * k.mu - g * k.lr : m;
      s.m[j] = m;
    } else {
      w -= g * k.lr;
    }
    s.w[j] = w;
  }
}

/// Host and device copies of the slice table, grown as needed. A pinned host buffer is not
/// needed: the table is small and uploaded with one ordered copy per step.
struct Table {
  std::vector<Slice> host;
  Slice* device = nullptr;
  size_t capacity = 0;
};

void run(Tensor* const* params, const Tensor* const* grads, Tensor* const* ms,
         Tensor* const* vs, int count, const Scalars& k, const char* op) {
  if (count == 0) return;
  Context& ctx = context_of(*params[0], op);
  static thread_local std::vector<Table> tables;  // one per device
  if (tables.size() <= static_cast<size_t>(ctx.device)) tables.resize(ctx.device + 1);
  Table& t = tables[static_cast<size_t>(ctx.device)];
  t.host.clear();
  int64_t total = 0;
  for (int i = 0; i < count; ++i) {
    if (!params[i] || !grads[i] || params[i]->size() != grads[i]->size())
      throw ShapeError(std::string(op) + ": parameter " + std::to_string(i) +
                       " and its gradient differ in size");
    Slice s{};
    s.w = f32(*params[i], op, "parameter");
    s.g = f32(*grads[i], op, "gradient");
    if (k.adam || k.momentum) s.m = f32(*ms[i], op, k.adam ? "first moment" : "momentum");
    if (k.adam) s.v = f32(*vs[i], op, "second moment");
    s.start = total;
    if (params[i]->size() == 0) continue;  // keeps the starts strictly increasing
    total += params[i]->size();
    t.host.push_back(s);
  }
  if (total == 0) return;
  if (t.host.size() > t.capacity) {
    if (t.device) {
      synchronize(ctx, op);
      FITRUN_CUDA_CHECK(cudaFree(t.device), op);
    }
    t.capacity = t.host.size() * 2;
    FITRUN_CUDA_CHECK(cudaMalloc(&t.device, t.capacity * sizeof(Slice)), op);
  }
  // The host vector must stay unchanged until the copy has read it: the copy from pageable
  // memory returns only once the data is staged.
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(t.device, t.host.data(), t.host.size() * sizeof(Slice),
                                    cudaMemcpyHostToDevice, ctx.stream),
                    op);
  update_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      t.device, static_cast<int>(t.host.size()), total, k);
  FITRUN_CUDA_CHECK_LAUNCH("update_kernel", op);
}
}  // namespace

void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta,
                int count, const SGDUpdate& u) {
  Scalars k{};
  k.lr = u.learning_rate;
  k.wd = static_cast<float>(u.weight_decay);
  k.mu = static_cast<float>(u.momentum);
  k.nesterov = u.nesterov;
  k.momentum = u.momentum != 0.0;
  run(params, grads, momenta, nullptr, count, k, "sgd_update");
}

void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                 Tensor* const* v, int count, const AdamUpdate& u) {
  Scalars k{};
  k.adam = true;
  k.lr = u.learning_rate;
  k.wd = static_cast<float>(u.weight_decay);
  const float t = static_cast<float>(u.step);
  // Formed on the host exactly as the CPU does (float pow, then the folded step size).
  k.alpha = k.lr * std::sqrt(1.f - std::pow(static_cast<float>(u.beta_2), t)) /
            (1.f - std::pow(static_cast<float>(u.beta_1), t));
  k.one_minus_b1 = static_cast<float>(1.0 - u.beta_1);
  k.one_minus_b2 = static_cast<float>(1.0 - u.beta_2);
  k.eps = static_cast<float>(u.epsilon);
  run(params, grads, m, v, count, k, "adam_update");
}

}  // namespace fitrun::cuda
