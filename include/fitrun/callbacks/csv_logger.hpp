#pragma once
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks {

/// Keras' CSVLogger: one row per epoch, as Keras writes it: a header "epoch" + the sorted log
/// keys (plus val_* columns for each key when the first epoch had none, as Keras does), the
/// 0-based epoch, values as Python's str(float), "NA" for a value missing in an epoch, lines
/// ending in "\r\n" (Python's csv module). Each row is flushed at once. append=true adds rows to
/// an existing file (the header is written only when the file is empty).
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, std::string separator = ",", bool append = false);
  ~CSVLogger() override;
  void on_train_begin(const Logs&) override;
  void on_epoch_end(int epoch, const Logs& logs) override;
  void on_train_end(const Logs&) override;
  std::string class_name() const override { return "CSVLogger"; }
  json get_config() const override;

 private:
  void close();

  std::string filename_, separator_;
  bool append_;
  std::FILE* file_ = nullptr;
  bool write_header_ = true;
  std::optional<std::vector<std::string>> keys_;
};

}  // namespace fitrun::callbacks
