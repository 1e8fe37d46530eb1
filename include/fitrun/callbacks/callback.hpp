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

  /// Keras' class name ("EarlyStopping"); callback_from_config (callbacks/registry.hpp) builds
  /// a callback back from {"class_name": class_name(), "config": get_config()}.
  virtual std::string class_name() const { return "Callback"; }
  /// Keras' get_config(): the constructor arguments.
  virtual json get_config() const { return json::object(); }

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

  /// A callback by class name with default arguments (see callback_from_config).
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
