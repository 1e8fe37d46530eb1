// TensorBoard event files: TFRecord framing and the few protobuf messages (Event, Summary,
// Summary.Value, SummaryMetadata, TensorProto, HistogramProto) encoded by hand.
#include "fitrun/callbacks/event_file_writer.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "fitrun/error.hpp"

namespace fitrun::callbacks {
namespace {

// ---- CRC-32C, reflected polynomial 0x82f63b78, one table lookup per byte.
const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (c & 1 ? 0x82f63b78u : 0u);
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// ---- protobuf wire format (field key = number << 3 | wire type)
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void key(std::string& out, int field, int wire_type) { varint(out, uint64_t(field) << 3 | wire_type); }
template <class T> void little_endian(std::string& out, T v) {
  char bytes[sizeof v];
  std::memcpy(bytes, &v, sizeof v);  // x86 and ARM Linux are little-endian
  out.append(bytes, sizeof v);
}
void field_double(std::string& out, int field, double v) {
  key(out, field, 1);
  little_endian(out, v);
}
void field_varint(std::string& out, int field, uint64_t v) {
  key(out, field, 0);
  varint(out, v);
}
void field_bytes(std::string& out, int field, const std::string& bytes) {
  key(out, field, 2);
  varint(out, bytes.size());
  out += bytes;
}
void field_packed_doubles(std::string& out, int field, const std::vector<double>& values) {
  std::string packed;
  for (double v : values) little_endian(packed, v);
  field_bytes(out, field, packed);
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Event{wall_time = 1, step = 2, <what>}
std::string event(double wall_time, int64_t step, const std::string& what) {
  std::string e;
  field_double(e, 1, wall_time);
  if (step != 0) field_varint(e, 2, static_cast<uint64_t>(step));
  return e + what;
}

// Summary{value = 1: Value}
std::string summary_event(double wall_time, int64_t step, const std::string& value) {
  std::string summary;
  field_bytes(summary, 1, value);
  std::string what;
  field_bytes(what, 5, summary);
  return event(wall_time, step, what);
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

}  // namespace

uint32_t crc32c(const void* data, std::size_t size) {
  const auto& table = crc_table();
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t crc = 0xffffffffu;
  for (std::size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

uint32_t masked_crc32c(const void* data, std::size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

EventFileWriter::EventFileWriter(const std::string& log_dir, std::optional<double> wall_time) {
  static std::atomic<int> counter{0};
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) throw IOError("TensorBoard: cannot create \"" + log_dir + "\": " + ec.message());
  const double t = wall_time.value_or(now_seconds());
  char name[512];
  std::snprintf(name, sizeof name, "events.out.tfevents.%010lld.%s.%d.%d.v2",
                static_cast<long long>(t), host_name().c_str(), static_cast<int>(getpid()),
                counter.fetch_add(1));
  path_ = (std::filesystem::path(log_dir) / name).string();
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw IOError("TensorBoard: cannot create \"" + path_ + "\": " + std::strerror(errno));
  std::string version;
  field_bytes(version, 3, "brain.Event:2");
  write_record(event(t, 0, version));
  flush();
}

EventFileWriter::~EventFileWriter() {
  if (file_) std::fclose(file_);
}

void EventFileWriter::write_record(const std::string& data) {
  std::string record;
  little_endian(record, static_cast<uint64_t>(data.size()));
  const uint32_t length_crc = masked_crc32c(record.data(), record.size());
  little_endian(record, length_crc);
  record += data;
  little_endian(record, masked_crc32c(data.data(), data.size()));
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size())
    throw IOError("TensorBoard: cannot write \"" + path_ + "\": " + std::strerror(errno));
}

void EventFileWriter::add_scalar(const std::string& tag, double value, int64_t step,
                                 std::optional<double> wall_time) {
  std::string v;
  field_bytes(v, 1, tag);
  // SummaryMetadata{plugin_data{plugin_name: "scalars"}}, needed on a tag's first value only.
  if (tags_with_metadata_.insert(tag).second) {
    std::string plugin, metadata;
    field_bytes(plugin, 1, "scalars");
    field_bytes(metadata, 1, plugin);
    field_bytes(v, 9, metadata);
  }
  // TensorProto{dtype: DT_FLOAT, tensor_shape: {}, tensor_content: 4 bytes}
  std::string tensor, content;
  field_varint(tensor, 1, 1);
  field_bytes(tensor, 2, "");
  little_endian(content, static_cast<float>(value));
  field_bytes(tensor, 4, content);
  field_bytes(v, 8, tensor);
  write_record(summary_event(wall_time.value_or(now_seconds()), step, v));
}

void EventFileWriter::add_histogram(const std::string& tag, const float* values, std::size_t count,
                                    int64_t step, int buckets, std::optional<double> wall_time) {
  if (buckets < 1) throw ConfigError("TensorBoard: a histogram needs at least one bucket");
  double lo = 0, hi = 0, sum = 0, sum_squares = 0;
  if (count > 0) lo = hi = values[0];
  for (std::size_t i = 0; i < count; ++i) {
    const double x = values[i];
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    sum += x;
    sum_squares += x * x;
  }
  const int n = lo == hi ? 1 : buckets;  // a constant tensor: one bucket
  std::vector<double> limits(static_cast<size_t>(n)), counts(static_cast<size_t>(n), 0.0);
  const double width = (hi - lo) / n;
  for (int b = 0; b < n; ++b) limits[static_cast<size_t>(b)] = b + 1 == n ? hi : lo + width * (b + 1);
  for (std::size_t i = 0; i < count; ++i) {
    int b = width > 0 ? static_cast<int>((values[i] - lo) / width) : 0;
    counts[static_cast<size_t>(std::clamp(b, 0, n - 1))] += 1;
  }
  // HistogramProto{min 1, max 2, num 3, sum 4, sum_squares 5, bucket_limit 6, bucket 7}
  std::string h;
  field_double(h, 1, lo);
  field_double(h, 2, hi);
  field_double(h, 3, static_cast<double>(count));
  field_double(h, 4, sum);
  field_double(h, 5, sum_squares);
  field_packed_doubles(h, 6, limits);
  field_packed_doubles(h, 7, counts);
  std::string v;
  field_bytes(v, 1, tag);
  field_bytes(v, 5, h);
  write_record(summary_event(wall_time.value_or(now_seconds()), step, v));
}

void EventFileWriter::flush() {
  if (std::fflush(file_) != 0)
    throw IOError("TensorBoard: cannot write \"" + path_ + "\": " + std::strerror(errno));
}

}  // namespace fitrun::callbacks
