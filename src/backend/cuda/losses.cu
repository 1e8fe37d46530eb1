// Losses and metrics on the GPU, with the CPU's formulas (losses/loss_rows.hpp,
// src/metrics/metric_rows.hpp). Two launches each: one thread per row writes the row's value
// (as double) into the device workspace (and, for a loss, the row's scaled gradient), then one
// block adds the rows in a fixed order into a float64 result: no atomics, deterministic.
// Results are float64s kept in int64 tensors (fitrun has no float64 dtype).
#include <cstring>
#include <string>

#include "backend/cuda/block_sum.cuh"
#include "backend/cuda/context.hpp"
#include "backend/cuda/cuda_ops.hpp"
#include "backend/cuda/kernels.hpp"
#include "fitrun/error.hpp"
#include "losses/loss_rows.hpp"
#include "metrics/metric_rows.hpp"

namespace fitrun::cuda {

namespace {

using LossSpec = losses::RowSpec;
using MetricSpec = metrics::RowSpec;

/// y_pred viewed as (N, T, C): T rows (positions) of C values per sample.
struct Rows {
  int64_t n, t, c;
  FITRUN_HD int64_t count() const { return n * t; }
};

Rows rows_of(const Tensor& y_pred) {
  Rows r{y_pred.dim(0), 0, y_pred.rank() >= 2 ? y_pred.dim(-1) : 1};
  r.t = r.n > 0 && r.c > 0 ? y_pred.size() / r.n / r.c : 0;
  return r;
}

double* doubles(const Tensor& t, int64_t needed, const char* op, const char* what) {
  if (!t.defined() || t.dtype() != DType::int64 || !t.device().is_cuda() || t.size() < needed)
    throw Error(std::string(op) + ": " + what + " must hold " + std::to_string(needed) +
                " float64 value(s) on a CUDA device (ops::device_doubles)");
  return static_cast<double*>(t.device_data());
}

// ---- per-row kernels ----

template <class Label>
__global__ void loss_rows(LossSpec spec, const float* x, const Label* labels, const float* weights,
                          Rows r, float* grad, double factor, float scale, double* out) {
  const bool sparse = spec.kind == LossSpec::Kind::sparse_crossentropy;
  // Crossentropies average over positions, element-wise losses over all elements (div).
  const double div = spec.per_position() ? double(r.t) : double(r.t * r.c);
  for (int64_t row = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; row < r.count();
       row += int64_t(blockDim.x) * gridDim.x) {
    const float* xr = x + row * r.c;
    float* g = grad ? grad + row * r.c : nullptr;
    double loss;
    if (sparse) {
      const double label = static_cast<double>(labels[row]);
      const int64_t y = static_cast<int64_t>(label);
      if (!(label >= 0 && label < double(r.c)) || double(y) != label) {
        // Not a class index (the model checks host labels before copying them): NaN loss.
        out[row] = nan("");
        if (g)
          for (int64_t j = 0; j < r.c; ++j) g[j] = 0.f;
        continue;
      }
      loss = losses::rows::sparse_crossentropy(xr, r.c, y, spec.from_logits, g, div);
    } else if (spec.kind == LossSpec::Kind::categorical_crossentropy) {
      const double keep = 1.0 - spec.label_smoothing;
      const double spread = static_cast<double>(spec.label_smoothing) / double(r.c);
      loss = losses::rows::categorical_crossentropy(xr, labels + row * r.c, r.c, spec.from_logits,
                                                    keep, spread, g, div);
    } else {
      loss = losses::rows::elementwise_row(spec, xr, labels + row * r.c, r.c, g, div);
    }
    out[row] = loss;
    if (g) {
      // As Loss::compute: the row's gradient times the sample's weight, reduction and scale.
      const double w = weights ? double(weights[row / r.t]) : 1.0;
      const float row_scale = static_cast<float>(w * factor * scale);
      for (int64_t j = 0; j < r.c; ++j) g[j] *= row_scale;
    }
  }
}

template <class Label>
__global__ void metric_rows(MetricSpec spec, const float* x, const Label* labels, Rows r,
                            double* out) {
  const int64_t label_stride = spec.sparse() ? 1 : r.c;
  for (int64_t row = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; row < r.count();
       row += int64_t(blockDim.x) * gridDim.x)
    out[row] = metrics::rows::value(spec, x + row * r.c, labels + row * label_stride, r.c);
}

// ---- the fixed-order sums (one block) ----

/// Per sample i: v_i = Σ_t rows[i T + t]; with `per_sample_div`, v_i = float(v_i / div) as the
/// CPU's per-sample buffer holds it. total = Σ_i w_i v_i, then out = total * mul / divide:
/// written to dst[0], or added with dst[1] += count when `accumulate`.
__global__ void sum_samples(const double* rows, int64_t n, int64_t t, double per_sample_div,
                            const float* weights, double mul, double divide, double* dst,
                            bool accumulate, double count) {
  __shared__ double shared[32];
  double total = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    double v = 0;
    for (int64_t k = i * t; k < (i + 1) * t; ++k) v += rows[k];
    if (per_sample_div > 0) v = static_cast<float>(v / per_sample_div);
    total += (weights ? double(weights[i]) : 1.0) * v;
  }
  total = block_sum(total, shared);
  if (threadIdx.x != 0) return;
  const double value = total * mul / divide;
  if (accumulate) {
    dst[0] += value;
    dst[1] += count;
  } else {
    dst[0] = value;
  }
}

constexpr int kMeanTerms = 8;
struct MeanTerms {
  double coeffs[kMeanTerms];
  int n;
};

__global__ void mean_update(double* state, const double* values, MeanTerms terms,
                            double constant, double weight, double count) {
  double v = constant;
  for (int j = 0; j < terms.n; ++j) v += terms.coeffs[j] * values[j];
  state[0] += weight * v;
  state[1] += count;
}

/// Calls f(typed label pointer) for float32, int32 or int64 labels.
template <class F>
void with_labels(const Tensor& y_true, const char* op, F&& f) {
  const void* p = y_true.device_data();
  switch (y_true.dtype()) {
    case DType::float32: return f(static_cast<const float*>(p));
    case DType::int32: return f(static_cast<const int32_t*>(p));
    case DType::int64: return f(static_cast<const int64_t*>(p));
  }
  throw Error(std::string(op) + ": labels of dtype " + dtype_name(y_true.dtype()));
}

void check_labels(const char* op, const Tensor& y_true, int64_t expected) {
  if (!y_true.device().is_cuda() || y_true.size() != expected)
    throw ShapeError(std::string(op) + ": " + std::to_string(y_true.size()) +
                     " labels on " + y_true.device().to_string() + " for " +
                     std::to_string(expected) + " expected on the predictions' device");
}

}  // namespace

void zero_doubles(Tensor& values) {
  const char* op = "zero_doubles";
  Context& ctx = context_of(values, op);
  FITRUN_CUDA_CHECK(cudaMemsetAsync(doubles(values, 0, op, "values"), 0,
                                    static_cast<size_t>(values.size()) * sizeof(double),
                                    ctx.stream),
                    op);
}

void read_doubles(const Tensor& values, double* out) {
  const char* op = "read_doubles";
  Context& ctx = context_of(values, op);
  FITRUN_CUDA_CHECK(cudaMemcpyAsync(out, doubles(values, 0, op, "values"),
                                    static_cast<size_t>(values.size()) * sizeof(double),
                                    cudaMemcpyDeviceToHost, ctx.stream),
                    op);
  synchronize(ctx, op);  // the host reads them
}

void loss_on_device(const losses::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                    const Tensor* sample_weight, Tensor* grad, float scale, double factor,
                    Tensor& result, int64_t slot) {
  const char* op = "loss_on_device";
  if (spec.kind == LossSpec::Kind::none)
    throw Error("loss_on_device: the loss has no device kernel");
  const Rows r = rows_of(y_pred);
  check_labels(op, y_true,
               spec.kind == LossSpec::Kind::sparse_crossentropy ? r.count() : y_pred.size());
  double* dst = doubles(result, slot + 1, op, "result") + slot;
  const float* x = f32(y_pred, op, "y_pred");
  float* g = grad ? f32(*grad, op, "gradient") : nullptr;
  const float* w = sample_weight ? f32(*sample_weight, op, "sample_weight") : nullptr;
  Context& ctx = context_of(y_pred, op);
  double* rows = static_cast<double*>(
      workspace(ctx, static_cast<size_t>(r.count() > 0 ? r.count() : 1) * sizeof(double), op));
  if (r.count() > 0)
    with_labels(y_true, op, [&](auto* labels) {
      loss_rows<<<blocks_for(r.count()), kThreads, 0, ctx.stream>>>(spec, x, labels, w, r, g,
                                                                    factor, scale, rows);
    });
  FITRUN_CUDA_CHECK_LAUNCH("loss_rows", op);
  const double div = spec.per_position() ? double(r.t) : double(r.t * r.c);
  sum_samples<<<1, kThreads, 0, ctx.stream>>>(rows, r.count() > 0 ? r.n : 0, r.t, div, w,
                                               factor, 1.0, dst, false, 0.0);
  FITRUN_CUDA_CHECK_LAUNCH("sum_samples", op);
}

void metric_on_device(const metrics::RowSpec& spec, const Tensor& y_true, const Tensor& y_pred,
                      Tensor& state) {
  const char* op = "metric_on_device";
  if (spec.kind == MetricSpec::Kind::none)
    throw Error("metric_on_device: the metric has no device kernel");
  const Rows r = rows_of(y_pred);
  check_labels(op, y_true, spec.sparse() ? r.count() : y_pred.size());
  double* dst = doubles(state, 2, op, "state");
  Context& ctx = context_of(y_pred, op);
  double* rows = static_cast<double*>(
      workspace(ctx, static_cast<size_t>(r.count() > 0 ? r.count() : 1) * sizeof(double), op));
  if (r.count() > 0)
    with_labels(y_true, op, [&](auto* labels) {
      metric_rows<<<blocks_for(r.count()), kThreads, 0, ctx.stream>>>(
          spec, f32(y_pred, op, "y_pred"), labels, r, rows);
    });
  FITRUN_CUDA_CHECK_LAUNCH("metric_rows", op);
  sum_samples<<<1, kThreads, 0, ctx.stream>>>(rows, r.count(), 1, 0.0, nullptr, 1.0,
                                               spec.elementwise() ? double(r.c) : 1.0, dst, true,
                                               double(r.count()));
  FITRUN_CUDA_CHECK_LAUNCH("sum_samples", op);
}

// More than kMeanTerms coefficients take several launches; only the first adds the constant
// and the count.
void mean_on_device(Tensor& state, const Tensor& values, int64_t first, const double* coeffs,
                    int n, double constant, double weight) {
  const char* op = "mean_on_device";
  double* dst = doubles(state, 2, op, "state");
  const double* v = doubles(values, first + n, op, "values") + first;
  Context& ctx = context_of(state, op);
  int done = 0;
  do {
    MeanTerms terms{};
    terms.n = n - done < kMeanTerms ? n - done : kMeanTerms;
    std::memcpy(terms.coeffs, coeffs + done, static_cast<size_t>(terms.n) * sizeof(double));
    const bool head = done == 0;
    mean_update<<<1, 1, 0, ctx.stream>>>(dst, v + done, terms, head ? constant : 0.0, weight,
                                         head ? weight : 0.0);
    FITRUN_CUDA_CHECK_LAUNCH("mean_update", op);
    done += terms.n;
  } while (done < n);
}

}  // namespace fitrun::cuda
