// ProgbarLogger: Keras 3's progress bar (keras/src/callbacks/progbar_logger.py driving
// keras/src/utils/progbar.py), with one deliberate difference: off a terminal, verbose=1 writes
// only each epoch's final line, so CI and SLURM logs carry no \r or colour codes.
#include "fitrun/callbacks/progbar_logger.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "callbacks/console.hpp"
#include "fitrun/callbacks/progbar_format.hpp"

namespace fitrun::callbacks {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kRedrawInterval = 0.05;  // seconds between in-place redraws (Keras' interval)
constexpr int kBarWidth = 20;
constexpr const char* kBarChar = "\xe2\x94\x81";  // "━" (U+2501) in UTF-8
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kGrey = "\x1b[37m";
constexpr const char* kReset = "\x1b[0m";

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string repeat(const char* s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

bool is_val_key(const std::string& key) { return key.rfind("val_", 0) == 0; }

std::string metrics_text(const std::vector<std::string>& order, const Logs& values) {
  std::string text;
  for (const std::string& key : order)
    text += " - " + key + ": " + progbar::format_value(values.at(key));
  return text;
}

// An integer parameter; absent, null ("steps" of unknown length) or non-numeric ("auto") keeps
// the fallback.
int int_param(const json& params, const char* key, int fallback) {
  if (!params.is_object()) return fallback;
  auto it = params.find(key);
  return it != params.end() && it->is_number() ? it->get<int>() : fallback;
}

}  // namespace

ProgbarLogger::ProgbarLogger(int verbose, std::FILE* out)
    : verbose_(verbose), out_(out ? out : stdout), interactive_(isatty(fileno(out_)) != 0) {}

void ProgbarLogger::set_params(const json& params) {
  Callback::set_params(params);
  verbose_ = int_param(params, "verbose", verbose_);
  epochs_ = int_param(params, "epochs", 1);
  target_ = std::max(0, int_param(params, "steps", 0));
}

void ProgbarLogger::on_train_begin(const Logs&) { in_fit_ = true; }
void ProgbarLogger::on_train_end(const Logs&) { in_fit_ = false; }

void ProgbarLogger::on_epoch_begin(int epoch, const Logs&) {
  start();
  if (verbose_ != 0 && epochs_ > 1)
    write("Epoch " + std::to_string(epoch + 1) + "/" + std::to_string(epochs_) + "\n");
}

void ProgbarLogger::on_train_batch_end(int batch, const Logs& logs) {
  update(batch + 1, logs, false);
}

// The epoch logs add the val_* keys to the final line.
void ProgbarLogger::on_epoch_end(int, const Logs& logs) { finish(logs); }

void ProgbarLogger::on_test_begin(const Logs&) {
  if (!in_fit_) start();
}
void ProgbarLogger::on_test_batch_end(int batch, const Logs& logs) {
  if (!in_fit_) update(batch + 1, logs, false);
}
void ProgbarLogger::on_test_end(const Logs& logs) {
  if (!in_fit_) finish(logs);
}

// Predictions are not metrics: the predict bar shows progress and time only.
void ProgbarLogger::on_predict_begin(const Logs&) { start(); }
void ProgbarLogger::on_predict_batch_end(int batch, const Logs&) { update(batch + 1, {}, false); }
void ProgbarLogger::on_predict_end(const Logs&) { finish({}); }

void ProgbarLogger::start() {
  start_ = Clock::now();
  last_draw_ = start_ - std::chrono::seconds(1);  // the first update always draws
  last_width_ = 0;
  seen_ = 0;
  first_step_.reset();
  order_.clear();
  values_.clear();
  active_ = true;
}

void ProgbarLogger::finish(const Logs& logs) {
  // An unknown length is learnt from the first pass and kept for the next epochs, as in Keras.
  if (target_ <= 0) target_ = seen_;
  update(target_, logs, true);
  active_ = false;
}

void ProgbarLogger::record(const Logs& logs) {
  // Logs iterate alphabetically; training keys go before val_* ones so that the final line reads
  // "accuracy, loss, val_accuracy, val_loss", Keras' order.
  for (bool val : {false, true})
    for (const auto& [key, value] : logs) {
      if (is_val_key(key) != val) continue;
      if (!values_.count(key)) order_.push_back(key);
      values_[key] = value;
    }
}

// Keras' _estimate_step_duration: once past the first step, time it from the end of that step.
double ProgbarLogger::step_time(int current, Clock::time_point now) {
  if (current <= 0) return 0;
  double per_step = first_step_ && current > 1 ? seconds(now - *first_step_) / (current - 1)
                                               : seconds(now - start_) / current;
  if (current == 1) first_step_ = now;
  return per_step;
}

void ProgbarLogger::update(int current, const Logs& logs, bool finalize) {
  if (!active_) start();  // batch hooks without a begin hook (custom loops)
  if (!finalize) seen_ = current;
  record(logs);
  const Clock::time_point now = Clock::now();
  const double per_step = step_time(current, now);
  const double elapsed = seconds(now - start_);

  if (verbose_ == 1) {
    // Off a terminal only the final line is written; on one, redraws are throttled.
    if (!finalize && (!interactive_ || seconds(now - last_draw_) < kRedrawInterval)) return;
    std::string line = render(current, finalize, elapsed, per_step);
    const size_t width = progbar::visible_width(line);
    if (interactive_) {
      // Pad with spaces to erase what is left of a longer previous line.
      if (last_width_ > width) line += std::string(last_width_ - width, ' ');
      line = "\r" + line;
    }
    if (finalize) line += "\n";
    write(line);
    last_width_ = width;
  } else if (verbose_ == 2 && finalize) {
    write(count(current) + " - " + progbar::format_elapsed(elapsed) + " - " +
          progbar::format_step_time(per_step) + metrics_text(order_, values_) + "\n");
  }
  last_draw_ = now;
}

// "{current:>N}/{target} {bar} {ETA|elapsed} {time/step} - k: v ...", with Keras' colours on a
// terminal (bold count and time, green done part of the bar).
std::string ProgbarLogger::render(int current, bool finalize, double elapsed,
                                  double per_step) const {
  const bool colour = interactive_;
  auto bold = [&](const std::string& s) { return colour ? kBold + s + kReset : s; };
  std::string line;
  if (target_ > 0) {
    const int done = std::clamp(kBarWidth * current / target_, 0, kBarWidth);
    line += bold(count(current)) + " ";
    if (!colour) {
      line += repeat(kBarChar, kBarWidth);
    } else {
      if (done > 0) line += kGreen + repeat(kBarChar, done) + kReset;
      line += kGrey + repeat(kBarChar, kBarWidth - done) + kReset;
    }
  } else {
    char unknown[32];
    std::snprintf(unknown, sizeof unknown, "%7d/Unknown", current);
    line += unknown;
  }
  const bool running = target_ > 0 && !finalize;
  // Appended piece by piece: `" " + string` trips GCC 12's false -Wrestrict warning.
  line += ' ';
  line += bold(running ? progbar::format_duration(per_step * (target_ - current))
                       : progbar::format_elapsed(elapsed));
  line += ' ';
  line += progbar::format_step_time(per_step);
  line += metrics_text(order_, values_);
  return line;
}

// "current/target" with current right-aligned to the width of target ("  7/120").
std::string ProgbarLogger::count(int current) const {
  const std::string target = std::to_string(target_);
  std::string done = std::to_string(current);
  if (done.size() < target.size()) done.insert(0, target.size() - done.size(), ' ');
  return done + "/" + target;
}

void ProgbarLogger::write(const std::string& text) {
  if (out_ == stdout) {  // through std::cout, which a notebook kernel captures
    detail::console_write(text);
    return;
  }
  std::fputs(text.c_str(), out_);
  std::fflush(out_);  // a bar that sits in a buffer shows no progress
}

}  // namespace fitrun::callbacks
