#pragma once
// Running the built fitrun executable (FITRUN_CLI, from CMake) in a scratch folder.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

namespace fitrun::testing_cli {

/// `fitrun <args...>` started in `cwd` without waiting (stdout/stderr to `log`); returns the pid.
inline pid_t start_cli(const std::vector<std::string>& args, const fs::path& cwd, const fs::path& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) ::_exit(127);
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    if (!f || ::dup2(::fileno(stdout), 2) < 0) ::_exit(127);
    std::vector<char*> argv{const_cast<char*>(FITRUN_CLI)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(FITRUN_CLI, argv.data());
    ::_exit(127);
  }
  return pid;
}

/// The exit code of `pid` once it ends (-1 if killed by a signal).
inline int wait_cli(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace fitrun::testing_cli
