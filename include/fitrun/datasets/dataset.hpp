#pragma once
// Dataset: a tf.data-style input pipeline. A Dataset is an immutable description (copies are
// cheap and share it); iterate() starts a pass that pulls elements through the chain of
// transformations lazily.
#include <cstdint>
#include <functional>
#include <memory>

#include "fitrun/random.hpp"
#include "fitrun/tensor_list.hpp"

namespace fitrun::datasets {

/// One sample (or, after batch(), one batch). `y` and `sample_weight` may be empty.
struct Element {
  TensorList x;
  TensorList y;
  Tensor sample_weight;
};

namespace detail {
class Node;
class IteratorImpl;
}  // namespace detail

class Dataset {
 public:
  static constexpr int64_t kInfinite = -1, kUnknown = -2;  // tf.data's cardinality values

  /// Slices along axis 0 (tf.data.Dataset.from_tensor_slices): element i holds row i of every
  /// tensor, without copying. Throws ShapeError naming the mismatch when the tensors disagree
  /// on the first dimension.
  static Dataset from_tensors(TensorList x, TensorList y = {}, Tensor sample_weight = {});

  /// Fills a buffer of `buffer_size` elements and draws from it at random (tf.data's
  /// algorithm; buffer_size >= the cardinality gives a uniform shuffle). Reshuffles every pass,
  /// reproducibly: the n-th pass over this dataset uses the order f(seed, n).
  Dataset shuffle(int64_t buffer_size, uint64_t seed = 0) const;
  /// Stacks `batch_size` consecutive elements along a new leading axis; the last, smaller
  /// batch is dropped when `drop_remainder`.
  Dataset batch(int64_t batch_size, bool drop_remainder = false) const;
  /// Applies `fn` to every element. Under prefetch() it runs on the background thread.
  Dataset map(std::function<Element(Element)> fn) const;
  /// map() with a random generator for augmentation: each pass seeds a fresh generator from
  /// (seed, pass number), so passes differ from each other and are reproducible.
  Dataset map_random(std::function<Element(Element, Generator&)> fn, uint64_t seed = 0) const;
  /// Repeats the dataset `count` times; -1 repeats forever.
  Dataset repeat(int64_t count = -1) const;
  /// The first `count` elements (-1: all).
  Dataset take(int64_t count) const;
  /// Produces up to `buffer_size` elements ahead on a background thread. An exception in the
  /// pipeline is rethrown by the consumer's next(); destroying the iterator early stops and
  /// joins the thread.
  Dataset prefetch(int64_t buffer_size = 2) const;

  /// Number of elements of a pass, kInfinite or kUnknown (tf.data's cardinality()).
  int64_t cardinality() const;

  /// One pass over the data. Move-only; not thread-safe (one consumer).
  class Iterator {
   public:
    Iterator();
    explicit Iterator(std::unique_ptr<detail::IteratorImpl> impl);
    Iterator(Iterator&&) noexcept;
    Iterator& operator=(Iterator&&) noexcept;
    ~Iterator();
    /// The next element; false at the end of the pass.
    bool next(Element& out);

   private:
    std::unique_ptr<detail::IteratorImpl> impl_;
  };
  /// A fresh pass over the data.
  Iterator iterate() const;

  /// An empty dataset (no elements).
  Dataset();
  explicit Dataset(std::shared_ptr<const detail::Node> node);

 private:
  std::shared_ptr<const detail::Node> node_;
};

}  // namespace fitrun::datasets
