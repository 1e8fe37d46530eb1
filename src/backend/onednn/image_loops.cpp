// Spatial reshaping on channels_last tensors: zero padding, cropping, nearest upsampling,
// RepeatVector and per-channel scaling are plain loops (each row of C channels is contiguous,
// so they are memcpy/simd over C); Permute is a oneDNN reorder between strided views.
#include <cstring>

#include "backend/onednn/context.hpp"
#include "backend/onednn/cpu_ops.hpp"

namespace fitrun::cpu {

using namespace fitrun::onednn;
using dnnl::memory;

namespace {
enum Op { kPermute = 600 };

void require(bool ok, const char* op, const Tensor& a, const Tensor& b) {
  if (!ok)
    throw ShapeError(std::string(op) + ": shapes " + a.shape().to_string() + " and " +
                     b.shape().to_string() + " do not match");
}

/// Copies a (h, w) window of channel rows between two NHWC tensors of the same N and C.
void copy_window(const Tensor& src, int64_t src_top, int64_t src_left, Tensor& dst,
                 int64_t dst_top, int64_t dst_left, int64_t h, int64_t w) {
  const int64_t n = src.dim(0), c = src.dim(3);
  const int64_t sh = src.dim(1), sw = src.dim(2), dh = dst.dim(1), dw = dst.dim(2);
  const float* ps = src.data<float>();
  float* pd = dst.data<float>();
  const size_t row = static_cast<size_t>(w * c) * sizeof(float);
#pragma omp parallel for collapse(2) schedule(static) if (n * h * w * c >= kParallelMin)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < h; ++i)
      std::memcpy(pd + ((b * dh + dst_top + i) * dw + dst_left) * c,
                  ps + ((b * sh + src_top + i) * sw + src_left) * c, row);
}
}  // namespace

void zero_pad2d(const Tensor& x, int64_t top, int64_t left, Tensor& y) {
  require(x.rank() == 4 && y.rank() == 4 && x.dim(0) == y.dim(0) && x.dim(3) == y.dim(3) &&
              top >= 0 && left >= 0 && top + x.dim(1) <= y.dim(1) && left + x.dim(2) <= y.dim(2),
          "zero_pad2d", x, y);
  std::memset(y.raw(), 0, y.nbytes());
  copy_window(x, 0, 0, y, top, left, x.dim(1), x.dim(2));
}

void crop2d(const Tensor& x, int64_t top, int64_t left, Tensor& y) {
  require(x.rank() == 4 && y.rank() == 4 && x.dim(0) == y.dim(0) && x.dim(3) == y.dim(3) &&
              top >= 0 && left >= 0 && top + y.dim(1) <= x.dim(1) && left + y.dim(2) <= x.dim(2),
          "crop2d", x, y);
  copy_window(x, top, left, y, 0, 0, y.dim(1), y.dim(2));
}

void upsample2d_nearest(const Tensor& x, int64_t sh, int64_t sw, Tensor& y) {
  require(x.rank() == 4 && y.rank() == 4 && x.dim(0) == y.dim(0) && x.dim(3) == y.dim(3) &&
              y.dim(1) == x.dim(1) * sh && y.dim(2) == x.dim(2) * sw,
          "upsample2d_nearest", x, y);
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  const int64_t oh = h * sh, ow = w * sw;
  const float* px = x.data<float>();
  float* py = y.data<float>();
  const size_t bytes = static_cast<size_t>(c) * sizeof(float);
#pragma omp parallel for collapse(2) schedule(static) if (y.size() >= kParallelMin)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < oh; ++i) {
      const float* src = px + (b * h + i / sh) * w * c;
      float* dst = py + (b * oh + i) * ow * c;
      for (int64_t j = 0; j < ow; ++j) std::memcpy(dst + j * c, src + (j / sw) * c, bytes);
    }
}

void upsample2d_nearest_backward(const Tensor& dy, int64_t sh, int64_t sw, Tensor& dx) {
  require(dx.rank() == 4 && dy.rank() == 4 && dx.dim(0) == dy.dim(0) &&
              dx.dim(3) == dy.dim(3) && dy.dim(1) == dx.dim(1) * sh &&
              dy.dim(2) == dx.dim(2) * sw,
          "upsample2d_nearest_backward", dx, dy);
  const int64_t n = dx.dim(0), h = dx.dim(1), w = dx.dim(2), c = dx.dim(3);
  const int64_t ow = w * sw;
  const float* pdy = dy.data<float>();
  float* pdx = dx.data<float>();
#pragma omp parallel for collapse(2) schedule(static) if (dy.size() >= kParallelMin)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < h; ++i) {
      float* out = pdx + (b * h + i) * w * c;
      std::memset(out, 0, static_cast<size_t>(w * c) * sizeof(float));
      for (int64_t a = 0; a < sh; ++a) {
        const float* in = pdy + ((b * h + i) * sh + a) * ow * c;
        for (int64_t j = 0; j < ow; ++j) {
          float* o = out + (j / sw) * c;
          const float* s = in + j * c;
#pragma omp simd
          for (int64_t k = 0; k < c; ++k) o[k] += s[k];
        }
      }
    }
}

void permute(const Tensor& x, const int* perm, Tensor& y) {
  const int r = x.rank();
  bool ok = y.rank() == r && r >= 1 && r <= 6;
  for (int k = 0; ok && k < r; ++k) ok = perm[k] >= 0 && perm[k] < r && y.dim(k) == x.dim(perm[k]);
  require(ok, "permute", x, y);
  check_cpu_f32(x, "permute", "input");
  Key key(kPermute, {});
  key.v[1] = r;
  for (int k = 0; k < r; ++k) {
    key.v[static_cast<size_t>(2 + k)] = x.dim(k);
    key.v[static_cast<size_t>(8 + k)] = perm[k];
  }
  Primitive& p = cached(key, [&] {
    return guarded("permute", [&] {
      // y's dims with x's strides permuted: a strided view of x in y's logical order.
      const size_t n = static_cast<size_t>(r);
      memory::dims dims(n), xstrides(n), src_strides(n), dst_strides(n);
      int64_t stride = 1, ystride = 1;
      for (int k = r - 1; k >= 0; --k) {
        xstrides[static_cast<size_t>(k)] = stride;
        stride *= x.dim(k);
        dst_strides[static_cast<size_t>(k)] = ystride;
        ystride *= y.dim(k);
      }
      for (size_t k = 0; k < n; ++k) {
        dims[k] = y.dim(static_cast<int>(k));
        src_strides[k] = xstrides[static_cast<size_t>(perm[k])];
      }
      memory::desc from(dims, dt::f32, src_strides);
      memory::desc to(dims, dt::f32, dst_strides);
      dnnl::reorder::primitive_desc pd(engine(), from, engine(), to, default_attr());
      Primitive q;
      q.prim = dnnl::reorder(pd);
      q.args[DNNL_ARG_FROM] = memory(from, engine(), nullptr);
      q.args[DNNL_ARG_TO] = memory(to, engine(), nullptr);
      reserve_scratchpad(pd.scratchpad_desc(), q);
      return q;
    });
  });
  p.run({{DNNL_ARG_FROM, x.raw()}, {DNNL_ARG_TO, y.raw()}});
}

void repeat_vector(const Tensor& x, int64_t n, Tensor& y) {
  require(x.rank() == 2 && y.rank() == 3 && y.dim(0) == x.dim(0) && y.dim(1) == n &&
              y.dim(2) == x.dim(1),
          "repeat_vector", x, y);
  const int64_t b = x.dim(0), f = x.dim(1);
  const float* px = x.data<float>();
  float* py = y.data<float>();
  const size_t bytes = static_cast<size_t>(f) * sizeof(float);
#pragma omp parallel for collapse(2) schedule(static) if (y.size() >= kParallelMin)
  for (int64_t i = 0; i < b; ++i)
    for (int64_t r = 0; r < n; ++r) std::memcpy(py + (i * n + r) * f, px + i * f, bytes);
}

void repeat_vector_backward(const Tensor& dy, int64_t n, Tensor& dx) {
  require(dx.rank() == 2 && dy.rank() == 3 && dy.dim(0) == dx.dim(0) && dy.dim(1) == n &&
              dy.dim(2) == dx.dim(1),
          "repeat_vector_backward", dx, dy);
  const int64_t b = dx.dim(0), f = dx.dim(1);
  const float* pdy = dy.data<float>();
  float* pdx = dx.data<float>();
#pragma omp parallel for schedule(static) if (dy.size() >= kParallelMin)
  for (int64_t i = 0; i < b; ++i) {
    float* o = pdx + i * f;
    std::memset(o, 0, static_cast<size_t>(f) * sizeof(float));
    for (int64_t r = 0; r < n; ++r) {
      const float* s = pdy + (i * n + r) * f;
#pragma omp simd
      for (int64_t k = 0; k < f; ++k) o[k] += s[k];
    }
  }
}

void scale_channels(const Tensor& x, const Tensor& s, Tensor& y) {
  const int64_t n = x.dim(0), c = x.dim(-1);
  require(s.size() == n * c && y.size() == x.size(), "scale_channels", x, s);
  const int64_t rows = n * c != 0 ? x.size() / (n * c) : 0;  // spatial positions per sample
  const float* px = x.data<float>();
  const float* ps = s.data<float>();
  float* py = y.data<float>();
#pragma omp parallel for collapse(2) schedule(static) if (x.size() >= kParallelMin)
  for (int64_t b = 0; b < n; ++b)
    for (int64_t r = 0; r < rows; ++r) {
      const float* in = px + (b * rows + r) * c;
      const float* f = ps + b * c;
      float* out = py + (b * rows + r) * c;
#pragma omp simd
      for (int64_t k = 0; k < c; ++k) out[k] = in[k] * f[k];
    }
}

}  // namespace fitrun::cpu
