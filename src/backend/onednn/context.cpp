#include "backend/onednn/context.hpp"

#include <cstdlib>
#include <memory>

namespace fitrun::onednn {

dnnl::engine& engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

Key::Key(int op, std::initializer_list<int64_t> values) {
  if (values.size() + 1 > v.size()) throw Error("primitive key too long");
  v[0] = op;
  size_t i = 1;
  for (int64_t x : values) v[i++] = x;
}

size_t KeyHash::operator()(const Key& k) const {
  uint64_t h = 1469598103934665603ULL;
  for (int64_t x : k.v) h = (h ^ static_cast<uint64_t>(x)) * 1099511628211ULL;
  return static_cast<size_t>(h);
}

namespace {
struct Scratchpad {
  void* data = nullptr;
  size_t bytes = 0;
  ~Scratchpad() { std::free(data); }
};
Scratchpad& scratchpad() {
  static thread_local Scratchpad s;
  return s;
}
}  // namespace

dnnl::primitive_attr default_attr() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

void reserve_scratchpad(const dnnl::memory::desc& md, Primitive& p) {
  size_t need = md.get_size();
  p.has_scratchpad = true;
  Scratchpad& s = scratchpad();
  if (need > s.bytes) {
    std::free(s.data);
    s.bytes = ((need + 4095) / 4096) * 4096;
    s.data = std::aligned_alloc(64, s.bytes);
  }
  p.args[DNNL_ARG_SCRATCHPAD] = dnnl::memory(md, engine(), s.data);
}

void Primitive::run(std::initializer_list<std::pair<int, const void*>> handles) {
  run(handles.begin(), handles.size());
}

void Primitive::run(const std::pair<int, const void*>* handles, size_t count) {
  if (c_args_.size() != args.size()) {
    c_args_.clear();
    for (auto& [arg, mem] : args) c_args_.push_back({arg, mem.get()});
  }
  for (size_t i = 0; i < count; ++i)
    dnnl_memory_set_data_handle_v2(args.at(handles[i].first).get(),
                                   const_cast<void*>(handles[i].second), stream().get());
  if (has_scratchpad)
    dnnl_memory_set_data_handle_v2(args.at(DNNL_ARG_SCRATCHPAD).get(), scratchpad().data,
                                   stream().get());
  if (dnnl_primitive_execute(prim.get(), stream().get(), static_cast<int>(c_args_.size()),
                             c_args_.data()) != dnnl_success)
    throw BackendError("oneDNN could not execute a primitive");
  stream().wait();
}

std::unordered_map<Key, Primitive, KeyHash>& primitive_cache() {
  static thread_local std::unordered_map<Key, Primitive, KeyHash> cache;
  return cache;
}

void check_cpu_f32(const Tensor& t, const char* op, const char* what) {
  if (!t.defined()) throw Error(std::string(op) + ": " + what + " is undefined");
  if (t.dtype() != DType::float32)
    throw Error(std::string(op) + ": " + what + " must be float32, got " + dtype_name(t.dtype()));
  if (!t.device().is_cpu())
    throw Error(std::string(op) + ": " + what + " is on " + t.device().to_string() +
                ", but this op runs on the CPU");
}

}  // namespace fitrun::onednn
