#pragma once
// fitrun's exception hierarchy. Every message names the thing at fault (layer, JSON path,
// file) and what was expected, so that a CLI can print it as one line.
#include <stdexcept>
#include <string>

namespace fitrun {

/// Base of every error fitrun throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

/// Incompatible tensor or layer shapes ("dense_1: expected input (None, 64), got (None, 32)").
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// A bad argument or configuration value (unknown activation, negative units, bad JSON field).
class ConfigError : public Error {
 public:
  using Error::Error;
};

/// A file that cannot be read or written, or whose contents are malformed.
class IOError : public Error {
 public:
  using Error::Error;
};

/// A failure inside a compute backend (oneDNN, cuDNN): names the op and the layer.
class BackendError : public Error {
 public:
  using Error::Error;
};

}  // namespace fitrun
