#pragma once
// What ModelCheckpoint, EarlyStopping and ReduceLROnPlateau share: which way a monitored
// value improves, and reading it from the logs.
#include <optional>
#include <string>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks::detail {

/// Throws ConfigError "<who>: mode must be \"auto\", \"min\" or \"max\", got \"<mode>\"".
void check_mode(const std::string& mode, const std::string& who);

/// Whether larger values of `monitor` are better. mode "auto" decides by name as Keras does:
/// a loss is minimized; accuracy, AUC, precision, recall, F-scores and IoU are maximized;
/// anything else is minimized.
bool higher_is_better(const std::string& monitor, const std::string& mode);

/// logs[monitor], or nullopt after a warning naming the keys that are there (Keras warns too).
std::optional<double> monitor_value(const Logs& logs, const std::string& monitor,
                                    const std::string& who);

}  // namespace fitrun::callbacks::detail
