#pragma once
// The hash of the per-shape plan caches (dense.cpp, conv.cpp): FNV-1a over a key's bytes. Keys
// are plain structs built from a zero-initialized value, so their padding bytes are zero too.
#include <cstddef>
#include <cstdint>

namespace fitrun::cuda {

template <class Key>
struct BytewiseHash {
  size_t operator()(const Key& k) const {
    const auto* p = reinterpret_cast<const unsigned char*>(&k);
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof k; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    return static_cast<size_t>(h);
  }
};

}  // namespace fitrun::cuda
