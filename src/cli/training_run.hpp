#pragma once
// What `fitrun train` and `fitrun resume` share: the run-file overrides on the command line,
// and the training itself (fit with checkpoints, final model, test metrics).
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/run_config.hpp"
#include "cli/run_output.hpp"

namespace fitrun::cli {

/// --set KEY=VALUE (repeatable), --device, --output.
struct RunOverrides {
  std::vector<std::string> sets;
  std::string device, output;
  void add_to(CLI::App* cmd);
  void apply(RunFile& run) const;
};

/// Trains `p.model` from epoch state.epoch to p.fit.epochs into `out`, saving checkpoints as it
/// goes, then model.h5 and the test metrics. Returns the exit code.
int run_training(PreparedRun& p, const RunOutput& out, RunState& state);

}  // namespace fitrun::cli
