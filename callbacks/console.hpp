#pragma once
// Where callbacks print (the progress bar, "Epoch 3: early stopping"): std::cout, flushed.
// Not C stdout: xeus-cling shows a notebook cell's output by swapping std::cout's buffer, so
// only what goes through std::cout appears under the cell. In a plain program std::cout is
// synchronized with stdout, so the order with other output is kept.
#include <fmt/format.h>

#include <iostream>
#include <string>

namespace fitrun::callbacks::detail {

inline void console_write(const std::string& text) { std::cout << text << std::flush; }

/// console_write(fmt::format(...)).
template <class... Args>
void console_print(fmt::format_string<Args...> format, Args&&... args) {
  console_write(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace fitrun::callbacks::detail
