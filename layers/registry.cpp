// The built-in layer classes, by Keras class name. Factories read Keras' config keys; the
// full config reader (every argument, JSON paths in errors) lives in src/io.
#include <map>

#include "fitrun/layers/activation_layer.hpp"
#include "fitrun/layers/dense.hpp"
#include "fitrun/layers/dropout.hpp"
#include "fitrun/layers/input_layer.hpp"
#include "fitrun/layers/merging.hpp"
#include "fitrun/layers/reshaping.hpp"

namespace fitrun {

namespace {
std::string name_of(const json& c) { return c.value("name", std::string()); }
}  // namespace

void register_builtin_layers(std::map<std::string, LayerFactory>& r) {
  using namespace layers;
  r["Dense"] = [](const json& c) {
    DenseOptions o;
    o.use_bias = c.value("use_bias", true);
    o.name = name_of(c);
    return std::make_shared<Dense>(c.value("units", int64_t(1)),
                                   c.value("activation", std::string("linear")), o);
  };
  r["Activation"] = [](const json& c) {
    return std::make_shared<layers::Activation>(c.value("activation", std::string("linear")),
                                                name_of(c));
  };
  r["LeakyReLU"] = [](const json& c) {
    return std::make_shared<LeakyReLU>(c.value("negative_slope", c.value("alpha", 0.3f)),
                                       name_of(c));
  };
  r["Dropout"] = [](const json& c) {
    return std::make_shared<Dropout>(c.value("rate", 0.5f), name_of(c));
  };
  r["Flatten"] = [](const json& c) { return std::make_shared<Flatten>(name_of(c)); };
  r["Reshape"] = [](const json& c) {
    return std::make_shared<Reshape>(Shape(c.value("target_shape", std::vector<int64_t>{-1})),
                                     name_of(c));
  };
  r["Add"] = [](const json& c) { return std::make_shared<Add>(name_of(c)); };
  r["Concatenate"] = [](const json& c) {
    return std::make_shared<Concatenate>(c.value("axis", -1), name_of(c));
  };
}

}  // namespace fitrun
