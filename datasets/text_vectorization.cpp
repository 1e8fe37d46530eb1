#include "fitrun/datasets/text_vectorization.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "fitrun/datasets/pad_sequences.hpp"
#include "fitrun/error.hpp"

namespace fitrun::datasets {

namespace {
bool is_keras_punctuation(unsigned char c) {
  static const std::string kPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
  return kPunct.find(static_cast<char>(c)) != std::string::npos;
}
}  // namespace

TextVectorization::TextVectorization(TextVectorizationOptions options)
    : options_(options) {
  if (options_.max_tokens != -1 && options_.max_tokens < 3)
    throw ConfigError("TextVectorization: max_tokens must be -1 or >= 3 (padding, [UNK] and "
                      "one token), got " + std::to_string(options_.max_tokens));
  if (options_.output_sequence_length == 0 || options_.output_sequence_length < -1)
    throw ConfigError("TextVectorization: output_sequence_length must be positive or -1, got " +
                      std::to_string(options_.output_sequence_length));
}

std::vector<std::string> TextVectorization::tokenize(const std::string& text) const {
  std::vector<std::string> tokens;
  std::string cur;
  for (unsigned char c : text) {
    if (std::isspace(c)) {
      if (!cur.empty()) tokens.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (options_.strip_punctuation && is_keras_punctuation(c)) continue;
    cur.push_back(options_.lowercase ? static_cast<char>(std::tolower(c)) : static_cast<char>(c));
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

void TextVectorization::adapt(const std::vector<std::string>& texts) {
  std::map<std::string, int64_t> counts;
  for (const auto& t : texts)
    for (auto& tok : tokenize(t)) ++counts[tok];
  std::vector<std::pair<std::string, int64_t>> sorted(counts.begin(), counts.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  vocabulary_ = {"", "[UNK]"};
  for (const auto& [tok, n] : sorted) {
    if (options_.max_tokens > 0 && static_cast<int64_t>(vocabulary_.size()) >= options_.max_tokens)
      break;
    vocabulary_.push_back(tok);
  }
  index_.clear();
  for (size_t i = 2; i < vocabulary_.size(); ++i) index_[vocabulary_[i]] = static_cast<int32_t>(i);
}

std::vector<int32_t> TextVectorization::encode(const std::string& text) const {
  std::vector<int32_t> ids;
  for (const auto& tok : tokenize(text)) {
    auto it = index_.find(tok);
    ids.push_back(it == index_.end() ? 1 : it->second);
  }
  return ids;
}

Tensor TextVectorization::operator()(const std::vector<std::string>& texts) const {
  if (vocabulary_.empty())
    throw Error("TextVectorization: call adapt() on some texts before vectorizing");
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& t : texts) seqs.push_back(encode(t));
  PadSequencesOptions o;
  o.maxlen = options_.output_sequence_length;
  o.padding = "post";
  o.truncating = "post";
  bool any = false;
  for (const auto& s : seqs) any = any || !s.empty();
  if (o.maxlen < 0 && !any) o.maxlen = 1;  // all texts empty: one padding column
  return pad_sequences(seqs, o);
}

}  // namespace fitrun::datasets
