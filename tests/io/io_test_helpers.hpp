#pragma once
// Helpers shared by the model-file tests (tests/io): a scratch folder, error text, weights as
// one vector, file bytes, and the small classification model and data the round trips use.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <fitrun/fitrun.hpp>

namespace io_test {

namespace fs = std::filesystem;
using namespace fitrun;

/// A fresh folder per test case, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "fitrun-io-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  /// The names of the files in the folder, sorted.
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

/// The message of the fitrun::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

/// Every weight of the model, concatenated in weights() order.
inline std::vector<float> weights_of(const Model& m) {
  std::vector<float> out;
  for (const auto& w : m.weights())
    for (float v : w->value.to_vector()) out.push_back(v);
  return out;
}

/// A model loaded from a full save is the saved one: the same weights, bit-identical
/// predictions, the same compile config, optimizer iterations, step count and evaluation.
inline void check_restored(Model& loaded, Model& saved, const Tensor& x, const Tensor& y) {
  CHECK(weights_of(loaded) == weights_of(saved));
  CHECK(Tensor(loaded.predict(x)).to_vector() == Tensor(saved.predict(x)).to_vector());
  REQUIRE(loaded.compiled());
  CHECK(loaded.get_compile_config() == saved.get_compile_config());
  CHECK(loaded.optimizer().iterations() == saved.optimizer().iterations());
  CHECK(loaded.train_steps() == saved.train_steps());
  const EvaluateOptions quiet{.batch_size = 64, .verbose = 0};
  CHECK(loaded.evaluate(x, y, quiet) == saved.evaluate(x, y, quiet));
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

/// Classification data: 240 samples of 12 features, 4 classes.
inline std::pair<Tensor, Tensor> toy_data() {
  Tensor x = Tensor::normal({240, 12}, 0, 1, 11);
  Tensor y = Tensor::zeros({240}, DType::int32);
  for (int64_t i = 0; i < 240; ++i) {
    const float* r = x.data<float>() + i * 12;
    y.data<int32_t>()[i] = (r[0] > 0 ? 1 : 0) + (r[1] + r[2] > 0 ? 2 : 0);
  }
  return {x, y};
}

inline Sequential small_mlp(const std::string& name = "") {
  return Sequential({Input({12}), layers::Dense(16, "relu"), layers::Dropout(0.25f),
                     layers::Dense(4)},
                    name);
}

inline void compile_adam(Model& m) {
  optimizers::AdamOptions ao;
  ao.learning_rate = 3e-3;
  losses::CrossentropyOptions lo;
  lo.from_logits = true;
  m.compile(optimizers::Adam(ao), losses::SparseCategoricalCrossentropy(lo), {"accuracy"});
}

inline FitOptions fit_options(int epochs, int initial_epoch = 0);

/// small_mlp compiled with Adam from seed 31 in a fresh session, then trained `epochs` epochs
/// on (x, y) (none for 0): every call with the same epochs gives the same weights, which is
/// what the resume tests compare.
inline Sequential seeded_mlp(const Tensor& x, const Tensor& y, int epochs) {
  set_seed(31);
  clear_session();
  Sequential m = small_mlp();
  compile_adam(m);
  if (epochs > 0) m.fit(x, y, fit_options(epochs));
  return m;
}

inline FitOptions fit_options(int epochs, int initial_epoch) {
  FitOptions o;
  o.batch_size = 32;
  o.epochs = epochs;
  o.initial_epoch = initial_epoch;
  o.verbose = 0;
  o.shuffle = true;  // epoch e's order depends only on the model's saved shuffle seed and e
  return o;
}

}  // namespace io_test
