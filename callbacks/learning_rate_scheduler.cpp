#include "fitrun/callbacks/learning_rate_scheduler.hpp"

#include <cmath>

#include "callbacks/console.hpp"
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
    detail::console_print("\nEpoch {}: LearningRateScheduler setting learning rate to {}.\n",
                          epoch + 1, std::to_string(lr));
}

}  // namespace fitrun::callbacks
