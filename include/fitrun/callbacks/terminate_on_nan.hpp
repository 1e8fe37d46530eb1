#pragma once
#include <string>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks {

/// Keras' TerminateOnNaN: stops training (model.stop_training) after the batch whose "loss" is
/// NaN or infinite; with raise_error, throws fitrun::Error instead (Keras 3's raise_error).
class TerminateOnNaN : public Callback {
 public:
  explicit TerminateOnNaN(bool raise_error = false) : raise_error_(raise_error) {}
  void on_train_batch_end(int batch, const Logs& logs) override;
  std::string class_name() const override { return "TerminateOnNaN"; }
  json get_config() const override { return {{"raise_error", raise_error_}}; }

 private:
  bool raise_error_;
};

}  // namespace fitrun::callbacks
