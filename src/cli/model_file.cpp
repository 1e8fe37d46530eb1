#include "cli/model_file.hpp"

#include <fstream>
#include <sstream>

#include "cli/data_source.hpp"
#include "cli/run_config.hpp"
#include "fitrun/error.hpp"
#include "fitrun/io/model_config.hpp"
#include "fitrun/io/saving.hpp"

namespace fitrun::cli {

std::shared_ptr<Model> open_model_file(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  const std::string prefix = path.string() + ": ";
  try {
    if (ext == ".h5" || ext == ".hdf5" || ext == ".keras") return load_model(path.string(), true);
    if (ext == ".json") {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw IOError("cannot open");
      std::stringstream text;
      text << in.rdbuf();
      try {
        return model_from_json(text.str());
      } catch (const json::exception& e) {
        std::string w = e.what();
        if (auto q = w.find("] "); q != std::string::npos) w = w.substr(q + 2);
        throw ConfigError("not valid JSON: " + w);
      }
    }
  } catch (const Error& e) {
    std::string w = e.what();
    if (w.compare(0, prefix.size(), prefix) == 0) w = w.substr(prefix.size());
    throw ConfigError(w);
  }
  throw ConfigError("expected a .json (Keras config), .keras or .h5 (saved model) file");
}

std::shared_ptr<Model> open_model_argument(const std::string& name) {
  try {
    return open_model_file(input_file(name, "", name));
  } catch (const Error& e) {
    std::string w = e.what();
    if (w.rfind(name + ": ", 0) == 0) w = w.substr(name.size() + 2);
    throw InvalidInput(name + ": " + w);
  }
}

}  // namespace fitrun::cli
