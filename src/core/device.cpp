#include "fitrun/device.hpp"

#include "fitrun/error.hpp"

namespace fitrun {

Device Device::parse(const std::string& name) {
  if (name == "cpu" || name == "auto") return cpu();  // no CUDA backend in this build yet
  if (name == "cuda") return cuda(0);
  if (name.rfind("cuda:", 0) == 0) {
    try {
      return cuda(std::stoi(name.substr(5)));
    } catch (const std::exception&) {
    }
  }
  throw ConfigError("unknown device \"" + name + "\": expected cpu, cuda, cuda:N or auto");
}

std::string Device::to_string() const {
  return is_cpu() ? "cpu" : "cuda:" + std::to_string(index_);
}

}  // namespace fitrun
