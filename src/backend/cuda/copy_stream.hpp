#pragma once
// Host-to-device copies on the device's copy stream, so that the next batch travels while the
// compute stream runs the current step (src/model/prefetcher.*), and the events that order
// the two streams and the host. No CUDA types here, so that model code includes it plainly
// (as memory.hpp).
#include <cstddef>

namespace fitrun::cuda {

enum class Stream { compute, copy };

/// A CUDA event on one device (timing off), created once and destroyed quietly. An event
/// never recorded is complete: waiting for it returns at once.
class Event {
 public:
  explicit Event(int device);
  ~Event();
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  /// Marks the work queued on `stream` so far.
  void record(Stream stream);
  /// Work queued on `stream` from now on starts after the recorded work (the host goes on).
  void wait(Stream stream) const;
  /// The host waits for the recorded work.
  void synchronize() const;

 private:
  void* event_ = nullptr;  // cudaEvent_t
  int device_;
};

/// Queues a copy of `bytes` from host memory `src` to device memory `dst` on `device`'s copy
/// stream and returns. From pinned memory it runs asynchronously: the host may write `src`
/// again only once an event recorded on the copy stream after it has completed.
void copy_to_device_async(void* dst, const void* src, std::size_t bytes, int device);

}  // namespace fitrun::cuda
