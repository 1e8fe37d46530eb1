#include "io/hdf5.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "fitrun/error.hpp"

namespace fitrun::io::h5 {

namespace {

/// HDF5's innermost error message on the default stack ("truncated file: eof = 96, ...").
std::string hdf5_detail() {
  std::string msg;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::string*>(data);
        if (n == 0 && e && e->desc) *out = e->desc;
        return 0;
      },
      &msg);
  H5Eclear2(H5E_DEFAULT);
  return msg;
}

std::string join(const std::string& parent, const std::string& name) {
  if (parent.empty() || parent == "/") return "/" + name;
  return parent + "/" + name;
}

Id make_string_type(size_t size, bool utf8) {
  Id t(H5Tcopy(H5T_C_S1), H5Tclose);
  if (size == 0) H5Tset_size(t.get(), H5T_VARIABLE);
  else H5Tset_size(t.get(), size);
  H5Tset_cset(t.get(), utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
  if (size != 0) H5Tset_strpad(t.get(), H5T_STR_NULLPAD);
  return t;
}

}  // namespace

// ---------------------------------------------------------------- Id
Id& Id::operator=(Id&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = -1;
  }
  return *this;
}

bool Id::reset() {
  bool ok = true;
  if (id_ >= 0 && close_) ok = close_(id_) >= 0;
  id_ = -1;
  return ok;
}

// ---------------------------------------------------------------- File
File::File(Id id, std::string name) : id_(std::move(id)), name_(std::move(name)) {}

File::File(File&& o) noexcept
    : id_(std::move(o.id_)),
      name_(std::move(o.name_)),
      saved_handler_(o.saved_handler_),
      saved_data_(o.saved_data_),
      restore_(o.restore_) {
  o.restore_ = false;
}

File::~File() {
  id_.reset();
  if (restore_)
    H5Eset_auto2(H5E_DEFAULT, reinterpret_cast<H5E_auto2_t>(saved_handler_), saved_data_);
}

namespace {
struct Silencer {
  H5E_auto2_t handler = nullptr;
  void* data = nullptr;
  Silencer() {
    H5Eget_auto2(H5E_DEFAULT, &handler, &data);
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
};

/// A name no other open in-memory file has (HDF5 tells open files apart by name).
std::string memory_name() {
  static std::atomic<uint64_t> counter{0};
  return "fitrun-memory-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".h5";
}

/// HDF5's signature, at 0 or at 512, 1024, 2048, ... after a user block.
bool has_hdf5_signature(const std::string& bytes) {
  static const char kSignature[] = "\x89HDF\r\n\x1a\n";
  for (size_t at = 0; at + 8 <= bytes.size(); at = at ? at * 2 : 512)
    if (bytes.compare(at, 8, kSignature, 8) == 0) return true;
  return false;
}
}  // namespace

File File::adopt(Id id, std::string name, H5E_auto2_t handler, void* data) {
  File f(std::move(id), std::move(name));
  f.saved_handler_ = reinterpret_cast<void*>(handler);
  f.saved_data_ = data;
  f.restore_ = true;
  return f;
}

/// Creates a file with the access properties `fapl`; errors name `display_name`.
File File::create_with(const std::string& path, const std::string& display_name, hid_t fapl) {
  Silencer s;
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (id < 0) {
    const std::string detail = hdf5_detail();
    H5Eset_auto2(H5E_DEFAULT, s.handler, s.data);
    throw IOError(display_name + ": cannot create the HDF5 file" +
                  (detail.empty() ? "" : " (" + detail + ")"));
  }
  return adopt(Id(id, H5Fclose), display_name, s.handler, s.data);
}

File File::create(const std::string& path, const std::string& display_name) {
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  return create_with(path, display_name, fapl.get());
}

File File::create_in_memory(const std::string& display_name) {
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fapl_core(fapl.get(), 1 << 20, /*backing_store=*/false);
  return create_with(memory_name(), display_name, fapl.get());
}

File File::open_image(const std::string& image, const std::string& display_name) {
  if (!has_hdf5_signature(image))
    throw IOError(display_name + ": not an HDF5 file (no HDF5 signature found)");
  Silencer s;
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  H5Pset_fapl_core(fapl.get(), 1 << 20, /*backing_store=*/false);
  // HDF5 copies the image: the file does not depend on `image` staying alive.
  hid_t id = -1;
  if (H5Pset_file_image(fapl.get(), const_cast<char*>(image.data()), image.size()) >= 0)
    id = H5Fopen(memory_name().c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) {
    const std::string detail = hdf5_detail();
    H5Eset_auto2(H5E_DEFAULT, s.handler, s.data);
    throw IOError(display_name + ": truncated or corrupt HDF5 file" +
                  (detail.empty() ? "" : " (" + detail + ")"));
  }
  return adopt(Id(id, H5Fclose), display_name, s.handler, s.data);
}

std::string File::image() const {
  if (H5Fflush(id_.get(), H5F_SCOPE_GLOBAL) < 0) fail("/", "cannot flush the file");
  const ssize_t n = H5Fget_file_image(id_.get(), nullptr, 0);
  if (n < 0) fail("/", "cannot read the file's image");
  std::string out(static_cast<size_t>(n), '\0');
  if (H5Fget_file_image(id_.get(), out.data(), out.size()) != n)
    fail("/", "cannot read the file's image");
  return out;
}

File File::open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IOError(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw IOError(path + ": is a directory, not an HDF5 file");
  Silencer s;
  auto restore = [&] { H5Eset_auto2(H5E_DEFAULT, s.handler, s.data); };
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  if (is_h5 <= 0) {
    const std::string detail = hdf5_detail();
    restore();
    if (is_h5 == 0)
      throw IOError(path + ": not an HDF5 file (no HDF5 signature found; expected a .h5 file "
                    "written by fitrun or Keras)");
    throw IOError(path + ": cannot read the file" + (detail.empty() ? "" : " (" + detail + ")"));
  }
  Id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) {
    const std::string detail = hdf5_detail();
    restore();
    throw IOError(path + ": truncated or corrupt HDF5 file" +
                  (detail.empty() ? "" : " (" + detail + ")"));
  }
  return adopt(Id(id, H5Fclose), path, s.handler, s.data);
}

Group File::root() const {
  hid_t g = H5Gopen2(id_.get(), "/", H5P_DEFAULT);
  if (g < 0) fail("/", "cannot open the root group");
  return Group(this, Id(g, H5Gclose), "/");
}

void File::close() {
  if (!id_.valid()) return;
  if (H5Fflush(id_.get(), H5F_SCOPE_GLOBAL) < 0) fail("/", "cannot write the file");
  if (!id_.reset()) fail("/", "cannot close the file");
}

void File::fail(const std::string& hdf5_path, const std::string& what) const {
  const std::string detail = hdf5_detail();
  throw IOError(name_ + ": " + hdf5_path + ": " + what +
                (detail.empty() ? "" : " (HDF5: " + detail + ")"));
}

// ---------------------------------------------------------------- Group
std::string Group::path(const std::string& name) const { return join(path_, name); }

bool Group::has(const std::string& name) const {
  if (name.empty()) return false;
  std::string prefix;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    const std::string part = name.substr(start, slash == std::string::npos ? std::string::npos
                                                                           : slash - start);
    prefix += (prefix.empty() ? "" : "/") + part;
    const htri_t e = H5Lexists(id_.get(), prefix.c_str(), H5P_DEFAULT);
    if (e <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    if (slash == std::string::npos) break;
    // An intermediate component must be a group to look inside it.
    H5O_info_t info;
    if (H5Oget_info_by_name(id_.get(), prefix.c_str(), &info, H5P_DEFAULT) < 0 ||
        info.type != H5O_TYPE_GROUP) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    start = slash + 1;
  }
  return true;
}

Group Group::open_group(const std::string& name) const {
  if (!has(name)) file_->fail(path(name), "missing group");
  hid_t g = H5Gopen2(id_.get(), name.c_str(), H5P_DEFAULT);
  if (g < 0) file_->fail(path(name), "not a group, or unreadable");
  return Group(file_, Id(g, H5Gclose), path(name));
}

Group Group::create_group(const std::string& name) const {
  hid_t g = H5Gcreate2(id_.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0) file_->fail(path(name), "cannot create the group");
  return Group(file_, Id(g, H5Gclose), path(name));
}

std::vector<std::string> Group::children() const {
  struct Ctx {
    std::vector<std::string> names;
  } ctx;
  hsize_t idx = 0;
  const herr_t rc = H5Literate(
      id_.get(), H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* n, const H5L_info_t*, void* data) -> herr_t {
        auto* c = static_cast<Ctx*>(data);
        if (static_cast<int64_t>(c->names.size()) >= kMaxNames) return 1;  // stop
        c->names.emplace_back(n);
        return 0;
      },
      &ctx);
  if (rc < 0) file_->fail(path_, "cannot list the group");
  return ctx.names;
}

// ---- attributes
bool Group::has_attr(const std::string& name) const {
  const htri_t e = H5Aexists(id_.get(), name.c_str());
  if (e < 0) file_->fail(path_, "cannot read attribute \"" + name + "\"");
  return e > 0;
}

void Group::set_attr_string(const std::string& name, const std::string& value, bool utf8) const {
  Id type = make_string_type(0, utf8);
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id attr(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
          H5Aclose);
  const char* p = value.c_str();
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), &p) < 0)
    file_->fail(path_, "cannot write attribute \"" + name + "\"");
}

void Group::write_names_attr(const std::string& name, const std::vector<std::string>& values,
                             size_t width) const {
  Id type = make_string_type(width, false);
  const hsize_t n = values.size();
  Id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  std::vector<char> buf(values.size() * width, '\0');
  for (size_t i = 0; i < values.size(); ++i)
    std::memcpy(buf.data() + i * width, values[i].data(), values[i].size());
  Id attr(H5Acreate2(id_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
          H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), buf.data()) < 0)
    file_->fail(path_, "cannot write attribute \"" + name + "\"");
}

void Group::set_attr_names(const std::string& name, const std::vector<std::string>& values) const {
  if (values.empty()) {
    // np.asarray([]) is float64 of shape (0,): what Keras writes for a layer without weights.
    const hsize_t zero = 0;
    Id space(H5Screate_simple(1, &zero, nullptr), H5Sclose);
    Id attr(H5Acreate2(id_.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                       H5P_DEFAULT),
            H5Aclose);
    if (!attr.valid()) file_->fail(path_, "cannot write attribute \"" + name + "\"");
    return;
  }
  size_t width = 1;
  for (const auto& v : values) width = std::max(width, v.size());
  if (values.size() * width <= kObjectHeaderLimit) {
    write_names_attr(name, values, width);
    return;
  }
  // Keras' save_attributes_to_hdf5_group: the fewest equal chunks (np.array_split) that each
  // fit in an object header.
  size_t chunks = 1;
  auto chunk_bytes = [&](size_t k) { return ((values.size() + k - 1) / k) * width; };
  while (chunk_bytes(chunks) > kObjectHeaderLimit) ++chunks;
  const size_t base = values.size() / chunks, extra = values.size() % chunks;
  size_t begin = 0;
  for (size_t c = 0; c < chunks; ++c) {
    const size_t len = base + (c < extra ? 1 : 0);
    write_names_attr(name + std::to_string(c),
                     std::vector<std::string>(values.begin() + long(begin),
                                              values.begin() + long(begin + len)),
                     width);
    begin += len;
  }
}

void Group::set_attr_int64(const std::string& name, int64_t value) const {
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id attr(H5Acreate2(id_.get(), name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT,
                     H5P_DEFAULT),
          H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_INT64, &value) < 0)
    file_->fail(path_, "cannot write attribute \"" + name + "\"");
}

std::vector<std::string> Group::read_strings(const std::string& name) const {
  const std::string where = path_ + " attribute \"" + name + "\"";
  Id attr(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) file_->fail(where, "cannot open the attribute");
  Id type(H5Aget_type(attr.get()), H5Tclose);
  Id space(H5Aget_space(attr.get()), H5Sclose);
  if (!type.valid() || !space.valid()) file_->fail(where, "unreadable attribute");
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  if (count < 0) file_->fail(where, "unreadable dataspace");
  if (count == 0) return {};  // an empty array, whatever its type (Keras: float64 (0,))
  if (H5Tget_class(type.get()) != H5T_STRING)
    file_->fail(where, "expected strings, found another type");
  if (count > kMaxNames)
    file_->fail(where, "too many strings (" + std::to_string(count) + " > " +
                           std::to_string(kMaxNames) + ")");
  std::vector<std::string> out;
  const htri_t vlen = H5Tis_variable_str(type.get());
  if (vlen < 0) file_->fail(where, "unreadable string type");
  if (vlen > 0) {
    Id mem = make_string_type(0, H5Tget_cset(type.get()) == H5T_CSET_UTF8);
    std::vector<char*> ptrs(static_cast<size_t>(count), nullptr);
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0) file_->fail(where, "cannot read");
    int64_t total = 0;
    bool too_big = false;
    for (char* p : ptrs) {
      const size_t len = p ? std::strlen(p) : 0;
      total += static_cast<int64_t>(len);
      if (total > kMaxAttributeBytes) too_big = true;
      if (!too_big) out.emplace_back(p ? p : "", len);
    }
    H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
    if (too_big)
      file_->fail(where, "larger than " + std::to_string(kMaxAttributeBytes) + " bytes");
    return out;
  }
  const size_t width = H5Tget_size(type.get());
  if (width == 0) file_->fail(where, "unreadable string type");
  if (static_cast<int64_t>(width) * count > kMaxAttributeBytes)
    file_->fail(where, "larger than " + std::to_string(kMaxAttributeBytes) + " bytes");
  std::vector<char> buf(width * static_cast<size_t>(count));
  Id mem(H5Tcopy(type.get()), H5Tclose);
  if (H5Aread(attr.get(), mem.get(), buf.data()) < 0) file_->fail(where, "cannot read");
  const bool space_pad = H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD;
  for (hssize_t i = 0; i < count; ++i) {
    const char* p = buf.data() + size_t(i) * width;
    size_t len = 0;
    while (len < width && p[len] != '\0') ++len;
    if (space_pad)
      while (len > 0 && p[len - 1] == ' ') --len;
    out.emplace_back(p, len);
  }
  return out;
}

std::string Group::attr_string(const std::string& name) const {
  if (!has_attr(name)) file_->fail(path_, "missing attribute \"" + name + "\"");
  std::vector<std::string> v = read_strings(name);
  if (v.size() != 1)
    file_->fail(path_ + " attribute \"" + name + "\"",
                "expected one string, found " + std::to_string(v.size()));
  return v[0];
}

std::optional<std::vector<std::string>> Group::attr_names(const std::string& name) const {
  if (has_attr(name)) return read_strings(name);
  if (!has_attr(name + "0")) return std::nullopt;
  std::vector<std::string> out;
  for (int64_t c = 0; has_attr(name + std::to_string(c)); ++c) {
    std::vector<std::string> part = read_strings(name + std::to_string(c));
    out.insert(out.end(), part.begin(), part.end());
    if (static_cast<int64_t>(out.size()) > kMaxNames)
      file_->fail(path_ + " attribute \"" + name + "\"", "too many strings");
  }
  return out;
}

std::optional<int64_t> Group::attr_int64(const std::string& name) const {
  if (!has_attr(name)) return std::nullopt;
  const std::string where = path_ + " attribute \"" + name + "\"";
  Id attr(H5Aopen(id_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
  Id type(attr.valid() ? H5Aget_type(attr.get()) : -1, H5Tclose);
  Id space(attr.valid() ? H5Aget_space(attr.get()) : -1, H5Sclose);
  if (!type.valid() || !space.valid()) file_->fail(where, "unreadable attribute");
  const H5T_class_t cls = H5Tget_class(type.get());
  if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || H5Sget_simple_extent_npoints(space.get()) != 1)
    file_->fail(where, "expected one number");
  int64_t v = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &v) < 0) file_->fail(where, "cannot read");
  return v;
}

// ---- datasets
void Group::write_float(const std::string& name, const Tensor& on_device) const {
  const Tensor t = on_device.to(Device::cpu());  // the tensor itself when it is on the CPU
  if (t.dtype() != DType::float32)
    file_->fail(path(name), "only float32 weights can be written, got " + dtype_name(t.dtype()));
  Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  std::vector<hsize_t> dims(t.shape().begin(), t.shape().end());
  Id space(t.rank() == 0 ? H5Screate(H5S_SCALAR)
                         : H5Screate_simple(t.rank(), dims.data(), nullptr),
           H5Sclose);
  Id dset(H5Dcreate2(id_.get(), name.c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(),
                     H5P_DEFAULT, H5P_DEFAULT),
          H5Dclose);
  if (!dset.valid()) file_->fail(path(name), "cannot create the dataset");
  const Tensor host = t.device().is_cpu() ? t : t.clone();
  if (t.size() > 0 &&
      H5Dwrite(dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, host.raw()) < 0)
    file_->fail(path(name), "cannot write the dataset");
}

void Group::write_int64(const std::string& name, int64_t value) const {
  Id lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Id space(H5Screate(H5S_SCALAR), H5Sclose);
  Id dset(H5Dcreate2(id_.get(), name.c_str(), H5T_STD_I64LE, space.get(), lcpl.get(),
                     H5P_DEFAULT, H5P_DEFAULT),
          H5Dclose);
  if (!dset.valid() ||
      H5Dwrite(dset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0)
    file_->fail(path(name), "cannot write the dataset");
}

Id Group::open_dataset(const std::string& name, bool want_float) const {
  if (!has(name)) file_->fail(path(name), "missing dataset");
  H5O_info_t info;
  if (H5Oget_info_by_name(id_.get(), name.c_str(), &info, H5P_DEFAULT) < 0 ||
      info.type != H5O_TYPE_DATASET)
    file_->fail(path(name), "expected a dataset, found another kind of object");
  Id dset(H5Dopen2(id_.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!dset.valid()) file_->fail(path(name), "cannot open the dataset");
  Id type(H5Dget_type(dset.get()), H5Tclose);
  const H5T_class_t cls = type.valid() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
  if (want_float ? cls != H5T_FLOAT : (cls != H5T_FLOAT && cls != H5T_INTEGER))
    file_->fail(path(name), std::string("expected ") + (want_float ? "float" : "numeric") +
                                " values, found another type");
  if (H5Tget_size(type.get()) > 16) file_->fail(path(name), "unsupported element size");
  return dset;
}

Shape Group::dataset_shape(const std::string& name) const {
  Id dset = open_dataset(name, false);
  Id space(H5Dget_space(dset.get()), H5Sclose);
  if (!space.valid()) file_->fail(path(name), "unreadable dataspace");
  const H5S_class_t sc = H5Sget_simple_extent_type(space.get());
  if (sc == H5S_SCALAR) return Shape{};
  if (sc != H5S_SIMPLE) file_->fail(path(name), "empty (null) dataspace");
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || rank > Shape::kMaxRank)
    file_->fail(path(name), "rank " + std::to_string(rank) + " exceeds the maximum of " +
                                std::to_string(Shape::kMaxRank));
  hsize_t dims[H5S_MAX_RANK];
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  Shape s;
  int64_t total = 1;
  bool too_big = false;
  for (int i = 0; i < rank; ++i) {
    if (dims[i] > hsize_t(kMaxElements)) too_big = true;
    const int64_t d = too_big ? kMaxElements : static_cast<int64_t>(dims[i]);
    s.push_back(d);
    if (!too_big && d > 0 && total > kMaxElements / d) too_big = true;
    if (!too_big) total *= d;
  }
  if (too_big || total >= kMaxElements) {
    std::string dims_text = "(";
    for (int i = 0; i < rank; ++i) dims_text += (i ? ", " : "") + std::to_string(dims[i]);
    file_->fail(path(name), "shape " + dims_text + (rank == 1 ? ",)" : ")") +
                                " has 2^31 elements or more; refusing to read it");
  }
  return s;
}

void Group::read_float(const std::string& name, Tensor& into) const {
  const Shape found = dataset_shape(name);
  if (found != into.shape())
    file_->fail(path(name), "expected shape " + into.shape().to_string() + ", found " +
                                found.to_string());
  if (into.dtype() != DType::float32)
    file_->fail(path(name), "internal: can only read into a float32 tensor");
  if (!into.device().is_cpu()) {  // a model on a GPU: read on the host, then copy
    Tensor host(into.shape());
    read_float(name, host);
    into.copy_from(host);
    return;
  }
  Id dset = open_dataset(name, true);
  if (into.size() > 0 &&
      H5Dread(dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, into.raw()) < 0)
    file_->fail(path(name), "cannot read the dataset (truncated or corrupt file?)");
}

int64_t Group::read_int64(const std::string& name) const {
  if (dataset_shape(name).num_elements() != 1)
    file_->fail(path(name), "expected a single value");
  Id dset = open_dataset(name, false);
  int64_t v = 0;
  if (H5Dread(dset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
    file_->fail(path(name), "cannot read the dataset");
  return v;
}

double Group::read_double(const std::string& name) const {
  if (dataset_shape(name).num_elements() != 1)
    file_->fail(path(name), "expected a single value");
  Id dset = open_dataset(name, false);
  double v = 0;
  if (H5Dread(dset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
    file_->fail(path(name), "cannot read the dataset");
  return v;
}

}  // namespace fitrun::io::h5
