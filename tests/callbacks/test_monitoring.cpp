// EarlyStopping, ReduceLROnPlateau, LearningRateScheduler, TerminateOnNaN, LambdaCallback:
// driven with scripted logs where the expected epoch is worked out by hand, and through fit().
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "callbacks/callback_helpers.hpp"

using namespace fitrun;
using namespace fitrun::callbacks;

namespace {

// Feeds `values` of `key` epoch by epoch until the callback sets stop_training; returns the
// epoch at which training stopped (-1: never).
int run_script(Model& model, Callback& cb, const std::string& key, const std::vector<double>& values) {
  model.stop_training = false;
  cb.set_model(&model);
  cb.on_train_begin({});
  for (size_t e = 0; e < values.size(); ++e) {
    cb.on_epoch_begin(int(e), {});
    cb.on_epoch_end(int(e), {{key, values[e]}, {"loss", 1.0}});
    if (model.stop_training) {
      cb.on_train_end({});
      return int(e);
    }
  }
  cb.on_train_end({});
  return -1;
}

}  // namespace

TEST_CASE("EarlyStopping stops at the epoch patience runs out", "[callbacks][early_stopping]") {
  auto model = cb_test::tiny_model();
  // best 1.0 (e0), 0.9 (e1); e2 0.95 wait 1; e3 0.92 wait 2 -> stop at e3.
  EarlyStopping es({.patience = 2});
  CHECK(run_script(*model, es, "val_loss", {1.0, 0.9, 0.95, 0.92, 0.5}) == 3);
  CHECK(es.stopped_epoch() == 3);
  CHECK(es.best_epoch() == 1);
  CHECK(*es.best() == 0.9);
  // patience 0: stops at the first epoch without improvement (never at epoch 0).
  EarlyStopping es0;
  CHECK(run_script(*model, es0, "val_loss", {1.0, 1.0}) == 1);
  // min_delta: 0.95 and 0.91 are not better than 1.0 by more than 0.1; 0.85 is, at e1? no:
  // e1 0.95 wait1, e2 0.91 wait2 -> stop at e2 with patience 2.
  EarlyStopping delta({.min_delta = -0.1, .patience = 2});  // the sign is ignored
  CHECK(run_script(*model, delta, "val_loss", {1.0, 0.95, 0.91, 0.5}) == 2);
  // mode max on accuracy (auto picks max for "acc" names).
  EarlyStopping acc({.monitor = "val_accuracy", .patience = 1});
  CHECK(run_script(*model, acc, "val_accuracy", {0.5, 0.6, 0.55, 0.7}) == 2);
  EarlyStopping forced_min({.monitor = "val_accuracy", .patience = 1, .mode = "min"});
  CHECK(run_script(*model, forced_min, "val_accuracy", {0.5, 0.6, 0.4}) == 1);
  // start_from_epoch: epochs 0-1 are not watched; from e2: best 3.0, e3 wait 1 -> stop.
  EarlyStopping warm({.patience = 1, .start_from_epoch = 2});
  CHECK(run_script(*model, warm, "val_loss", {1.0, 5.0, 3.0, 4.0, 1.0}) == 3);
  // baseline: improvements that do not beat 0.5 do not restart patience (e0 wait 1, e1 wait 2,
  // both improvements; e2 wait 3 -> stop), where without a baseline e3 is the stop.
  EarlyStopping base({.patience = 2, .baseline = 0.5});
  CHECK(run_script(*model, base, "val_loss", {1.0, 0.9, 0.95, 0.95}) == 2);
  EarlyStopping no_base({.patience = 2});
  CHECK(run_script(*model, no_base, "val_loss", {1.0, 0.9, 0.95, 0.95}) == 3);
  EarlyStopping base_met({.patience = 2, .baseline = 0.5});
  CHECK(run_script(*model, base_met, "val_loss", {0.4, 0.3, 0.2, 0.1, 0.2, 0.2}) == 5);
  // A missing monitor key is skipped (Keras warns), never stops.
  EarlyStopping missing({.monitor = "val_nope"});
  CHECK(run_script(*model, missing, "val_loss", {1.0, 2.0, 3.0}) == -1);
  CHECK_THROWS_WITH(EarlyStopping({.mode = "maximum"}),
                    "EarlyStopping: mode must be \"auto\", \"min\" or \"max\", got \"maximum\"");
}

TEST_CASE("EarlyStopping restore_best_weights puts back the best epoch's weights",
          "[callbacks][early_stopping]") {
  auto model = cb_test::tiny_model();
  Variable& kernel = *model->weights()[0];
  EarlyStopping es({.patience = 1, .restore_best_weights = true});
  es.set_model(model.get());
  es.on_train_begin({});
  const std::vector<double> losses = {1.0, 0.5, 0.7, 0.8};
  for (int e = 0; e < 4 && !model->stop_training; ++e) {
    kernel.value.fill(double(e));  // "training" changes the weights
    es.on_epoch_end(e, {{"val_loss", losses[size_t(e)]}});
  }
  CHECK(es.stopped_epoch() == 2);
  es.on_train_end({});
  CHECK(kernel.value.flat(0) == 1.0);  // weights of epoch 1, the best
}

TEST_CASE("EarlyStopping ends fit() early", "[callbacks][early_stopping]") {
  auto model = cb_test::tiny_model();
  auto [x, y] = cb_test::tiny_data();
  int epochs_run = 0;
  // A monitor that never improves: loss_plus goes up every epoch.
  auto script = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_epoch_end = [&](int, const Logs&) { ++epochs_run; }});
  auto& h = model->fit({x}, {y}, {.batch_size = 4, .epochs = 20, .verbose = 0,
                                  .callbacks = {EarlyStopping({.monitor = "loss", .mode = "max"}),
                                                script}});
  // loss decreases, so with mode max epoch 1 is no improvement: stop after 2 epochs.
  CHECK(h.epoch.size() == 2);
  CHECK(epochs_run == 2);
  CHECK_FALSE(h.interrupted);
}

TEST_CASE("ReduceLROnPlateau lowers the learning rate on plateaus", "[callbacks][reduce_lr]") {
  auto model = cb_test::tiny_model(1.0);
  ReduceLROnPlateau r({.factor = 0.5, .patience = 2, .min_delta = 0.0, .cooldown = 1, .min_lr = 0.2});
  r.set_model(model.get());
  r.on_train_begin({});
  // As Keras: e0 best 1.0; e1 wait 1; e2 wait 2 -> lr 0.5, cooldown 1; e3 the cooldown ends
  // (counter -> 0, wait 0) and, out of cooldown, the epoch counts: wait 1; e4 wait 2 -> 0.25;
  // e5 wait 1; e6 wait 2 -> 0.125 clipped to min_lr 0.2; from then on lr 0.2 is not above
  // min_lr (compared in float32) and stays.
  const std::vector<double> val_loss = {1.0, 1.0, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0};
  std::vector<double> lrs;
  for (size_t e = 0; e < val_loss.size(); ++e) {
    r.on_epoch_end(int(e), {{"val_loss", val_loss[e]}});
    lrs.push_back(model->optimizer().learning_rate());
  }
  CHECK(lrs == std::vector<double>{1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2});
  // An improvement resets the wait.
  auto m2 = cb_test::tiny_model(1.0);
  ReduceLROnPlateau r2({.factor = 0.1, .patience = 2});
  r2.set_model(m2.get());
  r2.on_train_begin({});
  for (double v : {1.0, 1.0, 0.5, 0.5}) r2.on_epoch_end(0, {{"val_loss", v}});
  CHECK(m2->optimizer().learning_rate() == 1.0);
  r2.on_epoch_end(0, {{"val_loss", 0.5}});
  CHECK(m2->optimizer().learning_rate() == Approx(0.1));
  CHECK_THROWS_WITH(ReduceLROnPlateau({.factor = 1.0}),
                    "ReduceLROnPlateau: factor must be in [0, 1), got 1.000000");
}

TEST_CASE("LearningRateScheduler sets the rate at every epoch begin", "[callbacks][lr_scheduler]") {
  auto model = cb_test::tiny_model(0.1);
  auto [x, y] = cb_test::tiny_data();
  std::vector<double> seen;
  LearningRateScheduler sched([](int epoch, double lr) { return epoch == 0 ? lr : lr * 0.5; });
  auto probe = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_epoch_begin = [&](int, const Logs&) { seen.push_back(model->optimizer().learning_rate()); }});
  model->fit({x}, {y}, {.batch_size = 8, .epochs = 4, .verbose = 0,
                        .callbacks = {std::make_shared<LearningRateScheduler>(sched), probe}});
  CHECK(seen == std::vector<double>{0.1, 0.05, 0.025, 0.0125});
  CHECK_THROWS_AS(LearningRateScheduler(nullptr), ConfigError);
}

TEST_CASE("TerminateOnNaN stops fit() after the first NaN batch", "[callbacks][terminate_on_nan]") {
  auto model = cb_test::tiny_model();
  auto [x, y] = cb_test::tiny_data();
  x.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
  int batches = 0;
  auto count = std::make_shared<LambdaCallback>(
      LambdaCallbackOptions{.on_train_batch_end = [&](int, const Logs&) { ++batches; }});
  auto& h = model->fit({x}, {y}, {.batch_size = 2, .epochs = 5, .verbose = 0,
                                  .callbacks = {TerminateOnNaN(), count}, .shuffle = false});
  CHECK(batches == 1);
  CHECK(h.epoch.size() == 1);  // the epoch ends; no further epoch starts
  CHECK(std::isnan(h.history.at("loss")[0]));
  // Scripted, and with raise_error.
  TerminateOnNaN t;
  t.set_model(model.get());
  model->stop_training = false;
  t.on_train_batch_end(0, {{"loss", 1.0}});
  CHECK_FALSE(model->stop_training);
  t.on_train_batch_end(1, {{"loss", std::numeric_limits<double>::infinity()}});
  CHECK(model->stop_training);
  TerminateOnNaN raising(true);
  raising.set_model(model.get());
  CHECK_THROWS_WITH(raising.on_train_batch_end(4, {{"loss", std::nan("")}}),
                    "TerminateOnNaN: loss is NaN at batch 4; training stopped");
}

TEST_CASE("LambdaCallback calls its hooks and callbacks see train and val_ logs",
          "[callbacks][lambda]") {
  auto model = cb_test::tiny_model(0.1, {"mae"});
  auto [x, y] = cb_test::tiny_data();
  std::vector<std::string> events;
  Logs last_epoch;
  auto cb = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_epoch_begin = [&](int e, const Logs&) { events.push_back("eb" + std::to_string(e)); },
      .on_epoch_end =
          [&](int e, const Logs& l) {
            events.push_back("ee" + std::to_string(e));
            last_epoch = l;
          },
      .on_train_begin = [&](const Logs&) { events.push_back("tb"); },
      .on_train_end = [&](const Logs&) { events.push_back("te"); },
      .on_train_batch_begin = [&](int b, const Logs&) { events.push_back("bb" + std::to_string(b)); },
      .on_train_batch_end = [&](int b, const Logs&) { events.push_back("be" + std::to_string(b)); }});
  model->fit({x}, {y}, {.batch_size = 4, .epochs = 2, .verbose = 0, .callbacks = {cb},
                        .validation_split = 0.25});
  CHECK(events == std::vector<std::string>{"tb", "eb0", "bb0", "be0", "bb1", "be1", "ee0", "eb1",
                                           "bb0", "be0", "bb1", "be1", "ee1", "te"});
  std::vector<std::string> keys;
  for (const auto& [k, v] : last_epoch) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"loss", "mae", "val_loss", "val_mae"});
}
