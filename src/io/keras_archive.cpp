// The .keras zip (Keras 3's saving_lib._save_model_to_fileobj): members stored, in Keras' order
// metadata.json, config.json, model.weights.h5. The weights member is built and read as an
// in-memory HDF5 image, so nothing but the archive itself ever touches the disk.
#include "io/keras_archive.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include "fitrun/error.hpp"
#include "fitrun/io/model_config.hpp"
#include "fitrun/model.hpp"
#include "io/atomic_file.hpp"
#include "io/hdf5.hpp"
#include "io/model_io.hpp"
#include "io/zip_archive.hpp"

namespace fitrun::io {

namespace {

constexpr const char* kMetadata = "metadata.json";
constexpr const char* kConfig = "config.json";
constexpr const char* kWeights = "model.weights.h5";
const zip::Kind kKeras{"a .keras", ".keras"};
/// JSON members are capped like the .h5 loader's string attributes; the weights by what a zip
/// without zip64 can hold (the dataset limits of io/hdf5 apply inside).
constexpr uint64_t kMaxJsonBytes = uint64_t(256) << 20;
constexpr uint64_t kMaxWeightsBytes = 0xFFFFFFFEu;

std::string read_archive(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IOError(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    throw IOError(path + ": is a directory; fitrun reads zipped .keras files (Keras' default)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(path + ": cannot open: " + std::strerror(errno));
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IOError(path + ": read error");
  return bytes;
}

const zip::Entry& member(const zip::Reader& zip, const std::string& path, const std::string& name) {
  if (const zip::Entry* e = zip.find(name)) return *e;
  if (name == kWeights && zip.find("model.weights.npz"))
    throw IOError(path + ": model.weights.npz: weights saved with weights_format=\"npz\" are not "
                  "supported; save with Keras' default (model.weights.h5)");
  throw IOError(path + ": missing member \"" + name + "\" (a .keras archive holds " + kMetadata +
                ", " + kConfig + " and " + kWeights + ")");
}

json read_json(const zip::Reader& zip, const std::string& path, const std::string& name) {
  const std::string text = zip.read(member(zip, path, name), kMaxJsonBytes);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    std::string m = e.what();
    if (auto p = m.find("] "); p != std::string::npos) m = m.substr(p + 2);
    throw IOError(path + ": " + name + ": not valid JSON (" + m + ")");
  }
}

/// The archive's model.weights.h5, opened in memory; its errors read "<path>: model.weights.h5: ...".
h5::File open_weights(const zip::Reader& zip, const std::string& path) {
  return h5::File::open_image(zip.read(member(zip, path, kWeights), kMaxWeightsBytes),
                              path + ": " + kWeights);
}

/// Keras' date_saved: datetime.now().strftime("%Y-%m-%d@%H:%M:%S").
std::string keras_date(std::time_t t) {
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d@%H:%M:%S", &tm);
  return buf;
}

}  // namespace

void save_keras_archive(const Model& model, const std::string& path, bool with_optimizer) {
  AtomicFile tmp(path);  // an unwritable folder fails before any work
  json config = json::parse(model.to_json());
  if (!with_optimizer) config.erase("compile_config");
  std::string weights;
  {
    h5::File f = h5::File::create_in_memory(path + ": " + kWeights);
    write_weights_h5(f, model, with_optimizer);
    weights = f.image();
    f.close();
  }
  const std::time_t now = std::time(nullptr);
  // Python's json.dumps of Keras' dict, keys in Keras' order.
  const std::string metadata = std::string("{\"keras_version\": \"") + kKerasVersion +
                               "\", \"date_saved\": \"" + keras_date(now) + "\"}";
  tmp.write(zip::write({{kMetadata, metadata}, {kConfig, config.dump()}, {kWeights, std::move(weights)}},
                       path, now));
  tmp.commit();
}

std::shared_ptr<Model> load_keras_archive(const std::string& path, bool compile) {
  const zip::Reader zip(read_archive(path), path, kKeras);
  json config = read_json(zip, path, kConfig);
  if (!compile && config.is_object()) config.erase("compile_config");
  std::shared_ptr<Model> model;
  try {
    model = model_from_config(config);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + kConfig + ": " + e.what());
  }
  if (model->inputs().empty())
    throw IOError(path + ": the saved model has no input shape, so its weights cannot be placed");
  read_weights_h5(open_weights(zip, path), *model, {});
  return model;
}

void load_weights_from_keras_archive(Model& model, const std::string& path,
                                     const LoadWeightsOptions& options) {
  const zip::Reader zip(read_archive(path), path, kKeras);
  read_weights_h5(open_weights(zip, path), model, options);
}

}  // namespace fitrun::io
