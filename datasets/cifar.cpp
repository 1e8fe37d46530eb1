#include "fitrun/datasets/cifar.hpp"

#include <cstring>
#include <vector>

#include "file_bytes.hpp"
#include "fitrun/datasets/download.hpp"
#include "fitrun/error.hpp"
#include "tar.hpp"

namespace fitrun::datasets {

namespace {
constexpr int64_t kPixels = 32 * 32 * 3;
}

LabeledData load_cifar_batch(const std::string& path, CifarFormat format) {
  const std::string bytes = detail::read_file(path);
  const int label_bytes = format == CifarFormat::cifar10 ? 1 : 2;
  const int label_at = format == CifarFormat::cifar100_fine ? 1 : 0;
  const int classes = format == CifarFormat::cifar10 ? 10 : format == CifarFormat::cifar100_fine ? 100 : 20;
  const auto record = static_cast<size_t>(label_bytes + kPixels);
  if (bytes.empty() || bytes.size() % record != 0)
    throw IOError(path + ": size " + std::to_string(bytes.size()) + " is not a whole number of " +
                  std::to_string(record) + "-byte " + (label_bytes == 1 ? "CIFAR-10" : "CIFAR-100") +
                  " records (truncated, or not a batch of that dataset)");
  const auto n = static_cast<int64_t>(bytes.size() / record);
  LabeledData out{Tensor({n, 32, 32, 3}, DType::float32), Tensor({n}, DType::int32)};
  float* x = out.x.data<float>();
  int32_t* y = out.y.data<int32_t>();
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  for (int64_t i = 0; i < n; ++i) {
    const unsigned char* r = u + static_cast<size_t>(i) * record;
    const int label = r[label_at];
    if (label >= classes)
      throw IOError(path + ": record " + std::to_string(i) + ": label " + std::to_string(label) +
                    " is out of range 0.." + std::to_string(classes - 1) + " (not a " +
                    (label_bytes == 1 ? "CIFAR-10" : "CIFAR-100") + " batch?)");
    y[i] = label;
    // The file holds the red plane, then green, then blue; Keras' layout is channels_last.
    const unsigned char* px = r + label_bytes;
    float* xi = x + i * kPixels;
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) xi[p * 3 + c] = px[c * 1024 + p];
  }
  return out;
}

namespace {

/// Concatenates batch files into (x, y) with y shaped (n, 1) as Keras returns it.
std::pair<Tensor, Tensor> load_batches(const std::vector<std::string>& paths, CifarFormat format) {
  std::vector<LabeledData> parts;
  int64_t n = 0;
  for (const auto& p : paths) {
    parts.push_back(load_cifar_batch(p, format));
    n += parts.back().y.dim(0);
  }
  Tensor x({n, 32, 32, 3}, DType::float32), y({n, 1}, DType::int32);
  int64_t at = 0;
  for (const auto& part : parts) {
    const int64_t m = part.y.dim(0);
    std::memcpy(x.data<float>() + at * kPixels, part.x.raw(), part.x.nbytes());
    std::memcpy(y.data<int32_t>() + at, part.y.raw(), part.y.nbytes());
    at += m;
  }
  return {x, y};
}

/// The batch files under <cache>/<folder>, fetching and unpacking the archive when any is missing.
std::vector<std::string> ensure(const std::string& cache, const std::string& archive, const std::string& url,
                                const std::string& hash, const std::string& folder,
                                const std::vector<std::string>& files) {
  const std::string root = cache_dir(cache);
  std::vector<std::string> members, paths;
  bool missing = false;
  for (const auto& f : files) {
    members.push_back(folder + "/" + f);
    paths.push_back(root + "/" + folder + "/" + f);
    missing = missing || !detail::file_exists(paths.back());
  }
  if (missing) detail::extract_tar_gz(get_file(archive, url, hash, root), root, members);
  return paths;
}

}  // namespace

namespace cifar10 {
TrainTest load_data(const std::string& cache) {
  auto paths = ensure(cache, "cifar-10-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                      "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd", "cifar-10-batches-bin",
                      {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                       "data_batch_5.bin", "test_batch.bin"});
  auto test = load_batches({paths.back()}, CifarFormat::cifar10);
  paths.pop_back();
  auto train = load_batches(paths, CifarFormat::cifar10);
  return {train.first, train.second, test.first, test.second};
}
}  // namespace cifar10

namespace cifar100 {
TrainTest load_data(const std::string& label_mode, const std::string& cache) {
  if (label_mode != "fine" && label_mode != "coarse")
    throw ConfigError("cifar100.load_data: label_mode must be \"fine\" or \"coarse\", got \"" + label_mode + "\"");
  const auto format = label_mode == "fine" ? CifarFormat::cifar100_fine : CifarFormat::cifar100_coarse;
  // The binary archive is only published with an MD5 sum (cs.toronto.edu/~kriz/cifar.html).
  auto paths = ensure(cache, "cifar-100-binary.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
                      "03b5dce01913d631647c71ecec9e9cb8", "cifar-100-binary", {"train.bin", "test.bin"});
  auto train = load_batches({paths[0]}, format);
  auto test = load_batches({paths[1]}, format);
  return {train.first, train.second, test.first, test.second};
}
}  // namespace cifar100

}  // namespace fitrun::datasets
