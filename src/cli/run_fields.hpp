#pragma once
// The objects of a run file and the keys each accepts. The validator (run_config.cpp) rejects
// every other key through this table, and tests/cli compares it with
// docs/run-config.schema.json, so the schema and the validator cannot drift apart.
#include <string>
#include <vector>

namespace fitrun::cli {

struct ObjectFields {
  /// JSON pointer of the object in a run file; "*" stands for any list index.
  std::string pointer;
  std::vector<std::string> keys;
};

/// Every object of a run file with its accepted keys (root first).
const std::vector<ObjectFields>& run_file_objects();

/// The accepted keys of the object at `pointer` (as written in the table); throws
/// std::out_of_range for a pointer the table lacks.
const std::vector<std::string>& run_file_keys(const std::string& pointer);

/// The data-source formats `data.train` / `data.validation` / `data.test` accept.
const std::vector<std::string>& data_formats();

}  // namespace fitrun::cli
