#pragma once
// Stand-in for xeus-cling's xcpp/xdisplay.hpp, used only when tests/notebooks/run_notebook.py
// replays a notebook in clang-repl (there is no xeus kernel in CI). Like the real
// xcpp::display it needs a mime_bundle_repr(const T&) found by ADL, so a display hook that
// is missing or does not compile fails the notebook; instead of sending a display_data
// message it reports the bundle to the runner on stdout, between markers the runner removes.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace xcpp {

template <class T>
void display(const T& t, const std::string& /*display_id*/ = "", bool /*update*/ = false) {
  const nlohmann::json bundle = mime_bundle_repr(t);
  if (!bundle.is_object() || bundle.empty())
    throw std::runtime_error("xcpp::display: mime_bundle_repr returned no mime bundle");
  std::cout << "@@FITRUN_NB_DISPLAY " << bundle.dump() << "@@FITRUN_NB_END@@" << std::endl;
}

inline void clear_output(bool /*wait*/ = false) {}

}  // namespace xcpp
