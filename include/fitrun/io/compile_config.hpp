#pragma once
// Optimizers, losses and metrics to and from Keras' serialized form, as they appear in a
// Keras 3 "compile_config" and a tf.keras "training_config":
//   {"module": "keras.optimizers", "class_name": "Adam", "config": {"learning_rate": 0.001, ...},
//    "registered_name": null}
// deserialize() also takes a plain name ("adam", "mse", "accuracy"). Arguments fitrun does not
// implement (clipnorm, EMA, learning-rate schedules, ...) are errors naming their JSON path, not
// silently dropped. Model::get_compile_config() / compile_from_config() use these.
#include <memory>
#include <string>

#include "fitrun/json.hpp"
#include "fitrun/losses/loss.hpp"
#include "fitrun/metrics/metric.hpp"
#include "fitrun/optimizers/optimizer.hpp"

namespace fitrun::optimizers {
/// Keras 3's serialized optimizer.
json serialize(const Optimizer& optimizer);
/// An optimizer from a name or a serialized object (Keras 3, or tf.keras incl. "Custom>Adam");
/// errors name `path`.
std::shared_ptr<Optimizer> deserialize(const json& config, const std::string& path = "");
}  // namespace fitrun::optimizers

namespace fitrun::losses {
json serialize(const Loss& loss);
std::shared_ptr<Loss> deserialize(const json& config, const std::string& path = "");
}  // namespace fitrun::losses

namespace fitrun::metrics {
/// A metric's name when Metric::get(name) gives it back ("accuracy"), else its serialized object.
json serialize(const Metric& metric);
std::shared_ptr<Metric> deserialize(const json& config, const std::string& path = "");
}  // namespace fitrun::metrics
