// Losses and metrics on the GPU (src/backend/cuda/losses.cu) against the CPU: every loss with
// every option (logits, label smoothing, sample weights, reductions, rank-3 sequence outputs)
// gives the CPU's value and gradient; every built-in metric the CPU's result over several
// batches and after a reset; and a model trained on the GPU logs what the CPU model and the
// host-copy path log. Tagged [gpu]; without a CUDA device each case passes as skipped.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "fitrun/fitrun.hpp"
#include "gpu_helpers.hpp"

using namespace fitrun;
using gpu_test::kGpu;
using gpu_test::relative_error;

namespace {

constexpr double kLossTolerance = 1e-5;

/// Class indices in [0, c) of the given dtype, shape `s`.
Tensor class_labels(const Shape& s, int64_t c, DType dtype, uint32_t seed) {
  std::vector<int64_t> v(static_cast<size_t>(s.num_elements()));
  uint32_t state = seed * 2654435761u + 1;
  for (auto& x : v) {
    state = state * 1664525u + 1013904223u;
    x = static_cast<int64_t>((state >> 8) % static_cast<uint32_t>(c));
  }
  if (dtype == DType::int64) return Tensor::from_vector(v, s);
  if (dtype == DType::int32)
    return Tensor::from_vector(std::vector<int32_t>(v.begin(), v.end()), s);
  return Tensor::from_vector(std::vector<float>(v.begin(), v.end()), s);
}

/// One-hot rows (N, ..., C) of the class labels.
Tensor one_hot(const Tensor& classes, int64_t c) {
  std::vector<float> v;
  for (float k : classes.to_vector())
    for (int64_t j = 0; j < c; ++j) v.push_back(j == static_cast<int64_t>(k) ? 1.f : 0.f);
  std::vector<int64_t> dims(classes.shape().begin(), classes.shape().end());
  dims.push_back(c);
  return Tensor::from_vector(v, Shape(dims));
}

/// Predictions and labels for one loss on y_pred of shape `s` (last axis the classes).
struct Batch {
  Tensor y_true, y_pred;
};

Batch batch_for(losses::RowSpec::Kind kind, bool logits, const Shape& s, DType label_dtype,
                uint32_t seed) {
  using K = losses::RowSpec::Kind;
  const int64_t c = s.dim(-1);
  std::vector<int64_t> head(s.begin(), s.end() - 1);
  Batch b;
  // Probabilities away from 0 (crossentropy inputs), logits and regression values around 0.
  b.y_pred = logits || kind == K::squared_error || kind == K::absolute_error || kind == K::huber
                 ? Tensor::uniform(s, -3.f, 3.f, seed)
                 : Tensor::uniform(s, 0.02f, 0.98f, seed);
  switch (kind) {
    case K::sparse_crossentropy: b.y_true = class_labels(Shape(head), c, label_dtype, seed); break;
    case K::categorical_crossentropy:
      b.y_true = one_hot(class_labels(Shape(head), c, DType::float32, seed), c);
      break;
    case K::binary_crossentropy: b.y_true = class_labels(s, 2, label_dtype, seed); break;
    default: b.y_true = Tensor::uniform(s, -2.f, 2.f, seed + 7);
  }
  if (!logits && kind == K::binary_crossentropy) {
    b.y_pred.data<float>()[0] = 1.f;  // clipped: value and zero gradient must agree too
    b.y_pred.data<float>()[1] = 0.f;
  }
  return b;
}

struct LossCase {
  std::string name;
  std::function<losses::LossPtr(losses::Reduction)> make;
};

std::vector<LossCase> loss_cases() {
  using namespace losses;
  std::vector<LossCase> cases;
  for (bool logits : {false, true}) {
    const std::string l = logits ? " logits" : "";
    cases.push_back({"sparse_categorical_crossentropy" + l, [=](Reduction r) {
                       return std::make_shared<SparseCategoricalCrossentropy>(
                           CrossentropyOptions{logits, 0.f, r});
                     }});
    for (float ls : {0.f, 0.2f}) {
      const std::string tag = l + (ls > 0 ? " smoothing" : "");
      cases.push_back({"categorical_crossentropy" + tag, [=](Reduction r) {
                         return std::make_shared<CategoricalCrossentropy>(
                             CrossentropyOptions{logits, ls, r});
                       }});
      cases.push_back({"binary_crossentropy" + tag, [=](Reduction r) {
                         return std::make_shared<BinaryCrossentropy>(
                             CrossentropyOptions{logits, ls, r});
                       }});
    }
  }
  cases.push_back({"mse", [](Reduction r) { return std::make_shared<MeanSquaredError>(r); }});
  cases.push_back({"mae", [](Reduction r) { return std::make_shared<MeanAbsoluteError>(r); }});
  cases.push_back({"huber", [](Reduction r) { return std::make_shared<Huber>(0.7f, r); }});
  return cases;
}

}  // namespace

TEST_CASE("GPU losses: value and gradient match the CPU for every option", "[gpu][losses]") {
  FITRUN_REQUIRE_GPU();
  using losses::Reduction;
  const std::vector<Shape> shapes = {{37, 5}, {9, 4, 6}, {16, 1}};
  int checked = 0;
  for (const LossCase& c : loss_cases())
    for (Reduction r : {Reduction::sum_over_batch_size, Reduction::sum, Reduction::none})
      for (const Shape& s : shapes)
        for (bool weighted : {false, true})
          for (DType label_dtype : {DType::float32, DType::int32}) {
            const losses::LossPtr loss = c.make(r);
            const losses::RowSpec spec = loss->row_spec();
            REQUIRE(loss->has_device_path());
            const bool sparse = spec.kind == losses::RowSpec::Kind::sparse_crossentropy;
            if (label_dtype != DType::float32 &&
                !(sparse || spec.kind == losses::RowSpec::Kind::binary_crossentropy))
              continue;
            const uint32_t seed = static_cast<uint32_t>(checked + 3);
            const Batch b = batch_for(spec.kind, spec.from_logits, s, label_dtype, seed);
            const Tensor w = Tensor::uniform({s.dim(0)}, 0.f, 2.f, seed + 11);
            const float scale = 0.75f;
            INFO(c.name << ", reduction " << int(r) << ", y_pred " << s.to_string()
                        << (weighted ? ", weighted" : "") << ", labels "
                        << dtype_name(label_dtype));
            Tensor cpu_grad(s);
            const double cpu =
                loss->compute(b.y_true, b.y_pred, &cpu_grad, scale, weighted ? &w : nullptr);
            const Tensor y_true = b.y_true.to(kGpu), y_pred = b.y_pred.to(kGpu);
            const Tensor w_gpu = w.to(kGpu);
            Tensor gpu_grad(s, DType::float32, kGpu);
            const double gpu =
                loss->compute(y_true, y_pred, &gpu_grad, scale, weighted ? &w_gpu : nullptr);
            CHECK(std::fabs(gpu - cpu) <= kLossTolerance * std::max(1.0, std::fabs(cpu)));
            CHECK(relative_error(gpu_grad, cpu_grad) <= kLossTolerance);
            // Without a gradient, into slot 1 of a device result, read back once.
            Tensor result = ops::device_doubles(3, kGpu);
            loss->compute_on_device(y_true, y_pred, nullptr, scale, weighted ? &w_gpu : nullptr,
                                    result, 1);
            double host[3];
            ops::read_doubles(result, host);
            CHECK(host[0] == 0.0);
            CHECK(host[1] == Approx(gpu).epsilon(1e-12));
            CHECK(host[2] == 0.0);
            ++checked;
          }
  CHECK(checked > 300);
}

TEST_CASE("GPU losses: the device path refuses what it cannot compute", "[gpu][losses]") {
  FITRUN_REQUIRE_GPU();
  struct Custom : losses::Loss {
    Custom() : Loss("custom") {}
    std::string class_name() const override { return "Custom"; }
    void per_sample(const Tensor&, const Tensor& p, float* out, float*) const override {
      for (int64_t i = 0; i < p.dim(0); ++i) out[i] = 1.f;
    }
  };
  Tensor result = ops::device_doubles(1, kGpu);
  const Tensor y = Tensor::zeros({4, 3}).to(kGpu), p = Tensor::zeros({4, 3}).to(kGpu);
  CHECK_FALSE(Custom().has_device_path());
  CHECK_THROWS_WITH(Custom().compute_on_device(y, p, nullptr, 1.f, nullptr, result, 0),
                    Catch::Contains("custom (Custom) has no device path"));
  losses::MeanSquaredError mse;
  CHECK_THROWS_WITH(mse.compute_on_device(y, Tensor::zeros({4, 2}).to(kGpu), nullptr, 1.f,
                                          nullptr, result, 0),
                    Catch::Contains("mean_squared_error"));
  // An out-of-range class index on the device gives a NaN loss (the model checks host labels).
  losses::SparseCategoricalCrossentropy sparse;
  const Tensor bad = Tensor::from_vector(std::vector<int32_t>{0, 1, 7, 2}, {4}).to(kGpu);
  CHECK(std::isnan(sparse.compute(bad, p, nullptr)));
}

TEST_CASE("GPU metrics: results match the CPU over batches and after a reset",
          "[gpu][metrics]") {
  FITRUN_REQUIRE_GPU();
  using K = losses::RowSpec::Kind;
  struct MetricCase {
    metrics::MetricPtr metric;
    K data;  // which labels it takes
  };
  const std::vector<MetricCase> cases = {
      {std::make_shared<metrics::SparseCategoricalAccuracy>(), K::sparse_crossentropy},
      {std::make_shared<metrics::SparseTopKCategoricalAccuracy>(2), K::sparse_crossentropy},
      {std::make_shared<metrics::CategoricalAccuracy>(), K::categorical_crossentropy},
      {std::make_shared<metrics::BinaryAccuracy>("binary_accuracy", 0.3f),
       K::binary_crossentropy},
      {std::make_shared<metrics::MeanAbsoluteError>(), K::absolute_error},
      {std::make_shared<metrics::MeanSquaredError>(), K::squared_error},
  };
  for (const MetricCase& c : cases)
    for (const Shape& s : {Shape{40, 5}, Shape{6, 3, 4}})
      for (DType label_dtype : {DType::float32, DType::int64}) {
        INFO(c.metric->name() << ", y_pred " << s.to_string() << ", labels "
                              << dtype_name(label_dtype));
        const metrics::MetricPtr cpu = c.metric->clone(), gpu = c.metric->clone();
        REQUIRE(gpu->row_spec().kind != metrics::RowSpec::Kind::none);
        for (int step = 0; step < 5; ++step) {
          if (step == 3) {  // reset between batches: both start again
            cpu->reset_state();
            gpu->reset_state();
            CHECK(gpu->result() == 0.0);
          }
          const Batch b = batch_for(c.data, false, s, label_dtype, 100u + step);
          cpu->update_state(b.y_true, b.y_pred);
          gpu->update_state(b.y_true.to(kGpu), b.y_pred.to(kGpu));
          CHECK(gpu->result() == Approx(cpu->result()).epsilon(1e-9).margin(1e-12));
        }
      }
}

TEST_CASE("GPU metrics: Mean on the device adds weighted sums like Mean::update",
          "[gpu][metrics]") {
  FITRUN_REQUIRE_GPU();
  metrics::Mean cpu("loss"), gpu("loss");
  Tensor values = ops::device_doubles(3, kGpu);
  const Tensor losses_t = Tensor::from_vector({0.5f, 2.f, 4.f}, {3});
  // The device values: the loss kernels write them; here a loss per slot through compute.
  for (int64_t k = 0; k < 3; ++k) {
    losses::MeanSquaredError mse;
    const Tensor p = Tensor::full({1, 1}, std::sqrt(losses_t.to_vector()[size_t(k)])).to(kGpu);
    mse.compute_on_device(Tensor::zeros({1, 1}).to(kGpu), p, nullptr, 1.f, nullptr, values, k);
  }
  const double coeffs[3] = {1.0, 0.5, 0.25};
  for (int step = 0; step < 3; ++step) {
    gpu.update_on_device(values, 0, coeffs, 3, 0.125, 32.0 + step);
    cpu.update(0.125 + 0.5 + 0.5 * 2 + 0.25 * 4, 32.0 + step);
    CHECK(gpu.result() == Approx(cpu.result()).epsilon(1e-6));
  }
  gpu.update_on_device(values, 1, coeffs + 1, 1, 0.0, 10.0);
  cpu.update(0.5 * 2, 10.0);
  CHECK(gpu.result() == Approx(cpu.result()).epsilon(1e-6));
  gpu.reset_state();
  CHECK(gpu.result() == 0.0);
}

namespace {

/// A metric without a device path: the model must give it host copies of the outputs.
class HostAccuracy : public metrics::SparseCategoricalAccuracy {
 public:
  HostAccuracy() : SparseCategoricalAccuracy("host_accuracy") {}
  metrics::RowSpec row_spec() const override { return {}; }
  void update_state(const Tensor& y_true, const Tensor& y_pred) override {
    REQUIRE(y_pred.device().is_cpu());
    SparseCategoricalAccuracy::update_state(y_true, y_pred);
  }
  std::shared_ptr<Metric> clone() const override { return std::make_shared<HostAccuracy>(*this); }
};

struct RunLogs {
  std::map<std::string, std::vector<double>> history;
  Logs evaluated;
  double train_step_loss = 0;
  bool on_device = false;
};

RunLogs train(Device device, bool host_metric, bool weighted) {
  set_seed(9);
  clear_session();
  const Tensor x = Tensor::normal({96, 12}, 0.f, 1.f, 21);
  const Tensor y = class_labels({96}, 4, DType::int32, 5);
  const Tensor w = Tensor::uniform({96}, 0.5f, 1.5f, 8);
  using namespace layers;
  Sequential m({Input({12}), Dense(16, "relu"), Dense(4)});
  std::vector<MetricRef> metric_list = {"accuracy", "sparse_top_k_categorical_accuracy"};
  if (host_metric) metric_list.push_back(std::make_shared<HostAccuracy>());
  // SGD: device rounding differences stay at their size (Adam's m / sqrt(v) can blow up the
  // noise of a gradient near zero into a full step).
  m.compile(optimizers::SGD({.learning_rate = 0.1}),
            losses::SparseCategoricalCrossentropy({.from_logits = true}), metric_list);
  m.to(device);
  FitOptions o{.batch_size = 20, .epochs = 3, .verbose = 0};  // 96 = 4 x 20 + 16: two plans
  if (weighted) o.sample_weight = w;
  RunLogs r;
  r.history = m.fit(x, y, o).history;
  r.on_device = m.losses_on_device();
  r.evaluated = m.evaluate(x, y, {.batch_size = 32, .verbose = 0});
  r.train_step_loss = m.train_step({x.slice(0, 20)}, {y.slice(0, 20)});
  return r;
}

void check_same(const RunLogs& a, const RunLogs& b) {
  for (const auto& [key, values] : b.history) {
    REQUIRE(a.history.count(key));
    for (size_t e = 0; e < values.size(); ++e) {
      INFO(key << " epoch " << e + 1);
      CHECK(a.history.at(key)[e] == Approx(values[e]).epsilon(1e-4).margin(1e-6));
    }
  }
  for (const auto& [key, value] : b.evaluated) {
    INFO("evaluate " << key);
    CHECK(a.evaluated.at(key) == Approx(value).epsilon(1e-4).margin(1e-6));
  }
  CHECK(a.train_step_loss == Approx(b.train_step_loss).epsilon(1e-4));
}

}  // namespace

TEST_CASE("GPU training: device losses and metrics log what the CPU and the host path log",
          "[gpu][model][losses]") {
  FITRUN_REQUIRE_GPU();
  for (bool weighted : {false, true}) {
    INFO((weighted ? "with" : "without") << " sample weights");
    const RunLogs cpu = train(Device::cpu(), false, weighted);
    const RunLogs device = train(kGpu, false, weighted);
    const RunLogs host_path = train(kGpu, true, weighted);
    CHECK_FALSE(cpu.on_device);
    CHECK(device.on_device);
    CHECK_FALSE(host_path.on_device);  // a metric without a device path: host copies
    REQUIRE(device.history.count("accuracy"));
    REQUIRE(host_path.history.count("host_accuracy"));
    check_same(device, cpu);
    check_same(host_path, cpu);
    check_same(host_path, device);
    // The host-copy metric saw the same outputs as the device one.
    CHECK(host_path.history.at("host_accuracy") == host_path.history.at("accuracy"));
  }
}

TEST_CASE("GPU training: two outputs, loss weights and a sequence output match the CPU",
          "[gpu][model][losses]") {
  FITRUN_REQUIRE_GPU();
  auto run = [](Device device) {
    set_seed(3);
    clear_session();
    using namespace layers;
    const Tensor x = Tensor::normal({40, 4, 6}, 0.f, 1.f, 2);
    const Tensor y_seq = Tensor::normal({40, 4, 3}, 0.f, 1.f, 4);  // (N, T, C) regression
    const Tensor y_bin = class_labels({40, 2}, 2, DType::float32, 6);
    KerasTensor in = Input({4, 6});
    KerasTensor h = Dense(8, "tanh")(in);
    KerasTensor seq = Dense(3, "", {.name = "seq"})(h);
    KerasTensor bin = Dense(2, "sigmoid", {.name = "bin"})(Flatten()(h));
    Model m({in}, {seq, bin}, "two_outputs");
    m.compile(optimizers::SGD({.learning_rate = 0.05}),
              {LossRef("huber"), LossRef("binary_crossentropy")}, {"accuracy", "mae"},
              {.loss_weights = {1.f, 0.5f}});
    m.to(device);
    auto hist =
        m.fit({x}, {y_seq, y_bin}, {.batch_size = 16, .epochs = 2, .verbose = 0}).history;
    return std::make_pair(hist, m.losses_on_device());
  };
  const auto [cpu, cpu_on_device] = run(Device::cpu());
  const auto [gpu, gpu_on_device] = run(kGpu);
  CHECK(gpu_on_device);
  REQUIRE(cpu.count("bin_accuracy"));
  for (const auto& [key, values] : cpu) {
    REQUIRE(gpu.count(key));
    for (size_t e = 0; e < values.size(); ++e) {
      INFO(key << " epoch " << e + 1);
      CHECK(gpu.at(key)[e] == Approx(values[e]).epsilon(1e-4).margin(1e-6));
    }
  }
}
