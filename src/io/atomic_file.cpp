#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "fitrun/error.hpp"

namespace fitrun::io {

namespace {
std::atomic<bool> g_fail_next_commit{false};

std::string folder_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

/// The process umask, read without changing it (Linux >= 4.7); 022 when unknown.
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string key;
  while (status >> key) {
    if (key == "Umask:") {
      std::string value;
      status >> value;
      return static_cast<mode_t>(std::stoul(value, nullptr, 8));
    }
  }
  return 022;
}
}  // namespace

void fail_next_commit_for_testing() { g_fail_next_commit = true; }

AtomicFile::AtomicFile(const std::string& target) : target_(target) {
  std::string name = target + ".tmp-XXXXXX";
  std::vector<char> buf(name.begin(), name.end());
  buf.push_back('\0');
  const int fd = ::mkstemp(buf.data());
  if (fd < 0)
    throw IOError(target + ": cannot create a temporary file in " + folder_of(target) + ": " +
                  std::strerror(errno));
  ::fchmod(fd, 0666 & ~current_umask());  // mkstemp makes 0600; a saved model is shareable
  ::close(fd);
  temp_ = buf.data();
}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::write(const std::string& bytes) {
  const int fd = ::open(temp_.c_str(), O_WRONLY | O_TRUNC);
  size_t done = 0;
  while (fd >= 0 && done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (fd < 0 || done < bytes.size())
    throw IOError(target_ + ": cannot write " + temp_ + ": " + std::strerror(err));
}

void AtomicFile::commit() {
  const int fd = ::open(temp_.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw IOError(target_ + ": cannot flush " + temp_ + " to disk: " + std::strerror(err));
  }
  ::close(fd);
  if (g_fail_next_commit.exchange(false))
    throw IOError(target_ + ": simulated failure before the rename (testing)");
  if (::rename(temp_.c_str(), target_.c_str()) != 0)
    throw IOError(target_ + ": cannot replace the file: " + std::strerror(errno));
  committed_ = true;
  // The rename itself is durable once the folder is flushed.
  const int dfd = ::open(folder_of(target_).c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace fitrun::io
