// Training throughput of the CNN conv32(3x3, relu) - maxpool2 - conv64(3x3, relu) - maxpool2 -
// flatten - dense128(relu) - dense10 on 28x28x1 images (Adam, sparse CE from logits) on random
// data, measured the way bench/peers/torch_models.py measures PyTorch: warm-up steps, then
// repeats of timed steps; prints one JSON line with the median samples/s.
//   --plain-weights 1   convolve with the Keras (hwio) kernel layout instead of oneDNN's own
#include <fitrun/fitrun.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace fitrun;
using namespace fitrun::layers;

int main(int argc, char** argv) {
  int batch = 64, steps = 30, warmup = 5, repeats = 5, threads = 0, plain = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (!std::strcmp(k, "--batch")) batch = v;
    else if (!std::strcmp(k, "--steps")) steps = v;
    else if (!std::strcmp(k, "--warmup")) warmup = v;
    else if (!std::strcmp(k, "--repeats")) repeats = v;
    else if (!std::strcmp(k, "--threads")) threads = v;
    else if (!std::strcmp(k, "--plain-weights")) plain = v;
  }
  if (threads > 0) set_num_threads(threads);
  if (plain) ops::set_conv_plain_weights(true);
  set_seed(0);
  Sequential model({Input({28, 28, 1}), Conv2D(32, 3, "relu"), MaxPooling2D(2),
                    Conv2D(64, 3, "relu"), MaxPooling2D(2), Flatten(), Dense(128, "relu"),
                    Dense(10)});
  model.compile(optimizers::Adam({.learning_rate = 1e-3}),
                losses::SparseCategoricalCrossentropy({.from_logits = true}));

  // A fixed set of batches, generated before timing (as the PyTorch peer does).
  const int pool = 8;
  std::vector<TensorList> xs, ys;
  for (int i = 0; i < pool; ++i) {
    xs.push_back(Tensor::normal({batch, 28, 28, 1}, 0.f, 1.f, i));
    Tensor y = Tensor::zeros({batch}, DType::int32);
    for (int j = 0; j < batch; ++j) y.data<int32_t>()[j] = (i * 31 + j * 7) % 10;
    ys.push_back(y);
  }
  for (int i = 0; i < warmup; ++i) model.train_step(xs[i % pool], ys[i % pool]);
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) model.train_step(xs[i % pool], ys[i % pool]);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(double(steps) * batch / s);
  }
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  std::printf("{\"model\": \"cnn\", \"framework\": \"fitrun\", \"batch\": %d, \"threads\": %d, "
              "\"conv_weights\": \"%s\", \"samples_per_s_median\": %.1f, "
              "\"samples_per_s_all\": [",
              batch, num_threads(), plain ? "hwio" : "onednn", sorted[sorted.size() / 2]);
  for (size_t i = 0; i < rates.size(); ++i) std::printf("%s%.1f", i ? ", " : "", rates[i]);
  std::printf("]}\n");
}
