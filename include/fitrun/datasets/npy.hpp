#pragma once
// NumPy .npy and .npz files.
//
// Reading: C-order, little-endian (or single-byte) float32/float64/bool/int8..int64/
// uint8..uint64 arrays. fitrun has float32/int32/int64 tensors, so float64 becomes float32,
// bool/int8/int16/uint8/uint16 become int32, uint32 becomes int64 and uint64 becomes int64
// (values above 2^63-1 are an error). Fortran order, big-endian data, object arrays (pickles),
// structured and other dtypes give an IOError naming the file and the reason.
// .npz: stored (np.savez) or deflated (np.savez_compressed) members.
#include <map>
#include <string>

#include "fitrun/tensor.hpp"

namespace fitrun::datasets {

Tensor load_npy(const std::string& path);
/// Writes '<f4', '<i4' or '<i8' (format version 1.0), atomically.
void save_npy(const std::string& path, const Tensor& t);

/// The arrays of an .npz archive by name (without the ".npy" suffix).
std::map<std::string, Tensor> load_npz(const std::string& path);
/// Writes an .npz archive (np.savez; `compressed`: np.savez_compressed), atomically.
void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compressed = false);

namespace detail {
/// Parses the bytes of one .npy array; `where` names it in errors ("a.npz: x_train.npy").
Tensor parse_npy(const std::string& bytes, const std::string& where);
std::string format_npy(const Tensor& t);
}  // namespace detail

}  // namespace fitrun::datasets
