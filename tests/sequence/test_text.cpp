// Text preparation: pad_sequences (Keras' defaults and options) and the TextVectorization-style
// vocabulary builder.
#include <catch2/catch.hpp>

#include <fitrun/datasets/pad_sequences.hpp>
#include <fitrun/datasets/text_vectorization.hpp>
#include <fitrun/error.hpp>

using namespace fitrun;
using namespace fitrun::datasets;

namespace {
std::vector<int32_t> ints(const Tensor& t) {
  return std::vector<int32_t>(t.data<int32_t>(), t.data<int32_t>() + t.size());
}
}  // namespace

TEST_CASE("pad_sequences pads and truncates as Keras does", "[sequence][text]") {
  const std::vector<std::vector<int32_t>> s = {{1, 2, 3}, {4}, {5, 6, 7, 8, 9}};
  const Tensor d = pad_sequences(s);  // pre-padding to the longest
  CHECK(d.shape() == Shape{3, 5});
  CHECK(d.dtype() == DType::int32);
  CHECK(ints(d) == std::vector<int32_t>{0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7, 8, 9});
  const Tensor p = pad_sequences(s, {.maxlen = 3, .padding = "post", .truncating = "post", .value = -1});
  CHECK(ints(p) == std::vector<int32_t>{1, 2, 3, 4, -1, -1, 5, 6, 7});
  const Tensor pre = pad_sequences(s, {.maxlen = 2});  // truncating "pre" keeps the end
  CHECK(ints(pre) == std::vector<int32_t>{2, 3, 0, 4, 8, 9});
  CHECK_THROWS_WITH(pad_sequences(s, {.padding = "middle"}),
                    "pad_sequences: padding must be \"pre\" or \"post\", got \"middle\"");
  CHECK_THROWS_WITH(pad_sequences(s, {.maxlen = 0}),
                    "pad_sequences: maxlen must be a positive integer or -1, got 0");
}

TEST_CASE("TextVectorization builds a Keras-like vocabulary", "[sequence][text]") {
  TextVectorization tv({.max_tokens = 5, .output_sequence_length = 4});
  CHECK_THROWS_WITH(tv({"a"}), "TextVectorization: call adapt() on some texts before vectorizing");
  tv.adapt({"The cat sat.", "the DOG sat!", "the cat, the end"});
  // "", [UNK], then by frequency: the (4), cat (2), sat (2); max_tokens = 5 cuts dog and end.
  CHECK(tv.get_vocabulary() == std::vector<std::string>{"", "[UNK]", "the", "cat", "sat"});
  CHECK(tv.tokenize("Hello, World!  it's") == std::vector<std::string>{"hello", "world", "its"});
  const Tensor t = tv({"the dog sat on the cat", "cat"});
  CHECK(t.shape() == Shape{2, 4});
  CHECK(ints(t) == std::vector<int32_t>{2, 1, 4, 1, 3, 0, 0, 0});
  TextVectorization all;
  all.adapt({"b a a"});
  CHECK(all.get_vocabulary() == std::vector<std::string>{"", "[UNK]", "a", "b"});
  CHECK(ints(all({"a b c", "b"})) == std::vector<int32_t>{2, 3, 1, 3, 0, 0});
  CHECK_THROWS_WITH(TextVectorization({.max_tokens = 2}),
                    "TextVectorization: max_tokens must be -1 or >= 3 (padding, [UNK] and one "
                    "token), got 2");
}
