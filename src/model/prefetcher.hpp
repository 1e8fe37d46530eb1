#pragma once
// Prefetcher: for a model on a GPU, the next batch reaches the device while the current step
// computes (PyTorch's pin_memory=True with non_blocking copies). Two slots alternate, each a
// pinned host buffer and a device buffer per array (inputs, labels, sample weights):
//   push (host):  waits until the slot's previous upload has left its pinned buffer, gathers
//                 the batch into it, then queues the upload on the device's copy stream after
//                 the compute stream has released the slot's device buffer;
//   pop (compute stream): waits for the upload, copies the batch into the plan's own input and
//                 label buffers (Plan::stage_input / stage_targets), and releases the slot.
// fit pops batch k, pushes batch k+1, then runs step k: the upload of k+1 overlaps step k.
// Batch k+1 goes to the other slot, so step k's host copy (its labels for the host-side loss)
// stays intact; the slot of batch k is refilled only for batch k+2.
//
// Why the plan's buffers and not the slots' device buffers directly: the step then reads the
// same addresses every time (a CUDA graph captured over the step can keep them), and a slot is
// free again as soon as that device-to-device copy (tiny next to the step) has run.
//
// On the CPU nothing needs hiding: the copies are synchronous and fit does not use this class
// (unless a test asks: set_prefetch_policy).
#include <array>
#include <memory>

#include "fitrun/datasets/dataset.hpp"
#include "model/executor.hpp"

namespace fitrun::detail {

/// When fit/evaluate/predict prefetch: on a GPU (the default), also on the CPU (tests run the
/// prefetching code paths there), or never (tests compare with per-batch synchronous copies).
enum class PrefetchPolicy { gpu, always, never };
void set_prefetch_policy(PrefetchPolicy policy);
/// Whether batches for a model on `device` go through a Prefetcher.
bool prefetches(Device device);

class Prefetcher {
 public:
  explicit Prefetcher(Device device);
  /// Waits for the copies still in flight from or into its buffers.
  ~Prefetcher();
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  /// Whether `batch` can be prefetched: every array on the host (a batch already on the
  /// device is bound in place instead).
  static bool accepts(const datasets::Element& batch);
  /// Queues a batch: all rows of its arrays (push) or rows index[0..count) of each (push_rows).
  /// One batch at a time: pop it before pushing the next. Buffers are made when the arrays'
  /// layout changes or a batch has more rows than before, never in steady state.
  void push(const datasets::Element& batch);
  void push_rows(const datasets::Element& source, const int64_t* index, int64_t count);
  bool empty() const { return !queued_; }
  /// Rows of the queued batch (the plan to pop into has this batch size).
  int64_t rows() const;
  /// Stages the queued batch into `plan` (inputs, labels, sample weights) and returns its host
  /// copy (in pinned memory), for the host-side losses and metrics: valid until the next push
  /// after the next pop.
  const datasets::Element& pop(Plan& plan);

 private:
  struct Slot;
  void fill(const datasets::Element& source, const int64_t* index, int64_t rows);

  Device device_;
  std::array<std::unique_ptr<Slot>, 2> slots_;
  size_t next_ = 0;  // the queued batch's slot, else the next push's
  bool queued_ = false;
};

}  // namespace fitrun::detail
