#include "fitrun/datasets/pad_sequences.hpp"

#include <algorithm>

#include "fitrun/error.hpp"

namespace fitrun::datasets {

Tensor pad_sequences(const std::vector<std::vector<int32_t>>& sequences,
                     const PadSequencesOptions& o) {
  for (const auto* which : {&o.padding, &o.truncating})
    if (*which != "pre" && *which != "post")
      throw ConfigError(std::string("pad_sequences: ") +
                        (which == &o.padding ? "padding" : "truncating") +
                        " must be \"pre\" or \"post\", got \"" + *which + "\"");
  if (o.maxlen == 0 || o.maxlen < -1)
    throw ConfigError("pad_sequences: maxlen must be a positive integer or -1, got " +
                      std::to_string(o.maxlen));
  int64_t len = o.maxlen;
  if (len < 0) {
    len = 0;
    for (const auto& s : sequences) len = std::max(len, static_cast<int64_t>(s.size()));
  }
  const int64_t n = static_cast<int64_t>(sequences.size());
  Tensor out = Tensor::full({n, len}, o.value, DType::int32);
  int32_t* p = out.data<int32_t>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = sequences[static_cast<size_t>(i)];
    const int64_t size = static_cast<int64_t>(s.size()), keep = std::min(size, len);
    const int64_t from = o.truncating == "pre" ? size - keep : 0;   // first element kept
    const int64_t to = o.padding == "pre" ? len - keep : 0;         // where it lands
    for (int64_t k = 0; k < keep; ++k) p[i * len + to + k] = s[static_cast<size_t>(from + k)];
  }
  return out;
}

}  // namespace fitrun::datasets
