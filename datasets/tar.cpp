#include "tar.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "file_bytes.hpp"
#include "fitrun/error.hpp"

namespace fitrun::datasets::detail {

namespace {

/// Reads exactly n bytes; false at a clean end of file before any byte.
bool read_exact(gzFile f, char* buf, size_t n, const std::string& archive) {
  size_t got = 0;
  while (got < n) {
    const int r = gzread(f, buf + got, static_cast<unsigned>(std::min<size_t>(n - got, 1u << 30)));
    if (r < 0) throw IOError(archive + ": corrupt gzip data");
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  if (got == 0) return false;
  if (got < n) throw IOError(archive + ": truncated tar archive");
  return true;
}

}  // namespace

void extract_tar_gz(const std::string& archive, const std::string& dest_dir,
                    const std::vector<std::string>& members) {
  gzFile f = gzopen(archive.c_str(), "rb");
  if (!f) throw IOError(archive + ": cannot open: " + std::strerror(errno));
  std::set<std::string> wanted(members.begin(), members.end());
  try {
    char header[512];
    while (!wanted.empty() && read_exact(f, header, 512, archive)) {
      if (header[0] == '\0') break;  // end-of-archive block
      std::string name(header, strnlen(header, 100));
      const std::string prefix(header + 345, strnlen(header + 345, 155));
      if (!prefix.empty()) name = prefix + "/" + name;
      char size_field[13] = {};
      std::memcpy(size_field, header + 124, 12);
      char* end = nullptr;
      const unsigned long long size = std::strtoull(size_field, &end, 8);
      if (end == size_field) throw IOError(archive + ": corrupt tar header for \"" + name + "\"");
      const char type = header[156];
      const size_t padded = static_cast<size_t>((size + 511) / 512 * 512);
      std::string data(padded, '\0');
      if (padded && !read_exact(f, &data[0], padded, archive))
        throw IOError(archive + ": truncated tar archive in \"" + name + "\"");
      if ((type == '0' || type == '\0') && wanted.count(name)) {
        data.resize(static_cast<size_t>(size));
        const std::string path = dest_dir + "/" + name;
        make_dirs(path.substr(0, path.rfind('/')));
        write_file_atomic(path, data);
        wanted.erase(name);
      }
    }
  } catch (...) {
    gzclose(f);
    throw;
  }
  gzclose(f);
  if (!wanted.empty()) throw IOError(archive + ": no member \"" + *wanted.begin() + "\" in the archive");
}

}  // namespace fitrun::datasets::detail
