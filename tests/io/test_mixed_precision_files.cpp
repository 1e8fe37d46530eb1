// Mixed-precision policies in model files: every form of Keras' "dtype" a config may hold,
// the exact error for a policy fitrun does not have, and mixed_bfloat16 layers surviving
// to_json, .keras and .h5 round trips.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "io/io_test_helpers.hpp"
#include "mixed_precision_helpers.hpp"

using namespace fitrun;
using namespace io_test;

namespace {
json keras2_sequential() {
  std::ifstream in(std::string(FITRUN_TEST_DATA) + "/keras2_sequential.json");
  REQUIRE(in.good());
  return json::parse(in);
}

/// The policy names of a model's layers, in order.
std::vector<std::string> policies(const Model& m) {
  std::vector<std::string> out;
  for (const auto& l : m.layers()) out.push_back(l->dtype_policy().name());
  return out;
}

/// A small MLP whose hidden layer computes in bfloat16 and whose head stays float32, as
/// Keras' mixed-precision guide builds models.
Sequential mixed_mlp() {
  mixed_precision::PolicyScope scope("mixed_bfloat16");
  return Sequential({Input({12}), layers::Dense(16, "relu"),
                     layers::Dense(4).with_dtype_policy("float32")});
}
}  // namespace

TEST_CASE("a layer's dtype is read in Keras 3, tf.keras and plain-string forms",
          "[io][mixed_precision]") {
  const json forms[] = {
      json("mixed_bfloat16"),
      json({{"class_name", "Policy"}, {"config", {{"name", "mixed_bfloat16"}}}}),
      json({{"module", "keras"},
            {"class_name", "DTypePolicy"},
            {"config", {{"name", "mixed_bfloat16"}}},
            {"registered_name", nullptr}}),
  };
  for (const json& form : forms) {
    INFO(form.dump());
    json c = keras2_sequential();
    c["config"]["layers"][1]["config"]["dtype"] = form;
    auto m = model_from_config(c);
    const LayerPtr dense = m->get_layer("dense");
    CHECK(dense->dtype_policy().name() == "mixed_bfloat16");
    CHECK(dense->compute_dtype() == ComputeDType::bfloat16);
    // Written back as Keras 3 writes it.
    CHECK(dense->get_config()["dtype"] == forms[2]);
    CHECK(mixed_precision::global_policy().name() == "float32");  // reading changes no global
  }

  json c = keras2_sequential();
  c["config"]["layers"][1]["config"]["dtype"] = "mixed_bf16";
  CHECK(error_of([&] { model_from_config(c); }) ==
        "/config/layers/1/config/dtype: layer \"dense\" (Dense): unknown dtype policy "
        "\"mixed_bf16\"; expected \"float32\" or \"mixed_bfloat16\"");
}

TEST_CASE("mixed_bfloat16 layers round-trip through to_json, .keras and .h5",
          "[io][mixed_precision]") {
  TempDir dir;
  set_seed(23);
  clear_session();
  Sequential model = mixed_mlp();
  const std::vector<std::string> expected = {"mixed_bfloat16", "float32"};
  REQUIRE(policies(model) == expected);

  auto from_json = model_from_json(model.to_json());
  CHECK(policies(*from_json) == expected);
  CHECK(from_json->get_config() == model.get_config());

  if (!fitrun_test::cpu_has_bfloat16()) return;
  auto [x, y] = toy_data();
  compile_adam(model);
  model.fit(x, y, fit_options(1));
  for (const char* name : {"m.keras", "m.h5"}) {
    INFO(name);
    model.save(dir / name);
    auto loaded = load_model(dir / name);
    CHECK(policies(*loaded) == expected);
    CHECK(loaded->get_config() == model.get_config());
    check_restored(*loaded, model, x, y);  // bit-identical predictions: the same bf16 maths
  }
}
