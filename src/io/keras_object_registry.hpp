#pragma once
// A family of small Keras objects known by class name (regularizers, constraints): built from
// a bare name ("l2", "non_neg") or from {"class_name", "config"} in either Keras dialect, with
// errors that name the JSON path and list what is known.
#include <functional>
#include <map>
#include <string>

#include "fitrun/error.hpp"
#include "io/config_reader.hpp"

namespace fitrun::io {

template <class Ptr>
class KerasObjectRegistry {
 public:
  using Factory = std::function<Ptr(const ConfigReader&)>;

  /// `kind` names the family in errors ("regularizer"); `aliases` maps Keras' snake_case names
  /// to class names, and its keys are what errors list as known.
  KerasObjectRegistry(std::string kind, std::map<std::string, Factory> factories,
                      std::map<std::string, std::string> aliases)
      : kind_(std::move(kind)), factories_(std::move(factories)), aliases_(std::move(aliases)) {}

  /// The object of a class or alias name with Keras' default arguments.
  Ptr get(const std::string& name) const {
    static const json empty = json::object();
    return factory(resolve(name), [&](const std::string& problem) {
      throw ConfigError(problem);
    })(ConfigReader(empty, ""));
  }

  /// The object a config value describes; errors name `path`.
  Ptr from_config(const json& value, const std::string& path) const {
    if (value.is_string()) {
      try {
        return get(value.get<std::string>());
      } catch (const ConfigError& e) {
        throw ConfigError((path.empty() ? "/" : path) + ": " + e.what());
      }
    }
    ConfigReader outer(value, path);
    const std::string cls = resolve(outer.string("class_name"));
    outer.ignore({"module", "registered_name"});
    const json* inner = outer.find("config");
    outer.check_unknown_keys(kind_);
    const Factory& make = factory(cls, [&](const std::string& problem) {
      outer.fail("class_name", problem);
    });
    static const json empty = json::object();
    ConfigReader c(inner ? *inner : empty, outer.path("config"));
    Ptr out = make(c);
    c.check_unknown_keys(cls);
    return out;
  }

 private:
  std::string resolve(const std::string& name) const {
    auto a = aliases_.find(name);
    return a != aliases_.end() ? a->second : name;
  }

  template <class Fail>
  const Factory& factory(const std::string& cls, Fail fail) const {
    auto it = factories_.find(cls);
    if (it == factories_.end()) {
      std::string known;
      for (const auto& [alias, target] : aliases_)
        if (alias != target) known += (known.empty() ? "" : ", ") + alias;
      fail("unknown " + kind_ + " \"" + cls + "\"; known " + kind_ + "s: " + known);
    }
    return it->second;
  }

  std::string kind_;
  std::map<std::string, Factory> factories_;
  std::map<std::string, std::string> aliases_;
};

}  // namespace fitrun::io
