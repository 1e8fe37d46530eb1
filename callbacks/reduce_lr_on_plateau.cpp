// ReduceLROnPlateau, step for step as keras/src/callbacks/reduce_lr_on_plateau.py (Keras 3).
#include "fitrun/callbacks/reduce_lr_on_plateau.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "callbacks/console.hpp"
#include "callbacks/monitor.hpp"
#include "fitrun/error.hpp"
#include "fitrun/model.hpp"

namespace fitrun::callbacks {

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions o) : o_(std::move(o)) {
  detail::check_mode(o_.mode, "ReduceLROnPlateau");
  if (!(o_.factor < 1.0) || !(o_.factor >= 0.0))
    throw ConfigError("ReduceLROnPlateau: factor must be in [0, 1), got " + std::to_string(o_.factor));
  if (o_.patience < 0 || o_.cooldown < 0)
    throw ConfigError("ReduceLROnPlateau: patience and cooldown must be >= 0");
  if (!(o_.min_lr >= 0.0)) throw ConfigError("ReduceLROnPlateau: min_lr must be >= 0");
  maximize_ = detail::higher_is_better(o_.monitor, o_.mode);
  on_train_begin({});
}

void ReduceLROnPlateau::on_train_begin(const Logs&) {
  best_ = maximize_ ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  wait_ = 0;
  cooldown_counter_ = 0;
}

bool ReduceLROnPlateau::improved(double value) const {
  return maximize_ ? value > best_ + o_.min_delta : value < best_ - o_.min_delta;
}

void ReduceLROnPlateau::on_epoch_end(int epoch, const Logs& logs) {
  const auto current = detail::monitor_value(logs, o_.monitor, "ReduceLROnPlateau");
  if (!current) return;
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (improved(*current)) {
    best_ = *current;
    wait_ = 0;
    return;
  }
  if (cooldown_counter_ > 0 || ++wait_ < o_.patience) return;
  optimizers::Optimizer& opt = model()->optimizer();
  const double old_lr = opt.learning_rate();
  // Keras compares with min_lr in float32, the optimizer's precision.
  if (!(old_lr > static_cast<double>(static_cast<float>(o_.min_lr)))) return;
  const double new_lr = std::max(old_lr * o_.factor, o_.min_lr);
  opt.set_learning_rate(new_lr);
  if (o_.verbose > 0)
    detail::console_print("\nEpoch {}: ReduceLROnPlateau reducing learning rate to {}.\n",
                          epoch + 1, std::to_string(new_lr));
  cooldown_counter_ = o_.cooldown;
  wait_ = 0;
}

json ReduceLROnPlateau::get_config() const {
  return {{"monitor", o_.monitor},   {"factor", o_.factor},     {"patience", o_.patience},
          {"verbose", o_.verbose},   {"mode", o_.mode},         {"min_delta", o_.min_delta},
          {"cooldown", o_.cooldown}, {"min_lr", o_.min_lr}};
}

}  // namespace fitrun::callbacks
