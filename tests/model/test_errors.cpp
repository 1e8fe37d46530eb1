// Bad input: every error names the thing at fault.
#include <catch2/catch.hpp>

#include "model/helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {
Sequential small_model() {
  clear_session();
  Sequential m({Input({4}), Dense(8, "relu"), Dense(3)}, "small");
  m.compile("adam", losses::SparseCategoricalCrossentropy({.from_logits = true}), {"accuracy"});
  return m;
}
}  // namespace

TEST_CASE("fit with the wrong input shape names the input and both shapes", "[model][errors]") {
  auto m = small_model();
  auto x = Tensor::zeros({10, 5});
  auto y = Tensor::zeros({10}, DType::int32);
  CHECK_THROWS_MATCHES(m.fit(x, y, {.verbose = 0}), ShapeError,
                       Catch::Matchers::Message("model \"small\": input \"input_layer\" expects "
                                                "data of shape (None, 4), got (10, 5)"));
}

TEST_CASE("fit with a label count mismatch names both counts", "[model][errors]") {
  auto m = small_model();
  CHECK_THROWS_MATCHES(m.fit(Tensor::zeros({10, 4}), Tensor::zeros({9}, DType::int32),
                             {.verbose = 0}),
                       ShapeError,
                       Catch::Matchers::Message("model \"small\": x has 10 samples but y has 9"));
}

TEST_CASE("unknown optimizer, loss and activation strings list the known ones",
          "[model][errors]") {
  Sequential m({Input({4}), Dense(3)});
  CHECK_THROWS_MATCHES(m.compile("adamm", "mse"), ConfigError,
                       Catch::Matchers::Message("unknown optimizer \"adamm\"; known optimizers: "
                                                "adagrad, adam, adamw, rmsprop, sgd"));
  CHECK_THROWS_WITH(m.compile("adam", "mean_squared_eror"),
                    Catch::StartsWith("unknown loss \"mean_squared_eror\"; known losses:"));
  CHECK_THROWS_WITH(Dense(3, "relux"),
                    Catch::StartsWith("unknown activation \"relux\"; known activations: linear, relu"));
  CHECK_THROWS_MATCHES(Dense(-1), ConfigError,
                       Catch::Matchers::Message("Dense: units must be a positive integer, got -1"));
}

TEST_CASE("fit before compile and bad fit options say what to do", "[model][errors]") {
  Sequential m({Input({4}), Dense(3)}, "raw");
  CHECK_THROWS_WITH(m.fit(Tensor::zeros({2, 4}), Tensor::zeros({2, 3})),
                    Equals("fit: model \"raw\" must be compiled first: call compile(optimizer, "
                           "loss, metrics)"));
  m.compile("sgd", "mse");
  CHECK_THROWS_WITH(m.fit(Tensor::zeros({2, 4}), Tensor::zeros({2, 3}), {.batch_size = 0}),
                    Equals("fit: batch_size must be >= 1, got 0"));
  CHECK_THROWS_WITH(m.fit(Tensor::zeros({2, 4}), Tensor::zeros({2, 3}), {.validation_split = 1.5}),
                    Equals("fit: validation_split must be in [0, 1), got 1.500000"));
}

TEST_CASE("incompatible layers fail at build time naming the layer and both shapes",
          "[model][errors]") {
  clear_session();
  auto a = Input({4});
  auto b = Input({5});
  CHECK_THROWS_MATCHES(Add()({a, b}), ShapeError,
                       Catch::Matchers::Message("layer \"add\" (Add): inputs must have the same "
                                                "shape, got (None, 4) and (None, 5)"));
  auto shared_dense = shared(Dense(2));
  shared_dense(a);
  CHECK_THROWS_WITH(shared_dense(b), Contains("input 0 has shape (None, 5), but the layer was "
                                              "built for (None, 4)"));
}

TEST_CASE("a disconnected graph is reported", "[model][errors]") {
  auto a = Input({4});
  auto b = Input({4}, {.name = "orphan"});
  auto y = Add()({a, b});
  CHECK_THROWS_WITH(Model(a, y), Contains("graph disconnected"));
  CHECK_THROWS_WITH(Model(a, y), Contains("\"orphan\""));
}

namespace {
/// Passes its input through; throws a backend error (as a failed CUDA or oneDNN call does) in
/// the pass named by `fail_in`.
class Failing : public LayerOf<Failing> {
 public:
  explicit Failing(std::string fail_in) : LayerOf<Failing>("boom"), fail_in_(std::move(fail_in)) {}
  std::string class_name() const override { return "Failing"; }
  Shape compute_output_shape(const std::vector<Shape>& s) const override { return s[0]; }
  void forward(CallContext&, const std::vector<const Tensor*>& in, Tensor& y) override {
    if (fail_in_ == "forward") throw BackendError("cudnnFoo failed in conv2d_forward: BAD");
    y.copy_from(*in[0]);
  }
  void backward(CallContext&, const std::vector<const Tensor*>&, const Tensor&, const Tensor& dy,
                const std::vector<Tensor*>& dx) override {
    if (fail_in_ == "backward") throw BackendError("cudnnBar failed in conv2d_backward_data: BAD");
    if (dx[0]) dx[0]->copy_from(dy);
  }

 private:
  std::string fail_in_;
};
}  // namespace

TEST_CASE("a backend failure inside a layer names the layer, the pass and the call",
          "[model][errors]") {
  const Tensor x = Tensor::normal({4, 3}, 0.f, 1.f, 1), y = Tensor::normal({4, 2}, 0.f, 1.f, 2);
  Sequential forward_fails({Input({3}), Dense(2), Failing("forward")});
  forward_fails.compile("sgd", "mse");
  CHECK_THROWS_MATCHES(forward_fails.predict(x), BackendError,
                       Catch::Matchers::Message("layer \"boom\" (Failing) forward: cudnnFoo failed "
                                                "in conv2d_forward: BAD"));
  Sequential backward_fails({Input({3}), Dense(2), Failing("backward")});
  backward_fails.compile("sgd", "mse");
  CHECK_THROWS_MATCHES(backward_fails.train_step({x}, {y}), BackendError,
                       Catch::Matchers::Message("layer \"boom\" (Failing) backward: cudnnBar "
                                                "failed in conv2d_backward_data: BAD"));
}
