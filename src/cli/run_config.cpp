#include "cli/run_config.hpp"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/data_source.hpp"
#include "cli/model_file.hpp"
#include "cli/run_fields.hpp"
#include "fitrun/callbacks/registry.hpp"
#include "fitrun/device.hpp"
#include "fitrun/error.hpp"
#include "fitrun/io/model_config.hpp"
#include "fitrun/runtime.hpp"
#include "io/config_reader.hpp"
#include "io/model_io.hpp"

namespace fitrun::cli {

namespace fs = std::filesystem;
using io::ConfigReader;

// ---------------------------------------------------------------- RunFile

RunFile RunFile::read(const std::string& path) {
  RunFile run;
  run.label = path;
  run.base_dir = fs::path(path).parent_path();
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw InvalidInput(path + ": is a folder, expected a run file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InvalidInput(path + ": cannot open: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  try {
    run.doc = json::parse(text.str());
  } catch (const json::parse_error& e) {
    // nlohmann's what() is "[json.exception.parse_error.101] parse error at line 3, column 5:
    // syntax error ..."; keep what follows the tag.
    std::string m = e.what();
    if (auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
    throw InvalidInput(path + ": not valid JSON: " + m);
  }
  if (!run.doc.is_object())
    throw InvalidInput(path + ": /: expected an object, got " + io::describe(run.doc));
  return run;
}

void RunFile::set_pointer(const std::string& pointer, json value, const std::string& label) {
  json* at = &doc;
  size_t pos = 1;
  while (pos <= pointer.size()) {
    size_t end = pointer.find('/', pos);
    if (end == std::string::npos) end = pointer.size();
    const std::string token = pointer.substr(pos, end - pos);
    if (at->is_array()) {
      size_t index = 0;
      if (token.empty() || token.find_first_not_of("0123456789") != std::string::npos ||
          (index = std::stoul(token)) >= at->size())
        throw InvalidInput(label + ": " + pointer.substr(0, end) + ": no such list entry");
      at = &(*at)[index];
    } else {
      if (!at->is_object()) *at = json::object();
      at = &(*at)[token];
    }
    pos = end + 1;
  }
  *at = std::move(value);
  overrides[pointer] = label;
}

void RunFile::set(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InvalidInput("--set " + assignment + ": expected KEY=VALUE, e.g. fit.epochs=3");
  const std::string key = assignment.substr(0, eq), text = assignment.substr(eq + 1);
  std::string pointer;
  size_t pos = 0;
  while (true) {
    const size_t dot = key.find('.', pos);
    const std::string part = key.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (part.empty())
      throw InvalidInput("--set " + assignment + ": empty name in \"" + key + "\"");
    pointer += '/';
    pointer += io::json_pointer_token(part);
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception&) {
    value = text;  // fit.device=cpu: a bare word is a string
  }
  set_pointer(pointer, std::move(value), "--set " + assignment);
}

void RunFile::fail(const std::exception& e) const {
  const std::string m = e.what();
  // The longest override pointer the message's path starts with names the culprit.
  std::string label_used = label, best;
  for (const auto& [pointer, l] : overrides) {
    if (m.compare(0, pointer.size(), pointer) == 0 && m.size() > pointer.size() &&
        (m[pointer.size()] == ':' || m[pointer.size()] == '/') && pointer.size() > best.size()) {
      best = pointer;
      label_used = l;
    }
  }
  throw InvalidInput(label_used + ": " + m);
}

int64_t RunData::n_validation_split() const {
  if (validation_split <= 0 || !x_train.defined()) return 0;
  const int64_t n = x_train.dim(0);
  return n - static_cast<int64_t>(std::floor(double(n) * (1 - validation_split)));
}

// ---------------------------------------------------------------- model and data fit

namespace {
/// The setting that preprocesses data from `source`: a run file's /data/preprocessing/<key>,
/// or the command-line option (--reshape) for data named on the command line.
std::string preprocessing_setting(const std::string& source, std::string key) {
  if (source.rfind("--", 0) != 0) return "/data/preprocessing/" + key;
  for (char& c : key)
    if (c == '_') c = '-';
  return "--" + key;
}
}  // namespace

void check_model_input(Model& model, const Tensor& x, const std::string& source) {
  if (model.inputs().size() > 1 || model.outputs().size() > 1)
    throw ConfigError("/model: the CLI handles models with one input and one output; this one "
                      "has " + std::to_string(model.inputs().size()) + " inputs and " +
                      std::to_string(model.outputs().size()) + " outputs");
  if (model.outputs().empty()) {
    // A Sequential without an input shape builds on its first data, as in Keras.
    try {
      PredictOptions po;
      po.batch_size = 1;
      po.verbose = 0;
      model.predict({x.slice(0, std::min<int64_t>(1, x.dim(0)))}, po);
    } catch (const Error& e) {
      throw ConfigError(std::string("/model: does not fit the samples of ") + source + " " +
                        x.shape().with_batch(-1).to_string() + ": " + e.what());
    }
  }
  const Shape& in = model.inputs()[0].shape();
  if (x.shape().with_batch(-1) != in.with_batch(-1))
    throw ConfigError("/model: input " + in.to_string() + " does not fit the samples of " +
                      source + " " + x.shape().with_batch(-1).to_string() +
                      (in.sample_size() == x.shape().sample_size()
                           ? " (" + preprocessing_setting(source, "reshape") + " can reshape them)"
                           : ""));
}

Tensor fit_labels_to_model(Model& model, const Tensor& x, const Tensor& y_in,
                           const std::string& source) {
  check_model_input(model, x, source);
  const Shape& out = model.outputs()[0].shape();
  const std::string loss = model.loss_functions().empty()
                               ? std::string() : model.loss_functions()[0]->class_name();
  Tensor y = y_in;
  const std::string what = "/model: output " + out.to_string() + " does not fit the labels of " +
                           source;
  if (loss == "SparseCategoricalCrossentropy") {
    if (y.rank() == 2 && y.dim(1) == 1) y = y.reshape({y.dim(0)});
    if (y.dtype() != DType::int32 || y.rank() != 1)
      throw ConfigError(what + " " + y.shape().with_batch(-1).to_string() +
                        ": sparse_categorical_crossentropy takes one integer class per sample");
    const int32_t* d = y.data<int32_t>();
    const int32_t max = y.size() ? *std::max_element(d, d + y.size()) : 0;
    const int32_t min = y.size() ? *std::min_element(d, d + y.size()) : 0;
    if (min < 0) throw ConfigError(source + ": class labels must be >= 0, found " + std::to_string(min));
    if (out.rank() != 2 || out.dim(1) <= max)
      throw ConfigError(what + ": labels go up to " + std::to_string(max) + ", which needs " +
                        std::to_string(max + 1) + " output units");
    return y;
  }
  if (y.dtype() != DType::float32) y = y.astype(DType::float32);
  if (y.rank() == 1 && out.rank() == 2 && out.dim(1) == 1) y = y.reshape({y.dim(0), 1});
  if (y.shape().with_batch(-1) != out.with_batch(-1))
    throw ConfigError(what + " " + y.shape().with_batch(-1).to_string() +
                      (y_in.dtype() == DType::int32 && y_in.rank() == 1 && out.rank() == 2
                           ? " (integer classes: use sparse_categorical_crossentropy, or " +
                                 preprocessing_setting(source, "one_hot") + ")"
                           : ""));
  return y;
}

// ---------------------------------------------------------------- prepare_run

namespace {

void check_keys(const ConfigReader& r, const std::string& table_pointer, const std::string& what) {
  for (const auto& k : run_file_keys(table_pointer)) r.find(k);
  r.check_unknown_keys(what);
}

/// /model: an inline Keras config, or a .json / .keras / .h5 file name.
std::shared_ptr<Model> read_model(const ConfigReader& root, const fs::path& base, json& resolved) {
  const json* m = root.find("model");
  if (!m) root.fail("model", "required but missing (a Keras model config, or a .json/.keras/.h5 file)");
  if (m->is_object()) {
    try {
      return model_from_config(*m, "/model");
    } catch (const Error& e) {
      io::rethrow_at("/model", e);
    }
  }
  if (!m->is_string())
    root.expected("model", "a Keras model config or a .json/.keras/.h5 file name");
  const std::string name = m->get<std::string>();
  const fs::path p = input_file(name, base, "/model");
  resolved["model"] = fs::absolute(p).lexically_normal().string();
  try {
    return open_model_file(p);
  } catch (const Error& e) {
    throw ConfigError("/model: " + name + ": " + e.what());
  }
}

/// Loads /data/<key> when present (and preprocesses it).
std::optional<datasets::LabeledData> read_source(const ConfigReader& data, const char* key,
                                                 const fs::path& base, json& resolved_data,
                                                 const Preprocessing& pre) {
  const json* j = data.find(key);
  if (!j) return std::nullopt;
  auto d = load_source(*j, data.path(key), base, &resolved_data[key]);
  apply_preprocessing(d, pre, "/data/preprocessing", data.path(key));
  return d;
}

/// A positive integer that fits fit()'s int arguments; `fallback` when absent.
int count(const ConfigReader& r, const char* key, int fallback) {
  if (!r.has(key)) return fallback;
  const int64_t v = r.positive_int(key);
  if (v > INT32_MAX) r.expected(key, "a positive integer below 2^31");
  return static_cast<int>(v);
}

std::string describe_fraction(double f) { return json(f).dump(); }

/// /data: every source loaded, split and preprocessed (labels as loaded).
RunData read_data(const ConfigReader& root, const fs::path& base, json& resolved) {
  RunData out;
  ConfigReader data = root.object("data");
  check_keys(data, "/data", "data");
  const Preprocessing pre = read_preprocessing(data.find("preprocessing"), data.path("preprocessing"));
  auto fraction = [&](const char* key) {
    const json* v = data.find(key);
    if (!v) return 0.0;
    if (!v->is_number() || !(v->get<double>() >= 0.0 && v->get<double>() < 1.0))
      data.expected(key, "a number in [0, 1)");
    return v->get<double>();
  };
  const double validation_split = fraction("validation_split");
  const double test_split = fraction("test_split");
  const auto split_seed = static_cast<uint64_t>(data.integer("split_seed", 0, 0, INT64_MAX));
  if (validation_split > 0 && data.has("validation"))
    data.fail("validation_split", "cannot be combined with /data/validation (give one or the other)");
  if (test_split > 0 && data.has("test"))
    data.fail("test_split", "cannot be combined with /data/test (give one or the other)");
  if (!data.has("train")) data.fail("train", "required but missing (the training data source)");
  json& resolved_data = resolved["data"];
  // Splits come before preprocessing so that a split is the same rows whatever the scaling.
  auto train = load_source(*data.find("train"), data.path("train"), base, &resolved_data["train"]);
  if (test_split > 0) {
    const int64_t n = train.x.dim(0);
    const auto n_test = static_cast<int64_t>(std::round(double(n) * test_split));
    if (n_test < 1 || n_test >= n)
      data.fail("test_split", describe_fraction(test_split) + " of " + std::to_string(n) +
                                  " samples leaves no training or no test data");
    auto [tr, te] = datasets::train_test_split(train, test_split, split_seed);
    train = std::move(tr);
    apply_preprocessing(te, pre, "/data/preprocessing", "/data/train (test_split)");
    out.x_test = te.x;
    out.y_test = te.y;
    out.test_source = "/data/train (test_split)";
  }
  apply_preprocessing(train, pre, "/data/preprocessing", "/data/train");
  out.x_train = train.x;
  out.y_train = train.y;
  if (auto v = read_source(data, "validation", base, resolved_data, pre))
    out.validation = ValidationData{{v->x}, {v->y}};
  if (auto t = read_source(data, "test", base, resolved_data, pre)) {
    out.x_test = t->x;
    out.y_test = t->y;
    out.test_source = "/data/test";
  }
  out.validation_split = validation_split;
  if (validation_split > 0) {
    const int64_t n = train.x.dim(0), held = out.n_validation_split();
    if (held < 1 || held >= n)
      data.fail("validation_split", describe_fraction(validation_split) + " of " + std::to_string(n) +
                                        " training samples leaves no training or no validation data");
  }
  return out;
}

}  // namespace

RunData read_run_data(const RunFile& run) {
  try {
    ConfigReader root(run.doc, "");
    json resolved = run.doc;
    return read_data(root, run.base_dir, resolved);
  } catch (const InvalidInput&) {
    throw;
  } catch (const std::exception& e) {
    run.fail(e);
  }
}

PreparedRun prepare_run(const RunFile& run, const PrepareOptions& options) {
  PreparedRun out;
  out.resolved = run.doc;
  try {
    ConfigReader root(run.doc, "");
    check_keys(root, "", "a run file");
    (void)root.string("$schema", "");

    // ---- device: "auto" is the first GPU when one is present, else the CPU
    const std::string device = root.string("device", "auto");
    try {
      out.device = Device::parse(device);
      const int gpus = cuda_device_count();
      if (out.device.is_cuda() && out.device.index() >= gpus)
        root.fail("device", out.device.to_string() + " is not available: " +
                                (gpus == 0 ? std::string("this machine (or build) has no CUDA device")
                                           : std::to_string(gpus) + " CUDA device(s) present") +
                                "; use \"cpu\" or \"auto\"");
    } catch (const ConfigError& e) {
      if (std::string(e.what()).rfind("/device", 0) == 0) throw;
      root.fail("device", e.what());
    }

    // ---- TF32 on GPUs: "high" as torch.set_float32_matmul_precision("high")
    set_float32_matmul_precision(
        root.choice("float32_matmul_precision", "highest", {"highest", "high"}));

    // ---- fit (read first: its seed decides the model's initial weights)
    ConfigReader fit = root.object("fit");
    check_keys(fit, "/fit", "fit");
    out.fit.epochs = count(fit, "epochs", 1);
    out.fit.batch_size = count(fit, "batch_size", 32);
    out.fit.shuffle = fit.boolean("shuffle", true);
    out.seed = static_cast<uint64_t>(fit.integer("seed", 0, 0, INT64_MAX));
    out.fit.verbose = static_cast<int>(fit.integer("verbose", 1, 0, 2));
    out.fit.validation_freq = count(fit, "validation_freq", 1);
    out.fit.validation_batch_size = count(fit, "validation_batch_size", 0);
    out.fit.steps_per_epoch = count(fit, "steps_per_epoch", 0);

    // ---- output
    if (const json* o = root.find("output")) {
      if (o->is_string()) {
        out.output.dir = o->get<std::string>();
      } else {
        ConfigReader r = root.object("output");
        check_keys(r, "/output", "output");
        out.output.dir = r.string("dir");
        out.output.checkpoint_freq = count(r, "checkpoint_freq", 1);
        out.output.keep_checkpoints = r.boolean("keep_checkpoints", false);
      }
      if (out.output.dir.empty()) root.fail("output", "expected a folder name, got \"\"");
    } else if (options.require_output) {
      root.fail("output", "required but missing (a folder name, or pass --output DIR)");
    }

    out.data = read_data(root, run.base_dir, out.resolved);

    // ---- model and compile
    set_seed(out.seed);
    const json* compile = root.find("compile");
    if (options.model) {
      (void)root.find("model");
      out.model = options.model;
    } else {
      out.model = read_model(root, run.base_dir, out.resolved);
    }
    if (compile && !options.model) {
      ConfigReader c = root.object("compile");
      check_keys(c, "/compile", "compile");
      if (!c.has("loss")) c.fail("loss", "required but missing");
      io::compile_model_from_config(*out.model, *compile, "/compile");
    } else if (compile) {
      check_keys(root.object("compile"), "/compile", "compile");  // the checkpoint's compile wins
    } else if (!out.model->compiled()) {
      root.fail("compile", "required but missing (the model holds no compile settings)");
    }

    out.model->to(out.device);

    // ---- the model against the data
    out.data.y_train = fit_labels_to_model(*out.model, out.data.x_train, out.data.y_train, "/data/train");
    if (out.data.validation)
      out.data.validation->y[0] = fit_labels_to_model(*out.model, out.data.validation->x[0],
                                                      out.data.validation->y[0], "/data/validation");
    if (out.data.x_test.defined())
      out.data.y_test = fit_labels_to_model(*out.model, out.data.x_test, out.data.y_test,
                                            out.data.test_source);

    // ---- callbacks (after the model: some check their monitor against its metrics)
    if (const json* cbs = root.find("callbacks")) {
      if (!cbs->is_array()) root.expected("callbacks", "a list of {\"class_name\", \"config\"}");
      for (size_t i = 0; i < cbs->size(); ++i) {
        const std::string p = "/callbacks/" + std::to_string(i);
        ConfigReader item((*cbs)[i], p);
        check_keys(item, "/callbacks/*", "a callback");
        out.fit.callbacks.push_back(callbacks::callback_from_config((*cbs)[i], p));
      }
    }
    out.fit.validation_split = out.data.validation_split;
    if (out.data.validation) out.fit.validation_data = out.data.validation;
  } catch (const InvalidInput&) {
    throw;
  } catch (const std::exception& e) {
    run.fail(e);
  }
  return out;
}

}  // namespace fitrun::cli
