#pragma once
// Running the built fitrun executable (FITRUN_CLI, from CMake) in a scratch folder.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fitrun::testing_cli {

namespace fs = std::filesystem;

/// A fresh folder per test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    path = fs::temp_directory_path() /
           ("fitrun_cli_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string source_file(const std::string& relative) {
  return (fs::path(FITRUN_SOURCE_DIR) / relative).string();
}

struct Result {
  int rc = -1;
  std::string out, err;
};

/// Runs `fitrun <args>` in `cwd` (args as shell words; tests pass plain paths).
inline Result run_cli(const std::string& args, const fs::path& cwd) {
  static std::atomic<int> counter{0};
  const fs::path base = fs::temp_directory_path() / ("fitrun_cli_io_" + std::to_string(::getpid()) +
                                                     "_" + std::to_string(counter++));
  const std::string cmd = "cd '" + cwd.string() + "' && '" FITRUN_CLI "' " + args + " > '" +
                          base.string() + ".out' 2> '" + base.string() + ".err'";
  const int status = std::system(cmd.c_str());
  Result r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = read_file(base.string() + ".out");
  r.err = read_file(base.string() + ".err");
  fs::remove(base.string() + ".out");
  fs::remove(base.string() + ".err");
  return r;
}

}  // namespace fitrun::testing_cli
