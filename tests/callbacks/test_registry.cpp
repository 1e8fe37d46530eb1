// callback_from_config: Keras' {"class_name", "config"} form, with errors naming JSON paths.
#include <catch2/catch.hpp>

#include "fitrun/callbacks/history.hpp"
#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/callbacks/registry.hpp"
#include "fitrun/error.hpp"

using namespace fitrun;
using namespace fitrun::callbacks;

TEST_CASE("callback_from_config builds History and ProgbarLogger", "[callbacks][registry]") {
  CHECK(dynamic_cast<History*>(callback_from_config({{"class_name", "History"}}).get()));
  auto bar = callback_from_config(
      {{"module", "keras.callbacks"}, {"class_name", "ProgbarLogger"}, {"config", json::object()}});
  CHECK(dynamic_cast<ProgbarLogger*>(bar.get()));
  const auto names = registered_callbacks();
  CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("callback_from_config errors name the JSON path", "[callbacks][registry]") {
  CHECK_THROWS_WITH(callback_from_config({{"class_name", "Histroy"}}, "/callbacks/1"),
                    Catch::StartsWith("/callbacks/1/class_name: unknown callback \"Histroy\" "
                                      "(did you mean \"History\"?); known callbacks: "));
  CHECK_THROWS_AS(callback_from_config({{"class_name", "Nope"}}), ConfigError);
  CHECK_THROWS_WITH(callback_from_config({{"class_name", "LambdaCallback"}}, "/callbacks/0"),
                    "/callbacks/0/class_name: LambdaCallback takes C++ functions, so no config "
                    "can describe it; construct it in C++ and pass it in FitOptions::callbacks");
  CHECK_THROWS_WITH(callback_from_config({{"class_name", "History"}, {"config", {{"x", 1}}}},
                                         "/callbacks/2"),
                    "/callbacks/2/config/x: unknown key for History");
  CHECK_THROWS_WITH(callback_from_config({{"class_name", "History"}, {"extra", 1}}, "/callbacks/2"),
                    "/callbacks/2/extra: unknown key for a callback");
  CHECK_THROWS_WITH(callback_from_config(json::array(), "/callbacks/3"),
                    "/callbacks/3: expected an object, got []");
  CHECK_THROWS_WITH(callback_from_config({{"config", json::object()}}, "/callbacks/3"),
                    "/callbacks/3/class_name: required but missing");
}
