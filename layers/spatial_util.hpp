#pragma once
// Internal helpers of the convolution and pooling layers: Keras' padding modes and output
// sizes, and reading (h, w) pairs from Keras configs.
#include <algorithm>
#include <cctype>
#include <string>

#include "fitrun/error.hpp"
#include "fitrun/json.hpp"
#include "fitrun/layers/spatial.hpp"

namespace fitrun::layers::detail {

enum class PadMode { valid, same, causal };

/// "valid" / "same" (/ "causal" when allowed), case-insensitive as Keras. Allocates nothing
/// unless it throws (layers call it in every step).
inline PadMode parse_padding(const std::string& s, const char* layer, bool allow_causal) {
  auto is = [&](const char* want) {
    size_t i = 0;
    for (; want[i]; ++i)
      if (i >= s.size() || std::tolower(static_cast<unsigned char>(s[i])) != want[i]) return false;
    return i == s.size();
  };
  if (is("valid")) return PadMode::valid;
  if (is("same")) return PadMode::same;
  if (allow_causal && is("causal")) return PadMode::causal;
  throw ConfigError(std::string(layer) + ": padding must be \"valid\"" +
                    std::string(allow_causal ? ", \"same\" or \"causal\"" : " or \"same\"") +
                    ", got \"" + s + "\"");
}

inline std::string padding_name(PadMode m) {
  return m == PadMode::valid ? "valid" : m == PadMode::same ? "same" : "causal";
}

/// One spatial axis of a convolution or pooling: output length and padding before/after.
struct AxisPlan {
  int64_t out = -1, before = 0, after = 0;
};

/// Keras/TensorFlow: "valid" floor((in - k_eff)/s) + 1 (<= 0 when the window does not fit);
/// "same" ceil(in/s) with total padding max((out-1)*s + k_eff - in, 0), the smaller half
/// first; "causal" pads k_eff - 1 before. k_eff = (k-1)*d + 1. Unknown `in` (-1) stays unknown.
inline AxisPlan plan_axis(int64_t in, int64_t k, int64_t s, int64_t d, PadMode m) {
  AxisPlan a;
  if (in < 0) return a;
  const int64_t keff = (k - 1) * d + 1;
  switch (m) {
    case PadMode::valid:
      a.out = in >= keff ? (in - keff) / s + 1 : 0;
      break;
    case PadMode::same: {
      a.out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>((a.out - 1) * s + keff - in, 0);
      a.before = total / 2;
      a.after = total - a.before;
      break;
    }
    case PadMode::causal:
      a.out = (in - 1) / s + 1;
      a.before = keff - 1;
      break;
  }
  return a;
}

/// An int or a list of two ints from a Keras config ([3, 3], [3] or 3).
inline Size2 size2_from_json(const json& c, const char* key, Size2 fallback) {
  if (!c.contains(key) || c[key].is_null()) return fallback;
  const json& v = c[key];
  if (v.is_number_integer()) return Size2(v.get<int64_t>());
  if (v.is_array() && v.size() == 2) return Size2(v[0].get<int64_t>(), v[1].get<int64_t>());
  if (v.is_array() && v.size() == 1) return Size2(v[0].get<int64_t>());
  throw ConfigError(std::string(key) + " must be an integer or a list of 2 integers, got " +
                    v.dump());
}

/// An int or a one-element list (Conv1D's kernel_size, strides, dilation_rate).
inline int64_t int_from_json(const json& c, const char* key, int64_t fallback) {
  if (!c.contains(key) || c[key].is_null()) return fallback;
  const json& v = c[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_array() && v.size() == 1) return v[0].get<int64_t>();
  throw ConfigError(std::string(key) + " must be an integer or a list of 1 integer, got " +
                    v.dump());
}

inline json size2_to_json(Size2 s) { return json::array({s.h, s.w}); }

/// Keras accepts data_format null or "channels_last"; fitrun computes channels_last only.
inline void require_channels_last(const json& c, const std::string& layer) {
  if (c.contains("data_format") && !c["data_format"].is_null() &&
      c["data_format"].get<std::string>() != "channels_last")
    throw ConfigError(layer + ": only data_format \"channels_last\" is supported, got \"" +
                      c["data_format"].get<std::string>() + "\"");
}

}  // namespace fitrun::layers::detail
