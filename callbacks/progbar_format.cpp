// Keras 3 progress-bar formatting; each rule mirrors a line of keras/src/utils/progbar.py so that
// fitrun's output reads the same as Keras'.
#include "fitrun/callbacks/progbar_format.hpp"

#include <cctype>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace fitrun::callbacks::progbar {
namespace {

std::string printf_string(const char* format, ...) {
  va_list args, again;
  va_start(args, format);
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, args);  // "%.4f" of 1e300 is long
  va_end(args);
  std::string out(n > 0 ? n : 0, '\0');
  std::vsnprintf(out.data(), out.size() + 1, format, again);
  va_end(again);
  return out;
}

}  // namespace

std::string format_value(double v) {
  // printf may write "-nan"; Python writes "nan".
  if (std::isnan(v)) return "nan";
  return printf_string(std::fabs(v) > 1e-3 ? "%.4f" : "%.4e", v);
}

std::string format_duration(double seconds) {
  // Python's "%d" truncates; an overrun (current > target) would give a negative ETA.
  const long long s = seconds > 0 ? static_cast<long long>(seconds) : 0;
  if (seconds > 3600) return printf_string("%lld:%02lld:%02lld", s / 3600, s % 3600 / 60, s % 60);
  if (seconds > 60) return printf_string("%lld:%02lld", s / 60, s % 60);
  return printf_string("%llds", s);
}

std::string format_elapsed(double seconds) { return printf_string("%.0fs", seconds); }

std::string format_step_time(double seconds, const std::string& unit) {
  if (seconds >= 1 || seconds == 0) return printf_string("%.0fs/", seconds) + unit;
  if (seconds >= 1e-3) return printf_string("%.0fms/", seconds * 1e3) + unit;
  return printf_string("%.0fus/", seconds * 1e6) + unit;
}

std::size_t visible_width(const std::string& text) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {  // skip "ESC [ ... letter"
      while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
      continue;
    }
    // Count lead bytes only, so a 3-byte "━" is one column.
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++width;
  }
  return width;
}

}  // namespace fitrun::callbacks::progbar
