#pragma once
#include <map>
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"

namespace fitrun::callbacks {

/// Records every epoch's logs; fit() returns it (and stores it as model.history()).
class History : public Callback {
 public:
  /// history["loss"][e] is the loss of the e-th epoch run (val_* lists may be shorter).
  std::map<std::string, std::vector<double>> history;
  /// Epoch indices (0-based), one per recorded epoch.
  std::vector<int> epoch;
  /// Set by fit() when Ctrl-C (SIGINT) ended training early: the batch in progress finished,
  /// the epoch's end hooks were skipped and on_train_end ran (see docs/callbacks.md).
  bool interrupted = false;

  void on_train_begin(const Logs&) override {}
  void on_epoch_end(int e, const Logs& logs) override;
  /// The last value of `key`; throws fitrun::Error when absent.
  double last(const std::string& key) const;
};

}  // namespace fitrun::callbacks
