#pragma once
// A small layer over the HDF5 C API for Keras' files: RAII handles, string attributes in every
// form h5py writes (fixed-length or variable-length, ASCII or UTF-8, chunked name lists), float
// datasets with nested names ("dense/kernel:0"), and errors that name the file and the HDF5
// path. Reads check types, ranks and sizes before allocating anything.
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fitrun/shape.hpp"
#include "fitrun/tensor.hpp"

namespace fitrun::io::h5 {

/// Largest dataset fitrun reads (elements); a bigger one is refused before allocation.
constexpr int64_t kMaxElements = int64_t(1) << 31;
/// Largest string attribute (bytes) and name list (entries) fitrun reads.
constexpr int64_t kMaxAttributeBytes = int64_t(256) << 20;
constexpr int64_t kMaxNames = int64_t(1) << 20;
/// Keras splits array attributes larger than this into name0, name1, ... (HDF5's object header).
constexpr size_t kObjectHeaderLimit = 64512;

/// An owned hid_t, closed by the matching H5*close on destruction.
class Id {
 public:
  using Closer = herr_t (*)(hid_t);
  Id() = default;
  Id(hid_t id, Closer close) : id_(id), close_(close) {}
  Id(Id&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = -1; }
  Id& operator=(Id&& o) noexcept;
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id() { reset(); }
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Closes now; returns false when HDF5 reports an error (e.g. a failed flush).
  bool reset();

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

class Group;

/// An open HDF5 file. Silences HDF5's own error printing while open; errors become IOErrors
/// whose message starts with the file's display name.
class File {
 public:
  /// Creates (truncating) `path`; errors name `display_name` (the file the user asked for).
  static File create(const std::string& path, const std::string& display_name);
  /// Opens `path` read-only. A missing file, a file that is not HDF5, and a truncated or corrupt
  /// one each give their own IOError.
  static File open(const std::string& path);
  /// A file kept in memory (HDF5's core driver, nothing on disk); image() gives its bytes.
  /// Used for the model.weights.h5 member of a .keras archive.
  static File create_in_memory(const std::string& display_name);
  /// Opens the file whose bytes are `image`, read-only; errors as open(), naming `display_name`.
  static File open_image(const std::string& image, const std::string& display_name);
  File(File&&) noexcept;
  ~File();

  Group root() const;
  /// Flushes and closes; throws IOError when HDF5 cannot (e.g. a full disk).
  void close();
  /// The bytes of a file made by create_in_memory(), flushed; throws IOError when unavailable.
  std::string image() const;
  const std::string& name() const { return name_; }

  /// Throws IOError "<file>: <hdf5 path>: <what> (<HDF5's innermost message>)".
  [[noreturn]] void fail(const std::string& hdf5_path, const std::string& what) const;

 private:
  File(Id id, std::string name);
  /// Takes an open file; HDF5's error printer (`handler`, `data`) comes back when it closes.
  static File adopt(Id id, std::string name, H5E_auto2_t handler, void* data);
  static File create_with(const std::string& path, const std::string& display_name, hid_t fapl);
  Id id_;
  std::string name_;
  void* saved_handler_ = nullptr;
  void* saved_data_ = nullptr;
  bool restore_ = false;
};

/// A group of an open file (the file must outlive it).
class Group {
 public:
  Group(const File* file, Id id, std::string path)
      : file_(file), id_(std::move(id)), path_(std::move(path)) {}
  const std::string& path() const { return path_; }
  /// HDF5 path of a child: path() + "/" + name.
  std::string path(const std::string& name) const;
  const File& file() const { return *file_; }
  hid_t id() const { return id_.get(); }

  /// Whether a link `name` exists; "a/b/c" is checked one component at a time.
  bool has(const std::string& name) const;
  Group open_group(const std::string& name) const;
  Group create_group(const std::string& name) const;
  /// Names of the direct children (links), in HDF5's name order.
  std::vector<std::string> children() const;

  // ---- attributes ----
  bool has_attr(const std::string& name) const;
  /// A scalar variable-length string (UTF-8 or ASCII), as h5py writes str / bytes values.
  void set_attr_string(const std::string& name, const std::string& value, bool utf8 = true) const;
  /// A list of names as Keras writes them: a fixed-length, null-padded ASCII array, split into
  /// name0, name1, ... past HDF5's object header limit; an empty list is an empty float64 array.
  void set_attr_names(const std::string& name, const std::vector<std::string>& values) const;
  void set_attr_int64(const std::string& name, int64_t value) const;
  /// One string (scalar or one-element array; fixed or variable length).
  std::string attr_string(const std::string& name) const;
  /// A list of strings, from `name` or its chunks name0, name1, ...; nullopt when absent.
  std::optional<std::vector<std::string>> attr_names(const std::string& name) const;
  std::optional<int64_t> attr_int64(const std::string& name) const;

  // ---- datasets ----
  /// A float32 dataset of t's shape (a scalar dataspace for rank 0); "a/b" creates group "a".
  void write_float(const std::string& name, const Tensor& t) const;
  void write_int64(const std::string& name, int64_t value) const;
  /// A dataset's shape, checked: rank <= 8 and fewer than kMaxElements elements.
  Shape dataset_shape(const std::string& name) const;
  /// Reads a float dataset (any float width) into `into`, whose shape it must have; throws
  /// IOError "<file>: <path>: expected shape (..), found (..)" otherwise, before reading.
  void read_float(const std::string& name, Tensor& into) const;
  /// A one-element numeric dataset as int64 / double.
  int64_t read_int64(const std::string& name) const;
  double read_double(const std::string& name) const;

 private:
  Id open_dataset(const std::string& name, bool want_float) const;
  void write_names_attr(const std::string& name, const std::vector<std::string>& values,
                        size_t width) const;
  std::vector<std::string> read_strings(const std::string& name) const;

  const File* file_;
  Id id_;
  std::string path_;
};

}  // namespace fitrun::io::h5
