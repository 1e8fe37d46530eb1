#include "cli/data_options.hpp"

#include "cli/run_config.hpp"

namespace fitrun::cli {

void PreprocessOptions::add_to(CLI::App* cmd, bool with_labels) {
  cmd->add_option("--scale", scale, "multiply the inputs by this (as data.preprocessing.scale)");
  cmd->add_option("--offset", offset, "then add this (as data.preprocessing.offset)");
  cmd->add_option("--reshape", reshape, "per-sample input shape, e.g. 8,8,1")->type_name("DIMS");
  if (with_labels)
    cmd->add_option("--one-hot", one_hot, "turn integer labels into one-hot rows of this width")
        ->check(CLI::Range(2, 1 << 20));
}

Preprocessing PreprocessOptions::get() const {
  Preprocessing p;
  p.scale = scale;
  p.offset = offset;
  p.one_hot = one_hot;
  if (!reshape.empty()) {
    size_t pos = 0;
    while (pos <= reshape.size()) {
      size_t comma = reshape.find(',', pos);
      if (comma == std::string::npos) comma = reshape.size();
      const std::string part = reshape.substr(pos, comma - pos);
      char* end = nullptr;
      const long long d = std::strtoll(part.c_str(), &end, 10);
      if (part.empty() || *end != '\0' || d < 1)
        throw InvalidInput("--reshape " + reshape + ": expected positive integers separated by "
                           "commas, e.g. 8,8,1");
      p.reshape.push_back(d);
      pos = comma + 1;
    }
  }
  return p;
}

}  // namespace fitrun::cli
