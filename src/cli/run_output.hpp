#pragma once
// The output folder of a run:
//   run.json                the run file as trained (overrides applied, input paths absolute)
//   state.json              epochs done, the latest checkpoint, the history so far
//   checkpoints/epoch-NNNN.h5  model + optimizer state after epoch NNNN (the latest only, unless
//                           output.keep_checkpoints)
//   model.h5                the final model (Keras' legacy HDF5 layout)
//   history.csv             one row per epoch: epoch, then every log key (Keras' CSVLogger)
//   train.log               what happened, one line per event
// Every file is replaced atomically, and state.json is written only after the checkpoint it
// names, so a crash at any point leaves a folder that `fitrun resume` continues from.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/json.hpp"

namespace fitrun::cli {

struct RunState {
  int epoch = 0;            // epochs completed
  int epochs = 0;           // epochs the run trains in all
  std::string checkpoint;   // relative to the output folder; "" before the first one
  bool completed = false;
  std::vector<int> history_epochs;                       // 0-based epoch of each history row
  std::map<std::string, std::vector<double>> history;   // key -> value per row (NaN: absent)
  json test_metrics;                                     // null until the test set is evaluated

  json to_json() const;
  static RunState from_json(const json& j, const std::string& file);
};

class RunOutput {
 public:
  explicit RunOutput(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path file(const std::string& name) const { return dir_ / name; }

  /// Throws InvalidInput when `dir` already holds a run (or is not a folder); writes nothing.
  void check_unused() const;
  /// Creates the folder (and checkpoints/); throws IOError naming it.
  void create() const;

  /// Writes `text` to dir/name atomically.
  void write_text(const std::string& name, const std::string& text) const;
  void write_state(const RunState& state) const;
  RunState read_state() const;
  /// history.csv from the state's history.
  void write_history_csv(const RunState& state) const;
  /// Appends one line to train.log (with a UTC timestamp).
  void log(const std::string& line) const;

 private:
  std::filesystem::path dir_;
};

/// Saves checkpoints, state.json, history.csv and log lines as epochs end. fit() runs it after
/// the run file's callbacks, so the state it saves includes their effects on the model.
class CheckpointWriter : public callbacks::Callback {
 public:
  CheckpointWriter(const RunOutput& out, RunState& state, int checkpoint_freq, bool keep_all)
      : out_(out), state_(state), freq_(checkpoint_freq), keep_all_(keep_all) {}
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_end(const Logs& logs) override;

  /// Saves a checkpoint after `epoch` (0-based) now, and points state.json at it.
  void save_checkpoint(int epoch);

 private:
  const RunOutput& out_;
  RunState& state_;
  int freq_;
  bool keep_all_;
  int last_epoch_ = -1;
};

/// "accuracy: 0.9667 - loss: 0.1123": logs as Keras' progress bar prints them.
std::string format_logs(const Logs& logs);

}  // namespace fitrun::cli
