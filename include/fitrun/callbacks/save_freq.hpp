#pragma once
// Keras' save_freq argument of ModelCheckpoint and BackupAndRestore: "epoch" or a number of
// batches, with the batch counting both use.
#include <string>

#include "fitrun/json.hpp"

namespace fitrun::callbacks {

class SaveFreq {
 public:
  /// "epoch" (the only word Keras accepts); anything else throws ConfigError.
  SaveFreq(const char* word = "epoch");
  SaveFreq(const std::string& word) : SaveFreq(word.c_str()) {}
  /// Every `batches` batches (>= 1; counted across epochs).
  SaveFreq(int batches);
  bool per_epoch() const { return batches_ == 0; }
  int batches() const { return batches_; }
  /// "epoch" or the number, as in Keras' configs.
  json to_json() const { return per_epoch() ? json("epoch") : json(batches_); }

 private:
  int batches_ = 0;
};

/// Keras' _should_save_on_batch: counts the batches seen (a batch index that does not grow
/// means a new epoch began) and answers true every `freq.batches()` of them.
class BatchCounter {
 public:
  bool should_save(int batch, const SaveFreq& freq);

 private:
  int last_batch_ = -1;
  int since_save_ = 0;
};

}  // namespace fitrun::callbacks
