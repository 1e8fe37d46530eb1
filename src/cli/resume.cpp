// fitrun resume OUTPUT_DIR [--epochs N]: continues a run from its latest checkpoint. The
// checkpoint holds the weights, the optimizer's state, the step counter (Dropout's masks) and
// the shuffling seed, so the result is bit-identical to an uninterrupted run on the CPU with
// the same thread count.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/training_run.hpp"
#include "fitrun/io/saving.hpp"

namespace fitrun::cli {

Command add_resume(CLI::App& app) {
  struct Args {
    std::string dir;
    int epochs = 0;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("resume", "continue a run from its output folder");
  cmd->add_option("OUTPUT_DIR", args->dir, "output folder of `fitrun train`")->required();
  cmd->add_option("--epochs", args->epochs, "train to this many epochs in all (default: the run's)")
      ->check(CLI::PositiveNumber);
  return [args] {
    namespace fs = std::filesystem;
    const RunOutput out(args->dir);
    RunState state = out.read_state();
    RunFile run = RunFile::read((out.dir() / "run.json").string());
    if (args->epochs > 0)
      run.set_pointer("/fit/epochs", args->epochs, "--epochs " + std::to_string(args->epochs));
    std::shared_ptr<Model> model;
    if (!state.checkpoint.empty()) {
      const fs::path ckpt = out.dir() / state.checkpoint;
      try {
        model = load_model(ckpt.string(), true);
      } catch (const Error& e) {
        throw InvalidInput(e.what());
      }
    }
    PrepareOptions po;
    po.model = model;  // none yet: the run starts over from its config
    po.require_output = false;
    PreparedRun p = prepare_run(run, po);
    p.output.dir = out.dir();
    if (state.epoch >= p.fit.epochs) {
      std::cout << out.dir().string() << ": the run is complete (" << state.epoch << "/"
                << p.fit.epochs << " epochs); nothing to do\n";
      return kExitOk;
    }
    // Rows past the checkpoint were trained again from it: drop them.
    while (!state.history_epochs.empty() && state.history_epochs.back() >= state.epoch) {
      state.history_epochs.pop_back();
      for (auto& [k, v] : state.history) v.pop_back();
    }
    state.epochs = p.fit.epochs;
    state.completed = false;
    state.test_metrics = nullptr;
    if (args->epochs > 0) {
      run.doc["fit"]["epochs"] = args->epochs;
      out.write_text("run.json", run.doc.dump(2) + "\n");
    }
    std::cout << "Resuming " << out.dir().string() << " at epoch " << state.epoch + 1 << "/"
              << p.fit.epochs << "\n";
    out.log("resume from " + (state.checkpoint.empty() ? std::string("the start") : state.checkpoint));
    return run_training(p, out, state);
  };
}

}  // namespace fitrun::cli
