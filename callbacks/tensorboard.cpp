// TensorBoard: what keras/src/callbacks/tensorboard.py logs, through EventFileWriter.
#include "fitrun/callbacks/tensorboard.hpp"

#include "fitrun/error.hpp"
#include "fitrun/model.hpp"

namespace fitrun::callbacks {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool is_val(const std::string& key) { return key.rfind("val_", 0) == 0; }

}  // namespace

TensorBoard::TensorBoard(std::string log_dir, TensorBoardOptions o)
    : log_dir_(std::move(log_dir)), o_(o) {
  if (log_dir_.empty()) throw ConfigError("TensorBoard: log_dir is empty");
  if (o_.histogram_freq < 0)
    throw ConfigError("TensorBoard: histogram_freq must be >= 0, got " + std::to_string(o_.histogram_freq));
  if (o_.update_freq < 0)
    throw ConfigError("TensorBoard: update_freq must be \"epoch\", \"batch\" or a number >= 1, got " +
                      std::to_string(o_.update_freq));
}

EventFileWriter& TensorBoard::train_writer() {
  if (!train_) train_ = std::make_unique<EventFileWriter>(log_dir_ + "/train");
  return *train_;
}

EventFileWriter& TensorBoard::val_writer() {
  if (!val_) val_ = std::make_unique<EventFileWriter>(log_dir_ + "/validation");
  return *val_;
}

void TensorBoard::on_train_begin(const Logs&) {
  global_batch_ = 0;
  train_writer();
  val_writer();
}

void TensorBoard::on_train_end(const Logs&) {
  // A new file per fit(), as Keras' writers are created per fit too.
  train_.reset();
  val_.reset();
}

void TensorBoard::on_epoch_begin(int, const Logs&) {
  epoch_start_ = std::chrono::steady_clock::now();
  epoch_batches_ = 0;
}

void TensorBoard::on_train_batch_begin(int, const Logs&) {
  ++global_batch_;
  ++epoch_batches_;
  if (o_.write_steps_per_second) batch_start_ = std::chrono::steady_clock::now();
}

void TensorBoard::on_train_batch_end(int, const Logs& logs) {
  if (o_.update_freq == 0 || global_batch_ % o_.update_freq != 0) return;
  EventFileWriter& w = train_writer();
  for (const auto& [k, v] : logs) w.add_scalar("batch_" + k, v, global_batch_);
  if (o_.write_steps_per_second)
    w.add_scalar("batch_steps_per_second", 1.0 / std::max(seconds_since(batch_start_), 1e-9),
                 global_batch_);
}

void TensorBoard::on_epoch_end(int epoch, const Logs& logs) {
  EventFileWriter& train = train_writer();
  EventFileWriter& val = val_writer();
  bool any_val = false;
  for (const auto& [k, v] : logs) {
    if (is_val(k)) {
      val.add_scalar("epoch_" + k.substr(4), v, epoch);  // shares the tag with the train curve
      any_val = true;
    } else {
      train.add_scalar("epoch_" + k, v, epoch);
    }
  }
  if (model() && model()->compiled())
    train.add_scalar("epoch_learning_rate", model()->optimizer().learning_rate(), epoch);
  if (o_.write_steps_per_second)
    train.add_scalar("epoch_steps_per_second",
                     double(epoch_batches_) / std::max(seconds_since(epoch_start_), 1e-9), epoch);
  if (o_.histogram_freq > 0 && epoch % o_.histogram_freq == 0) write_histograms(epoch);
  train.flush();
  if (any_val) val.flush();
}

void TensorBoard::write_histograms(int epoch) {
  for (const VariablePtr& v : model()->weights()) {
    const Tensor& t = v->value;
    if (t.dtype() != DType::float32) continue;
    train_writer().add_histogram(v->path + "/histogram", t.data<float>(),
                                 static_cast<std::size_t>(t.size()), epoch);
  }
}

void TensorBoard::on_test_end(const Logs& logs) {
  if (!model() || !model()->compiled()) return;
  const int64_t step = model()->optimizer().iterations();
  EventFileWriter& w = val_writer();
  for (const auto& [k, v] : logs) w.add_scalar("evaluation_" + k + "_vs_iterations", v, step);
  w.flush();
}

json TensorBoard::get_config() const {
  return {{"log_dir", log_dir_},
          {"histogram_freq", o_.histogram_freq},
          {"write_steps_per_second", o_.write_steps_per_second},
          {"update_freq", o_.update_freq == 0 ? json("epoch") : json(o_.update_freq)}};
}

}  // namespace fitrun::callbacks
