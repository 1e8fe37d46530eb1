#include "model/prefetcher.hpp"

#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#ifdef FITRUN_HAVE_CUDA
#include "backend/cuda/copy_stream.hpp"
#endif

namespace fitrun::detail {

namespace {
PrefetchPolicy g_policy = PrefetchPolicy::gpu;

/// A batch's arrays in one order: inputs, labels, then the sample weights when present.
size_t array_count(const datasets::Element& e) {
  return e.x.size() + e.y.size() + (e.sample_weight.defined() ? 1 : 0);
}
template <class E>
auto& array(E& e, size_t i) {
  if (i < e.x.size()) return e.x[i];
  i -= e.x.size();
  if (i < e.y.size()) return e.y[i];
  return e.sample_weight;
}

/// An Element with the arrays of `like` (its TensorLists sized once; views assigned per batch).
datasets::Element same_layout(const datasets::Element& like) {
  datasets::Element e;
  e.x = std::vector<Tensor>(like.x.size());
  e.y = std::vector<Tensor>(like.y.size());
  return e;
}
}  // namespace

void set_prefetch_policy(PrefetchPolicy policy) { g_policy = policy; }

bool prefetches(Device device) {
  return g_policy == PrefetchPolicy::always || (g_policy == PrefetchPolicy::gpu && device.is_cuda());
}

/// Full-size buffers (pinned host, device) per array, the queued batch's leading rows of them,
/// and on a GPU the two events that order the slot's copies.
struct Prefetcher::Slot {
  datasets::Element host, device;      // capacity buffers
  datasets::Element host_batch, device_batch;  // views of the current batch's rows
  int64_t capacity = 0, rows = 0;
#ifdef FITRUN_HAVE_CUDA
  std::unique_ptr<cuda::Event> uploaded;  // copy stream: the upload from `host` is done
  std::unique_ptr<cuda::Event> released;  // compute stream: `device` was copied out of
#endif

  explicit Slot(Device d) {
#ifdef FITRUN_HAVE_CUDA
    if (d.is_cuda()) {
      uploaded = std::make_unique<cuda::Event>(d.index());
      released = std::make_unique<cuda::Event>(d.index());
    }
#endif
  }
  /// The host waits until nothing on the device uses the buffers any more.
  void drain() const {
#ifdef FITRUN_HAVE_CUDA
    if (uploaded) uploaded->synchronize();
    if (released) released->synchronize();
#endif
  }
  /// Whether `rows` rows of source's arrays fit the buffers as they are.
  bool fits(const datasets::Element& source, int64_t n) const {
    if (n > capacity || source.x.size() != host.x.size() || source.y.size() != host.y.size() ||
        source.sample_weight.defined() != host.sample_weight.defined())
      return false;
    for (size_t i = 0; i < array_count(source); ++i) {
      const Tensor& s = array(source, i);
      const Tensor& h = array(host, i);
      if (s.dtype() != h.dtype() || s.shape().drop_batch() != h.shape().drop_batch()) return false;
    }
    return true;
  }
  /// Buffers for `n` rows of source's arrays.
  void allocate(const datasets::Element& source, int64_t n, Device d) {
    drain();
    host = same_layout(source);
    device = same_layout(source);
    for (size_t i = 0; i < array_count(source); ++i) {
      const Tensor& s = array(source, i);
      array(host, i) = Tensor::empty(s.shape().with_batch(n), s.dtype(), d.is_cuda());
      array(device, i) = Tensor(s.shape().with_batch(n), s.dtype(), d);
    }
    host_batch = same_layout(source);
    device_batch = same_layout(source);
    capacity = n;
  }
};

Prefetcher::Prefetcher(Device device) : device_(device) {
  for (auto& s : slots_) s = std::make_unique<Slot>(device);
}

Prefetcher::~Prefetcher() {
  for (const auto& s : slots_) try {
      s->drain();
    } catch (...) {  // a device error is reported by the step that met it, not here
    }
}

bool Prefetcher::accepts(const datasets::Element& batch) {
  if (batch.x.empty()) return false;
  for (size_t i = 0; i < array_count(batch); ++i)
    if (!array(batch, i).device().is_cpu()) return false;
  return true;
}

int64_t Prefetcher::rows() const { return slots_[next_]->rows; }

void Prefetcher::push(const datasets::Element& batch) {
  fill(batch, nullptr, batch.x.empty() ? 0 : batch.x[0].dim(0));
}

void Prefetcher::push_rows(const datasets::Element& source, const int64_t* index,
                           int64_t count) {
  fill(source, index, count);
}

void Prefetcher::fill(const datasets::Element& source, const int64_t* index, int64_t rows) {
  if (queued_) throw Error("prefetcher: a batch is already queued; pop it before the next push");
  if (!accepts(source)) throw Error("prefetcher: every array of a batch must be on the host");
  Slot& s = *slots_[next_];
  if (!s.fits(source, rows)) s.allocate(source, rows, device_);
#ifdef FITRUN_HAVE_CUDA
  if (s.uploaded) s.uploaded->synchronize();  // the last upload has left the pinned buffers
#endif
  for (size_t i = 0; i < array_count(source); ++i) {
    const Tensor& full_host = array(s.host, i);
    const Tensor& full_device = array(s.device, i);
    Tensor& h = array(s.host_batch, i);
    Tensor& d = array(s.device_batch, i);
    h = rows == s.capacity ? full_host : full_host.slice(0, rows);
    d = rows == s.capacity ? full_device : full_device.slice(0, rows);
    if (index)
      ops::gather_rows(array(source, i), index, rows, h);
    else
      h.copy_from(array(source, i));
  }
#ifdef FITRUN_HAVE_CUDA
  if (device_.is_cuda()) {
    s.released->wait(cuda::Stream::copy);  // the step before last has copied `device` out
    for (size_t i = 0; i < array_count(source); ++i) {
      const Tensor& h = array(s.host_batch, i);
      cuda::copy_to_device_async(array(s.device_batch, i).device_data(), h.raw(), h.nbytes(),
                                 device_.index());
    }
    s.uploaded->record(cuda::Stream::copy);
  } else
#endif
  {
    for (size_t i = 0; i < array_count(source); ++i)
      array(s.device_batch, i).copy_from(array(s.host_batch, i));
  }
  s.rows = rows;
  queued_ = true;
}

const datasets::Element& Prefetcher::pop(Plan& plan) {
  if (!queued_) throw Error("prefetcher: no batch queued");
  if (plan.batch() != rows())
    throw Error("prefetcher: a batch of " + std::to_string(rows()) +
                " rows popped into a plan for " + std::to_string(plan.batch()));
  Slot& s = *slots_[next_];
#ifdef FITRUN_HAVE_CUDA
  if (s.uploaded) s.uploaded->wait(cuda::Stream::compute);
#endif
  for (size_t k = 0; k < s.device_batch.x.size(); ++k) plan.stage_input(k, s.device_batch.x[k]);
  plan.stage_targets(s.device_batch.y, s.device_batch.sample_weight);
#ifdef FITRUN_HAVE_CUDA
  if (s.released) s.released->record(cuda::Stream::compute);
#endif
  queued_ = false;
  next_ ^= 1;
  return s.host_batch;
}

}  // namespace fitrun::detail
