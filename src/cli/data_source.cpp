#include "cli/data_source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "cli/run_fields.hpp"
#include "fitrun/datasets/cifar.hpp"
#include "fitrun/datasets/idx.hpp"
#include "fitrun/datasets/npy.hpp"
#include "fitrun/error.hpp"
#include "fitrun/ops.hpp"
#include "io/config_reader.hpp"

namespace fitrun::cli {

namespace fs = std::filesystem;
using io::ConfigReader;

namespace {

/// Keys each format uses (besides "format"); the others are errors for that format.
std::vector<std::string> format_keys(const std::string& format) {
  if (format == "csv") return {"path", "label_column", "header", "delimiter"};
  if (format == "npy" || format == "idx") return {"x", "y"};
  if (format == "npz") return {"path", "x_key", "y_key"};
  if (format == "cifar10") return {"path"};
  if (format == "cifar100") return {"path", "label_mode"};
  return {};
}

/// The format a file name implies, "" when it implies none.
std::string format_from_name(const std::string& name) {
  auto ends = [&](const char* s) {
    const std::string suffix(s);
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".csv") || ends(".csv.gz")) return "csv";
  if (ends(".npz")) return "npz";
  return "";
}

std::string quoted_list(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "\"" : ", \"") + x + "\"";
  return s;
}

/// Where a preprocessing setting came from: "/data/preprocessing/reshape" in a run file, or
/// "--reshape" on the command line (`p_path` "").
std::string setting(const std::string& p_path, std::string key) {
  if (!p_path.empty()) return p_path + "/" + key;
  for (char& c : key)
    if (c == '_') c = '-';
  return "--" + key;
}

/// Labels as fitrun's losses take them: integer labels as int32 (.npy files often hold
/// int64 or uint8), float labels as they are.
Tensor label_tensor(const Tensor& y) {
  return y.dtype() == DType::int64 ? y.astype(DType::int32) : y;
}

/// Rows of several batches, one after the other (all of one dtype and sample shape).
Tensor concat_rows(const std::vector<Tensor>& parts) {
  if (parts.size() == 1) return parts[0];
  int64_t n = 0;
  for (const auto& t : parts) n += t.dim(0);
  Tensor out(parts[0].shape().with_batch(n), parts[0].dtype());
  auto* dst = static_cast<char*>(out.raw());
  for (const auto& t : parts) {
    std::memcpy(dst, t.raw(), t.nbytes());
    dst += t.nbytes();
  }
  return out;
}

[[noreturn]] void rethrow_with(const std::string& path, const std::exception& e) {
  throw ConfigError(path + ": " + e.what());
}

}  // namespace

fs::path input_file(const std::string& name, const fs::path& base_dir, const std::string& path) {
  // On the command line the option is the name itself: "m.h5: no such file".
  auto fail = [&](const std::string& what) -> ConfigError {
    return ConfigError(path == name ? name + ": " + what : path + ": \"" + name + "\": " + what);
  };
  if (name.empty()) throw ConfigError(path + ": expected a file name, got \"\"");
  fs::path p = fs::path(name).is_absolute() ? fs::path(name) : base_dir / name;
  std::error_code ec;
  const auto st = fs::status(p, ec);
  if (!fs::exists(st)) throw fail("no such file");
  if (fs::is_directory(st)) throw fail("is a folder, expected a file");
  std::ifstream probe(p, std::ios::binary);
  if (!probe) throw fail(std::string("cannot open: ") + std::strerror(errno));
  return p;
}

Preprocessing read_preprocessing(const json* j, const std::string& path) {
  Preprocessing p;
  if (!j) return p;
  ConfigReader r(*j, path);
  for (const auto& k : run_file_keys("/data/preprocessing")) r.find(k);
  r.check_unknown_keys("preprocessing");
  p.scale = static_cast<float>(r.number("scale", 1.0, -3e38, 3e38));
  p.offset = static_cast<float>(r.number("offset", 0.0, -3e38, 3e38));
  if (r.has("reshape")) {
    p.reshape = r.int_list("reshape", 1);
    if (p.reshape.empty() || p.reshape.size() > 7)
      r.expected("reshape", "a list of 1 to 7 positive integers");
  }
  p.one_hot = r.integer("one_hot", 0, 2, 1 << 20);
  return p;
}

datasets::LabeledData load_source(const json& j, const std::string& path, const fs::path& base_dir,
                                  json* resolved) {
  ConfigReader r(j, path);
  for (const auto& k : run_file_keys("/data/train")) r.find(k);
  r.check_unknown_keys("a data source");
  std::string format;
  if (r.has("format")) {
    format = r.string("format");
    const auto& formats = data_formats();
    if (std::find(formats.begin(), formats.end(), format) == formats.end()) {
      const std::string hint = io::closest_match(format, formats);
      r.fail("format", "unknown format \"" + format + "\"; supported: " + quoted_list(formats) +
                           (hint.empty() ? "" : "; did you mean \"" + hint + "\"?"));
    }
  } else {
    format = r.has("path") ? format_from_name(r.string("path")) : "";
    if (format.empty())
      r.fail("format", "required when the file name does not tell (supported: " +
                           quoted_list(data_formats()) + ")");
  }
  // Keys of other formats are mistakes, not options to ignore silently.
  const auto used = format_keys(format);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "format" || std::find(used.begin(), used.end(), it.key()) != used.end())
      continue;
    r.fail(it.key(), "not used by format \"" + format + "\" (it takes " + quoted_list(used) + ")");
  }
  auto file = [&](const char* key) {
    const fs::path p = input_file(r.string(key), base_dir, r.path(key));
    if (resolved) (*resolved)[key] = fs::absolute(p).lexically_normal().string();
    return p;
  };

  if (format == "csv") {
    const fs::path p = file("path");
    datasets::CsvOptions o;
    o.label_column = static_cast<int>(r.integer("label_column", -1, -(1 << 20), 1 << 20));
    if (const json* h = r.find("header")) {
      if (h->is_boolean())
        o.header = h->get<bool>() ? datasets::CsvOptions::Header::yes
                                  : datasets::CsvOptions::Header::no;
      else if (!(h->is_string() && h->get<std::string>() == "auto"))
        r.expected("header", "true, false or \"auto\"");
    }
    const std::string delim = r.string("delimiter", ",");
    if (delim.size() != 1) r.expected("delimiter", "a single character");
    o.delimiter = delim[0];
    try {
      return datasets::load_csv(p.string(), o);
    } catch (const Error& e) {
      rethrow_with(r.path("path"), e);
    }
  }
  // The loaders' messages start with the file name; the JSON path comes first.
  auto load = [&](const char* key, auto&& fn) {
    try {
      return fn();
    } catch (const Error& e) {
      rethrow_with(r.path(key), e);
    }
  };
  auto same_count = [&](const datasets::LabeledData& d, const char* x_what, const char* y_what) {
    if (d.x.rank() == 0 || d.y.rank() == 0 || d.x.dim(0) != d.y.dim(0))
      throw ConfigError(path + ": " + x_what + " has " +
                        std::to_string(d.x.rank() ? d.x.dim(0) : 0) + " samples but " + y_what +
                        " has " + std::to_string(d.y.rank() ? d.y.dim(0) : 0));
    return d;
  };
  if (format == "npy" || format == "idx") {
    const fs::path xp = file("x"), yp = file("y");
    auto read = [&](const fs::path& p) {
      return format == "npy" ? datasets::load_npy(p.string()) : datasets::load_idx(p.string());
    };
    datasets::LabeledData d;
    d.x = load("x", [&] { return read(xp); });
    d.y = label_tensor(load("y", [&] { return read(yp); }));
    return same_count(d, "x", "y");
  }
  if (format == "npz") {
    const fs::path p = file("path");
    const std::string xk = r.string("x_key", "x"), yk = r.string("y_key", "y");
    auto arrays = load("path", [&] { return datasets::load_npz(p.string()); });
    auto member = [&](const std::string& key, const char* field) {
      auto it = arrays.find(key);
      if (it == arrays.end()) {
        std::vector<std::string> names;
        for (const auto& [k, v] : arrays) names.push_back(k);
        r.fail(field, "no array \"" + key + "\" in \"" + r.string("path") + "\" (it holds " +
                          quoted_list(names) + ")");
      }
      return it->second;
    };
    datasets::LabeledData d{member(xk, "x_key"), label_tensor(member(yk, "y_key"))};
    return same_count(d, ("array \"" + xk + "\"").c_str(), ("array \"" + yk + "\"").c_str());
  }
  if (format == "cifar10" || format == "cifar100") {
    datasets::CifarFormat cf = datasets::CifarFormat::cifar10;
    if (format == "cifar100")
      cf = r.choice("label_mode", "fine", {"fine", "coarse"}) == "fine"
               ? datasets::CifarFormat::cifar100_fine
               : datasets::CifarFormat::cifar100_coarse;
    // One batch file or a list of them (data_batch_1.bin ... data_batch_5.bin).
    const json* vp = r.find("path");
    if (!vp) r.fail("path", "required but missing");
    const json& v = *vp;
    std::vector<std::string> names;
    if (v.is_string()) {
      names.push_back(v.get<std::string>());
    } else if (v.is_array() && !v.empty() &&
               std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); })) {
      names = v.get<std::vector<std::string>>();
    } else {
      r.expected("path", "a file name or a list of file names");
    }
    std::vector<Tensor> xs, ys;
    json resolved_names = json::array();
    for (size_t i = 0; i < names.size(); ++i) {
      const std::string where = v.is_string() ? r.path("path") : r.path("path") + "/" + std::to_string(i);
      const fs::path p = input_file(names[i], base_dir, where);
      resolved_names.push_back(fs::absolute(p).lexically_normal().string());
      try {
        auto d = datasets::load_cifar_batch(p.string(), cf);
        xs.push_back(d.x);
        ys.push_back(d.y);
      } catch (const Error& e) {
        rethrow_with(where, e);
      }
    }
    if (resolved) (*resolved)["path"] = v.is_string() ? resolved_names[0] : resolved_names;
    return {concat_rows(xs), concat_rows(ys)};
  }
  r.fail("format", "unknown format \"" + format + "\"");
}

namespace {

Tensor reshaped_inputs(const Tensor& x, const Preprocessing& p, const std::string& p_path,
                       const std::string& source) {
  if (p.reshape.empty()) return x;
  Shape s;
  s.push_back(x.dim(0));
  int64_t per_sample = 1;
  for (int64_t d : p.reshape) s.push_back(d), per_sample *= d;
  if (per_sample != x.shape().sample_size())
    throw ConfigError(setting(p_path, "reshape") + ": " + s.drop_batch().to_string() + " holds " +
                      std::to_string(per_sample) + " values per sample, but the samples of " +
                      source + " have " + std::to_string(x.shape().sample_size()));
  return x.reshape(s);
}

}  // namespace

Tensor preprocess_inputs(const Tensor& x_in, const Preprocessing& p, const std::string& p_path,
                         const std::string& source) {
  Tensor x = x_in.dtype() == DType::float32 ? x_in : x_in.astype(DType::float32);
  if (p.scale != 1.f || p.offset != 0.f) {
    if (x.shares_storage(x_in)) x = x.clone();
    float* d = x.data<float>();
    for (int64_t i = 0, n = x.size(); i < n; ++i) d[i] = d[i] * p.scale + p.offset;
  }
  return reshaped_inputs(x, p, p_path, source);
}

void apply_preprocessing(datasets::LabeledData& d, const Preprocessing& p,
                         const std::string& p_path, const std::string& source) {
  d.x = preprocess_inputs(d.x, p, p_path, source);
  if (p.one_hot > 0) {
    if (d.y.dtype() != DType::int32 || d.y.rank() != 1)
      throw ConfigError(setting(p_path, "one_hot") + ": needs integer class labels, but " + source +
                        " has labels of shape " + d.y.shape().with_batch(-1).to_string());
    const int64_t n = d.y.dim(0);
    Tensor out = Tensor::zeros({n, p.one_hot});
    const int32_t* y = d.y.data<int32_t>();
    float* o = out.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      if (y[i] < 0 || y[i] >= p.one_hot)
        throw ConfigError(setting(p_path, "one_hot") + ": " + source + " has label " + std::to_string(y[i]) +
                          ", outside [0, " + std::to_string(p.one_hot) + ")");
      o[i * p.one_hot + y[i]] = 1.f;
    }
    d.y = out;
  }
}

}  // namespace fitrun::cli
