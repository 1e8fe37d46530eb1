// callback_from_config and Callback::get: the string-keyed registry of callbacks. Each factory
// reads Keras' constructor arguments through io::ConfigReader, whose errors name the JSON path.
#include "fitrun/callbacks/registry.hpp"

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <map>

#include "fitrun/callbacks/backup_and_restore.hpp"
#include "fitrun/callbacks/csv_logger.hpp"
#include "fitrun/callbacks/early_stopping.hpp"
#include "fitrun/callbacks/history.hpp"
#include "fitrun/callbacks/model_checkpoint.hpp"
#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/callbacks/reduce_lr_on_plateau.hpp"
#include "fitrun/callbacks/tensorboard.hpp"
#include "fitrun/callbacks/terminate_on_nan.hpp"
#include "fitrun/error.hpp"
#include "io/config_reader.hpp"

namespace fitrun::callbacks {
namespace {

using io::ConfigReader;
using Factory = std::function<CallbackPtr(const ConfigReader&)>;
constexpr int kIntMax = std::numeric_limits<int>::max();
constexpr double kMax = std::numeric_limits<double>::max();

std::string mode(const ConfigReader& c) { return c.choice("mode", "auto", {"auto", "min", "max"}); }

std::optional<double> optional_number(const ConfigReader& c, const std::string& key) {
  if (!c.has(key)) return std::nullopt;
  return c.number(key);
}

// Keras' save_freq: "epoch" or a number of batches >= 1.
SaveFreq save_freq(const ConfigReader& c) {
  const json* v = c.find("save_freq");
  if (!v || (v->is_string() && *v == "epoch")) return "epoch";
  if (v->is_number_integer() && v->get<int64_t>() >= 1 && v->get<int64_t>() <= kIntMax)
    return static_cast<int>(v->get<int64_t>());
  c.expected("save_freq", "\"epoch\" or an integer >= 1");
}

// Keras' TensorBoard update_freq: "epoch", "batch" or a number of batches >= 1.
int update_freq(const ConfigReader& c) {
  const json* v = c.find("update_freq");
  if (!v || (v->is_string() && *v == "epoch")) return 0;
  if (v->is_string() && *v == "batch") return 1;
  if (v->is_number_integer() && v->get<int64_t>() >= 1 && v->get<int64_t>() <= kIntMax)
    return static_cast<int>(v->get<int64_t>());
  c.expected("update_freq", "\"epoch\", \"batch\" or an integer >= 1");
}

int integer(const ConfigReader& c, const std::string& key, int fallback, int min = 0) {
  const int64_t v = c.integer(key, fallback, min, std::numeric_limits<int64_t>::max());
  if (v > kIntMax) c.expected(key, "an integer <= " + std::to_string(kIntMax));
  return static_cast<int>(v);
}

// Runs a constructor whose own checks throw ConfigError; the message gets the config's path.
template <class Make> CallbackPtr build(const ConfigReader& c, Make make) {
  try {
    return make();
  } catch (const ConfigError& e) {
    throw ConfigError((c.path().empty() ? std::string("/") : c.path()) + ": " + e.what());
  }
}

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> registry = {
      {"BackupAndRestore",
       [](const ConfigReader& c) {
         const std::string dir = c.string("backup_dir");
         BackupAndRestoreOptions o;
         o.save_freq = save_freq(c);
         o.delete_checkpoint = c.boolean("delete_checkpoint", true);
         c.require_value("double_checkpoint", false);
         c.require_value("save_before_preemption", false);
         return build(c, [&] { return std::make_shared<BackupAndRestore>(dir, o); });
       }},
      {"CSVLogger",
       [](const ConfigReader& c) {
         const std::string file = c.string("filename");
         const std::string sep = c.string("separator", ",");
         if (sep.size() != 1) c.expected("separator", "one character");
         const bool append = c.boolean("append", false);
         return build(c, [&] { return std::make_shared<CSVLogger>(file, sep, append); });
       }},
      {"EarlyStopping",
       [](const ConfigReader& c) {
         EarlyStoppingOptions o;
         o.monitor = c.string("monitor", o.monitor);
         o.min_delta = c.number("min_delta", 0.0, -kMax, kMax);
         o.patience = integer(c, "patience", 0);
         o.verbose = integer(c, "verbose", 0);
         o.mode = mode(c);
         o.baseline = optional_number(c, "baseline");
         o.restore_best_weights = c.boolean("restore_best_weights", false);
         o.start_from_epoch = integer(c, "start_from_epoch", 0);
         return build(c, [&] { return std::make_shared<EarlyStopping>(o); });
       }},
      {"History", [](const ConfigReader&) { return std::make_shared<History>(); }},
      {"ModelCheckpoint",
       [](const ConfigReader& c) {
         const std::string path = c.string("filepath");
         ModelCheckpointOptions o;
         o.monitor = c.string("monitor", o.monitor);
         o.verbose = integer(c, "verbose", 0);
         o.save_best_only = c.boolean("save_best_only", false);
         o.save_weights_only = c.boolean("save_weights_only", false);
         o.mode = mode(c);
         o.save_freq = save_freq(c);
         o.initial_value_threshold = optional_number(c, "initial_value_threshold");
         c.ignore({"options"});  // tf.keras' SaveOptions: nothing to set here
         return build(c, [&] { return std::make_shared<ModelCheckpoint>(path, o); });
       }},
      {"ProgbarLogger", [](const ConfigReader&) { return std::make_shared<ProgbarLogger>(); }},
      {"ReduceLROnPlateau",
       [](const ConfigReader& c) {
         ReduceLROnPlateauOptions o;
         o.monitor = c.string("monitor", o.monitor);
         o.factor = c.number("factor", o.factor, 0.0, kMax);
         if (o.factor >= 1.0) c.expected("factor", "a number in [0, 1)");
         o.patience = integer(c, "patience", o.patience);
         o.verbose = integer(c, "verbose", 0);
         o.mode = mode(c);
         o.min_delta = c.number("min_delta", o.min_delta, 0.0, kMax);
         o.cooldown = integer(c, "cooldown", 0);
         o.min_lr = c.number("min_lr", 0.0, 0.0, kMax);
         return build(c, [&] { return std::make_shared<ReduceLROnPlateau>(o); });
       }},
      {"TensorBoard",
       [](const ConfigReader& c) {
         const std::string dir = c.string("log_dir", "logs");
         TensorBoardOptions o;
         o.histogram_freq = integer(c, "histogram_freq", 0);
         o.write_steps_per_second = c.boolean("write_steps_per_second", false);
         o.update_freq = update_freq(c);
         // Keras writes a graph by default; fitrun has none to write, so the flag is accepted.
         c.boolean("write_graph", true);
         c.require_value("write_images", false);
         c.require_value("profile_batch", 0);
         c.require_value("embeddings_freq", 0);
         c.require_null({"embeddings_metadata"});
         return build(c, [&] { return std::make_shared<TensorBoard>(dir, o); });
       }},
      {"TerminateOnNaN",
       [](const ConfigReader& c) {
         return std::make_shared<TerminateOnNaN>(c.boolean("raise_error", false));
       }},
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
