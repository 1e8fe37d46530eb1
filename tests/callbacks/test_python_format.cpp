// python_repr / python_format against values printed by CPython 3.11.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "fitrun/callbacks/python_format.hpp"
#include "fitrun/error.hpp"

using namespace fitrun;
using namespace fitrun::callbacks;

TEST_CASE("python_repr matches Python's repr of floats", "[callbacks][format]") {
  CHECK(python_repr(0.1) == "0.1");
  CHECK(python_repr(0.5) == "0.5");
  CHECK(python_repr(2.0) == "2.0");
  CHECK(python_repr(-3.0) == "-3.0");
  CHECK(python_repr(1e-05) == "1e-05");
  CHECK(python_repr(0.0001) == "0.0001");
  CHECK(python_repr(1e16) == "1e+16");
  CHECK(python_repr(1e15) == "1000000000000000.0");
  CHECK(python_repr(123456.789) == "123456.789");
  CHECK(python_repr(0.30000000000000004) == "0.30000000000000004");
  CHECK(python_repr(double(0.1f)) == "0.10000000149011612");
  CHECK(python_repr(1.5e-7) == "1.5e-07");
  CHECK(python_repr(0.0) == "0.0");
  CHECK(python_repr(std::nan("")) == "nan");
  CHECK(python_repr(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("python_format fills str.format templates as Python does", "[callbacks][format]") {
  const std::map<std::string, FormatValue> v = {
      {"epoch", int64_t(3)}, {"batch", int64_t(12)}, {"val_loss", 0.123456}, {"acc", 0.9}};
  CHECK(python_format("ckpt-{epoch:02d}-{val_loss:.3f}.h5", v) == "ckpt-03-0.123.h5");
  CHECK(python_format("{epoch}-{batch:04d}", v) == "3-0012");
  CHECK(python_format("{val_loss}", v) == "0.123456");
  CHECK(python_format("{val_loss:.2e}|{acc:.1%}|{acc:g}", v) == "1.23e-01|90.0%|0.9");
  CHECK(python_format("{epoch:>4}|{epoch:<4}|{epoch:^5}|{epoch:+d}|{epoch:*>3}", v) ==
        "   3|3   |  3  |+3|**3");
  CHECK(python_format("{acc:.3}|{acc:08.3f}", v) == "0.9|0000.900");
  CHECK(python_format("{{epoch}} {epoch}", v) == "{epoch} 3");
  CHECK(python_format("{n:,}", {{"n", int64_t(1234567)}}) == "1,234,567");
  CHECK_THROWS_WITH(python_format("{val_acc:.2f}.h5", v),
                    "\"{val_acc:.2f}.h5\": no value named \"val_acc\" to fill in; available: acc, "
                    "batch, epoch, val_loss");
  CHECK_THROWS_WITH(python_format("{val_loss:02d}", v),
                    Catch::StartsWith("format field \"{val_loss:02d}\": format code 'd' needs an "
                                      "integer"));
  CHECK_THROWS_AS(python_format("{epoch", v), ConfigError);
  CHECK_THROWS_AS(python_format("{epoch:q}", v), ConfigError);
}
