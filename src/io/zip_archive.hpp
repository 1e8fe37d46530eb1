#pragma once
// Zip archives (PKWARE APPNOTE), as much as NumPy's .npz and Keras' .keras need: members stored
// or deflated (zlib), no zip64, no encryption. Shared by datasets/npy.cpp and io/keras_archive.cpp.
//
// Reading takes sizes and CRCs from the central directory (Python's zipfile may stream members
// with data descriptors, leaving the local headers' sizes zero), checks every offset against
// the archive before using it, never inflates more than a member declares, refuses declared
// sizes deflate cannot reach or that pass the caller's limit, and verifies each CRC-32.
#include <cstdint>
#include <string>
#include <vector>

namespace fitrun::io::zip {

/// How errors name the archive: {"an .npz", ".npz"} gives "not an .npz file (...)",
/// "truncated .npz (...)", "CRC mismatch (corrupt .npz member)".
struct Kind {
  std::string a_file;
  std::string name;
};

struct Entry {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflated
  uint32_t crc = 0;
  uint32_t compressed_size = 0, size = 0;
  size_t data_offset = 0;  // where the member's (compressed) bytes start in the archive
};

/// Largest member read unless the caller says otherwise (bytes).
constexpr uint64_t kMaxMemberSize = uint64_t(256) << 20;

class Reader {
 public:
  /// Parses the central directory of `bytes`, the whole archive. Throws IOError starting with
  /// `path` for something that is not a zip, a truncated or corrupt one, or zip64.
  Reader(std::string bytes, std::string path, Kind kind);

  const std::vector<Entry>& entries() const { return entries_; }
  /// The member named `name`; nullptr when absent.
  const Entry* find(const std::string& name) const;
  /// A member's bytes, inflated and CRC-checked. A member that declares more than `max_size`
  /// bytes is refused before anything is allocated. Errors read "<path>: <member>: ...".
  std::string read(const Entry& e, uint64_t max_size = kMaxMemberSize) const;

 private:
  std::string bytes_, path_;
  Kind kind_;
  std::vector<Entry> entries_;
};

struct Member {
  std::string name;
  std::string data;
  bool deflate = false;  // stored (method 0) otherwise, as Keras' zipfile writes
};

/// A zip archive holding `members` in order, stamped with the local time `mtime` (seconds since
/// the epoch; 0 gives 1980-01-01, for reproducible bytes). Throws IOError naming `path` when the
/// archive would need zip64 (4 GiB or 65535 members).
std::string write(const std::vector<Member>& members, const std::string& path, int64_t mtime = 0);

}  // namespace fitrun::io::zip
