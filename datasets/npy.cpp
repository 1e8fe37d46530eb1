#include "fitrun/datasets/npy.hpp"

#include <cstring>
#include <limits>
#include <vector>

#include "file_bytes.hpp"
#include "fitrun/error.hpp"
#include "io/zip_archive.hpp"

namespace fitrun::datasets {

using namespace detail;

namespace {

const char kMagic[] = "\x93NUMPY";

/// The value of 'key' in the header dict, as written by NumPy: a quoted string, True/False,
/// or a parenthesised tuple.
std::string header_value(const std::string& header, const std::string& key, const std::string& where) {
  const std::string quoted = "'" + key + "'";
  size_t p = header.find(quoted);
  if (p == std::string::npos) throw IOError(where + ": bad .npy header: no '" + key + "' in " + header);
  p = header.find(':', p + quoted.size());
  if (p == std::string::npos) throw IOError(where + ": bad .npy header: " + header);
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  if (p >= header.size()) throw IOError(where + ": bad .npy header: " + header);
  const char open = header[p];
  size_t end;
  if (open == '\'' || open == '"') {
    end = header.find(open, p + 1);
    if (end == std::string::npos) throw IOError(where + ": bad .npy header: unterminated string");
    return header.substr(p + 1, end - p - 1);
  }
  if (open == '(' || open == '[') {
    end = header.find(open == '(' ? ')' : ']', p);
    if (end == std::string::npos) throw IOError(where + ": bad .npy header: unterminated " + key);
    return header.substr(p, end - p + 1);
  }
  end = header.find_first_of(",}", p);
  if (end == std::string::npos) throw IOError(where + ": bad .npy header: " + header);
  std::string v = header.substr(p, end - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

std::vector<int64_t> parse_shape(const std::string& tuple, const std::string& where) {
  std::vector<int64_t> dims;
  if (tuple.size() < 2 || tuple.front() != '(' || tuple.back() != ')')
    throw IOError(where + ": bad .npy header: shape " + tuple + " is not a tuple");
  size_t p = 1;
  while (p < tuple.size() - 1) {
    while (p < tuple.size() - 1 && (tuple[p] == ' ' || tuple[p] == ',')) ++p;
    if (p >= tuple.size() - 1) break;
    char* end = nullptr;
    const long long d = std::strtoll(tuple.c_str() + p, &end, 10);
    if (end == tuple.c_str() + p || d < 0)
      throw IOError(where + ": bad .npy header: shape " + tuple + " is not a tuple of sizes");
    dims.push_back(d);
    p = static_cast<size_t>(end - tuple.c_str());
  }
  if (dims.size() > static_cast<size_t>(Shape::kMaxRank))
    throw IOError(where + ": " + std::to_string(dims.size()) + " dimensions; fitrun supports at most " +
                  std::to_string(Shape::kMaxRank));
  return dims;
}

template <class From, class To>
void convert(const char* src, To* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    From v;
    std::memcpy(&v, src + i * static_cast<int64_t>(sizeof(From)), sizeof(From));
    dst[i] = static_cast<To>(v);
  }
}

}  // namespace

namespace detail {

Tensor parse_npy(const std::string& bytes, const std::string& where) {
  if (bytes.size() >= 1 && static_cast<unsigned char>(bytes[0]) == 0x80)
    throw IOError(where + ": is a Python pickle, not a .npy array (pickles are not supported)");
  if (bytes.size() < 10 || bytes.compare(0, 6, kMagic, 6) != 0)
    throw IOError(where + ": not a .npy file (bad magic number; expected \\x93NUMPY)");
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  const int major = u[6];
  size_t header_len, header_start;
  if (major == 1) {
    header_len = read_le16(u + 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw IOError(where + ": truncated .npy header");
    header_len = read_le32(u + 8);
    header_start = 12;
  } else {
    throw IOError(where + ": unsupported .npy format version " + std::to_string(major));
  }
  if (header_start + header_len > bytes.size())
    throw IOError(where + ": truncated .npy header (" + std::to_string(header_len) + " bytes announced, " +
                  std::to_string(bytes.size() - header_start) + " present)");
  const std::string header = bytes.substr(header_start, header_len);
  if (header.find('{') == std::string::npos) throw IOError(where + ": bad .npy header: not a dict: " + header);

  const std::string fortran = header_value(header, "fortran_order", where);
  if (fortran == "True")
    throw IOError(where + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
  if (fortran != "False") throw IOError(where + ": bad .npy header: fortran_order is " + fortran);
  const size_t descr_at = header.find("'descr'");
  if (descr_at != std::string::npos) {
    size_t p = header.find(':', descr_at);
    while (p != std::string::npos && p + 1 < header.size() && header[p + 1] == ' ') ++p;
    if (p != std::string::npos && p + 1 < header.size() && header[p + 1] == '[')
      throw IOError(where + ": structured dtypes are not supported");
  }
  const std::string descr = header_value(header, "descr", where);
  const auto dims = parse_shape(header_value(header, "shape", where), where);
  if (descr.size() >= 2 && descr[1] == 'O') throw IOError(where + ": object arrays (pickles) are not supported");
  if (descr.size() < 3) throw IOError(where + ": bad .npy header: dtype '" + descr + "'");
  const char order = descr[0], kind = descr[1];
  const int width = std::atoi(descr.c_str() + 2);
  if (kind == 'O') throw IOError(where + ": object arrays (pickles) are not supported");
  if (order == '>' && width > 1)
    throw IOError(where + ": big-endian dtype '" + descr + "' is not supported; convert with .astype('<" +
                  descr.substr(1) + "')");
  if (order != '<' && order != '|' && order != '=' && order != '>')
    throw IOError(where + ": bad .npy header: dtype '" + descr + "'");

  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  const size_t data_start = header_start + header_len;
  const size_t need = static_cast<size_t>(n) * static_cast<size_t>(width > 0 ? width : 1);
  if (bytes.size() - data_start < need)
    throw IOError(where + ": truncated data: shape needs " + std::to_string(need) + " bytes, file has " +
                  std::to_string(bytes.size() - data_start));
  const char* src = bytes.data() + data_start;
  const Shape shape(dims);
  const std::string kw = std::string(1, kind) + std::to_string(width);
  if (kw == "f4") {
    Tensor t(shape, DType::float32);
    std::memcpy(t.raw(), src, need);
    return t;
  }
  if (kw == "f8") {
    Tensor t(shape, DType::float32);
    convert<double>(src, t.data<float>(), n);
    return t;
  }
  if (kw == "i4") {
    Tensor t(shape, DType::int32);
    std::memcpy(t.raw(), src, need);
    return t;
  }
  if (kw == "i8") {
    Tensor t(shape, DType::int64);
    std::memcpy(t.raw(), src, need);
    return t;
  }
  auto as_int32 = [&](auto tag) {
    Tensor t(shape, DType::int32);
    convert<decltype(tag)>(src, t.data<int32_t>(), n);
    return t;
  };
  if (kw == "b1" || kw == "u1") return as_int32(uint8_t{});
  if (kw == "i1") return as_int32(int8_t{});
  if (kw == "i2") return as_int32(int16_t{});
  if (kw == "u2") return as_int32(uint16_t{});
  if (kw == "u4") {
    Tensor t(shape, DType::int64);
    convert<uint32_t>(src, t.data<int64_t>(), n);
    return t;
  }
  if (kw == "u8") {
    Tensor t(shape, DType::int64);
    auto* out = t.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      uint64_t v;
      std::memcpy(&v, src + i * 8, 8);
      if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        throw IOError(where + ": uint64 value " + std::to_string(v) + " at index " + std::to_string(i) +
                      " does not fit int64");
      out[i] = static_cast<int64_t>(v);
    }
    return t;
  }
  throw IOError(where + ": unsupported dtype '" + descr +
                "' (supported: float32, float64, bool, int8..int64, uint8..uint64)");
}

std::string format_npy(const Tensor& t) {
  if (!t.defined()) throw ConfigError("save_npy: the tensor is empty");
  const char* descr = t.dtype() == DType::float32 ? "<f4" : t.dtype() == DType::int32 ? "<i4" : "<i8";
  std::string shape = "(";
  for (int64_t d : t.shape()) shape += std::to_string(d) + ", ";
  if (t.rank() > 1) shape.resize(shape.size() - 2);
  else if (t.rank() == 1) shape.resize(shape.size() - 1);  // "(3,)"
  shape += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // NumPy pads with spaces so that the data starts on a 64-byte boundary, ending in '\n'.
  const size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out(kMagic, 6);
  out.push_back('\x01');
  out.push_back('\x00');
  put_le16(out, static_cast<uint16_t>(header.size()));
  out += header;
  Tensor contiguous = t;
  out.append(static_cast<const char*>(contiguous.raw()), t.nbytes());
  return out;
}

}  // namespace detail

Tensor load_npy(const std::string& path) { return parse_npy(read_file(path), path); }

void save_npy(const std::string& path, const Tensor& t) { write_file_atomic(path, format_npy(t)); }

// ---- .npz: a zip archive of .npy members ----

namespace {
const io::zip::Kind kNpz{"an .npz", ".npz"};
}

std::map<std::string, Tensor> load_npz(const std::string& path) {
  const io::zip::Reader zip(read_file(path), path, kNpz);
  std::map<std::string, Tensor> out;
  for (const auto& e : zip.entries()) {
    std::string name = e.name;
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
    // An array may be as large as the archive allows (datasets are big).
    out[name] = parse_npy(zip.read(e, UINT32_MAX), path + ": " + e.name);
  }
  return out;
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compressed) {
  std::vector<io::zip::Member> members;
  for (const auto& [key, tensor] : arrays) members.push_back({key + ".npy", format_npy(tensor), compressed});
  write_file_atomic(path, io::zip::write(members, path));
}

}  // namespace fitrun::datasets
