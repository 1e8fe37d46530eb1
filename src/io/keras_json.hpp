#pragma once
// Small pieces of Keras 3's serialized form, shared by every get_config() and the model
// writer: the {"module", "class_name", "config", "registered_name"} envelope, DTypePolicy
// objects, initializers, and floats written the way Python prints them.
#include <string>

#include "fitrun/constraints.hpp"
#include "fitrun/initializers.hpp"
#include "fitrun/regularizers.hpp"
#include "fitrun/json.hpp"
#include "fitrun/shape.hpp"

namespace fitrun::io {

/// A float32 as the shortest decimal that reads back to the same float (0.3f -> 0.3, not
/// 0.30000001192092896), so configs look like Keras' and round-trip exactly.
json keras_float(float value);

/// Keras 3's serialized object: {"module", "class_name", "config", "registered_name"}.
json keras_object(const std::string& module, const std::string& class_name, json config,
                  json registered_name = nullptr);

/// Keras 3's dtype policy object for a layer's "dtype": {"module": "keras", "class_name":
/// "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}.
json dtype_policy(const std::string& name = "float32");

/// An initializer as Keras 3 writes it ({"module": "keras.initializers", ...}).
json serialize_initializer(const initializers::Initializer& init);

/// A regularizer or constraint as Keras 3 writes it, or null when unset (the value of
/// "kernel_regularizer" and the like in a layer config).
json serialize_or_null(const RegularizerRef& r);
json serialize_or_null(const ConstraintRef& c);

/// A shape as a Keras list, unknown dimensions (-1) as null: [null, 28, 28, 1].
json shape_json(const Shape& shape);

}  // namespace fitrun::io
