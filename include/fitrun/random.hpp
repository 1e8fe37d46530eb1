#pragma once
// fitrun's random numbers: a small, portable generator (SplitMix64 seeding a xoshiro256**),
// so results are identical across compilers and standard libraries.
#include <cstdint>

namespace fitrun {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed);
  uint64_t next_u64();
  /// Uniform float in [0, 1), 24 random bits.
  float uniform();
  /// Standard normal (Box-Muller).
  float normal();
  /// Uniform integer in [0, n).
  uint64_t below(uint64_t n);

 private:
  uint64_t s_[4]{};
  bool has_spare_ = false;
  float spare_ = 0.f;
};

/// The process-wide generator that `set_seed` reseeds; layers draw their own seeds from it.
Generator& global_generator();

}  // namespace fitrun
