#include "io/config_reader.hpp"

#include <algorithm>
#include <cmath>

#include "fitrun/activation.hpp"

namespace fitrun::io {

namespace {
thread_local std::string g_scope_path;

/// A JSON number that holds an integer value exactly (5 or 5.0, not 5.5).
bool as_integer(const json& v, int64_t& out) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX)) return false;
    out = v.get<int64_t>();
    return true;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      out = static_cast<int64_t>(d);
      return true;
    }
  }
  return false;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1,
                         prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string range_text(int64_t min, int64_t max) {
  if (min == 1 && max == std::numeric_limits<int64_t>::max()) return "a positive integer";
  if (min == 0 && max == std::numeric_limits<int64_t>::max()) return "a non-negative integer";
  if (min == std::numeric_limits<int64_t>::min() && max == std::numeric_limits<int64_t>::max())
    return "an integer";
  if (max == std::numeric_limits<int64_t>::max()) return "an integer >= " + std::to_string(min);
  if (min == std::numeric_limits<int64_t>::min()) return "an integer <= " + std::to_string(max);
  return "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
}

std::string number_text(double v) {
  json j = v;
  return j.dump();
}

// Base keys any layer config may carry: the loader reads the input-shape ones from the first
// layer of a Sequential; "autocast" only matters for mixed precision.
const char* const kLayerBaseKeys[] = {"batch_input_shape", "batch_shape", "input_shape",
                                      "batch_size", "input_dim", "autocast"};
}  // namespace

std::string json_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::string describe(const json& value) {
  std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

// ---------------------------------------------------------------- ConfigPathScope
ConfigPathScope::ConfigPathScope(std::string path) : previous_(std::move(g_scope_path)) {
  g_scope_path = std::move(path);
}
ConfigPathScope::~ConfigPathScope() { g_scope_path = std::move(previous_); }
const std::string& ConfigPathScope::current() { return g_scope_path; }

// ---------------------------------------------------------------- ConfigReader
ConfigReader::ConfigReader(const json& config) : ConfigReader(config, ConfigPathScope::current()) {}

ConfigReader::ConfigReader(const json& config, std::string path)
    : j_(config), path_(std::move(path)) {
  if (!j_.is_object())
    throw ConfigError((path_.empty() ? std::string("/") : path_) + ": expected an object, got " +
                      describe(j_));
}

std::string ConfigReader::path(const std::string& key) const {
  return path_ + "/" + json_pointer_token(key);
}

void ConfigReader::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(path(key) + ": " + message);
}

void ConfigReader::expected(const std::string& key, const std::string& what) const {
  const json* v = find(key);
  fail(key, "expected " + what + ", got " + (v ? describe(*v) : std::string("nothing")));
}

const json* ConfigReader::find(const std::string& key) const {
  known_.insert(key);
  auto it = j_.find(key);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

const json& ConfigReader::at(const std::string& key) const {
  const json* v = find(key);
  if (!v) fail(key, "required but missing");
  return *v;
}

std::string ConfigReader::string(const std::string& key) const {
  const json& v = at(key);
  if (!v.is_string()) expected(key, "a string");
  return v.get<std::string>();
}

std::string ConfigReader::string(const std::string& key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

std::string ConfigReader::choice(const std::string& key, const std::string& fallback,
                                 std::initializer_list<const char*> allowed) const {
  const std::string s = string(key, fallback);
  std::string list;
  for (const char* a : allowed) {
    if (s == a) return s;
    list += (list.empty() ? "\"" : ", \"") + std::string(a) + "\"";
  }
  expected(key, "one of " + list);
}

bool ConfigReader::boolean(const std::string& key, bool fallback) const {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) expected(key, "true or false");
  return v->get<bool>();
}

int64_t ConfigReader::integer(const std::string& key, int64_t min, int64_t max) const {
  int64_t out = 0;
  if (!as_integer(at(key), out) || out < min || out > max) expected(key, range_text(min, max));
  return out;
}

int64_t ConfigReader::integer(const std::string& key, int64_t fallback, int64_t min,
                              int64_t max) const {
  return has(key) ? integer(key, min, max) : fallback;
}

int64_t ConfigReader::positive_int(const std::string& key) const {
  return integer(key, 1, std::numeric_limits<int64_t>::max());
}

int64_t ConfigReader::positive_int(const std::string& key, int64_t fallback) const {
  return has(key) ? positive_int(key) : fallback;
}

double ConfigReader::number(const std::string& key, double min, double max) const {
  const json& v = at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < min ||
      v.get<double>() > max) {
    std::string what = "a number";
    if (min > -std::numeric_limits<double>::max() && max < std::numeric_limits<double>::max())
      what += " in [" + number_text(min) + ", " + number_text(max) + "]";
    else if (min > -std::numeric_limits<double>::max())
      what += " >= " + number_text(min);
    else if (max < std::numeric_limits<double>::max())
      what += " <= " + number_text(max);
    expected(key, what);
  }
  return v.get<double>();
}

double ConfigReader::number(const std::string& key, double fallback, double min,
                            double max) const {
  return has(key) ? number(key, min, max) : fallback;
}

std::vector<int64_t> ConfigReader::int_tuple(const std::string& key, size_t n,
                                             std::vector<int64_t> fallback, int64_t min) const {
  if (!has(key)) return fallback;
  return int_tuple(key, n, min);
}

std::vector<int64_t> ConfigReader::int_tuple(const std::string& key, size_t n,
                                             int64_t min) const {
  const json& v = at(key);
  const std::string what = (n == 1 ? "an integer" : "an integer or a list of " +
                                                        std::to_string(n) + " integers") +
                           std::string(min == 1 ? " >= 1" : min == 0 ? " >= 0" : "");
  int64_t one = 0;
  if (as_integer(v, one)) {
    if (one < min) expected(key, what);
    return std::vector<int64_t>(n, one);
  }
  if (!v.is_array() || v.size() != n) expected(key, what);
  std::vector<int64_t> out;
  for (const json& e : v) {
    if (!as_integer(e, one) || one < min) expected(key, what);
    out.push_back(one);
  }
  return out;
}

std::vector<int64_t> ConfigReader::int_list(const std::string& key, int64_t min) const {
  const json& v = at(key);
  if (!v.is_array()) expected(key, "a list of integers");
  std::vector<int64_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t x = 0;
    if (!as_integer(v[i], x) || x < min)
      throw ConfigError(path(key) + "/" + std::to_string(i) + ": expected " +
                        range_text(min, std::numeric_limits<int64_t>::max()) + ", got " +
                        describe(v[i]));
    out.push_back(x);
  }
  return out;
}

Shape ConfigReader::shape(const std::string& key) const {
  const json& v = at(key);
  if (!v.is_array() || v.size() > static_cast<size_t>(Shape::kMaxRank))
    expected(key, "a shape (a list of at most " + std::to_string(Shape::kMaxRank) +
                      " positive integers or null)");
  Shape out;
  for (size_t i = 0; i < v.size(); ++i) {
    int64_t d = 0;
    if (v[i].is_null()) d = -1;
    else if (!as_integer(v[i], d) || d < 0)
      throw ConfigError(path(key) + "/" + std::to_string(i) +
                        ": expected a non-negative integer or null, got " + describe(v[i]));
    out.push_back(d);
  }
  return out;
}

std::string ConfigReader::activation(const std::string& key, const std::string& fallback) const {
  const json* v = find(key);
  std::string name = fallback;
  if (v) {
    if (v->is_string()) {
      name = v->get<std::string>();
    } else if (v->is_object() && v->contains("config") && (*v)["config"].is_string()) {
      // A serialized function: {"module": "keras.activations", "class_name": "function",
      // "config": "relu", ...}.
      name = (*v)["config"].get<std::string>();
    } else {
      expected(key, "an activation name");
    }
  }
  try {
    (void)parse_activation(name);
  } catch (const ConfigError& e) {
    fail(key, e.what());
  }
  return name;
}

InitializerRef ConfigReader::initializer(const std::string& key,
                                         const std::string& fallback) const {
  const json* v = find(key);
  if (!v) return InitializerRef(fallback);
  return initializer_from_config(*v, path(key));
}

RegularizerRef ConfigReader::regularizer(const std::string& key) const {
  const json* v = find(key);
  if (!v) return nullptr;
  return regularizers::regularizer_from_config(*v, path(key));
}

ConstraintRef ConfigReader::constraint(const std::string& key) const {
  const json* v = find(key);
  if (!v) return nullptr;
  return constraints::constraint_from_config(*v, path(key));
}

void ConfigReader::require_null(std::initializer_list<const char*> keys) const {
  for (const char* k : keys)
    if (const json* v = find(k))
      fail(k, "not supported by fitrun (only null is accepted), got " + describe(*v));
}

void ConfigReader::require_value(const std::string& key, const json& expected_value) const {
  const json* v = find(key);
  if (v && *v != expected_value)
    fail(key, "only " + expected_value.dump() + " is supported by fitrun, got " + describe(*v));
}

void ConfigReader::ignore(std::initializer_list<const char*> keys) const {
  for (const char* k : keys) known_.insert(k);
}

ConfigReader ConfigReader::object(const std::string& key) const {
  static const json empty = json::object();
  const json* v = find(key);
  if (!v) return ConfigReader(empty, path(key));
  if (!v->is_object()) expected(key, "an object");
  return ConfigReader(*v, path(key));
}

std::string ConfigReader::name() const {
  const std::string n = string("name", "");
  return n;
}

void ConfigReader::check_unknown_keys(const std::string& what) const {
  for (auto it = j_.begin(); it != j_.end(); ++it) {
    if (known_.count(it.key())) continue;
    std::vector<std::string> known(known_.begin(), known_.end());
    const std::string hint = closest_match(it.key(), known);
    fail(it.key(), "unknown key for " + what +
                       (hint.empty() ? std::string() : "; did you mean \"" + hint + "\"?"));
  }
}

void ConfigReader::finish_layer(Layer& layer) const {
  layer.trainable = boolean("trainable", true);
  if (const json* d = find("dtype")) {
    const std::string dtype = dtype_from_config(*d, path("dtype"));
    try {
      layer.set_dtype_policy(mixed_precision::DTypePolicy(dtype));
    } catch (const ConfigError& e) {
      fail("dtype", "layer \"" + layer.name() + "\" (" + layer.class_name() + "): " + e.what());
    }
  }
  layer.activity_regularizer = regularizer("activity_regularizer");
  find("name");
  for (const char* k : kLayerBaseKeys) known_.insert(k);
  check_unknown_keys(layer.class_name());
}

// ---------------------------------------------------------------- initializers and dtypes
InitializerRef initializer_from_config(const json& value, const std::string& path) {
  using namespace initializers;
  if (value.is_string()) {
    try {
      return InitializerRef(value.get<std::string>());
    } catch (const ConfigError& e) {
      throw ConfigError(path + ": " + e.what());
    }
  }
  if (!value.is_object())
    throw ConfigError(path + ": expected an initializer name or {\"class_name\", \"config\"}, got " +
                      describe(value));
  ConfigReader outer(value, path);
  const std::string cls = outer.string("class_name");
  outer.ignore({"module", "registered_name"});
  ConfigReader c = outer.object("config");
  outer.check_unknown_keys("an initializer");
  c.ignore({"seed"});  // fitrun draws initial values from the layer's own seed
  // Keras 3.12+ VarianceScaling family: fan axes for einsum kernels (null for Dense/Conv).
  c.require_null({"input_axes", "output_axes"});
  std::shared_ptr<Initializer> init;
  if (cls == "Zeros" || cls == "zeros") {
    init = std::make_shared<Zeros>();
  } else if (cls == "Ones" || cls == "ones") {
    init = std::make_shared<Ones>();
  } else if (cls == "Constant" || cls == "constant") {
    init = std::make_shared<Constant>(static_cast<float>(c.number("value", 0.0, -3e38, 3e38)));
  } else if (cls == "RandomNormal" || cls == "random_normal") {
    init = std::make_shared<RandomNormal>(static_cast<float>(c.number("mean", 0.0, -3e38, 3e38)),
                                          static_cast<float>(c.number("stddev", 0.05, 0, 3e38)));
  } else if (cls == "RandomUniform" || cls == "random_uniform") {
    const double lo = c.number("minval", -0.05, -3e38, 3e38);
    const double hi = c.number("maxval", 0.05, lo, 3e38);
    init = std::make_shared<RandomUniform>(static_cast<float>(lo), static_cast<float>(hi));
  } else if (cls == "VarianceScaling") {
    const double scale = c.number("scale", 1.0, 0.0, 3e38);
    if (scale <= 0) c.expected("scale", "a positive number");
    const std::string mode = c.choice("mode", "fan_in", {"fan_in", "fan_out", "fan_avg"});
    // "normal" is tf.keras 1.x's name for truncated_normal.
    std::string dist = c.choice("distribution", "truncated_normal",
                                {"truncated_normal", "untruncated_normal", "uniform", "normal"});
    using M = VarianceScaling::Mode;
    using D = VarianceScaling::Distribution;
    const M m = mode == "fan_in" ? M::fan_in : mode == "fan_out" ? M::fan_out : M::fan_avg;
    const D d = dist == "uniform"              ? D::uniform
                : dist == "untruncated_normal" ? D::untruncated_normal
                                               : D::truncated_normal;
    init = std::make_shared<VarianceScaling>(static_cast<float>(scale), m, d, "VarianceScaling");
  } else if (cls == "Orthogonal" || cls == "orthogonal") {
    init = std::make_shared<Orthogonal>(static_cast<float>(c.number("gain", 1.0, -3e38, 3e38)));
  } else {
    static const char* const named[] = {"GlorotUniform", "GlorotNormal", "HeUniform",
                                        "HeNormal",      "LecunNormal",  "LecunUniform"};
    for (const char* n : named)
      if (cls == n) init = Initializer::get(n);
    if (!init)
      throw ConfigError(outer.path("class_name") + ": unknown initializer \"" + cls +
                        "\"; supported: Zeros, Ones, Constant, RandomNormal, RandomUniform, "
                        "VarianceScaling, GlorotUniform, GlorotNormal, HeUniform, HeNormal, "
                        "LecunNormal, LecunUniform, Orthogonal");
  }
  c.check_unknown_keys("initializer " + cls);
  return InitializerRef(init);
}

std::string dtype_from_config(const json& value, const std::string& path) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object()) {
    // {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}} (Keras 3),
    // {"class_name": "Policy", "config": {"name": "float32"}} (tf.keras).
    auto cfg = value.find("config");
    if (cfg != value.end() && cfg->is_object()) {
      auto n = cfg->find("name");
      if (n != cfg->end() && n->is_string()) return n->get<std::string>();
    }
  }
  throw ConfigError(path + ": expected a dtype name or a DTypePolicy object, got " +
                    describe(value));
}

}  // namespace fitrun::io
