#include "fitrun/tensor.hpp"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "fitrun/error.hpp"
#include "fitrun/random.hpp"

namespace fitrun {

namespace {
std::atomic<int64_t> g_allocations{0};

void check_shape(const Shape& shape) {
  for (int64_t d : shape)
    if (d < 0) throw ShapeError("cannot create a tensor of undefined shape " + shape.to_string());
}
}  // namespace

namespace debug {
int64_t storage_allocations() { return g_allocations.load(); }
}  // namespace debug

Storage::Storage(std::size_t n, Device dev) : bytes(n), device(dev) {
  if (!dev.is_cpu()) throw Error("this build has no CUDA backend: cannot allocate on " + dev.to_string());
  std::size_t rounded = ((n + 63) / 64) * 64;
  data = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!data) throw Error("out of memory allocating " + std::to_string(n) + " bytes");
  ++g_allocations;
}

Storage::~Storage() { std::free(data); }

Tensor::Tensor(Shape shape, DType dtype, Device device) : shape_(shape), dtype_(dtype) {
  check_shape(shape);
  storage_ = std::make_shared<Storage>(static_cast<std::size_t>(shape.num_elements()) *
                                           dtype_size(dtype), device);
}

Device Tensor::device() const { return storage_ ? storage_->device : Device::cpu(); }

void* Tensor::raw() const {
  if (!storage_) throw Error("access to an undefined (empty) tensor");
  return static_cast<char*>(storage_->data) + offset_;
}

void Tensor::check_dtype(DType expected) const {
  if (expected != dtype_)
    throw Error("tensor of dtype " + dtype_name(dtype_) + " accessed as " + dtype_name(expected));
}

Tensor Tensor::empty(Shape shape, DType dtype) { return Tensor(shape, dtype); }

Tensor Tensor::zeros(Shape shape, DType dtype) {
  Tensor t(shape, dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::ones(Shape shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(Shape shape, double value, DType dtype) {
  Tensor t(shape, dtype);
  t.fill(value);
  return t;
}

Tensor Tensor::uniform(Shape shape, float low, float high, int64_t seed) {
  Generator local(static_cast<uint64_t>(seed));
  Generator& gen = seed < 0 ? global_generator() : local;
  Tensor t(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i) p[i] = low + (high - low) * gen.uniform();
  return t;
}

Tensor Tensor::normal(Shape shape, float mean, float stddev, int64_t seed) {
  Generator local(static_cast<uint64_t>(seed));
  Generator& gen = seed < 0 ? global_generator() : local;
  Tensor t(shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i) p[i] = mean + stddev * gen.normal();
  return t;
}

namespace {
template <class T>
Tensor from_values(const std::vector<T>& values, Shape shape) {
  if (static_cast<int64_t>(values.size()) != shape.num_elements())
    throw ShapeError("from_vector: " + std::to_string(values.size()) +
                     " values do not fill shape " + shape.to_string() + " (" +
                     std::to_string(shape.num_elements()) + " elements)");
  Tensor t(shape, dtype_of<T>());
  std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
  return t;
}
}  // namespace

Tensor Tensor::from_vector(const std::vector<float>& v, Shape s) { return from_values(v, s); }
Tensor Tensor::from_vector(const std::vector<int32_t>& v, Shape s) { return from_values(v, s); }
Tensor Tensor::from_vector(const std::vector<int64_t>& v, Shape s) { return from_values(v, s); }

Tensor Tensor::of(std::initializer_list<float> values) {
  return from_vector(std::vector<float>(values), Shape{static_cast<int64_t>(values.size())});
}

double Tensor::flat(int64_t i) const {
  switch (dtype_) {
    case DType::float32: return static_cast<const float*>(raw())[i];
    case DType::int32: return static_cast<const int32_t*>(raw())[i];
    case DType::int64: return static_cast<double>(static_cast<const int64_t*>(raw())[i]);
  }
  return 0;
}

double Tensor::at(std::initializer_list<int64_t> index) const {
  if (static_cast<int>(index.size()) != rank())
    throw ShapeError("at(): " + std::to_string(index.size()) + " indices for a tensor of shape " +
                     shape_.to_string());
  int64_t flat_index = 0;
  int axis = 0;
  for (int64_t i : index) {
    if (i < 0 || i >= shape_[axis])
      throw ShapeError("at(): index " + std::to_string(i) + " out of range for axis " +
                       std::to_string(axis) + " of shape " + shape_.to_string());
    flat_index = flat_index * shape_[axis] + i;
    ++axis;
  }
  return flat(flat_index);
}

double Tensor::item() const {
  if (size() != 1)
    throw ShapeError("item(): tensor of shape " + shape_.to_string() + " is not a single value");
  return flat(0);
}

std::vector<float> Tensor::to_vector() const {
  std::vector<float> v(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i) v[static_cast<size_t>(i)] = static_cast<float>(flat(i));
  return v;
}

Tensor Tensor::reshape(Shape shape) const {
  int unknown = -1;
  int64_t known = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] == -1) {
      if (unknown >= 0) throw ShapeError("reshape: more than one -1 in " + shape.to_string());
      unknown = i;
    } else {
      known *= shape[i];
    }
  }
  if (unknown >= 0 && known > 0 && size() % known == 0) shape[unknown] = size() / known;
  if (shape.num_elements() != size() || !shape.fully_defined())
    throw ShapeError("cannot reshape a tensor of shape " + shape_.to_string() + " (" +
                     std::to_string(size()) + " elements) to " + shape.to_string());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  if (rank() == 0 || begin < 0 || end > shape_[0] || begin > end)
    throw ShapeError("slice [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") out of range for shape " + shape_.to_string());
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.offset_ += static_cast<size_t>(begin * shape_.sample_size()) * dtype_size(dtype_);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(shape_, dtype_);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  if (other.size() != size() || other.dtype_ != dtype_)
    throw ShapeError("copy_from: source " + other.shape_.to_string() + " " +
                     dtype_name(other.dtype_) + " does not match " + shape_.to_string() + " " +
                     dtype_name(dtype_));
  std::memcpy(raw(), other.raw(), nbytes());
}

void Tensor::fill(double value) {
  const int64_t n = size();
  switch (dtype_) {
    case DType::float32: {
      float* p = data<float>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<float>(value);
      break;
    }
    case DType::int32: {
      int32_t* p = data<int32_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int32_t>(value);
      break;
    }
    case DType::int64: {
      int64_t* p = data<int64_t>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<int64_t>(value);
      break;
    }
  }
}

Tensor Tensor::astype(DType dtype) const {
  Tensor t(shape_, dtype);
  const int64_t n = size();
  for (int64_t i = 0; i < n; ++i) {
    double v = flat(i);
    switch (dtype) {
      case DType::float32: t.data<float>()[i] = static_cast<float>(v); break;
      case DType::int32: t.data<int32_t>()[i] = static_cast<int32_t>(v); break;
      case DType::int64: t.data<int64_t>()[i] = static_cast<int64_t>(v); break;
    }
  }
  return t;
}

namespace {
void format_value(std::ostringstream& os, double v, DType dtype) {
  if (dtype != DType::float32) {
    os << static_cast<int64_t>(v);
    return;
  }
  if (std::isnan(v)) { os << "nan"; return; }
  if (std::isinf(v)) { os << (v > 0 ? "inf" : "-inf"); return; }
  if (v == std::floor(v) && std::fabs(v) < 1e16) {
    os << static_cast<int64_t>(v) << ".";
    return;
  }
  double a = std::fabs(v);
  std::ostringstream tmp;
  if (a >= 1e-4 && a < 1e8) {
    tmp << std::setprecision(8) << v;
  } else {
    tmp << std::scientific << std::setprecision(7) << v;
  }
  os << tmp.str();
}

void format_axis(std::ostringstream& os, const Tensor& t, int axis, int64_t offset, int max_items,
                 int indent) {
  const Shape& s = t.shape();
  os << "[";
  const int64_t n = s[axis];
  int64_t stride = 1;
  for (int i = axis + 1; i < s.rank(); ++i) stride *= s[i];
  const bool elide = n > max_items;
  for (int64_t i = 0; i < n; ++i) {
    if (elide && i == max_items / 2) {
      os << (axis + 1 == s.rank() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = n - max_items / 2 - 1;
      continue;
    }
    if (axis + 1 == s.rank()) {
      format_value(os, t.flat(offset + i), t.dtype());
    } else {
      format_axis(os, t, axis + 1, offset + i * stride, max_items, indent + 1);
    }
    if (i + 1 < n) os << (axis + 1 == s.rank() ? ", " : ",\n" + std::string(indent + 1, ' '));
  }
  os << "]";
}
}  // namespace

std::string Tensor::to_string(int max_items) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "array(";
  if (rank() == 0) {
    format_value(os, flat(0), dtype_);
  } else {
    format_axis(os, *this, 0, 0, max_items, 6);
  }
  os << ", shape=" << shape_.to_string() << ", dtype=" << dtype_name(dtype_) << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace fitrun
