// The optimizer state that the base options add (EMA averages, gradient accumulators, a
// schedule's step) is saved with the model, so a resumed run equals an uninterrupted one.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>

#include <fitrun/fitrun.hpp>

#include "io/io_test_helpers.hpp"

using namespace fitrun;
using namespace fitrun::layers;
using io_test::weights_of;
namespace fs = std::filesystem;

namespace {

std::string temp_dir() {
  std::string tmpl = (fs::temp_directory_path() / "fitrun-optstate-XXXXXX").string();
  REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

std::pair<Tensor, Tensor> data() {
  Tensor x = Tensor::normal({120, 6}, 0, 1, 5);
  Tensor y = Tensor::zeros({120}, DType::int32);
  for (int64_t i = 0; i < 120; ++i) y.data<int32_t>()[i] = x.data<float>()[i * 6] > 0 ? 1 : 0;
  return {x, y};
}

std::shared_ptr<Sequential> make_model(bool ema) {
  clear_session();
  set_seed(7);
  auto m = std::make_shared<Sequential>(
      std::initializer_list<SequentialItem>{Input({6}), Dense(8, "relu"), Dense(2)});
  optimizers::AdamOptions o;
  o.learning_rate = optimizers::schedules::CosineDecay(0.0, 40, 0.1, 0.01, 5);
  o.clipnorm = 0.5;
  o.gradient_accumulation_steps = 3;  // epochs of 4 steps end mid-accumulation
  o.use_ema = ema;
  losses::CrossentropyOptions lo;
  lo.from_logits = true;
  m->compile(optimizers::Adam(o), losses::SparseCategoricalCrossentropy(lo));
  return m;
}

FitOptions epochs(int n, int initial = 0) {
  FitOptions o;
  o.batch_size = 30;
  o.epochs = n;
  o.initial_epoch = initial;
  o.verbose = 0;
  return o;
}

}  // namespace

TEST_CASE("resuming with a schedule and gradient accumulation is bit-identical",
          "[io][h5][resume][optimizers]") {
  const std::string dir = temp_dir();
  auto [x, y] = data();
  auto reference = make_model(false);
  reference->fit(x, y, epochs(4));

  auto first = make_model(false);
  first->fit(x, y, epochs(2));
  REQUIRE(first->optimizer().accumulators().size() == 4);
  CHECK(first->optimizer().accumulators()[0].to_vector() != std::vector<float>(48, 0.f));
  first->save(dir + "/m.h5");
  auto resumed = load_model(dir + "/m.h5");
  CHECK(resumed->optimizer().learning_rate_schedule() != nullptr);
  CHECK(resumed->optimizer().iterations() == 8);
  CHECK(resumed->optimizer().accumulators()[0].to_vector() ==
        first->optimizer().accumulators()[0].to_vector());
  resumed->fit(x, y, epochs(4, 2));
  CHECK(weights_of(*resumed) == weights_of(*reference));
  fs::remove_all(dir);
}

TEST_CASE("EMA averages are saved and fit ends with them in the weights", "[io][h5][optimizers]") {
  const std::string dir = temp_dir();
  auto [x, y] = data();
  auto m = make_model(true);
  m->fit(x, y, epochs(2));
  const auto& averages = m->optimizer().averages();
  REQUIRE(averages.size() == 4);
  // finalize_variable_values: the weights are the averages after fit.
  CHECK(m->weights()[0]->value.to_vector() == averages[0].to_vector());
  m->save_weights(dir + "/m.weights.h5");
  auto again = make_model(true);
  again->load_weights(dir + "/m.weights.h5");
  REQUIRE(again->optimizer().averages().size() == 4);
  for (size_t i = 0; i < 4; ++i)
    CHECK(again->optimizer().averages()[i].to_vector() == averages[i].to_vector());
  CHECK(again->optimizer().iterations() == m->optimizer().iterations());
  fs::remove_all(dir);
}
