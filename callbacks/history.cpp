// History: every epoch's logs, as Keras' callbacks/history.py keeps them.
#include "fitrun/callbacks/history.hpp"

#include "fitrun/error.hpp"

namespace fitrun::callbacks {

void History::on_epoch_end(int e, const Logs& logs) {
  epoch.push_back(e);
  // Per key, so epochs without validation leave the val_* lists shorter (as in Keras).
  for (const auto& [key, value] : logs) history[key].push_back(value);
}

double History::last(const std::string& key) const {
  auto it = history.find(key);
  if (it != history.end() && !it->second.empty()) return it->second.back();
  std::string keys;
  for (const auto& [k, values] : history) keys += (keys.empty() ? "" : ", ") + k;
  throw Error("History has no \"" + key + "\"; recorded keys: " + (keys.empty() ? "(none)" : keys));
}

}  // namespace fitrun::callbacks
