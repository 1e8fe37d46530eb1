#include "fitrun/callbacks/save_freq.hpp"

#include "fitrun/error.hpp"

namespace fitrun::callbacks {

SaveFreq::SaveFreq(const char* word) {
  if (std::string(word) != "epoch")
    throw ConfigError("save_freq must be \"epoch\" or a number of batches >= 1, got \"" +
                      std::string(word) + "\"");
}

SaveFreq::SaveFreq(int batches) : batches_(batches) {
  if (batches < 1)
    throw ConfigError("save_freq must be \"epoch\" or a number of batches >= 1, got " +
                      std::to_string(batches));
}

bool BatchCounter::should_save(int batch, const SaveFreq& freq) {
  if (freq.per_epoch()) return false;
  since_save_ += batch <= last_batch_ ? batch + 1 : batch - last_batch_;
  last_batch_ = batch;
  if (since_save_ < freq.batches()) return false;
  since_save_ = 0;
  return true;
}

}  // namespace fitrun::callbacks
