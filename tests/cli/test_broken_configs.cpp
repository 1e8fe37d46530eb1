// A corpus of broken run files and model files (tests/cli/broken/): each one must fail
// validation with exactly the line in broken/expected.json, exit code 2, and no output folder.
#include <catch2/catch.hpp>

#include <fitrun/json.hpp>

#include "cli_helpers.hpp"

using namespace fitrun;
using namespace fitrun::testing_cli;

TEST_CASE("every broken run file gives its one-line error and exit code 2", "[cli]") {
  const fs::path dir = source_file("tests/cli/broken");
  const json expected = json::parse(read_file(dir / "expected.json"));
  REQUIRE(expected.size() >= 30);
  TempDir tmp;
  for (const auto& [file, line] : expected.items()) {
    INFO(file);
    REQUIRE(fs::exists(dir / file));
    const fs::path out = tmp.path / "out";
    const Result r = run_cli("train " + file + " --output " + out.string(), dir);
    CHECK(r.rc == 2);
    CHECK(r.err == line.get<std::string>() + "\n");
    CHECK(r.out.empty());
    CHECK_FALSE(fs::exists(out));  // validation comes before anything is written
  }
}

TEST_CASE("every broken run file in the folder is in the manifest", "[cli]") {
  const fs::path dir = source_file("tests/cli/broken");
  const json expected = json::parse(read_file(dir / "expected.json"));
  // Run files are the .json files that are not fixtures they point at.
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json" || name == "expected.json" ||
        name.find("model") != std::string::npos && name.rfind("model_", 0) != 0)
      continue;
    INFO(name);
    CHECK(expected.contains(name));
  }
}
