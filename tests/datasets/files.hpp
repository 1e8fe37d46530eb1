#pragma once
// Helpers for the loader tests: a temporary folder and small files written byte by byte.
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace ds_test {

/// A fresh folder under the system temp dir, removed with its contents at scope exit.
struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fitrun-ds-XXXXXX").string();
    path = mkdtemp(&pattern[0]);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline void write_gz(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

inline std::string be32(uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

/// An IDX file: magic 0x0000<type><rank>, big-endian dims, then `data`.
inline std::string idx_bytes(int type, std::initializer_list<uint32_t> dims, const std::string& data) {
  std::string s{0, 0, char(type), char(dims.size())};
  for (uint32_t d : dims) s += be32(d);
  return s + data;
}

/// A ustar archive holding `members` (path -> contents), as `tar -c` writes it.
inline std::string tar_bytes(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out;
  for (const auto& [name, data] : members) {
    std::string h(512, '\0');
    h.replace(0, name.size(), name);
    char field[16];
    std::snprintf(field, sizeof field, "%07o", 0644);
    h.replace(100, 7, field);
    std::snprintf(field, sizeof field, "%011o", static_cast<unsigned>(data.size()));
    h.replace(124, 11, field);
    h[156] = '0';
    h.replace(257, 5, "ustar");
    h.replace(148, 8, "        ");
    unsigned sum = 0;
    for (unsigned char c : h) sum += c;
    std::snprintf(field, sizeof field, "%06o", sum);
    h.replace(148, 7, std::string(field, 6) + '\0');
    out += h + data + std::string((512 - data.size() % 512) % 512, '\0');
  }
  return out + std::string(1024, '\0');
}

}  // namespace ds_test
