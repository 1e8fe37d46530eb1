// History, Callback::get and ProgbarLogger. The bar is written to an in-memory FILE* and
// compared with the lines Keras 3 prints; times vary, so they are matched by pattern.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <regex>
#include <string>
#include <vector>

#include "fitrun/callbacks/callback.hpp"
#include "fitrun/callbacks/history.hpp"
#include "fitrun/callbacks/progbar_format.hpp"
#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/error.hpp"

using namespace fitrun;
using namespace fitrun::callbacks;

namespace {

// A FILE* whose contents can be read back as a string.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&buffer_, &size_)) { REQUIRE(file_ != nullptr); }
  ~MemoryFile() {
    std::fclose(file_);
    std::free(buffer_);
  }
  std::FILE* get() const { return file_; }
  std::string str() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  std::FILE* file_;
};

const Logs kBatchLogs = {{"accuracy", 0.90123}, {"loss", 0.31009}};
const Logs kEpochLogs = {{"accuracy", 0.90123}, {"loss", 0.31009},
                         {"val_accuracy", 0.95}, {"val_loss", 0.2}};

// What fit() does: params, then begin/batch/end hooks for each epoch.
void run_fit(ProgbarLogger& bar, int epochs, int steps, int verbose) {
  bar.set_params({{"epochs", epochs}, {"steps", steps}, {"verbose", verbose}});
  bar.on_train_begin({});
  for (int e = 0; e < epochs; ++e) {
    bar.on_epoch_begin(e, {});
    for (int b = 0; b < steps; ++b) {
      bar.on_train_batch_begin(b, {});
      bar.on_train_batch_end(b, kBatchLogs);
    }
    bar.on_epoch_end(e, kEpochLogs);
  }
  bar.on_train_end({});
}

std::string bar20() {
  std::string s;
  for (int i = 0; i < 20; ++i) s += "\xe2\x94\x81";  // ━
  return s;
}

const std::string kTime = R"(\d+s \d+(us|ms|s)/step)";
const std::string kMetrics =
    " - accuracy: 0\\.9012 - loss: 0\\.3101 - val_accuracy: 0\\.9500 - val_loss: 0\\.2000";

std::string strip_ansi(const std::string& s) {
  return std::regex_replace(s, std::regex("\x1b\\[[0-9;]*m"), "");
}

size_t count_of(const std::string& s, char c) { return std::count(s.begin(), s.end(), c); }

}  // namespace

TEST_CASE("History records every key per epoch", "[callbacks][history]") {
  History h;
  h.on_train_begin({});
  h.on_epoch_end(0, {{"loss", 1.0}, {"val_loss", 2.0}});
  h.on_epoch_end(1, {{"loss", 0.5}});  // validation skipped (validation_freq)
  CHECK(h.epoch == std::vector<int>{0, 1});
  CHECK(h.history.at("loss") == std::vector<double>{1.0, 0.5});
  CHECK(h.history.at("val_loss") == std::vector<double>{2.0});
  CHECK(h.last("loss") == 0.5);
  CHECK(h.last("val_loss") == 2.0);
  CHECK_THROWS_WITH(h.last("accuracy"),
                    "History has no \"accuracy\"; recorded keys: loss, val_loss");
  CHECK_THROWS_AS(h.last("accuracy"), Error);
  CHECK_THROWS_WITH(History().last("loss"), "History has no \"loss\"; recorded keys: (none)");
}

TEST_CASE("Callback::get knows History and ProgbarLogger", "[callbacks]") {
  CHECK(dynamic_cast<History*>(Callback::get("History").get()) != nullptr);
  CHECK(dynamic_cast<ProgbarLogger*>(Callback::get("ProgbarLogger").get()) != nullptr);
  CHECK_THROWS_AS(Callback::get("Histroy"), ConfigError);
  CHECK_THROWS_WITH(Callback::get("Histroy"),
                    Catch::StartsWith("unknown callback \"Histroy\" (did you mean \"History\"?); "
                                      "known callbacks: "));
}

TEST_CASE("progbar formats values, durations and step times as Keras", "[callbacks][progbar]") {
  using namespace fitrun::callbacks::progbar;
  CHECK(format_value(0.12345) == "0.1235");
  CHECK(format_value(0.0001234) == "1.2340e-04");
  CHECK(format_value(-0.5) == "-0.5000");
  CHECK(format_value(0.001) == "1.0000e-03");  // the threshold is strict: |v| > 1e-3
  CHECK(format_value(0.0) == "0.0000e+00");
  CHECK(format_value(123456.789) == "123456.7890");
  CHECK(format_value(std::nan("")) == "nan");
  CHECK(format_value(std::numeric_limits<double>::infinity()) == "inf");
  CHECK(format_value(1e300).size() > 300);

  CHECK(format_duration(5.7) == "5s");
  CHECK(format_duration(60) == "60s");
  CHECK(format_duration(61.9) == "1:01");
  CHECK(format_duration(3600) == "60:00");
  CHECK(format_duration(3661) == "1:01:01");
  CHECK(format_duration(-1) == "0s");

  CHECK(format_elapsed(6.4) == "6s");
  CHECK(format_elapsed(52.6) == "53s");

  CHECK(format_step_time(2.4) == "2s/step");
  CHECK(format_step_time(0) == "0s/step");
  CHECK(format_step_time(0.0094) == "9ms/step");
  CHECK(format_step_time(0.158) == "158ms/step");
  CHECK(format_step_time(2.5e-5) == "25us/step");

  CHECK(visible_width("\x1b[1m3/3\x1b[0m " + bar20()) == 24);
}

TEST_CASE("ProgbarLogger verbose=1 off a terminal: one plain line per epoch",
          "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  bar.set_interactive(false);
  run_fit(bar, 2, 3, 1);
  const std::string text = out.str();
  const std::string line = "3/3 " + bar20() + " " + kTime + kMetrics + "\n";
  CHECK(std::regex_match(text, std::regex("Epoch 1/2\n" + line + "Epoch 2/2\n" + line)));
  CHECK(text.find("\x1b") == std::string::npos);
  CHECK(text.find("\r") == std::string::npos);
}

TEST_CASE("ProgbarLogger verbose=1 on a terminal redraws in place", "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  bar.set_interactive(true);
  run_fit(bar, 2, 3, 1);
  const std::string text = out.str();
  CHECK(text.find("\r") != std::string::npos);
  CHECK(text.find("\x1b[1m3/3\x1b[0m \x1b[32m" + bar20() + "\x1b[0m\x1b[37m\x1b[0m \x1b[1m") !=
        std::string::npos);
  REQUIRE(!text.empty());
  CHECK(text.back() == '\n');
  CHECK(count_of(text, '\n') == 4);  // two "Epoch" lines and two final lines

  // Each epoch's final redraw, colours removed, is the plain line (plus erasing spaces).
  const std::string last = strip_ansi(text.substr(text.rfind('\r') + 1));
  CHECK(std::regex_match(last, std::regex("3/3 " + bar20() + " " + kTime + kMetrics + " *\n")));
}

TEST_CASE("ProgbarLogger on a terminal shows an ETA and throttles redraws",
          "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  bar.set_interactive(true);
  bar.set_params({{"epochs", 1}, {"steps", 100}, {"verbose", 1}});
  bar.on_epoch_begin(0, {});
  bar.on_train_batch_end(0, {{"loss", 0.5}});
  // The first update is drawn at once: count, a grey bar, then the ETA.
  const std::string first = out.str();
  CHECK(std::regex_match(strip_ansi(first),
                         std::regex("\r  1/100 " + bar20() + R"( \d+s \d+(us|ms|s)/step)" +
                                    " - loss: 0\\.5000")));
  CHECK(first.find("\x1b[32m") == std::string::npos);  // 1/100 fills no cell of 20
  for (int b = 1; b < 100; ++b) bar.on_train_batch_end(b, {{"loss", 0.5}});
  bar.on_epoch_end(0, {{"loss", 0.5}});
  // 100 fast steps within the 0.05 s throttle: far fewer than 100 redraws, final one included.
  CHECK(count_of(out.str(), '\r') < 50);
  CHECK(out.str().find("100/100") != std::string::npos);
}

TEST_CASE("ProgbarLogger verbose=2: one line per epoch", "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  bar.set_interactive(true);  // verbose=2 is plain even on a terminal
  run_fit(bar, 2, 3, 2);
  const std::string line = R"(3/3 - \d+s - \d+(us|ms|s)/step)" + kMetrics + "\n";
  CHECK(std::regex_match(out.str(), std::regex("Epoch 1/2\n" + line + "Epoch 2/2\n" + line)));
}

TEST_CASE("ProgbarLogger prints no Epoch line for a single epoch", "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  bar.set_interactive(false);
  run_fit(bar, 1, 3, 1);
  CHECK(out.str().find("Epoch") == std::string::npos);
  CHECK(std::regex_match(out.str(), std::regex("3/3 " + bar20() + " " + kTime + kMetrics + "\n")));
}

TEST_CASE("ProgbarLogger with verbose=0 in params prints nothing", "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  run_fit(bar, 2, 3, 0);
  CHECK(out.str().empty());
}

TEST_CASE("ProgbarLogger learns an unknown length from the first epoch",
          "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  bar.set_interactive(true);
  bar.set_params({{"epochs", 2}, {"steps", nullptr}, {"verbose", 1}});
  bar.on_train_begin({});
  bar.on_epoch_begin(0, {});
  bar.on_train_batch_end(0, kBatchLogs);
  CHECK(strip_ansi(out.str()).find("      1/Unknown ") != std::string::npos);
  bar.on_train_batch_end(1, kBatchLogs);
  bar.on_train_batch_end(2, kBatchLogs);
  bar.on_epoch_end(0, kEpochLogs);
  CHECK(strip_ansi(out.str()).find("3/3 " + bar20()) != std::string::npos);
  // Epoch 2 knows the length from its first step.
  bar.on_epoch_begin(1, {});
  bar.on_train_batch_end(0, kBatchLogs);
  const std::string text = strip_ansi(out.str());
  CHECK(text.substr(text.rfind('\r')).find("1/3 ") != std::string::npos);
}

TEST_CASE("ProgbarLogger draws evaluate and predict bars, but not validation inside fit",
          "[callbacks][progbar]") {
  MemoryFile out;
  ProgbarLogger bar(1, out.get());
  bar.set_interactive(false);

  SECTION("evaluate outside fit") {
    bar.set_params({{"epochs", 1}, {"steps", 2}, {"verbose", 1}});
    bar.on_test_begin({});
    bar.on_test_batch_end(0, {{"loss", 0.25}});
    bar.on_test_batch_end(1, {{"loss", 0.25}});
    bar.on_test_end({{"loss", 0.25}});
    CHECK(std::regex_match(out.str(),
                           std::regex("2/2 " + bar20() + " " + kTime + " - loss: 0\\.2500\n")));
  }
  SECTION("predict shows no values") {
    bar.set_params({{"epochs", 1}, {"steps", 12}, {"verbose", 1}});
    bar.on_predict_begin({});
    for (int b = 0; b < 12; ++b) bar.on_predict_batch_end(b, {{"outputs", 1.0}});
    bar.on_predict_end({});
    CHECK(std::regex_match(out.str(), std::regex("12/12 " + bar20() + " " + kTime + "\n")));
  }
  SECTION("validation inside fit is silent") {
    bar.set_params({{"epochs", 1}, {"steps", 1}, {"verbose", 1}});
    bar.on_train_begin({});
    bar.on_epoch_begin(0, {});
    bar.on_train_batch_end(0, kBatchLogs);
    bar.on_test_begin({});
    bar.on_test_batch_end(0, {{"loss", 0.2}});
    bar.on_test_end({{"loss", 0.2}});
    bar.on_epoch_end(0, kEpochLogs);
    bar.on_train_end({});
    CHECK(std::regex_match(out.str(), std::regex("1/1 " + bar20() + " " + kTime + kMetrics + "\n")));
    // After fit, the same callback draws evaluate's bar again.
    bar.on_test_begin({});
    bar.on_test_batch_end(0, {{"loss", 0.2}});
    bar.on_test_end({{"loss", 0.2}});
    CHECK(out.str().find("loss: 0.2000\n") != std::string::npos);
  }
}
