// Compiled with -std=c++17 (see tests/CMakeLists.txt): the public headers must stay C++17-clean
// for cling (the xeus-cling notebooks) and for users on older standards.
#include <fitrun/fitrun.hpp>

#include <catch2/catch.hpp>

#if __cplusplus != 201703L
#error "this file must be compiled as C++17"
#endif

TEST_CASE("public headers compile as C++17 and work without designated initializers",
          "[core][headers]") {
  using namespace fitrun;
  layers::DenseOptions options;
  options.use_bias = false;
  layers::Dense dense(4, "relu", options);
  CHECK(dense.class_name() == "Dense");
  FitOptions fit;
  fit.epochs = 3;
  CHECK(fit.batch_size == 32);
}
