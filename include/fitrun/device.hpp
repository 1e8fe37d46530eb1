#pragma once
#include <string>

namespace fitrun {

/// Where a tensor lives and where ops run. The whole model lives on one device per process.
class Device {
 public:
  enum class Kind { cpu, cuda };

  Device() = default;
  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return Device(Kind::cuda, index); }
  /// "cpu", "cuda", "cuda:1" or "auto" (a GPU when one is present, else the CPU).
  static Device parse(const std::string& name);

  Kind kind() const { return kind_; }
  int index() const { return index_; }
  bool is_cpu() const { return kind_ == Kind::cpu; }
  bool is_cuda() const { return kind_ == Kind::cuda; }
  std::string to_string() const;

  friend bool operator==(Device a, Device b) { return a.kind_ == b.kind_ && a.index_ == b.index_; }
  friend bool operator!=(Device a, Device b) { return !(a == b); }

 private:
  Device(Kind k, int i) : kind_(k), index_(i) {}
  Kind kind_ = Kind::cpu;
  int index_ = 0;
};

}  // namespace fitrun
