#include "fitrun/datasets/dataset.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fitrun/error.hpp"

namespace fitrun::datasets {

namespace detail {

/// One pass's state.
class IteratorImpl {
 public:
  virtual ~IteratorImpl() = default;
  virtual bool next(Element& out) = 0;
};

/// One stage of the pipeline: an immutable description that starts passes.
class Node {
 public:
  virtual ~Node() = default;
  virtual std::unique_ptr<IteratorImpl> start() const = 0;
  virtual int64_t cardinality() const = 0;
};

}  // namespace detail

using detail::IteratorImpl;
using detail::Node;
using NodePtr = std::shared_ptr<const Node>;

namespace {

/// A seed for pass `pass` of a stage seeded with `seed` (SplitMix64 finalizer on both).
uint64_t pass_seed(uint64_t seed, uint64_t pass) {
  auto mix = [](uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  };
  return mix(mix(seed) ^ pass);
}

// ---- from_tensors ----

class SlicesNode : public Node {
 public:
  SlicesNode(TensorList x, TensorList y, Tensor w, int64_t n)
      : x_(std::move(x)), y_(std::move(y)), w_(std::move(w)), n_(n) {}
  int64_t cardinality() const override { return n_; }
  std::unique_ptr<IteratorImpl> start() const override;

  static Tensor row(const Tensor& t, int64_t i) { return t.slice(i, i + 1).reshape(t.shape().drop_batch()); }
  TensorList x_, y_;
  Tensor w_;
  int64_t n_;
};

class SlicesIter : public IteratorImpl {
 public:
  explicit SlicesIter(const SlicesNode& node) : node_(node) {}
  bool next(Element& out) override {
    if (i_ >= node_.n_) return false;
    std::vector<Tensor> x, y;
    x.reserve(node_.x_.size());
    y.reserve(node_.y_.size());
    for (const auto& t : node_.x_) x.push_back(SlicesNode::row(t, i_));
    for (const auto& t : node_.y_) y.push_back(SlicesNode::row(t, i_));
    out.x = TensorList(std::move(x));
    out.y = TensorList(std::move(y));
    out.sample_weight = node_.w_.defined() ? SlicesNode::row(node_.w_, i_) : Tensor();
    ++i_;
    return true;
  }

 private:
  const SlicesNode& node_;  // RootIter keeps the nodes alive for the whole pass
  int64_t i_ = 0;
};

std::unique_ptr<IteratorImpl> SlicesNode::start() const { return std::make_unique<SlicesIter>(*this); }

// ---- shuffle ----

class ShuffleNode : public Node {
 public:
  ShuffleNode(NodePtr in, int64_t buffer, uint64_t seed) : in_(std::move(in)), buffer_(buffer), seed_(seed) {}
  int64_t cardinality() const override { return in_->cardinality(); }
  std::unique_ptr<IteratorImpl> start() const override;
  NodePtr in_;
  int64_t buffer_;
  uint64_t seed_;
  mutable std::atomic<uint64_t> passes_{0};
};

class ShuffleIter : public IteratorImpl {
 public:
  ShuffleIter(std::unique_ptr<IteratorImpl> in, int64_t buffer, uint64_t seed)
      : in_(std::move(in)), capacity_(static_cast<size_t>(buffer)), gen_(seed) {}
  bool next(Element& out) override {
    // tf.data's algorithm: keep the buffer full, emit a random slot, refill it.
    while (!exhausted_ && buffer_.size() < capacity_) {
      Element e;
      if (!in_->next(e)) {
        exhausted_ = true;
        break;
      }
      buffer_.push_back(std::move(e));
    }
    if (buffer_.empty()) return false;
    const size_t k = static_cast<size_t>(gen_.below(buffer_.size()));
    out = std::move(buffer_[k]);
    buffer_[k] = std::move(buffer_.back());
    buffer_.pop_back();
    return true;
  }

 private:
  std::unique_ptr<IteratorImpl> in_;
  size_t capacity_;
  Generator gen_;
  std::vector<Element> buffer_;
  bool exhausted_ = false;
};

std::unique_ptr<IteratorImpl> ShuffleNode::start() const {
  return std::make_unique<ShuffleIter>(in_->start(), buffer_, pass_seed(seed_, passes_++));
}

// ---- batch ----

std::string where(const char* part, size_t i) { return std::string(part) + "[" + std::to_string(i) + "]"; }

/// Stacks same-shaped tensors along a new leading axis.
Tensor stack(const std::vector<const Tensor*>& ts, const std::string& what) {
  const Tensor& first = *ts[0];
  for (size_t k = 1; k < ts.size(); ++k) {
    if (ts[k]->shape() != first.shape() || ts[k]->dtype() != first.dtype())
      throw ShapeError("Dataset.batch: " + what + " of element " + std::to_string(k) + " has shape " +
                       ts[k]->shape().to_string() + " " + dtype_name(ts[k]->dtype()) +
                       " but element 0 has " + first.shape().to_string() + " " +
                       dtype_name(first.dtype()) + "; elements of a batch must agree");
  }
  Shape shape{static_cast<int64_t>(ts.size())};
  for (int64_t d : first.shape()) shape.push_back(d);
  Tensor out(shape, first.dtype());
  const size_t bytes = first.nbytes();
  auto* dst = static_cast<char*>(out.raw());
  for (size_t k = 0; k < ts.size(); ++k) std::memcpy(dst + k * bytes, ts[k]->raw(), bytes);
  return out;
}

Element stack_elements(const std::vector<Element>& es) {
  const Element& e0 = es[0];
  for (size_t k = 1; k < es.size(); ++k)
    if (es[k].x.size() != e0.x.size() || es[k].y.size() != e0.y.size() ||
        es[k].sample_weight.defined() != e0.sample_weight.defined())
      throw ShapeError("Dataset.batch: element " + std::to_string(k) +
                       " has a different structure (number of x, y, sample_weight) than element 0");
  std::vector<const Tensor*> ts(es.size());
  auto stack_part = [&](auto get, const std::string& what) {
    for (size_t k = 0; k < es.size(); ++k) ts[k] = &get(es[k]);
    return stack(ts, what);
  };
  Element out;
  std::vector<Tensor> x, y;
  for (size_t i = 0; i < e0.x.size(); ++i)
    x.push_back(stack_part([i](const Element& e) -> const Tensor& { return e.x[i]; }, where("x", i)));
  for (size_t i = 0; i < e0.y.size(); ++i)
    y.push_back(stack_part([i](const Element& e) -> const Tensor& { return e.y[i]; }, where("y", i)));
  out.x = TensorList(std::move(x));
  out.y = TensorList(std::move(y));
  if (e0.sample_weight.defined())
    out.sample_weight = stack_part([](const Element& e) -> const Tensor& { return e.sample_weight; }, "sample_weight");
  return out;
}

class BatchNode : public Node {
 public:
  BatchNode(NodePtr in, int64_t size, bool drop) : in_(std::move(in)), size_(size), drop_(drop) {}
  int64_t cardinality() const override {
    const int64_t n = in_->cardinality();
    if (n < 0) return n;
    return drop_ ? n / size_ : (n + size_ - 1) / size_;
  }
  std::unique_ptr<IteratorImpl> start() const override;
  NodePtr in_;
  int64_t size_;
  bool drop_;
};

class BatchIter : public IteratorImpl {
 public:
  BatchIter(std::unique_ptr<IteratorImpl> in, int64_t size, bool drop)
      : in_(std::move(in)), size_(static_cast<size_t>(size)), drop_(drop) {}
  bool next(Element& out) override {
    pending_.clear();
    Element e;
    while (pending_.size() < size_ && in_->next(e)) pending_.push_back(std::move(e));
    if (pending_.empty() || (drop_ && pending_.size() < size_)) return false;
    out = stack_elements(pending_);
    return true;
  }

 private:
  std::unique_ptr<IteratorImpl> in_;
  size_t size_;
  bool drop_;
  std::vector<Element> pending_;
};

std::unique_ptr<IteratorImpl> BatchNode::start() const {
  return std::make_unique<BatchIter>(in_->start(), size_, drop_);
}

// ---- map / map_random ----

using RandomFn = std::function<Element(Element, Generator&)>;

class MapNode : public Node {
 public:
  MapNode(NodePtr in, RandomFn fn, uint64_t seed) : in_(std::move(in)), fn_(std::move(fn)), seed_(seed) {}
  int64_t cardinality() const override { return in_->cardinality(); }
  std::unique_ptr<IteratorImpl> start() const override;
  NodePtr in_;
  RandomFn fn_;
  uint64_t seed_;
  mutable std::atomic<uint64_t> passes_{0};
};

class MapIter : public IteratorImpl {
 public:
  MapIter(std::unique_ptr<IteratorImpl> in, const RandomFn& fn, uint64_t seed)
      : in_(std::move(in)), fn_(fn), gen_(seed) {}
  bool next(Element& out) override {
    Element e;
    if (!in_->next(e)) return false;
    out = fn_(std::move(e), gen_);
    return true;
  }

 private:
  std::unique_ptr<IteratorImpl> in_;
  const RandomFn& fn_;  // owned by the node, which the pass keeps alive
  Generator gen_;
};

std::unique_ptr<IteratorImpl> MapNode::start() const {
  return std::make_unique<MapIter>(in_->start(), fn_, pass_seed(seed_, passes_++));
}

// ---- repeat ----

class RepeatNode : public Node {
 public:
  RepeatNode(NodePtr in, int64_t count) : in_(std::move(in)), count_(count) {}
  int64_t cardinality() const override {
    const int64_t n = in_->cardinality();
    if (count_ == 0 || n == 0) return 0;
    if (n == Dataset::kInfinite || count_ < 0) return n == Dataset::kUnknown ? n : Dataset::kInfinite;
    return n < 0 ? n : n * count_;
  }
  std::unique_ptr<IteratorImpl> start() const override;
  NodePtr in_;
  int64_t count_;
};

class RepeatIter : public IteratorImpl {
 public:
  RepeatIter(NodePtr in, int64_t count) : in_(std::move(in)), count_(count) {}
  bool next(Element& out) override {
    while (count_ < 0 || done_ < count_) {
      if (!current_) {
        current_ = in_->start();
        produced_ = false;
      }
      if (current_->next(out)) {
        produced_ = true;
        return true;
      }
      current_.reset();
      ++done_;
      // An empty input would make repeat() spin forever; end the pass instead.
      if (!produced_) return false;
    }
    return false;
  }

 private:
  NodePtr in_;
  int64_t count_;
  int64_t done_ = 0;
  bool produced_ = false;
  std::unique_ptr<IteratorImpl> current_;
};

std::unique_ptr<IteratorImpl> RepeatNode::start() const { return std::make_unique<RepeatIter>(in_, count_); }

// ---- take ----

class TakeNode : public Node {
 public:
  TakeNode(NodePtr in, int64_t count) : in_(std::move(in)), count_(count) {}
  int64_t cardinality() const override {
    const int64_t n = in_->cardinality();
    if (count_ < 0) return n;
    if (n == Dataset::kInfinite) return count_;
    if (n == Dataset::kUnknown) return n;
    return std::min(n, count_);
  }
  std::unique_ptr<IteratorImpl> start() const override;
  NodePtr in_;
  int64_t count_;
};

class TakeIter : public IteratorImpl {
 public:
  TakeIter(std::unique_ptr<IteratorImpl> in, int64_t count) : in_(std::move(in)), left_(count) {}
  bool next(Element& out) override {
    if (left_ == 0) return false;
    if (!in_->next(out)) return false;
    if (left_ > 0) --left_;
    return true;
  }

 private:
  std::unique_ptr<IteratorImpl> in_;
  int64_t left_;
};

std::unique_ptr<IteratorImpl> TakeNode::start() const { return std::make_unique<TakeIter>(in_->start(), count_); }

// ---- prefetch ----

class PrefetchNode : public Node {
 public:
  PrefetchNode(NodePtr in, int64_t buffer) : in_(std::move(in)), buffer_(buffer) {}
  int64_t cardinality() const override { return in_->cardinality(); }
  std::unique_ptr<IteratorImpl> start() const override;
  NodePtr in_;
  int64_t buffer_;
};

/// A producer thread fills a bounded queue; the consumer's next() takes from it.
class PrefetchIter : public IteratorImpl {
 public:
  PrefetchIter(std::unique_ptr<IteratorImpl> in, int64_t buffer)
      : in_(std::move(in)), capacity_(static_cast<size_t>(buffer)) {
    worker_ = std::thread([this] { produce(); });
  }
  ~PrefetchIter() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    not_full_.notify_all();
    worker_.join();
  }
  bool next(Element& out) override {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
      out = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      not_full_.notify_one();
      return true;
    }
    if (error_) {
      auto e = error_;
      error_ = nullptr;  // reported once; the pass then ends
      std::rethrow_exception(e);
    }
    return false;
  }

 private:
  void produce() {
    try {
      while (true) {
        {
          std::unique_lock<std::mutex> lock(mutex_);
          not_full_.wait(lock, [this] { return queue_.size() < capacity_ || stop_; });
          if (stop_) break;
        }
        Element e;
        if (!in_->next(e)) break;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          queue_.push_back(std::move(e));
        }
        not_empty_.notify_one();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    not_empty_.notify_all();
  }

  std::unique_ptr<IteratorImpl> in_;
  size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Element> queue_;
  bool done_ = false, stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

std::unique_ptr<IteratorImpl> PrefetchNode::start() const {
  return std::make_unique<PrefetchIter>(in_->start(), buffer_);
}

// ---- empty ----

class EmptyIter : public IteratorImpl {
 public:
  bool next(Element&) override { return false; }
};
class EmptyNode : public Node {
 public:
  int64_t cardinality() const override { return 0; }
  std::unique_ptr<IteratorImpl> start() const override { return std::make_unique<EmptyIter>(); }
};

/// A pass that also keeps the whole chain of nodes alive (a pass may outlive its Dataset).
class RootIter : public IteratorImpl {
 public:
  explicit RootIter(NodePtr node) : node_(std::move(node)), impl_(node_->start()) {}
  bool next(Element& out) override { return impl_->next(out); }

 private:
  NodePtr node_;
  std::unique_ptr<IteratorImpl> impl_;
};

void check_positive(const char* op, const char* arg, int64_t v) {
  if (v <= 0)
    throw ConfigError(std::string("Dataset.") + op + ": " + arg + " must be > 0, got " + std::to_string(v));
}

}  // namespace

// ---- Dataset ----

Dataset::Dataset() : node_(std::make_shared<EmptyNode>()) {}
Dataset::Dataset(std::shared_ptr<const detail::Node> node) : node_(std::move(node)) {}

Dataset Dataset::from_tensors(TensorList x, TensorList y, Tensor sample_weight) {
  if (x.empty()) throw ConfigError("Dataset.from_tensors: x is empty (give at least one tensor)");
  int64_t n = -1;
  std::string first;
  auto check = [&](const Tensor& t, const std::string& name) {
    if (!t.defined()) throw ConfigError("Dataset.from_tensors: " + name + " is an empty tensor");
    if (t.rank() == 0)
      throw ShapeError("Dataset.from_tensors: " + name + " is a scalar; it needs a first axis to slice");
    if (n < 0) {
      n = t.dim(0);
      first = name;
    } else if (t.dim(0) != n) {
      throw ShapeError("Dataset.from_tensors: " + name + " has " + std::to_string(t.dim(0)) +
                       " rows (shape " + t.shape().to_string() + ") but " + first + " has " +
                       std::to_string(n) + "; all tensors must agree on the first dimension");
    }
  };
  for (size_t i = 0; i < x.size(); ++i) check(x[i], where("x", i));
  for (size_t i = 0; i < y.size(); ++i) check(y[i], where("y", i));
  if (sample_weight.defined()) check(sample_weight, "sample_weight");
  return Dataset(std::make_shared<SlicesNode>(std::move(x), std::move(y), std::move(sample_weight), n));
}

Dataset Dataset::shuffle(int64_t buffer_size, uint64_t seed) const {
  check_positive("shuffle", "buffer_size", buffer_size);
  return Dataset(std::make_shared<ShuffleNode>(node_, buffer_size, seed));
}

Dataset Dataset::batch(int64_t batch_size, bool drop_remainder) const {
  check_positive("batch", "batch_size", batch_size);
  return Dataset(std::make_shared<BatchNode>(node_, batch_size, drop_remainder));
}

Dataset Dataset::map(std::function<Element(Element)> fn) const {
  if (!fn) throw ConfigError("Dataset.map: the function is empty");
  return map_random([fn = std::move(fn)](Element e, Generator&) { return fn(std::move(e)); });
}

Dataset Dataset::map_random(std::function<Element(Element, Generator&)> fn, uint64_t seed) const {
  if (!fn) throw ConfigError("Dataset.map_random: the function is empty");
  return Dataset(std::make_shared<MapNode>(node_, std::move(fn), seed));
}

Dataset Dataset::repeat(int64_t count) const {
  if (count < -1) throw ConfigError("Dataset.repeat: count must be >= -1, got " + std::to_string(count));
  return Dataset(std::make_shared<RepeatNode>(node_, count));
}

Dataset Dataset::take(int64_t count) const {
  if (count < -1) throw ConfigError("Dataset.take: count must be >= -1, got " + std::to_string(count));
  return Dataset(std::make_shared<TakeNode>(node_, count));
}

Dataset Dataset::prefetch(int64_t buffer_size) const {
  check_positive("prefetch", "buffer_size", buffer_size);
  return Dataset(std::make_shared<PrefetchNode>(node_, buffer_size));
}

int64_t Dataset::cardinality() const { return node_->cardinality(); }

Dataset::Iterator Dataset::iterate() const { return Iterator(std::make_unique<RootIter>(node_)); }

Dataset::Iterator::Iterator() : impl_(std::make_unique<EmptyIter>()) {}
Dataset::Iterator::Iterator(std::unique_ptr<detail::IteratorImpl> impl) : impl_(std::move(impl)) {}
Dataset::Iterator::Iterator(Iterator&&) noexcept = default;
Dataset::Iterator& Dataset::Iterator::operator=(Iterator&&) noexcept = default;
Dataset::Iterator::~Iterator() = default;
bool Dataset::Iterator::next(Element& out) { return impl_->next(out); }

}  // namespace fitrun::datasets
