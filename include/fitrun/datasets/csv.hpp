#pragma once
// CSV loading (plain or .gz) into float features and int32 labels.
#include <string>
#include <utility>

#include "fitrun/datasets/labeled_data.hpp"

namespace fitrun::datasets {

struct CsvOptions {
  /// Column holding the label: an index (negative counts from the end), default the last.
  int label_column = -1;
  /// Skip the first line. automatic: skip it when it does not parse as numbers.
  enum class Header { automatic, yes, no } header = Header::automatic;
  char delimiter = ',';
  /// Column holding the label, by its name in the header line (overrides label_column; the
  /// file must have a header).
  std::string label_name;
};

/// Reads a numeric CSV. Errors name the file, line and column: "digits.csv:12: column 3:
/// \"abc\" is not a number".
LabeledData load_csv(const std::string& path, const CsvOptions& options = {});

/// Splits rows into (train, test) after a seeded shuffle; `test_fraction` in (0, 1).
std::pair<LabeledData, LabeledData> train_test_split(const LabeledData& data, double test_fraction,
                                                     uint64_t seed = 0);

}  // namespace fitrun::datasets
