#pragma once
// Image augmentation for Dataset pipelines, on NHWC float32 images: x[0] of an element is one
// image (H, W, C) or a batch (N, H, W, C), each image drawing its own random choices. The
// random ones go to Dataset::map_random (seeded, reproducible per pass), the others to map:
//   ds.map_random(augment::random_flip(), 1).map_random(augment::random_crop(32, 32, 4), 2)
//     .map(augment::normalize({125.3f, 123.0f, 113.9f}, {63.0f, 62.1f, 66.7f}))
// Every function writes a new tensor: elements from from_tensors() share the source's data.
#include <functional>
#include <string>
#include <vector>

#include "fitrun/datasets/dataset.hpp"

namespace fitrun::datasets::augment {

using RandomFn = std::function<Element(Element, Generator&)>;
using Fn = std::function<Element(Element)>;

/// Keras' RandomFlip: mode "horizontal", "vertical" or "horizontal_and_vertical"; each
/// direction is flipped with probability 1/2.
RandomFn random_flip(const std::string& mode = "horizontal");
/// Pads each image with `padding` zeros on every side, then crops a height x width window at
/// a uniformly random offset (padding 4 with the image's own size is the usual CIFAR recipe;
/// padding 0 is Keras' RandomCrop).
RandomFn random_crop(int64_t height, int64_t width, int64_t padding = 0);
/// (x - mean[c]) / std[c] per channel; one value applies to every channel.
Fn normalize(std::vector<float> mean, std::vector<float> std);
/// Keras' Rescaling: x * scale + offset (1/255 maps raw pixels to [0, 1]).
Fn rescale(float scale, float offset = 0.f);

}  // namespace fitrun::datasets::augment
