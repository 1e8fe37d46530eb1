// Sequence models through Keras' files: to_json()/model_from_json() and .h5/.weights.h5 keep
// every argument and weight (Keras' shapes and LSTM/GRU cell weight names).
#include <catch2/catch.hpp>

#include <cstdio>

#include <fitrun/fitrun.hpp>
#include <fitrun/io/model_config.hpp>
#include <fitrun/io/saving.hpp>

using namespace fitrun;
using namespace fitrun::layers;

namespace {
Model text_model() {
  KerasTensor in = Input({6}, {.dtype = DType::int32});
  KerasTensor h = Embedding(20, 8, {.mask_zero = true})(in);
  h = MultiHeadAttention(2, 4)({h, h});
  h = GRU(5, {.return_sequences = true, .go_backwards = true})(h);
  h = LSTM(4)(h);
  return Model(in, Dense(3)(h), "text");
}
}  // namespace

TEST_CASE("a sequence model round-trips through JSON and both HDF5 layouts", "[sequence][io]") {
  set_seed(2);
  Model model = text_model();
  const Tensor x = Tensor::from_vector({1, 5, 7, 0, 0, 0, 3, 3, 19, 2, 4, 0}, {2, 6});
  const Tensor y = model.predict(x)[0];
  const auto copy = model_from_json(model.to_json());
  CHECK(copy->to_json() == model.to_json());
  for (const std::string path : {"/tmp/fitrun_seq_test.weights.h5", "/tmp/fitrun_seq_test.h5"}) {
    model.save_weights(path);
    const auto other = model_from_json(model.to_json());
    other->load_weights(path);
    const Tensor y2 = other->predict(x)[0];
    CHECK(y2.to_vector() == y.to_vector());
    std::remove(path.c_str());
  }
  model.save("/tmp/fitrun_seq_test_model.h5");
  const auto loaded = load_model("/tmp/fitrun_seq_test_model.h5");
  CHECK(loaded->predict(x)[0].to_vector() == y.to_vector());
  std::remove("/tmp/fitrun_seq_test_model.h5");
}
