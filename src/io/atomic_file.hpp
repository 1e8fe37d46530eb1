#pragma once
// Atomic file replacement: write to "<target>.tmp-XXXXXX" in the target's folder, flush it to
// disk, then rename it over the target. A crash or an error before commit() leaves the target
// as it was (the temporary file is removed on destruction).
#include <string>

namespace fitrun::io {

class AtomicFile {
 public:
  /// Creates the temporary file next to `target`; throws IOError naming `target` when the
  /// folder is missing or not writable.
  explicit AtomicFile(const std::string& target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& temp_path() const { return temp_; }
  const std::string& target() const { return target_; }
  /// Writes `bytes` as the temporary file's whole content. Throws IOError naming the target
  /// (e.g. a full disk).
  void write(const std::string& bytes);
  /// fsync, rename over the target, fsync the folder. Throws IOError naming the target.
  void commit();

 private:
  std::string target_, temp_;
  bool committed_ = false;
};

/// Testing only: makes the next commit() fail just before the rename, as a crash would.
void fail_next_commit_for_testing();

}  // namespace fitrun::io
