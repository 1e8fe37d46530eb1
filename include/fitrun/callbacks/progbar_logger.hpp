#pragma once
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks {

/// Keras 3's progress bar: "12/45 ━━━━━━━━━━━━━━━━━━━━ 1s 9ms/step - accuracy: 0.9 - loss: 0.3".
/// Redrawn in place on a terminal; one line per epoch otherwise (logs stay readable).
/// params() (set by fit/evaluate/predict) supplies "epochs", "steps" (null: unknown length) and
/// "verbose", which overrides the constructor's. Between on_train_begin and on_train_end the
/// on_test_* hooks are ignored: validation inside fit is silent, as in Keras.
class ProgbarLogger : public Callback {
 public:
  /// verbose 1: bar; 2: one line per epoch. `out` defaults to stdout.
  explicit ProgbarLogger(int verbose = 1, std::FILE* out = nullptr);
  void set_params(const json& params) override;
  void on_train_begin(const Logs&) override;
  void on_train_end(const Logs&) override;
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_test_begin(const Logs&) override;
  void on_test_batch_end(int batch, const Logs& logs) override;
  void on_test_end(const Logs& logs) override;
  void on_predict_begin(const Logs&) override;
  void on_predict_batch_end(int batch, const Logs& logs) override;
  void on_predict_end(const Logs& logs) override;

  /// Force terminal (in-place, coloured) or log (plain) output; the default asks isatty().
  void set_interactive(bool interactive) { interactive_ = interactive; }

 private:
  void start();
  void update(int current, const Logs& logs, bool finalize);
  void finish(const Logs& logs);
  void record(const Logs& logs);
  std::string render(int current, bool finalize, double elapsed, double per_step) const;
  std::string count(int current) const;
  double step_time(int current, std::chrono::steady_clock::time_point now);
  void write(const std::string& text);

  int verbose_;
  std::FILE* out_;
  bool interactive_;
  int epochs_ = 1;
  int target_ = 0;  // steps per epoch; 0 while unknown (learnt at the end of the first pass)
  bool in_fit_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
  size_t last_width_ = 0;
  int seen_ = 0;
  bool active_ = false;
  // Set after the first step, so that the per-step time leaves out warm-up (as Keras does).
  std::optional<std::chrono::steady_clock::time_point> first_step_;
  // Metric values shown, in first-seen order (training keys before val_* ones).
  std::vector<std::string> order_;
  Logs values_;
};

}  // namespace fitrun::callbacks
