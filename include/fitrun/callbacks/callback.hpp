#pragma once
// Callback: Keras' hooks into fit/evaluate/predict. Logs map metric names ("loss",
// "accuracy", "val_loss") to values; keys iterate in sorted order, as Keras prints them.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fitrun/json.hpp"
#include "fitrun/ref.hpp"

namespace fitrun {
class Model;
using Logs = std::map<std::string, double>;
}  // namespace fitrun

namespace fitrun::callbacks {

class Callback {
 public:
  virtual ~Callback() = default;
  void set_model(Model* model) { model_ = model; }
  Model* model() const { return model_; }
  /// fit() parameters: {"epochs", "steps", "verbose"}.
  virtual void set_params(const json& params) { params_ = params; }
  const json& params() const { return params_; }

  virtual void on_train_begin(const Logs&) {}
  virtual void on_train_end(const Logs&) {}
  virtual void on_epoch_begin(int /*epoch*/, const Logs&) {}
  virtual void on_epoch_end(int /*epoch*/, const Logs&) {}
  virtual void on_train_batch_begin(int /*batch*/, const Logs&) {}
  virtual void on_train_batch_end(int /*batch*/, const Logs&) {}
  virtual void on_test_begin(const Logs&) {}
  virtual void on_test_end(const Logs&) {}
  virtual void on_test_batch_begin(int /*batch*/, const Logs&) {}
  virtual void on_test_batch_end(int /*batch*/, const Logs&) {}
  virtual void on_predict_begin(const Logs&) {}
  virtual void on_predict_end(const Logs&) {}
  virtual void on_predict_batch_begin(int /*batch*/, const Logs&) {}
  virtual void on_predict_batch_end(int /*batch*/, const Logs&) {}

  static std::shared_ptr<Callback> get(const std::string& name);

 protected:
  Model* model_ = nullptr;
  json params_;
};

using CallbackPtr = std::shared_ptr<Callback>;

}  // namespace fitrun::callbacks

namespace fitrun {
using CallbackRef = Ref<callbacks::Callback>;
}
