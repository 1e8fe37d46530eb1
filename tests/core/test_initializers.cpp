#include <catch2/catch.hpp>
#include <cmath>

#include <fitrun/fitrun.hpp>

using namespace fitrun;
using namespace fitrun::initializers;

namespace {
struct Stats {
  double mean = 0, stddev = 0, min = 1e30, max = -1e30;
};
Stats stats(const Tensor& t) {
  Stats s;
  for (int64_t i = 0; i < t.size(); ++i) {
    double v = t.flat(i);
    s.mean += v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  s.mean /= double(t.size());
  for (int64_t i = 0; i < t.size(); ++i) s.stddev += (t.flat(i) - s.mean) * (t.flat(i) - s.mean);
  s.stddev = std::sqrt(s.stddev / double(t.size()));
  return s;
}
Tensor filled(const Initializer& init, Shape shape) {
  Tensor t(shape);
  Generator gen(123);
  init.fill(t, gen);
  return t;
}
}  // namespace

TEST_CASE("compute_fans follows Keras for dense and conv kernels", "[core][initializers]") {
  CHECK(compute_fans({64, 10}) == std::pair<double, double>(64, 10));
  CHECK(compute_fans({3, 3, 16, 32}) == std::pair<double, double>(144, 288));
  CHECK(compute_fans({7}) == std::pair<double, double>(7, 7));
}

TEST_CASE("variance-scaling initializers have Keras' limits and spreads", "[core][initializers]") {
  const double in = 300, out = 200;
  Stats g = stats(filled(*Initializer::get("glorot_uniform"), {300, 200}));
  const double limit = std::sqrt(6.0 / (in + out));
  CHECK(g.max <= limit);
  CHECK(g.min >= -limit);
  CHECK(g.max > 0.98 * limit);
  CHECK(g.stddev == Approx(limit / std::sqrt(3.0)).epsilon(0.02));
  CHECK(std::fabs(g.mean) < 0.002);

  Stats h = stats(filled(*Initializer::get("he_normal"), {300, 200}));
  const double he_std = std::sqrt(2.0 / in);
  CHECK(h.stddev == Approx(he_std).epsilon(0.03));      // truncation is corrected for
  CHECK(h.max <= 2 * he_std / 0.87962566103423978 + 1e-6);  // truncated at 2 sigma

  Stats l = stats(filled(*Initializer::get("lecun_normal"), {300, 200}));
  CHECK(l.stddev == Approx(std::sqrt(1.0 / in)).epsilon(0.03));
  Stats gn = stats(filled(*Initializer::get("glorot_normal"), {300, 200}));
  CHECK(gn.stddev == Approx(std::sqrt(2.0 / (in + out))).epsilon(0.03));
  Stats hu = stats(filled(*Initializer::get("he_uniform"), {300, 200}));
  CHECK(hu.max <= std::sqrt(6.0 / in));
}

TEST_CASE("constant and random initializers", "[core][initializers]") {
  CHECK(stats(filled(*Initializer::get("zeros"), {10})).max == 0);
  CHECK(stats(filled(*Initializer::get("ones"), {10})).min == 1);
  CHECK(stats(filled(Constant(0.25f), {10})).min == 0.25);
  Stats n = stats(filled(RandomNormal(1.f, 0.5f), {100000}));
  CHECK(n.mean == Approx(1.0).margin(0.01));
  CHECK(n.stddev == Approx(0.5).epsilon(0.02));
  Stats u = stats(filled(*Initializer::get("random_uniform"), {100000}));
  CHECK(u.min >= -0.05);
  CHECK(u.max < 0.05);
}

TEST_CASE("unknown initializer names list the known ones", "[core][initializers]") {
  CHECK_THROWS_WITH(Initializer::get("glorot"),
                    Catch::StartsWith("unknown initializer \"glorot\"; known: zeros, ones"));
}
