// fitrun predict MODEL --input X.npy|.csv --output Y.npy|.csv [--batch-size N] [--scale F]
//   [--offset F] [--reshape D]: the model's outputs for every sample of X (.npy: any shape, the
//   first dimension the samples; .csv: a row per sample, every column a feature).
#include <cstdio>

#include "cli/array_files.hpp"
#include "cli/commands.hpp"
#include "cli/data_options.hpp"
#include "cli/model_file.hpp"
#include "cli/run_config.hpp"
#include "fitrun/datasets/npy.hpp"
#include "fitrun/error.hpp"

namespace fitrun::cli {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  const std::string x(suffix);
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

}  // namespace

Command add_predict(CLI::App& app) {
  struct Args {
    std::string model, input, output;
    int batch_size = 32;
    PreprocessOptions pre;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("predict", "run a saved model on inputs from a file");
  cmd->add_option("MODEL", args->model, "model (.keras or .h5, or .json: fresh weights)")->required();
  cmd->add_option("--input", args->input, "inputs: .npy, or .csv (a row per sample)")->required();
  cmd->add_option("--output", args->output, "where to write the outputs: .npy or .csv")->required();
  cmd->add_option("--batch-size", args->batch_size, "batch size")->check(CLI::PositiveNumber);
  args->pre.add_to(cmd, false);
  return [args] {
    namespace fs = std::filesystem;
    const bool npy_out = ends_with(args->output, ".npy");
    if (!npy_out && !ends_with(args->output, ".csv"))
      throw InvalidInput("--output " + args->output + ": expected a .npy or .csv file name");
    const fs::path out_dir = fs::path(args->output).parent_path();
    if (!out_dir.empty() && !fs::is_directory(out_dir))
      throw InvalidInput("--output " + args->output + ": folder \"" + out_dir.string() +
                         "\" does not exist");
    std::shared_ptr<Model> model = open_model_argument(args->model);
    Tensor x;
    try {
      const fs::path in = input_file(args->input, "", "--input");
      const bool npy_in = ends_with(args->input, ".npy");
      if (!npy_in && !ends_with(args->input, ".csv") && !ends_with(args->input, ".csv.gz"))
        throw ConfigError("--input: \"" + args->input + "\": expected a .npy or .csv file");
      try {
        x = npy_in ? datasets::load_npy(in.string()) : read_csv_matrix(in);
      } catch (const Error& e) {
        throw ConfigError(std::string("--input: ") + e.what());
      }
      x = preprocess_inputs(x, args->pre.get(), "", "--input");
      check_model_input(*model, x, "--input");
    } catch (const InvalidInput&) {
      throw;
    } catch (const Error& e) {
      std::string w = e.what();
      if (w.rfind("/model: ", 0) == 0) w = args->model + ": " + w.substr(8);
      throw InvalidInput(w);
    }
    PredictOptions po;
    po.batch_size = args->batch_size;
    const TensorList y = model->predict({x}, po);
    if (npy_out)
      datasets::save_npy(args->output, y[0]);
    else
      write_csv_matrix(args->output, y[0]);
    std::printf("Wrote %lld predictions %s to %s\n", static_cast<long long>(y[0].dim(0)),
                y[0].shape().with_batch(-1).to_string().c_str(), args->output.c_str());
    return kExitOk;
  };
}

}  // namespace fitrun::cli
