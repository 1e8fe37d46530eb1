#include "fitrun/device.hpp"

#include "fitrun/error.hpp"
#include "fitrun/runtime.hpp"

namespace fitrun {

Device Device::parse(const std::string& name) {
  if (name == "cpu") return cpu();
  if (name == "auto") return cuda_device_count() > 0 ? cuda(0) : cpu();
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
