#include "fitrun/callbacks/learning_rate_scheduler.hpp"

#include <cmath>
#include <cstdio>

#include "fitrun/error.hpp"
#include "fitrun/model.hpp"

namespace fitrun::callbacks {

LearningRateScheduler::LearningRateScheduler(Schedule schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  if (!schedule_) throw ConfigError("LearningRateScheduler: the schedule function is empty");
}

void LearningRateScheduler::on_epoch_begin(int epoch, const Logs&) {
  optimizers::Optimizer& opt = model()->optimizer();
  const double lr = schedule_(epoch, opt.learning_rate());
  if (!std::isfinite(lr))
    throw Error("LearningRateScheduler: the schedule returned " + std::to_string(lr) +
                " for epoch " + std::to_string(epoch) + "; it must return a finite number");
  opt.set_learning_rate(lr);
  if (verbose_ > 0)
    std::printf("\nEpoch %d: LearningRateScheduler setting learning rate to %s.\n", epoch + 1,
                std::to_string(lr).c_str());
}

}  // namespace fitrun::callbacks
