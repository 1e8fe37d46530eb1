#include "cli/training_run.hpp"

#include <cstdio>
#include <iostream>

#include "fitrun/model.hpp"
#include "fitrun/runtime.hpp"
#include "fitrun/version.hpp"

namespace fitrun::cli {

void RunOverrides::add_to(CLI::App* cmd) {
  cmd->add_option("--set", sets, "override a run-file field: --set fit.epochs=3 (JSON value)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--device", device, "cpu, cuda[:N] or auto (the run file's \"device\")")
      ->type_name("DEVICE");
  cmd->add_option("--output", output, "output folder (the run file's \"output\")")
      ->type_name("DIR");
}

void RunOverrides::apply(RunFile& run) const {
  for (const auto& s : sets) run.set(s);
  if (!device.empty()) run.set_pointer("/device", device, "--device " + device);
  if (!output.empty()) {
    const bool object = run.doc.contains("output") && run.doc["output"].is_object();
    run.set_pointer(object ? "/output/dir" : "/output", output, "--output " + output);
  }
}

int run_training(PreparedRun& p, const RunOutput& out, RunState& state) {
  Model& model = *p.model;
  out.log("fitrun " + std::string(FITRUN_VERSION) + ": training epochs " +
          std::to_string(state.epoch + 1) + " to " + std::to_string(p.fit.epochs));
  std::string info = build_info();
  for (size_t b = 0, e; b < info.size(); b = e + 1) {
    e = info.find('\n', b);
    if (e == std::string::npos) e = info.size();
    if (e > b) out.log("  " + info.substr(b, e - b));
  }
  if (p.fit.verbose > 0 && state.epoch == 0) model.summary(std::cout);
  std::cout.flush();

  auto writer = std::make_shared<CheckpointWriter>(out, state, p.output.checkpoint_freq,
                                                   p.output.keep_checkpoints);
  FitOptions fo = p.fit;
  fo.initial_epoch = state.epoch;
  fo.callbacks.push_back(writer);  // last: checkpoints include the other callbacks' effects
  const callbacks::History& history = model.fit({p.data.x_train}, {p.data.y_train}, fo);
  if (history.interrupted) {
    // Ctrl-C: fit finished its batch and the writer checkpointed the last whole epoch.
    std::printf("Interrupted; %d/%d epochs are checkpointed. Continue with: fitrun resume %s\n",
                state.epoch, p.fit.epochs, out.dir().string().c_str());
    out.log("interrupted (Ctrl-C) after " + std::to_string(state.epoch) + " epochs");
    return kExitInterrupted;
  }

  model.save(out.file("model.h5").string());
  out.log("saved model.h5");
  if (p.data.x_test.defined()) {
    EvaluateOptions eo;
    eo.batch_size = p.fit.batch_size;
    eo.verbose = 0;
    const Logs test = model.evaluate({p.data.x_test}, {p.data.y_test}, eo);
    state.test_metrics = json(test);
    const std::string line = format_logs(test);
    std::printf("Test (%lld samples): %s\n", static_cast<long long>(p.data.x_test.dim(0)),
                line.c_str());
    out.log("test: " + line);
  }
  state.completed = true;
  out.write_state(state);
  std::printf("Saved %s\n", out.file("model.h5").string().c_str());
  out.log("done");
  return kExitOk;
}

}  // namespace fitrun::cli
