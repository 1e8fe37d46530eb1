#pragma once
// Shared by the callback tests: a tiny compiled model, scratch folders and file reading.
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <fitrun/fitrun.hpp>
#include <unistd.h>

namespace cb_test {

/// A compiled 3 -> 2 Dense model (SGD, mse) with fixed initial weights.
inline std::shared_ptr<fitrun::Sequential> tiny_model(double learning_rate = 0.1,
                                                      std::vector<fitrun::MetricRef> metrics = {}) {
  using namespace fitrun;
  set_seed(11);
  auto model = std::make_shared<Sequential>(
      std::initializer_list<SequentialItem>{Input({3}), layers::Dense(2)});
  model->compile(optimizers::SGD({.learning_rate = learning_rate}), "mse", std::move(metrics));
  return model;
}

/// 8 samples of x (8, 3) and y (8, 2).
inline std::pair<fitrun::Tensor, fitrun::Tensor> tiny_data(int n = 8) {
  std::vector<float> x, y;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 3; ++j) x.push_back(0.1f * float((i * 3 + j) % 7) - 0.3f);
    y.push_back(0.2f * float(i % 3));
    y.push_back(-0.1f * float(i % 4));
  }
  return {fitrun::Tensor::from_vector(x, {n, 3}), fitrun::Tensor::from_vector(y, {n, 2})};
}

/// A fresh empty folder under the system temp dir, removed at destruction.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("fitrun-cb-" + name + "-" + std::to_string(getpid()))) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& leaf) const { return (path_ / leaf).string(); }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace cb_test
