#pragma once
// A run file (docs/run-config.md) read, validated and turned into everything `fitrun train`
// needs: the data, a compiled model, fit() options and callbacks. Validation comes first and
// covers every field, the files named and whether the model fits the data; nothing is written
// anywhere while it runs, so a bad run file leaves the output folder untouched.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "fitrun/datasets/csv.hpp"
#include "fitrun/json.hpp"
#include "fitrun/model.hpp"

namespace fitrun::cli {

// Exit codes of every subcommand.
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;  // the work itself failed (a write error while training, ...)
constexpr int kExitInvalid = 2;  // bad input found before any work: nothing was written
constexpr int kExitInterrupted = 130;  // Ctrl-C: stopped after a batch, resumable (128 + SIGINT)

/// Bad input (arguments, run file, model file, data file) found before any work; what() is the
/// one line the CLI prints: "run.json: /fit/epochs: expected a positive integer, got \"ten\"".
class InvalidInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A run file as given on the command line, with the --set/--output/--device overrides applied.
struct RunFile {
  std::string label;                 // how errors name it: the path as typed
  std::filesystem::path base_dir;    // relative data and model paths start here
  json doc;
  /// Overrides by JSON pointer ("/fit/epochs" -> "--set fit.epochs=ten"): an error at or under
  /// such a pointer is reported against the override rather than the file.
  std::map<std::string, std::string> overrides;

  /// Reads and parses `path`; InvalidInput naming the file when unreadable or not JSON.
  static RunFile read(const std::string& path);
  /// "--set fit.epochs=3": a dotted path (list indices as numbers) and a JSON value (text that
  /// is not JSON is taken as a string). Objects on the way are created.
  void set(const std::string& assignment);
  /// Sets the value at `pointer`, reporting errors there against `label` ("--output runs/a").
  void set_pointer(const std::string& pointer, json value, const std::string& label);
  /// Turns a fitrun::Error from validation into the InvalidInput line for this file.
  [[noreturn]] void fail(const std::exception& e) const;
};

struct OutputSettings {
  std::filesystem::path dir;
  int checkpoint_freq = 1;        // epochs between checkpoints (the last epoch always gets one)
  bool keep_checkpoints = false;  // keep every checkpoint instead of the latest only
};

/// Data after loading and preprocessing, labels in the form the model's loss takes.
struct RunData {
  Tensor x_train, y_train;
  std::optional<ValidationData> validation;  // from data.validation
  double validation_split = 0.0;             // from data.validation_split
  Tensor x_test, y_test;                     // undefined without a test set
  std::string test_source;                   // "/data/test" or "/data/train (test_split)"
  int64_t n_validation_split() const;        // samples fit() will hold out
};

struct PreparedRun {
  /// The run file with overrides applied and every input path made absolute: what the output
  /// folder keeps as run.json, so `fitrun resume` finds everything from any folder.
  json resolved;
  std::shared_ptr<Model> model;  // built (or loaded) and compiled
  RunData data;
  FitOptions fit;                // epochs, batch_size, ... and the run file's callbacks
  uint64_t seed = 0;
  Device device;                 // /device, resolved ("auto" -> the GPU when present)
  OutputSettings output;
};

struct PrepareOptions {
  /// Use this model (a checkpoint's, for resume) instead of building /model; it keeps its own
  /// compile state and optimizer.
  std::shared_ptr<Model> model;
  /// Read /output (train, resume); validate skips it when absent.
  bool require_output = true;
};

/// Validates every field of `run` and prepares the run; throws InvalidInput (one line naming the
/// file and the JSON path) on the first problem found.
PreparedRun prepare_run(const RunFile& run, const PrepareOptions& options = {});

/// Only /data of `run` (for `fitrun evaluate --data RUN.json`): loaded, split and
/// preprocessed, labels as loaded. Throws InvalidInput.
RunData read_run_data(const RunFile& run);

/// The labels `y` turned into what the model's loss takes (float32, (n, 1) for one output
/// unit), after checking that the model's input fits `x` and its output fits `y`. Errors are
/// ConfigErrors naming "/model" and `source` (the data's JSON path or option).
Tensor fit_labels_to_model(Model& model, const Tensor& x, const Tensor& y,
                           const std::string& source);

/// The model's single input fits `x` (ShapeError-free predict); errors name `source`.
void check_model_input(Model& model, const Tensor& x, const std::string& source);

}  // namespace fitrun::cli
