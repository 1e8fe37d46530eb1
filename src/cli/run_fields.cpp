#include "cli/run_fields.hpp"

#include <stdexcept>

namespace fitrun::cli {

namespace {
// One data source: which keys apply depends on "format" (run_config.cpp checks that).
const std::vector<std::string> kSourceKeys = {"format", "path", "label_column", "header",
                                              "delimiter", "x", "y", "x_key", "y_key", "label_mode"};
}  // namespace

const std::vector<ObjectFields>& run_file_objects() {
  static const std::vector<ObjectFields> table = {
      {"", {"$schema", "model", "compile", "data", "fit", "callbacks", "output", "device",
            "float32_matmul_precision"}},
      {"/compile", {"optimizer", "loss", "metrics", "loss_weights"}},
      {"/data", {"train", "validation", "test", "validation_split", "test_split", "split_seed",
                 "preprocessing"}},
      {"/data/train", kSourceKeys},
      {"/data/validation", kSourceKeys},
      {"/data/test", kSourceKeys},
      {"/data/preprocessing", {"scale", "offset", "reshape", "one_hot"}},
      {"/fit", {"epochs", "batch_size", "shuffle", "seed", "verbose", "validation_freq",
                "validation_batch_size", "steps_per_epoch"}},
      {"/callbacks/*", {"class_name", "config"}},
      {"/output", {"dir", "checkpoint_freq", "keep_checkpoints"}},
  };
  return table;
}

const std::vector<std::string>& run_file_keys(const std::string& pointer) {
  for (const auto& o : run_file_objects())
    if (o.pointer == pointer) return o.keys;
  throw std::out_of_range("run_file_keys: no object " + pointer);
}

const std::vector<std::string>& data_formats() {
  static const std::vector<std::string> formats = {"csv", "npy", "npz", "idx", "cifar10", "cifar100"};
  return formats;
}

}  // namespace fitrun::cli
