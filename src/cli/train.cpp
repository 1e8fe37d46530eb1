// fitrun train RUN.json [--set KEY=VALUE]... [--device cpu|cuda|auto] [--output DIR]
#include <iostream>

#include "cli/commands.hpp"
#include "cli/training_run.hpp"

namespace fitrun::cli {

Command add_train(CLI::App& app) {
  struct Args {
    std::string run_file;
    RunOverrides overrides;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("train", "train the model a run file describes");
  cmd->add_option("RUN", args->run_file, "run file (docs/run-config.md)")->required();
  args->overrides.add_to(cmd);
  return [args] {
    RunFile run = RunFile::read(args->run_file);
    args->overrides.apply(run);
    PreparedRun p = prepare_run(run);
    RunOutput out(p.output.dir);
    out.check_unused();
    // Everything is valid: only now does anything get written.
    out.create();
    p.resolved["output"] = std::filesystem::absolute(p.output.dir).lexically_normal().string();
    if (run.doc.contains("output") && run.doc["output"].is_object()) {
      p.resolved["output"] = run.doc["output"];
      p.resolved["output"]["dir"] = std::filesystem::absolute(p.output.dir).lexically_normal().string();
    }
    out.write_text("run.json", p.resolved.dump(2) + "\n");
    RunState state;
    state.epochs = p.fit.epochs;
    out.write_state(state);
    return run_training(p, out, state);
  };
}

}  // namespace fitrun::cli
