// TensorBoard event files, read back by an independent reader written here from the TFRecord
// and protobuf specs: a bitwise CRC-32C (the library uses a table), record framing with both
// masked CRCs checked, and a generic protobuf field walker.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>

#include "callbacks/callback_helpers.hpp"

using namespace fitrun;
using namespace fitrun::callbacks;

namespace {

uint32_t bitwise_crc32c(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
  }
  return ~crc;
}

uint32_t bitwise_masked(const std::string& bytes) {
  const uint32_t c = bitwise_crc32c(bytes);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

template <class T> T load(const std::string& s, size_t at) {
  REQUIRE(at + sizeof(T) <= s.size());
  T v;
  std::memcpy(&v, s.data() + at, sizeof v);
  return v;
}

/// The records of an event file; fails the test on any framing or CRC error.
std::vector<std::string> read_records(const std::string& path) {
  const std::string file = cb_test::read_file(path);
  std::vector<std::string> records;
  size_t at = 0;
  while (at < file.size()) {
    REQUIRE(at + 12 <= file.size());
    const uint64_t length = load<uint64_t>(file, at);
    CHECK(load<uint32_t>(file, at + 8) == bitwise_masked(file.substr(at, 8)));
    REQUIRE(at + 12 + length + 4 <= file.size());
    const std::string data = file.substr(at + 12, length);
    CHECK(load<uint32_t>(file, at + 12 + length) == bitwise_masked(data));
    records.push_back(data);
    at += 12 + length + 4;
  }
  return records;
}

/// One protobuf field: number, wire type, and its value (varint / fixed bits / bytes).
struct Field {
  int number, wire;
  uint64_t integer = 0;
  std::string bytes;
};

std::vector<Field> parse_message(const std::string& m) {
  std::vector<Field> fields;
  size_t at = 0;
  auto varint = [&] {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      REQUIRE(at < m.size());
      const auto b = static_cast<unsigned char>(m[at++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < m.size()) {
    const uint64_t key = varint();
    Field f{int(key >> 3), int(key & 7)};
    if (f.wire == 0) {
      f.integer = varint();
    } else if (f.wire == 1) {
      f.integer = load<uint64_t>(m, at);
      at += 8;
    } else if (f.wire == 5) {
      f.integer = load<uint32_t>(m, at);
      at += 4;
    } else {
      REQUIRE(f.wire == 2);
      const uint64_t n = varint();
      REQUIRE(at + n <= m.size());
      f.bytes = m.substr(at, n);
      at += n;
    }
    fields.push_back(f);
  }
  return fields;
}

const Field* find(const std::vector<Field>& fields, int number) {
  for (const auto& f : fields)
    if (f.number == number) return &f;
  return nullptr;
}

struct Point {
  int64_t step;
  double value;
};

/// tag -> values of a run folder's event file; checks the file_version record comes first.
/// Histograms are reported as their sample count.
std::map<std::string, std::vector<Point>> read_run(const std::string& folder) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(folder))
    if (e.path().filename().string().find("tfevents") != std::string::npos) files.push_back(e.path());
  REQUIRE(files.size() == 1);
  const auto records = read_records(files[0]);
  REQUIRE(!records.empty());
  const auto first = parse_message(records[0]);
  REQUIRE(find(first, 3));
  CHECK(find(first, 3)->bytes == "brain.Event:2");
  std::map<std::string, std::vector<Point>> out;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto event = parse_message(records[r]);
    const Field* step = find(event, 2);
    const Field* summary = find(event, 5);
    REQUIRE(summary);
    for (const auto& value : parse_message(summary->bytes)) {
      const auto v = parse_message(value.bytes);
      const std::string tag = find(v, 1)->bytes;
      double number;
      if (const Field* tensor = find(v, 8)) {
        const auto t = parse_message(tensor->bytes);
        CHECK(find(t, 1)->integer == 1);  // DT_FLOAT
        const std::string content = find(t, 4)->bytes;
        REQUIRE(content.size() == 4);
        number = load<float>(content, 0);
      } else {
        const Field* histo = find(v, 5);
        REQUIRE(histo);
        double num;
        const uint64_t bits = find(parse_message(histo->bytes), 3)->integer;
        std::memcpy(&num, &bits, 8);
        number = num;
      }
      out[tag].push_back({step ? int64_t(step->integer) : 0, number});
    }
  }
  return out;
}

std::string unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += char(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

}  // namespace

TEST_CASE("CRC-32C and its mask match the TFRecord check values", "[callbacks][tensorboard]") {
  CHECK(crc32c("123456789", 9) == 0xe3069283u);
  CHECK(bitwise_crc32c("123456789") == 0xe3069283u);
  const std::string some = "fitrun event bytes \x01\x02\xff";
  CHECK(masked_crc32c(some.data(), some.size()) == bitwise_masked(some));
}

TEST_CASE("EventFileWriter writes the reference bytes", "[callbacks][tensorboard]") {
  cb_test::ScratchDir dir("tb-golden");
  std::string path;
  {
    EventFileWriter w(dir.str(), 1700000000.0);
    w.add_scalar("epoch_loss", 0.5, 3, 1700000001.0);
    path = w.path();
  }
  const std::string name = std::filesystem::path(path).filename();
  CHECK(name.rfind("events.out.tfevents.1700000000.", 0) == 0);
  CHECK(name.substr(name.size() - 3) == ".v2");
  // keras-formats.md §7.5: the file_version event and the TF2 scalar, framed.
  CHECK(cb_test::read_file(path) ==
        unhex("1800000000000000a37f4b220900000040fc54d9411a0d627261696e2e4576656e743a32eced8f9d"
              "34000000000000005e33175c0900004040fc54d94110032a270a250a0a65706f63685f6c6f73734a0b"
              "0a090a077363616c617273420a0801120022040000003ff5e21136"));
}

TEST_CASE("TensorBoard logs epoch and batch scalars with learning rate and histograms",
          "[callbacks][tensorboard]") {
  cb_test::ScratchDir dir("tb-fit");
  auto model = cb_test::tiny_model(0.1);
  auto [x, y] = cb_test::tiny_data();
  auto& h = model->fit({x}, {y}, {.batch_size = 2, .epochs = 3, .verbose = 0,
                                  .callbacks = {TensorBoard(dir.str(), {.histogram_freq = 2,
                                                                        .update_freq = 2})},
                                  .validation_split = 0.25});
  // FITRUN_KEEP_TENSORBOARD=<folder>: keep a copy for tests/tools/check_tensorboard.py.
  if (const char* keep = std::getenv("FITRUN_KEEP_TENSORBOARD"))
    std::filesystem::copy(dir.str(), keep, std::filesystem::copy_options::recursive |
                                               std::filesystem::copy_options::overwrite_existing);
  const auto train = read_run(dir / "train");
  const auto val = read_run(dir / "validation");
  REQUIRE(train.count("epoch_loss"));
  REQUIRE(train.at("epoch_loss").size() == 3);
  for (int e = 0; e < 3; ++e) {
    CHECK(train.at("epoch_loss")[size_t(e)].step == e);
    CHECK(train.at("epoch_loss")[size_t(e)].value == float(h.history.at("loss")[size_t(e)]));
    CHECK(val.at("epoch_loss")[size_t(e)].value == float(h.history.at("val_loss")[size_t(e)]));
    CHECK(train.at("epoch_learning_rate")[size_t(e)].value == float(0.1));
  }
  CHECK_FALSE(train.count("epoch_val_loss"));
  // 6 training samples, batch 2: 3 batches per epoch, 9 in all; every 2nd is logged.
  REQUIRE(train.count("batch_loss"));
  std::vector<int64_t> steps;
  for (const auto& p : train.at("batch_loss")) steps.push_back(p.step);
  CHECK(steps == std::vector<int64_t>{2, 4, 6, 8});
  // Histograms at epochs 0 and 2, one per weight: the kernel has 3 x 2 values.
  int histograms = 0;
  for (const auto& [tag, points] : train)
    if (tag.size() > 10 && tag.substr(tag.size() - 10) == "/histogram") {
      ++histograms;
      CHECK(points.size() == 2);
      CHECK((points[0].value == 6 || points[0].value == 2));
    }
  CHECK(histograms == 2);
}
