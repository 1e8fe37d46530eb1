// fitrun summary MODEL (.json config, or .keras or .h5 model): Keras' summary table.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/model_file.hpp"
#include "cli/run_config.hpp"

namespace fitrun::cli {

Command add_summary(CLI::App& app) {
  auto model_file = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("summary", "print a model's layers, shapes and parameters");
  cmd->add_option("MODEL", *model_file, "model config (.json) or saved model (.keras or .h5)")->required();
  return [model_file] {
    std::shared_ptr<Model> model = open_model_argument(*model_file);
    model->summary(std::cout);
    if (model->compiled()) {
      const json cc = model->get_compile_config();
      std::cout << "Compiled: optimizer " << model->optimizer().class_name() << ", loss "
                << model->loss_functions()[0]->class_name() << "\n";
    }
    return kExitOk;
  };
}

}  // namespace fitrun::cli
