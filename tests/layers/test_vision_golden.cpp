// Golden values from Keras itself (tests/data/vision_golden.json, written by
// tests/data/vision_golden.py with Keras 3): every vision layer is built from Keras' own
// get_config() through fitrun's registry, given Keras' weights and input, and must produce
// Keras' output (and, for BatchNormalization in training, Keras' moving statistics).
#include <catch2/catch.hpp>

#include <fstream>

#include "fitrun/layer.hpp"
#include "layers/layer_test_helpers.hpp"

using namespace fitrun;
using namespace layer_test;

namespace {
Tensor tensor_of(const json& a) {
  std::vector<float> data = a.at("data").get<std::vector<float>>();
  return Tensor::from_vector(data, Shape(a.at("shape").get<std::vector<int64_t>>()));
}
std::vector<double> values_of(const json& a) { return a.at("data").get<std::vector<double>>(); }
}  // namespace

TEST_CASE("vision layers reproduce Keras 3 outputs from Keras configs and weights",
          "[layers][conv][pooling][normalization][reshaping][golden]") {
  std::ifstream in(std::string(FITRUN_TEST_DATA) + "/vision_golden.json");
  REQUIRE(in.good());
  const json golden = json::parse(in);
  const json& cases = golden.at("cases");
  REQUIRE(cases.size() >= 30);
  for (const json& c : cases) {
    const std::string cls = c.at("class_name").get<std::string>();
    INFO(cls << " " << c.at("config").dump() << " " << c.value("note", std::string()));
    LayerPtr layer = layer_from_config(cls, c.at("config"));
    const Tensor x = tensor_of(c.at("input"));
    layer->ensure_built({x.shape()});
    const auto weights = layer->weights();
    REQUIRE(weights.size() == c.at("weights").size());
    for (size_t i = 0; i < weights.size(); ++i) {
      const Tensor w = tensor_of(c.at("weights")[i]);
      INFO("weight " << weights[i]->path);
      REQUIRE(weights[i]->value.shape() == w.shape());
      weights[i]->value.copy_from(w);
    }
    const bool training = c.at("training").get<bool>();
    const Tensor y = forward(*layer, {x}, training);
    const Tensor expected = tensor_of(c.at("output"));
    REQUIRE(y.shape() == expected.shape());
    check_close(y, values_of(c.at("output")), 1e-5, 2e-6);
    if (c.contains("weights_after"))
      for (size_t i = 0; i < weights.size(); ++i) {
        INFO("after the training call: " << weights[i]->path);
        check_close(weights[i]->value, values_of(c.at("weights_after")[i]), 1e-5, 1e-6);
      }
  }
}
