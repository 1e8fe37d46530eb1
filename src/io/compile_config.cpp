// Optimizers, losses and metrics in Keras' serialized form, and the model's compile config
// (Keras 3's compile_config; tf.keras' training_config in .h5 files, keras-formats.md §1.2, §2).
#include "fitrun/io/compile_config.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "fitrun/error.hpp"
#include "io/config_reader.hpp"
#include "io/keras_json.hpp"
#include "io/model_io.hpp"
#include "model/model_impl.hpp"

namespace fitrun {

namespace {

using io::ConfigReader;

/// {"class_name", "config"} (any dialect) -> (class name, config); a string gives (name, null).
struct Serialized {
  std::string class_name;
  const json* config = nullptr;
  std::string config_path;
};

Serialized read_serialized(const json& j, const std::string& path, const char* what) {
  ConfigReader r(j, path);
  Serialized s;
  s.class_name = r.string("class_name");
  r.ignore({"module", "registered_name", "shared_object_id"});
  s.config = r.find("config");
  s.config_path = r.path("config");
  r.check_unknown_keys(what);
  return s;
}

/// Keras' base-optimizer arguments (clipping, EMA, loss scaling, accumulation) into `o`, and
/// the keys fitrun has no use for.
template <class O>
void optimizer_base_keys(const ConfigReader& c, O& o) {
  c.ignore({"name", "jit_compile"});
  auto opt_number = [&](const char* key) {
    return c.has(key) ? std::optional<double>(c.number(key, 0.0, 1e30)) : std::nullopt;
  };
  auto opt_int = [&](const char* key, int64_t min) {
    return c.has(key) ? std::optional<int64_t>(c.integer(key, min, int64_t(1) << 53))
                      : std::nullopt;
  };
  o.clipnorm = opt_number("clipnorm");
  o.global_clipnorm = opt_number("global_clipnorm");
  o.clipvalue = opt_number("clipvalue");
  o.use_ema = c.boolean("use_ema", false);
  o.ema_momentum = c.number("ema_momentum", 0.99, 0.0, 1.0);
  o.ema_overwrite_frequency = opt_int("ema_overwrite_frequency", 1);
  o.loss_scale_factor = opt_number("loss_scale_factor");
  o.gradient_accumulation_steps = opt_int("gradient_accumulation_steps", 2);
  c.require_value("is_legacy_optimizer", false);
  c.require_value("decay", 0.0);  // tf.keras' legacy optimizers
}

/// A number, or a serialized LearningRateSchedule (Keras writes the schedule object).
optimizers::LearningRate learning_rate(const ConfigReader& c, const optimizers::LearningRate& fallback) {
  const char* key = c.has("learning_rate") ? "learning_rate" : c.has("lr") ? "lr" : "learning_rate";
  c.find("lr");
  if (const json* v = c.find(key); v && v->is_object())
    return optimizers::schedules::schedule_from_config(*v, c.path(key));
  if (!c.has(key)) return fallback;
  return c.number(key, 0.0, 1e30);
}

double weight_decay(const ConfigReader& c, double fallback) {
  return c.number("weight_decay", fallback, 0.0, 1e30);
}

losses::Reduction reduction(const ConfigReader& c) {
  const std::string r = c.choice("reduction", "sum_over_batch_size",
                                 {"sum_over_batch_size", "sum", "none", "auto"});
  if (r == "sum") return losses::Reduction::sum;
  if (r == "none") return losses::Reduction::none;
  return losses::Reduction::sum_over_batch_size;  // tf.keras' "auto" means this
}

std::string strip_prefix(std::string cls) {
  // tf.keras 2.11-2.12 wrote "Custom>Adam" for its new optimizers.
  if (cls.rfind("Custom>", 0) == 0) cls = cls.substr(7);
  return cls;
}

}  // namespace

// ================================================================ optimizers
namespace optimizers {

json serialize(const Optimizer& optimizer) {
  return io::keras_object("keras.optimizers", optimizer.class_name(), optimizer.get_config());
}

std::shared_ptr<Optimizer> deserialize(const json& config, const std::string& path) {
  if (config.is_string()) {
    try {
      return Optimizer::get(config.get<std::string>());
    } catch (const ConfigError& e) {
      io::rethrow_at(path, e);
    }
  }
  if (!config.is_object())
    throw ConfigError((path.empty() ? "/" : path) +
                      ": expected an optimizer name or {\"class_name\", \"config\"}, got " +
                      io::describe(config));
  const Serialized s = read_serialized(config, path, "an optimizer");
  static const json empty = json::object();
  ConfigReader c(s.config ? *s.config : empty, s.config_path);
  const std::string cls = strip_prefix(s.class_name);
  std::shared_ptr<Optimizer> out;
  if (cls == "SGD" || cls == "sgd") {
    SGDOptions o;
    o.learning_rate = learning_rate(c, o.learning_rate);
    o.momentum = c.number("momentum", o.momentum, 0.0, 1.0);
    o.nesterov = c.boolean("nesterov", o.nesterov);
    o.weight_decay = weight_decay(c, o.weight_decay);
    optimizer_base_keys(c, o);
    out = std::make_shared<SGD>(o);
  } else if (cls == "Adam" || cls == "adam") {
    AdamOptions o;
    o.learning_rate = learning_rate(c, o.learning_rate);
    o.beta_1 = c.number("beta_1", o.beta_1, 0.0, 1.0);
    o.beta_2 = c.number("beta_2", o.beta_2, 0.0, 1.0);
    o.epsilon = c.number("epsilon", o.epsilon, 0.0, 1e30);
    o.amsgrad = c.boolean("amsgrad", o.amsgrad);
    o.weight_decay = weight_decay(c, o.weight_decay);
    optimizer_base_keys(c, o);
    out = std::make_shared<Adam>(o);
  } else if (cls == "AdamW" || cls == "adamw") {
    AdamWOptions o;
    o.learning_rate = learning_rate(c, o.learning_rate);
    o.beta_1 = c.number("beta_1", o.beta_1, 0.0, 1.0);
    o.beta_2 = c.number("beta_2", o.beta_2, 0.0, 1.0);
    o.epsilon = c.number("epsilon", o.epsilon, 0.0, 1e30);
    o.amsgrad = c.boolean("amsgrad", o.amsgrad);
    o.weight_decay = weight_decay(c, o.weight_decay);
    optimizer_base_keys(c, o);
    out = std::make_shared<AdamW>(o);
  } else if (cls == "RMSprop" || cls == "rmsprop") {
    RMSpropOptions o;
    o.learning_rate = learning_rate(c, o.learning_rate);
    o.rho = c.number("rho", o.rho, 0.0, 1.0);
    o.momentum = c.number("momentum", o.momentum, 0.0, 1.0);
    o.epsilon = c.number("epsilon", o.epsilon, 0.0, 1e30);
    o.centered = c.boolean("centered", o.centered);
    o.weight_decay = weight_decay(c, o.weight_decay);
    optimizer_base_keys(c, o);
    out = std::make_shared<RMSprop>(o);
  } else if (cls == "Adagrad" || cls == "adagrad") {
    AdagradOptions o;
    o.learning_rate = learning_rate(c, o.learning_rate);
    o.initial_accumulator_value =
        c.number("initial_accumulator_value", o.initial_accumulator_value, 0.0, 1e30);
    o.epsilon = c.number("epsilon", o.epsilon, 0.0, 1e30);
    o.weight_decay = weight_decay(c, o.weight_decay);
    optimizer_base_keys(c, o);
    out = std::make_shared<Adagrad>(o);
  } else {
    throw ConfigError(path + "/class_name: unknown optimizer \"" + s.class_name +
                      "\"; supported: SGD, Adam, AdamW, RMSprop, Adagrad");
  }
  c.check_unknown_keys("optimizer " + cls);
  return out;
}

}  // namespace optimizers

// ================================================================ losses
namespace losses {

json serialize(const Loss& loss) {
  return io::keras_object("keras.losses", loss.class_name(), loss.get_config());
}

std::shared_ptr<Loss> deserialize(const json& config, const std::string& path) {
  auto by_name = [&](const std::string& name, const std::string& p) {
    try {
      return Loss::get(name);
    } catch (const ConfigError& e) {
      io::rethrow_at(p, e);
    }
  };
  if (config.is_string()) return by_name(config.get<std::string>(), path);
  if (!config.is_object())
    throw ConfigError((path.empty() ? "/" : path) +
                      ": expected a loss name or {\"class_name\", \"config\"}, got " +
                      io::describe(config));
  const Serialized s = read_serialized(config, path, "a loss");
  // A loss function rather than a class: {"class_name": "function", "config": "mse"}.
  if (s.config && s.config->is_string()) return by_name(s.config->get<std::string>(), s.config_path);
  static const json empty = json::object();
  ConfigReader c(s.config ? *s.config : empty, s.config_path);
  c.ignore({"name"});
  if (const json* d = c.find("dtype")) {
    const std::string dt = io::dtype_from_config(*d, c.path("dtype"));
    if (dt != "float32") c.fail("dtype", "only float32 losses are supported, got \"" + dt + "\"");
  }
  const std::string& cls = s.class_name;
  std::shared_ptr<Loss> out;
  auto crossentropy = [&](bool smoothing) {
    CrossentropyOptions o;
    o.from_logits = c.boolean("from_logits", false);
    if (smoothing) o.label_smoothing = static_cast<float>(c.number("label_smoothing", 0.0, 0.0, 1.0));
    o.reduction = reduction(c);
    c.require_value("axis", -1);
    return o;
  };
  if (cls == "SparseCategoricalCrossentropy") {
    CrossentropyOptions o = crossentropy(false);
    c.require_null({"ignore_class"});
    out = std::make_shared<SparseCategoricalCrossentropy>(o);
  } else if (cls == "CategoricalCrossentropy") {
    out = std::make_shared<CategoricalCrossentropy>(crossentropy(true));
  } else if (cls == "BinaryCrossentropy") {
    out = std::make_shared<BinaryCrossentropy>(crossentropy(true));
  } else if (cls == "MeanSquaredError") {
    out = std::make_shared<MeanSquaredError>(reduction(c));
  } else if (cls == "MeanAbsoluteError") {
    out = std::make_shared<MeanAbsoluteError>(reduction(c));
  } else if (cls == "Huber") {
    const double delta = c.number("delta", 1.0, 0.0, 1e30);
    out = std::make_shared<Huber>(static_cast<float>(delta), reduction(c));
  } else {
    try {  // a snake_case name used as a class name
      out = Loss::get(cls);
    } catch (const ConfigError& e) {
      throw ConfigError(path + "/class_name: " + e.what());
    }
  }
  c.check_unknown_keys("loss " + cls);
  return out;
}

}  // namespace losses

// ================================================================ metrics
namespace metrics {

json serialize(const Metric& metric) {
  try {
    MetricPtr again = Metric::get(metric.name());
    if (again->class_name() == metric.class_name()) return metric.name();
  } catch (const ConfigError&) {
  }
  return io::keras_object("keras.metrics", metric.class_name(),
                          {{"name", metric.name()}, {"dtype", "float32"}});
}

std::shared_ptr<Metric> deserialize(const json& config, const std::string& path) {
  auto by_name = [&](const std::string& name, const std::string& p) {
    try {
      return Metric::get(name);
    } catch (const ConfigError& e) {
      io::rethrow_at(p, e);
    }
  };
  if (config.is_string()) return by_name(config.get<std::string>(), path);
  if (!config.is_object())
    throw ConfigError((path.empty() ? "/" : path) +
                      ": expected a metric name or {\"class_name\", \"config\"}, got " +
                      io::describe(config));
  const Serialized s = read_serialized(config, path, "a metric");
  if (s.config && s.config->is_string()) return by_name(s.config->get<std::string>(), s.config_path);
  static const json empty = json::object();
  ConfigReader c(s.config ? *s.config : empty, s.config_path);
  // tf.keras' training_config wraps metric functions: {"class_name": "MeanMetricWrapper",
  // "config": {"name": "accuracy", "fn": "sparse_categorical_accuracy", "dtype": "float32"}}.
  MetricPtr m = s.class_name == "MeanMetricWrapper" ? by_name(c.string("fn"), c.path("fn"))
                                                    : by_name(s.class_name, path + "/class_name");
  if (c.has("name")) m->set_name(c.string("name"));
  c.ignore({"dtype"});
  c.check_unknown_keys("metric " + s.class_name);
  return m;
}

}  // namespace metrics

// ================================================================ the model's compile config

json Model::get_compile_config() const {
  const Impl& m = *impl_;
  if (!m.compiled) return nullptr;
  json loss;
  const bool one_loss = std::all_of(m.losses.begin(), m.losses.end(),
                                    [&](const auto& l) { return l == m.losses[0]; });
  if (one_loss) {
    loss = losses::serialize(*m.losses[0]);
  } else {
    loss = json::array();
    for (const auto& l : m.losses) loss.push_back(losses::serialize(*l));
  }
  json loss_weights = nullptr;
  if (std::any_of(m.loss_weights.begin(), m.loss_weights.end(), [](float w) { return w != 1.f; })) {
    loss_weights = json::array();
    for (float w : m.loss_weights) loss_weights.push_back(io::keras_float(w));
  }
  json metrics_json = nullptr;
  if (!m.pending_metrics.empty()) {
    metrics_json = json::array();
    for (const auto& mt : m.pending_metrics) metrics_json.push_back(metrics::serialize(*mt));
  }
  return {{"optimizer", optimizers::serialize(*m.optimizer)},
          {"loss", loss},
          {"loss_weights", loss_weights},
          {"metrics", metrics_json},
          {"weighted_metrics", nullptr},
          {"run_eagerly", false},
          {"steps_per_execution", 1},
          {"jit_compile", m.jit_compile}};
}

void Model::compile_from_config(const json& config) {
  io::compile_model_from_config(*this, config, "");
}

namespace io {

namespace {

/// Output layer names, in output order (keys of per-output dicts in a compile config).
std::vector<std::string> output_names(const Model& model) {
  std::vector<std::string> names;
  for (const auto& t : model.outputs()) names.push_back(t.layer() ? t.layer()->name() : "");
  return names;
}

/// A per-output value: one for all, a list in output order, or a dict by output layer name.
std::vector<std::pair<const json*, std::string>> per_output(const Model& model, const json& v,
                                                            const std::string& path) {
  std::vector<std::pair<const json*, std::string>> out;
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i) out.push_back({&v[i], path + "/" + std::to_string(i)});
  } else if (v.is_object() && !v.contains("class_name")) {
    for (const auto& name : output_names(model)) {
      auto it = v.find(name);
      if (it == v.end())
        throw ConfigError(path + ": no entry for output \"" + name + "\"");
      out.push_back({&*it, path + "/" + json_pointer_token(name)});
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const auto names = output_names(model);
      if (std::find(names.begin(), names.end(), it.key()) == names.end())
        throw ConfigError(path + "/" + json_pointer_token(it.key()) +
                          ": the model has no output named \"" + it.key() + "\"");
    }
  } else {
    out.push_back({&v, path});
  }
  return out;
}

/// Metric names from any nesting Keras allows (a list, a list per output, a dict per output);
/// fitrun applies every metric to every output.
void collect_metrics(const json& v, const std::string& path, std::vector<MetricRef>& out,
                     std::set<std::string>& seen, bool lenient) {
  if (v.is_null()) return;
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      collect_metrics(v[i], path + "/" + std::to_string(i), out, seen, lenient);
    return;
  }
  if (v.is_object() && !v.contains("class_name")) {
    for (auto it = v.begin(); it != v.end(); ++it)
      collect_metrics(*it, path + "/" + json_pointer_token(it.key()), out, seen, lenient);
    return;
  }
  metrics::MetricPtr m;
  try {
    m = metrics::deserialize(v, path);
  } catch (const ConfigError& e) {
    if (!lenient) throw;
    spdlog::warn("{} (the model is compiled without this metric)", e.what());
    return;
  }
  if (seen.insert(m->name()).second) out.push_back(m);
}

}  // namespace

void compile_model_from_config(Model& model, const json& config, const std::string& path,
                               bool lenient_metrics) {
  ConfigReader r(config, path);
  r.ignore({"run_eagerly", "steps_per_execution", "auto_scale_loss"});
  // Keras 3: "optimizer"; tf.keras' training_config: "optimizer_config".
  // Without one, Keras' compile() defaults to rmsprop. (Keras 3's legacy .h5 save removes the
  // optimizer from the model's compile config, so a later to_json() lacks it.)
  const char* opt_key = r.has("optimizer_config") ? "optimizer_config" : "optimizer";
  const json* opt = r.find(opt_key);
  OptimizerRef optimizer =
      opt ? optimizers::deserialize(*opt, r.path(opt_key)) : optimizers::Optimizer::get("rmsprop");
  const json* loss = r.find("loss");
  if (!loss) r.fail("loss", "required but missing");
  std::vector<LossRef> loss_list;
  for (const auto& [v, p] : per_output(model, *loss, r.path("loss"))) {
    if (v->is_null()) throw ConfigError(p + ": every output needs a loss");
    loss_list.push_back(losses::deserialize(*v, p));
  }
  CompileOptions options;
  if (const json* lw = r.find("loss_weights")) {
    for (const auto& [v, p] : per_output(model, *lw, r.path("loss_weights"))) {
      if (!v->is_number()) throw ConfigError(p + ": expected a number, got " + describe(*v));
      options.loss_weights.push_back(v->get<float>());
    }
  }
  // Keras: true, false or "auto" (true: captured CUDA graphs on a GPU, as XLA would compile).
  if (const json* jit = r.find("jit_compile")) {
    if (jit->is_boolean())
      options.jit_compile = jit->get<bool>();
    else if (!(jit->is_string() && jit->get<std::string>() == "auto"))
      r.fail("jit_compile", "expected true, false or \"auto\", got " + describe(*jit));
  }
  std::vector<MetricRef> metric_list;
  std::set<std::string> seen;
  if (const json* m = r.find("metrics"))
    collect_metrics(*m, r.path("metrics"), metric_list, seen, lenient_metrics);
  if (const json* wm = r.find("weighted_metrics");
      wm && !(wm->is_array() && wm->empty()))
    r.fail("weighted_metrics", "weighted metrics are not supported by fitrun, got " +
                                   describe(*wm));
  r.check_unknown_keys("a compile config");
  try {
    model.compile(optimizer, loss_list, metric_list, options);
  } catch (const ConfigError& e) {
    rethrow_at(path, e);
  }
}

}  // namespace io

}  // namespace fitrun
