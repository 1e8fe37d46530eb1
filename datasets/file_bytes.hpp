#pragma once
// Whole-file reading and atomic writing shared by the dataset loaders (internal header).
#include <cstdint>
#include <string>

namespace fitrun::datasets::detail {

/// The bytes of a file; IOError naming the file when it cannot be opened or read.
std::string read_file(const std::string& path);
/// The bytes of a file, gunzipped when it is gzip-compressed (plain files pass through);
/// IOError "<path>: read error: ..." for corrupt or truncated gzip data.
std::string read_file_gunzip(const std::string& path);
/// Writes `bytes` to a temporary file next to `path`, then renames it over `path`, so readers
/// never see a half-written file.
void write_file_atomic(const std::string& path, const std::string& bytes);
/// Creates a directory and its parents; IOError naming it on failure.
void make_dirs(const std::string& dir);
bool file_exists(const std::string& path);

/// Little- and big-endian integers from unaligned bytes.
inline uint32_t read_be32(const unsigned char* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
inline uint16_t read_le16(const unsigned char* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline uint32_t read_le32(const unsigned char* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
inline void put_le16(std::string& s, uint16_t v) {
  s.push_back(char(v & 0xff));
  s.push_back(char(v >> 8));
}
inline void put_le32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

}  // namespace fitrun::datasets::detail
