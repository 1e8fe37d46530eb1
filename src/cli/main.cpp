// fitrun: train, evaluate and use Keras-style models from the command line (docs/run-config.md).
// Every error is one line on stderr; exit codes: 0 done, 1 the work failed, 2 bad input found
// before any work (nothing written).
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.hpp"
#include "cli/run_config.hpp"
#include "fitrun/error.hpp"
#include "fitrun/version.hpp"

int main(int argc, char** argv) {
  using namespace fitrun::cli;
  CLI::App app{"fitrun: train and use Keras-style models from run files (docs/run-config.md)",
               "fitrun"};
  app.set_version_flag("--version", std::string("fitrun ") + FITRUN_VERSION);
  std::string log_level;
  app.add_option("--log-level", log_level, "trace, debug, info, warn (default), error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.require_subcommand(1);
  std::map<CLI::App*, Command> commands;
  for (auto add : {add_train, add_resume, add_evaluate, add_predict, add_summary, add_validate}) {
    Command run = add(app);
    commands[app.get_subcommands({}).back()] = run;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "fitrun: %s (see fitrun --help)\n", e.what());
    return kExitInvalid;
  }
  if (!log_level.empty()) spdlog::set_level(spdlog::level::from_str(log_level));
  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    try {
      return run();
    } catch (const InvalidInput& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return kExitInvalid;
    } catch (const fitrun::Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return kExitFailure;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "fitrun: internal error: %s\n", e.what());
      return kExitFailure;
    }
  }
  return kExitInvalid;
}
