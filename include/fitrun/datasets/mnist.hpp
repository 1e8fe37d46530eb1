#pragma once
// MNIST and Fashion-MNIST, Keras' load_data(): 60000 training and 10000 test images
// (n, 28, 28) float32 with the raw 0..255 values, labels (n,) int32. Files come from the
// dataset cache (datasets/download.hpp), downloaded from Keras' mirror and checksum-verified
// when missing.
#include <string>

#include "fitrun/datasets/train_test.hpp"

namespace fitrun::datasets {

namespace mnist {
/// <cache>/mnist.npz (Keras' file).
TrainTest load_data(const std::string& cache_dir = "");
}  // namespace mnist

namespace fashion_mnist {
/// <cache>/fashion-mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
TrainTest load_data(const std::string& cache_dir = "");
}  // namespace fashion_mnist

}  // namespace fitrun::datasets
