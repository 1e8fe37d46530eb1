// CSVLogger as keras/src/callbacks/csv_logger.py writes its files (csv.DictWriter, excel dialect).
#include "fitrun/callbacks/csv_logger.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fitrun/callbacks/python_format.hpp"
#include "fitrun/error.hpp"

namespace fitrun::callbacks {
namespace {

// Python's csv module quotes a field holding the separator, a quote or a line break.
std::string csv_field(const std::string& text, const std::string& sep) {
  if (text.find(sep) == std::string::npos && text.find_first_of("\"\r\n") == std::string::npos)
    return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

CSVLogger::CSVLogger(std::string filename, std::string separator, bool append)
    : filename_(std::move(filename)), separator_(std::move(separator)), append_(append) {
  if (filename_.empty()) throw ConfigError("CSVLogger: filename is empty");
  if (separator_.size() != 1)
    throw ConfigError("CSVLogger: separator must be one character, got \"" + separator_ + "\"");
}

CSVLogger::~CSVLogger() { close(); }

void CSVLogger::close() {
  if (file_) std::fclose(file_);
  file_ = nullptr;
}

void CSVLogger::on_train_begin(const Logs&) {
  close();
  keys_.reset();
  write_header_ = true;
  if (append_) {
    // The header goes in only when the file is new or empty.
    if (std::FILE* f = std::fopen(filename_.c_str(), "rb")) {
      write_header_ = std::fgetc(f) == EOF;
      std::fclose(f);
    }
  }
  file_ = std::fopen(filename_.c_str(), append_ ? "ab" : "wb");
  if (!file_)
    throw IOError("CSVLogger: cannot open \"" + filename_ + "\" for writing: " + std::strerror(errno));
}

void CSVLogger::on_epoch_end(int epoch, const Logs& logs) {
  if (!file_) on_train_begin({});  // used outside fit()
  std::string text;
  if (!keys_) {
    keys_.emplace();
    for (const auto& [k, v] : logs) keys_->push_back(k);  // Logs iterate sorted
    // With validation_freq > 1 the first epoch has no val_* keys; Keras adds their columns.
    const bool has_val = std::any_of(keys_->begin(), keys_->end(),
                                     [](const std::string& k) { return k.rfind("val_", 0) == 0; });
    if (!has_val) {
      const size_t n = keys_->size();
      for (size_t i = 0; i < n; ++i) keys_->push_back("val_" + (*keys_)[i]);
    }
    if (write_header_) {
      text += "epoch";
      for (const auto& k : *keys_) text += separator_ + csv_field(k, separator_);
      text += "\r\n";
    }
  }
  text += std::to_string(epoch);
  for (const auto& k : *keys_) {
    auto it = logs.find(k);
    text += separator_ + (it == logs.end() ? std::string("NA") : python_repr(it->second));
  }
  text += "\r\n";
  if (std::fputs(text.c_str(), file_) < 0 || std::fflush(file_) != 0)
    throw IOError("CSVLogger: cannot write \"" + filename_ + "\": " + std::strerror(errno));
}

void CSVLogger::on_train_end(const Logs&) { close(); }

json CSVLogger::get_config() const {
  return {{"filename", filename_}, {"separator", separator_}, {"append", append_}};
}

}  // namespace fitrun::callbacks
