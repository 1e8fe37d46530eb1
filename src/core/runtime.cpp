#include "fitrun/runtime.hpp"

#include <omp.h>

#include <atomic>
#include <oneapi/dnnl/dnnl.hpp>
#include <sstream>

#include "core/matmul_precision.hpp"
#include "fitrun/error.hpp"

#include "fitrun/random.hpp"
#ifdef FITRUN_HAVE_CUDA
#include "backend/cuda/context.hpp"
#endif
#include "fitrun/version.hpp"

namespace fitrun {

void reset_layer_name_counters();  // layer.cpp

void set_seed(uint64_t seed) { global_generator().reseed(seed); }

void set_num_threads(int n) {
  if (n > 0) omp_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

std::string build_info() {
  std::ostringstream os;
  const dnnl_version_t* v = dnnl::version();
  os << "fitrun " << FITRUN_VERSION << "\n";
  os << "  oneDNN " << v->major << "." << v->minor << "." << v->patch << " (CPU ISA ";
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core_amx: os << "avx512_core_amx"; break;
    case dnnl::cpu_isa::avx512_core_bf16: os << "avx512_core_bf16"; break;
    case dnnl::cpu_isa::avx512_core_vnni: os << "avx512_core_vnni"; break;
    case dnnl::cpu_isa::avx512_core: os << "avx512_core"; break;
    case dnnl::cpu_isa::avx2_vnni: os << "avx2_vnni"; break;
    case dnnl::cpu_isa::avx2: os << "avx2"; break;
    case dnnl::cpu_isa::avx: os << "avx"; break;
    case dnnl::cpu_isa::sse41: os << "sse41"; break;
    default: os << "other"; break;
  }
  os << ")\n";
  os << "  threads " << num_threads() << " (OpenMP)\n";
#ifdef FITRUN_HAVE_CUDA
  os << "  CUDA backend: built\n" << cuda::describe();
#else
  os << "  CUDA backend: not built\n";
#endif
  return os.str();
}

int cuda_device_count() {
#ifdef FITRUN_HAVE_CUDA
  return cuda::device_count();
#else
  return 0;
#endif
}

void synchronize(Device device) {
#ifdef FITRUN_HAVE_CUDA
  if (device.is_cuda()) cuda::synchronize(cuda::context(device.index(), "synchronize"), "synchronize");
#else
  (void)device;
#endif
}

void clear_session() { reset_layer_name_counters(); }

namespace {
std::atomic<bool> g_tf32{false};
}  // namespace

bool tf32_allowed() { return g_tf32.load(std::memory_order_relaxed); }

void set_float32_matmul_precision(const std::string& precision) {
  if (precision != "highest" && precision != "high")
    throw ConfigError("float32_matmul_precision: expected \"highest\" or \"high\", got \"" +
                      precision + "\"");
  g_tf32 = precision == "high";
}

std::string get_float32_matmul_precision() { return tf32_allowed() ? "high" : "highest"; }

}  // namespace fitrun
