#pragma once
// CIFAR-10 and CIFAR-100 binary batches (the "binary version" archives of cs.toronto.edu).
#include <string>

#include "fitrun/datasets/labeled_data.hpp"
#include "fitrun/datasets/train_test.hpp"

namespace fitrun::datasets {

/// CIFAR-10 records are <label byte><3072 pixel bytes>; CIFAR-100 records
/// <coarse label><fine label><3072 pixel bytes>. Pixels are stored channel by channel.
enum class CifarFormat { cifar10, cifar100_fine, cifar100_coarse };

/// One batch file: x (n, 32, 32, 3) float32 with the raw 0..255 values (NHWC), y (n,) int32.
/// Errors name the file: a size that is not a whole number of records, a label out of range.
LabeledData load_cifar_batch(const std::string& path, CifarFormat format);

namespace cifar10 {
/// Keras' cifar10.load_data(): 50000 + 10000 images (n, 32, 32, 3) float32 0..255, labels
/// (n, 1) int32. Reads <cache>/cifar-10-batches-bin/*.bin, downloading and unpacking
/// cifar-10-binary.tar.gz (SHA-256 checked) when missing. `cache_dir`: see datasets/download.hpp.
TrainTest load_data(const std::string& cache_dir = "");
}  // namespace cifar10

namespace cifar100 {
/// Keras' cifar100.load_data(label_mode): "fine" (100 classes) or "coarse" (20).
TrainTest load_data(const std::string& label_mode = "fine", const std::string& cache_dir = "");
}  // namespace cifar100

}  // namespace fitrun::datasets
