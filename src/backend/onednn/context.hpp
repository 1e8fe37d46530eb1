#pragma once
// Shared oneDNN state for the CPU backend: the engine and stream, a primitive cache keyed by
// op and shape, and one grow-only scratchpad shared by all primitives (they run one at a time
// on one stream). Nothing here allocates once a shape has been seen.
#include <oneapi/dnnl/dnnl.hpp>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fitrun/error.hpp"
#include "fitrun/tensor.hpp"

static_assert(DNNL_VERSION_MAJOR == 2, "fitrun's CPU backend is written for the oneDNN v2 API");

namespace fitrun::onednn {

dnnl::engine& engine();
dnnl::stream& stream();

/// Identifies a primitive: an op tag and up to 23 integers (shape, flags, algorithm).
struct Key {
  std::array<int64_t, 24> v{};
  Key(int op, std::initializer_list<int64_t> values);
  bool operator==(const Key& o) const { return v == o.v; }
};
struct KeyHash {
  size_t operator()(const Key& k) const;
};

/// A created primitive with its argument memories; run() swaps in data pointers and executes.
/// Execution goes through oneDNN's C API with an argument array built once, because the C++
/// wrapper converts its argument map into a fresh vector on every call.
struct Primitive {
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
  bool has_scratchpad = false;
  /// Sets each (arg, pointer) handle, the scratchpad, and executes synchronously.
  void run(std::initializer_list<std::pair<int, const void*>> handles);
  /// The same with `count` handles from an array (for argument lists built at run time).
  void run(const std::pair<int, const void*>* handles, size_t count);

 private:
  std::vector<dnnl_exec_arg_t> c_args_;
};

std::unordered_map<Key, Primitive, KeyHash>& primitive_cache();

/// Returns the cached primitive for `key`, creating it with `make()` on first use.
template <class F>
Primitive& cached(const Key& key, F&& make) {
  auto& cache = primitive_cache();
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  return cache.emplace(key, make()).first->second;
}

/// The same for cache entries of another type (a primitive with its operand reorders): one
/// cache per entry type and thread.
template <class Entry, class F>
Entry& cached_entry(const Key& key, F&& make) {
  static thread_local std::unordered_map<Key, Entry, KeyHash> cache;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  return cache.emplace(key, make()).first->second;
}

/// Attributes every fitrun primitive uses: user-managed scratchpad.
dnnl::primitive_attr default_attr();
/// Registers the scratchpad size a primitive needs (grows the shared buffer).
void reserve_scratchpad(const dnnl::memory::desc& md, Primitive& p);

/// Throws if a tensor is not a float32 CPU tensor (the only kind this backend computes on).
void check_cpu_f32(const Tensor& t, const char* op, const char* what);

/// Wraps oneDNN errors into fitrun::BackendError naming the op.
template <class F>
auto guarded(const char* op, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    throw BackendError(std::string("oneDNN failed in ") + op + ": " + e.what());
  }
}

/// Below this many elements a loop runs on one thread: opening an OpenMP parallel region costs
/// more than it saves, and far more when another process holds a core.
constexpr int64_t kParallelMin = 1 << 15;

using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

}  // namespace fitrun::onednn
