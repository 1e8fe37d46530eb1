// Shape ops on the GPU with the CPU's semantics (src/backend/onednn/image_loops.cpp and
// loops.cpp): zero padding, cropping, nearest upsampling (and its backward), permute,
// RepeatVector (and its backward), per-channel scaling, concat/split and row gathers. One
// grid-stride kernel per op (concat/split: one launch per input), each thread computing one
// output element, so every write is in bounds by construction and nothing needs a memset.
// Shapes and strides travel as kernel arguments by value (small structs with fixed arrays):
// nothing is uploaded per call. All indices are int64_t.
#include <cuda_runtime.h>

#include <cstring>
#include <string>
#include <vector>

#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"
#include "ops/op_shapes.hpp"

namespace fitrun::cuda {

namespace {
#define FITRUN_GRID_STRIDE(i, n)                                             \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
       i += int64_t(blockDim.x) * gridDim.x)

constexpr int kMaxRank = 8;

/// NHWC geometry of a window copy between a source and a destination of the same N and C.
struct Window {
  int64_t n, c;
  int64_t src_h, src_w;  // source spatial size
  int64_t dst_h, dst_w;  // destination spatial size
  int64_t top, left;     // destination (h, w) = source (h, w) + (top, left); may be negative
};

/// y(b, i, j, k) = x(b, i - top, j - left, k) when inside x, else 0 (zero_pad2d with top/left
/// >= 0; crop2d with top/left <= 0). One thread per destination element.
__global__ void window_kernel(const float* __restrict__ x, float* __restrict__ y, Window g,
                              int64_t total) {
  FITRUN_GRID_STRIDE(idx, total) {
    const int64_t k = idx % g.c;
    int64_t r = idx / g.c;
    const int64_t j = r % g.dst_w;
    r /= g.dst_w;
    const int64_t i = r % g.dst_h;
    const int64_t b = r / g.dst_h;
    const int64_t si = i - g.top, sj = j - g.left;
    float v = 0.f;
    if (si >= 0 && si < g.src_h && sj >= 0 && sj < g.src_w)
      v = x[((b * g.src_h + si) * g.src_w + sj) * g.c + k];
    y[idx] = v;
  }
}

/// y(b, i, j, k) = x(b, i / sh, j / sw, k); y is (n, h·sh, w·sw, c).
__global__ void upsample_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t h,
                                int64_t w, int64_t c, int64_t sh, int64_t sw, int64_t total) {
  const int64_t oh = h * sh, ow = w * sw;
  FITRUN_GRID_STRIDE(idx, total) {
    const int64_t k = idx % c;
    int64_t r = idx / c;
    const int64_t j = r % ow;
    r /= ow;
    const int64_t i = r % oh;
    const int64_t b = r / oh;
    y[idx] = x[((b * h + i / sh) * w + j / sw) * c + k];
  }
}

/// dx(b, i, j, k) = Σ_{a < sh, e < sw} dy(b, i·sh + a, j·sw + e, k), summed in the CPU's
/// order (a outer, e inner); dx is (n, h, w, c).
__global__ void upsample_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx,
                                         int64_t h, int64_t w, int64_t c, int64_t sh,
                                         int64_t sw, int64_t total) {
  const int64_t ow = w * sw;
  FITRUN_GRID_STRIDE(idx, total) {
    const int64_t k = idx % c;
    int64_t r = idx / c;
    const int64_t j = r % w;
    r /= w;
    const int64_t i = r % h;
    const int64_t b = r / h;
    float s = 0.f;
    for (int64_t a = 0; a < sh; ++a) {
      const float* row = dy + ((b * h + i) * sh + a) * ow * c;
      for (int64_t e = 0; e < sw; ++e) s += row[(j * sw + e) * c + k];
    }
    dx[idx] = s;
  }
}

/// y's dims and, for each axis of y, the stride of the x axis it comes from.
struct PermuteGeom {
  int rank;
  int64_t dims[kMaxRank];
  int64_t src_stride[kMaxRank];
};

__global__ void permute_kernel(const float* __restrict__ x, float* __restrict__ y,
                               PermuteGeom g, int64_t total) {
  FITRUN_GRID_STRIDE(idx, total) {
    int64_t r = idx, src = 0;
    for (int k = g.rank - 1; k >= 0; --k) {
      const int64_t coord = r % g.dims[k];
      r /= g.dims[k];
      src += coord * g.src_stride[k];
    }
    y[idx] = x[src];
  }
}

/// y(b, r, f) = x(b, f); y is (batch, n, f).
__global__ void repeat_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n,
                              int64_t f, int64_t total) {
  FITRUN_GRID_STRIDE(idx, total) y[idx] = x[(idx / (n * f)) * f + idx % f];
}

/// dx(b, f) = Σ_r dy(b, r, f), r ascending as on the CPU.
__global__ void repeat_backward_kernel(const float* __restrict__ dy, float* __restrict__ dx,
                                       int64_t n, int64_t f, int64_t total) {
  FITRUN_GRID_STRIDE(idx, total) {
    const int64_t b = idx / f, k = idx % f;
    const float* p = dy + b * n * f + k;
    float s = 0.f;
    for (int64_t r = 0; r < n; ++r) s += p[r * f];
    dx[idx] = s;
  }
}

/// y(b, r, k) = x(b, r, k) · s(b, k); x viewed as (n, rows, c).
__global__ void scale_channels_kernel(const float* __restrict__ x, const float* __restrict__ s,
                                      float* __restrict__ y, int64_t rows, int64_t c,
                                      int64_t total) {
  FITRUN_GRID_STRIDE(idx, total) {
    const int64_t b = idx / (rows * c), k = idx % c;
    y[idx] = x[idx] * s[b * c + k];
  }
}

/// Concat/split of one part: the part is (outer, len, inner), the whole (outer, whole_len,
/// inner), and the part starts at `offset` along the axis. One thread per part element.
/// to_whole: whole = part (concat); else part (+)= whole (split).
__global__ void part_kernel(float* whole, float* part, int64_t len, int64_t inner,
                            int64_t whole_len, int64_t offset, bool to_whole, bool accumulate,
                            int64_t total) {
  const int64_t chunk = len * inner;
  FITRUN_GRID_STRIDE(idx, total) {
    const int64_t o = idx / chunk, rem = idx % chunk;
    const int64_t w = o * whole_len * inner + offset * inner + rem;
    if (to_whole) {
      whole[w] = part[idx];
    } else {
      part[idx] = accumulate ? part[idx] + whole[w] : whole[w];
    }
  }
}

/// dst row i = src row index[i], in units of T (4-byte words or bytes).
template <class T>
__global__ void gather_kernel(const T* __restrict__ src, const int64_t* __restrict__ index,
                              T* __restrict__ dst, int64_t row, int64_t total) {
  FITRUN_GRID_STRIDE(idx, total) {
    const int64_t i = idx / row, e = idx % row;
    dst[idx] = src[index[i] * row + e];
  }
}

[[noreturn]] void mismatch(const char* op, const Tensor& a, const Tensor& b) {
  throw ShapeError(std::string(op) + ": shapes " + a.shape().to_string() + " and " +
                   b.shape().to_string() + " do not match");
}
void require(bool ok, const char* op, const Tensor& a, const Tensor& b) {
  if (!ok) mismatch(op, a, b);
}

void launch_window(const float* x, float* y, const Window& g, cudaStream_t stream,
                   const char* op) {
  const int64_t total = g.n * g.dst_h * g.dst_w * g.c;
  if (total == 0) return;
  window_kernel<<<blocks_for(total), kThreads, 0, stream>>>(x, y, g, total);
  FITRUN_CUDA_CHECK_LAUNCH("window_kernel", op);
}

using ops::shapes::around;
using ops::shapes::Split3;

/// Checks that the parts share every dim of `whole` but `axis`, and that their lengths along
/// it add up to whole's; returns the normalized axis.
int check_parts(const char* op, const Tensor& whole, const Tensor* const* parts, int count,
                int axis) {
  const int r = whole.rank();
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) + " is out of range for " +
                     whole.shape().to_string());
  int64_t sum = 0;
  for (int k = 0; k < count; ++k) {
    if (!parts[k] || !parts[k]->defined())
      throw Error(std::string(op) + ": part " + std::to_string(k) + " is undefined");
    const Tensor& p = *parts[k];
    bool ok = p.rank() == r;
    for (int i = 0; ok && i < r; ++i) ok = i == axis || p.dim(i) == whole.dim(i);
    require(ok, op, p, whole);
    sum += p.dim(axis);
  }
  if (sum != whole.dim(axis))
    throw ShapeError(std::string(op) + ": the parts' sizes along axis " + std::to_string(axis) +
                     " add up to " + std::to_string(sum) + ", not " +
                     std::to_string(whole.dim(axis)) + " as in " + whole.shape().to_string());
  return axis;
}
}  // namespace

// ---- launchers shared with conv.cpp ----
void launch_zero_pad2d(const float* x, int64_t n, int64_t h, int64_t w, int64_t c, int64_t top,
                       int64_t left, float* y, int64_t oh, int64_t ow, cudaStream_t stream,
                       const char* op) {
  launch_window(x, y, Window{n, c, h, w, oh, ow, top, left}, stream, op);
}

void launch_crop2d(const float* x, int64_t n, int64_t h, int64_t w, int64_t c, int64_t top,
                   int64_t left, float* y, int64_t oh, int64_t ow, cudaStream_t stream,
                   const char* op) {
  launch_window(x, y, Window{n, c, h, w, oh, ow, -top, -left}, stream, op);
}

// ---- ops ----
void zero_pad2d(const Tensor& x, int64_t top, int64_t left, Tensor& y) {
  const char* op = "zero_pad2d";
  require(x.rank() == 4 && y.rank() == 4 && x.dim(0) == y.dim(0) && x.dim(3) == y.dim(3) &&
              top >= 0 && left >= 0 && top + x.dim(1) <= y.dim(1) && left + x.dim(2) <= y.dim(2),
          op, x, y);
  if (y.size() == 0) return;
  Context& ctx = context_of(y, op);
  launch_zero_pad2d(f32(x, op, "input"), x.dim(0), x.dim(1), x.dim(2), x.dim(3), top, left,
                    f32(y, op, "output"), y.dim(1), y.dim(2), ctx.stream, op);
}

void crop2d(const Tensor& x, int64_t top, int64_t left, Tensor& y) {
  const char* op = "crop2d";
  require(x.rank() == 4 && y.rank() == 4 && x.dim(0) == y.dim(0) && x.dim(3) == y.dim(3) &&
              top >= 0 && left >= 0 && top + y.dim(1) <= x.dim(1) && left + y.dim(2) <= x.dim(2),
          op, x, y);
  if (y.size() == 0) return;
  Context& ctx = context_of(y, op);
  launch_crop2d(f32(x, op, "input"), x.dim(0), x.dim(1), x.dim(2), x.dim(3), top, left,
                f32(y, op, "output"), y.dim(1), y.dim(2), ctx.stream, op);
}

void upsample2d_nearest(const Tensor& x, int64_t sh, int64_t sw, Tensor& y) {
  const char* op = "upsample2d_nearest";
  require(x.rank() == 4 && y.rank() == 4 && x.dim(0) == y.dim(0) && x.dim(3) == y.dim(3) &&
              sh >= 1 && sw >= 1 && y.dim(1) == x.dim(1) * sh && y.dim(2) == x.dim(2) * sw,
          op, x, y);
  const int64_t total = y.size();
  if (total == 0) return;
  Context& ctx = context_of(y, op);
  upsample_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      f32(x, op, "input"), f32(y, op, "output"), x.dim(1), x.dim(2), x.dim(3), sh, sw, total);
  FITRUN_CUDA_CHECK_LAUNCH("upsample_kernel", op);
}

void upsample2d_nearest_backward(const Tensor& dy, int64_t sh, int64_t sw, Tensor& dx) {
  const char* op = "upsample2d_nearest_backward";
  require(dx.rank() == 4 && dy.rank() == 4 && dx.dim(0) == dy.dim(0) &&
              dx.dim(3) == dy.dim(3) && sh >= 1 && sw >= 1 && dy.dim(1) == dx.dim(1) * sh &&
              dy.dim(2) == dx.dim(2) * sw,
          op, dx, dy);
  const int64_t total = dx.size();
  if (total == 0) return;
  Context& ctx = context_of(dx, op);
  upsample_backward_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      f32(dy, op, "dy"), f32(dx, op, "dx"), dx.dim(1), dx.dim(2), dx.dim(3), sh, sw, total);
  FITRUN_CUDA_CHECK_LAUNCH("upsample_backward_kernel", op);
}

void permute(const Tensor& x, const int* perm, Tensor& y) {
  const char* op = "permute";
  const int r = x.rank();
  bool ok = y.rank() == r && r >= 1 && r <= kMaxRank;
  std::vector<bool> used(static_cast<size_t>(r > 0 ? r : 0), false);
  for (int k = 0; ok && k < r; ++k) {
    ok = perm[k] >= 0 && perm[k] < r && !used[static_cast<size_t>(perm[k])] &&
         y.dim(k) == x.dim(perm[k]);
    if (ok) used[static_cast<size_t>(perm[k])] = true;
  }
  require(ok, op, x, y);
  const int64_t total = y.size();
  if (total == 0) return;
  PermuteGeom g{};
  g.rank = r;
  int64_t xstride[kMaxRank];
  int64_t stride = 1;
  for (int k = r - 1; k >= 0; --k) {
    xstride[k] = stride;
    stride *= x.dim(k);
  }
  for (int k = 0; k < r; ++k) {
    g.dims[k] = y.dim(k);
    g.src_stride[k] = xstride[perm[k]];
  }
  Context& ctx = context_of(y, op);
  permute_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(f32(x, op, "input"),
                                                                 f32(y, op, "output"), g, total);
  FITRUN_CUDA_CHECK_LAUNCH("permute_kernel", op);
}

void repeat_vector(const Tensor& x, int64_t n, Tensor& y) {
  const char* op = "repeat_vector";
  require(x.rank() == 2 && y.rank() == 3 && y.dim(0) == x.dim(0) && y.dim(1) == n &&
              y.dim(2) == x.dim(1),
          op, x, y);
  const int64_t total = y.size();
  if (total == 0) return;
  Context& ctx = context_of(y, op);
  repeat_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      f32(x, op, "input"), f32(y, op, "output"), n, x.dim(1), total);
  FITRUN_CUDA_CHECK_LAUNCH("repeat_kernel", op);
}

void repeat_vector_backward(const Tensor& dy, int64_t n, Tensor& dx) {
  const char* op = "repeat_vector_backward";
  require(dx.rank() == 2 && dy.rank() == 3 && dy.dim(0) == dx.dim(0) && dy.dim(1) == n &&
              dy.dim(2) == dx.dim(1),
          op, dx, dy);
  const int64_t total = dx.size();
  if (total == 0) return;
  Context& ctx = context_of(dx, op);
  repeat_backward_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      f32(dy, op, "dy"), f32(dx, op, "dx"), n, dx.dim(1), total);
  FITRUN_CUDA_CHECK_LAUNCH("repeat_backward_kernel", op);
}

void scale_channels(const Tensor& x, const Tensor& s, Tensor& y) {
  const char* op = "scale_channels";
  require(x.rank() >= 2, op, x, s);
  const int64_t n = x.dim(0), c = x.dim(-1);
  require(s.size() == n * c && y.size() == x.size(), op, x, s);
  const int64_t total = x.size();
  if (total == 0) return;
  const int64_t rows = total / (n * c);  // spatial positions per sample
  Context& ctx = context_of(y, op);
  scale_channels_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
      f32(x, op, "input"), f32(s, op, "scale"), f32(y, op, "output"), rows, c, total);
  FITRUN_CUDA_CHECK_LAUNCH("scale_channels_kernel", op);
}

void concat(const Tensor* const* inputs, int count, int axis, Tensor& y) {
  const char* op = "concat";
  axis = check_parts(op, y, inputs, count, axis);
  const Split3 whole = around(y.shape(), axis);
  Context& ctx = context_of(y, op);
  float* py = y.size() ? f32(y, op, "output") : nullptr;
  int64_t offset = 0;
  for (int k = 0; k < count; ++k) {
    const Tensor& in = *inputs[k];
    const Split3 part = around(in.shape(), axis);
    const int64_t total = in.size();
    if (total > 0) {
      part_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
          py, f32(in, op, "input"), part.len, part.inner, whole.len, offset, true, false, total);
      FITRUN_CUDA_CHECK_LAUNCH("part_kernel", op);
    }
    offset += part.len;
  }
}

void split(const Tensor& dy, int axis, Tensor* const* outputs, int count, bool accumulate) {
  const char* op = "split";
  std::vector<const Tensor*> parts(outputs, outputs + count);
  axis = check_parts(op, dy, parts.data(), count, axis);
  const Split3 whole = around(dy.shape(), axis);
  Context& ctx = context_of(dy, op);
  float* pdy = dy.size() ? f32(dy, op, "dy") : nullptr;
  int64_t offset = 0;
  for (int k = 0; k < count; ++k) {
    Tensor& out = *outputs[k];
    const Split3 part = around(out.shape(), axis);
    const int64_t total = out.size();
    if (total > 0) {
      part_kernel<<<blocks_for(total), kThreads, 0, ctx.stream>>>(
          pdy, f32(out, op, "output"), part.len, part.inner, whole.len, offset, false,
          accumulate, total);
      FITRUN_CUDA_CHECK_LAUNCH("part_kernel", op);
    }
    offset += part.len;
  }
}

void gather_rows(const Tensor& src, const int64_t* index, int64_t count, Tensor& dst) {
  const char* op = "gather_rows";
  if (!src.defined() || !dst.defined() || src.rank() < 1 || dst.rank() < 1 ||
      src.dtype() != dst.dtype() || dst.dim(0) < count ||
      src.shape().sample_size() != dst.shape().sample_size())
    mismatch(op, src, dst);
  if (count <= 0) return;
  const int64_t rows = src.dim(0);
  for (int64_t i = 0; i < count; ++i)
    if (index[i] < 0 || index[i] >= rows)
      throw Error(std::string(op) + ": index " + std::to_string(index[i]) + " at position " +
                  std::to_string(i) + " is out of range for " + std::to_string(rows) + " rows");
  const int64_t row_bytes =
      src.shape().sample_size() * static_cast<int64_t>(dtype_size(src.dtype()));
  if (row_bytes == 0) return;
  Context& ctx = context_of(dst, op);
  const void* ps = src.device_data();
  void* pd = dst.device_data();
  if (!src.device().is_cuda() || !dst.device().is_cuda())
    throw Error(std::string(op) + ": expected tensors on a CUDA device");

  // The indices travel through a pinned staging buffer this file owns (the caller may reuse
  // its array as soon as we return) into a device buffer, both grow-only per device. Before
  // the staging buffer is overwritten, the previous upload from it must have finished: an
  // event recorded after each upload is waited for (normally long complete by then).
  struct Staging {
    int64_t* host = nullptr;
    int64_t* device = nullptr;
    int64_t capacity = 0;
    cudaEvent_t uploaded = nullptr;
  };
  static thread_local std::vector<Staging> staging;  // [device]
  if (staging.size() <= static_cast<size_t>(ctx.device))
    staging.resize(static_cast<size_t>(ctx.device) + 1);
  Staging& s = staging[static_cast<size_t>(ctx.device)];
  if (!s.uploaded)
    FITRUN_CUDA_CHECK(cudaEventCreateWithFlags(&s.uploaded, cudaEventDisableTiming), op);
  else
    FITRUN_CUDA_CHECK(cudaEventSynchronize(s.uploaded), op);
  if (count > s.capacity) {
    if (s.device) {
      synchronize(ctx, op);  // the previous gather may still read the device buffer
      FITRUN_CUDA_CHECK(cudaFree(s.device), op);
      s.device = nullptr;
    }
    if (s.host) {
      FITRUN_CUDA_CHECK(cudaFreeHost(s.host), op);
      s.host = nullptr;
    }
    s.capacity = 0;
    const int64_t cap = count < 1024 ? 1024 : count;
    FITRUN_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&s.host),
                                     static_cast<size_t>(cap) * sizeof(int64_t)),
                      op);
    FITRUN_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&s.device),
                                 static_cast<size_t>(cap) * sizeof(int64_t)),
                      op);
    s.capacity = cap;
  }
  std::memcpy(s.host, index, static_cast<size_t>(count) * sizeof(int64_t));
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(s.device, s.host, static_cast<size_t>(count) * sizeof(int64_t),
                                    cudaMemcpyHostToDevice, ctx.stream),
                    op);
  FITRUN_CUDA_CHECK(cudaEventRecord(s.uploaded, ctx.stream), op);

  const bool words = row_bytes % 4 == 0 && reinterpret_cast<uintptr_t>(ps) % 4 == 0 &&
                     reinterpret_cast<uintptr_t>(pd) % 4 == 0;
  if (words) {
    const int64_t row = row_bytes / 4, total = count * row;
    gather_kernel<uint32_t><<<blocks_for(total), kThreads, 0, ctx.stream>>>(
        static_cast<const uint32_t*>(ps), s.device, static_cast<uint32_t*>(pd), row, total);
  } else {
    const int64_t total = count * row_bytes;
    gather_kernel<unsigned char><<<blocks_for(total), kThreads, 0, ctx.stream>>>(
        static_cast<const unsigned char*>(ps), s.device, static_cast<unsigned char*>(pd),
        row_bytes, total);
  }
  FITRUN_CUDA_CHECK_LAUNCH("gather_kernel", op);
}

}  // namespace fitrun::cuda
