// Ctrl-C and kills during fit(): in this process (raise(SIGINT) from a callback) and in child
// processes started with posix_spawn (tests/callbacks/child/train_child.cpp).
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <random>

#include "callbacks/callback_helpers.hpp"

extern char** environ;

using namespace fitrun;
using namespace fitrun::callbacks;

namespace {

/// Runs the helper with `args`; returns its wait status.
int run_child(const std::vector<std::string>& args) {
  std::vector<std::string> all = {FITRUN_CB_CHILD};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  REQUIRE(posix_spawn(&pid, FITRUN_CB_CHILD, nullptr, nullptr, argv.data(), environ) == 0);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

std::vector<float> weights_of(const std::string& path) {
  // The helper's model: Dense(8) -> Dropout -> Dense(2) on 4 inputs.
  Sequential model({Input({4}), layers::Dense(8, "relu"), layers::Dropout(0.25), layers::Dense(2)});
  model.load_weights(path);
  std::vector<float> all;
  for (const auto& v : model.weights()) {
    const auto values = v->value.to_vector();
    all.insert(all.end(), values.begin(), values.end());
  }
  return all;
}

int sigint_count = 0;
void count_sigint(int) { ++sigint_count; }

}  // namespace

TEST_CASE("SIGINT during fit finishes the batch and runs on_train_end", "[callbacks][interrupt]") {
  // A handler of our own, which fit must put back.
  struct sigaction mine {}, before {}, after {};
  mine.sa_handler = count_sigint;
  sigemptyset(&mine.sa_mask);
  sigaction(SIGINT, &mine, &before);
  auto model = cb_test::tiny_model();
  auto [x, y] = cb_test::tiny_data();
  int batches = 0, epochs_ended = 0;
  bool train_end = false;
  auto cb = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_epoch_end = [&](int, const Logs&) { ++epochs_ended; },
      .on_train_end = [&](const Logs&) { train_end = true; },
      .on_train_batch_end = [&](int, const Logs&) {
        if (++batches == 6) raise(SIGINT);  // the 2nd batch of the 2nd epoch
      }});
  auto& h = model->fit({x}, {y}, {.batch_size = 2, .epochs = 5, .verbose = 0, .callbacks = {cb}});
  CHECK(h.interrupted);
  CHECK(batches == 6);
  CHECK(epochs_ended == 1);  // the partial epoch has no epoch end
  CHECK(h.epoch.size() == 1);
  CHECK(train_end);
  CHECK(sigint_count == 0);
  sigaction(SIGINT, nullptr, &after);
  CHECK(after.sa_handler == count_sigint);
  // Ctrl-C at an epoch's end (e.g. during validation): no further epoch begins.
  int begun = 0;
  auto at_end = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_epoch_begin = [&](int, const Logs&) { ++begun; },
      .on_epoch_end = [&](int, const Logs&) { raise(SIGINT); }});
  CHECK(model->fit({x}, {y}, {.batch_size = 4, .epochs = 3, .verbose = 0, .callbacks = {at_end}})
            .interrupted);
  CHECK(begun == 1);
  // The next fit starts clean.
  auto& again = model->fit({x}, {y}, {.batch_size = 8, .epochs = 1, .verbose = 0});
  CHECK_FALSE(again.interrupted);
  sigaction(SIGINT, &before, nullptr);
}

TEST_CASE("SIGINT in a child process: fit returns with complete files and a second one aborts",
          "[callbacks][interrupt]") {
  cb_test::ScratchDir dir("sigint");
  // 20 samples, batch 4: 5 batches per epoch; SIGINT before global batch 7 (epoch 1, batch 2).
  const int status = run_child({"sigint", dir.str(), "7", "1"});
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const json result = json::parse(cb_test::read_file(dir / "result.json"));
  CHECK(result["interrupted"] == true);
  CHECK(result["train_end_ran"] == true);
  CHECK(result["epochs"] == 1);
  CHECK(result["batches"] == 8);  // the batch in progress finished
  // The CSV has its header and one complete row; the backup says where training stopped.
  const std::string csv = cb_test::read_file(dir / "log.csv");
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 2);
  CHECK(csv.substr(csv.size() - 2) == "\r\n");
  const json meta = json::parse(cb_test::read_file(dir / "backup/training_metadata.json"));
  CHECK(meta["epoch"] == 1);
  CHECK(meta["batch"] == 3);
  CHECK(meta["train_steps"] == 8);

  cb_test::ScratchDir dir2("sigint-twice");
  const int twice = run_child({"sigint", dir2.str(), "2", "2"});
  CHECK(WIFSIGNALED(twice));
  CHECK(WTERMSIG(twice) == SIGINT);
  CHECK_FALSE(std::filesystem::exists(dir2 / "result.json"));
}

TEST_CASE("BackupAndRestore after a SIGKILL at a random batch ends with the uninterrupted weights",
          "[callbacks][backup]") {
  cb_test::ScratchDir dir("backup");
  REQUIRE(run_child({"backup", dir / "reference", "-1"}) == 0);
  const auto reference = weights_of(dir / "reference/final.weights.h5");
  // The reference run finished, so it removed its backup.
  CHECK_FALSE(std::filesystem::exists(dir / "reference/backup"));

  std::random_device seed;
  const int kill_at = 1 + int(seed() % 19);  // 4 epochs x 5 batches
  INFO("killed before global batch " << kill_at);
  std::filesystem::create_directories(dir / "killed");
  const int killed = run_child({"backup", dir / "killed", std::to_string(kill_at)});
  REQUIRE(WIFSIGNALED(killed));
  CHECK(WTERMSIG(killed) == SIGKILL);
  CHECK_FALSE(std::filesystem::exists(dir / "killed/final.weights.h5"));
  if (kill_at >= 3) {  // a backup exists (every 3 batches) and is readable
    CHECK(weights_of(dir / "killed/backup/latest.weights.h5").size() == reference.size());
    const json meta = json::parse(cb_test::read_file(dir / "killed/backup/training_metadata.json"));
    CHECK(meta["train_steps"].get<int>() == kill_at / 3 * 3);
  }
  REQUIRE(run_child({"backup", dir / "killed", "-1"}) == 0);
  CHECK(weights_of(dir / "killed/final.weights.h5") == reference);
  CHECK_FALSE(std::filesystem::exists(dir / "killed/backup"));
}

TEST_CASE("BackupAndRestore resumes from a backup whose metadata lags the weights",
          "[callbacks][backup]") {
  // A kill between the two writes leaves weights one save ahead of the metadata.
  cb_test::ScratchDir dir("backup-lag");
  auto [x, y] = cb_test::tiny_data();
  auto run = [&](int epochs) {
    auto model = cb_test::tiny_model();
    model->set_shuffle_seed(99);
    model->fit({x}, {y}, {.batch_size = 2, .epochs = epochs, .verbose = 0,
                          .callbacks = {BackupAndRestore(dir / "b", {.delete_checkpoint = false})}});
    return model;
  };
  auto reference = cb_test::tiny_model();
  reference->set_shuffle_seed(99);
  reference->fit({x}, {y}, {.batch_size = 2, .epochs = 3, .verbose = 0});
  run(2);  // backup at the end of epoch 2: {"epoch": 2, "batch": 0, "train_steps": 8}
  std::ofstream(dir / "b/training_metadata.json") << R"({"epoch": 1, "batch": 0, "train_steps": 4})";
  auto resumed = run(3);
  CHECK(resumed->weights()[0]->value.to_vector() == reference->weights()[0]->value.to_vector());
  std::ofstream(dir / "b/training_metadata.json") << R"({"epoch": 1, "batch": "x", "train_steps": 4})";
  CHECK_THROWS_WITH(run(3), (dir / "b/training_metadata.json") +
                                ": \"batch\" must be an integer >= 0, got \"x\"");
}
