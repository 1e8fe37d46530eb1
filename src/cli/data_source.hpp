#pragma once
// Data sources of a run file ({"format": "csv", "path": ...}) and their preprocessing
// (scale, offset, reshape, one_hot). Errors are ConfigErrors naming the JSON path.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fitrun/datasets/csv.hpp"
#include "fitrun/json.hpp"

namespace fitrun::cli {

struct Preprocessing {
  float scale = 1.f;             // x = x * scale + offset
  float offset = 0.f;
  std::vector<int64_t> reshape;  // per-sample shape of x; empty: as loaded
  int64_t one_hot = 0;           // > 0: integer labels become one-hot rows of this width
};

/// The /data/preprocessing object at `path` (`j` null: no preprocessing).
Preprocessing read_preprocessing(const json* j, const std::string& path);

/// Loads the source at `path` ("/data/train"); relative file names start at `base_dir`.
/// `resolved` (the same object in the resolved run file) gets absolute file names.
datasets::LabeledData load_source(const json& j, const std::string& path,
                                  const std::filesystem::path& base_dir, json* resolved = nullptr);

/// Applies `p` (found at `p_path`; "" for command-line options) to data loaded from `source`.
void apply_preprocessing(datasets::LabeledData& d, const Preprocessing& p, const std::string& p_path,
                         const std::string& source);

/// Applies only the x part of `p` (scale, offset, reshape): for predict's inputs.
Tensor preprocess_inputs(const Tensor& x, const Preprocessing& p, const std::string& p_path,
                         const std::string& source);

/// An input file name checked to exist: `name` as written, resolved against `base_dir`.
/// Errors name `path` (the JSON path or option holding the name).
std::filesystem::path input_file(const std::string& name, const std::filesystem::path& base_dir,
                                 const std::string& path);

}  // namespace fitrun::cli
