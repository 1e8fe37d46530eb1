#pragma once
#include <functional>
#include <string>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks {

/// Keras' LearningRateScheduler: at the start of every epoch sets the optimizer's learning
/// rate to schedule(epoch, current_lr) (epoch 0-based). C++ only: a function has no config.
class LearningRateScheduler : public Callback {
 public:
  using Schedule = std::function<double(int epoch, double lr)>;
  explicit LearningRateScheduler(Schedule schedule, int verbose = 0);
  void on_epoch_begin(int epoch, const Logs&) override;
  std::string class_name() const override { return "LearningRateScheduler"; }
  json get_config() const override { return {{"verbose", verbose_}}; }

 private:
  Schedule schedule_;
  int verbose_;
};

}  // namespace fitrun::callbacks
