#include "callbacks/monitor.hpp"

#include <spdlog/spdlog.h>

#include "fitrun/error.hpp"

namespace fitrun::callbacks::detail {

void check_mode(const std::string& mode, const std::string& who) {
  if (mode != "auto" && mode != "min" && mode != "max")
    throw ConfigError(who + ": mode must be \"auto\", \"min\" or \"max\", got \"" + mode + "\"");
}

bool higher_is_better(const std::string& monitor, const std::string& mode) {
  if (mode != "auto") return mode == "max";
  std::string name = monitor.rfind("val_", 0) == 0 ? monitor.substr(4) : monitor;
  if (name.find("loss") != std::string::npos) return false;
  for (const char* up : {"acc", "auc", "precision", "recall", "f1", "fbeta", "fmeasure", "iou"})
    if (name.find(up) != std::string::npos) return true;
  return false;
}

std::optional<double> monitor_value(const Logs& logs, const std::string& monitor,
                                    const std::string& who) {
  auto it = logs.find(monitor);
  if (it != logs.end()) return it->second;
  std::string keys;
  for (const auto& [k, v] : logs) keys += (keys.empty() ? "" : ", ") + k;
  spdlog::warn("{}: monitored metric \"{}\" is not in the logs (available: {}); skipping", who,
               monitor, keys.empty() ? "none" : keys);
  return std::nullopt;
}

}  // namespace fitrun::callbacks::detail
