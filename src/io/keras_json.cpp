#include "io/keras_json.hpp"

#include <charconv>
#include <cmath>

namespace fitrun::io {

json keras_float(float value) {
  if (!std::isfinite(value)) return json(static_cast<double>(value));
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value);  // shortest round-trip form
  return json(std::stod(std::string(buf, res.ptr)));
}

json keras_object(const std::string& module, const std::string& class_name, json config,
                  json registered_name) {
  return json{{"module", module},
              {"class_name", class_name},
              {"config", std::move(config)},
              {"registered_name", std::move(registered_name)}};
}

json dtype_policy(const std::string& name) {
  return keras_object("keras", "DTypePolicy", json{{"name", name}});
}

json serialize_initializer(const initializers::Initializer& init) {
  return keras_object("keras.initializers", init.class_name(), init.get_config());
}

json serialize_or_null(const RegularizerRef& r) {
  return r ? regularizers::serialize(*r) : json(nullptr);
}

json serialize_or_null(const ConstraintRef& c) {
  return c ? constraints::serialize(*c) : json(nullptr);
}

json shape_json(const Shape& shape) {
  json out = json::array();
  for (int64_t d : shape) out.push_back(d < 0 ? json(nullptr) : json(d));
  return out;
}

}  // namespace fitrun::io
