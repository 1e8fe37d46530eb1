#pragma once
// The formatting rules of Keras 3's progress bar (keras/src/utils/progbar.py), kept apart from
// ProgbarLogger so that tests can check them against Python's output.
#include <cstddef>
#include <string>

namespace fitrun::callbacks::progbar {

/// A metric value as Keras prints it: "{v:.4f}" when |v| > 1e-3, else "{v:.4e}"
/// (0.12345 -> "0.1235", 0.0001234 -> "1.2340e-04").
std::string format_value(double v);

/// A remaining time (ETA), truncated to whole seconds: "42s", "3:07" past a minute,
/// "1:02:03" past an hour.
std::string format_duration(double seconds);

/// Elapsed time in whole seconds, rounded: "{secs:.0f}s" ("7s", "125s").
std::string format_elapsed(double seconds);

/// Time per step: "2s/step" when >= 1 s (or exactly 0), "9ms/step" when >= 1 ms, else "25us/step".
std::string format_step_time(double seconds, const std::string& unit = "step");

/// The columns `text` takes on a terminal: UTF-8 code points, ANSI escape sequences excluded.
std::size_t visible_width(const std::string& text);

}  // namespace fitrun::callbacks::progbar
