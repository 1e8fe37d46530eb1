#pragma once
// A TextVectorization-style vocabulary builder (Keras' TextVectorization with
// output_mode="int"): standardize (lowercase, strip punctuation), split on whitespace, map
// tokens to ids with 0 = padding and 1 = out-of-vocabulary ("[UNK]").
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "fitrun/tensor.hpp"

namespace fitrun::datasets {

struct TextVectorizationOptions {
  int64_t max_tokens = -1;              // vocabulary size including "" and "[UNK]"; -1: all
  int64_t output_sequence_length = -1;  // pad/truncate at the end to this; -1: the longest text
  bool lowercase = true;
  bool strip_punctuation = true;        // Keras' punctuation set !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~
};

class TextVectorization {
 public:
  explicit TextVectorization(TextVectorizationOptions options = {});
  /// Builds the vocabulary from `texts`: "", "[UNK]", then tokens by descending frequency
  /// (ties in alphabetical order), cut to max_tokens.
  void adapt(const std::vector<std::string>& texts);
  /// The tokens by id (Keras' get_vocabulary()).
  const std::vector<std::string>& get_vocabulary() const { return vocabulary_; }
  int64_t vocabulary_size() const { return static_cast<int64_t>(vocabulary_.size()); }
  /// The standardized tokens of one text.
  std::vector<std::string> tokenize(const std::string& text) const;
  /// The ids of one text (unpadded); unknown tokens are 1.
  std::vector<int32_t> encode(const std::string& text) const;
  /// (N, length) int32, zero-padded at the end. Throws Error when called before adapt().
  Tensor operator()(const std::vector<std::string>& texts) const;

 private:
  TextVectorizationOptions options_;
  std::vector<std::string> vocabulary_;
  std::unordered_map<std::string, int32_t> index_;
};

}  // namespace fitrun::datasets
