// Keras 3's .keras archive: save/load round trips and exact resumes, the zip's members read
// here independently of fitrun (and by Python's zipfile when python3 is present), archives built
// by hand in Keras' layout (a real Keras config and weights, and weights written through the
// HDF5 C API), and broken or hostile archives with their exact error lines.
#include <catch2/catch.hpp>
#include <hdf5.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
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

// ---- zip, read and written here without fitrun (APPNOTE 4.3.7, 4.3.12, 4.3.16)

uint32_t le(const std::string& s, size_t p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[p + i]);
  return v;
}
void put(std::string& s, uint32_t v, int n) {
  for (int i = 0; i < n; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
uint32_t crc(const std::string& d) {
  return static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(d.data()), uInt(d.size())));
}

struct ZipEntry {
  std::string name, data;   // data: as stored (compressed when method 8)
  uint16_t method = 0;
  uint32_t crc = 0, size = 0;
};

/// The archive's entries from its central directory, in order.
std::vector<ZipEntry> read_zip(const std::string& z) {
  REQUIRE(z.size() >= 22);
  const size_t eocd = z.size() - 22;  // no comment
  REQUIRE(le(z, eocd, 4) == 0x06054b50);
  const uint32_t count = le(z, eocd + 10, 2);
  size_t p = le(z, eocd + 16, 4);
  std::vector<ZipEntry> out;
  for (uint32_t i = 0; i < count; ++i) {
    REQUIRE(le(z, p, 4) == 0x02014b50);
    ZipEntry e;
    e.method = static_cast<uint16_t>(le(z, p + 10, 2));
    e.crc = le(z, p + 16, 4);
    const uint32_t csize = le(z, p + 20, 4);
    e.size = le(z, p + 24, 4);
    const uint32_t n = le(z, p + 28, 2), extra = le(z, p + 30, 2), comment = le(z, p + 32, 2);
    const uint32_t local = le(z, p + 42, 4);
    e.name = z.substr(p + 46, n);
    REQUIRE(le(z, local, 4) == 0x04034b50);
    REQUIRE(z.substr(local + 30, le(z, local + 26, 2)) == e.name);
    e.data = z.substr(local + 30 + le(z, local + 26, 2) + le(z, local + 28, 2), csize);
    out.push_back(e);
    p += 46 + n + extra + comment;
  }
  return out;
}

std::string deflate_raw(const std::string& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, uLong(in.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

/// A member to write: `data` uncompressed; `deflate` compresses it; `declared_size` overrides
/// the uncompressed size written in the headers (hostile archives).
struct NewMember {
  std::string name, data;
  bool deflate = false;
  std::optional<uint32_t> declared_size = {};
};

/// A zip as Python's zipfile writes one (sizes in the local headers, no data descriptors).
std::string write_zip(const std::vector<NewMember>& members) {
  std::string z, central;
  for (const auto& m : members) {
    const std::string body = m.deflate ? deflate_raw(m.data) : m.data;
    auto header = [&](std::string& s) {
      put(s, 20, 2);
      put(s, 0, 2);
      put(s, m.deflate ? 8 : 0, 2);
      put(s, 0, 2);
      put(s, 0x21, 2);
      put(s, crc(m.data), 4);
      put(s, uint32_t(body.size()), 4);
      put(s, m.declared_size.value_or(uint32_t(m.data.size())), 4);
      put(s, uint32_t(m.name.size()), 2);
      put(s, 0, 2);
    };
    const auto offset = uint32_t(z.size());
    put(z, 0x04034b50, 4);
    header(z);
    z += m.name + body;
    put(central, 0x02014b50, 4);
    put(central, 20, 2);
    header(central);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 2);
    put(central, 0, 4);
    put(central, offset, 4);
    central += m.name;
  }
  const auto cd = uint32_t(z.size());
  z += central;
  put(z, 0x06054b50, 4);
  put(z, 0, 4);
  put(z, uint32_t(members.size()), 2);
  put(z, uint32_t(members.size()), 2);
  put(z, uint32_t(central.size()), 4);
  put(z, cd, 4);
  put(z, 0, 2);
  return z;
}

/// The members of a .keras file, uncompressed, by name.
std::map<std::string, std::string> members_of(const std::string& path) {
  std::map<std::string, std::string> out;
  for (const auto& e : read_zip(read_bytes(path))) {
    REQUIRE(e.method == 0);
    out[e.name] = e.data;
  }
  return out;
}

// ---- HDF5 C API: Keras 3's .weights.h5 tree, by hand

void dataset(hid_t loc, const char* name, const std::vector<hsize_t>& dims,
             const std::vector<float>& values) {
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t s = dims.empty() ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(int(dims.size()), dims.data(), nullptr);
  hid_t d = H5Dcreate2(loc, name, H5T_IEEE_F32LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(d >= 0);
  REQUIRE(H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Dclose(d);
  H5Sclose(s);
  H5Pclose(lcpl);
}

void name_attr(hid_t file, const char* group, const std::string& value) {
  hid_t g = H5Gopen2(file, group, H5P_DEFAULT);
  REQUIRE(g >= 0);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  hid_t s = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(g, "name", t, s, H5P_DEFAULT, H5P_DEFAULT);
  const char* p = value.c_str();
  REQUIRE(H5Awrite(a, t, &p) >= 0);
  H5Aclose(a);
  H5Sclose(s);
  H5Tclose(t);
  H5Gclose(g);
}

/// What Keras 3 writes as model.weights.h5 for Sequential([Input((3,)), Dense(2)]) with kernel
/// [[1, 2], [3, 4], [5, 6]], bias [0.5, -1], compiled with Adam after 5 steps: /vars,
/// /layers/dense/vars/{0,1}, /optimizer/vars/{0: iteration, 1: learning_rate, then each
/// variable's momentum and velocity}.
std::string keras_weights_h5(const std::string& scratch) {
  hid_t f = H5Fcreate(scratch.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  H5Gclose(H5Gcreate2(f, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  name_attr(f, "vars", "sequential");
  dataset(f, "layers/dense/vars/0", {3, 2}, {1, 2, 3, 4, 5, 6});
  dataset(f, "layers/dense/vars/1", {2}, {0.5f, -1.f});
  name_attr(f, "layers/dense/vars", "dense");
  {  // Keras' iteration is an int64 scalar
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t d = H5Dcreate2(f, "optimizer/vars/0", H5T_STD_I64LE, s, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    const int64_t five = 5;
    REQUIRE(H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &five) >= 0);
    H5Dclose(d);
    H5Sclose(s);
    H5Pclose(lcpl);
  }
  dataset(f, "optimizer/vars/1", {}, {0.01f});
  dataset(f, "optimizer/vars/2", {3, 2}, {.1f, .2f, .3f, .4f, .5f, .6f});  // kernel momentum
  dataset(f, "optimizer/vars/3", {3, 2}, {1, 1, 1, 1, 1, 1});              // kernel velocity
  dataset(f, "optimizer/vars/4", {2}, {.7f, .8f});                         // bias momentum
  dataset(f, "optimizer/vars/5", {2}, {2, 2});                             // bias velocity
  name_attr(f, "optimizer/vars", "adam");
  H5Fclose(f);
  return read_bytes(scratch);
}

/// Keras 3's config.json for that model (serialize_keras_object, with compile_config).
const char* kKerasConfig = R"({"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true,
  "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
  "layers": [
    {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 3], "dtype": "float32", "sparse": false, "ragged": false, "name": "input_layer", "optional": false}, "registered_name": null},
    {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "trainable": true,
      "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
      "units": 2, "activation": "linear", "use_bias": true,
      "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
      "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
      "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null, "quantization_config": null},
     "registered_name": null, "build_config": {"input_shape": [null, 3]}}],
  "build_input_shape": [null, 3]},
 "registered_name": null, "build_config": {"input_shape": [null, 3]},
 "compile_config": {"optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {"name": "adam", "learning_rate": 0.009999999776482582,
   "weight_decay": null, "clipnorm": null, "global_clipnorm": null, "clipvalue": null, "use_ema": false, "ema_momentum": 0.99,
   "ema_overwrite_frequency": null, "loss_scale_factor": null, "gradient_accumulation_steps": null,
   "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": false}, "registered_name": null},
  "loss": "mse", "loss_weights": null, "metrics": null, "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1, "jit_compile": true}})";

const char* kKerasMetadata = R"({"keras_version": "3.15.1", "date_saved": "2026-05-13@21:23:40"})";

bool have_python_zipfile() {
  return std::system("python3 -c 'import zipfile' >/dev/null 2>&1") == 0;
}

}  // namespace

TEST_CASE("save -> load_model(.keras) gives identical predictions, config and compile state",
          "[io][keras-zip]") {
  TempDir dir;
  set_seed(21);
  clear_session();
  auto [x, y] = toy_data();
  Sequential model = small_mlp("mlp");
  compile_adam(model);
  model.fit(x, y, fit_options(1));
  const std::string path = dir / "m.keras";
  model.save(path);
  CHECK(dir.files() == std::vector<std::string>{"m.keras"});  // no temporary file left

  auto loaded = load_model(path);
  CHECK(loaded->class_name() == "Sequential");
  CHECK(loaded->to_json() == model.to_json());  // config, build and compile config
  check_restored(*loaded, model, x, y);

  // Without the optimizer, or loaded with compile=false: uncompiled, same weights.
  SaveOptions no_opt;
  no_opt.include_optimizer = false;
  model.save(dir / "plain.keras", no_opt);
  CHECK(!load_model(dir / "plain.keras")->compiled());
  CHECK(!members_of(dir / "plain.keras").at("config.json").empty());
  CHECK(!json::parse(members_of(dir / "plain.keras").at("config.json")).contains("compile_config"));
  auto uncompiled = load_model(path, /*compile=*/false);
  CHECK(!uncompiled->compiled());
  CHECK(weights_of(*uncompiled) == weights_of(model));

  // A functional model with two inputs and a shared layer.
  auto a = Input({5}, {"a"}), b = Input({5}, {"b"});
  auto enc = shared(Dense(4, "tanh"));
  Model pair({a, b}, Dense(2)(Concatenate()({enc(a), enc(b)})), "pair");
  const Tensor xa = Tensor::normal({7, 5}, 0, 1, 1), xb = Tensor::normal({7, 5}, 0, 1, 2);
  pair.save(dir / "pair.keras");
  auto pair2 = load_model(dir / "pair.keras");
  CHECK(pair2->get_config() == pair.get_config());
  CHECK(Tensor(pair2->predict({xa, xb})).to_vector() == Tensor(pair.predict({xa, xb})).to_vector());
}

TEST_CASE("a .keras archive holds exactly Keras' three members", "[io][keras-zip][layout]") {
  TempDir dir;
  set_seed(23);
  clear_session();
  auto [x, y] = toy_data();
  Sequential model = small_mlp();
  compile_adam(model);
  model.fit(x, y, fit_options(1));
  const std::string path = dir / "m.keras";
  model.save(path);

  const auto entries = read_zip(read_bytes(path));
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].name == "metadata.json");
  CHECK(entries[1].name == "config.json");
  CHECK(entries[2].name == "model.weights.h5");
  for (const auto& e : entries) {
    INFO(e.name);
    CHECK(e.method == 0);  // ZIP_STORED, as Keras writes
    CHECK(e.size == e.data.size());
    CHECK(e.crc == crc(e.data));
  }
  const json metadata = json::parse(entries[0].data);
  CHECK(metadata.size() == 2);
  CHECK(metadata.at("keras_version") == "3.10.0");
  CHECK(std::regex_match(metadata.at("date_saved").get<std::string>(),
                         std::regex(R"(\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d)")));
  CHECK(entries[1].data == model.to_json());
  CHECK(json::parse(entries[1].data).contains("compile_config"));

  // model.weights.h5 is Keras 3's .weights.h5 tree, optimizer included.
  write_bytes(dir / "w.h5", entries[2].data);
  hid_t f = H5Fopen((dir / "w.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  for (const char* p : {"/vars", "/layers", "/layers/dense", "/layers/dense/vars",
                        "/layers/dense/vars/0", "/layers/dense/vars/1", "/layers/dense_1/vars/1",
                        "/optimizer", "/optimizer/vars", "/optimizer/vars/0", "/optimizer/vars/9"}) {
    INFO(p);
    CHECK(H5Lexists(f, p, H5P_DEFAULT) > 0);
  }
  CHECK(H5Lexists(f, "/optimizer/vars/10", H5P_DEFAULT) == 0);  // 2 + 2 slots x 4 variables
  H5Fclose(f);
  // The same tree as save_weights' .weights.h5 (fitrun's attributes aside).
  model.save_weights(dir / "same.weights.h5");

  if (have_python_zipfile()) {  // Python's zipfile, which Keras reads with
    const std::string out = dir / "py.txt";
    const std::string cmd =
        "python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); "
        "print(z.testzip(), [(i.filename, i.compress_type) for i in z.infolist()])' " +
        path + " > " + out;
    REQUIRE(std::system(cmd.c_str()) == 0);
    CHECK(read_bytes(out) ==
          "None [('metadata.json', 0), ('config.json', 0), ('model.weights.h5', 0)]\n");
  }
}

TEST_CASE("resuming from a .keras file equals an uninterrupted run", "[io][keras-zip][resume]") {
  TempDir dir;
  auto [x, y] = toy_data();
  Sequential reference = seeded_mlp(x, y, 4);

  Sequential first = seeded_mlp(x, y, 2);
  first.save(dir / "epoch2.keras");

  set_seed(999);  // nothing may depend on the resumed process' seed
  auto resumed = load_model(dir / "epoch2.keras");
  CHECK(weights_of(*resumed) == weights_of(first));
  CHECK(resumed->train_steps() == first.train_steps());
  CHECK(resumed->optimizer().iterations() == first.optimizer().iterations());
  resumed->fit(x, y, fit_options(4, 2));
  CHECK(weights_of(*resumed) == weights_of(reference));  // bit-identical
  CHECK(resumed->optimizer().iterations() == reference.optimizer().iterations());

  // load_weights from the archive restores the optimizer state of a compiled model too.
  Sequential again = seeded_mlp(x, y, 0);
  again.load_weights(dir / "epoch2.keras");
  again.fit(x, y, fit_options(4, 2));
  CHECK(weights_of(again) == weights_of(reference));
}

TEST_CASE("load_weights reads .keras; save_weights refuses it, as Keras", "[io][keras-zip]") {
  TempDir dir;
  set_seed(41);
  clear_session();
  Sequential model({Input({4}), Dense(3, "relu"), Dense(2)});
  model.save(dir / "m.keras");
  set_seed(42);
  Sequential other({Input({4}), Dense(3, "relu"), Dense(2)});
  CHECK(weights_of(other) != weights_of(model));
  other.load_weights(dir / "m.keras");
  CHECK(weights_of(other) == weights_of(model));
  CHECK(error_of([&] { model.save_weights(dir / "w.keras"); }) ==
        (dir / "w.keras") + ": save_weights() does not write .keras archives (neither does "
                            "Keras): use save() for a whole model, or a .weights.h5 file");
  CHECK(dir.files() == std::vector<std::string>{"m.keras"});
}

TEST_CASE("a .keras archive built by hand in Keras 3's layout loads", "[io][keras-zip][keras]") {
  TempDir dir;
  clear_session();
  SECTION("config.json and weights written through the HDF5 C API, with Adam's state") {
    const std::string weights = keras_weights_h5(dir / "scratch.h5");
    const Tensor x = Tensor::from_vector({1.f, 1.f, 1.f, 0.f, 1.f, 2.f}, {2, 3});
    for (bool deflated : {false, true}) {
      INFO("deflated " << deflated);
      const std::string path = dir / (deflated ? "deflated.keras" : "stored.keras");
      write_bytes(path, write_zip({{"metadata.json", kKerasMetadata, deflated},
                                   {"config.json", kKerasConfig, deflated},
                                   {"model.weights.h5", weights, deflated}}));
      auto model = load_model(path);
      CHECK(model->name() == "sequential");
      CHECK(Tensor(model->predict(x)).to_vector() == std::vector<float>{9.5f, 11.f, 13.5f, 15.f});
      REQUIRE(model->compiled());
      CHECK(model->optimizer().class_name() == "Adam");
      CHECK(static_cast<float>(model->optimizer().learning_rate()) == 0.01f);
      CHECK(model->optimizer().iterations() == 5);
      const auto& slots = model->optimizer().slots();
      REQUIRE(slots.size() == 2);
      CHECK(slots[0][0].to_vector() == std::vector<float>{.1f, .2f, .3f, .4f, .5f, .6f});
      CHECK(slots[1][1].to_vector() == std::vector<float>{2, 2});
      CHECK(model->train_steps() == 5);  // no fitrun counter: the optimizer's iterations
    }
  }
  SECTION("a real Keras 3.15 config and .weights.h5 zipped as Keras does") {
    const std::string data = std::string(FITRUN_TEST_DATA) + "/keras3_real/";
    const std::string path = dir / "k3.keras";
    write_bytes(path, write_zip({{"metadata.json", kKerasMetadata},
                                 {"config.json", read_bytes(data + "k3_sequential.json")},
                                 {"model.weights.h5", read_bytes(data + "k3_sequential.weights.h5")},
                                 {"assets/", ""}}));  // other members are ignored
    const json expected = json::parse(read_bytes(data + "k3_sequential_expected.json"));
    std::vector<float> xs, ys;
    for (const auto& r : expected["x"]) for (const auto& v : r) xs.push_back(v.get<float>());
    for (const auto& r : expected["y"]) for (const auto& v : r) ys.push_back(v.get<float>());
    auto model = load_model(path);
    CHECK(model->name() == "k3_sequential");
    CHECK(model->compiled());
    const Tensor got = model->predict(Tensor::from_vector(xs, {int64_t(xs.size() / 6), 6}));
    REQUIRE(got.size() == int64_t(ys.size()));
    for (size_t i = 0; i < ys.size(); ++i) CHECK(got.flat(int64_t(i)) == Approx(ys[i]).margin(1e-5));
  }
}

TEST_CASE("broken .keras archives give exact errors naming the file and the member",
          "[io][keras-zip][errors]") {
  TempDir dir;
  set_seed(51);
  clear_session();
  Sequential model({Input({4}), Dense(8, "relu"), Dense(2)});
  const std::string good = dir / "good.keras";
  model.save(good);
  const auto m = members_of(good);
  const std::string p = dir / "bad.keras";
  auto load = [&] { load_model(p); };

  SECTION("missing file, a directory, not a zip") {
    CHECK(error_of([&] { load_model(dir / "nope.keras"); }) ==
          (dir / "nope.keras") + ": cannot open: No such file or directory");
    fs::create_directory(p);
    CHECK(error_of(load) == p + ": is a directory; fitrun reads zipped .keras files (Keras' default)");
    fs::remove(p);
    write_bytes(p, "this is not a model\n");
    CHECK(error_of(load) == p + ": not a .keras file (bad magic number; expected a zip archive)");
    CHECK_THROWS_AS(load(), IOError);
  }
  SECTION("truncated") {
    const std::string bytes = read_bytes(good);
    write_bytes(p, bytes.substr(0, bytes.size() / 2));
    CHECK(error_of(load) == p + ": truncated .keras (no end-of-central-directory record)");
  }
  SECTION("a missing member") {
    write_bytes(p, write_zip({{"metadata.json", m.at("metadata.json")},
                              {"model.weights.h5", m.at("model.weights.h5")}}));
    CHECK(error_of(load) == p + ": missing member \"config.json\" (a .keras archive holds "
                                "metadata.json, config.json and model.weights.h5)");
    write_bytes(p, write_zip({{"metadata.json", m.at("metadata.json")},
                              {"config.json", m.at("config.json")}}));
    CHECK(error_of(load) == p + ": missing member \"model.weights.h5\" (a .keras archive holds "
                                "metadata.json, config.json and model.weights.h5)");
    CHECK(error_of([&] { model.load_weights(p); }) ==
          p + ": missing member \"model.weights.h5\" (a .keras archive holds metadata.json, "
              "config.json and model.weights.h5)");
  }
  SECTION("config.json is not JSON") {
    write_bytes(p, write_zip({{"metadata.json", m.at("metadata.json")},
                              {"config.json", "{\"class_name\": Sequential}"},
                              {"model.weights.h5", m.at("model.weights.h5")}}));
    CHECK(error_of(load) ==
          p + ": config.json: not valid JSON (parse error at line 1, column 16: syntax error while "
              "parsing value - invalid literal; last read: '\"class_name\": S')");
  }
  SECTION("an unknown layer class in config.json") {
    json c = json::parse(m.at("config.json"));
    c["config"]["layers"][1]["class_name"] = "Conv3DTranspose";
    write_bytes(p, write_zip({{"metadata.json", m.at("metadata.json")},
                              {"config.json", c.dump()},
                              {"model.weights.h5", m.at("model.weights.h5")}}));
    CHECK_THAT(error_of(load), Contains(p + ": config.json: /config/layers/1/class_name: unknown "
                                            "layer class \"Conv3DTranspose\""));
    CHECK_THROWS_AS(load(), ConfigError);
  }
  SECTION("a corrupt member (CRC)") {
    std::string bytes = read_bytes(good);
    const size_t at = bytes.find("\x89HDF", 0, 4);
    REQUIRE(at != std::string::npos);
    bytes[at + 200] ^= 0x55;
    write_bytes(p, bytes);
    CHECK(error_of(load) == p + ": model.weights.h5: CRC mismatch (corrupt .keras member)");
  }
  SECTION("model.weights.h5 is not HDF5, or a truncated one") {
    write_bytes(p, write_zip({{"config.json", m.at("config.json")},
                              {"model.weights.h5", "not hdf5 at all"}}));
    CHECK(error_of(load) == p + ": model.weights.h5: not an HDF5 file (no HDF5 signature found)");
    const std::string& w = m.at("model.weights.h5");
    write_bytes(p, write_zip({{"config.json", m.at("config.json")},
                              {"model.weights.h5", w.substr(0, w.size() / 2)}}));
    CHECK_THAT(error_of(load), Contains(p + ": model.weights.h5: truncated or corrupt HDF5 file ("));
  }
  SECTION("a weight of the wrong shape changes nothing") {
    Sequential other({Input({4}), Dense(6, "relu"), Dense(2)});
    const std::vector<float> before = weights_of(other);
    CHECK(error_of([&] { other.load_weights(good); }) ==
          good + ": model.weights.h5: /layers/dense/vars/0: expected shape (4, 6), found (4, 8)");
    CHECK(weights_of(other) == before);
  }
  SECTION("hostile declared sizes are refused before allocating") {
    // A deflated member claiming 4 GiB from a few bytes: beyond what deflate can produce.
    write_bytes(p, write_zip({{"config.json", m.at("config.json")},
                              {"model.weights.h5", "tiny", true, 0xFFFFFFF0u}}));
    CHECK(error_of(load) ==
          p + ": model.weights.h5: declares 4294967280 bytes uncompressed from 6 compressed "
              "bytes, more than deflate can produce (corrupt or hostile archive)");
    // A config.json claiming 1 GiB: past the limit on JSON members.
    write_bytes(p, write_zip({{"config.json", std::string(2 << 20, ' '), true, 1u << 30},
                              {"model.weights.h5", m.at("model.weights.h5")}}));
    CHECK(error_of(load) == p + ": config.json: declares 1073741824 bytes uncompressed, more than "
                                "the 268435456 fitrun reads");
    // A stored member claiming more bytes than the archive has.
    std::string bytes = write_zip({{"config.json", m.at("config.json")},
                                   {"model.weights.h5", m.at("model.weights.h5")}});
    // The central directory's compressed size of the second entry (offset 20 in its header).
    const size_t cd = bytes.rfind(std::string("PK\x01\x02", 4));
    bytes[cd + 23] = '\x7f';  // ~2 GiB
    write_bytes(p, bytes);
    CHECK_THAT(error_of(load), Contains(p + ": model.weights.h5: truncated .keras member ("));
  }
  SECTION("NumPy-format weights") {
    write_bytes(p, write_zip({{"config.json", m.at("config.json")}, {"model.weights.npz", "x"}}));
    CHECK(error_of(load) == p + ": model.weights.npz: weights saved with weights_format=\"npz\" "
                                "are not supported; save with Keras' default (model.weights.h5)");
  }
}

TEST_CASE("a failed .keras save leaves the existing file untouched", "[io][keras-zip][atomic]") {
  TempDir dir;
  set_seed(61);
  clear_session();
  Sequential model({Input({4}), Dense(3)});
  const std::string path = dir / "model.keras";
  model.save(path);
  const std::string before = read_bytes(path);
  model.weights()[0]->value.fill(7.0);
  io::fail_next_commit_for_testing();
  CHECK_THAT(error_of([&] { model.save(path); }), Contains("simulated failure"));
  CHECK(read_bytes(path) == before);
  CHECK(dir.files() == std::vector<std::string>{"model.keras"});
  CHECK(error_of([&] { model.save(dir / "no/such/dir/model.keras"); }) ==
        (dir / "no/such/dir/model.keras") + ": cannot create a temporary file in " +
            (dir / "no/such/dir") + ": No such file or directory");
}

TEST_CASE("ModelCheckpoint writes .keras files", "[io][keras-zip][callbacks]") {
  TempDir dir;
  set_seed(71);
  clear_session();
  auto [x, y] = toy_data();
  Sequential model = small_mlp();
  compile_adam(model);
  FitOptions o = fit_options(2);
  o.callbacks = {callbacks::ModelCheckpoint(dir / "e{epoch}.keras")};
  model.fit(x, y, o);
  CHECK(dir.files() == std::vector<std::string>{"e1.keras", "e2.keras"});
  auto last = load_model(dir / "e2.keras");
  CHECK(weights_of(*last) == weights_of(model));
  CHECK(last->optimizer().iterations() == model.optimizer().iterations());
}
