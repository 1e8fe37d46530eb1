#include "fitrun/callbacks/terminate_on_nan.hpp"

#include <cmath>

#include "callbacks/console.hpp"
#include "fitrun/error.hpp"
#include "fitrun/model.hpp"

namespace fitrun::callbacks {

void TerminateOnNaN::on_train_batch_end(int batch, const Logs& logs) {
  auto it = logs.find("loss");
  if (it == logs.end() || std::isfinite(it->second)) return;
  if (raise_error_)
    throw Error("TerminateOnNaN: loss is " + std::string(std::isnan(it->second) ? "NaN" : "infinite") +
                " at batch " + std::to_string(batch) + "; training stopped");
  detail::console_print("Batch {}: Invalid loss, terminating training\n", batch);
  model()->stop_training = true;
}

}  // namespace fitrun::callbacks
