// Training throughput of a ResNet-style CIFAR CNN (32x32x3): conv3x3(32)-BN-ReLU, then six
// residual blocks (conv3x3-BN-ReLU-conv3x3-BN plus the shortcut, ReLU) of 32, 32, 64 (stride
// 2), 64, 128 (stride 2), 128 channels, with 1x1 conv + BN shortcuts where the shape changes;
// global average pooling, dense10 (Adam, sparse CE from logits) on random data. The same model
// as bench/peers/torch_models.py resnet; compare through bench/compare.py (on a GPU:
// --device cuda). Keras' "same" pads stride-2 convolutions bottom/right only where PyTorch pads
// both sides: the same work, output sizes and parameter count.
#include "train_throughput.hpp"

using namespace fitrun;
using namespace fitrun::layers;

namespace {
KerasTensor conv_bn(KerasTensor x, int64_t filters, int64_t kernel, int64_t stride) {
  x = Conv2D(filters, kernel, "", {.strides = stride, .padding = "same", .use_bias = false})(x);
  return BatchNormalization()(x);
}

KerasTensor block(KerasTensor x, int64_t filters, int64_t stride, int64_t in_filters) {
  KerasTensor h = Activation("relu")(conv_bn(x, filters, 3, stride));
  h = conv_bn(h, filters, 3, 1);
  const KerasTensor shortcut =
      stride != 1 || filters != in_filters ? conv_bn(x, filters, 1, stride) : x;
  return Activation("relu")(Add()({h, shortcut}));
}
}  // namespace

int main(int argc, char** argv) {
  const bench::Args args = bench::parse_args(argc, argv, {.batch = 256, .steps = 2});
  set_seed(0);
  KerasTensor in = Input({32, 32, 3});
  KerasTensor x = Activation("relu")(conv_bn(in, 32, 3, 1));
  int64_t channels = 32;
  for (auto [filters, stride] : {std::pair<int64_t, int64_t>{32, 1}, {32, 1}, {64, 2}, {64, 1},
                                 {128, 2}, {128, 1}}) {
    x = block(x, filters, stride, channels);
    channels = filters;
  }
  x = GlobalAveragePooling2D()(x);
  Model model(in, Dense(10)(x), "resnet");
  model.compile(optimizers::Adam({.learning_rate = 1e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}));
  bench::measure(model, "resnet", {32, 32, 3}, args);
}
