// Keras JSON configs: layer get_config/from_config round trips, model configs in Keras 3's
// dialect, hand-written tf.keras 2.x and Keras 3 fixtures, compile configs, and errors that name
// the JSON path.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <fitrun/fitrun.hpp>

#include "io/io_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using io_test::error_of;
using Catch::Matchers::Contains;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(FITRUN_TEST_DATA) + "/" + name);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// from_config(get_config()) gives a layer with the same config.
void check_layer_round_trip(const Layer& layer) {
  const json c = layer.get_config();
  INFO(layer.class_name() << ": " << c.dump());
  LayerPtr again = layer_from_config(layer.class_name(), c);
  CHECK(again->class_name() == layer.class_name());
  CHECK(again->get_config() == c);
}

std::vector<float> all_weights(const Model& m) {
  std::vector<float> out;
  for (const auto& w : m.weights())
    for (float v : w->value.to_vector()) out.push_back(v);
  return out;
}

}  // namespace

TEST_CASE("every built-in layer's config round-trips through the registry", "[io][config]") {
  clear_session();
  DenseOptions o;
  o.use_bias = false;
  o.kernel_initializer = initializers::HeNormal();
  o.bias_initializer = initializers::Constant(0.25f);
  o.name = "features";
  check_layer_round_trip(Dense(7, "relu", o));
  DenseOptions o2;
  o2.kernel_initializer = initializers::VarianceScaling(
      2.5f, initializers::VarianceScaling::Mode::fan_out,
      initializers::VarianceScaling::Distribution::uniform, "VarianceScaling");
  o2.bias_initializer = initializers::RandomNormal(0.1f, 0.3f);
  check_layer_round_trip(Dense(3, "", o2));
  DenseOptions o3;
  o3.kernel_initializer = initializers::RandomUniform(-0.2f, 0.4f);
  o3.bias_initializer = "ones";
  check_layer_round_trip(Dense(1, "sigmoid", o3));
  check_layer_round_trip(Activation("tanh", "act"));
  check_layer_round_trip(LeakyReLU(0.1f));
  check_layer_round_trip(Dropout(0.25f, "drop", 1234u));
  check_layer_round_trip(Dropout(0.5f));
  check_layer_round_trip(Flatten());
  check_layer_round_trip(Reshape({-1, 2}, "rs"));
  check_layer_round_trip(Add());
  check_layer_round_trip(Concatenate(1, "cat"));
  Dense frozen(4);
  frozen.trainable = false;
  check_layer_round_trip(frozen);
}

TEST_CASE("layer configs use Keras 3's keys", "[io][config]") {
  clear_session();
  const json d = Dense(5, "relu").get_config();
  CHECK(d["name"] == "dense");
  CHECK(d["units"] == 5);
  CHECK(d["activation"] == "relu");
  CHECK(d["dtype"] == json({{"module", "keras"}, {"class_name", "DTypePolicy"},
                            {"config", {{"name", "float32"}}}, {"registered_name", nullptr}}));
  CHECK(d["kernel_initializer"] ==
        json({{"module", "keras.initializers"}, {"class_name", "GlorotUniform"},
              {"config", {{"seed", nullptr}}}, {"registered_name", nullptr}}));
  CHECK(d["bias_initializer"]["class_name"] == "Zeros");
  CHECK(d["kernel_regularizer"].is_null());
  CHECK(LeakyReLU(0.3f).get_config()["negative_slope"] == 0.3);  // written as Python prints it
  CHECK(Dropout(0.2f).get_config()["rate"] == 0.2);
  const json dr = Dropout(0.2f, "", 7u).get_config();
  CHECK(dr["seed"] == 7);
  CHECK(dr["noise_shape"].is_null());
  const json in = Input({28, 28, 1}, {"pixels"}).layer()->get_config();
  CHECK(in == json({{"batch_shape", {nullptr, 28, 28, 1}}, {"dtype", "float32"}, {"sparse", false},
                    {"ragged", false}, {"name", "pixels"}, {"optional", false}}));
  CHECK(Flatten().get_config()["data_format"] == "channels_last");
}

TEST_CASE("a Sequential's config round-trips", "[io][config]") {
  set_seed(2);
  clear_session();
  Sequential model({Input({8}), Dense(16, "relu"), Dropout(0.3f), Dense(4, "softmax")}, "seq");
  const json c = model.get_config();
  CHECK(c["name"] == "seq");
  REQUIRE(c["layers"].size() == 4);
  CHECK(c["layers"][0]["class_name"] == "InputLayer");
  CHECK(c["layers"][0]["config"]["batch_shape"] == json({nullptr, 8}));
  CHECK(c["layers"][1]["module"] == "keras.layers");
  CHECK(c["layers"][1]["build_config"] == json({{"input_shape", {nullptr, 8}}}));
  CHECK(c["build_input_shape"] == json({nullptr, 8}));

  auto again = Model::from_config(c);
  CHECK(again->class_name() == "Sequential");
  CHECK(again->get_config() == c);
  CHECK(again->count_params() == model.count_params());

  // to_json() is the Keras envelope; model_from_json reads it back.
  const json j = json::parse(model.to_json());
  CHECK(j["class_name"] == "Sequential");
  CHECK(j["module"] == "keras");
  CHECK(j["config"] == c);
  CHECK(j["build_config"] == json({{"input_shape", {nullptr, 8}}}));
  CHECK(!j.contains("compile_config"));
  auto from_json = model_from_json(model.to_json(2));
  CHECK(from_json->get_config() == c);
}

TEST_CASE("a multi-input functional model with a shared layer round-trips", "[io][config]") {
  set_seed(3);
  clear_session();
  auto a = Input({5}, {"a"});
  auto b = Input({5}, {"b"});
  auto encoder = shared(Dense(3, "tanh", {true, "glorot_uniform", "zeros", "encoder"}));
  auto merged = Concatenate()({encoder(a), encoder(b)});
  auto y1 = Dense(2, "", {true, "glorot_uniform", "zeros", "head"})(merged);
  auto y2 = Add()({encoder(a), Dense(3)(b)});
  Model model({a, b}, {y1, y2}, "two_towers");
  const json c = model.get_config();
  INFO(c.dump(1));
  CHECK(c["input_layers"] == json::parse(R"([["a", 0, 0], ["b", 0, 0]])"));
  CHECK(c["output_layers"] == json::parse(R"([["head", 0, 0], ["add", 0, 0]])"));
  // The shared layer has one inbound node per call, and later layers address them by index.
  json enc;
  for (const auto& e : c["layers"])
    if (e["name"] == "encoder") enc = e;
  REQUIRE(enc["inbound_nodes"].size() == 3);
  CHECK(enc["inbound_nodes"][1]["args"][0]["config"]["keras_history"] == json({"b", 0, 0}));
  CHECK(c["layers"][0]["inbound_nodes"] == json::array());
  json cat;
  for (const auto& e : c["layers"])
    if (e["class_name"] == "Concatenate") cat = e;
  const json& args = cat["inbound_nodes"][0]["args"];
  REQUIRE(args.size() == 1);  // a merge layer takes one list argument
  CHECK(args[0][0]["config"]["keras_history"] == json({"encoder", 0, 0}));
  CHECK(args[0][1]["config"]["keras_history"] == json({"encoder", 1, 0}));
  CHECK(args[0][1]["class_name"] == "__keras_tensor__");

  auto again = Model::from_config(json{{"class_name", "Functional"}, {"config", c}});
  CHECK(again->get_config() == c);
  CHECK(again->count_params() == model.count_params());
  CHECK(again->layers().size() == model.layers().size());

  // Same weights in, same predictions out.
  const auto src = model.weights(), dst = again->weights();
  REQUIRE(src.size() == dst.size());
  for (size_t i = 0; i < src.size(); ++i) dst[i]->value.copy_from(src[i]->value);
  const Tensor xa = Tensor::normal({4, 5}, 0, 1, 1), xb = Tensor::normal({4, 5}, 0, 1, 2);
  TensorList p1 = model.predict({xa, xb}), p2 = again->predict({xa, xb});
  CHECK(p1[0].to_vector() == p2[0].to_vector());
  CHECK(p1[1].to_vector() == p2[1].to_vector());
}

TEST_CASE("a nested model round-trips", "[io][config]") {
  set_seed(4);
  clear_session();
  auto in = Input({6});
  Model inner(in, Dense(4, "relu")(in), "inner");
  auto innerp = std::make_shared<Model>(std::move(inner));
  auto x = Input({6}, {"x"});
  auto h = (*innerp)(x);
  auto h2 = (*innerp)(Dense(6)(h) );
  Model outer(x, Dense(1)(Concatenate()({h, h2})), "outer");
  const json c = outer.get_config();
  INFO(c.dump(1));
  json entry;
  for (const auto& e : c["layers"])
    if (e["name"] == "inner") entry = e;
  CHECK(entry["class_name"] == "Functional");
  CHECK(entry["registered_name"] == "Functional");
  // Keras 3 numbers a nested model's calls from 0 in inbound nodes...
  json cat;
  for (const auto& e : c["layers"])
    if (e["class_name"] == "Concatenate") cat = e;
  CHECK(cat["inbound_nodes"][0]["args"][0][0]["config"]["keras_history"] == json({"inner", 0, 0}));
  CHECK(cat["inbound_nodes"][0]["args"][0][1]["config"]["keras_history"] == json({"inner", 1, 0}));
  auto again = model_from_config(json{{"class_name", "Functional"}, {"config", c}});
  CHECK(again->get_config() == c);
  CHECK(again->count_params() == outer.count_params());

  // ... but from 1 in output_layers (Keras 3's functional get_config/from_config).
  auto y = Input({6}, {"y"});
  Model wrapper(y, (*innerp)(y), "wrapper");
  const json w = wrapper.get_config();
  CHECK(w["output_layers"] == json({"inner", 1, 0}));
  CHECK(model_from_config(w)->get_config() == w);
  // tf.keras numbers a nested model's calls from 1 everywhere.
  json tfk = json::parse(R"({"class_name": "Model", "config": {"name": "m", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6], "name": "in"},
     "name": "in", "inbound_nodes": []},
    {"class_name": "Functional", "name": "inner", "inbound_nodes": [[["in", 0, 0, {}]]],
     "config": {"name": "inner", "layers": [
       {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 6], "name": "i"},
        "name": "i", "inbound_nodes": []},
       {"class_name": "Dense", "config": {"name": "d", "units": 2}, "name": "d",
        "inbound_nodes": [[["i", 0, 0, {}]]]}],
      "input_layers": [["i", 0, 0]], "output_layers": [["d", 0, 0]]}},
    {"class_name": "Dense", "config": {"name": "top", "units": 1}, "name": "top",
     "inbound_nodes": [[["inner", 1, 0, {}]]]}],
   "input_layers": [["in", 0, 0]], "output_layers": [["top", 0, 0]]}})");
  CHECK(model_from_config(tfk)->count_params() == (6 * 2 + 2) + (2 + 1));
}

TEST_CASE("a tf.keras 2.x Sequential to_json() loads", "[io][config][fixtures]") {
  clear_session();
  auto model = model_from_json(fixture("keras2_sequential.json"));
  CHECK(model->class_name() == "Sequential");
  CHECK(model->name() == "sequential");
  REQUIRE(model->layers().size() == 3);
  CHECK(model->layers()[0]->name() == "dense");
  CHECK(model->layers()[1]->class_name() == "Dropout");
  CHECK(std::dynamic_pointer_cast<Dropout>(model->layers()[1])->rate() == Approx(0.2));
  CHECK(model->inputs()[0].shape() == Shape{-1, 10});
  CHECK(model->inputs()[0].layer()->name() == "input_1");
  CHECK(model->count_params() == 10 * 16 + 16 + 16 * 3 + 3);
  CHECK(model->outputs()[0].shape() == Shape{-1, 3});
  CHECK(!model->compiled());
  const Tensor p = model->predict(Tensor::normal({5, 10}, 0, 1, 1));
  for (int64_t i = 0; i < 5; ++i)  // softmax rows
    CHECK(p.at({i, 0}) + p.at({i, 1}) + p.at({i, 2}) == Approx(1.0));
}

TEST_CASE("a tf.keras 2.x functional to_json() with a shared layer loads", "[io][config][fixtures]") {
  clear_session();
  auto model = model_from_json(fixture("keras2_functional.json"));
  CHECK(model->class_name() == "Functional");
  CHECK(model->name() == "model");
  REQUIRE(model->inputs().size() == 2);
  CHECK(model->inputs()[1].layer()->name() == "input_2");
  std::vector<std::string> names;
  for (const auto& l : model->layers()) names.push_back(l->name());
  CHECK(names.size() == 7);
  CHECK(model->get_layer("shared")->call_count() == 2);
  CHECK(model->get_layer("leaky_re_lu")->get_config()["negative_slope"] == 0.1);
  CHECK(model->count_params() == (8 * 4 + 4) + (12 * 2 + 2));
  CHECK(model->outputs()[0].shape() == Shape{-1, 2});
  const Tensor x1 = Tensor::normal({3, 8}, 0, 1, 1), x2 = Tensor::normal({3, 8}, 0, 1, 2);
  CHECK(model->predict({x1, x2})[0].shape() == Shape{3, 2});
}

TEST_CASE("Keras 3 Sequential and functional to_json() load", "[io][config][fixtures]") {
  clear_session();
  auto seq = model_from_json(fixture("keras3_sequential.json"));
  CHECK(seq->class_name() == "Sequential");
  REQUIRE(seq->layers().size() == 3);
  CHECK(seq->inputs()[0].layer()->name() == "input_layer");
  CHECK(seq->count_params() == 3 * 4 + 4 + 4 * 1);
  CHECK(seq->get_layer("dense_1")->get_config()["use_bias"] == false);
  CHECK(seq->get_layer("dense_1")->get_config()["kernel_initializer"]["class_name"] == "HeNormal");

  auto fn = model_from_json(fixture("keras3_functional.json"));
  CHECK(fn->class_name() == "Functional");
  CHECK(fn->name() == "functional");
  // "shared" is called on the input and again on "activation", which is listed after it.
  CHECK(fn->get_layer("shared")->call_count() == 2);
  CHECK(fn->count_params() == (6 * 6 + 6) + (12 * 3 + 3));
  const json init = fn->get_layer("shared")->get_config()["kernel_initializer"];
  CHECK(init["class_name"] == "VarianceScaling");
  CHECK(init["config"]["scale"] == 2.0);
  CHECK(init["config"]["distribution"] == "untruncated_normal");
  CHECK(fn->get_layer("shared")->get_config()["bias_initializer"]["config"]["value"] == 0.1);
  // The compile_config came along: optimizer, loss and metrics.
  REQUIRE(fn->compiled());
  CHECK(fn->optimizer().class_name() == "Adam");
  CHECK(fn->optimizer().learning_rate() == 0.01);
  CHECK(fn->loss_functions()[0]->class_name() == "SparseCategoricalCrossentropy");
  const Tensor x = Tensor::normal({16, 6}, 0, 1, 3);
  Tensor y = Tensor::zeros({16}, DType::int32);
  for (int i = 0; i < 16; ++i) y.data<int32_t>()[i] = i % 3;
  const Logs logs = fn->evaluate(x, y, {.batch_size = 16, .verbose = 0});
  CHECK(logs.count("accuracy") == 1);
  // And what fitrun writes for it reads back the same.
  CHECK(model_from_json(fn->to_json())->get_config() == fn->get_config());
}

TEST_CASE("the compile config round-trips through to_json", "[io][config]") {
  set_seed(5);
  clear_session();
  Sequential model({Input({4}), Dense(3)});
  optimizers::AdamOptions ao;
  ao.learning_rate = 3e-3;
  ao.amsgrad = true;
  losses::CrossentropyOptions lo;
  lo.from_logits = true;
  model.compile(optimizers::Adam(ao), losses::SparseCategoricalCrossentropy(lo), {"accuracy"});
  const json cc = model.get_compile_config();
  CHECK(cc["optimizer"]["class_name"] == "Adam");
  CHECK(cc["optimizer"]["module"] == "keras.optimizers");
  CHECK(cc["optimizer"]["config"]["learning_rate"] == 3e-3);
  CHECK(cc["loss"]["class_name"] == "SparseCategoricalCrossentropy");
  CHECK(cc["loss"]["config"]["from_logits"] == true);
  CHECK(cc["metrics"] == json({"accuracy"}));
  auto again = model_from_json(model.to_json());
  REQUIRE(again->compiled());
  CHECK(again->get_compile_config() == cc);
  CHECK(again->optimizer().get_config() == model.optimizer().get_config());
  CHECK(cc["jit_compile"] == true);  // Keras' "auto", resolved as Keras 3 writes it

  // jit_compile=false (no CUDA graphs) survives; "auto" reads as true; anything else is named.
  model.compile("sgd", "mse", {}, {.jit_compile = false});
  CHECK(model.get_compile_config()["jit_compile"] == false);
  CHECK(model_from_json(model.to_json())->get_compile_config()["jit_compile"] == false);
  json with_auto = model.get_compile_config();
  with_auto["jit_compile"] = "auto";
  model.compile_from_config(with_auto);
  CHECK(model.get_compile_config()["jit_compile"] == true);
  with_auto["jit_compile"] = "xla";
  CHECK_THROWS_WITH(model.compile_from_config(with_auto),
                    "/jit_compile: expected true, false or \"auto\", got \"xla\"");

  // Every optimizer class round-trips.
  std::vector<OptimizerRef> opts = {optimizers::SGD({0.05, 0.9, true, 0.01}),
                                    optimizers::RMSprop({0.002, 0.8, 0.1, 1e-6, true, 0.0}),
                                    optimizers::Adagrad({0.03, 0.2, 1e-6, 0.0}),
                                    optimizers::AdamW({0.001, 0.01, 0.8, 0.9, 1e-6, false})};
  for (const auto& o : opts) {
    INFO(o->class_name());
    auto d = optimizers::deserialize(optimizers::serialize(*o));
    CHECK(d->class_name() == o->class_name());
    CHECK(d->get_config() == o->get_config());
  }
  for (LossRef l : {LossRef("mse"), LossRef("mae"), LossRef(losses::Huber(2.f)),
                    LossRef(losses::BinaryCrossentropy({true, 0.1f})),
                    LossRef(losses::CategoricalCrossentropy({false, 0.2f}))}) {
    auto d = losses::deserialize(losses::serialize(*l));
    CHECK(d->get_config() == l->get_config());
  }
}

TEST_CASE("config errors name the JSON path", "[io][config][errors]") {
  clear_session();
  json c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][3]["config"]["units"] = -1;
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/3/config/units: expected a positive integer, got -1");

  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][1]["config"].erase("units");
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/1/config/units: required but missing");

  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][1]["config"]["unit"] = 3;
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/1/config/unit: unknown key for Dense; did you mean \"units\"?");

  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][1]["config"]["kernel_regularizer"] = {{"class_name", "L2"},
                                                              {"config", {{"l2", "big"}}}};
  CHECK_THAT(error_of([&] { model_from_config(c); }),
             Contains("/config/layers/1/config/kernel_regularizer"));
  c["config"]["layers"][1]["config"]["kernel_regularizer"] = nullptr;
  c["config"]["layers"][1]["config"]["lora_rank"] = 4;
  CHECK_THAT(error_of([&] { model_from_config(c); }),
             Contains("/config/layers/1/config/lora_rank: not supported by fitrun"));

  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][1]["config"]["activation"] = "relu6";
  CHECK_THAT(error_of([&] { model_from_config(c); }),
             Contains("/config/layers/1/config/activation: unknown activation \"relu6\""));

  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][1]["config"]["kernel_initializer"]["class_name"] = "Identity";
  CHECK_THAT(error_of([&] { model_from_config(c); }),
             Contains("/config/layers/1/config/kernel_initializer/class_name: unknown "
                      "initializer \"Identity\""));

  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][2]["config"]["rate"] = 1.5;
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/2/config/rate: expected a number in [0, 1), got 1.5");

  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][1]["config"]["dtype"] = "mixed_float16";
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/1/config/dtype: layer \"dense\" (Dense): dtype policy \"mixed_float16\" "
        "is not supported yet; fitrun supports \"float32\" and \"mixed_bfloat16\"");

  // A shape error at build time names the layer entry.
  c = json::parse(fixture("keras2_functional.json"));
  c["config"]["layers"][6]["config"]["target_shape"] = {5, 5};
  CHECK_THAT(error_of([&] { model_from_config(c); }),
             Contains("/config/layers/6/inbound_nodes/0: layer \"reshape\" (Reshape): cannot "
                      "reshape input (None, 12) to target shape (5, 5)"));

  c = json::parse(fixture("keras2_functional.json"));
  c["config"]["layers"][3]["inbound_nodes"][0][1][0] = "nope";
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/3/inbound_nodes/0/1: no layer named \"nope\" in /config/layers");

  c = json::parse(fixture("keras2_functional.json"));
  c["config"]["layers"][3]["inbound_nodes"][0][1][1] = 5;
  CHECK_THAT(error_of([&] { model_from_config(c); }),
             Contains("/config/layers/3/inbound_nodes/0/1: layer \"shared\" has no node 5"));

  // A hostile size fails before allocating.
  c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][1]["config"]["units"] = int64_t(1) << 40;
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/1: layer \"dense\" (Dense): weight \"kernel\" of shape (10, "
        "1099511627776) would have 2^31 elements or more");

  CHECK_THAT(error_of([&] { model_from_json("{\"class_name\": \"Sequential\", \"config\": "); }),
             Contains("model JSON: parse error"));
  CHECK(error_of([&] { model_from_json(R"({"class_name": "Dense", "config": {}})"); }) ==
        "/class_name: expected a model class (Sequential or Functional), got \"Dense\"");
}

TEST_CASE("an unknown layer class names the class and lists the registered ones",
          "[io][config][errors]") {
  json c = json::parse(fixture("keras2_sequential.json"));
  c["config"]["layers"][2]["class_name"] = "SpatialDropout3D";
  const std::string e = error_of([&] { model_from_config(c); });
  CHECK_THAT(e, Contains("/config/layers/2/class_name: unknown layer class \"SpatialDropout3D\""));
  CHECK_THAT(e, Contains("registered: "));
  CHECK_THAT(e, Contains("Dense"));
  CHECK_THAT(e, Contains("Dropout"));
  CHECK_THAT(e, Contains("Sequential"));
  // A class registered by the user is found by name.
  register_layer("SpatialDropout3D", [](const json& cfg) -> LayerPtr {
    return std::make_shared<Dropout>(0.1f, cfg.value("name", std::string()));
  });
  CHECK(model_from_config(c)->layers()[1]->class_name() == "Dropout");
}

TEST_CASE("tf.keras training_config forms compile", "[io][config]") {
  clear_session();
  Sequential model({Input({3}), Dense(2)});
  model.compile_from_config(json::parse(R"({
    "loss": {"class_name": "MeanSquaredError",
             "config": {"reduction": "auto", "name": "mean_squared_error"}},
    "metrics": [[{"class_name": "MeanMetricWrapper",
                  "config": {"name": "mae", "dtype": "float32", "fn": "mean_absolute_error"}}]],
    "weighted_metrics": null, "loss_weights": null,
    "optimizer_config": {"class_name": "Custom>Adam", "config": {"name": "Adam",
      "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null,
      "use_ema": false, "ema_momentum": 0.99, "ema_overwrite_frequency": null,
      "jit_compile": true, "is_legacy_optimizer": false, "learning_rate": 0.0005,
      "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}}})"));
  REQUIRE(model.compiled());
  CHECK(model.optimizer().class_name() == "Adam");
  CHECK(model.optimizer().learning_rate() == 0.0005);
  const Logs logs = model.evaluate(Tensor::ones({4, 3}), Tensor::zeros({4, 2}),
                                   {.batch_size = 4, .verbose = 0});
  CHECK(logs.count("mae") == 1);

  // An explicit compile config is strict about metrics...
  const json with_auc = json::parse(R"({"optimizer": "sgd", "loss": "mse", "metrics": ["AUC"]})");
  CHECK_THAT(error_of([&] { model.compile_from_config(with_auc); }),
             Contains("/metrics/0: unknown metric \"AUC\""));
  // ... and about optimizer arguments (clipnorm is supported, a bad value is not).
  model.compile_from_config(json::parse(R"({"optimizer": {"class_name": "SGD",
    "config": {"learning_rate": 0.1, "clipnorm": 1.0}}, "loss": "mse"})"));
  CHECK(model.optimizer().base_options().clipnorm == 1.0);
  CHECK_THAT(error_of([&] {
               model.compile_from_config(json::parse(R"({"optimizer": {"class_name": "SGD",
                 "config": {"learning_rate": 0.1, "clipnorm": "big"}}, "loss": "mse"})"));
             }),
             Contains("/optimizer/config/clipnorm: expected a number in [0.0, 1e+30], got \"big\""));
  // ... while a file from Keras loads without the metric fitrun lacks.
  json c = json::parse(model.to_json());
  c["compile_config"] = with_auc;
  auto loaded = model_from_config(c);
  REQUIRE(loaded->compiled());
  CHECK(loaded->optimizer().class_name() == "SGD");
}
