// Callback::get: the name registry behind CallbackRef("History"). Names are Keras' class names.
#include "fitrun/callbacks/callback.hpp"

#include <functional>
#include <map>

#include "fitrun/callbacks/history.hpp"
#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/error.hpp"

namespace fitrun::callbacks {

std::shared_ptr<Callback> Callback::get(const std::string& name) {
  static const std::map<std::string, std::function<std::shared_ptr<Callback>()>> registry = {
      {"History", [] { return std::make_shared<History>(); }},
      {"ProgbarLogger", [] { return std::make_shared<ProgbarLogger>(); }},
  };
  auto it = registry.find(name);
  if (it != registry.end()) return it->second();
  std::string known;
  for (const auto& [n, make] : registry) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError("unknown callback \"" + name + "\"; known callbacks: " + known);
}

}  // namespace fitrun::callbacks
