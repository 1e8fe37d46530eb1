// File loaders on small files the tests write: .npy/.npz, IDX, CIFAR binary batches, CSV, and
// every malformed variant (wrong magic, truncation, mismatched files, bad headers).
#include <catch2/catch.hpp>
#include <fitrun/datasets/cifar.hpp>
#include <fitrun/datasets/csv.hpp>
#include <fitrun/datasets/idx.hpp>
#include <fitrun/datasets/mnist.hpp>
#include <fitrun/datasets/npy.hpp>
#include <fitrun/error.hpp>

#include <cstring>

#include "files.hpp"

using namespace fitrun;
using namespace fitrun::datasets;
using namespace ds_test;

namespace {

/// A version-1.0 .npy file with the given dtype descr, shape text and raw data.
std::string npy(const std::string& descr, const std::string& shape, const std::string& data,
                const std::string& fortran = "False") {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\x00';
  s += char(header.size() & 0xff);
  s += char(header.size() >> 8);
  return s + header + data;
}

template <class T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

}  // namespace

TEST_CASE("npy round trip keeps shape dtype and values", "[datasets][npy]") {
  TempDir dir;
  Tensor f = Tensor::from_vector({1.5f, -2.f, 3.25f, 4.f, 5.f, 6.f}, {2, 3});
  Tensor i = Tensor::from_vector({7, -8, 9}, {3});
  Tensor l = Tensor::from_vector(std::vector<int64_t>{1LL << 40, -3}, {2, 1});
  for (const auto& t : {f, i, l}) {
    save_npy(dir / "a.npy", t);
    Tensor back = load_npy(dir / "a.npy");
    REQUIRE(back.shape() == t.shape());
    REQUIRE(back.dtype() == t.dtype());
    for (int64_t k = 0; k < t.size(); ++k) CHECK(back.flat(k) == t.flat(k));
  }
  // NumPy's layout: the data starts on a 64-byte boundary after "{'descr': '<f4', ...}".
  save_npy(dir / "f.npy", f);
  std::ifstream in(dir / "f.npy", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  CHECK(bytes.size() == 128 + 24);  // as np.save writes it
  CHECK(bytes.substr(10, 60) == "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } ");
  CHECK(bytes[127] == '\n');
}

TEST_CASE("npy reads every supported dtype", "[datasets][npy]") {
  TempDir dir;
  auto load = [&](const std::string& bytes) {
    write_bytes(dir / "x.npy", bytes);
    return load_npy(dir / "x.npy");
  };
  Tensor t = load(npy("<f8", "(2,)", raw<double>({0.5, -1.25})));
  CHECK(t.dtype() == DType::float32);
  CHECK(t.to_vector() == std::vector<float>{0.5f, -1.25f});
  t = load(npy("|u1", "(2, 2)", std::string("\x00\x01\xfe\xff", 4)));
  CHECK(t.dtype() == DType::int32);
  CHECK(t.shape() == Shape{2, 2});
  CHECK(t.flat(2) == 254);
  CHECK(t.flat(3) == 255);
  CHECK(load(npy("|i1", "(2,)", "\x05\xff")).flat(1) == -1);
  CHECK(load(npy("<i2", "(1,)", raw<int16_t>({-300}))).flat(0) == -300);
  CHECK(load(npy("<u2", "(1,)", raw<uint16_t>({65535}))).flat(0) == 65535);
  CHECK(load(npy("|b1", "(2,)", std::string("\x01\x00", 2))).flat(0) == 1);
  t = load(npy("<u4", "(1,)", raw<uint32_t>({4000000000u})));
  CHECK(t.dtype() == DType::int64);
  CHECK(t.flat(0) == 4000000000.0);
  CHECK(load(npy("<u8", "(1,)", raw<uint64_t>({12}))).flat(0) == 12);
  CHECK(load(npy("<i4", "()", raw<int32_t>({42}))).item() == 42);
  CHECK(load(npy("<f4", "(0, 3)", "")).shape() == Shape{0, 3});
}

TEST_CASE("npy rejects unsupported or malformed files naming the file", "[datasets][npy]") {
  TempDir dir;
  const std::string p = dir / "bad.npy";
  auto error_of = [&](const std::string& bytes) {
    write_bytes(p, bytes);
    try {
      load_npy(p);
    } catch (const IOError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of(npy("<f4", "(2, 2)", raw<float>({1, 2, 3, 4}), "True")) ==
        p + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
  CHECK(error_of(npy(">f4", "(1,)", raw<float>({1}))) ==
        p + ": big-endian dtype '>f4' is not supported; convert with .astype('<f4')");
  CHECK(error_of(npy("|O", "(1,)", "\x80\x02")) == p + ": object arrays (pickles) are not supported");
  CHECK(error_of("\x80\x04\x95 pickled") == p + ": is a Python pickle, not a .npy array (pickles are not supported)");
  CHECK(error_of("NUMPY....") == p + ": not a .npy file (bad magic number; expected \\x93NUMPY)");
  CHECK(error_of(npy("<f4", "(3,)", raw<float>({1, 2}))) ==
        p + ": truncated data: shape needs 12 bytes, file has 8");
  CHECK(error_of(npy("<c8", "(1,)", raw<float>({1, 2}))) ==
        p + ": unsupported dtype '<c8' (supported: float32, float64, bool, int8..int64, uint8..uint64)");
  CHECK(error_of(npy("<f4", "[1, 2]", "")) == p + ": bad .npy header: shape [1, 2] is not a tuple");
  CHECK(error_of(npy("<f4", "(1,)", raw<float>({1})).substr(0, 30)) ==
        p + ": truncated .npy header (118 bytes announced, 20 present)");
  std::string no_shape = npy("<f4", "(1,)", raw<float>({1}));
  no_shape.replace(no_shape.find("'shape'"), 7, "'shope'");
  CHECK(error_of(no_shape).rfind(p + ": bad .npy header: no 'shape' in {", 0) == 0);
  std::string structured = npy("<f4", "(1,)", raw<float>({1}));
  structured.replace(structured.find("'<f4'"), 5, "[('a'");
  CHECK(error_of(structured) == p + ": structured dtypes are not supported");
}

TEST_CASE("npz round trip stored and deflated", "[datasets][npy]") {
  TempDir dir;
  std::map<std::string, Tensor> arrays{{"x_train", Tensor::from_vector({1.f, 2.f, 3.f, 4.f}, {2, 2})},
                                       {"y_train", Tensor::from_vector({0, 1}, {2})}};
  for (bool compressed : {false, true}) {
    save_npz(dir / "d.npz", arrays, compressed);
    auto back = load_npz(dir / "d.npz");
    REQUIRE(back.size() == 2);
    CHECK(back["x_train"].to_vector() == std::vector<float>{1, 2, 3, 4});
    CHECK(back["x_train"].shape() == Shape{2, 2});
    CHECK(back["y_train"].dtype() == DType::int32);
    CHECK(back["y_train"].flat(1) == 1);
  }
}

TEST_CASE("npz errors name the file and the member", "[datasets][npy]") {
  TempDir dir;
  const std::string p = dir / "d.npz";
  save_npz(p, {{"a", Tensor::from_vector({1.f, 2.f, 3.f}, {3})}});
  std::ifstream in(p, std::ios::binary);
  const std::string good((std::istreambuf_iterator<char>(in)), {});
  auto error_of = [&](const std::string& bytes) {
    write_bytes(p, bytes);
    try {
      load_npz(p);
    } catch (const IOError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of("not a zip at all, just text") == p + ": not an .npz file (bad magic number; expected a zip archive)");
  CHECK(error_of(good.substr(0, good.size() - 30)) == p + ": truncated .npz (no end-of-central-directory record)");
  std::string flipped = good;
  flipped[30 + 5 + 128 + 4] ^= 0x55;  // a data byte of member "a.npy"
  CHECK(error_of(flipped) == p + ": a.npy: CRC mismatch (corrupt .npz member)");
}

TEST_CASE("idx loads plain and gzipped files of every type", "[datasets][idx]") {
  TempDir dir;
  const std::string images = idx_bytes(0x08, {2, 2, 3}, std::string("\x00\x01\x02\x03\x04\x05\xff\x07\x08\x09\x0a\x0b", 12));
  write_bytes(dir / "img.idx", images);
  write_gz(dir / "img.idx.gz", images);
  for (const auto& name : {"img.idx", "img.idx.gz"}) {
    Tensor t = load_idx(dir / name);
    REQUIRE(t.shape() == Shape{2, 2, 3});
    CHECK(t.dtype() == DType::int32);
    CHECK(t.flat(6) == 255);
    CHECK(t.at({1, 1, 2}) == 11);
  }
  Tensor f = load_idx(dir / "img.idx.gz", DType::float32);
  CHECK(f.dtype() == DType::float32);
  CHECK(f.flat(6) == 255.f);
  write_bytes(dir / "i32.idx", idx_bytes(0x0C, {2}, be32(static_cast<uint32_t>(-5)) + be32(70000)));
  CHECK(load_idx(dir / "i32.idx").to_vector() == std::vector<float>{-5, 70000});
  write_bytes(dir / "i16.idx", idx_bytes(0x0B, {1}, std::string("\xff\xfe", 2)));
  CHECK(load_idx(dir / "i16.idx").flat(0) == -2);
  write_bytes(dir / "f32.idx", idx_bytes(0x0D, {1}, be32(0x3FC00000)));  // 1.5f
  CHECK(load_idx(dir / "f32.idx").flat(0) == 1.5);
  write_bytes(dir / "f64.idx", idx_bytes(0x0E, {1}, be32(0xC0040000) + be32(0)));  // -2.5
  CHECK(load_idx(dir / "f64.idx").flat(0) == -2.5);
}

TEST_CASE("idx errors name the file and what is wrong", "[datasets][idx]") {
  TempDir dir;
  const std::string p = dir / "train-images-idx3-ubyte";
  auto error_of = [&](const std::string& bytes, bool gz = false) {
    gz ? write_gz(p, bytes) : write_bytes(p, bytes);
    try {
      load_idx(p);
    } catch (const IOError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of(be32(0x12345678) + std::string(8, '\0')) ==
        p + ": bad magic number 0x12345678, expected an IDX file (0x00000803 for images, 0x00000801 for labels)");
  CHECK(error_of(idx_bytes(0x07, {1}, "x")) ==
        p + ": bad magic number 0x00000701, expected an IDX file (0x00000803 for images, 0x00000801 for labels)");
  CHECK(error_of(idx_bytes(0x08, {3, 2, 2}, std::string(11, '\1'))) ==
        p + ": truncated: shape (3, 2, 2) needs 12 bytes of data, the file has 11");
  CHECK(error_of(idx_bytes(0x08, {3, 2, 2}, std::string(11, '\1')), true) ==
        p + ": truncated: shape (3, 2, 2) needs 12 bytes of data, the file has 11");
  CHECK(error_of(idx_bytes(0x08, {2}, "abc")) == p + ": 1 unexpected bytes after the data of shape (2,)");
  CHECK(error_of(std::string("\0\0", 2)) == p + ": truncated IDX file (2 bytes)");
  CHECK(error_of(std::string("\0\0\x08\x03\0\0", 6)) == p + ": truncated IDX header");
  // A gzip stream cut short is reported by zlib.
  write_gz(p, idx_bytes(0x08, {300}, std::string(300, '\7')));
  std::ifstream in(p, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), {});
  write_bytes(p, gz.substr(0, gz.size() / 2));
  CHECK_THROWS_WITH(load_idx(p), Catch::StartsWith(p + ": read error: "));
  CHECK_THROWS_WITH(load_idx(dir / "missing.gz"), dir / "missing.gz: cannot open: No such file or directory");
}

TEST_CASE("fashion_mnist load_data reads the cache and checks image and label counts", "[datasets][idx]") {
  TempDir dir;
  auto images = [](uint32_t n) {
    std::string px(n * 784, '\0');
    for (uint32_t i = 0; i < n; ++i) px[i * 784 + 5] = char(100 + i);
    return idx_bytes(0x08, {n, 28, 28}, px);
  };
  auto labels = [](uint32_t n) {
    std::string l;
    for (uint32_t i = 0; i < n; ++i) l += char(i % 10);
    return idx_bytes(0x08, {n}, l);
  };
  write_gz(dir / "fashion-mnist/train-images-idx3-ubyte.gz", images(3));
  write_gz(dir / "fashion-mnist/train-labels-idx1-ubyte.gz", labels(3));
  write_gz(dir / "fashion-mnist/t10k-images-idx3-ubyte.gz", images(2));
  write_gz(dir / "fashion-mnist/t10k-labels-idx1-ubyte.gz", labels(2));
  auto d = fashion_mnist::load_data(dir.path);
  CHECK(d.x_train.shape() == Shape{3, 28, 28});
  CHECK(d.x_train.dtype() == DType::float32);
  CHECK(d.x_train.at({2, 0, 5}) == 102);
  CHECK(d.y_train.dtype() == DType::int32);
  CHECK(d.y_train.to_vector() == std::vector<float>{0, 1, 2});
  CHECK(d.x_test.shape() == Shape{2, 28, 28});
  // Found through FITRUN_DATA_DIR as well.
  setenv("FITRUN_DATA_DIR", dir.path.c_str(), 1);
  CHECK(fashion_mnist::load_data().y_test.dim(0) == 2);
  unsetenv("FITRUN_DATA_DIR");
  write_gz(dir / "fashion-mnist/t10k-labels-idx1-ubyte.gz", labels(1));
  CHECK_THROWS_WITH(fashion_mnist::load_data(dir.path),
                    dir / "fashion-mnist/t10k-labels-idx1-ubyte.gz: 1 labels for 2 images in " +
                        dir / "fashion-mnist/t10k-images-idx3-ubyte.gz (mismatched files)");
}

TEST_CASE("mnist load_data reads Keras' mnist.npz from the cache", "[datasets][npy]") {
  TempDir dir;
  Tensor x = Tensor::zeros({2, 28, 28}, DType::int32);
  x.data<int32_t>()[3] = 255;
  save_npz(dir / "mnist.npz", {{"x_train", x}, {"y_train", Tensor::from_vector({3, 4}, {2})},
                               {"x_test", x}, {"y_test", Tensor::from_vector({5, 6}, {2})}});
  auto d = mnist::load_data(dir.path);
  CHECK(d.x_train.dtype() == DType::float32);
  CHECK(d.x_train.flat(3) == 255.f);
  CHECK(d.y_test.to_vector() == std::vector<float>{5, 6});
  save_npz(dir / "mnist.npz", {{"x_train", x}, {"y_train", Tensor::from_vector({3}, {1})},
                               {"x_test", x}, {"y_test", Tensor::from_vector({5, 6}, {2})}});
  CHECK_THROWS_WITH(mnist::load_data(dir.path), dir / "mnist.npz: y_train: 1 labels for 2 images in " +
                                                    dir / "mnist.npz: x_train (mismatched files)");
  save_npz(dir / "mnist.npz", {{"x_train", x}});
  CHECK_THROWS_WITH(mnist::load_data(dir.path), dir / "mnist.npz: no array \"y_train\" in the archive");
}

namespace {
/// A CIFAR record: labels, then a 32x32 image whose channel c at pixel p is (c * 50 + p) % 256.
std::string cifar_record(std::initializer_list<int> labels, int shift = 0) {
  std::string r;
  for (int l : labels) r += char(l);
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 1024; ++p) r += char((c * 50 + p + shift) % 256);
  return r;
}
}  // namespace

TEST_CASE("cifar batches load as NHWC with their labels", "[datasets][cifar]") {
  TempDir dir;
  write_bytes(dir / "data_batch_1.bin", cifar_record({3}) + cifar_record({9}, 1));
  auto d = load_cifar_batch(dir / "data_batch_1.bin", CifarFormat::cifar10);
  REQUIRE(d.x.shape() == Shape{2, 32, 32, 3});
  CHECK(d.y.to_vector() == std::vector<float>{3, 9});
  // pixel (row 1, col 2) = p 34; green channel = (50 + 34) % 256
  CHECK(d.x.at({0, 1, 2, 1}) == 84);
  CHECK(d.x.at({1, 1, 2, 2}) == (100 + 34 + 1) % 256);
  write_bytes(dir / "train.bin", cifar_record({7, 77}) + cifar_record({19, 99}));
  CHECK(load_cifar_batch(dir / "train.bin", CifarFormat::cifar100_fine).y.to_vector() == std::vector<float>{77, 99});
  CHECK(load_cifar_batch(dir / "train.bin", CifarFormat::cifar100_coarse).y.to_vector() == std::vector<float>{7, 19});
}

TEST_CASE("cifar errors name the file and what is wrong", "[datasets][cifar]") {
  TempDir dir;
  const std::string p = dir / "data_batch_1.bin";
  write_bytes(p, cifar_record({1}) + cifar_record({2}).substr(0, 100));
  CHECK_THROWS_WITH(load_cifar_batch(p, CifarFormat::cifar10),
                    p + ": size 3173 is not a whole number of 3073-byte CIFAR-10 records (truncated, or not a "
                        "batch of that dataset)");
  write_bytes(p, cifar_record({1}) + cifar_record({12}));
  CHECK_THROWS_WITH(load_cifar_batch(p, CifarFormat::cifar10),
                    p + ": record 1: label 12 is out of range 0..9 (not a CIFAR-10 batch?)");
  write_bytes(p, cifar_record({25, 1}));
  CHECK_THROWS_WITH(load_cifar_batch(p, CifarFormat::cifar100_coarse),
                    p + ": record 0: label 25 is out of range 0..19 (not a CIFAR-100 batch?)");
  CHECK_THROWS_AS(load_cifar_batch(dir / "none.bin", CifarFormat::cifar10), IOError);
}

TEST_CASE("cifar10 load_data reads the cached batches with Keras shapes", "[datasets][cifar]") {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    write_bytes(dir / ("cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin"), cifar_record({b}));
  write_bytes(dir / "cifar-10-batches-bin/test_batch.bin", cifar_record({0}) + cifar_record({9}));
  auto d = cifar10::load_data(dir.path);
  CHECK(d.x_train.shape() == Shape{5, 32, 32, 3});
  CHECK(d.y_train.shape() == Shape{5, 1});
  CHECK(d.y_train.to_vector() == std::vector<float>{1, 2, 3, 4, 5});
  CHECK(d.y_test.to_vector() == std::vector<float>{0, 9});
  write_bytes(dir / "cifar-100-binary/train.bin", cifar_record({1, 50}));
  write_bytes(dir / "cifar-100-binary/test.bin", cifar_record({2, 60}));
  CHECK(cifar100::load_data("fine", dir.path).y_test.flat(0) == 60);
  CHECK(cifar100::load_data("coarse", dir.path).y_train.flat(0) == 1);
  CHECK_THROWS_WITH(cifar100::load_data("medium", dir.path),
                    "cifar100.load_data: label_mode must be \"fine\" or \"coarse\", got \"medium\"");
}

TEST_CASE("cifar10 load_data unpacks a cached archive and reports a broken one", "[datasets][cifar]") {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> members{{"cifar-10-batches-bin/readme.html", "<html>"}};
  for (int b = 1; b <= 5; ++b)
    members.push_back({"cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin", cifar_record({b - 1})});
  members.push_back({"cifar-10-batches-bin/test_batch.bin", cifar_record({7})});
  const std::string tar = tar_bytes(members);
  write_gz(dir / "cifar-10-binary.tar.gz", tar);  // already in the cache: no download
  auto d = cifar10::load_data(dir.path);
  CHECK(d.y_train.to_vector() == std::vector<float>{0, 1, 2, 3, 4});
  CHECK(d.y_test.to_vector() == std::vector<float>{7});
  CHECK(d.x_test.at({0, 0, 1, 2}) == (100 + 1) % 256);
  CHECK_FALSE(std::filesystem::exists(dir / "cifar-10-batches-bin/readme.html"));  // only the batches
  // Missing batch files with a truncated or incomplete archive.
  std::filesystem::remove_all(dir / "cifar-10-batches-bin");
  write_gz(dir / "cifar-10-binary.tar.gz", tar.substr(0, 512 * 9));
  CHECK_THROWS_WITH(cifar10::load_data(dir.path), dir / "cifar-10-binary.tar.gz: truncated tar archive");
  members.pop_back();
  write_gz(dir / "cifar-10-binary.tar.gz", tar_bytes(members));
  CHECK_THROWS_WITH(cifar10::load_data(dir.path), dir / "cifar-10-binary.tar.gz: no member "
                                                        "\"cifar-10-batches-bin/test_batch.bin\" in the archive");
}

TEST_CASE("csv picks the label column by name", "[datasets][csv]") {
  TempDir dir;
  write_bytes(dir / "iris.csv", "a,species,b\n1.5,2,3\n4,0,5.5\n");
  CsvOptions o;
  o.label_name = "species";
  auto d = load_csv(dir / "iris.csv", o);
  CHECK(d.y.to_vector() == std::vector<float>{2, 0});
  CHECK(d.x.to_vector() == std::vector<float>{1.5f, 3, 4, 5.5f});
  o.label_name = "kind";
  CHECK_THROWS_WITH(load_csv(dir / "iris.csv", o),
                    dir / "iris.csv: no column named \"kind\" in the header (columns: a, species, b)");
  o.header = CsvOptions::Header::no;
  CHECK_THROWS_WITH(load_csv(dir / "iris.csv", o),
                    dir / "iris.csv: label_name \"kind\" needs a header line, but header is no");
  CsvOptions by_index;
  by_index.label_column = 1;
  by_index.header = CsvOptions::Header::yes;
  CHECK(load_csv(dir / "iris.csv", by_index).y.to_vector() == std::vector<float>{2, 0});
}

TEST_CASE("csv errors name the file line and column", "[datasets][csv]") {
  TempDir dir;
  const std::string p = dir / "d.csv";
  write_bytes(p, "1,2,0\n3,abc,1\n");
  CHECK_THROWS_WITH(load_csv(p), p + ":2: column 2: \"abc\" is not a number");
  write_bytes(p, "1,2,0\n3,1\n");
  CHECK_THROWS_WITH(load_csv(p), p + ":2: expected 3 columns, got 2");
  write_bytes(p, "1,2,0.5\n");
  CHECK_THROWS_WITH(load_csv(p), p + ":1: label \"0.5\" is not an integer");
  write_gz(dir / "d.csv.gz", "x,y\n1.5,3\n2.5,4\n");
  auto d = load_csv(dir / "d.csv.gz");  // automatic header, gzip
  CHECK(d.x.to_vector() == std::vector<float>{1.5f, 2.5f});
  CHECK(d.y.to_vector() == std::vector<float>{3, 4});
}
