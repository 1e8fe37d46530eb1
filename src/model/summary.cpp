// model.summary(): Keras 3's table, drawn with the same box characters and parameter counts.
#include <cstdio>
#include <set>
#include <sstream>

#include "fitrun/sequential.hpp"
#include "model/model_impl.hpp"

namespace fitrun {

namespace {

std::string thousands(int64_t n) {
  std::string s = std::to_string(n), out;
  int count = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (count && count % 3 == 0 && *it != '-') out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

/// Keras' readable_memory_size: 4 bytes per float32 parameter, 1024-based units.
std::string memory_size(int64_t params) {
  double bytes = double(params) * 4;
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f %s", bytes, units[u]);
  return buf;
}

/// Length in terminal columns of a UTF-8 string (each code point counts one).
size_t columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::string pad(const std::string& s, size_t width, bool right) {
  size_t len = columns(s);
  std::string cut = s;
  if (len > width) {  // Keras wraps; a cut with an ellipsis keeps the table one line per row
    cut = s.substr(0, width > 1 ? width - 1 : 0) + "…";
    len = width;
  }
  std::string fill(width - len, ' ');
  return right ? fill + cut : cut + fill;
}

struct Table {
  std::vector<size_t> widths;
  std::vector<bool> right;
  std::ostringstream os;

  void border(const char* l, const char* m, const char* r, const char* h) {
    os << l;
    for (size_t i = 0; i < widths.size(); ++i)
      os << repeat(h, widths[i] + 2) << (i + 1 < widths.size() ? m : r);
    os << "\n";
  }
  void row(const std::vector<std::string>& cells, const char* bar) {
    // A row may hold several lines in one cell (functional "Connected to").
    std::vector<std::vector<std::string>> lines(cells.size());
    size_t height = 1;
    for (size_t i = 0; i < cells.size(); ++i) {
      std::istringstream in(cells[i]);
      std::string line;
      while (std::getline(in, line)) lines[i].push_back(line);
      if (lines[i].empty()) lines[i].push_back("");
      height = std::max(height, lines[i].size());
    }
    for (size_t h = 0; h < height; ++h) {
      os << bar;
      for (size_t i = 0; i < cells.size(); ++i)
        os << " " << pad(h < lines[i].size() ? lines[i][h] : "", widths[i], right[i]) << " "
           << bar;
      os << "\n";
    }
  }
};

}  // namespace

std::string Model::summary_string(int line_length) const {
  const Impl& m = *impl_;
  std::ostringstream out;
  out << "Model: \"" << name() << "\"\n";
  if (!has_graph()) {
    out << "(not built: the input shape is not known yet; add an Input or call fit)\n";
    return out.str();
  }
  const detail::Graph& g = *m.graph;
  const bool sequential = dynamic_cast<const Sequential*>(this) != nullptr;

  // Keras' column split: 45/39/16 % for sequential, 30/30/10/30 % for graphs.
  const int total = line_length > 0 ? line_length : (sequential ? 84 : 108);
  std::vector<double> split = sequential ? std::vector<double>{0.45, 0.84, 1.0}
                                         : std::vector<double>{0.30, 0.60, 0.70, 1.0};
  Table t;
  double prev = 0;
  for (double s : split) {
    t.widths.push_back(static_cast<size_t>(std::max(8.0, (s - prev) * total - 3)));
    prev = s;
  }
  t.right = sequential ? std::vector<bool>{false, false, true}
                       : std::vector<bool>{false, false, true, false};
  std::vector<std::string> header = {"Layer (type)", "Output Shape", "Param #"};
  if (!sequential) header.push_back("Connected to");

  t.border("┏", "┳", "┓", "━");
  t.row(header, "┃");
  t.border("┡", "╇", "┩", "━");
  bool first = true;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const detail::GraphNode& n = g.nodes[i];
    if (sequential && n.is_input) continue;
    if (n.call_index > 0) continue;  // a shared layer is listed once, as in Keras
    if (n.tensor_index > 0) continue;  // an extra output: listed with its call
    if (!first) t.border("├", "┼", "┤", "─");
    first = false;
    std::string shape = n.shape.to_string();
    if (n.outputs.size() > 1) {  // Keras lists a call's outputs: [(None, 8), (None, 4)]
      std::vector<std::string> shapes;
      size_t chars = 2;
      for (int o : n.outputs) {
        shapes.push_back(g.nodes[static_cast<size_t>(o)].shape.to_string());
        chars += shapes.back().size() + 2;
      }
      // On one line when it fits the column, else one output per line (as Keras wraps it).
      const std::string sep = chars <= t.widths[1] ? ", " : ",\n ";
      shape = "[";
      for (size_t k = 0; k < shapes.size(); ++k) shape += (k ? sep : "") + shapes[k];
      shape += "]";
    }
    std::vector<std::string> cells = {n.layer->name() + " (" + n.layer->class_name() + ")",
                                       shape, thousands(n.layer->count_params())};
    if (!sequential) {
      std::string conn;
      for (int in : n.inputs) {
        const auto& src = g.nodes[static_cast<size_t>(in)];
        conn += (conn.empty() ? "" : "\n") + src.layer->name() + "[" +
                std::to_string(src.call_index) + "][" + std::to_string(src.tensor_index) + "]";
      }
      cells.push_back(conn.empty() ? "-" : conn);
    }
    t.row(cells, "│");
  }
  t.border("└", "┴", "┘", "─");
  out << t.os.str();

  int64_t trainable_count = 0, non_trainable = 0;
  std::set<const Variable*> seen;
  for (const auto& l : g.layers)
    for (const auto& w : l->weights()) {
      if (!seen.insert(w.get()).second) continue;
      (w->trainable && l->trainable ? trainable_count : non_trainable) += w->value.size();
    }
  const int64_t all = trainable_count + non_trainable;
  out << " Total params: " << thousands(all) << " (" << memory_size(all) << ")\n";
  out << " Trainable params: " << thousands(trainable_count) << " ("
      << memory_size(trainable_count) << ")\n";
  out << " Non-trainable params: " << thousands(non_trainable) << " ("
      << memory_size(non_trainable) << ")\n";
  return out.str();
}

void Model::summary(std::ostream& os, int line_length) const { os << summary_string(line_length); }

}  // namespace fitrun
