// Model files (keras-formats.md §2-4): model.save() / load_model() in Keras' legacy HDF5 layout,
// save_weights() / load_weights() in that layout and in Keras 3's .weights.h5 layout, with the
// optimizer's state so that training resumes exactly.
//
// Legacy .h5 (what fitrun writes):
//   /  attrs keras_version, backend, model_config, training_config (when compiled),
//            fitrun_version, fitrun_train_steps, fitrun_shuffle_seed
//   /model_weights  attrs layer_names, backend, keras_version
//     /<layer>  attrs weight_names ["<layer>/kernel:0", ...]; datasets at those names
//     /top_level_model_weights  attrs weight_names []
//   /optimizer_weights  attrs weight_names ["adam/iteration", "adam/learning_rate",
//                        "adam/dense_kernel_momentum", "adam/dense_kernel_velocity", ...]
// Keras 3 .weights.h5:
//   /vars (model), /layers/<dense|dense_1|...>/vars/{0,1,...} (trainable then non-trainable);
//   layers made of sub-objects nest by Keras' object tree (Layer::weight_tree()):
//   /layers/lstm/cell/vars, /layers/bidirectional/forward_layer/cell/vars,
//   /layers/time_distributed/layer/vars, /layers/multi_head_attention/query_dense/vars, ...
//   (their own /layers/<layer>/vars stays empty)
//   /optimizer/vars/{0: iteration, 1: learning_rate, then each variable's slots}
#include "fitrun/io/saving.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "fitrun/io/compile_config.hpp"
#include "fitrun/io/model_config.hpp"
#include "fitrun/model.hpp"
#include "fitrun/version.hpp"
#include "io/atomic_file.hpp"
#include "io/hdf5.hpp"
#include "io/keras_archive.hpp"
#include "io/model_io.hpp"

namespace fitrun {

namespace {

using io::h5::Group;

using io::kKerasVersion;
constexpr const char* kBackend = "tensorflow";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

enum class Format { legacy_h5, keras3_weights, keras_zip, other };

Format format_of(const std::string& path) {
  const std::string p = lower(path);
  if (ends_with(p, ".weights.h5")) return Format::keras3_weights;
  if (ends_with(p, ".h5") || ends_with(p, ".hdf5")) return Format::legacy_h5;
  if (ends_with(p, ".keras")) return Format::keras_zip;
  return Format::other;
}

/// Keras' to_snake_case of a class name: "Dense" -> "dense", "Conv2D" -> "conv2d",
/// "BatchNormalization" -> "batch_normalization", "InputLayer" -> "input_layer".
std::string snake_case(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isupper(c)) {
      const bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(s[i - 1]));
      const bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(s[i - 1]));
      const bool next_lower = i + 1 < s.size() && std::islower(static_cast<unsigned char>(s[i + 1]));
      if (i > 0 && (prev_lower || (prev_upper && next_lower))) out += '_';
      out += static_cast<char>(std::tolower(c));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

/// A layer's weights in Keras' saving order (trainable, then non-trainable).
std::vector<VariablePtr> saved_weights(const Layer& l) { return io::keras_weights(l); }

std::string weight_name(const Variable& v) { return (v.path.empty() ? v.name : v.path) + ":0"; }

/// Keras' model.layers: a functional model's InputLayers included, a Sequential's not.
std::vector<LayerPtr> keras_layers(const Model& model) { return io::keras_layer_order(model); }

/// The variables the optimizer updates, in its own order (Model::Impl::finish_compile's).
std::vector<VariablePtr> optimizer_variables(const Model& model) {
  std::vector<VariablePtr> out;
  std::set<const Variable*> seen;
  for (const auto& l : model.layers())
    for (const auto& w : l->trainable_weights())
      if (seen.insert(w.get()).second) out.push_back(w);
  return out;
}

/// For each variable in Keras' order (the order of optimizer state in files), its index in the
/// optimizer's own order.
std::vector<size_t> keras_slot_order(const Model& model) {
  const std::vector<VariablePtr> mine = optimizer_variables(model);
  std::map<const Variable*, size_t> index;
  for (size_t i = 0; i < mine.size(); ++i) index[mine[i].get()] = i;
  std::vector<size_t> out;
  for (const auto& v : io::keras_trainable_variables(model))
    if (auto it = index.find(v.get()); it != index.end()) out.push_back(it->second);
  if (out.size() != mine.size()) {  // not expected; keep the optimizer's order then
    out.clear();
    for (size_t i = 0; i < mine.size(); ++i) out.push_back(i);
  }
  return out;
}

void require_graph(const Model& model, const std::string& path, const char* what) {
  if (model.inputs().empty())
    throw IOError(path + ": cannot " + what + " model \"" + model.name() +
                  "\": it is not built yet (give it an Input, or call it on data first)");
}

void check_unique_names(const std::vector<LayerPtr>& layers, const std::string& path) {
  std::set<std::string> names;
  for (const auto& l : layers)
    if (!names.insert(l->name()).second)
      throw IOError(path + ": cannot save: two layers are named \"" + l->name() +
                    "\"; layer names must be unique in a model file");
}

/// A staged copy: file contents read into `data`, copied into `into` only once everything
/// has been read and checked.
struct Staged {
  Tensor* into;
  Tensor data;
};
void commit(std::vector<Staged>& staged) {
  for (auto& s : staged) s.into->copy_from(s.data);
}

// ================================================================ legacy .h5 weights

void write_legacy_weights(const Group& g, const Model& model) {
  const std::vector<LayerPtr> layers = keras_layers(model);
  check_unique_names(layers, g.file().name());
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l->name());
  g.set_attr_names("layer_names", names);
  g.set_attr_string("backend", kBackend, false);
  g.set_attr_string("keras_version", kKerasVersion, false);
  // Keras creates the groups in sorted name order.
  std::vector<LayerPtr> sorted = layers;
  std::sort(sorted.begin(), sorted.end(),
            [](const LayerPtr& a, const LayerPtr& b) { return a->name() < b->name(); });
  for (const auto& l : sorted) {
    Group lg = g.create_group(l->name());
    const auto weights = saved_weights(*l);
    std::vector<std::string> wnames;
    std::set<std::string> seen;
    for (const auto& w : weights) {
      wnames.push_back(weight_name(*w));
      if (!seen.insert(wnames.back()).second)
        throw IOError(g.file().name() + ": cannot save layer \"" + l->name() +
                      "\": two of its weights are named \"" + wnames.back() + "\"");
    }
    lg.set_attr_names("weight_names", wnames);
    for (size_t i = 0; i < weights.size(); ++i) lg.write_float(wnames[i], weights[i]->value);
  }
  g.create_group("top_level_model_weights").set_attr_names("weight_names", {});
}

struct SavedLayer {
  std::string name;
  std::vector<std::string> weight_names;
};

std::vector<SavedLayer> saved_layers(const Group& g) {
  auto names = g.attr_names("layer_names");
  if (!names)
    throw IOError(g.file().name() + ": " + g.path() +
                  ": missing attribute \"layer_names\" (not a Keras weights file)");
  std::vector<SavedLayer> out;
  for (const auto& n : *names) {
    Group lg = g.open_group(n);
    auto w = lg.attr_names("weight_names");
    if (!w)
      throw IOError(g.file().name() + ": " + lg.path() + ": missing attribute \"weight_names\"");
    out.push_back({n, *w});
  }
  return out;
}

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 8) out += ", ...";
  return out;
}

/// Stages `weights` from the datasets `wnames` of group `lg`; false (with a warning) on a
/// mismatch when `skip_mismatch`, else throws.
bool stage_layer(const Group& lg, const Layer& layer, const std::vector<VariablePtr>& weights,
                 const std::vector<std::string>& wnames, bool skip_mismatch,
                 std::vector<Staged>& staged) {
  const std::string& file = lg.file().name();
  if (wnames.size() != weights.size()) {
    std::vector<std::string> expected;
    for (const auto& w : weights) expected.push_back(w->name);
    const std::string msg = file + ": " + lg.path() + ": layer \"" + layer.name() + "\" (" +
                            layer.class_name() + ") expects " + std::to_string(weights.size()) +
                            " weights (" + list_names(expected) + "), the file has " +
                            std::to_string(wnames.size()) + " (" + list_names(wnames) + ")";
    if (skip_mismatch) {
      spdlog::warn("skipping: {}", msg);
      return false;
    }
    throw IOError(msg);
  }
  std::vector<Staged> mine;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (skip_mismatch && lg.dataset_shape(wnames[i]) != weights[i]->value.shape()) {
      spdlog::warn("skipping layer \"{}\": {}: expected shape {}, found {}", layer.name(),
                   lg.path(wnames[i]), weights[i]->value.shape().to_string(),
                   lg.dataset_shape(wnames[i]).to_string());
      return false;
    }
    Tensor t(weights[i]->value.shape());
    lg.read_float(wnames[i], t);  // checks the shape before reading
    mine.push_back({&weights[i]->value, t});
  }
  staged.insert(staged.end(), mine.begin(), mine.end());
  return true;
}

void read_legacy_weights(const Group& g, Model& model, const LoadWeightsOptions& o) {
  const std::string& file = g.file().name();
  const std::vector<SavedLayer> saved = saved_layers(g);
  std::vector<Staged> staged;
  std::vector<LayerPtr> with_weights;
  for (const auto& l : keras_layers(model))
    if (!saved_weights(*l).empty()) with_weights.push_back(l);
  if (o.by_name) {
    std::map<std::string, const SavedLayer*> by_name;
    for (const auto& s : saved) by_name[s.name] = &s;
    for (const auto& l : with_weights) {
      auto it = by_name.find(l->name());
      if (it == by_name.end()) continue;  // as Keras: layers absent from the file keep theirs
      stage_layer(g.open_group(l->name()), *l, saved_weights(*l), it->second->weight_names,
                  o.skip_mismatch, staged);
    }
  } else {
    // Keras matches by order: the k-th saved layer with weights goes to the k-th model layer
    // with weights.
    std::vector<const SavedLayer*> filled;
    for (const auto& s : saved)
      if (!s.weight_names.empty()) filled.push_back(&s);
    if (filled.size() != with_weights.size()) {
      std::vector<std::string> a, b;
      for (const auto* s : filled) a.push_back(s->name);
      for (const auto& l : with_weights) b.push_back(l->name());
      throw IOError(file + ": " + g.path() + ": the file holds weights for " +
                    std::to_string(filled.size()) + " layers (" + list_names(a) +
                    ") but the model has " + std::to_string(with_weights.size()) +
                    " layers with weights (" + list_names(b) + ")");
    }
    // When the names agree (a model built from this file's config, or the same code), pair
    // them by name: the same result whenever Keras' order matches, and right when it does not.
    std::map<std::string, const SavedLayer*> by_name;
    for (const auto* f : filled) by_name[f->name] = f;
    bool same_names = by_name.size() == filled.size();
    for (const auto& l : with_weights) same_names = same_names && by_name.count(l->name());
    for (size_t k = 0; k < filled.size(); ++k) {
      const SavedLayer* saved = same_names ? by_name[with_weights[k]->name()] : filled[k];
      stage_layer(g.open_group(saved->name), *with_weights[k], saved_weights(*with_weights[k]),
                  saved->weight_names, false, staged);
    }
  }
  commit(staged);
}

// ================================================================ optimizer state

/// The optimizer's state in Keras 3's order: iteration, learning_rate (a constant learning rate
/// only), the EMA averages and gradient accumulators of every variable (when enabled, as
/// Keras' BaseOptimizer.build adds them), then each trainable variable's slots (Adam:
/// momentum, velocity). Legacy files name the datasets "<optimizer>/<name>" and list them in
/// weight_names; .weights.h5 numbers them.
void write_optimizer_state(const Group& g, const Model& model, bool keras3_names) {
  optimizers::Optimizer& opt = model.optimizer();
  const std::vector<VariablePtr> vars = optimizer_variables(model);
  const auto& slots = opt.slots();
  const bool built = slots.size() == vars.size();
  const std::vector<std::string> slot_names = opt.slot_names();
  std::vector<std::string> names;
  auto name = [&](const std::string& n) {
    names.push_back(keras3_names ? std::to_string(names.size()) : opt.name() + "/" + n);
    return names.back();
  };
  g.write_int64(name("iteration"), opt.iterations());
  if (!opt.learning_rate_schedule())
    g.write_float(name("learning_rate"),
                  Tensor::full(Shape{}, static_cast<float>(opt.learning_rate())));
  auto var_name = [&](size_t i) {
    std::string var = vars[i]->path;
    std::replace(var.begin(), var.end(), '/', '_');
    return var;
  };
  for (auto [tensors, suffix] : {std::pair{&opt.averages(), "_average"},
                                 std::pair{&opt.accumulators(), "_gradient_accumulator"}})
    if (built && tensors->size() == vars.size())
      for (size_t i : keras_slot_order(model))
        if ((*tensors)[i].defined()) g.write_float(name(var_name(i) + suffix), (*tensors)[i]);
  if (built)
    for (size_t i : keras_slot_order(model))
      for (size_t k = 0; k < slots[i].size(); ++k) {
        std::string var = vars[i]->path;
        std::replace(var.begin(), var.end(), '/', '_');
        const std::string slot = k < slot_names.size() ? slot_names[k] : "slot" + std::to_string(k);
        g.write_float(name(var + "_" + slot), slots[i][k]);
      }
  if (!keras3_names) g.set_attr_names("weight_names", names);
  else g.set_attr_string("name", opt.name());
}

/// Restores iteration, learning rate and slots from the datasets `names` of `g`, in Keras'
/// order. A layout that does not fit this optimizer (another optimizer class, tf.keras' legacy
/// optimizers) leaves a fresh optimizer with a warning, as Keras does; unreadable data throws.
void read_optimizer_state(const Group& g, Model& model, const std::vector<std::string>& names) {
  optimizers::Optimizer& opt = model.optimizer();
  const std::vector<VariablePtr> vars = optimizer_variables(model);
  const std::string where = g.file().name() + ": " + g.path();
  if (names.empty()) return;
  const int64_t iteration = g.read_int64(names[0]);
  if (iteration < 0) throw IOError(where + ": negative optimizer iteration " + std::to_string(iteration));
  // A fresh set of slots tells how many tensors this optimizer keeps per variable.
  std::vector<std::vector<Tensor>> saved_slots = opt.slots();
  std::vector<Tensor> saved_averages = opt.averages(), saved_accumulators = opt.accumulators();
  opt.build(vars);
  std::vector<std::vector<Tensor>> fresh = opt.slots();
  std::vector<Tensor> averages = opt.averages(), accumulators = opt.accumulators();
  opt.slots() = saved_slots;
  opt.averages() = saved_averages;
  opt.accumulators() = saved_accumulators;
  size_t expected = 0;
  for (const auto& s : fresh) expected += s.size();
  for (const auto* extra : {&averages, &accumulators})
    for (const Tensor& t : *extra) expected += t.defined();
  const Tensor* first_slot = nullptr;
  for (const auto* extra : {&averages, &accumulators})
    for (size_t i : keras_slot_order(model))
      if (i < extra->size() && (*extra)[i].defined() && !first_slot) first_slot = &(*extra)[i];
  for (size_t i : keras_slot_order(model))
    if (!fresh[i].empty() && !first_slot) first_slot = &fresh[i][0];
  // Keras 3 and fitrun: iteration, learning_rate, slots. tf.keras: iteration, slots. An
  // optimizer that never stepped: iteration (and learning_rate) only.
  const size_t n = names.size();
  size_t next = 0;
  bool has_lr = false, with_slots = true;
  if (n == expected + 2) {
    has_lr = true;
    next = 2;
  } else if (n == expected + 1 &&
             (expected == 0 || g.dataset_shape(names[1]) == first_slot->shape())) {
    next = 1;
  } else if (n <= 2) {
    has_lr = n == 2;
    with_slots = false;
  } else {
    spdlog::warn("{}: the saved optimizer state ({} tensors) does not fit {} ({} slot tensors "
                 "for {} variables); the optimizer starts fresh",
                 where, n, opt.class_name(), expected, vars.size());
    return;
  }
  double lr = opt.learning_rate();
  if (has_lr) {
    if (g.dataset_shape(names[1]).num_elements() != 1)
      g.file().fail(g.path(names[1]), "expected the learning rate (one value)");
    lr = g.read_double(names[1]);
  }
  // The saved value is float32: keep the configured double when it rounds to the same float.
  auto restore_scalars = [&] {
    opt.set_iterations(iteration);
    if (has_lr && !opt.learning_rate_schedule() &&
        static_cast<float>(lr) != static_cast<float>(opt.learning_rate()))
      opt.set_learning_rate(lr);
  };
  if (!with_slots) {
    restore_scalars();
    return;
  }
  auto read = [&](Tensor& slot) {
    if (g.dataset_shape(names[next]) != slot.shape()) {
      spdlog::warn("{}: optimizer slot {} has shape {}, expected {}; the optimizer starts fresh",
                   where, g.path(names[next]), g.dataset_shape(names[next]).to_string(),
                   slot.shape().to_string());
      return false;
    }
    g.read_float(names[next++], slot);
    return true;
  };
  for (auto* extra : {&averages, &accumulators})
    for (size_t i : keras_slot_order(model))
      if (i < extra->size() && (*extra)[i].defined() && !read((*extra)[i])) return;
  for (size_t i : keras_slot_order(model))
    for (Tensor& slot : fresh[i])
      if (!read(slot)) return;
  opt.slots() = std::move(fresh);
  opt.averages() = std::move(averages);
  opt.accumulators() = std::move(accumulators);
  restore_scalars();
}

// ================================================================ Keras 3 .weights.h5

/// Layers in Keras 3's walk: Sequential.layers drops its InputLayer, Functional.layers keeps
/// them; each is addressed by its snake_case class name made unique ("dense", "dense_1").
std::vector<std::pair<std::string, LayerPtr>> keras3_children(const Model& model) {
  std::vector<std::pair<std::string, LayerPtr>> out;
  std::map<std::string, int> used;
  for (const auto& l : keras_layers(model)) {
    std::string key = snake_case(l->class_name());
    auto it = used.find(key);
    if (it == used.end()) {
      used[key] = 0;
    } else {
      key += "_" + std::to_string(++it->second);
    }
    out.push_back({key, l});
  }
  return out;
}

/// Creates g/<path>/vars, and the groups on the way when missing ("forward_layer/cell").
Group create_vars(const Group& g, const std::string& path) {
  if (path.empty()) return g.create_group("vars");
  const size_t slash = std::min(path.find('/'), path.size());
  const std::string part = path.substr(0, slash);
  const std::string rest = slash < path.size() ? path.substr(slash + 1) : "";
  return create_vars(g.has(part) ? g.open_group(part) : g.create_group(part), rest);
}

/// Reads one layer's variables from its group `lg` in Keras 3's object tree
/// (<layer>/<path>/vars/{0,1,...} for each group of weight_tree()). Files fitrun wrote before
/// it followed the tree keep all of a layer's variables in <layer>/vars; they still load.
void read_keras3_layer(const Group& lg, const Layer& l, const std::vector<VariablePtr>& weights,
                       bool skip_mismatch, std::vector<Staged>& staged) {
  auto vars_path = [](const std::string& path) { return path.empty() ? "vars" : path + "/vars"; };
  auto read_group = [&](const Group& vg, const std::vector<VariablePtr>& vars,
                        std::vector<Staged>& into) {
    const size_t n = vg.children().size();
    std::vector<std::string> wnames;
    for (size_t i = 0; i < n; ++i) wnames.push_back(std::to_string(i));
    if (n == vars.size())
      for (const auto& name : wnames)
        if (!vg.has(name)) vg.file().fail(vg.path(name), "missing dataset");
    return stage_layer(vg, l, vars, wnames, skip_mismatch, into);
  };
  const auto tree = l.weight_tree();
  std::string missing;
  for (const auto& wg : tree)
    if (!wg.variables.empty() && !lg.has(vars_path(wg.path))) {
      missing = vars_path(wg.path);
      break;
    }
  if (!missing.empty()) {
    // fitrun's flat layout from before: all variables in <layer>/vars.
    const bool flat = tree.size() > 1 && lg.has("vars") &&
                      lg.open_group("vars").children().size() == weights.size();
    if (flat) {
      read_group(lg.open_group("vars"), weights, staged);
      return;
    }
    if (skip_mismatch) {
      spdlog::warn("skipping layer \"{}\": {} is missing", l.name(), lg.path(missing));
      return;
    }
    lg.file().fail(lg.path(missing), "missing group (the weights of layer \"" + l.name() + "\")");
  }
  // All of a layer's groups load, or (skip_mismatch) none.
  std::vector<Staged> mine;
  for (const auto& wg : tree) {
    if (wg.variables.empty() && !lg.has(vars_path(wg.path))) continue;
    if (!read_group(lg.open_group(vars_path(wg.path)), wg.variables, mine)) return;
  }
  staged.insert(staged.end(), mine.begin(), mine.end());
}

void write_keras3_model(const Group& g, const Model& model) {
  g.create_group("vars").set_attr_string("name", model.name());
  const auto children = keras3_children(model);
  if (children.empty()) return;
  Group layers = g.create_group("layers");
  for (const auto& [key, l] : children) {
    Group lg = layers.create_group(key);
    if (auto* nested = dynamic_cast<const Model*>(l.get())) {
      write_keras3_model(lg, *nested);
      continue;
    }
    for (const auto& wg : l->weight_tree()) {
      Group vg = create_vars(lg, wg.path);
      vg.set_attr_string("name", wg.path.empty() ? l->name() : wg.name);
      for (size_t i = 0; i < wg.variables.size(); ++i)
        vg.write_float(std::to_string(i), wg.variables[i]->value);
    }
  }
}

void read_keras3_model(const Group& g, const Model& model, const LoadWeightsOptions& o,
                       std::vector<Staged>& staged) {
  const auto children = keras3_children(model);
  bool any = false;
  for (const auto& c : children) any = any || !saved_weights(*c.second).empty();
  if (!any) return;
  // Keras 2.13/2.14 .keras files name the container differently.
  const char* container = g.has("layers") ? "layers" : "_layer_checkpoint_dependencies";
  Group layers = g.open_group(container);
  // Keras 3.6+ names each vars group after its layer. When every layer with weights finds its
  // name there, pair by name; otherwise by Keras' class-name counters, as Keras does.
  std::map<std::string, std::string> key_by_name;
  for (const auto& child : layers.children()) {
    if (!layers.has(child + "/vars")) continue;
    Group vg = layers.open_group(child + "/vars");
    if (vg.has_attr("name")) key_by_name[vg.attr_string("name")] = child;
  }
  bool by_name = true;
  for (const auto& c : children)
    if (!saved_weights(*c.second).empty()) by_name = by_name && key_by_name.count(c.second->name());
  for (const auto& [counter_key, l] : children) {
    const auto weights = saved_weights(*l);
    if (weights.empty()) continue;
    const std::string key = by_name ? key_by_name[l->name()] : counter_key;
    if (auto* nested = dynamic_cast<const Model*>(l.get())) {
      read_keras3_model(layers.open_group(key), *nested, o, staged);
      continue;
    }
    if (!layers.has(key)) {
      if (o.skip_mismatch) {
        spdlog::warn("skipping layer \"{}\": {} is missing", l->name(), layers.path(key + "/vars"));
        continue;
      }
      g.file().fail(layers.path(key + "/vars"), "missing group (the weights of layer \"" +
                                                    l->name() + "\")");
    }
    read_keras3_layer(layers.open_group(key), *l, weights, o.skip_mismatch, staged);
  }
}

void set_steps_from(const Group& root, Model& model) {
  if (auto seed = root.attr_int64("fitrun_shuffle_seed"))
    model.set_shuffle_seed(static_cast<uint64_t>(*seed));
  if (auto steps = root.attr_int64("fitrun_train_steps"); steps && *steps >= 0)
    model.set_train_steps(static_cast<uint64_t>(*steps));
  else if (model.compiled())
    model.set_train_steps(static_cast<uint64_t>(model.optimizer().iterations()));
}

json parse_attr_json(const Group& root, const std::string& attr) {
  const std::string text = root.attr_string(attr);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw IOError(root.file().name() + ": attribute \"" + attr + "\" is not valid JSON (" +
                  e.what() + ")");
  }
}

}  // namespace

void io::write_weights_h5(const io::h5::File& f, const Model& model, bool with_optimizer) {
  check_unique_names(keras_layers(model), f.name());
  Group root = f.root();
  write_keras3_model(root, model);
  if (with_optimizer && model.compiled())
    write_optimizer_state(root.create_group("optimizer").create_group("vars"), model, true);
  root.set_attr_int64("fitrun_train_steps", static_cast<int64_t>(model.train_steps()));
  root.set_attr_int64("fitrun_shuffle_seed", static_cast<int64_t>(model.shuffle_seed()));
}

void io::read_weights_h5(const io::h5::File& f, Model& model, const LoadWeightsOptions& o) {
  Group root = f.root();
  if (root.has_attr("layer_names") || root.has("model_weights")) {
    Group g = root.has_attr("layer_names") ? f.root() : root.open_group("model_weights");
    read_legacy_weights(g, model, o);
  } else if (root.has("layers") || root.has("vars") || root.has("_layer_checkpoint_dependencies")) {
    std::vector<Staged> staged;
    read_keras3_model(root, model, o, staged);
    commit(staged);
    if (model.compiled() && root.has("optimizer/vars")) {
      Group og = root.open_group("optimizer/vars");
      std::vector<std::string> names;
      const size_t n = og.children().size();
      for (size_t i = 0; i < n; ++i) names.push_back(std::to_string(i));
      read_optimizer_state(og, model, names);
    }
  } else {
    throw IOError(f.name() + ": no weights found (neither Keras' legacy layout with "
                  "\"layer_names\" nor Keras 3's .weights.h5 layout with \"layers\")");
  }
  set_steps_from(root, model);
}

namespace {

void load_weights_file(Model& model, const std::string& path, const LoadWeightsOptions& o) {
  require_graph(model, path, "load weights into");
  if (format_of(path) == Format::keras_zip) return io::load_weights_from_keras_archive(model, path, o);
  io::read_weights_h5(io::h5::File::open(path), model, o);
}

}  // namespace

// ================================================================ public entry points

void Model::save(const std::string& path, const SaveOptions& options) const {
  switch (format_of(path)) {
    case Format::legacy_h5: break;
    case Format::keras3_weights:
      throw IOError(path + ": a .weights.h5 file holds weights only: use save_weights()");
    case Format::keras_zip:
      require_graph(*this, path, "save");
      return io::save_keras_archive(*this, path, options.include_optimizer && compiled());
    case Format::other:
      throw IOError(path + ": unsupported file extension; save() writes .keras, .h5 or .hdf5 "
                    "files");
  }
  require_graph(*this, path, "save");
  const json model_config = io::model_file_config(*this);
  const bool with_optimizer = options.include_optimizer && compiled();
  json training_config;
  if (with_optimizer) {
    const json cc = get_compile_config();
    training_config = {{"loss", cc["loss"]},
                       {"metrics", cc["metrics"]},
                       {"weighted_metrics", nullptr},
                       {"loss_weights", cc["loss_weights"]},
                       {"optimizer_config",
                        {{"class_name", optimizer().class_name()},
                         {"config", optimizer().get_config()}}}};
  }
  io::AtomicFile tmp(path);
  {
    io::h5::File f = io::h5::File::create(tmp.temp_path(), path);
    Group root = f.root();
    root.set_attr_string("keras_version", kKerasVersion);
    root.set_attr_string("backend", kBackend);
    root.set_attr_string("model_config", model_config.dump());
    if (with_optimizer) root.set_attr_string("training_config", training_config.dump());
    root.set_attr_string("fitrun_version", FITRUN_VERSION);
    root.set_attr_int64("fitrun_train_steps", static_cast<int64_t>(train_steps()));
    root.set_attr_int64("fitrun_shuffle_seed", static_cast<int64_t>(shuffle_seed()));
    write_legacy_weights(root.create_group("model_weights"), *this);
    if (with_optimizer) write_optimizer_state(root.create_group("optimizer_weights"), *this, false);
    f.close();
  }
  tmp.commit();
}

void Model::save_weights(const std::string& path) const {
  const Format fmt = format_of(path);
  if (fmt == Format::keras_zip)
    throw IOError(path + ": save_weights() does not write .keras archives (neither does Keras): "
                  "use save() for a whole model, or a .weights.h5 file");
  if (fmt != Format::legacy_h5 && fmt != Format::keras3_weights)
    throw IOError(path + ": unsupported file extension; save_weights() writes .weights.h5 "
                  "(Keras 3) or .h5 (legacy) files");
  require_graph(*this, path, "save");
  io::AtomicFile tmp(path);
  {
    io::h5::File f = io::h5::File::create(tmp.temp_path(), path);
    if (fmt == Format::legacy_h5) {
      Group root = f.root();
      write_legacy_weights(root, *this);  // tf.keras' save_weights: layer groups at the root
      root.set_attr_int64("fitrun_train_steps", static_cast<int64_t>(train_steps()));
      root.set_attr_int64("fitrun_shuffle_seed", static_cast<int64_t>(shuffle_seed()));
    } else {
      io::write_weights_h5(f, *this, true);
    }
    f.close();
  }
  tmp.commit();
}

void Model::load_weights(const std::string& path, const LoadWeightsOptions& options) {
  load_weights_file(*this, path, options);
}

std::shared_ptr<Model> load_model(const std::string& path, bool compile) {
  switch (format_of(path)) {
    case Format::keras_zip: return io::load_keras_archive(path, compile);
    case Format::keras3_weights:
      throw IOError(path + ": a .weights.h5 file holds weights only: build the model and call "
                    "load_weights()");
    default: break;
  }
  io::h5::File f = io::h5::File::open(path);
  Group root = f.root();
  if (!root.has_attr("model_config"))
    throw IOError(path + ": no \"model_config\" attribute: this file holds weights only; build "
                  "the model and call load_weights()");
  const json config = parse_attr_json(root, "model_config");
  std::shared_ptr<Model> model;
  try {
    model = model_from_config(config);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": model_config: " + e.what());
  }
  if (model->inputs().empty())
    throw IOError(path + ": the saved model has no input shape, so its weights cannot be placed");
  if (!root.has("model_weights"))
    throw IOError(path + ": /model_weights: missing group");
  read_legacy_weights(root.open_group("model_weights"), *model, {});
  if (compile && root.has_attr("training_config")) {
    const json tc = parse_attr_json(root, "training_config");
    try {
      io::compile_model_from_config(*model, tc, "", true);
    } catch (const ConfigError& e) {
      throw ConfigError(path + ": training_config: " + e.what());
    }
    if (root.has("optimizer_weights")) {
      Group og = root.open_group("optimizer_weights");
      auto names = og.attr_names("weight_names");
      if (names) read_optimizer_state(og, *model, *names);
    }
  }
  set_steps_from(root, *model);
  return model;
}

}  // namespace fitrun
