#pragma once
// EventFileWriter: TensorBoard's event files without TensorFlow or protobuf. A file is a
// sequence of TFRecords (uint64 length, masked CRC-32C of the length, an Event protobuf, masked
// CRC-32C of the Event); the first Event holds file_version "brain.Event:2". Scalars are written
// in TF2's form (a float tensor tagged with the "scalars" plugin, as Keras' callback writes
// them), histograms in the HistogramProto form TensorBoard migrates on load. See
// docs/callbacks.md and /work/shared/reference/keras-formats.md §7.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fitrun::callbacks {

/// CRC-32C (Castagnoli), and TFRecord's masked form ((crc >> 15 | crc << 17) + 0xa282ead8).
uint32_t crc32c(const void* data, std::size_t size);
uint32_t masked_crc32c(const void* data, std::size_t size);

class EventFileWriter {
 public:
  /// Creates `log_dir` (and parents) and the file
  /// "events.out.tfevents.<10-digit seconds>.<host>.<pid>.<n>.v2" in it. Throws IOError.
  explicit EventFileWriter(const std::string& log_dir,
                           std::optional<double> wall_time = std::nullopt);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  /// A scalar summary; wall_time defaults to now (seconds since the epoch).
  void add_scalar(const std::string& tag, double value, int64_t step,
                  std::optional<double> wall_time = std::nullopt);
  /// A histogram of `values` in `buckets` equal-width buckets between their min and max.
  void add_histogram(const std::string& tag, const float* values, std::size_t count, int64_t step,
                     int buckets = 30, std::optional<double> wall_time = std::nullopt);
  /// Writes buffered records to the file (TensorBoard reads files as they grow).
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);

  std::string path_;
  std::FILE* file_ = nullptr;
  std::set<std::string> tags_with_metadata_;
};

}  // namespace fitrun::callbacks
