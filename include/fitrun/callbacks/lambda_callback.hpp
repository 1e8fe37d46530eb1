#pragma once
#include <functional>
#include <string>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks {

/// The hooks of a LambdaCallback; any may be left empty.
struct LambdaCallbackOptions {
  std::function<void(int epoch, const Logs&)> on_epoch_begin, on_epoch_end;
  std::function<void(const Logs&)> on_train_begin, on_train_end;
  std::function<void(int batch, const Logs&)> on_train_batch_begin, on_train_batch_end;
};

/// Keras' LambdaCallback: a callback made of functions, e.g.
///   LambdaCallback({.on_epoch_end = [](int epoch, const Logs& logs) { ... }})
/// C++ only: functions have no config.
class LambdaCallback : public Callback {
 public:
  explicit LambdaCallback(LambdaCallbackOptions hooks) : f_(std::move(hooks)) {}
  void on_epoch_begin(int epoch, const Logs& logs) override { call(f_.on_epoch_begin, epoch, logs); }
  void on_epoch_end(int epoch, const Logs& logs) override { call(f_.on_epoch_end, epoch, logs); }
  void on_train_begin(const Logs& logs) override { call(f_.on_train_begin, logs); }
  void on_train_end(const Logs& logs) override { call(f_.on_train_end, logs); }
  void on_train_batch_begin(int batch, const Logs& logs) override {
    call(f_.on_train_batch_begin, batch, logs);
  }
  void on_train_batch_end(int batch, const Logs& logs) override {
    call(f_.on_train_batch_end, batch, logs);
  }
  std::string class_name() const override { return "LambdaCallback"; }

 private:
  template <class F, class... A> static void call(const F& f, A&&... args) {
    if (f) f(std::forward<A>(args)...);
  }
  LambdaCallbackOptions f_;
};

}  // namespace fitrun::callbacks
