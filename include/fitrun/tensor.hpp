#pragma once
// Tensor: an n-dimensional array with shared storage. Copies are cheap and share data
// (like a NumPy view); clone() makes a deep copy. Dense row-major layout.
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "fitrun/device.hpp"
#include "fitrun/dtype.hpp"
#include "fitrun/shape.hpp"

namespace fitrun {

/// Raw memory owned by one or more tensors: 64-byte aligned host memory (page-locked when
/// `pinned`), or 256-byte aligned device memory for a CUDA device (in builds with the CUDA
/// backend).
struct Storage {
  /// `pin`: host memory page-locked by the CUDA driver, which GPUs copy from asynchronously;
  /// ordinary memory (and `pinned` false) where no CUDA device is present.
  Storage(std::size_t bytes, Device device, bool pin = false);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data = nullptr;
  std::size_t bytes = 0;
  Device device;
  bool pinned = false;
};

class Tensor {
 public:
  /// An empty tensor (no storage); `defined()` is false.
  Tensor() = default;
  /// Uninitialized tensor of the given shape (contents unspecified).
  Tensor(Shape shape, DType dtype = DType::float32, Device device = Device::cpu());

  // ---- creation helpers (numpy-like) ----
  /// With `pin_memory`, in page-locked host memory (PyTorch's pin_memory=True): a GPU copies
  /// from it asynchronously. Where no CUDA device is present (or the build has no CUDA
  /// backend) it is ordinary memory and is_pinned() is false.
  static Tensor empty(Shape shape, DType dtype = DType::float32, bool pin_memory = false);
  static Tensor zeros(Shape shape, DType dtype = DType::float32);
  static Tensor ones(Shape shape, DType dtype = DType::float32);
  static Tensor full(Shape shape, double value, DType dtype = DType::float32);
  /// Uniform in [low, high) from fitrun's generator; `seed` < 0 draws from the global seed.
  static Tensor uniform(Shape shape, float low = 0.f, float high = 1.f, int64_t seed = -1);
  static Tensor normal(Shape shape, float mean = 0.f, float stddev = 1.f, int64_t seed = -1);
  /// Copies `values` (its size must equal the shape's element count).
  static Tensor from_vector(const std::vector<float>& values, Shape shape);
  static Tensor from_vector(const std::vector<int32_t>& values, Shape shape);
  static Tensor from_vector(const std::vector<int64_t>& values, Shape shape);
  /// Braced lists (which would be ambiguous between the vectors above):
  /// from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2}) is float32, from_vector({1, 0, 2}, {3}) int32.
  static Tensor from_vector(std::initializer_list<float> values, Shape shape);
  static Tensor from_vector(std::initializer_list<int32_t> values, Shape shape);
  /// 1-D tensor from a list: Tensor::of({1.f, 2.f}).
  static Tensor of(std::initializer_list<float> values);

  // ---- properties ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_.dim(i); }
  int64_t size() const { return shape_.num_elements(); }
  DType dtype() const { return dtype_; }
  Device device() const;
  std::size_t nbytes() const { return static_cast<std::size_t>(size()) * dtype_size(dtype_); }

  // ---- host access (throws an Error naming the device for a tensor on a GPU) ----
  void* raw() const;
  template <class T> T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw());
  }
  /// Element by flat index, converted to double (any dtype).
  double flat(int64_t i) const;
  /// Element by multi-index, converted to double.
  double at(std::initializer_list<int64_t> index) const;
  /// The single value of a one-element tensor.
  double item() const;
  std::vector<float> to_vector() const;

  // ---- devices ----
  /// Whether the data is in page-locked host memory (see empty(..., pin_memory)).
  bool is_pinned() const { return storage_ && storage_->pinned; }
  /// A copy in page-locked host memory (PyTorch's Tensor.pin_memory()); this tensor itself
  /// when it is pinned already or when pinning is unavailable (no CUDA device: check
  /// is_pinned()). Throws for a tensor on a GPU.
  Tensor pin_memory() const;
  /// The address of the first element on the tensor's own device (a CUDA device pointer for a
  /// GPU tensor). For backends; host code uses raw() / data<T>().
  void* device_data() const;
  /// A copy on `device` (this tensor itself when it already lives there).
  Tensor to(Device device) const;

  // ---- views and copies ----
  /// Same data, new shape (one dimension may be -1). Throws ShapeError on a size mismatch.
  Tensor reshape(Shape shape) const;
  /// Rows [begin, end) along the first axis, sharing data.
  Tensor slice(int64_t begin, int64_t end) const;
  /// Deep copy (on the same device).
  Tensor clone() const;
  /// Copies `other`'s contents into this tensor (same element count and dtype; any devices).
  void copy_from(const Tensor& other);
  void fill(double value);
  /// Conversion to another dtype (a copy; float <-> int rounds toward zero).
  Tensor astype(DType dtype) const;
  /// True when both views share the same storage.
  bool shares_storage(const Tensor& other) const { return storage_ == other.storage_; }

  /// numpy-like text: "array([[1., 2.], [3., 4.]], shape=(2, 2), dtype=float32)".
  std::string to_string(int max_items = 6) const;

 private:
  Tensor(Shape shape, DType dtype, Device device, bool pin);
  void check_dtype(DType expected) const;

  std::shared_ptr<Storage> storage_;
  std::size_t offset_ = 0;  // in bytes
  Shape shape_;
  DType dtype_ = DType::float32;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

namespace debug {
/// Number of tensor storages allocated since start; lets tests show a step allocates nothing.
int64_t storage_allocations();
}  // namespace debug

}  // namespace fitrun
