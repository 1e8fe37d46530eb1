#pragma once
// The measurement shared by fitrun's training benchmarks, matching bench/peers/torch_models.py:
// a fixed pool of random batches made before timing, warm-up steps, then repeats of timed
// steps; one JSON line with the median samples/s.
#include <fitrun/fitrun.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace bench {

struct Args {
  int batch, steps, warmup = 5, repeats = 5, threads = 0;
  int plain_weights = 0;  // bench_cnn: convolve with Keras' hwio kernels
  int profile = 0;        // > 0: afterwards, that many profiled steps, by layer, on stderr
  int jit = 1;            // 0: no CUDA graphs on a GPU (every kernel launched eagerly)
  std::string device = "cpu";
  std::string precision = "float32";  // or "bf16": the mixed_bfloat16 policy
};

inline Args parse_args(int argc, char** argv, Args a) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    const int v = std::atoi(argv[i + 1]);
    if (!std::strcmp(k, "--device")) a.device = argv[i + 1];
    if (!std::strcmp(k, "--precision")) a.precision = argv[i + 1];
    if (!std::strcmp(k, "--batch")) a.batch = v;
    else if (!std::strcmp(k, "--steps")) a.steps = v;
    else if (!std::strcmp(k, "--warmup")) a.warmup = v;
    else if (!std::strcmp(k, "--repeats")) a.repeats = v;
    else if (!std::strcmp(k, "--threads")) a.threads = v;
    else if (!std::strcmp(k, "--plain-weights")) a.plain_weights = v;
    else if (!std::strcmp(k, "--profile")) a.profile = v;
    else if (!std::strcmp(k, "--jit")) a.jit = v;
  }
  if (a.threads > 0) fitrun::set_num_threads(a.threads);
  // tf32: float32 weights and activations, TF32 tensor cores in matmuls and convolutions, as
  // the PyTorch peer's allow_tf32. bf16: every layer made after this computes under
  // mixed_bfloat16, as the peer's autocast.
  if (a.precision == "tf32") {
    fitrun::set_float32_matmul_precision("high");
  } else if (a.precision == "bf16") {
    fitrun::mixed_precision::set_global_policy("mixed_bfloat16");
  } else if (a.precision != "float32") {
    std::fprintf(stderr, "fitrun trains in float32, tf32 or bf16 (got --precision %s)\n",
                 a.precision.c_str());
    std::exit(2);
  }
  return a;
}

/// Trains `model` on random (batch, sample_shape...) inputs with labels 0..9 and prints
/// {"model": name, "framework": "fitrun", ..., "samples_per_s_median": ...} plus `extra` fields.
inline void measure(fitrun::Model& model, const std::string& name, fitrun::Shape sample_shape,
                    const Args& a, const std::string& extra = "") {
  using namespace fitrun;
  const Device device = Device::parse(a.device);
  model.to(device);
  model.set_jit_compile(a.jit != 0);
  Shape shape{a.batch};
  for (int64_t d : sample_shape) shape.push_back(d);
  const int pool = 8;
  std::vector<TensorList> xs, ys;
  for (int i = 0; i < pool; ++i) {
    xs.push_back(Tensor::normal(shape, 0.f, 1.f, i).to(device));  // as the PyTorch peer
    Tensor y = Tensor::zeros({a.batch}, DType::int32);
    for (int j = 0; j < a.batch; ++j) y.data<int32_t>()[j] = (i * 31 + j * 7) % 10;
    ys.push_back(y);
  }
  for (int i = 0; i < a.warmup; ++i) model.train_step(xs[i % pool], ys[i % pool]);
  synchronize(device);
  std::vector<double> rates;
  for (int r = 0; r < a.repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < a.steps; ++i) model.train_step(xs[i % pool], ys[i % pool]);
    synchronize(device);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(double(a.steps) * a.batch / s);
  }
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  std::printf("{\"model\": \"%s\", \"framework\": \"fitrun\", \"batch\": %d, \"threads\": %d, "
              "\"device\": \"%s\", \"precision\": \"%s\", %s\"samples_per_s_median\": %.1f, "
              "\"samples_per_s_all\": [",
              name.c_str(), a.batch, num_threads(), device.to_string().c_str(),
              a.precision.c_str(), extra.c_str(),
              sorted[sorted.size() / 2]);
  for (size_t i = 0; i < rates.size(); ++i) std::printf("%s%.1f", i ? ", " : "", rates[i]);
  std::printf("], \"cuda_graph_replays\": %llu}\n",
              static_cast<unsigned long long>(model.cuda_graph_replays()));
  if (device.is_cuda() && model.cuda_graph_replays() == 0)
    std::fprintf(stderr, "%s: no CUDA graph: %s\n", name.c_str(),
                 model.cuda_graph_refusal().c_str());
  if (a.profile > 0)
    std::fprintf(stderr, "%s", model.profile_train_step(xs[0], ys[0], a.profile).c_str());
}

}  // namespace bench
