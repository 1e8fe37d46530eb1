// The CPU ops oneDNN has no primitive for (or where a primitive would cost more than it
// saves): elementwise arithmetic, reductions, dropout masks, concat/split and row gathers.
// Loops are OpenMP-parallel with static schedules, so results do not depend on timing.
#include <cstring>

#include "backend/onednn/context.hpp"
#include "backend/onednn/cpu_ops.hpp"
#include "ops/regularizer_math.hpp"
#include "ops/op_shapes.hpp"

namespace fitrun::cpu {

using fitrun::onednn::kParallelMin;

namespace {
void check_same_size(const Tensor& a, const Tensor& b, const char* op) {
  if (a.size() != b.size())
    throw ShapeError(std::string(op) + ": shapes " + a.shape().to_string() + " and " +
                     b.shape().to_string() + " differ in size");
}

/// Counter-based hash (SplitMix64 finalizer): element i's random bits do not depend on how the
/// loop is split between threads.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

void copy(const Tensor& src, Tensor& dst) {
  check_same_size(src, dst, "copy");
  if (src.raw() != dst.raw()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
}

void fill(Tensor& t, float value) {
  float* p = t.data<float>();
  const int64_t n = t.size();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) p[i] = value;
}

void add(const Tensor& a, const Tensor& b, Tensor& y) {
  check_same_size(a, b, "add");
  check_same_size(a, y, "add");
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  const int64_t n = a.size();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) py[i] = pa[i] + pb[i];
}

void add_inplace(Tensor& acc, const Tensor& x) {
  check_same_size(acc, x, "add_inplace");
  float* pa = acc.data<float>();
  const float* px = x.data<float>();
  const int64_t n = acc.size();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) pa[i] += px[i];
}

void scale(const Tensor& x, float alpha, Tensor& y) {
  check_same_size(x, y, "scale");
  const float* px = x.data<float>();
  float* py = y.data<float>();
  const int64_t n = x.size();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) py[i] = alpha * px[i];
}

void mul(const Tensor& a, const Tensor& b, Tensor& y) {
  check_same_size(a, b, "mul");
  check_same_size(a, y, "mul");
  const float *pa = a.data<float>(), *pb = b.data<float>();
  float* py = y.data<float>();
  const int64_t n = a.size();
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) py[i] = pa[i] * pb[i];
}

double sum(const Tensor& x) {
  const float* p = x.data<float>();
  double s = 0;
  for (int64_t i = 0; i < x.size(); ++i) s += p[i];  // serial: bit-reproducible
  return s;
}

double sum_squares(const Tensor& x) {
  const float* p = x.data<float>();
  double s = 0;
  for (int64_t i = 0; i < x.size(); ++i) s += double(p[i]) * p[i];
  return s;
}

double sum_abs(const Tensor& x) {
  const float* p = x.data<float>();
  double s = 0;
  for (int64_t i = 0; i < x.size(); ++i) s += std::abs(p[i]);
  return s;
}

void add_regularizer_gradient(const Tensor& w, Tensor& grad, float l1, float l2x2) {
  const float* p = w.data<float>();
  float* g = grad.data<float>();
  const int64_t n = w.size();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) g[i] += regularizer_gradient(p[i], l1, l2x2);
}

void sum_rows(const Tensor& x, Tensor& out, bool accumulate) {
  const int64_t cols = out.size(), rows = cols ? x.size() / cols : 0;
  const float* px = x.data<float>();
  float* po = out.data<float>();
  if (!accumulate) std::memset(po, 0, out.nbytes());
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = px + r * cols;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) po[c] += row[c];
  }
}

void dropout_forward(const Tensor& x, float rate, uint64_t seed, uint64_t counter, Tensor& mask,
                     Tensor& y) {
  const int64_t n = x.size();
  const float* px = x.data<float>();
  float* pm = mask.data<float>();
  float* py = y.data<float>();
  const float keep_scale = 1.f / (1.f - rate);
  // Keep when the element's 24-bit uniform is >= rate.
  const uint64_t threshold = static_cast<uint64_t>(static_cast<double>(rate) * (1 << 24));
  const uint64_t base = mix(seed ^ mix(counter + 0x632be59bd9b4e019ULL));
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t r = mix(base + static_cast<uint64_t>(i)) >> 40;
    pm[i] = r >= threshold ? keep_scale : 0.f;
    py[i] = px[i] * pm[i];
  }
}

void dropout_backward(const Tensor& dy, const Tensor& mask, Tensor& dx) { mul(dy, mask, dx); }

using ops::shapes::around;
using ops::shapes::Split3;

void concat(const Tensor* const* inputs, int count, int axis, Tensor& y) {
  const Split3 out = around(y.shape(), axis);
  float* py = y.data<float>();
  int64_t offset = 0;
  for (int k = 0; k < count; ++k) {
    const Split3 in = around(inputs[k]->shape(), axis);
    const float* px = inputs[k]->data<float>();
    const int64_t chunk = in.len * in.inner;
    for (int64_t o = 0; o < out.outer; ++o)
      std::memcpy(py + o * out.len * out.inner + offset * out.inner, px + o * chunk,
                  static_cast<size_t>(chunk) * sizeof(float));
    offset += in.len;
  }
}

void split(const Tensor& dy, int axis, Tensor* const* outputs, int count, bool accumulate) {
  const Split3 whole = around(dy.shape(), axis);
  const float* pdy = dy.data<float>();
  int64_t offset = 0;
  for (int k = 0; k < count; ++k) {
    const Split3 part = around(outputs[k]->shape(), axis);  // every output must be given
    const int64_t chunk = part.len * part.inner;
    {
      float* po = outputs[k]->data<float>();
      for (int64_t o = 0; o < whole.outer; ++o) {
        const float* src = pdy + o * whole.len * whole.inner + offset * whole.inner;
        float* dst = po + o * chunk;
        if (accumulate) {
#pragma omp simd
          for (int64_t i = 0; i < chunk; ++i) dst[i] += src[i];
        } else {
          std::memcpy(dst, src, static_cast<size_t>(chunk) * sizeof(float));
        }
      }
    }
    offset += part.len;
  }
}

void gather_rows(const Tensor& src, const int64_t* index, int64_t count, Tensor& dst) {
  const size_t row_bytes = static_cast<size_t>(src.shape().sample_size()) * dtype_size(src.dtype());
  const char* ps = static_cast<const char*>(src.raw());
  char* pd = static_cast<char*>(dst.raw());
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(pd + static_cast<size_t>(i) * row_bytes,
                ps + static_cast<size_t>(index[i]) * row_bytes, row_bytes);
}

}  // namespace fitrun::cpu
