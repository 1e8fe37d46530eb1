#include "fitrun/datasets/mnist.hpp"

#include "fitrun/datasets/download.hpp"
#include "fitrun/datasets/idx.hpp"
#include "fitrun/datasets/npy.hpp"
#include "fitrun/error.hpp"

namespace fitrun::datasets {

namespace {

const char kKerasOrigin[] = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";

/// Checks that images (n, 28, 28) and labels (n,) agree; errors name both files.
void check_pair(const Tensor& x, const std::string& x_name, const Tensor& y, const std::string& y_name) {
  if (x.rank() != 3 || x.dim(1) != 28 || x.dim(2) != 28)
    throw IOError(x_name + ": expected images of shape (n, 28, 28), got " + x.shape().to_string());
  if (y.rank() != 1) throw IOError(y_name + ": expected labels of shape (n,), got " + y.shape().to_string());
  if (x.dim(0) != y.dim(0))
    throw IOError(y_name + ": " + std::to_string(y.dim(0)) + " labels for " + std::to_string(x.dim(0)) +
                  " images in " + x_name + " (mismatched files)");
}

}  // namespace

namespace mnist {
TrainTest load_data(const std::string& cache) {
  const std::string path = get_file("mnist.npz", std::string(kKerasOrigin) + "mnist.npz",
                                    "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1", cache);
  auto arrays = load_npz(path);
  auto get = [&](const char* key) {
    auto it = arrays.find(key);
    if (it == arrays.end()) throw IOError(path + ": no array \"" + key + "\" in the archive");
    return it->second;
  };
  TrainTest t{get("x_train").astype(DType::float32), get("y_train").astype(DType::int32),
              get("x_test").astype(DType::float32), get("y_test").astype(DType::int32)};
  check_pair(t.x_train, path + ": x_train", t.y_train, path + ": y_train");
  check_pair(t.x_test, path + ": x_test", t.y_test, path + ": y_test");
  return t;
}
}  // namespace mnist

namespace fashion_mnist {
TrainTest load_data(const std::string& cache) {
  struct File {
    const char* name;
    const char* sha256;
  };
  // Keras' fashion_mnist.FILE_HASHES.
  const File files[4] = {
      {"train-images-idx3-ubyte.gz", "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"},
      {"train-labels-idx1-ubyte.gz", "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"},
      {"t10k-images-idx3-ubyte.gz", "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"},
      {"t10k-labels-idx1-ubyte.gz", "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"}};
  std::string paths[4];
  for (int i = 0; i < 4; ++i)
    paths[i] = get_file(std::string("fashion-mnist/") + files[i].name, std::string(kKerasOrigin) + files[i].name,
                        files[i].sha256, cache);
  TrainTest t{load_idx(paths[0], DType::float32), load_idx(paths[1], DType::int32),
              load_idx(paths[2], DType::float32), load_idx(paths[3], DType::int32)};
  check_pair(t.x_train, paths[0], t.y_train, paths[1]);
  check_pair(t.x_test, paths[2], t.y_test, paths[3]);
  return t;
}
}  // namespace fashion_mnist

}  // namespace fitrun::datasets
