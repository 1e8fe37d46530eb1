// callback_from_config and Callback::get: the string-keyed registry of callbacks. Each factory
// reads Keras' constructor arguments through io::ConfigReader, whose errors name the JSON path.
#include "fitrun/callbacks/registry.hpp"

#include <algorithm>
#include <functional>
#include <map>

#include "fitrun/callbacks/history.hpp"
#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/error.hpp"
#include "io/config_reader.hpp"

namespace fitrun::callbacks {
namespace {

using io::ConfigReader;
using Factory = std::function<CallbackPtr(const ConfigReader&)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> registry = {
      {"History", [](const ConfigReader&) { return std::make_shared<History>(); }},
      {"ProgbarLogger", [](const ConfigReader&) { return std::make_shared<ProgbarLogger>(); }},
  };
  return registry;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The problem with `name` when it is not a registered class ("" when it is).
std::string unknown_class(const std::string& name) {
  if (factories().count(name)) return "";
  const auto cpp = cpp_only_callbacks();
  if (std::find(cpp.begin(), cpp.end(), name) != cpp.end())
    return name + " takes C++ functions, so no config can describe it; construct it in C++ "
                  "and pass it in FitOptions::callbacks";
  const auto known = registered_callbacks();
  const std::string hint = io::closest_match(name, known);
  return "unknown callback \"" + name + "\"" +
         (hint.empty() ? std::string() : " (did you mean \"" + hint + "\"?)") +
         "; known callbacks: " + join(known);
}

}  // namespace

std::vector<std::string> registered_callbacks() {
  std::vector<std::string> names;
  for (const auto& [name, make] : factories()) names.push_back(name);
  return names;  // std::map keeps them sorted
}

std::vector<std::string> cpp_only_callbacks() { return {"LambdaCallback", "LearningRateScheduler"}; }

CallbackPtr callback_from_config(const json& j, const std::string& json_path) {
  ConfigReader outer(j, json_path);
  const std::string cls = outer.string("class_name");
  outer.ignore({"module", "registered_name"});
  if (const std::string problem = unknown_class(cls); !problem.empty())
    outer.fail("class_name", problem);
  ConfigReader cfg = outer.object("config");
  CallbackPtr callback = factories().at(cls)(cfg);
  cfg.check_unknown_keys(cls);
  outer.check_unknown_keys("a callback");
  return callback;
}

std::shared_ptr<Callback> Callback::get(const std::string& name) {
  if (const std::string problem = unknown_class(name); !problem.empty()) throw ConfigError(problem);
  return callback_from_config({{"class_name", name}});
}

}  // namespace fitrun::callbacks
