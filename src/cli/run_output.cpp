#include "cli/run_output.hpp"

#include <cmath>
#include <ctime>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "cli/run_config.hpp"
#include "fitrun/callbacks/progbar_format.hpp"
#include "fitrun/error.hpp"
#include "fitrun/model.hpp"
#include "io/atomic_file.hpp"

namespace fitrun::cli {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- RunState

json RunState::to_json() const {
  json h = json::object();
  for (const auto& [k, v] : history) {
    json list = json::array();
    for (double x : v) list.push_back(std::isfinite(x) ? json(x) : json(nullptr));
    h[k] = list;
  }
  return {{"epoch", epoch},     {"epochs", epochs},         {"checkpoint", checkpoint},
          {"completed", completed}, {"history_epochs", history_epochs}, {"history", h},
          {"test_metrics", test_metrics}};
}

RunState RunState::from_json(const json& j, const std::string& file) {
  RunState s;
  try {
    s.epoch = j.at("epoch").get<int>();
    s.epochs = j.at("epochs").get<int>();
    s.checkpoint = j.at("checkpoint").get<std::string>();
    s.completed = j.at("completed").get<bool>();
    s.history_epochs = j.at("history_epochs").get<std::vector<int>>();
    for (const auto& [k, v] : j.at("history").items()) {
      auto& list = s.history[k];
      for (const json& x : v)
        list.push_back(x.is_null() ? std::numeric_limits<double>::quiet_NaN() : x.get<double>());
      if (list.size() != s.history_epochs.size()) throw Error("history." + k + " has the wrong length");
    }
    s.test_metrics = j.value("test_metrics", json());
  } catch (const std::exception& e) {
    throw InvalidInput(file + ": not a fitrun run state (" + e.what() + ")");
  }
  return s;
}

// ---------------------------------------------------------------- RunOutput

void RunOutput::check_unused() const {
  std::error_code ec;
  const auto st = fs::status(dir_, ec);
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st))
    throw InvalidInput(dir_.string() + ": the output path exists and is not a folder");
  if (fs::exists(dir_ / "run.json"))
    throw InvalidInput(dir_.string() + ": the output folder already holds a run (continue it with "
                       "`fitrun resume " + dir_.string() + "`, or choose another --output)");
}

void RunOutput::create() const {
  std::error_code ec;
  fs::create_directories(dir_ / "checkpoints", ec);
  if (ec) throw IOError(dir_.string() + ": cannot create the output folder: " + ec.message());
}

void RunOutput::write_text(const std::string& name, const std::string& text) const {
  const fs::path target = dir_ / name;
  io::AtomicFile f(target.string());
  {
    std::ofstream o(f.temp_path(), std::ios::binary | std::ios::trunc);
    o << text;
    o.flush();
    if (!o) throw IOError(target.string() + ": write failed");
  }
  f.commit();
}

void RunOutput::write_state(const RunState& state) const {
  write_text("state.json", state.to_json().dump(2) + "\n");
}

RunState RunOutput::read_state() const {
  const fs::path p = dir_ / "state.json";
  std::ifstream in(p);
  if (!in)
    throw InvalidInput(dir_.string() + ": not a fitrun output folder (no state.json; was it made "
                       "by `fitrun train`?)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw InvalidInput(p.string() + ": not valid JSON");
  }
  return RunState::from_json(j, p.string());
}

void RunOutput::write_history_csv(const RunState& state) const {
  std::ostringstream o;
  o << "epoch";
  for (const auto& [k, v] : state.history) o << ',' << k;
  o << '\n';
  o.precision(17);
  for (size_t r = 0; r < state.history_epochs.size(); ++r) {
    o << state.history_epochs[r];
    for (const auto& [k, v] : state.history) {
      o << ',';
      if (std::isfinite(v[r])) o << v[r];
    }
    o << '\n';
  }
  write_text("history.csv", o.str());
}

void RunOutput::log(const std::string& line) const {
  std::ofstream o(dir_ / "train.log", std::ios::app);
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  o << stamp << ' ' << line << '\n';
}

// ---------------------------------------------------------------- CheckpointWriter

void CheckpointWriter::on_epoch_end(int epoch, const Logs& logs) {
  // A row per epoch; keys first seen now get NaN for the earlier rows (val_* with
  // validation_freq > 1), keys absent now get NaN in this row.
  const size_t rows = state_.history_epochs.size();
  for (const auto& [k, v] : logs)
    if (!state_.history.count(k))
      state_.history[k] = std::vector<double>(rows, std::numeric_limits<double>::quiet_NaN());
  for (auto& [k, v] : state_.history) {
    auto it = logs.find(k);
    v.push_back(it == logs.end() ? std::numeric_limits<double>::quiet_NaN() : it->second);
  }
  state_.history_epochs.push_back(epoch);
  out_.write_history_csv(state_);
  out_.log("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(state_.epochs) + ": " +
           format_logs(logs));
  last_epoch_ = epoch;
  if ((epoch + 1) % freq_ == 0) save_checkpoint(epoch);
}

void CheckpointWriter::on_train_end(const Logs&) {
  if (last_epoch_ >= 0 && last_epoch_ + 1 > state_.epoch) save_checkpoint(last_epoch_);
}

void CheckpointWriter::save_checkpoint(int epoch) {
  char name[64];
  std::snprintf(name, sizeof name, "checkpoints/epoch-%04d.h5", epoch + 1);
  model()->save((out_.dir() / name).string());
  const std::string previous = state_.checkpoint;
  state_.epoch = epoch + 1;
  state_.checkpoint = name;
  out_.write_state(state_);  // only now does the run point at the new checkpoint
  if (!keep_all_ && !previous.empty() && previous != state_.checkpoint) {
    std::error_code ec;
    fs::remove(out_.dir() / previous, ec);
  }
  out_.log("checkpoint " + std::string(name));
}

std::string format_logs(const Logs& logs) {
  std::string s;
  for (const auto& [k, v] : logs) {
    if (!s.empty()) s += " - ";
    s += k + ": " + callbacks::progbar::format_value(v);
  }
  return s;
}

}  // namespace fitrun::cli
