#pragma once
// Shared fixtures for model tests: the bundled real data sets.
#include <fitrun/fitrun.hpp>

namespace fitrun_test {

inline std::string data_path(const std::string& name) {
  return std::string(FITRUN_SOURCE_DIR) + "/examples/data/" + name;
}

/// UCI digits scaled to [0, 1], split 80/20 with a fixed seed.
inline std::pair<fitrun::datasets::LabeledData, fitrun::datasets::LabeledData> digits() {
  auto d = fitrun::datasets::load_csv(data_path("digits.csv.gz"));
  fitrun::ops::scale(d.x, 1.f / 16.f, d.x);
  return fitrun::datasets::train_test_split(d, 0.2, 7);
}

}  // namespace fitrun_test
