#include "fitrun/dtype.hpp"

namespace fitrun {

std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::float32: return 4;
    case DType::int32: return 4;
    case DType::int64: return 8;
  }
  return 4;
}

std::string dtype_name(DType t) {
  switch (t) {
    case DType::float32: return "float32";
    case DType::int32: return "int32";
    case DType::int64: return "int64";
  }
  return "?";
}

std::string compute_dtype_name(ComputeDType t) {
  switch (t) {
    case ComputeDType::float32: return "float32";
    case ComputeDType::bfloat16: return "bfloat16";
    case ComputeDType::float16: return "float16";
  }
  return "?";
}

}  // namespace fitrun
