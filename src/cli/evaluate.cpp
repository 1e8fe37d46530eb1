// fitrun evaluate MODEL --data DATA [--batch-size N] [--scale F] [--offset F] [--reshape D]
//   DATA is a data file (.csv: features then the label, as data.train) or a run file (.json),
//   whose test set (data.test or data.test_split) and preprocessing are used.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/data_options.hpp"
#include "cli/model_file.hpp"
#include "cli/run_config.hpp"
#include "cli/run_output.hpp"
#include "fitrun/datasets/csv.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cli {

Command add_evaluate(CLI::App& app) {
  struct Args {
    std::string model, data;
    int batch_size = 32;
    PreprocessOptions pre;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("evaluate", "loss and metrics of a saved model on labelled data");
  cmd->add_option("MODEL", args->model, "saved model (.keras or .h5, compiled)")->required();
  cmd->add_option("--data", args->data, "labelled data: a .csv file, or a run file (.json) whose "
                                        "test set to use")->required();
  cmd->add_option("--batch-size", args->batch_size, "batch size")->check(CLI::PositiveNumber);
  args->pre.add_to(cmd, true);
  return [args] {
    std::shared_ptr<Model> model = open_model_argument(args->model);
    if (!model->compiled())
      throw InvalidInput(args->model + ": the model holds no compile settings (loss, metrics) to "
                         "evaluate with; save it after compile()");
    Tensor x, y;
    std::string source = "--data " + args->data;
    const bool run_file = args->data.size() > 5 &&
                          args->data.compare(args->data.size() - 5, 5, ".json") == 0;
    try {
      if (run_file) {
        RunData d = read_run_data(RunFile::read(args->data));
        if (!d.x_test.defined())
          throw InvalidInput(args->data + ": /data: no test set (data.test or data.test_split)");
        x = d.x_test;
        y = d.y_test;
        source = args->data + " " + d.test_source;
      } else {
        const auto p = input_file(args->data, "", "--data");
        datasets::LabeledData d;
        try {
          d = datasets::load_csv(p.string());
        } catch (const Error& e) {
          throw ConfigError(std::string("--data: ") + e.what());
        }
        apply_preprocessing(d, args->pre.get(), "", "--data");
        x = d.x;
        y = d.y;
      }
      y = fit_labels_to_model(*model, x, y, source);
    } catch (const InvalidInput&) {
      throw;
    } catch (const Error& e) {
      std::string w = e.what();
      if (w.rfind("/model: ", 0) == 0) w = w.substr(8);
      throw InvalidInput(args->model + ": " + w);
    }
    EvaluateOptions eo;
    eo.batch_size = args->batch_size;
    eo.verbose = 1;
    const Logs logs = model->evaluate({x}, {y}, eo);
    std::printf("%s\n", format_logs(logs).c_str());
    return kExitOk;
  };
}

}  // namespace fitrun::cli
