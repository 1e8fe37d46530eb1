// The fitrun executable end to end: train, resume, evaluate, predict, summary, validate, run
// through the built binary (FITRUN_CLI) on tiny data, checking outputs, files and exit codes.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fitrun/callbacks/progbar_format.hpp>
#include <fitrun/runtime.hpp>
#include <fitrun/datasets/npy.hpp>
#include <fitrun/fitrun.hpp>

#include "cli_helpers.hpp"

using namespace fitrun;
using namespace fitrun::testing_cli;
namespace fs = std::filesystem;

namespace {

/// A tiny run on iris (150 rows, 4 features, 3 classes): Dropout and shuffling on, so that an
/// exact resume has something to get wrong.
json iris_run(const fs::path& out, int epochs) {
  json run = json::parse(R"({
    "model": {"class_name": "Sequential", "config": {"name": "iris_mlp", "layers": [
      {"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},
      {"class_name": "Dense", "config": {"units": 8, "activation": "relu"}},
      {"class_name": "Dropout", "config": {"rate": 0.2}},
      {"class_name": "Dense", "config": {"units": 3}}]}},
    "compile": {"optimizer": {"class_name": "Adam", "config": {"learning_rate": 0.01}},
                "loss": {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": true}},
                "metrics": ["accuracy"]},
    "data": {"train": {"path": ")" + source_file("examples/data/iris.csv") + R"("},
             "test_split": 0.2, "validation_split": 0.1,
             "preprocessing": {"scale": 0.25}},
    "fit": {"batch_size": 16, "seed": 3, "verbose": 2}
  })");
  run["fit"]["epochs"] = epochs;
  run["output"] = out.string();
  return run;
}

/// Every weight of two saved models, compared bit for bit.
void require_same_weights(const fs::path& a, const fs::path& b) {
  auto ma = load_model(a.string()), mb = load_model(b.string());
  const auto wa = ma->weights(), wb = mb->weights();
  REQUIRE(wa.size() == wb.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    INFO(wa[i]->path);
    REQUIRE(wa[i]->value.shape() == wb[i]->value.shape());
    REQUIRE(std::memcmp(wa[i]->value.raw(), wb[i]->value.raw(), wa[i]->value.nbytes()) == 0);
  }
}

size_t count_lines(const std::string& text) {
  size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("fitrun train writes the output folder and prints progress and test metrics", "[cli]") {
  TempDir tmp;
  write_file(tmp.path / "run.json", iris_run(tmp.path / "out", 2).dump());
  const Result r = run_cli("train run.json", tmp.path);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  CHECK(r.err.empty());
  CHECK_THAT(r.out, Catch::Contains("Epoch 1/2") && Catch::Contains("Epoch 2/2") &&
                        Catch::Contains("Test (30 samples): accuracy: ") &&
                        Catch::Contains("Total params: 67"));
  const fs::path out = tmp.path / "out";
  for (const char* f : {"run.json", "state.json", "model.h5", "history.csv", "train.log",
                        "checkpoints/epoch-0002.h5"})
    CHECK(fs::exists(out / f));
  CHECK_FALSE(fs::exists(out / "checkpoints/epoch-0001.h5"));  // only the latest is kept
  const json state = json::parse(read_file(out / "state.json"));
  CHECK(state["epoch"] == 2);
  CHECK(state["completed"] == true);
  CHECK(state["checkpoint"] == "checkpoints/epoch-0002.h5");
  CHECK(state["test_metrics"].contains("accuracy"));
  const std::string history = read_file(out / "history.csv");
  CHECK(history.rfind("epoch,accuracy,loss,val_accuracy,val_loss\n0,", 0) == 0);
  CHECK(count_lines(history) == 3);
  // run.json keeps what resume needs, with absolute input paths.
  const json saved = json::parse(read_file(out / "run.json"));
  CHECK(fs::path(saved["data"]["train"]["path"].get<std::string>()).is_absolute());
  CHECK(saved["fit"]["epochs"] == 2);
  // The final model is the last checkpoint.
  auto m = load_model((out / "model.h5").string());
  CHECK(m->optimizer().iterations() == 2 * 7);  // 108 training rows / 16 = 7 steps per epoch
  require_same_weights(out / "model.h5", out / "checkpoints/epoch-0002.h5");

  SECTION("a second train into the same folder is refused and changes nothing") {
    const auto before = fs::last_write_time(out / "state.json");
    const Result again = run_cli("train run.json", tmp.path);
    CHECK(again.rc == 2);
    CHECK(again.err == out.string() + ": the output folder already holds a run (continue it with "
                       "`fitrun resume " + out.string() + "`, or choose another --output)\n");
    CHECK(fs::last_write_time(out / "state.json") == before);
  }
  SECTION("resume of a completed run has nothing to do") {
    const Result again = run_cli("resume out", tmp.path);
    CHECK(again.rc == 0);
    CHECK(again.out == "out: the run is complete (2/2 epochs); nothing to do\n");
  }
  SECTION("a run file may name a saved model and keep its compile settings") {
    json next = iris_run(tmp.path / "next", 1);
    next["model"] = (out / "model.h5").string();
    next.erase("compile");
    next["callbacks"] = json::array({{{"class_name", "EarlyStopping"}, {"config", {{"patience", 0}}}}});
    write_file(tmp.path / "next.json", next.dump());
    const Result bad = run_cli("validate next.json --set callbacks.0.config.patience=-1", tmp.path);
    CHECK(bad.rc == 2);
    CHECK(bad.err == "--set callbacks.0.config.patience=-1: /callbacks/0/config/patience: "
                     "expected a non-negative integer, got -1\n");
    const Result r = run_cli("train next.json", tmp.path);
    INFO(r.err);
    REQUIRE(r.rc == 0);
    // The optimizer state came along: its step counter continues from the saved model's.
    CHECK(load_model((tmp.path / "next/model.h5").string())->optimizer().iterations() == 3 * 7);
  }
  SECTION("summary of the saved model") {
    const Result s = run_cli("summary out/model.h5", tmp.path);
    CHECK(s.rc == 0);
    CHECK_THAT(s.out, Catch::Contains("iris_mlp") && Catch::Contains("Total params: 67") &&
                          Catch::Contains("Compiled: optimizer Adam, loss SparseCategoricalCrossentropy"));
  }
  SECTION("a .keras model works wherever a .h5 one does") {
    m->save((out / "model.keras").string());
    const Result s = run_cli("summary out/model.keras", tmp.path);
    CHECK(s.rc == 0);
    CHECK(s.out == run_cli("summary out/model.h5", tmp.path).out);
    const Result e = run_cli("evaluate out/model.keras --data run.json", tmp.path);
    INFO(e.err);
    CHECK(e.rc == 0);
    // The same metrics line (the progress bar above it shows the time taken).
    auto last_line = [](const std::string& text) { return text.substr(text.rfind('\n', text.size() - 2) + 1); };
    CHECK(last_line(e.out) == last_line(run_cli("evaluate out/model.h5 --data run.json", tmp.path).out));
    json next = iris_run(tmp.path / "next", 1);
    next["model"] = "out/model.keras";
    next.erase("compile");
    write_file(tmp.path / "next.json", next.dump());
    const Result t = run_cli("train next.json", tmp.path);
    INFO(t.err);
    REQUIRE(t.rc == 0);
    CHECK(load_model((tmp.path / "next/model.h5").string())->optimizer().iterations() == 3 * 7);
    const std::string bytes = read_file(out / "model.keras");
    write_file(tmp.path / "broken.keras", bytes.substr(0, bytes.size() / 2));
    const Result b = run_cli("summary broken.keras", tmp.path);
    CHECK(b.rc == 2);
    CHECK(b.err == "broken.keras: truncated .keras (no end-of-central-directory record)\n");
  }
  SECTION("evaluate on a csv file and on the run file's test split") {
    const Result e = run_cli("evaluate out/model.h5 --data " + source_file("examples/data/iris.csv") +
                                 " --scale 0.25", tmp.path);
    INFO(e.err);
    REQUIRE(e.rc == 0);
    const Logs direct = m->evaluate(
        [&] {
          auto d = datasets::load_csv(source_file("examples/data/iris.csv"));
          ops::scale(d.x, 0.25f, d.x);
          return TensorList{d.x};
        }(),
        TensorList{datasets::load_csv(source_file("examples/data/iris.csv")).y}, {.verbose = 0});
    CHECK_THAT(e.out, Catch::EndsWith("accuracy: " + callbacks::progbar::format_value(direct.at("accuracy")) +
                                      " - loss: " + callbacks::progbar::format_value(direct.at("loss")) + "\n"));
    const Result t = run_cli("evaluate out/model.h5 --data run.json", tmp.path);
    INFO(t.err);
    CHECK(t.rc == 0);
    CHECK_THAT(t.out, Catch::EndsWith("accuracy: " + callbacks::progbar::format_value(state["test_metrics"]["accuracy"]) +
                                      " - loss: " + callbacks::progbar::format_value(state["test_metrics"]["loss"]) + "\n"));
  }
  SECTION("predict writes the model's outputs") {
    write_file(tmp.path / "x.csv", "a,b,c,d\n5.1,3.5,1.4,0.2\n6.2,2.9,4.3,1.3\n7.7,3.0,6.1,2.3\n");
    const Result p = run_cli("predict out/model.h5 --input x.csv --scale 0.25 --output y.csv", tmp.path);
    INFO(p.err);
    REQUIRE(p.rc == 0);
    CHECK(p.out == "Wrote 3 predictions (None, 3) to y.csv\n");
    const Tensor x = Tensor::from_vector({5.1f, 3.5f, 1.4f, 0.2f, 6.2f, 2.9f, 4.3f, 1.3f, 7.7f, 3.0f, 6.1f, 2.3f}, {3, 4});
    Tensor xs(x.shape());
    ops::scale(x, 0.25f, xs);
    const std::vector<float> expected = m->predict({xs})[0].to_vector();
    std::istringstream lines(read_file(tmp.path / "y.csv"));
    std::vector<float> got;
    for (std::string cell; std::getline(lines, cell, '\n');) {
      std::istringstream row(cell);
      for (std::string v; std::getline(row, v, ',');) got.push_back(std::stof(v));
    }
    REQUIRE(got.size() == 9);
    for (size_t i = 0; i < 9; ++i) CHECK(got[i] == expected[i]);  // %.9g round-trips a float
  }
}

TEST_CASE("fitrun resume continues to the same weights as an uninterrupted run", "[cli]") {
  TempDir tmp;
  write_file(tmp.path / "straight.json", iris_run(tmp.path / "straight", 4).dump());
  REQUIRE(run_cli("train straight.json", tmp.path).rc == 0);

  SECTION("train 2 epochs, then resume to 4") {
    write_file(tmp.path / "short.json", iris_run(tmp.path / "short", 2).dump());
    REQUIRE(run_cli("train short.json", tmp.path).rc == 0);
    const Result r = run_cli("resume short --epochs 4", tmp.path);
    INFO(r.err);
    REQUIRE(r.rc == 0);
    CHECK_THAT(r.out, Catch::StartsWith("Resuming short at epoch 3/4\n") &&
                          Catch::Contains("Epoch 3/4") && Catch::Contains("Epoch 4/4"));
    require_same_weights(tmp.path / "straight/model.h5", tmp.path / "short/model.h5");
    CHECK(read_file(tmp.path / "short/history.csv") == read_file(tmp.path / "straight/history.csv"));
    CHECK(json::parse(read_file(tmp.path / "short/run.json"))["fit"]["epochs"] == 4);
  }
  SECTION("a run killed after its epoch-2 checkpoint resumes to the same weights") {
    // What a 4-epoch run's folder holds when killed during epoch 3: state.json pointing at the
    // epoch-2 checkpoint, no model.h5. Built from a run that kept every checkpoint.
    json run = iris_run(tmp.path / "killed", 4);
    run["output"] = {{"dir", (tmp.path / "killed").string()}, {"keep_checkpoints", true}};
    write_file(tmp.path / "killed.json", run.dump());
    REQUIRE(run_cli("train killed.json", tmp.path).rc == 0);
    const fs::path k = tmp.path / "killed";
    json state = json::parse(read_file(k / "state.json"));
    state["epoch"] = 2;
    state["checkpoint"] = "checkpoints/epoch-0002.h5";
    state["completed"] = false;
    state["test_metrics"] = nullptr;
    fs::remove(k / "model.h5");
    fs::remove(k / "checkpoints/epoch-0003.h5");
    fs::remove(k / "checkpoints/epoch-0004.h5");
    write_file(k / "state.json", state.dump());  // history still lists epochs 3-4: dropped
    const Result r = run_cli("resume killed", tmp.path);
    INFO(r.err);
    REQUIRE(r.rc == 0);
    require_same_weights(tmp.path / "straight/model.h5", k / "model.h5");
    CHECK(read_file(k / "history.csv") == read_file(tmp.path / "straight/history.csv"));
    CHECK(json::parse(read_file(k / "state.json"))["completed"] == true);
  }
}

TEST_CASE("fitrun validate checks without writing anything", "[cli]") {
  TempDir tmp;
  write_file(tmp.path / "run.json", iris_run(tmp.path / "out", 3).dump());
  const Result ok = run_cli("validate run.json", tmp.path);
  INFO(ok.err);
  CHECK(ok.rc == 0);
  CHECK(ok.out == "run.json: valid (model \"iris_mlp\", 67 parameters; 108 training samples, "
                  "12 held out for validation, 30 test; 3 epochs)\n");
  CHECK_FALSE(fs::exists(tmp.path / "out"));

  const Result bad = run_cli("validate run.json --set fit.epochs=ten", tmp.path);
  CHECK(bad.rc == 2);
  CHECK(bad.err == "--set fit.epochs=ten: /fit/epochs: expected a positive integer, got \"ten\"\n");
  const Result cuda = run_cli("train run.json --device cuda", tmp.path);
  CHECK(cuda.rc == 2);
  if (fitrun::cuda_device_count() == 0)
    CHECK(cuda.err == "--device cuda: /device: cuda:0 is not available: this machine (or build) "
                      "has no CUDA device; use \"cpu\" or \"auto\"\n");
  CHECK(run_cli("validate run.json --device auto", tmp.path).rc == 0);
  CHECK(run_cli("validate run.json --set float32_matmul_precision=high", tmp.path).rc == 0);
  const Result set = run_cli("validate run.json --set fit.batch_size=8 --set compile.optimizer=sgd", tmp.path);
  CHECK(set.rc == 0);
  const Result usage = run_cli("train", tmp.path);
  CHECK(usage.rc == 2);
  CHECK(usage.err == "fitrun: RUN is required (see fitrun --help)\n");
  CHECK_FALSE(fs::exists(tmp.path / "out"));
}

TEST_CASE("the example run configs are valid", "[cli]") {
  for (const char* name : {"mlp_digits.json", "cnn_digits.json"}) {
    INFO(name);
    const Result r = run_cli(std::string("validate ") + name, source_file("examples/configs"));
    INFO(r.err);
    CHECK(r.rc == 0);
    CHECK_THAT(r.out, Catch::Contains(": valid (model \"digits_"));
  }
}

TEST_CASE("data sources of every format load with their samples and labels", "[cli]") {
  TempDir tmp;
  // 20 samples of 2x2x3 "images" with values 0..255 and labels 0..4, in every format.
  const int64_t n = 20;
  std::vector<float> xv(static_cast<size_t>(n * 12));
  std::vector<int32_t> yv(static_cast<size_t>(n));
  for (size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<float>((i * 37) % 256);
  for (int64_t i = 0; i < n; ++i) yv[static_cast<size_t>(i)] = static_cast<int32_t>(i % 5);
  const Tensor x = Tensor::from_vector(xv, {n, 2, 2, 3});
  const Tensor y = Tensor::from_vector(yv, {n});
  datasets::save_npy((tmp.path / "x.npy").string(), x);
  datasets::save_npy((tmp.path / "y.npy").string(), y.astype(DType::int64));
  datasets::save_npz((tmp.path / "d.npz").string(), {{"x_train", x}, {"y_train", y}});
  {  // IDX: ubyte images (magic 0x803, dims n, 2, 6) and labels (0x801, n)
    std::string images = std::string("\0\0\x08\x03", 4), labels = std::string("\0\0\x08\x01", 4);
    auto be32 = [](std::string& s, uint32_t v) {
      for (int b = 3; b >= 0; --b) s += static_cast<char>((v >> (8 * b)) & 0xff);
    };
    be32(images, n), be32(images, 2), be32(images, 6), be32(labels, n);
    for (float v : xv) images += static_cast<char>(static_cast<uint8_t>(v));
    for (int32_t v : yv) labels += static_cast<char>(v);
    write_file(tmp.path / "images.idx", images);
    write_file(tmp.path / "labels.idx", labels);
  }
  {  // CIFAR-10 records: <label><1024 R><1024 G><1024 B>, two batch files of 3 and 2 records
    for (auto [name, count] : {std::pair<const char*, int>{"b1.bin", 3}, {"b2.bin", 2}}) {
      std::string bytes;
      for (int r = 0; r < count; ++r) {
        bytes += static_cast<char>(r);
        bytes += std::string(3072, static_cast<char>(r * 10));
      }
      write_file(tmp.path / name, bytes);
    }
  }
  auto run_with = [&](const json& train, const json& reshape_to, int units) {
    json run = json::parse(R"({"compile": {"loss": "sparse_categorical_crossentropy"}})");
    run["model"] = {{"class_name", "Sequential"},
                    {"config", {{"layers", json::array({
                        {{"class_name", "InputLayer"}, {"config", {{"batch_shape", reshape_to}}}},
                        {{"class_name", "Flatten"}, {"config", json::object()}},
                        {{"class_name", "Dense"}, {"config", {{"units", units}}}}})}}}};
    run["data"] = {{"train", train}, {"preprocessing", {{"scale", 1.0 / 255}}}};
    write_file(tmp.path / "run.json", run.dump());
    return run_cli("validate run.json", tmp.path);
  };
  const json image = json::array({nullptr, 2, 2, 3});
  struct Case { const char* what; json train, shape; int units; std::string samples; };
  const Case cases[] = {
      {"npy", {{"format", "npy"}, {"x", "x.npy"}, {"y", "y.npy"}}, image, 5, "20 training samples"},
      {"npz", {{"path", "d.npz"}, {"x_key", "x_train"}, {"y_key", "y_train"}}, image, 5, "20 training samples"},
      {"idx", {{"format", "idx"}, {"x", "images.idx"}, {"y", "labels.idx"}}, json::array({nullptr, 2, 6}), 5, "20 training samples"},
      {"cifar10", {{"format", "cifar10"}, {"path", {"b1.bin", "b2.bin"}}}, json::array({nullptr, 32, 32, 3}), 10, "5 training samples"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const Result r = run_with(c.train, c.shape, c.units);
    INFO(r.err);
    CHECK(r.rc == 0);
    CHECK_THAT(r.out, Catch::Contains("; " + c.samples + ";"));
  }
  // Labels 0..4 do not fit 4 output units: the check runs for every format.
  const Result small = run_with(cases[0].train, image, 4);
  CHECK(small.rc == 2);
  CHECK(small.err == "run.json: /model: output (None, 4) does not fit the labels of /data/train: "
                     "labels go up to 4, which needs 5 output units\n");

  SECTION("predict reads and writes .npy") {
    json run = json::parse(R"({"compile": {"loss": "sparse_categorical_crossentropy"}, "fit": {"verbose": 0}})");
    run["model"] = {{"class_name", "Sequential"},
                    {"config", {{"layers", json::array({
                        {{"class_name", "InputLayer"}, {"config", {{"batch_shape", image}}}},
                        {{"class_name", "Flatten"}, {"config", json::object()}},
                        {{"class_name", "Dense"}, {"config", {{"units", 5}}}}})}}}};
    run["data"] = {{"train", cases[0].train}};
    run["output"] = "out";
    write_file(tmp.path / "run.json", run.dump());
    REQUIRE(run_cli("train run.json", tmp.path).rc == 0);
    const Result p = run_cli("predict out/model.h5 --input x.npy --output p.npy", tmp.path);
    INFO(p.err);
    REQUIRE(p.rc == 0);
    const Tensor got = datasets::load_npy((tmp.path / "p.npy").string());
    const Tensor want = load_model((tmp.path / "out/model.h5").string())->predict({x})[0];
    REQUIRE(got.shape() == want.shape());
    CHECK(std::memcmp(got.raw(), want.raw(), want.nbytes()) == 0);
  }
}

TEST_CASE("Ctrl-C stops fitrun train resumably with exit code 130", "[cli]") {
  TempDir tmp;
  json run = iris_run(tmp.path / "out", 100000);
  run["fit"]["verbose"] = 0;
  write_file(tmp.path / "run.json", run.dump());
  const pid_t pid = start_cli({"train", "run.json"}, tmp.path, tmp.path / "log.txt");
  // Wait for the first checkpoint, then interrupt.
  int epoch = 0;
  for (int i = 0; i < 2000 && epoch < 1; ++i) {
    ::usleep(5000);
    try {
      epoch = json::parse(read_file(tmp.path / "out/state.json"))["epoch"].get<int>();
    } catch (const std::exception&) {
    }
  }
  REQUIRE(epoch >= 1);
  ::kill(pid, SIGINT);
  REQUIRE(wait_cli(pid) == 130);
  const json state = json::parse(read_file(tmp.path / "out/state.json"));
  const int done = state["epoch"];
  CHECK(done >= 1);
  CHECK(state["completed"] == false);
  CHECK_FALSE(fs::exists(tmp.path / "out/model.h5"));
  CHECK_THAT(read_file(tmp.path / "log.txt"),
             Catch::Contains("Interrupted; " + std::to_string(done) + "/100000 epochs are "
                             "checkpointed. Continue with: fitrun resume " + (tmp.path / "out").string()));
  // Resumed (to one more epoch), the run equals an uninterrupted one of that length.
  const Result r = run_cli("resume out --epochs " + std::to_string(done + 1), tmp.path);
  INFO(r.err);
  REQUIRE(r.rc == 0);
  write_file(tmp.path / "straight.json", iris_run(tmp.path / "straight", done + 1).dump());
  REQUIRE(run_cli("train straight.json", tmp.path).rc == 0);
  require_same_weights(tmp.path / "straight/model.h5", tmp.path / "out/model.h5");
}
