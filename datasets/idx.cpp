#include "fitrun/datasets/idx.hpp"

#include <cstdio>
#include <cstring>
#include <vector>

#include "file_bytes.hpp"
#include "fitrun/error.hpp"

namespace fitrun::datasets {

using detail::read_be32;

namespace {

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08X", v);
  return buf;
}

template <class To>
void decode(const unsigned char* p, int type, int64_t n, To* out) {
  for (int64_t i = 0; i < n; ++i) {
    switch (type) {
      case 0x08: out[i] = static_cast<To>(p[i]); break;
      case 0x09: out[i] = static_cast<To>(static_cast<int8_t>(p[i])); break;
      case 0x0B: out[i] = static_cast<To>(static_cast<int16_t>((p[2 * i] << 8) | p[2 * i + 1])); break;
      case 0x0C: out[i] = static_cast<To>(static_cast<int32_t>(read_be32(p + 4 * i))); break;
      case 0x0D: {
        const uint32_t bits = read_be32(p + 4 * i);
        float f;
        std::memcpy(&f, &bits, 4);
        out[i] = static_cast<To>(f);
        break;
      }
      default: {  // 0x0E
        const uint64_t bits = (uint64_t(read_be32(p + 8 * i)) << 32) | read_be32(p + 8 * i + 4);
        double d;
        std::memcpy(&d, &bits, 8);
        out[i] = static_cast<To>(d);
      }
    }
  }
}

int type_size(int type) {
  switch (type) {
    case 0x08: case 0x09: return 1;
    case 0x0B: return 2;
    case 0x0C: case 0x0D: return 4;
    case 0x0E: return 8;
    default: return 0;
  }
}

Tensor load(const std::string& path, const DType* want) {
  const std::string bytes = detail::read_file_gunzip(path);
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 4) throw IOError(path + ": truncated IDX file (" + std::to_string(bytes.size()) + " bytes)");
  const uint32_t magic = read_be32(u);
  const int type = u[2], rank = u[3];
  if (u[0] != 0 || u[1] != 0 || type_size(type) == 0 || rank < 1 || rank > Shape::kMaxRank)
    throw IOError(path + ": bad magic number " + hex32(magic) +
                  ", expected an IDX file (0x00000803 for images, 0x00000801 for labels)");
  const size_t header = 4 + 4 * static_cast<size_t>(rank);
  if (bytes.size() < header) throw IOError(path + ": truncated IDX header");
  Shape shape;
  int64_t n = 1;
  for (int i = 0; i < rank; ++i) {
    shape.push_back(read_be32(u + 4 + 4 * i));
    n *= shape[i];
  }
  const size_t need = static_cast<size_t>(n) * static_cast<size_t>(type_size(type));
  if (bytes.size() - header < need)
    throw IOError(path + ": truncated: shape " + shape.to_string() + " needs " + std::to_string(need) +
                  " bytes of data, the file has " + std::to_string(bytes.size() - header));
  if (bytes.size() - header > need)
    throw IOError(path + ": " + std::to_string(bytes.size() - header - need) +
                  " unexpected bytes after the data of shape " + shape.to_string());
  const DType dtype = want ? *want : (type == 0x0D || type == 0x0E ? DType::float32 : DType::int32);
  Tensor t(shape, dtype);
  const unsigned char* data = u + header;
  switch (dtype) {
    case DType::float32: decode(data, type, n, t.data<float>()); break;
    case DType::int32: decode(data, type, n, t.data<int32_t>()); break;
    case DType::int64: decode(data, type, n, t.data<int64_t>()); break;
  }
  return t;
}

}  // namespace

Tensor load_idx(const std::string& path) { return load(path, nullptr); }
Tensor load_idx(const std::string& path, DType dtype) { return load(path, &dtype); }

}  // namespace fitrun::datasets
