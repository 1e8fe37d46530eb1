#pragma once
// ConfigReader: typed access to one Keras config object ({"units": 64, ...}) whose errors name
// the exact JSON path of the bad value:
//   /config/layers/2/config/units: expected a positive integer, got -1
//
// Layer factories (layers/registry.cpp) read their arguments through it:
//
//   r["Dense"] = [](const json& c) {
//     io::ConfigReader cfg(c);
//     layers::DenseOptions o;
//     o.name = cfg.name();
//     o.use_bias = cfg.boolean("use_bias", true);
//     o.kernel_initializer = cfg.initializer("kernel_initializer", "glorot_uniform");
//     cfg.require_null({"kernel_regularizer", "kernel_constraint"});
//     const int64_t units = cfg.positive_int("units");
//     return cfg.finish(std::make_shared<layers::Dense>(units, cfg.activation(), o));
//   };
//
// Every accessor records its key as known; finish() applies the keys every Keras layer has
// (trainable, dtype), then rejects any key the factory never asked about, with a "did you mean"
// suggestion (Keras, too, refuses unknown keyword arguments). A null value reads as "absent"
// (Keras writes null for defaults: "seed": null).
//
// The reader's path starts from ConfigPathScope::current(), which the model loader sets to the
// layer's place in the model file, so a factory needs no path argument.
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fitrun/error.hpp"
#include "fitrun/initializers.hpp"
#include "fitrun/json.hpp"
#include "fitrun/layer.hpp"
#include "fitrun/shape.hpp"

namespace fitrun::io {

/// One key as a JSON pointer token ("a/b" -> "a~1b", "m~" -> "m~0").
std::string json_pointer_token(const std::string& key);

/// Where the config being read sits in its document ("/config/layers/2/config"), for the
/// lifetime of the scope (scopes nest; the innermost wins). Thread-local.
class ConfigPathScope {
 public:
  explicit ConfigPathScope(std::string path);
  ~ConfigPathScope();
  ConfigPathScope(const ConfigPathScope&) = delete;
  ConfigPathScope& operator=(const ConfigPathScope&) = delete;
  /// The innermost scope's path; "" outside any scope.
  static const std::string& current();

 private:
  std::string previous_;
};

class ConfigReader {
 public:
  /// Reads `config` found at ConfigPathScope::current(). Throws ConfigError unless it is an
  /// object.
  explicit ConfigReader(const json& config);
  /// Reads `config` found at `path` (a JSON pointer, "" for the document root).
  ConfigReader(const json& config, std::string path);

  const json& value() const { return j_; }
  /// This object's path, and the path of one of its keys.
  const std::string& path() const { return path_; }
  std::string path(const std::string& key) const;

  /// The value at `key`, or nullptr when absent or null. Marks the key as known.
  const json* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }

  // ---- scalars: the one-argument forms require the key, the others default it ----
  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  /// A string among `allowed`: "padding": "valid" | "same".
  std::string choice(const std::string& key, const std::string& fallback,
                     std::initializer_list<const char*> allowed) const;
  bool boolean(const std::string& key, bool fallback) const;
  int64_t integer(const std::string& key, int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max()) const;
  int64_t integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
  /// An integer >= 1.
  int64_t positive_int(const std::string& key) const;
  int64_t positive_int(const std::string& key, int64_t fallback) const;
  /// A finite number in [min, max].
  double number(const std::string& key, double min = -std::numeric_limits<double>::max(),
                double max = std::numeric_limits<double>::max()) const;
  double number(const std::string& key, double fallback, double min, double max) const;
  /// A Keras size argument: one integer (repeated n times) or a list of n integers, each >= min
  /// (kernel_size, strides, pool_size, dilation_rate).
  std::vector<int64_t> int_tuple(const std::string& key, size_t n,
                                 std::vector<int64_t> fallback, int64_t min = 1) const;
  std::vector<int64_t> int_tuple(const std::string& key, size_t n, int64_t min = 1) const;
  /// A list of integers (any length), each >= min.
  std::vector<int64_t> int_list(const std::string& key, int64_t min) const;
  /// A shape: [null, 28, 28, 1] (null = unknown, stored as -1).
  Shape shape(const std::string& key) const;

  // ---- Keras objects ----
  /// An activation by name ("relu") or as a serialized function object; validated.
  std::string activation(const std::string& key = "activation",
                         const std::string& fallback = "linear") const;
  /// An initializer by name ("he_normal") or as {"class_name", "config"} in either dialect.
  InitializerRef initializer(const std::string& key, const std::string& fallback) const;
  /// A regularizer ("l2" or {"class_name": "L2", "config": {"l2": 0.01}}); null when absent.
  RegularizerRef regularizer(const std::string& key) const;
  /// A constraint ("non_neg" or {"class_name": "MaxNorm", ...}); null when absent.
  ConstraintRef constraint(const std::string& key) const;
  /// Arguments fitrun does not implement (quantization, LoRA): accepted
  /// when absent or null, an error naming the key otherwise.
  void require_null(std::initializer_list<const char*> keys) const;
  /// An argument fitrun implements for one value only: accepted when absent, null or equal to
  /// `expected` ("data_format": "channels_last").
  void require_value(const std::string& key, const json& expected) const;
  /// Marks keys as known without reading them (values fitrun has no use for).
  void ignore(std::initializer_list<const char*> keys) const;
  /// A nested object (an empty one when absent), read with the path of `key`.
  ConfigReader object(const std::string& key) const;

  // ---- layers ----
  /// The layer name ("" when absent: the layer names itself).
  std::string name() const;
  /// Applies the base keys every layer has ("trainable"; "dtype" must be float32), rejects
  /// keys nothing asked about, and returns `layer`.
  template <class L>
  std::shared_ptr<L> finish(std::shared_ptr<L> layer) const {
    finish_layer(*layer);
    return layer;
  }
  /// Throws ConfigError naming the first key no accessor asked about, with a suggestion.
  /// `what` names the object in the message ("Dense", "initializer GlorotUniform").
  void check_unknown_keys(const std::string& what) const;

  /// Throws ConfigError "<path>/<key>: <message>".
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  /// Throws ConfigError "<path>/<key>: expected <expected>, got <value>".
  [[noreturn]] void expected(const std::string& key, const std::string& what) const;

 private:
  const json& at(const std::string& key) const;  // required: present and non-null
  void finish_layer(Layer& layer) const;

  const json& j_;
  std::string path_;
  mutable std::set<std::string> known_;
};

/// The candidate closest to `word` by edit distance, if close enough to be a likely typo;
/// "" otherwise.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

/// A value for an error message: compact JSON, cut to ~60 characters.
std::string describe(const json& value);

/// An initializer from a name or an {"class_name", "config"} object (Keras 2 or 3 form);
/// errors name `path`.
InitializerRef initializer_from_config(const json& value, const std::string& path);

/// The dtype a Keras "dtype" value names: "float32", or a DTypePolicy object (Keras 3) or
/// Policy object (tf.keras) whose config holds the name. Errors name `path`.
std::string dtype_from_config(const json& value, const std::string& path);

}  // namespace fitrun::io
