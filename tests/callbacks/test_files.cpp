// ModelCheckpoint's file names and save_best_only, CSVLogger's exact text, and every callback
// built from its Keras config.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include "callbacks/callback_helpers.hpp"

using namespace fitrun;
using namespace fitrun::callbacks;

namespace {

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("ModelCheckpoint save_best_only writes only improvements under templated names",
          "[callbacks][checkpoint]") {
  cb_test::ScratchDir dir("ckpt-best");
  auto model = cb_test::tiny_model();
  ModelCheckpoint mc(dir / "ckpt-{epoch:02d}-{val_loss:.3f}.weights.h5",
                     {.save_best_only = true, .save_weights_only = true});
  mc.set_model(model.get());
  mc.on_train_begin({});
  const std::vector<double> val_loss = {0.5, 0.6, 0.4, 0.4};
  for (int e = 0; e < 4; ++e) {
    mc.on_epoch_begin(e, {});
    model->weights()[0]->value.fill(e);
    mc.on_epoch_end(e, {{"loss", 1.0}, {"val_loss", val_loss[size_t(e)]}});
  }
  CHECK(files_in(dir.str()) ==
        std::vector<std::string>{"ckpt-01-0.500.weights.h5", "ckpt-03-0.400.weights.h5"});
  CHECK(mc.best() == 0.4);
  // The file holds the weights of epoch 3 (index 2).
  auto other = cb_test::tiny_model();
  other->load_weights(dir / "ckpt-03-0.400.weights.h5");
  CHECK(other->weights()[0]->value.flat(0) == 2.0);

  // initial_value_threshold: nothing is saved until 0.45 is beaten; mode max on accuracy.
  cb_test::ScratchDir dir2("ckpt-threshold");
  ModelCheckpoint acc(dir2 / "best.h5", {.monitor = "val_accuracy", .save_best_only = true,
                                         .initial_value_threshold = 0.45});
  acc.set_model(model.get());
  acc.on_epoch_end(0, {{"val_accuracy", 0.4}});
  CHECK(files_in(dir2.str()).empty());
  acc.on_epoch_end(1, {{"val_accuracy", 0.5}});
  CHECK(files_in(dir2.str()) == std::vector<std::string>{"best.h5"});
  CHECK(load_model(dir2 / "best.h5")->weights().size() == 2);
}

TEST_CASE("ModelCheckpoint with a batch save_freq counts batches across epochs",
          "[callbacks][checkpoint]") {
  cb_test::ScratchDir dir("ckpt-batches");
  auto model = cb_test::tiny_model();
  ModelCheckpoint mc(dir / "sub/m-{epoch}-{batch}.h5", {.save_freq = 2});
  mc.set_model(model.get());
  // 3 batches per epoch: saves after the 2nd, 4th and 6th batch seen.
  for (int e = 0; e < 2; ++e) {
    mc.on_epoch_begin(e, {});
    for (int b = 0; b < 3; ++b) mc.on_train_batch_end(b, {{"loss", 0.5}});
    mc.on_epoch_end(e, {{"loss", 0.5}});
  }
  CHECK(files_in(dir / "sub") == std::vector<std::string>{"m-1-2.h5", "m-2-1.h5", "m-2-3.h5"});
  // In fit(), with the whole model saved every epoch.
  cb_test::ScratchDir dir3("ckpt-fit");
  auto [x, y] = cb_test::tiny_data();
  model->fit({x}, {y}, {.batch_size = 4, .epochs = 3, .verbose = 0,
                        .callbacks = {ModelCheckpoint(dir3 / "e{epoch:03d}-{loss:.2f}.h5")}});
  const auto names = files_in(dir3.str());
  REQUIRE(names.size() == 3);
  CHECK(names[0].rfind("e001-", 0) == 0);
  CHECK(names[2].rfind("e003-", 0) == 0);
  CHECK(names[2].size() == std::string("e003-0.12.h5").size());
}

TEST_CASE("ModelCheckpoint rejects bad paths and templates", "[callbacks][checkpoint]") {
  CHECK_THROWS_WITH(ModelCheckpoint("m.keras", {.save_weights_only = true}),
                    "ModelCheckpoint: filepath \"m.keras\" must end in \".weights.h5\" or \".h5\" "
                    "(save_weights_only)");
  CHECK_THROWS_WITH(ModelCheckpoint("m.weights.h5"),
                    "ModelCheckpoint: filepath \"m.weights.h5\" must end in \".keras\" or \".h5\" (a "
                    "whole model; \".weights.h5\" needs save_weights_only=true)");
  CHECK_THROWS_AS(ModelCheckpoint("m.txt", {.save_weights_only = true}), ConfigError);
  CHECK_THROWS_AS(ModelCheckpoint("m.h5", {.save_freq = 0}), ConfigError);
  auto model = cb_test::tiny_model();
  ModelCheckpoint mc("/tmp/x-{val_acc:.2f}.h5");
  mc.set_model(model.get());
  CHECK_THROWS_WITH(mc.on_epoch_end(0, {{"loss", 1.0}}),
                    "ModelCheckpoint: cannot fill in the filepath template: "
                    "\"/tmp/x-{val_acc:.2f}.h5\": no value named \"val_acc\" to fill in; "
                    "available: epoch, loss");
}

TEST_CASE("CSVLogger writes Keras' exact file text", "[callbacks][csv]") {
  cb_test::ScratchDir dir("csv");
  const std::string path = dir / "log.csv";
  {
    CSVLogger log(path);
    log.on_train_begin({});
    log.on_epoch_end(0, {{"loss", 0.5}, {"accuracy", 0.25}});
    log.on_epoch_end(1, {{"loss", 0.1}});
    log.on_train_end({});
  }
  // Sorted keys; val_* columns added as Keras does when the first epoch has none; NA for gaps.
  CHECK(cb_test::read_file(path) ==
        "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,NA,NA\r\n1,NA,0.1,NA,NA\r\n");
  {
    CSVLogger more(path, ";", true);  // append: no second header
    more.on_train_begin({});
    more.on_epoch_end(2, {{"loss", 1e-05}, {"val_loss", 2.0}});
    more.on_train_end({});
  }
  CHECK(cb_test::read_file(path) ==
        "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,NA,NA\r\n1,NA,0.1,NA,NA\r\n"
        "2;1e-05;2.0\r\n");
  {
    CSVLogger fresh(dir / "new.csv", ",", true);  // append to a missing file: header written
    fresh.on_train_begin({});
    fresh.on_epoch_end(0, {{"loss", 3.0}, {"val_loss", 4.0}});
  }
  CHECK(cb_test::read_file(dir / "new.csv") == "epoch,loss,val_loss\r\n0,3.0,4.0\r\n");
  CHECK_THROWS_WITH(CSVLogger(path, "::"), "CSVLogger: separator must be one character, got \"::\"");
  CSVLogger bad(dir / "missing/x.csv");
  CHECK_THROWS_WITH(bad.on_train_begin({}),
                    Catch::StartsWith("CSVLogger: cannot open \"" + (dir / "missing/x.csv")));
}

TEST_CASE("CSVLogger in fit() writes one complete row per epoch", "[callbacks][csv]") {
  cb_test::ScratchDir dir("csv-fit");
  auto model = cb_test::tiny_model();
  auto [x, y] = cb_test::tiny_data();
  auto& h = model->fit({x}, {y}, {.batch_size = 4, .epochs = 3, .verbose = 0,
                                  .callbacks = {CSVLogger(dir / "log.csv")},
                                  .validation_split = 0.25});
  const std::string text = cb_test::read_file(dir / "log.csv");
  const std::string expected_last =
      "2," + python_repr(h.history.at("loss")[2]) + "," + python_repr(h.history.at("val_loss")[2]) + "\r\n";
  CHECK(text.rfind("epoch,loss,val_loss\r\n0,", 0) == 0);
  CHECK(text.substr(text.size() - expected_last.size()) == expected_last);
}

TEST_CASE("every callback builds from its Keras config and round-trips get_config",
          "[callbacks][registry]") {
  const std::vector<json> configs = {
      {{"class_name", "EarlyStopping"},
       {"config", {{"monitor", "val_accuracy"}, {"min_delta", 0.01}, {"patience", 3}, {"verbose", 0},
                   {"mode", "max"}, {"baseline", 0.5}, {"restore_best_weights", true},
                   {"start_from_epoch", 2}}}},
      {{"class_name", "ReduceLROnPlateau"},
       {"config", {{"monitor", "loss"}, {"factor", 0.5}, {"patience", 2}, {"verbose", 1},
                   {"mode", "min"}, {"min_delta", 0.001}, {"cooldown", 1}, {"min_lr", 1e-5}}}},
      {{"class_name", "ModelCheckpoint"},
       {"config", {{"filepath", "ckpt/{epoch:02d}.weights.h5"}, {"monitor", "val_loss"},
                   {"verbose", 0}, {"save_best_only", true}, {"save_weights_only", true},
                   {"mode", "auto"}, {"save_freq", 100}, {"initial_value_threshold", nullptr}}}},
      {{"class_name", "CSVLogger"},
       {"config", {{"filename", "log.csv"}, {"separator", ";"}, {"append", true}}}},
      {{"class_name", "TerminateOnNaN"}, {"config", {{"raise_error", false}}}},
      {{"class_name", "BackupAndRestore"},
       {"config", {{"backup_dir", "backup"}, {"save_freq", "epoch"}, {"delete_checkpoint", false}}}},
      {{"class_name", "TensorBoard"},
       {"config", {{"log_dir", "tb"}, {"histogram_freq", 1}, {"write_steps_per_second", true},
                   {"update_freq", 10}}}},
  };
  for (const json& c : configs) {
    INFO(c.dump());
    CallbackPtr cb = callback_from_config(c);
    CHECK(cb->class_name() == c["class_name"]);
    CHECK(cb->get_config() == c["config"]);
  }
  CHECK(callback_from_config({{"class_name", "TensorBoard"}, {"config", {{"update_freq", "batch"}}}})
            ->get_config()["update_freq"] == 1);
  CHECK(registered_callbacks() ==
        std::vector<std::string>{"BackupAndRestore", "CSVLogger", "EarlyStopping", "History",
                                 "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau",
                                 "TensorBoard", "TerminateOnNaN"});
}

TEST_CASE("callback configs with bad values name the JSON path", "[callbacks][registry]") {
  auto error = [](const json& config) {
    try {
      callback_from_config(config, "/callbacks/1");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error({{"class_name", "EarlyStopping"}, {"config", {{"patience", "x"}}}}) ==
        "/callbacks/1/config/patience: expected a non-negative integer, got \"x\"");
  CHECK(error({{"class_name", "EarlyStopping"}, {"config", {{"mode", "up"}}}}) ==
        "/callbacks/1/config/mode: expected one of \"auto\", \"min\", \"max\", got \"up\"");
  CHECK(error({{"class_name", "EarlyStopping"}, {"config", {{"patiense", 2}}}}) ==
        "/callbacks/1/config/patiense: unknown key for EarlyStopping; did you mean \"patience\"?");
  CHECK(error({{"class_name", "ModelCheckpoint"}, {"config", json::object()}}) ==
        "/callbacks/1/config/filepath: required but missing");
  CHECK(error({{"class_name", "ModelCheckpoint"}, {"config", {{"filepath", "m.h5"}, {"save_freq", "batch"}}}}) ==
        "/callbacks/1/config/save_freq: expected \"epoch\" or an integer >= 1, got \"batch\"");
  CHECK(error({{"class_name", "ModelCheckpoint"}, {"config", {{"filepath", "m.keras"}}}}) == "no error");
  CHECK(error({{"class_name", "ModelCheckpoint"},
               {"config", {{"filepath", "m.keras"}, {"save_weights_only", true}}}}) ==
        "/callbacks/1/config: ModelCheckpoint: filepath \"m.keras\" must end in \".weights.h5\" "
        "or \".h5\" (save_weights_only)");
  CHECK(error({{"class_name", "ReduceLROnPlateau"}, {"config", {{"factor", 1.5}}}}) ==
        "/callbacks/1/config/factor: expected a number in [0, 1), got 1.5");
  CHECK(error({{"class_name", "CSVLogger"}, {"config", {{"filename", "a"}, {"separator", ";;"}}}}) ==
        "/callbacks/1/config/separator: expected one character, got \";;\"");
  CHECK(error({{"class_name", "TensorBoard"}, {"config", {{"write_images", true}}}}) ==
        "/callbacks/1/config/write_images: only false is supported by fitrun, got true");
  CHECK(error({{"class_name", "LearningRateScheduler"}}) ==
        "/callbacks/1/class_name: LearningRateScheduler takes C++ functions, so no config can "
        "describe it; construct it in C++ and pass it in FitOptions::callbacks");
}
