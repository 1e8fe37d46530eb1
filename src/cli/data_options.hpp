#pragma once
// The preprocessing options of `fitrun evaluate` and `fitrun predict` (--scale, --offset,
// --reshape, --one-hot): the command-line form of a run file's data.preprocessing.
#include <CLI/CLI.hpp>

#include <string>

#include "cli/data_source.hpp"

namespace fitrun::cli {

struct PreprocessOptions {
  float scale = 1.f, offset = 0.f;
  std::string reshape;  // "8,8,1"
  int one_hot = 0;
  void add_to(CLI::App* cmd, bool with_labels);
  /// Throws InvalidInput for a malformed --reshape.
  Preprocessing get() const;
};

}  // namespace fitrun::cli
