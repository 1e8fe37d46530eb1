// Models that use a recurrent layer's state outputs (return_state) in files: the tensor_index
// of [layer, node_index, tensor_index] in Keras 3's keras_history and tf.keras' inbound_nodes /
// output_layers, JSON round trips, .keras and .h5 save/load, and broken indices.
#include <catch2/catch.hpp>

#include <fitrun/fitrun.hpp>
#include <fitrun/layers/bidirectional.hpp>
#include <fitrun/layers/recurrent.hpp>

#include "io/io_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using io_test::error_of;
using Catch::Matchers::Contains;

namespace {

/// x (6, 3) → LSTM(4, return_state) → [Dense on concat(h, c, ...), h, ...]; a GRU's state and a
/// Bidirectional's backward state feed the head too.
std::shared_ptr<Model> state_model() {
  set_seed(21);
  clear_session();
  KerasTensor x = Input({6, 3}, {.name = "x"});
  auto [seq, h, c] =
      LSTM(4, {.return_sequences = true, .name = "enc", .return_state = true}).call_multi<3>(x);
  auto [last, gh] = GRU(3, {.go_backwards = true, .name = "gru", .return_state = true}).call_multi<2>(seq);
  // Bidirectional: [merged, forward h, backward h]; the backward h joins the head.
  auto bi = Bidirectional(SimpleRNN(2, {.return_state = true}), {.name = "bi"}).call_multi(x);
  KerasTensor y = Dense(2, "", {.name = "head"})(Concatenate(-1, "cat")({h, c, gh, bi[2]}));
  return std::make_shared<Model>(std::vector<KerasTensor>{x}, std::vector<KerasTensor>{y, h, last},
                                 "states");
}

/// Copies the weights of `from` into `to` (the same architecture), in weights() order.
void copy_weights(const Model& from, Model& to) {
  const auto a = from.weights(), b = to.weights();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) b[i]->value.copy_from(a[i]->value);
}

void check_same_predictions(Model& a, Model& b) {
  const Tensor x = Tensor::uniform({5, 6, 3}, -1.f, 1.f, 3);
  const TensorList pa = a.predict(x, {.verbose = 0}), pb = b.predict(x, {.verbose = 0});
  REQUIRE(pa.size() == 3);
  REQUIRE(pb.size() == 3);
  for (size_t k = 0; k < pa.size(); ++k) CHECK(pa[k].to_vector() == pb[k].to_vector());
}

/// The [layer, node, tensor] triples of every __keras_tensor__ in a Keras 3 config.
void collect_history(const json& j, std::vector<json>& out) {
  if (j.is_object()) {
    if (j.contains("keras_history")) out.push_back(j["keras_history"]);
    for (const auto& [k, v] : j.items()) collect_history(v, out);
  } else if (j.is_array()) {
    for (const auto& v : j) collect_history(v, out);
  }
}

}  // namespace

TEST_CASE("Keras 3 configs carry the tensor index of state outputs", "[io][config][state]") {
  auto model = state_model();
  const json j = json::parse(model->to_json());
  const json& cfg = j["config"];
  CHECK(cfg["output_layers"] == json::parse(R"([["head", 0, 0], ["enc", 0, 1], ["gru", 0, 0]])"));
  std::vector<json> history;
  collect_history(cfg["layers"], history);
  auto has = [&](const char* triple) {
    return std::find(history.begin(), history.end(), json::parse(triple)) != history.end();
  };
  CHECK(has(R"(["enc", 0, 0])"));  // the GRU reads the sequence
  CHECK(has(R"(["enc", 0, 1])"));
  CHECK(has(R"(["enc", 0, 2])"));
  CHECK(has(R"(["gru", 0, 1])"));
  CHECK(has(R"(["bi", 0, 2])"));
  bool saw_flag = false;
  for (const auto& l : cfg["layers"])
    if (l["name"] == "enc") {
      CHECK(l["config"]["return_state"] == true);
      saw_flag = true;
    }
  CHECK(saw_flag);

  auto back = model_from_json(model->to_json());
  CHECK(back->to_json() == model->to_json());
  copy_weights(*model, *back);
  check_same_predictions(*model, *back);
}

TEST_CASE("tf.keras configs reference state outputs by tensor index", "[io][config][state]") {
  // tf.keras 2.x's legacy form: inbound nodes [[name, node, tensor, kwargs]], endpoints always
  // a list of triples.
  const std::string text = R"({"class_name": "Functional", "config": {"name": "model", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 5, 3], "dtype": "float32",
     "sparse": false, "ragged": false, "name": "input_1"}, "name": "input_1", "inbound_nodes": []},
    {"class_name": "LSTM", "config": {"name": "lstm", "trainable": true, "dtype": "float32",
     "return_sequences": false, "return_state": true, "go_backwards": false, "stateful": false,
     "unroll": false, "time_major": false, "units": 4, "activation": "tanh",
     "recurrent_activation": "sigmoid", "use_bias": true, "implementation": 2},
     "name": "lstm", "inbound_nodes": [[["input_1", 0, 0, {}]]]},
    {"class_name": "Concatenate", "config": {"name": "concatenate", "trainable": true,
     "dtype": "float32", "axis": -1}, "name": "concatenate",
     "inbound_nodes": [[["lstm", 0, 1, {}], ["lstm", 0, 2, {}]]]},
    {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32",
     "units": 2, "activation": "linear", "use_bias": true}, "name": "dense",
     "inbound_nodes": [[["concatenate", 0, 0, {}]]]}],
   "input_layers": [["input_1", 0, 0]], "output_layers": [["dense", 0, 0], ["lstm", 0, 2]]},
   "keras_version": "2.15.0", "backend": "tensorflow"})";
  auto model = model_from_json(text);
  REQUIRE(model->outputs().size() == 2);
  CHECK(model->outputs()[1].tensor_index() == 2);
  CHECK(model->outputs()[1].shape() == Shape{-1, 4});

  // The same model in C++, with the loaded weights, predicts the same.
  clear_session();
  KerasTensor x = Input({5, 3});
  auto [y, h, c] = LSTM(4, {.return_state = true}).call_multi<3>(x);
  Model direct({x}, {Dense(2)(Concatenate()({h, c})), c});
  copy_weights(*model, direct);
  const Tensor data = Tensor::uniform({4, 5, 3}, -1.f, 1.f, 8);
  const TensorList a = model->predict(data, {.verbose = 0}), b = direct.predict(data, {.verbose = 0});
  for (size_t k = 0; k < 2; ++k) CHECK(a[k].to_vector() == b[k].to_vector());

  // Written back in Keras 3's dialect with the same tensor indices, and read again.
  const json k3 = json::parse(model->to_json());
  CHECK(k3["config"]["output_layers"] == json::parse(R"([["dense", 0, 0], ["lstm", 0, 2]])"));
  auto again = model_from_json(model->to_json());
  copy_weights(*model, *again);
  const TensorList p = again->predict(data, {.verbose = 0});
  for (size_t k = 0; k < 2; ++k) CHECK(p[k].to_vector() == a[k].to_vector());
}

TEST_CASE("a model using LSTM states saves and loads exactly", "[io][saving][state]") {
  io_test::TempDir dir;
  auto model = state_model();
  model->compile("adam", "mse");
  // A few steps, so the weights are not the initial ones.
  const Tensor x = Tensor::uniform({16, 6, 3}, -1.f, 1.f, 4);
  model->fit(x, {Tensor::uniform({16, 2}, -1.f, 1.f, 5), Tensor::uniform({16, 4}, -1.f, 1.f, 6),
                 Tensor::uniform({16, 3}, -1.f, 1.f, 7)},
             {.batch_size = 8, .epochs = 2, .verbose = 0});
  for (const char* file : {"states.keras", "states.h5"}) {
    SECTION(file) {
      model->save(dir / file);
      auto loaded = load_model(dir / file);
      CHECK(loaded->to_json() == model->to_json());
      check_same_predictions(*model, *loaded);
    }
  }
}

TEST_CASE("a tensor index beyond a layer's outputs is a ConfigError naming both",
          "[io][config][state][errors]") {
  auto model = state_model();
  const json good = json::parse(model->to_json());
  auto layer_index = [&](const char* name) {
    const json& layers = good["config"]["layers"];
    for (size_t i = 0; i < layers.size(); ++i)
      if (layers[i]["name"] == name) return i;
    FAIL("no layer " << name);
    return size_t(0);
  };
  SECTION("in an inbound node (Keras 3)") {
    json bad = good;
    const size_t cat = layer_index("cat");
    // cat's args: [[enc[0][1], enc[0][2], gru[0][1]]]; make the second enc[0][3].
    bad["config"]["layers"][cat]["inbound_nodes"][0]["args"][0][1]["config"]["keras_history"] =
        json::parse(R"(["enc", 0, 3])");
    CHECK(error_of([&] { model_from_json(bad.dump()); }) ==
          "/config/layers/" + std::to_string(cat) +
              "/inbound_nodes/0/args/0/1/config/keras_history: layer \"enc\" gives 3 outputs "
              "(tensor indices 0 to 2), got tensor index 3");
  }
  SECTION("in output_layers") {
    json bad = good;
    bad["config"]["output_layers"][0] = json::parse(R"(["head", 0, 1])");
    CHECK(error_of([&] { model_from_json(bad.dump()); }) ==
          "/config/output_layers/0: layer \"head\" gives one output (tensor index 0), got "
          "tensor index 1");
    bad["config"]["output_layers"][0] = json::parse(R"(["gru", 0, 2])");
    CHECK(error_of([&] { model_from_json(bad.dump()); }) ==
          "/config/output_layers/0: layer \"gru\" gives 2 outputs (tensor indices 0 to 1), got "
          "tensor index 2");
  }
  SECTION("in a tf.keras inbound node") {
    json bad = good;
    const size_t gru = layer_index("gru");
    bad["config"]["layers"][gru]["inbound_nodes"] = json::parse(R"([[["enc", 0, 7, {}]]])");
    CHECK(error_of([&] { model_from_json(bad.dump()); }) ==
          "/config/layers/" + std::to_string(gru) +
              "/inbound_nodes/0/0: layer \"enc\" gives 3 outputs (tensor indices 0 to 2), got "
              "tensor index 7");
  }
}
