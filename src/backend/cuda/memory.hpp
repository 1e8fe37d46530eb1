#pragma once
// Device memory for Tensor storage (src/core/tensor.cpp), without CUDA types so that core
// code includes it plainly. All copies are ordered on the device's stream and synchronous for
// the caller (the host may read or reuse its buffer when they return).
#include <cstddef>

#include "fitrun/device.hpp"

namespace fitrun::cuda {

/// `bytes` (rounded up to 256, at least 256) of device memory on `device`.
void* device_alloc(std::size_t bytes, int device);
/// Frees quietly: it runs in destructors, possibly after the driver has shut down at exit.
void device_free(void* p, int device) noexcept;
/// `bytes` of page-locked host memory (cudaHostAlloc, usable by every device), from which
/// copies to a GPU run asynchronously; nullptr when no CUDA device is present (the caller
/// then uses ordinary memory).
void* pinned_alloc(std::size_t bytes);
/// Frees quietly, as device_free.
void pinned_free(void* p) noexcept;
/// Copies between any two devices (host<->device, device<->device).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes);

}  // namespace fitrun::cuda
