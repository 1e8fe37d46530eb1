#include "cli/array_files.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include "fitrun/error.hpp"
#include "io/atomic_file.hpp"

namespace fitrun::cli {

namespace {

bool parse_number(const char* b, const char* end, float& v) {
  while (b < end && (*b == ' ' || *b == '\t')) ++b;
  std::string cell(b, end);
  char* e = nullptr;
  v = std::strtof(cell.c_str(), &e);
  if (e == cell.c_str()) return false;
  while (*e == ' ' || *e == '\t' || *e == '\r') ++e;
  return *e == '\0';
}

}  // namespace

Tensor read_csv_matrix(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // gzread reads plain files too
  if (!f) throw IOError(path.string() + ": cannot open: " + std::strerror(errno));
  std::string text;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  gzclose(f);
  if (n < 0) throw IOError(path.string() + ": read error (corrupt or truncated data)");
  std::vector<float> values;
  int64_t columns = 0, rows = 0;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const char* b = text.data() + pos;
    const char* e = text.data() + end;
    pos = end + 1;
    ++line_no;
    if (e > b && e[-1] == '\r') --e;
    if (e == b) continue;
    std::vector<float> row;
    bool numeric = true;
    int64_t bad = 0;
    for (const char* c = b; numeric;) {
      const char* comma = static_cast<const char*>(std::memchr(c, ',', static_cast<size_t>(e - c)));
      const char* cell_end = comma ? comma : e;
      float v = 0;
      if (!parse_number(c, cell_end, v)) numeric = false, bad = static_cast<int64_t>(row.size());
      row.push_back(v);
      if (!comma) break;
      c = comma + 1;
    }
    if (!numeric) {
      if (rows == 0 && line_no == 1) continue;  // a header line
      throw IOError(path.string() + ":" + std::to_string(line_no) + ": column " +
                    std::to_string(bad + 1) + " is not a number");
    }
    if (columns == 0) columns = static_cast<int64_t>(row.size());
    if (static_cast<int64_t>(row.size()) != columns)
      throw IOError(path.string() + ":" + std::to_string(line_no) + ": expected " +
                    std::to_string(columns) + " columns, got " + std::to_string(row.size()));
    values.insert(values.end(), row.begin(), row.end());
    ++rows;
  }
  if (rows == 0) throw IOError(path.string() + ": no data rows");
  return Tensor::from_vector(values, {rows, columns});
}

void write_csv_matrix(const std::filesystem::path& path, const Tensor& t) {
  io::AtomicFile f(path.string());
  {
    std::FILE* o = std::fopen(f.temp_path().c_str(), "wb");
    if (!o) throw IOError(path.string() + ": cannot write: " + std::strerror(errno));
    const int64_t n = t.rank() ? t.dim(0) : 1, per = n ? t.size() / n : 0;
    const std::vector<float> v = t.to_vector();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < per; ++j)
        std::fprintf(o, j + 1 < per ? "%.9g," : "%.9g\n", static_cast<double>(v[static_cast<size_t>(i * per + j)]));
    const bool ok = std::fflush(o) == 0 && !std::ferror(o);
    std::fclose(o);
    if (!ok) throw IOError(path.string() + ": write failed");
  }
  f.commit();
}

}  // namespace fitrun::cli
