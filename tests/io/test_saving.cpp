// Model files: save/load round trips, exact resumes, Keras' .h5 layouts (checked through the
// HDF5 C API, and a file written here in Keras' layout), broken and hostile files, atomic writes.
#include <catch2/catch.hpp>
#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fitrun/fitrun.hpp>

#include "io/io_test_helpers.hpp"

// Test hook of src/io/atomic_file.cpp: the next save fails just before its rename.
namespace fitrun::io {
void fail_next_commit_for_testing();
}

using namespace fitrun;
using namespace fitrun::layers;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;
using namespace io_test;

namespace {

// ---- HDF5 C API helpers for inspecting and forging files
struct H5 {
  hid_t id;
  explicit H5(hid_t i) : id(i) { REQUIRE(id >= 0); }
};

std::string attr_string(hid_t loc, const char* name, bool* vlen = nullptr) {
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  REQUIRE(a >= 0);
  hid_t t = H5Aget_type(a);
  std::string out;
  if (H5Tis_variable_str(t) > 0) {
    if (vlen) *vlen = true;
    char* p = nullptr;
    hid_t mem = H5Tcopy(H5T_C_S1);
    H5Tset_size(mem, H5T_VARIABLE);
    H5Tset_cset(mem, H5Tget_cset(t));
    REQUIRE(H5Aread(a, mem, &p) >= 0);
    out = p;
    H5free_memory(p);
    H5Tclose(mem);
  } else {
    if (vlen) *vlen = false;
    std::vector<char> buf(H5Tget_size(t) + 1, '\0');
    REQUIRE(H5Aread(a, t, buf.data()) >= 0);
    out = buf.data();
  }
  H5Tclose(t);
  H5Aclose(a);
  return out;
}

/// A fixed-length (Keras' np.asarray of bytes) string array attribute, as a list.
std::vector<std::string> attr_fixed_strings(hid_t loc, const char* name) {
  hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
  REQUIRE(a >= 0);
  hid_t t = H5Aget_type(a), s = H5Aget_space(a);
  REQUIRE(H5Tget_class(t) == H5T_STRING);
  REQUIRE(H5Tis_variable_str(t) == 0);
  const size_t width = H5Tget_size(t);
  const hssize_t n = H5Sget_simple_extent_npoints(s);
  std::vector<char> buf(width * size_t(n));
  REQUIRE(H5Aread(a, t, buf.data()) >= 0);
  std::vector<std::string> out;
  for (hssize_t i = 0; i < n; ++i) {
    const char* p = buf.data() + size_t(i) * width;
    out.emplace_back(p, strnlen(p, width));
  }
  H5Sclose(s);
  H5Tclose(t);
  H5Aclose(a);
  return out;
}

void write_vlen_attr(hid_t loc, const char* name, const std::string& value) {
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
  const char* p = value.c_str();
  REQUIRE(H5Awrite(a, t, &p) >= 0);
  H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
}

/// Keras' np.asarray([b"..."]) attribute: fixed-length, null-padded ASCII (or vlen strings).
void write_names_attr(hid_t loc, const char* name, const std::vector<std::string>& values,
                      bool vlen = false) {
  hsize_t n = values.size();
  hid_t s = H5Screate_simple(1, &n, nullptr);
  hid_t t = H5Tcopy(H5T_C_S1);
  hid_t a;
  if (vlen) {
    H5Tset_size(t, H5T_VARIABLE);
    std::vector<const char*> ptrs;
    for (const auto& v : values) ptrs.push_back(v.c_str());
    a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(H5Awrite(a, t, ptrs.data()) >= 0);
  } else {
    size_t width = 1;
    for (const auto& v : values) width = std::max(width, v.size());
    H5Tset_size(t, width);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    std::vector<char> buf(width * values.size(), '\0');
    for (size_t i = 0; i < values.size(); ++i)
      std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
    a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(H5Awrite(a, t, buf.data()) >= 0);
  }
  H5Aclose(a);
  H5Tclose(t);
  H5Sclose(s);
}

void write_dataset(hid_t loc, const char* name, const std::vector<hsize_t>& dims,
                   const std::vector<float>& values) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t s = H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(d >= 0);
  REQUIRE(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Dclose(d);
  H5Sclose(s);
  H5Pclose(lcpl);
}

bool link_exists(hid_t file, const std::string& path) {
  // Component by component, as H5Lexists requires.
  std::string prefix;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

const char* kTf27Config = R"({"class_name": "Sequential", "config": {"name": "sequential", "layers": [
  {"class_name": "InputLayer", "config": {"batch_input_shape": [null, 3], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_1"}},
  {"class_name": "Dense", "config": {"name": "dense", "trainable": true, "dtype": "float32", "units": 2, "activation": "linear", "use_bias": true,
     "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
     "bias_initializer": {"class_name": "Zeros", "config": {}},
     "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}}]}})";

/// What tf.keras 2.7's model.save("m.h5") writes for Sequential([Input((3,)), Dense(2)]) with
/// kernel [[1, 2], [3, 4], [5, 6]] and bias [0.5, -1] (keras-formats.md §2).
void write_keras_h5(const std::string& path, bool vlen_names, bool chunked) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  write_vlen_attr(f, "keras_version", "2.7.0");
  write_vlen_attr(f, "backend", "tensorflow");
  write_vlen_attr(f, "model_config", kTf27Config);
  write_vlen_attr(f, "training_config",
                  R"({"loss": "mse", "metrics": null, "weighted_metrics": null, "loss_weights": null,
                      "optimizer_config": {"class_name": "Adam", "config": {"name": "Adam",
                        "learning_rate": 0.001, "decay": 0.0, "beta_1": 0.9, "beta_2": 0.999,
                        "epsilon": 1e-07, "amsgrad": false}}})");
  hid_t mw = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  write_names_attr(mw, chunked ? "layer_names0" : "layer_names", {"dense"}, vlen_names);
  write_vlen_attr(mw, "backend", "tensorflow");
  write_vlen_attr(mw, "keras_version", "2.7.0");
  hid_t dg = H5Gcreate2(mw, "dense", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (chunked) {
    write_names_attr(dg, "weight_names0", {"dense/kernel:0"}, vlen_names);
    write_names_attr(dg, "weight_names1", {"dense/bias:0"}, vlen_names);
  } else {
    write_names_attr(dg, "weight_names", {"dense/kernel:0", "dense/bias:0"}, vlen_names);
  }
  write_dataset(dg, "dense/kernel:0", {3, 2}, {1, 2, 3, 4, 5, 6});
  write_dataset(dg, "dense/bias:0", {2}, {0.5f, -1.f});
  hid_t top = H5Gcreate2(mw, "top_level_model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  {  // Keras' empty weight_names: np.asarray([]) -> float64 of shape (0,)
    hsize_t zero = 0;
    hid_t s = H5Screate_simple(1, &zero, nullptr);
    hid_t a = H5Acreate2(top, "weight_names", H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Aclose(a);
    H5Sclose(s);
  }
  H5Gclose(top);
  H5Gclose(dg);
  H5Gclose(mw);
  H5Fclose(f);
}

}  // namespace

TEST_CASE("save -> load_model gives identical predictions, config and compile state",
          "[io][h5]") {
  TempDir dir;
  set_seed(21);
  clear_session();
  auto [x, y] = toy_data();
  Sequential model = small_mlp("mlp");
  compile_adam(model);
  model.fit(x, y, fit_options(1));
  const std::string path = dir / "m.h5";
  model.save(path);
  REQUIRE(fs::exists(path));
  for (const auto& e : fs::directory_iterator(dir.path))
    CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);

  auto loaded = load_model(path);
  CHECK(loaded->class_name() == "Sequential");
  CHECK(loaded->get_config() == model.get_config());
  check_restored(*loaded, model, x, y);

  // Without the optimizer: the model comes back uncompiled.
  SaveOptions no_opt;
  no_opt.include_optimizer = false;
  model.save(dir / "plain.h5", no_opt);
  CHECK(!load_model(dir / "plain.h5")->compiled());
  CHECK(!load_model(path, /*compile=*/false)->compiled());
}

TEST_CASE("a multi-input functional model with a shared layer saves and loads", "[io][h5]") {
  TempDir dir;
  set_seed(22);
  clear_session();
  auto a = Input({5}, {"a"}), b = Input({5}, {"b"});
  auto enc = shared(Dense(4, "tanh"));
  auto out = Dense(2)(Concatenate()({enc(a), enc(b)}));
  Model model({a, b}, out, "pair");
  const Tensor xa = Tensor::normal({7, 5}, 0, 1, 1), xb = Tensor::normal({7, 5}, 0, 1, 2);
  model.save(dir / "pair.h5");
  auto loaded = load_model(dir / "pair.h5");
  CHECK(loaded->get_config() == model.get_config());
  CHECK(Tensor(loaded->predict({xa, xb})).to_vector() == Tensor(model.predict({xa, xb})).to_vector());
}

TEST_CASE("a model nested in another saves and loads in both layouts", "[io][h5]") {
  TempDir dir;
  set_seed(24);
  clear_session();
  auto in = Input({6});
  auto inner = std::make_shared<Model>(in, Dense(4, "relu")(Dense(5)(in)), "inner");
  auto x = Input({6}, {"x"});
  Model outer(x, Dense(2)(Concatenate()({(*inner)(x), Dense(3)(x)})), "outer");
  const Tensor data = Tensor::normal({9, 6}, 0, 1, 5);
  const Tensor expected = outer.predict(data);
  outer.save(dir / "outer.h5");
  auto loaded = load_model(dir / "outer.h5");
  CHECK(loaded->get_config() == outer.get_config());
  CHECK(Tensor(loaded->predict(data)).to_vector() == expected.to_vector());
  // The nested model's group holds its layers' weights, named as tf.keras names them.
  hid_t f = H5Fopen((dir / "outer.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "/model_weights/inner", H5P_DEFAULT);
  CHECK(attr_fixed_strings(g, "weight_names").size() == 4);
  H5Gclose(g);
  H5Fclose(f);

  outer.save_weights(dir / "outer.weights.h5");
  set_seed(25);
  auto in2 = Input({6});
  auto inner2 = std::make_shared<Model>(in2, Dense(4, "relu")(Dense(5)(in2)), "inner");
  auto x2 = Input({6});
  Model other(x2, Dense(2)(Concatenate()({(*inner2)(x2), Dense(3)(x2)})));
  other.load_weights(dir / "outer.weights.h5");
  CHECK(Tensor(other.predict(data)).to_vector() == expected.to_vector());
  f = H5Fopen((dir / "outer.weights.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  CHECK(link_exists(f, "/layers/functional/layers/dense_1/vars/0"));
  CHECK(link_exists(f, "/layers/input_layer/vars"));
  H5Fclose(f);
}

TEST_CASE("the .h5 file has Keras' legacy layout", "[io][h5][layout]") {
  TempDir dir;
  set_seed(23);
  clear_session();
  auto [x, y] = toy_data();
  Sequential model = small_mlp();
  compile_adam(model);
  model.fit(x, y, fit_options(1));
  const std::string path = dir / "m.h5";
  model.save(path);

  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  bool vlen = false;
  CHECK(attr_string(f, "backend", &vlen) == "tensorflow");
  CHECK(vlen);
  CHECK(attr_string(f, "keras_version").rfind("3.", 0) == 0);
  const json mc = json::parse(attr_string(f, "model_config", &vlen));
  CHECK(vlen);
  CHECK(mc["class_name"] == "Sequential");
  CHECK(mc["config"] == model.get_config());
  const json tc = json::parse(attr_string(f, "training_config"));
  CHECK(tc["optimizer_config"]["class_name"] == "Adam");
  CHECK(tc["optimizer_config"]["config"]["learning_rate"] == 3e-3);
  CHECK(tc["loss"]["class_name"] == "SparseCategoricalCrossentropy");
  CHECK(tc["metrics"] == json({"accuracy"}));

  hid_t mw = H5Gopen2(f, "model_weights", H5P_DEFAULT);
  REQUIRE(mw >= 0);
  CHECK(attr_fixed_strings(mw, "layer_names") ==
        std::vector<std::string>{"dense", "dropout", "dense_1"});
  hid_t dg = H5Gopen2(mw, "dense", H5P_DEFAULT);
  CHECK(attr_fixed_strings(dg, "weight_names") ==
        std::vector<std::string>{"dense/kernel:0", "dense/bias:0"});
  H5Gclose(dg);
  hid_t drop = H5Gopen2(mw, "dropout", H5P_DEFAULT);
  {
    hid_t a = H5Aopen(drop, "weight_names", H5P_DEFAULT);
    hid_t s = H5Aget_space(a);
    CHECK(H5Sget_simple_extent_npoints(s) == 0);
    H5Sclose(s);
    H5Aclose(a);
  }
  H5Gclose(drop);
  H5Gclose(mw);
  CHECK(link_exists(f, "/model_weights/dense/dense/kernel:0"));
  CHECK(link_exists(f, "/model_weights/dense_1/dense_1/bias:0"));
  CHECK(link_exists(f, "/model_weights/top_level_model_weights"));
  hid_t k = H5Dopen2(f, "/model_weights/dense/dense/kernel:0", H5P_DEFAULT);
  hid_t ks = H5Dget_space(k);
  hsize_t dims[2];
  REQUIRE(H5Sget_simple_extent_ndims(ks) == 2);
  H5Sget_simple_extent_dims(ks, dims, nullptr);
  CHECK(dims[0] == 12);  // Dense kernel (in, out), as Keras
  CHECK(dims[1] == 16);
  H5Sclose(ks);
  H5Dclose(k);
  hid_t og = H5Gopen2(f, "optimizer_weights", H5P_DEFAULT);
  REQUIRE(og >= 0);
  const auto onames = attr_fixed_strings(og, "weight_names");
  REQUIRE(onames.size() == 2 + 4 * 2);  // iteration, learning_rate, (m, v) for 4 variables
  CHECK(onames[0] == "adam/iteration");
  CHECK(onames[1] == "adam/learning_rate");
  CHECK(onames[2] == "adam/dense_kernel_momentum");
  CHECK(onames[3] == "adam/dense_kernel_velocity");
  H5Gclose(og);
  CHECK(link_exists(f, "/optimizer_weights/adam/iteration"));
  H5Fclose(f);
}

TEST_CASE("a Bidirectional layer's weights have Keras' .h5 names", "[io][h5][layout]") {
  TempDir dir;
  set_seed(5);
  clear_session();
  Sequential model({Input({4, 3}), layers::Bidirectional(layers::GRU(2)), layers::Dense(1)});
  const std::string path = dir / "bi.h5";
  model.save_weights(path);
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t g = H5Gopen2(f, "bidirectional", H5P_DEFAULT);
  REQUIRE(g >= 0);
  // Forward layer first, then backward, each kernel, recurrent_kernel, bias (as tf.keras).
  const std::string p = "bidirectional/";
  CHECK(attr_fixed_strings(g, "weight_names") ==
        std::vector<std::string>{p + "forward_gru/gru_cell/kernel:0",
                                 p + "forward_gru/gru_cell/recurrent_kernel:0",
                                 p + "forward_gru/gru_cell/bias:0",
                                 p + "backward_gru/gru_cell/kernel:0",
                                 p + "backward_gru/gru_cell/recurrent_kernel:0",
                                 p + "backward_gru/gru_cell/bias:0"});
  CHECK(link_exists(f, "/bidirectional/bidirectional/backward_gru/gru_cell/bias:0"));
  H5Gclose(g);
  H5Fclose(f);
  Sequential other({Input({4, 3}), layers::Bidirectional(layers::GRU(2)), layers::Dense(1)});
  other.load_weights(path);
  const Tensor x = Tensor::uniform({2, 4, 3}, -1.f, 1.f, 3);
  CHECK(Tensor(other.predict(x)).to_vector() == Tensor(model.predict(x)).to_vector());
}

TEST_CASE("resuming from a saved model equals an uninterrupted run", "[io][h5][resume]") {
  // Bit-identical on the CPU: weights, optimizer slots and iteration, the learning rate,
  // Dropout's seed (in its config) and the model's step counter (which drives Dropout's masks)
  // all come back, and so does the shuffle seed, so epoch 3's sample order is the same in both.
  TempDir dir;
  auto [x, y] = toy_data();

  Sequential reference = seeded_mlp(x, y, 4);

  Sequential first = seeded_mlp(x, y, 2);
  first.save(dir / "epoch2.h5");
  const std::vector<float> at_epoch_2 = weights_of(first);

  set_seed(999);  // the resumed process has another seed: nothing may depend on it
  auto resumed = load_model(dir / "epoch2.h5");
  CHECK(weights_of(*resumed) == at_epoch_2);
  CHECK(resumed->train_steps() == first.train_steps());
  CHECK(resumed->optimizer().iterations() == first.optimizer().iterations());
  auto& h = resumed->fit(x, y, fit_options(4, 2));
  CHECK(h.history.at("loss").size() == 2);
  CHECK(weights_of(*resumed) == weights_of(reference));
  CHECK(resumed->optimizer().iterations() == reference.optimizer().iterations());

  // Control: without the step counter, Dropout would repeat earlier masks and diverge.
  auto forgetful = load_model(dir / "epoch2.h5");
  forgetful->set_train_steps(0);
  forgetful->fit(x, y, fit_options(4, 2));
  CHECK(weights_of(*forgetful) != weights_of(reference));

  // The same through save_weights(.weights.h5), which carries the optimizer state too.
  Sequential second = seeded_mlp(x, y, 2);
  second.save_weights(dir / "epoch2.weights.h5");
  Sequential again = seeded_mlp(x, y, 0);
  again.load_weights(dir / "epoch2.weights.h5");
  again.fit(x, y, fit_options(4, 2));
  CHECK(weights_of(again) == weights_of(reference));
}

TEST_CASE("save_weights / load_weights in both layouts", "[io][h5][weights]") {
  TempDir dir;
  set_seed(41);
  clear_session();
  auto [x, y] = toy_data();
  Sequential model = small_mlp();
  compile_adam(model);
  model.fit(x, y, fit_options(1));
  const Tensor expected = model.predict(x);

  for (const std::string name : {"w.h5", "w.weights.h5"}) {
    INFO(name);
    model.save_weights(dir / name);
    set_seed(42);  // different initial weights
    Sequential other = small_mlp();
    CHECK(Tensor(other.predict(x)).to_vector() != expected.to_vector());
    other.load_weights(dir / name);
    CHECK(Tensor(other.predict(x)).to_vector() == expected.to_vector());
    CHECK_THAT(error_of([&] { load_model(dir / name); }), Contains("weights only"));
  }

  // Keras 3's .weights.h5 tree.
  hid_t f = H5Fopen((dir / "w.weights.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  CHECK(link_exists(f, "/vars"));
  CHECK(link_exists(f, "/layers/dense/vars/0"));
  CHECK(link_exists(f, "/layers/dense/vars/1"));
  CHECK(link_exists(f, "/layers/dropout/vars"));
  CHECK(link_exists(f, "/layers/dense_1/vars/1"));
  CHECK(link_exists(f, "/optimizer/vars/0"));
  CHECK(!link_exists(f, "/layers/input_layer"));  // a Sequential has no input layer there
  hid_t g = H5Gopen2(f, "/layers/dense_1/vars", H5P_DEFAULT);
  CHECK(attr_string(g, "name") == model.layers()[2]->name());
  H5Gclose(g);
  H5Fclose(f);

  // tf.keras' save_weights(.h5): layer groups at the root.
  f = H5Fopen((dir / "w.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  CHECK(attr_fixed_strings(f, "layer_names").size() == 3);
  CHECK(link_exists(f, "/dense_1/dense_1/kernel:0"));
  H5Fclose(f);
}

/// LSTM, GRU, Bidirectional(LSTM), TimeDistributed(Dense), MultiHeadAttention and SimpleRNN:
/// the layers whose variables Keras 3 keeps on sub-objects.
std::unique_ptr<Model> seq_layers_model() {
  auto x = Input({5, 3});
  auto h = LSTM(4, {.return_sequences = true})(x);
  h = GRU(4, {.return_sequences = true})(h);
  h = Bidirectional(LSTM(3, {.return_sequences = true}))(h);
  h = TimeDistributed(Dense(4))(h);
  h = MultiHeadAttention(2, 3)({h, h});
  return std::make_unique<Model>(x, SimpleRNN(2)(h));
}

size_t child_count(hid_t file, const char* path) {
  hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
  REQUIRE(g >= 0);
  H5G_info_t info;
  REQUIRE(H5Gget_info(g, &info) >= 0);
  H5Gclose(g);
  return info.nlinks;
}

TEST_CASE("a .weights.h5 follows Keras 3's object tree for RNNs, wrappers and attention",
          "[io][h5][weights][layout]") {
  TempDir dir;
  set_seed(44);
  clear_session();
  auto model = seq_layers_model();
  std::vector<float> xs(2 * 5 * 3);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = 0.1f * float(i % 7) - 0.3f;
  const Tensor x = Tensor::from_vector(xs, {2, 5, 3});
  const Tensor expected = model->predict(x);
  const std::string path = dir / "seq.weights.h5";
  model->save_weights(path);

  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  for (const char* p : {"/layers/lstm/cell/vars/2", "/layers/gru/cell/vars/2",
                        "/layers/bidirectional/forward_layer/cell/vars/2",
                        "/layers/bidirectional/backward_layer/cell/vars/2",
                        "/layers/time_distributed/layer/vars/1",
                        "/layers/multi_head_attention/query_dense/vars/1",
                        "/layers/multi_head_attention/key_dense/vars/1",
                        "/layers/multi_head_attention/value_dense/vars/1",
                        "/layers/multi_head_attention/output_dense/vars/1",
                        "/layers/simple_rnn/cell/vars/2"}) {
    INFO(p);
    CHECK(link_exists(f, p));
  }
  // The outer layers' own vars groups exist and are empty, as in Keras.
  for (const char* p : {"/layers/lstm/vars", "/layers/bidirectional/vars",
                        "/layers/bidirectional/forward_layer/vars", "/layers/time_distributed/vars",
                        "/layers/multi_head_attention/vars"}) {
    INFO(p);
    CHECK(child_count(f, p) == 0);
  }
  CHECK(child_count(f, "/layers/lstm/cell/vars") == 3);
  CHECK(child_count(f, "/layers/multi_head_attention/query_dense/vars") == 2);
  hid_t g = H5Gopen2(f, "/layers/bidirectional/forward_layer/cell/vars", H5P_DEFAULT);
  CHECK(attr_string(g, "name") == "lstm_cell");
  H5Gclose(g);
  g = H5Gopen2(f, "/layers/multi_head_attention/output_dense/vars", H5P_DEFAULT);
  CHECK(attr_string(g, "name") == "attention_output");
  H5Gclose(g);
  H5Fclose(f);

  set_seed(45);
  auto other = seq_layers_model();
  CHECK(Tensor(other->predict(x)).to_vector() != expected.to_vector());
  other->load_weights(path);
  CHECK(Tensor(other->predict(x)).to_vector() == expected.to_vector());

  // A nested group missing: the error names its HDF5 path.
  const std::string broken = dir / "broken.weights.h5";
  fs::copy_file(path, broken);
  f = H5Fopen(broken.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(H5Ldelete(f, "/layers/gru/cell", H5P_DEFAULT) >= 0);
  H5Fclose(f);
  CHECK_THAT(error_of([&] { other->load_weights(broken); }),
             Contains(broken) && Contains("/layers/gru/cell/vars: missing group"));

  // fitrun's earlier flat layout (every variable of a layer in <layer>/vars) still loads.
  const std::string flat = dir / "flat.weights.h5";
  f = H5Fcreate(flat.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  const std::vector<std::pair<std::string, size_t>> keys = {
      {"lstm", 0}, {"gru", 1}, {"bidirectional", 2}, {"time_distributed", 3},
      {"multi_head_attention", 4}, {"simple_rnn", 5}};
  for (const auto& [key, index] : keys) {
    const auto weights = model->layers()[index]->weights();
    for (size_t i = 0; i < weights.size(); ++i) {
      std::vector<hsize_t> dims;
      for (int d = 0; d < weights[i]->value.shape().rank(); ++d)
        dims.push_back(hsize_t(weights[i]->value.shape().dim(d)));
      write_dataset(f, ("/layers/" + key + "/vars/" + std::to_string(i)).c_str(), dims,
                    weights[i]->value.to_vector());
    }
  }
  H5Fclose(f);
  set_seed(46);
  auto old = seq_layers_model();
  old->load_weights(flat);
  CHECK(Tensor(old->predict(x)).to_vector() == expected.to_vector());
}

TEST_CASE("load_weights by name with skip_mismatch", "[io][h5][weights]") {
  TempDir dir;
  set_seed(43);
  clear_session();
  auto in = Input({6});
  auto h = Dense(5, "relu", {true, "glorot_uniform", "zeros", "body"})(in);
  Model src(in, Dense(3, "", {true, "glorot_uniform", "zeros", "head"})(h));
  src.save_weights(dir / "src.h5");

  // Same body, a head of another size, and an extra layer the file does not know.
  set_seed(44);
  auto in2 = Input({6});
  auto h2 = Dense(5, "relu", {true, "glorot_uniform", "zeros", "body"})(in2);
  auto h3 = Dense(5, "relu", {true, "glorot_uniform", "zeros", "extra"})(h2);
  Model dst(in2, Dense(4, "", {true, "glorot_uniform", "zeros", "head"})(h3));
  const std::vector<float> head_before = dst.get_layer("head")->weights()[0]->value.to_vector();
  const std::vector<float> extra_before = dst.get_layer("extra")->weights()[0]->value.to_vector();

  LoadWeightsOptions by_name;
  by_name.by_name = true;
  CHECK_THAT(error_of([&] { dst.load_weights(dir / "src.h5", by_name); }),
             Contains("expected shape (5, 4), found (5, 3)"));
  // Nothing changed after the failure.
  CHECK(dst.get_layer("body")->weights()[0]->value.to_vector() !=
        src.get_layer("body")->weights()[0]->value.to_vector());
  by_name.skip_mismatch = true;
  dst.load_weights(dir / "src.h5", by_name);
  CHECK(dst.get_layer("body")->weights()[0]->value.to_vector() ==
        src.get_layer("body")->weights()[0]->value.to_vector());
  CHECK(dst.get_layer("head")->weights()[0]->value.to_vector() == head_before);
  CHECK(dst.get_layer("extra")->weights()[0]->value.to_vector() == extra_before);

  // By topology the layer counts differ.
  CHECK_THAT(error_of([&] { dst.load_weights(dir / "src.h5"); }),
             Contains("the file holds weights for 2 layers (body, head) but the model has 3 "
                      "layers with weights (body, extra, head)"));
}

TEST_CASE("a .h5 written in Keras' layout through the HDF5 C API loads and predicts",
          "[io][h5][keras]") {
  TempDir dir;
  clear_session();
  const Tensor x = Tensor::from_vector({1.f, 1.f, 1.f, 0.f, 1.f, 2.f}, {2, 3});
  // y = x·kernel + bias = [[9.5, 11], [13.5, 15]]
  const std::vector<float> expected = {9.5f, 11.f, 13.5f, 15.f};
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);
    const std::string path = dir / ("keras" + std::to_string(variant) + ".h5");
    write_keras_h5(path, /*vlen_names=*/variant == 1, /*chunked=*/variant == 2);
    auto model = load_model(path);
    CHECK(model->name() == "sequential");
    CHECK(model->inputs()[0].layer()->name() == "input_1");
    CHECK(Tensor(model->predict(x)).to_vector() == expected);
    REQUIRE(model->compiled());
    CHECK(model->optimizer().class_name() == "Adam");
    CHECK(model->loss_functions()[0]->class_name() == "MeanSquaredError");
    // And into a model built in C++.
    Sequential same({Input({3}), Dense(2)});
    same.load_weights(path);
    CHECK(Tensor(same.predict(x)).to_vector() == expected);
  }
}

TEST_CASE("broken files give clear errors naming the file and the HDF5 path",
          "[io][h5][errors]") {
  TempDir dir;
  set_seed(51);
  clear_session();
  Sequential model({Input({4}), Dense(8, "relu"), Dense(2)});
  const std::string good = dir / "good.h5";
  model.save(good);

  SECTION("missing file") {
    CHECK_THAT(error_of([&] { load_model(dir / "nope.h5"); }),
               Contains(dir / "nope.h5") && Contains("No such file"));
  }
  SECTION("not HDF5") {
    const std::string path = dir / "text.h5";
    std::ofstream(path) << "this is not a model\n";
    CHECK(error_of([&] { load_model(path); }) ==
          path + ": not an HDF5 file (no HDF5 signature found; expected a .h5 file written by "
                 "fitrun or Keras)");
    CHECK_THROWS_AS(load_model(path), IOError);
  }
  SECTION("truncated") {
    const std::string path = dir / "truncated.h5";
    fs::copy_file(good, path);
    fs::resize_file(path, fs::file_size(path) / 2);
    const std::string e = error_of([&] { load_model(path); });
    CHECK_THAT(e, Contains(path + ": truncated or corrupt HDF5 file"));
    CHECK_THROWS_AS(load_model(path), IOError);
    CHECK_THROWS_AS(model.load_weights(path), IOError);
  }
  SECTION("missing weight") {
    const std::string path = dir / "missing.h5";
    fs::copy_file(good, path);
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(H5Ldelete(f, "/model_weights/dense_1/dense_1/bias:0", H5P_DEFAULT) >= 0);
    H5Fclose(f);
    CHECK(error_of([&] { load_model(path); }) ==
          path + ": /model_weights/dense_1/dense_1/bias:0: missing dataset");
  }
  SECTION("wrong shape") {
    Sequential other({Input({4}), Dense(6, "relu"), Dense(2)});
    const std::vector<float> before = weights_of(other);
    CHECK(error_of([&] { other.load_weights(good); }) ==
          good + ": /model_weights/dense/dense/kernel:0: expected shape (4, 6), found (4, 8)");
    CHECK(weights_of(other) == before);  // nothing was half-loaded
  }
  SECTION("unknown layer class") {
    const std::string path = dir / "unknown.h5";
    fs::copy_file(good, path);
    json mc = json::parse(model.to_json());
    mc.erase("module");
    mc["config"]["layers"][1]["class_name"] = "Conv3DTranspose";
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    write_vlen_attr(f, "model_config", mc.dump());
    H5Fclose(f);
    const std::string e = error_of([&] { load_model(path); });
    CHECK_THAT(e, Contains(path + ": model_config: /config/layers/1/class_name: unknown layer "
                                  "class \"Conv3DTranspose\""));
    CHECK_THAT(e, Contains("registered: ") && Contains("Dense"));
    CHECK_THROWS_AS(load_model(path), ConfigError);
  }
  SECTION("a hostile dataset shape is refused before allocating") {
    const std::string path = dir / "huge.h5";
    fs::copy_file(good, path);
    hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(H5Ldelete(f, "/model_weights/dense/dense/kernel:0", H5P_DEFAULT) >= 0);
    // 2^40 elements, declared but never stored (chunked, allocated late).
    hsize_t dims[2] = {hsize_t(1) << 20, hsize_t(1) << 20}, chunk[2] = {64, 64};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR);
    hid_t s = H5Screate_simple(2, dims, nullptr);
    hid_t d = H5Dcreate2(f, "/model_weights/dense/dense/kernel:0", H5T_IEEE_F32LE, s, H5P_DEFAULT,
                         dcpl, H5P_DEFAULT);
    REQUIRE(d >= 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Pclose(dcpl);
    H5Fclose(f);
    CHECK(error_of([&] { load_model(path); }) ==
          path + ": /model_weights/dense/dense/kernel:0: shape (1048576, 1048576) has 2^31 "
                 "elements or more; refusing to read it");
  }
  SECTION("a weights-only file given to load_model") {
    model.save_weights(dir / "w.h5");
    CHECK(error_of([&] { load_model(dir / "w.h5"); }) ==
          (dir / "w.h5") + ": no \"model_config\" attribute: this file holds weights only; build "
                         "the model and call load_weights()");
  }
}

TEST_CASE("a failed save leaves the existing file untouched", "[io][h5][atomic]") {
  TempDir dir;
  set_seed(61);
  clear_session();
  Sequential model({Input({4}), Dense(3)});
  const std::string path = dir / "model.h5";
  model.save(path);
  const std::string before = read_bytes(path);

  // Change the weights, then fail the save just before its rename (as a crash would).
  model.weights()[0]->value.fill(7.0);
  io::fail_next_commit_for_testing();
  CHECK_THAT(error_of([&] { model.save(path); }), Contains("simulated failure"));
  CHECK(read_bytes(path) == before);
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);  // no temporary file left behind
  CHECK(weights_of(*load_model(path)) != weights_of(model));

  // An unwritable target (a missing folder) fails before anything is written.
  CHECK(error_of([&] { model.save(dir / "no/such/dir/model.h5"); }) ==
        (dir / "no/such/dir/model.h5") + ": cannot create a temporary file in " +
            (dir / "no/such/dir") + ": No such file or directory");
  // A failed write (the target is a folder) leaves no temporary file either.
  fs::create_directory(dir / "taken.h5");
  CHECK_THAT(error_of([&] { model.save(dir / "taken.h5"); }), Contains("cannot replace the file"));
  entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 2);

  // Unsupported extensions are refused before anything is written.
  CHECK_THAT(error_of([&] { model.save(dir / "model.txt"); }),
             Contains("unsupported file extension"));
}
