#pragma once
#include "fitrun/device.hpp"
// Process-wide settings: seed, threads, and what this build can do.
#include <cstdint>
#include <string>

namespace fitrun {

/// Seeds every random source fitrun uses (initializers, dropout, shuffling). With the same seed
/// and thread count, CPU training is bit-for-bit reproducible.
void set_seed(uint64_t seed);

/// Number of CPU threads used by oneDNN and fitrun's own loops. Defaults to OMP_NUM_THREADS or
/// the number of cores.
void set_num_threads(int n);
int num_threads();

/// Number of usable CUDA devices: 0 in a build without the CUDA backend, or when no device or
/// driver is present (never throws).
int cuda_device_count();

/// Waits until the work queued on `device` has finished (a no-op for the CPU, whose ops
/// return when done); for timing GPU code, as torch.cuda.synchronize().
void synchronize(Device device);

/// The precision of float32 matmuls and convolutions on GPUs, as PyTorch's
/// torch.set_float32_matmul_precision and TF's enable_tensor_float_32_execution:
/// "highest" (the default) computes in exact fp32, matching the CPU to float rounding; "high"
/// lets cuBLASLt, cuBLAS and cuDNN use TF32 tensor cores (inputs rounded to a 10-bit mantissa,
/// fp32 accumulation: ~1e-3 relative error, several times the speed). The CPU is unaffected.
/// Takes effect at the next op (plans are cached per precision). Throws ConfigError naming
/// float32_matmul_precision for any other value.
void set_float32_matmul_precision(const std::string& precision);
std::string get_float32_matmul_precision();

/// One line per capability: version, oneDNN ISA, threads, CUDA/cuDNN, devices. Printed by
/// the CLI at start-up, since most "it is slow" reports are build or threading mistakes.
std::string build_info();

/// Forgets layer-name counters so that new layers are named "dense", "dense_1"... again.
void clear_session();

}  // namespace fitrun
