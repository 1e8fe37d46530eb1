#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/callbacks/event_file_writer.hpp"

namespace fitrun::callbacks {

struct TensorBoardOptions {
  /// Every this many epochs, a histogram of every weight ("<layer>/<weight>/histogram");
  /// 0: none.
  int histogram_freq = 0;
  /// Also log steps_per_second (epoch and batch summaries).
  bool write_steps_per_second = false;
  /// 0 (Keras' "epoch"): scalars once per epoch; N: also batch_<metric> every N batches.
  int update_freq = 0;
};

/// Keras' TensorBoard callback, writing event files that TensorBoard reads:
///   log_dir/train/events.out.tfevents.*       epoch_loss, epoch_<metric>, epoch_learning_rate
///                                             (step = epoch), batch_* (step = global batch),
///                                             weight histograms
///   log_dir/validation/events.out.tfevents.*  epoch_loss, epoch_<metric> from the val_* logs,
///                                             evaluation_<metric>_vs_iterations (evaluate())
/// Model graphs, images, profiling and embeddings are not written.
class TensorBoard : public Callback {
 public:
  explicit TensorBoard(std::string log_dir = "logs", TensorBoardOptions options = {});
  void on_train_begin(const Logs&) override;
  void on_train_end(const Logs&) override;
  void on_epoch_begin(int epoch, const Logs&) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_batch_begin(int batch, const Logs&) override;
  void on_train_batch_end(int batch, const Logs& logs) override;
  void on_test_end(const Logs& logs) override;
  std::string class_name() const override { return "TensorBoard"; }
  json get_config() const override;

 private:
  EventFileWriter& train_writer();
  EventFileWriter& val_writer();
  void write_histograms(int epoch);

  std::string log_dir_;
  TensorBoardOptions o_;
  std::unique_ptr<EventFileWriter> train_, val_;
  int64_t global_batch_ = 0;
  int64_t epoch_batches_ = 0;
  std::chrono::steady_clock::time_point epoch_start_, batch_start_;
};

}  // namespace fitrun::callbacks
