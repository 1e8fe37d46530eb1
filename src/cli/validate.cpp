// fitrun validate RUN.json [--set KEY=VALUE]... [--device D] [--output DIR]: every check
// `fitrun train` makes before training (fields, files, the model against the data), without
// training or writing anything.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/training_run.hpp"

namespace fitrun::cli {

Command add_validate(CLI::App& app) {
  struct Args {
    std::string run_file;
    RunOverrides overrides;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("validate", "check a run file without training");
  cmd->add_option("RUN", args->run_file, "run file (docs/run-config.md)")->required();
  args->overrides.add_to(cmd);
  return [args] {
    RunFile run = RunFile::read(args->run_file);
    args->overrides.apply(run);
    PrepareOptions po;
    po.require_output = false;
    PreparedRun p = prepare_run(run, po);
    if (!p.output.dir.empty()) RunOutput(p.output.dir).check_unused();
    int64_t params = 0;
    for (const auto& w : p.model->weights()) params += w->value.size();
    const int64_t n = p.data.x_train.dim(0), held = p.data.n_validation_split();
    std::string data = std::to_string(n - held) + " training samples";
    if (held) data += ", " + std::to_string(held) + " held out for validation";
    if (p.data.validation) data += ", " + std::to_string(p.data.validation->x[0].dim(0)) + " validation";
    if (p.data.x_test.defined()) data += ", " + std::to_string(p.data.x_test.dim(0)) + " test";
    std::printf("%s: valid (model \"%s\", %lld parameters; %s; %d epochs)\n",
                args->run_file.c_str(), p.model->name().c_str(), static_cast<long long>(params),
                data.c_str(), p.fit.epochs);
    return kExitOk;
  };
}

}  // namespace fitrun::cli
