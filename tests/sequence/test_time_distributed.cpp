// TimeDistributed: the wrapped layer applied to every timestep with shared weights.
#include <catch2/catch.hpp>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/time_distributed.hpp>

#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;

TEST_CASE("TimeDistributed applies its layer to every timestep", "[sequence][time_distributed]") {
  auto dense = std::make_shared<Dense>(3, "tanh");
  TimeDistributed td(dense);
  const Tensor x = Tensor::uniform({2, 4, 5}, -1.f, 1.f, 7);
  const Tensor y = layer_test::forward(td, {x});
  CHECK(y.shape() == Shape{2, 4, 3});
  CHECK(td.weights().size() == 2);
  // Step t of sample n equals the Dense layer on that row alone.
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t t = 0; t < 4; ++t) {
      Tensor row({1, 5});
      for (int64_t k = 0; k < 5; ++k) row.data<float>()[k] = static_cast<float>(x.at({n, t, k}));
      const Tensor r = layer_test::forward(*dense, {row});
      for (int64_t k = 0; k < 3; ++k) CHECK(y.at({n, t, k}) == Approx(r.flat(k)).margin(1e-6));
    }
  layer_test::require_gradients(td, {x});
  CHECK(td.compute_output_shape({Shape{-1, 4, 5}}) == Shape{-1, 4, 3});
  CHECK_THROWS_WITH(td.compute_output_shape({Shape{-1, 5}}),
                    Catch::Contains("expected an input (batch, timesteps, ...) of rank >= 3"));
}

TEST_CASE("TimeDistributed config round-trips with its inner layer", "[sequence][time_distributed][config]") {
  TimeDistributed td(Dense(4, "relu"), "per_step");
  const json c = td.get_config();
  CHECK(c["layer"]["class_name"] == "Dense");
  CHECK(layer_from_config("TimeDistributed", c)->get_config() == c);
  json bad = c;
  bad["layer"]["config"]["units"] = 0;
  CHECK_THROWS_WITH(layer_from_config("TimeDistributed", bad),
                    Catch::Contains("/layer: ") && Catch::Contains("units"));
  // In a model: Embedding -> TimeDistributed(Dense) -> LSTM keeps the padding mask, so the
  // padded sequence gives what the unpadded one gives.
  set_seed(3);
  auto build = [](int64_t steps) {
    KerasTensor in = Input({steps}, {.dtype = DType::int32});
    KerasTensor h = TimeDistributed(Dense(3))(Embedding(9, 2, {.mask_zero = true})(in));
    return Model(in, LSTM(2)(h));
  };
  Model padded = build(4), plain = build(2);
  for (const auto& l : padded.layers())
    for (const auto& m : plain.layers())
      if (m->class_name() == l->class_name())
        for (size_t k = 0; k < l->weights().size(); ++k)
          m->weights()[k]->value.copy_from(l->weights()[k]->value);
  const Tensor a = padded.predict(Tensor::from_vector({4, 2, 0, 0}, {1, 4}))[0];
  const Tensor b = plain.predict(Tensor::from_vector({4, 2}, {1, 2}))[0];
  for (int64_t k = 0; k < 2; ++k) CHECK(a.flat(k) == Approx(b.flat(k)).margin(1e-6));
}
