// A training run that test_model starts in a child process (posix_spawn), so that tests can
// kill it or send it SIGINT mid-fit without forking a process whose oneDNN/OpenMP threads
// already run. Usage:
//   train_child backup <dir> <kill_at>   BackupAndRestore(<dir>/backup, save_freq 3); SIGKILL
//                                        itself before global batch <kill_at> (-1: never);
//                                        at the end writes <dir>/final.weights.h5
//   train_child sigint <dir> <at> <n>    sends itself SIGINT <n> times at batch <at>; on return
//                                        writes <dir>/result.json
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <fitrun/fitrun.hpp>

using namespace fitrun;
using namespace fitrun::callbacks;

namespace {

std::shared_ptr<Sequential> make_model() {
  set_seed(5);
  auto model = std::make_shared<Sequential>(std::initializer_list<SequentialItem>{
      Input({4}), layers::Dense(8, "relu"), layers::Dropout(0.25), layers::Dense(2)});
  model->compile(optimizers::Adam({.learning_rate = 0.01}), "mse");
  model->set_shuffle_seed(1234);
  return model;
}

std::pair<Tensor, Tensor> make_data() {
  std::vector<float> x, y;
  for (int i = 0; i < 20; ++i) {
    for (int j = 0; j < 4; ++j) x.push_back(float((i * 7 + j * 3) % 11) / 11.f - 0.5f);
    y.push_back(float(i % 2));
    y.push_back(float(i % 5) / 5.f);
  }
  return {Tensor::from_vector(x, {20, 4}), Tensor::from_vector(y, {20, 2})};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  const std::string mode = argv[1], dir = argv[2];
  const int at = std::atoi(argv[3]);
  auto model = make_model();
  auto [x, y] = make_data();
  int global_batch = 0;
  bool train_end_ran = false;
  const int signals = argc > 4 ? std::atoi(argv[4]) : 1;
  auto probe = std::make_shared<LambdaCallback>(LambdaCallbackOptions{
      .on_train_end = [&](const Logs&) { train_end_ran = true; },
      .on_train_batch_begin =
          [&](int, const Logs&) {
            if (global_batch++ != at) return;
            if (mode == "backup") kill(getpid(), SIGKILL);
            for (int i = 0; i < signals; ++i) kill(getpid(), SIGINT);
          }});
  if (mode == "backup") {
    model->fit({x}, {y}, {.batch_size = 4, .epochs = 4, .verbose = 0,
                          .callbacks = {probe, BackupAndRestore(dir + "/backup", {.save_freq = 3})}});
    model->save_weights(dir + "/final.weights.h5");
    return 0;
  }
  auto& h = model->fit({x}, {y}, {.batch_size = 4, .epochs = 4, .verbose = 0,
                                  .callbacks = {probe, CSVLogger(dir + "/log.csv"),
                                                BackupAndRestore(dir + "/backup")}});
  std::ofstream(dir + "/result.json")
      << json{{"interrupted", h.interrupted}, {"train_end_ran", train_end_ran},
              {"epochs", h.epoch.size()}, {"batches", global_batch}}.dump();
  return 0;
}
