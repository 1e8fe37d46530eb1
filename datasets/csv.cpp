#include "fitrun/datasets/csv.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "file_bytes.hpp"
#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "fitrun/random.hpp"

namespace fitrun::datasets {

namespace {

std::vector<std::string> split(const std::string& line, char delim) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = line.find(delim, start);
    out.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string trim_name(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '"')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '"')) ++b;
  return s.substr(b);
}

bool parse_number(const std::string& s, double& v) {
  const char* b = s.c_str();
  while (*b == ' ' || *b == '\t') ++b;
  char* e = nullptr;
  v = std::strtod(b, &e);
  if (e == b) return false;
  while (*e == ' ' || *e == '\t' || *e == '\r') ++e;
  return *e == '\0';
}

}  // namespace

LabeledData load_csv(const std::string& path, const CsvOptions& o) {
  const std::string text = detail::read_file_gunzip(path);
  if (!o.label_name.empty() && o.header == CsvOptions::Header::no)
    throw ConfigError(path + ": label_name \"" + o.label_name + "\" needs a header line, but header is no");
  int label_column = o.label_column;
  std::vector<float> features;
  std::vector<int32_t> labels;
  size_t columns = 0;
  size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    auto cells = split(line, o.delimiter);
    std::vector<double> values(cells.size());
    bool numeric = true;
    size_t bad = 0;
    for (size_t i = 0; i < cells.size() && numeric; ++i)
      if (!parse_number(cells[i], values[i])) numeric = false, bad = i;
    if (line_no == 1 && (o.header == CsvOptions::Header::yes ||
                         (o.header == CsvOptions::Header::automatic && !numeric))) {
      if (!o.label_name.empty()) {
        std::string names;
        label_column = -1;
        for (size_t i = 0; i < cells.size(); ++i) {
          const std::string name = trim_name(cells[i]);
          if (name == o.label_name) label_column = static_cast<int>(i);
          names += (i ? ", " : "") + name;
        }
        if (label_column < 0)
          throw ConfigError(path + ": no column named \"" + o.label_name + "\" in the header (columns: " +
                            names + ")");
      }
      continue;
    }
    if (!o.label_name.empty() && line_no == 1)
      throw ConfigError(path + ": label_name \"" + o.label_name + "\" given but the first line is not a header");
    if (!numeric)
      throw IOError(path + ":" + std::to_string(line_no) + ": column " + std::to_string(bad + 1) +
                    ": \"" + cells[bad] + "\" is not a number");
    if (columns == 0) {
      columns = cells.size();
      if (columns < 2)
        throw IOError(path + ":" + std::to_string(line_no) +
                      ": expected at least 2 columns (features and a label), got 1");
    } else if (cells.size() != columns) {
      throw IOError(path + ":" + std::to_string(line_no) + ": expected " +
                    std::to_string(columns) + " columns, got " + std::to_string(cells.size()));
    }
    const int lc = label_column < 0 ? static_cast<int>(columns) + label_column : label_column;
    if (lc < 0 || lc >= static_cast<int>(columns))
      throw ConfigError(path + ": label_column " + std::to_string(label_column) +
                        " is out of range for " + std::to_string(columns) + " columns");
    for (size_t i = 0; i < columns; ++i) {
      if (static_cast<int>(i) == lc) {
        if (values[i] != std::floor(values[i]))
          throw IOError(path + ":" + std::to_string(line_no) + ": label \"" + cells[i] +
                        "\" is not an integer");
        labels.push_back(static_cast<int32_t>(values[i]));
      } else {
        features.push_back(static_cast<float>(values[i]));
      }
    }
  }
  if (labels.empty()) throw IOError(path + ": no data rows");
  const auto n = static_cast<int64_t>(labels.size());
  return {Tensor::from_vector(features, {n, static_cast<int64_t>(columns - 1)}),
          Tensor::from_vector(labels, {n})};
}

std::pair<LabeledData, LabeledData> train_test_split(const LabeledData& d, double test_fraction,
                                                     uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1))
    throw ConfigError("train_test_split: test_fraction must be in (0, 1), got " +
                      std::to_string(test_fraction));
  const int64_t n = d.x.dim(0);
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[static_cast<size_t>(i)], order[gen.below(static_cast<uint64_t>(i + 1))]);
  const auto n_test = static_cast<int64_t>(std::round(double(n) * test_fraction));
  const int64_t n_train = n - n_test;
  auto take = [&](int64_t begin, int64_t count) {
    LabeledData out{Tensor(d.x.shape().with_batch(count), d.x.dtype()),
                    Tensor(d.y.shape().with_batch(count), d.y.dtype())};
    ops::gather_rows(d.x, order.data() + begin, count, out.x);
    ops::gather_rows(d.y, order.data() + begin, count, out.y);
    return out;
  };
  return {take(0, n_train), take(n_train, n_test)};
}

}  // namespace fitrun::datasets
