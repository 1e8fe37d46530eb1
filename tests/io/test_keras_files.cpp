// Files written by real Keras (3.15.1; tests/data/keras3_real/make_files.py): a legacy .h5 with
// optimizer state, a .weights.h5 and to_json() output load in fitrun and predict what Keras
// predicted.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <fitrun/fitrun.hpp>

using namespace fitrun;

namespace {

std::string real(const std::string& name) {
  return std::string(FITRUN_TEST_DATA) + "/keras3_real/" + name;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  return json::parse(in);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Tensor matrix(const json& rows) {
  std::vector<float> v;
  for (const auto& r : rows)
    for (const auto& x : r) v.push_back(x.get<float>());
  return Tensor::from_vector(v, {int64_t(rows.size()), int64_t(rows[0].size())});
}

/// A (batch, steps, features) tensor from nested lists.
Tensor sequences(const json& batches) {
  std::vector<float> v;
  for (const auto& b : batches)
    for (const auto& r : b)
      for (const auto& x : r) v.push_back(x.get<float>());
  return Tensor::from_vector(
      v, {int64_t(batches.size()), int64_t(batches[0].size()), int64_t(batches[0][0].size())});
}

void check_close(const Tensor& got, const json& expected) {
  const Tensor want = matrix(expected);
  REQUIRE(got.shape() == want.shape());
  for (int64_t i = 0; i < got.size(); ++i)
    CHECK(got.flat(i) == Approx(want.flat(i)).margin(1e-5));
}

}  // namespace

TEST_CASE("a Keras 3 model.save(\"m.h5\") loads, predicts and resumes", "[io][keras]") {
  clear_session();
  const json expected = read_json(real("k3_functional_expected.json"));
  auto model = load_model(real("k3_functional.h5"));
  CHECK(model->name() == "k3_functional");
  REQUIRE(model->inputs().size() == 2);
  check_close(model->predict({matrix(expected["x"][0]), matrix(expected["x"][1])}),
              expected["y"]);
  // Compiled from its training_config, with Keras' optimizer state.
  REQUIRE(model->compiled());
  CHECK(model->optimizer().class_name() == "Adam");
  CHECK(static_cast<float>(model->optimizer().learning_rate()) == 0.01f);
  CHECK(model->optimizer().iterations() == expected["iterations"].get<int64_t>());
  CHECK(model->optimizer().slots().size() == 6);
  // Training goes on from there.
  Tensor xa = matrix(expected["x"][0]), xb = matrix(expected["x"][1]);
  Tensor y = Tensor::from_vector({0, 1, 1, 0}, {4});
  model->fit({xa, xb}, y, {.batch_size = 4, .epochs = 1, .verbose = 0});
  CHECK(model->optimizer().iterations() == expected["iterations"].get<int64_t>() + 1);
}

TEST_CASE("Keras 3 to_json() output with its weights files loads", "[io][keras]") {
  clear_session();
  // Functional: config from to_json(), weights from the full .h5 file.
  const json fe = read_json(real("k3_functional_expected.json"));
  auto fn = model_from_json(read_text(real("k3_functional.json")));
  // to_json() carried the compile_config, but without the optimizer: Keras' legacy .h5 save
  // (run before to_json in make_files.py) drops it, and compile() then defaults to rmsprop.
  REQUIRE(fn->compiled());
  CHECK(fn->optimizer().class_name() == "RMSprop");
  CHECK(fn->loss_functions()[0]->class_name() == "SparseCategoricalCrossentropy");
  fn->load_weights(real("k3_functional.h5"));
  check_close(fn->predict({matrix(fe["x"][0]), matrix(fe["x"][1])}), fe["y"]);

  // Sequential: config from to_json(), weights (and SGD's state) from a .weights.h5.
  const json se = read_json(real("k3_sequential_expected.json"));
  auto seq = model_from_json(read_text(real("k3_sequential.json")));
  REQUIRE(seq->compiled());
  CHECK(seq->optimizer().class_name() == "SGD");
  seq->load_weights(real("k3_sequential.weights.h5"));
  check_close(seq->predict(matrix(se["x"])), se["y"]);
}

TEST_CASE("layers pair up in Keras' order, not in call order", "[io][keras]") {
  // k3_withseq: a Sequential called on the input and again after a Dense. Keras lists the
  // layers by depth (z, pre, seqin, sum); the file's weights follow that order.
  clear_session();
  const json expected = read_json(real("k3_withseq_expected.json"));
  auto loaded = load_model(real("k3_withseq.h5"));
  check_close(loaded->predict(matrix(expected["x"])), expected["y"]);
  std::vector<std::string> order;
  const json config = loaded->get_config();
  for (const auto& e : config["layers"]) order.push_back(e["name"]);
  CHECK(order == std::vector<std::string>{"z", "pre", "seqin", "sum"});

  // The same architecture built in C++ under other names loads by Keras' order.
  auto seq = std::make_shared<Sequential>(
      std::initializer_list<SequentialItem>{Input({6}), layers::Dense(3)}, "other");
  auto z = Input({6});
  auto first = (*seq)(z);
  auto second = (*seq)(layers::Dense(6)(z));
  Model model(z, layers::Add()({first, second}));
  model.load_weights(real("k3_withseq.h5"));
  check_close(model.predict(matrix(expected["x"])), expected["y"]);
}

TEST_CASE("a Keras 3 .weights.h5 nests the weights of RNN cells, wrappers and attention",
          "[io][keras]") {
  // k3_seq_layers: LSTM, GRU, Bidirectional(LSTM), TimeDistributed(Dense), MultiHeadAttention
  // and SimpleRNN, whose variables Keras 3 stores by its object tree: lstm/cell/vars,
  // bidirectional/forward_layer/cell/vars, time_distributed/layer/vars,
  // multi_head_attention/query_dense/vars, ...
  clear_session();
  const json expected = read_json(real("k3_seq_layers_expected.json"));
  auto model = model_from_json(read_text(real("k3_seq_layers.json")));
  model->load_weights(real("k3_seq_layers.weights.h5"));
  check_close(model->predict(sequences(expected["x"])), expected["y"]);

  // The same architecture built in C++, under other names, pairs by Keras' class counters.
  clear_session();
  auto x = Input({5, 3});
  auto h = layers::LSTM(4, {.return_sequences = true})(x);
  h = layers::GRU(4, {.return_sequences = true})(h);
  h = layers::Bidirectional(layers::LSTM(3, {.return_sequences = true}))(h);
  h = layers::TimeDistributed(layers::Dense(4))(h);
  h = layers::MultiHeadAttention(2, 3)({h, h});
  Model built(x, layers::SimpleRNN(2)(h));
  built.load_weights(real("k3_seq_layers.weights.h5"));
  check_close(built.predict(sequences(expected["x"])), expected["y"]);
}
