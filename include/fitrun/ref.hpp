#pragma once
// Ref<Base>: how the API accepts polymorphic objects Keras-style. A parameter of type
// Ref<Optimizer> takes a name ("adam"), an object by value (optimizers::Adam({...})) or a
// shared pointer, so calls read like Keras without any make_shared at the call site.
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace fitrun {

template <class Base>
class Ref {
 public:
  Ref() = default;
  Ref(std::nullptr_t) {}
  template <class T, class = std::enable_if_t<std::is_base_of_v<Base, T>>>
  Ref(std::shared_ptr<T> p) : p_(std::move(p)) {}
  /// Takes an object by value (moved into shared ownership).
  template <class T, class = std::enable_if_t<std::is_base_of_v<Base, std::decay_t<T>> &&
                                             !std::is_lvalue_reference_v<T>>>
  Ref(T&& object) : p_(std::make_shared<std::decay_t<T>>(std::forward<T>(object))) {}
  /// A Keras name resolved by Base::get (e.g. Optimizer::get("adam")).
  Ref(const std::string& name) : p_(Base::get(name)) {}
  Ref(const char* name) : p_(Base::get(name)) {}

  Base* get() const { return p_.get(); }
  Base* operator->() const { return p_.get(); }
  Base& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  const std::shared_ptr<Base>& ptr() const { return p_; }

 private:
  std::shared_ptr<Base> p_;
};

}  // namespace fitrun
