// Process-wide settings of fitrun/runtime.hpp that any build has.
#include <catch2/catch.hpp>

#include "fitrun/error.hpp"
#include "fitrun/runtime.hpp"

using namespace fitrun;

TEST_CASE("set_float32_matmul_precision takes highest or high and names itself otherwise",
          "[core]") {
  CHECK(get_float32_matmul_precision() == "highest");  // exact fp32 by default
  set_float32_matmul_precision("high");
  CHECK(get_float32_matmul_precision() == "high");
  CHECK_THROWS_AS(set_float32_matmul_precision("medium"), ConfigError);
  CHECK_THROWS_WITH(set_float32_matmul_precision("medium"),
                    "float32_matmul_precision: expected \"highest\" or \"high\", got \"medium\"");
  CHECK(get_float32_matmul_precision() == "high");  // a bad value changes nothing
  set_float32_matmul_precision("highest");
  CHECK(get_float32_matmul_precision() == "highest");
}
