#pragma once
// Keras' pad_sequences: lists of token ids of different lengths -> one (N, maxlen) int32 tensor.
#include <cstdint>
#include <string>
#include <vector>

#include "fitrun/tensor.hpp"

namespace fitrun::datasets {

struct PadSequencesOptions {
  int64_t maxlen = -1;             // -1: the longest sequence's length
  std::string padding = "pre";     // "pre" or "post": where the padding goes
  std::string truncating = "pre";  // "pre" or "post": which end of a long sequence is cut
  int32_t value = 0;               // the padding value
};

/// (N, maxlen) int32. Throws ConfigError naming a bad padding/truncating/maxlen value.
Tensor pad_sequences(const std::vector<std::vector<int32_t>>& sequences,
                     const PadSequencesOptions& options = {});

}  // namespace fitrun::datasets
