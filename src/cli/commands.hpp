#pragma once
// The subcommands of `fitrun`, one file each. add_<name>() registers the subcommand and its
// options on `app`; the returned function runs it (after parsing) and returns the exit code.
#include <CLI/CLI.hpp>

#include <functional>

namespace fitrun::cli {

using Command = std::function<int()>;

Command add_train(CLI::App& app);
Command add_resume(CLI::App& app);
Command add_evaluate(CLI::App& app);
Command add_predict(CLI::App& app);
Command add_summary(CLI::App& app);
Command add_validate(CLI::App& app);

}  // namespace fitrun::cli
