// Fused optimizer updates: one kernel launch updates every parameter. A table of
// (pointers, size, first flat index) per parameter is uploaded once per call; each thread
// finds its parameter by binary search over the first indices. The per-element maths is the
// CPU's (src/ops/optimizer_math.hpp, shared with optimizers/), in float32, in the same order.
#include <string>
#include <vector>

#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"
#include "ops/optimizer_math.hpp"

namespace fitrun::cuda {

namespace om = ops::optimizer_math;

namespace {
constexpr int kMaxSlots = 3;

struct Slice {
  float* w;
  const float* g;
  float* slot[kMaxSlots];  // the rule's slots in its order; null when unused
  int64_t start;
};

enum class Rule { sgd, adam, amsgrad, rmsprop, adagrad };

struct Scalars {
  Rule rule;
  float lr, wd;
  float mu;  // SGD momentum
  bool nesterov, momentum, centered;  // momentum: SGD's or RMSprop's
  om::AdamScalars adam;
  om::RMSpropScalars rmsprop;
  om::AdagradScalars adagrad;
};

__device__ int find_slice(const Slice* s, int count, int64_t i) {
  int lo = 0, hi = count - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (s[mid].start <= i) lo = mid; else hi = mid - 1;
  }
  return lo;
}

__device__ void rmsprop(float& w, float g, float& vel, float& mom, float& avg, const Scalars& k) {
  if (k.momentum && k.centered) om::rmsprop_step<true, true>(w, g, vel, mom, avg, k.rmsprop);
  else if (k.centered) om::rmsprop_step<false, true>(w, g, vel, mom, avg, k.rmsprop);
  else if (k.momentum) om::rmsprop_step<true, false>(w, g, vel, mom, avg, k.rmsprop);
  else om::rmsprop_step<false, false>(w, g, vel, mom, avg, k.rmsprop);
}

__global__ void update_kernel(const Slice* slices, int count, int64_t total, Scalars k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const Slice s = slices[find_slice(slices, count, i)];
    const int64_t j = i - s.start;
    float w = s.w[j];
    const float g = s.g[j];
    float a[kMaxSlots];
    for (int q = 0; q < kMaxSlots; ++q) a[q] = s.slot[q] ? s.slot[q][j] : 0.f;
    if (k.wd != 0.f) om::decay_step(w, k.wd, k.lr);  // Keras' decoupled weight decay, first
    switch (k.rule) {
      case Rule::sgd:
        if (k.momentum) {
          a[0] = a[0] * k.mu - g * k.lr;
          w += k.nesterov ? a[0] * k.mu - g * k.lr : a[0];
        } else {
          w -= g * k.lr;
        }
        break;
      case Rule::adam: om::adam_step(w, g, a[0], a[1], k.adam); break;
      case Rule::amsgrad: om::amsgrad_step(w, g, a[0], a[1], a[2], k.adam); break;
      case Rule::rmsprop: rmsprop(w, g, a[0], a[1], a[2], k); break;
      case Rule::adagrad: om::adagrad_step(w, g, a[0], k.adagrad); break;
    }
    for (int q = 0; q < kMaxSlots; ++q)
      if (s.slot[q]) s.slot[q][j] = a[q];
    s.w[j] = w;
  }
}

/// Host and device copies of the slice table, grown as needed, and a device buffer for the
/// clipping sums (one double per slice). A pinned host buffer is not needed: the table is
/// small and uploaded with one ordered copy per step.
struct Table {
  std::vector<Slice> host;
  Slice* device = nullptr;
  size_t capacity = 0;
  double* sums = nullptr;  // capacity + 1 doubles
};

Table& table(Context& ctx) {
  static thread_local std::vector<Table> tables;  // one per device
  if (tables.size() <= static_cast<size_t>(ctx.device)) tables.resize(ctx.device + 1);
  Table& t = tables[static_cast<size_t>(ctx.device)];
  t.host.clear();
  return t;
}

/// Copies t.host to the device (growing the buffers first if needed).
void upload(Context& ctx, Table& t, const char* op) {
  if (t.host.size() > t.capacity) {
    if (t.device) {
      synchronize(ctx, op);
      FITRUN_CUDA_CHECK(cudaFree(t.device), op);
      FITRUN_CUDA_CHECK(cudaFree(t.sums), op);
    }
    t.capacity = t.host.size() * 2;
    FITRUN_CUDA_CHECK(cudaMalloc(&t.device, t.capacity * sizeof(Slice)), op);
    FITRUN_CUDA_CHECK(cudaMalloc(&t.sums, (t.capacity + 1) * sizeof(double)), op);
  }
  // The host vector must stay unchanged until the copy has read it: the copy from pageable
  // memory returns only once the data is staged.
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(t.device, t.host.data(), t.host.size() * sizeof(Slice),
                                    cudaMemcpyHostToDevice, ctx.stream),
                    op);
}

void run(Tensor* const* params, const Tensor* const* grads, std::initializer_list<om::SlotArg> slots,
         int count, const Scalars& k, const char* op) {
  if (count == 0) return;
  Context& ctx = context_of(*params[0], op);
  Table& t = table(ctx);
  int64_t total = 0;
  for (int i = 0; i < count; ++i) {
    om::check_update_tensors(op, i, params, grads, slots);
    Slice s{};
    s.w = f32(*params[i], op, "parameter");
    s.g = f32(*grads[i], op, "gradient");
    int q = 0;
    for (const om::SlotArg& a : slots) {
      if (a.name) s.slot[q] = f32(*a.at(i), op, a.name);
      ++q;
    }
    s.start = total;
    if (params[i]->size() == 0) continue;  // keeps the starts strictly increasing
    total += params[i]->size();
    t.host.push_back(s);
  }
  if (total == 0) return;
  upload(ctx, t, op);
  update_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      t.device, static_cast<int>(t.host.size()), total, k);
  FITRUN_CUDA_CHECK_LAUNCH("update_kernel", op);
}

// ---- gradient clipping: the slices' w are the gradients, clipped in place ----

/// One block per slice: its sum of squares in double, reduced in a fixed order (deterministic).
__global__ void slice_sum_squares(const Slice* slices, int count, int64_t total, double* sums) {
  const int s = blockIdx.x;
  const int64_t n = (s + 1 < count ? slices[s + 1].start : total) - slices[s].start;
  const float* g = slices[s].w;
  double acc = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) acc += double(g[j]) * g[j];
  __shared__ double part[kThreads];
  part[threadIdx.x] = acc;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) sums[s] = part[0];
}

/// global_clipnorm: sums[count] = the one scale, from every slice's sum in order.
__global__ void global_scale(double* sums, int count, float c) {
  double total = 0;
  for (int s = 0; s < count; ++s) total += sums[s];
  sums[count] = om::global_clip_scale(total, c);
}

__global__ void clip_kernel(const Slice* slices, int count, int64_t total, const double* sums,
                            ops::GradientClip clip) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int s = find_slice(slices, count, i);
    float& g = slices[s].w[i - slices[s].start];
    switch (clip.kind) {
      case ops::GradientClip::Kind::norm:
        om::clip_norm_step(g, static_cast<float>(sqrt(sums[s])), clip.limit);
        break;
      case ops::GradientClip::Kind::global_norm: g *= static_cast<float>(sums[count]); break;
      case ops::GradientClip::Kind::value: om::clip_value_step(g, clip.limit); break;
    }
  }
}

Scalars base(Rule rule, float lr, double wd) {
  Scalars k{};
  k.rule = rule;
  k.lr = lr;
  k.wd = static_cast<float>(wd);
  return k;
}
}  // namespace

void sgd_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* momenta,
                int count, const SGDUpdate& u) {
  Scalars k = base(Rule::sgd, u.learning_rate, u.weight_decay);
  k.mu = static_cast<float>(u.momentum);
  k.nesterov = u.nesterov;
  k.momentum = u.momentum != 0.0;
  run(params, grads, {{momenta, k.momentum ? "momentum" : nullptr}}, count, k, "sgd_update");
}

void adam_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                 Tensor* const* v, int count, const AdamUpdate& u) {
  Scalars k = base(Rule::adam, u.learning_rate, u.weight_decay);
  k.adam = om::adam_scalars(u);  // formed on the host exactly as the CPU does
  run(params, grads, {{m, "first moment"}, {v, "second moment"}}, count, k, "adam_update");
}

void amsgrad_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* m,
                    Tensor* const* v, Tensor* const* v_hat, int count, const AdamUpdate& u) {
  Scalars k = base(Rule::amsgrad, u.learning_rate, u.weight_decay);
  k.adam = om::adam_scalars(u);
  run(params, grads,
      {{m, "first moment"}, {v, "second moment"}, {v_hat, "maximum second moment"}}, count, k,
      "amsgrad_update");
}

void rmsprop_update(Tensor* const* params, const Tensor* const* grads, Tensor* const* velocity,
                    Tensor* const* momentum, Tensor* const* average_gradient, int count,
                    const RMSpropUpdate& u) {
  Scalars k = base(Rule::rmsprop, u.learning_rate, u.weight_decay);
  k.rmsprop = om::rmsprop_scalars(u);
  k.momentum = u.momentum > 0.0;
  k.centered = u.centered;
  run(params, grads,
      {{velocity, "velocity"},
       {momentum, k.momentum ? "momentum" : nullptr},
       {average_gradient, k.centered ? "average gradient" : nullptr}},
      count, k, "rmsprop_update");
}

void adagrad_update(Tensor* const* params, const Tensor* const* grads,
                    Tensor* const* accumulators, int count, const AdagradUpdate& u) {
  Scalars k = base(Rule::adagrad, u.learning_rate, u.weight_decay);
  k.adagrad = om::adagrad_scalars(u);
  run(params, grads, {{accumulators, "accumulator"}}, count, k, "adagrad_update");
}

void clip_gradients(Tensor* const* grads, int count, const GradientClip& clip) {
  const char* op = "clip_gradients";
  if (count == 0) return;
  Context& ctx = context_of(*grads[0], op);
  Table& t = table(ctx);
  int64_t total = 0;
  for (int i = 0; i < count; ++i) {
    Slice s{};
    s.w = f32(*grads[i], op, "gradient");
    s.start = total;
    if (grads[i]->size() == 0) continue;
    total += grads[i]->size();
    t.host.push_back(s);
  }
  if (total == 0) return;
  upload(ctx, t, op);
  const int slices = static_cast<int>(t.host.size());
  if (clip.kind != GradientClip::Kind::value) {
    slice_sum_squares<<<slices, kThreads, 0, ctx.stream>>>(t.device, slices, total, t.sums);
    FITRUN_CUDA_CHECK_LAUNCH("slice_sum_squares", op);
  }
  if (clip.kind == GradientClip::Kind::global_norm) {
    global_scale<<<1, 1, 0, ctx.stream>>>(t.sums, slices, clip.limit);
    FITRUN_CUDA_CHECK_LAUNCH("global_scale", op);
  }
  clip_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(t.device, slices, total, t.sums,
                                                              clip);
  FITRUN_CUDA_CHECK_LAUNCH("clip_kernel", op);
}

}  // namespace fitrun::cuda
