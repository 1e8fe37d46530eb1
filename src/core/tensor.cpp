#include "fitrun/tensor.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <limits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "fitrun/error.hpp"
#include "fitrun/random.hpp"
#include "fitrun/runtime.hpp"
#ifdef FITRUN_HAVE_CUDA
#include "backend/cuda/memory.hpp"
#endif

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

Storage::Storage(std::size_t n, Device dev, bool pin) : bytes(n), device(dev) {
  if (dev.is_cuda()) {
#ifdef FITRUN_HAVE_CUDA
    data = cuda::device_alloc(n, dev.index());
    ++g_allocations;
    return;
#else
    throw Error("this build has no CUDA backend: cannot allocate on " + dev.to_string());
#endif
  }
#ifdef FITRUN_HAVE_CUDA
  if (pin && (data = cuda::pinned_alloc(n))) {  // null without a device: ordinary memory
    pinned = true;
    ++g_allocations;
    return;
  }
#endif
  std::size_t rounded = ((n + 63) / 64) * 64;
  data = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!data) throw Error("out of memory allocating " + std::to_string(n) + " bytes");
  ++g_allocations;
}

Storage::~Storage() {
#ifdef FITRUN_HAVE_CUDA
  if (device.is_cuda()) {
    cuda::device_free(data, device.index());
    return;
  }
  if (pinned) {
    cuda::pinned_free(data);
    return;
  }
#endif
  std::free(data);
}

namespace {
/// memcpy, or a device copy when either side is on a GPU.
void copy_between(void* dst, Device dst_device, const void* src, Device src_device,
                  std::size_t bytes) {
#ifdef FITRUN_HAVE_CUDA
  if (dst_device.is_cuda() || src_device.is_cuda())
    return cuda::copy_bytes(dst, dst_device, src, src_device, bytes);
#endif
  if (bytes) std::memcpy(dst, src, bytes);
}
}  // namespace

Tensor::Tensor(Shape shape, DType dtype, Device device) : Tensor(shape, dtype, device, false) {}

Tensor::Tensor(Shape shape, DType dtype, Device device, bool pin) : shape_(shape), dtype_(dtype) {
  check_shape(shape);
  storage_ = std::make_shared<Storage>(static_cast<std::size_t>(shape.num_elements()) *
                                           dtype_size(dtype), device, pin);
}

Device Tensor::device() const { return storage_ ? storage_->device : Device::cpu(); }

void* Tensor::raw() const {
  if (!storage_) throw Error("access to an undefined (empty) tensor");
  if (!storage_->device.is_cpu())
    throw Error("CPU access to a tensor of shape " + shape_.to_string() + " on " +
                storage_->device.to_string() +
                ": copy it to the host first with to(Device::cpu())");
  return static_cast<char*>(storage_->data) + offset_;
}

void* Tensor::device_data() const {
  if (!storage_) throw Error("access to an undefined (empty) tensor");
  return static_cast<char*>(storage_->data) + offset_;
}

Tensor Tensor::to(Device device) const {
  if (!storage_) throw Error("to(" + device.to_string() + "): the tensor is undefined");
  if (device == this->device()) return *this;
  Tensor t(shape_, dtype_, device);
  copy_between(t.device_data(), device, device_data(), this->device(), nbytes());
  return t;
}

void Tensor::check_dtype(DType expected) const {
  if (expected != dtype_)
    throw Error("tensor of dtype " + dtype_name(dtype_) + " accessed as " + dtype_name(expected));
}

Tensor Tensor::empty(Shape shape, DType dtype, bool pin_memory) {
  return Tensor(shape, dtype, Device::cpu(), pin_memory);
}

Tensor Tensor::pin_memory() const {
  if (!storage_) throw Error("pin_memory(): the tensor is undefined");
  if (!device().is_cpu())
    throw Error("pin_memory(): only host tensors can be pinned; this one is on " +
                device().to_string());
  if (is_pinned() || cuda_device_count() == 0) return *this;  // no device: nothing to pin
  Tensor t = empty(shape_, dtype_, true);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

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
Tensor Tensor::from_vector(std::initializer_list<float> v, Shape s) {
  return from_values(std::vector<float>(v), s);
}
Tensor Tensor::from_vector(std::initializer_list<int32_t> v, Shape s) {
  return from_values(std::vector<int32_t>(v), s);
}

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
  if (defined() && !device().is_cpu()) return to(Device::cpu()).flat(0);
  return flat(0);
}

std::vector<float> Tensor::to_vector() const {
  if (defined() && !device().is_cpu()) return to(Device::cpu()).to_vector();
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
  Tensor t(shape_, dtype_, device());
  copy_between(t.device_data(), t.device(), device_data(), device(), nbytes());
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  if (other.size() != size() || other.dtype_ != dtype_)
    throw ShapeError("copy_from: source " + other.shape_.to_string() + " " +
                     dtype_name(other.dtype_) + " does not match " + shape_.to_string() + " " +
                     dtype_name(dtype_));
  copy_between(device_data(), device(), other.device_data(), other.device(), nbytes());
}

void Tensor::fill(double value) {
  if (defined() && !device().is_cpu()) {  // not a hot path: layers fill through ops::fill
    Tensor host(shape_, dtype_);
    host.fill(value);
    copy_from(host);
    return;
  }
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
  if (defined() && !device().is_cpu()) return to(Device::cpu()).astype(dtype).to(device());
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

// ---------------------------------------------------------------- to_string: numpy's repr
// A port of the parts of numpy's array repr that decide what a person sees: every element
// padded to a common width (FloatingFormat with floatmode "maxprec", precision 8), positional
// or scientific notation chosen from the value range, lines wrapped at 75 columns, a blank line
// between blocks of rank >= 3, and "..." for elided entries (here per axis, beyond max_items).
namespace {
constexpr int kLineWidth = 75;
constexpr int kPrecision = 8;

struct Elision {
  int64_t edge = 0;  // entries shown at each end of an axis longer than max_items
  int max_items = 0;
  bool summarized(int64_t n) const { return n > max_items; }
};

/// The flat indices of the elements that will be printed (the edges of long axes).
void shown_elements(const Tensor& t, int axis, int64_t offset, const Elision& e,
                    std::vector<int64_t>& out) {
  if (axis == t.rank()) {
    out.push_back(offset);
    return;
  }
  const int64_t n = t.dim(axis);
  int64_t stride = 1;
  for (int i = axis + 1; i < t.rank(); ++i) stride *= t.dim(i);
  for (int64_t i = 0; i < n; ++i) {
    if (e.summarized(n) && i == e.edge) i = n - e.edge;
    shown_elements(t, axis + 1, offset + i * stride, e, out);
  }
}

/// Shortest round-trip digits of a float32, cut to kPrecision fractional digits.
std::string float_digits(float v, bool scientific) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v,
                         scientific ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(buf, r.ptr);
  const size_t dot = s.find('.');
  const size_t end = scientific ? s.find('e') : s.size();
  if (dot != std::string::npos && end - dot - 1 > static_cast<size_t>(kPrecision)) {
    std::snprintf(buf, sizeof buf, scientific ? "%.*e" : "%.*f", kPrecision,
                  static_cast<double>(v));
    s = buf;
    const size_t e = scientific ? s.find('e') : s.size();
    size_t last = e;
    while (last > 0 && s[last - 1] == '0') --last;
    s.erase(last, e - last);
  }
  if (s.find('.') == std::string::npos) s.insert(scientific ? s.find('e') : s.size(), 1, '.');
  return s;
}

/// Formats single elements of one tensor to a common width, as numpy's FloatingFormat and
/// IntegerFormat do.
class ElementFormat {
 public:
  ElementFormat(const Tensor& t, const std::vector<int64_t>& shown) : float_(t.dtype() == DType::float32) {
    if (!float_) {
      for (int64_t i : shown)
        width_ = std::max(width_, static_cast<int>(std::to_string(int64_t(t.flat(i))).size()));
      return;
    }
    double max_abs = 0, min_abs = std::numeric_limits<double>::infinity();
    bool any_finite = false, any_nonfinite = false, neg_inf = false;
    for (int64_t i : shown) {
      const double v = t.flat(i);
      if (!std::isfinite(v)) {
        any_nonfinite = true;
        neg_inf = neg_inf || v < 0;
        continue;
      }
      any_finite = true;
      if (v != 0) {
        max_abs = std::max(max_abs, std::fabs(v));
        min_abs = std::min(min_abs, std::fabs(v));
      }
    }
    // Compared in float32, as numpy does for a float32 array; numpy >= 2.2 switches to
    // scientific notation from 10^(float32's 6 decimal digits) on.
    const float hi = static_cast<float>(max_abs), lo = static_cast<float>(min_abs);
    exp_ = hi > 0 && (hi >= 1e6f || lo < 1e-4f || hi / lo > 1e3f);
    if (any_finite) {
      for (int64_t i : shown) {
        const double v = t.flat(i);
        if (!std::isfinite(v)) continue;
        const Parts p = split(float_digits(static_cast<float>(v), exp_));
        pad_left_ = std::max(pad_left_, static_cast<int>(p.int_part.size()));
        frac_ = std::max(frac_, static_cast<int>(p.frac.size()));
        exp_size_ = std::max(exp_size_, static_cast<int>(p.exp.size()) - 1);
      }
    }
    pad_right_ = exp_ ? exp_size_ + 2 + frac_ : frac_;
    if (any_nonfinite) {
      const int offset = pad_right_ + 1;
      pad_left_ = std::max({pad_left_, 3 - offset, 3 + int(neg_inf) - offset});
    }
  }

  std::string operator()(double v) const {
    if (!float_) {
      std::string s = std::to_string(static_cast<int64_t>(v));
      return std::string(static_cast<size_t>(std::max(0, width_ - int(s.size()))), ' ') + s;
    }
    if (!std::isfinite(v)) {
      const std::string s = std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
      const int width = pad_left_ + 1 + pad_right_;
      return std::string(static_cast<size_t>(std::max(0, width - int(s.size()))), ' ') + s;
    }
    Parts p = split(float_digits(static_cast<float>(v), exp_));
    if (exp_ && static_cast<int>(p.frac.size()) < frac_) {
      // Mantissas share one digit count: shorter ones get more digits of the exact value
      // (numpy's min_digits), not zeros.
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*e", frac_, v);
      p = split(buf);
    }
    std::string s(static_cast<size_t>(std::max(0, pad_left_ - int(p.int_part.size()))), ' ');
    s += p.int_part + "." + p.frac;
    if (exp_) {
      // Exponents padded to a common digit count.
      const std::string digits = p.exp.substr(1);
      s += 'e';
      s += p.exp.front();
      s.append(static_cast<size_t>(std::max(0, exp_size_ - int(digits.size()))), '0');
      s += digits;
    } else {
      s.append(static_cast<size_t>(frac_ - int(p.frac.size())), ' ');
    }
    return s;
  }

 private:
  struct Parts {
    std::string int_part, frac, exp;  // exp with its sign: "-05"
  };
  static Parts split(const std::string& s) {
    Parts p;
    const size_t dot = s.find('.'), e = s.find('e');
    p.int_part = s.substr(0, dot);
    p.frac = s.substr(dot + 1, e == std::string::npos ? std::string::npos : e - dot - 1);
    if (e != std::string::npos) p.exp = s.substr(e + 1);
    return p;
  }

  bool float_;
  bool exp_ = false;
  int width_ = 0;  // integers
  int pad_left_ = 0, pad_right_ = 0, frac_ = 0, exp_size_ = 0;
};

/// numpy's _extendLine: wraps before `word` when the line would pass `width`.
void extend_line(std::string& s, std::string& line, const std::string& word, int width,
                 const std::string& next_line_prefix) {
  const bool needs_wrap = line.size() + word.size() > static_cast<size_t>(width) &&
                          line.size() > next_line_prefix.size();
  if (needs_wrap) {
    s += line.substr(0, line.find_last_not_of(' ') + 1) + "\n";
    line = next_line_prefix;
  }
  line += word;
}

/// numpy's _formatArray recursion.
std::string format_axis(const Tensor& t, const ElementFormat& fmt, const Elision& e, int axis,
                        int64_t offset, const std::string& hanging_indent, int width) {
  if (axis == t.rank()) return fmt(t.flat(offset));
  const int64_t n = t.dim(axis);
  if (n == 0) return "[]";
  int64_t stride = 1;
  for (int i = axis + 1; i < t.rank(); ++i) stride *= t.dim(i);
  const std::string next_indent = hanging_indent + " ";
  const int next_width = width - 1;  // room for the closing ']'
  const bool summary = e.summarized(n);
  const int64_t leading = summary ? e.edge : 0, trailing = summary ? e.edge : n;
  auto item = [&](int64_t i) {
    return format_axis(t, fmt, e, axis + 1, offset + i * stride, next_indent, next_width);
  };
  std::string s;
  if (axis + 1 == t.rank()) {
    const int elem_width = width - 1;
    std::string line = hanging_indent;
    for (int64_t i = 0; i < leading; ++i) {
      extend_line(s, line, item(i), elem_width, hanging_indent);
      line += ", ";
    }
    if (summary) {
      extend_line(s, line, "...", elem_width, hanging_indent);
      line += ", ";
    }
    for (int64_t i = trailing; i > 1; --i) {
      extend_line(s, line, item(n - i), elem_width, hanging_indent);
      line += ", ";
    }
    extend_line(s, line, item(n - 1), elem_width, hanging_indent);
    s += line;
  } else {
    const std::string line_sep =
        std::string(1, ',').append(static_cast<size_t>(t.rank() - axis - 1), '\n');
    for (int64_t i = 0; i < leading; ++i) s += hanging_indent + item(i) + line_sep;
    if (summary) s += hanging_indent + "..." + line_sep;
    for (int64_t i = trailing; i > 1; --i) s += hanging_indent + item(n - i) + line_sep;
    s += hanging_indent + item(n - 1);
  }
  std::string r(1, '[');
  r.append(s, hanging_indent.size());
  r += ']';
  return r;
}
}  // namespace

std::string Tensor::to_string(int max_items) const {
  if (!defined()) return "Tensor(undefined)";
  if (!device().is_cpu()) {
    std::string s = to(Device::cpu()).to_string(max_items);
    return s.insert(s.size() - 1, ", device=" + device().to_string());
  }
  const std::string prefix = "array(";
  Elision e;
  e.max_items = std::max(max_items, 2);
  e.edge = e.max_items / 2;
  std::vector<int64_t> shown;
  shown_elements(*this, 0, 0, e, shown);
  const ElementFormat fmt(*this, shown);
  std::string s = prefix;
  if (rank() == 0) {
    s += fmt(flat(0));
  } else {
    // numpy keeps the line one column short for the "," that follows the array.
    s += format_axis(*this, fmt, e, 0, 0, std::string(prefix.size() + 1, ' '), kLineWidth - 1);
  }
  s += ",";
  const std::string tail = "shape=" + shape_.to_string() + ", dtype=" + dtype_name(dtype_) + ")";
  const size_t last_line = s.size() - (s.rfind('\n') == std::string::npos ? 0 : s.rfind('\n') + 1);
  s += last_line + tail.size() + 1 > static_cast<size_t>(kLineWidth)
           ? std::string(1, '\n').append(prefix.size(), ' ')
           : std::string(" ");
  return s + tail;
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace fitrun
