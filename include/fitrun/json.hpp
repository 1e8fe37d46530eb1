#pragma once
// fitrun uses nlohmann::json for configs (Keras' get_config / to_json format).
#include <nlohmann/json.hpp>

namespace fitrun {
using json = nlohmann::json;
}
