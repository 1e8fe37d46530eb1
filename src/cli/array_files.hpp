#pragma once
// Arrays in files for `fitrun predict`: inputs from .csv (every column a feature; a header line
// is skipped when it does not parse as numbers), outputs to .csv (one row per sample).
#include <filesystem>
#include <string>

#include "fitrun/tensor.hpp"

namespace fitrun::cli {

/// A numeric CSV (plain or .gz) as a (rows, columns) float32 tensor; IOError naming the file,
/// line and column of a bad cell.
Tensor read_csv_matrix(const std::filesystem::path& path);

/// `t` as CSV: one row per sample (the sample's values flattened), written atomically.
void write_csv_matrix(const std::filesystem::path& path, const Tensor& t);

}  // namespace fitrun::cli
