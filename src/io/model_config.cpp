// Keras' model configs: Model/Sequential::get_config() and to_json() in Keras 3's dialect, and
// model_from_config() for both Keras 3's and tf.keras 2.x's (keras-formats.md §1).
#include "fitrun/io/model_config.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "fitrun/io/compile_config.hpp"
#include "fitrun/layers/input_layer.hpp"
#include "fitrun/sequential.hpp"
#include "io/config_reader.hpp"
#include "io/keras_json.hpp"
#include "io/model_io.hpp"
#include "model/model_impl.hpp"

namespace fitrun {

namespace io {

void rethrow_at(const std::string& path, const std::exception& e) {
  std::string m = e.what();
  const bool has_path = !path.empty() && m.compare(0, path.size(), path) == 0 &&
                        (m.size() == path.size() || m[path.size()] == '/' ||
                         m[path.size()] == ':');
  if (!has_path) m = (path.empty() ? std::string("/") : path) + ": " + m;
  throw ConfigError(m);
}

std::vector<LayerPtr> keras_layer_order(const Model& model) {
  if (model.class_name() == "Sequential" || model.outputs().empty()) return model.layers();
  // keras/src/ops/function.py map_graph (tf.keras: functional._map_graph_network).
  std::set<const void*> input_ids;
  for (const auto& t : model.inputs()) input_ids.insert(t.id());
  std::set<const Node*> finished;
  std::vector<const Node*> decreasing;  // nodes in decreasing depth (post-order)
  std::map<const Layer*, long> op_index;
  std::vector<LayerPtr> ops;
  std::function<void(const KerasTensor&)> visit = [&](const KerasTensor& t) {
    const Node* node = t.node().get();
    if (finished.count(node)) return;
    if (op_index.emplace(node->layer.get(), long(ops.size())).second) ops.push_back(node->layer);
    if (!input_ids.count(t.id()))
      for (const auto& in : node->inputs) visit(in);
    finished.insert(node);
    decreasing.push_back(node);
  };
  for (const auto& y : model.outputs()) visit(y);
  std::map<const Node*, int> node_depth;
  std::map<const Layer*, int> op_depth;
  for (auto it = decreasing.rbegin(); it != decreasing.rend(); ++it) {
    const Node* node = *it;
    int depth = node_depth.emplace(node, 0).first->second;
    if (auto d = op_depth.find(node->layer.get()); d != op_depth.end())
      depth = std::max(depth, d->second);
    op_depth[node->layer.get()] = depth;
    node_depth[node] = depth;
    for (const auto& in : node->inputs) {
      int& parent = node_depth[in.node().get()];  // 0 when new
      parent = std::max(depth + 1, parent);
    }
  }
  // Inputs no output depends on come first among depth 0, as in Keras.
  for (const auto& t : model.inputs()) {
    Layer* l = t.node()->layer.get();
    if (!op_depth.count(l)) {
      op_depth[l] = 0;
      op_index[l] = -1;
      ops.push_back(t.node()->layer);
    }
  }
  std::vector<LayerPtr> out = ops;
  std::stable_sort(out.begin(), out.end(), [&](const LayerPtr& a, const LayerPtr& b) {
    const int da = op_depth[a.get()], db = op_depth[b.get()];
    if (da != db) return da > db;
    return op_index[a.get()] < op_index[b.get()];
  });
  return out;
}

std::vector<VariablePtr> keras_weights(const Layer& layer) {
  const auto* model = dynamic_cast<const Model*>(&layer);
  if (!model) {
    std::vector<VariablePtr> out = layer.trainable_weights();
    for (const auto& w : layer.non_trainable_weights()) out.push_back(w);
    return out;
  }
  std::vector<VariablePtr> all;
  std::set<const Variable*> seen;
  for (const auto& l : keras_layer_order(*model))
    for (const auto& w : keras_weights(*l))
      if (seen.insert(w.get()).second) all.push_back(w);
  std::vector<VariablePtr> out;
  for (const auto& w : all)
    if (w->trainable && model->trainable) out.push_back(w);
  for (const auto& w : all)
    if (!(w->trainable && model->trainable)) out.push_back(w);
  return out;
}

std::vector<VariablePtr> keras_trainable_variables(const Model& model) {
  std::vector<VariablePtr> out;
  std::set<const Variable*> seen;
  for (const auto& l : keras_layer_order(model))
    for (const auto& w : keras_weights(*l))
      if (w->trainable && l->trainable && model.trainable && seen.insert(w.get()).second)
        out.push_back(w);
  return out;
}

}  // namespace io

namespace {

using io::ConfigReader;

/// Models nested deeper than this in a config are refused (a hostile file could recurse).
constexpr int kMaxNesting = 32;

const std::set<std::string>& merge_classes() {
  static const std::set<std::string> s = {"Add",     "Subtract", "Multiply",    "Average",
                                          "Maximum", "Minimum",  "Concatenate", "Dot"};
  return s;
}

bool is_model_class(const std::string& cls) {
  return cls == "Sequential" || cls == "Functional" || cls == "Model";
}

// ================================================================ writing (Keras 3 dialect)

json build_config_of(const Layer& l) {
  const auto& shapes = l.build_input_shapes();
  if (shapes.size() == 1) return {{"input_shape", io::shape_json(shapes[0])}};
  json list = json::array();
  for (const Shape& s : shapes) list.push_back(io::shape_json(s));
  return {{"input_shape", list}};
}

/// {"module", "class_name", "config", "registered_name", "build_config"} of one layer.
json layer_entry(const Layer& l) {
  const std::string cls = l.class_name();
  json e;
  if (dynamic_cast<const Model*>(&l)) {
    const bool seq = cls == "Sequential";
    e = io::keras_object(seq ? "keras" : "keras.src.models.functional", cls, l.get_config(),
                         seq ? json(nullptr) : json("Functional"));
  } else {
    e = io::keras_object("keras.layers", cls, l.get_config());
  }
  if (cls != "InputLayer" && l.built() && !l.build_input_shapes().empty())
    e["build_config"] = build_config_of(l);
  return e;
}

/// Where Keras numbers a nested model's calls from 1 rather than 0. tf.keras gives a functional
/// model (Sequential included, it derives from Functional) a node 0 that links its own inputs to
/// its outputs, so its calls are nodes 1, 2, ... everywhere. Keras 3 has no such node: inbound
/// nodes count a nested model's calls from 0, but input_layers/output_layers still add 1 for a
/// Functional (not a Sequential), as Keras 3's get_config/functional_from_config do.
int node_offset(const Layer& l, bool keras3, bool endpoint) {
  if (!dynamic_cast<const Model*>(&l)) return 0;
  if (!keras3) return 1;
  return endpoint && l.class_name() != "Sequential" ? 1 : 0;
}

json keras_tensor(const detail::GraphNode& n, const json& history) {
  return {{"class_name", "__keras_tensor__"},
          {"config",
           {{"shape", io::shape_json(n.shape)},
            {"dtype", dtype_name(n.dtype)},
            {"keras_history", history}}}};
}

}  // namespace

json Model::get_config() const {
  json layers_json = json::array();
  if (!has_graph())
    return {{"name", name()}, {"trainable", trainable}, {"layers", layers_json},
            {"input_layers", json::array()}, {"output_layers", json::array()}};
  const detail::Graph& g = *impl_->graph;
  // Each layer's calls within this model, in call order.
  std::map<const Layer*, std::vector<int>> calls;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i].is_call()) calls[g.nodes[i].layer.get()].push_back(static_cast<int>(i));
  // node id -> [layer name, node index, tensor index], as inbound nodes and as endpoints
  std::vector<json> ref(g.nodes.size()), endpoint(g.nodes.size());
  for (int id : g.input_nodes)
    ref[size_t(id)] = endpoint[size_t(id)] = {g.nodes[size_t(id)].layer->name(), 0, 0};
  for (auto& [layer, ids] : calls) {
    std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) {
      return g.nodes[size_t(a)].call_index < g.nodes[size_t(b)].call_index;
    });
    const int offset = node_offset(*layer, true, false);
    const int endpoint_offset = node_offset(*layer, true, true);
    for (size_t k = 0; k < ids.size(); ++k)
      for (int out : g.nodes[size_t(ids[k])].outputs) {  // tensor_index: which output of the call
        const int t = g.nodes[size_t(out)].tensor_index;
        ref[size_t(out)] = {layer->name(), static_cast<int>(k) + offset, t};
        endpoint[size_t(out)] = {layer->name(), static_cast<int>(k) + endpoint_offset, t};
      }
  }
  // Layers in Keras' order (InputLayers among them, with no inbound nodes).
  for (const auto& l : io::keras_layer_order(*this)) {
    json e = layer_entry(*l);
    e["name"] = l->name();
    json nodes = json::array();
    for (int id : calls[l.get()]) {
      const detail::GraphNode& n = g.nodes[size_t(id)];
      json tensors = json::array();
      for (int in : n.inputs) tensors.push_back(keras_tensor(g.nodes[size_t(in)], ref[size_t(in)]));
      // A merge layer (or any layer called on several tensors) takes one list argument.
      const bool list_arg = n.inputs.size() != 1 || merge_classes().count(l->class_name());
      json args = list_arg ? json::array({tensors}) : tensors;
      nodes.push_back({{"args", args}, {"kwargs", json::object()}});
    }
    e["inbound_nodes"] = nodes;
    layers_json.push_back(std::move(e));
  }
  // Keras 3 keeps the structure: one input is a bare triple, several a list of triples.
  auto refs = [&](const std::vector<int>& ids) {
    if (ids.size() == 1) return endpoint[size_t(ids[0])];
    json a = json::array();
    for (int id : ids) a.push_back(endpoint[size_t(id)]);
    return a;
  };
  return {{"name", name()},
          {"trainable", trainable},
          {"layers", layers_json},
          {"input_layers", refs(g.input_nodes)},
          {"output_layers", refs(g.output_nodes)}};
}

json Sequential::get_config() const {
  json layers_json = json::array();
  if (input_.defined())
    layers_json.push_back(
        io::keras_object("keras.layers", "InputLayer", input_.layer()->get_config()));
  for (const auto& l : stack_) layers_json.push_back(layer_entry(*l));
  json c = {{"name", name()},
            {"trainable", trainable},
            {"dtype", io::dtype_policy()},
            {"layers", layers_json}};
  if (input_.defined()) c["build_input_shape"] = io::shape_json(input_.shape());
  return c;
}

std::string Model::to_json(int indent) const {
  json j = layer_entry(*this);
  const bool seq = class_name() == "Sequential";
  j["build_config"] = {{"input_shape", seq && !inputs().empty()
                                           ? io::shape_json(inputs()[0].shape())
                                           : json(nullptr)}};
  if (compiled()) j["compile_config"] = get_compile_config();
  return j.dump(indent);
}

json io::model_file_config(const Model& model) {
  return {{"class_name", model.class_name()}, {"config", model.get_config()}};
}

// ================================================================ reading (both dialects)

namespace {

std::shared_ptr<Model> read_model(const json& j, const std::string& path, int depth,
                                  bool allow_compile);

std::string class_of(const json& entry) {
  if (!entry.is_object()) return "";
  auto it = entry.find("class_name");
  return it != entry.end() && it->is_string() ? it->get<std::string>() : "";
}

DType dtype_named(const std::string& name, const std::string& path) {
  if (name == "float32") return DType::float32;
  if (name == "int32") return DType::int32;
  if (name == "int64") return DType::int64;
  throw ConfigError(path + ": unsupported input dtype \"" + name +
                    "\"; supported: float32, int32, int64");
}

/// An InputLayer config: batch_shape (Keras 3), batch_input_shape (tf.keras) or shape +
/// batch_size.
KerasTensor read_input_layer(const json& config, const std::string& path) {
  ConfigReader r(config, path);
  Shape full;
  if (r.has("batch_shape")) {
    full = r.shape("batch_shape");
  } else if (r.has("batch_input_shape")) {
    full = r.shape("batch_input_shape");
  } else if (r.has("shape")) {
    Shape s = r.shape("shape");
    if (s.rank() >= Shape::kMaxRank) r.expected("shape", "at most 7 dimensions");
    full.push_back(r.integer("batch_size", -1, 1, std::numeric_limits<int64_t>::max()));
    for (int64_t d : s) full.push_back(d);
  } else {
    r.fail("batch_shape", "required but missing (an InputLayer needs batch_shape, "
                          "batch_input_shape or shape)");
  }
  r.find("batch_size");
  const std::string key = r.has("batch_shape") ? "batch_shape"
                          : r.has("batch_input_shape") ? "batch_input_shape"
                                                       : "shape";
  if (full.rank() < 1) r.expected(key, "a shape with a batch dimension");
  for (int i = 1; i < full.rank(); ++i)
    if (full[i] <= 0)
      r.fail(key, "every dimension but the batch must be a positive integer, got " +
                      io::describe(*r.find(key)));
  InputOptions o;
  o.name = r.name();
  o.batch_size = full[0] > 0 ? full[0] : -1;
  if (const json* d = r.find("dtype"))
    o.dtype = dtype_named(io::dtype_from_config(*d, r.path("dtype")), r.path("dtype"));
  r.require_value("sparse", false);
  r.require_value("ragged", false);
  r.require_value("optional", false);
  r.ignore({"trainable"});
  r.check_unknown_keys("InputLayer");
  try {
    return Input(full.drop_batch(), o);
  } catch (const Error& e) {
    io::rethrow_at(path, e);
  }
}

/// The input a tf.keras Sequential declares on its first layer (batch_input_shape, or
/// input_shape / input_dim), as an InputLayer config; null when there is none.
json first_layer_input(const json& config) {
  if (!config.is_object()) return nullptr;
  json in = json::object();
  auto get = [&](const char* k) -> const json* {
    auto it = config.find(k);
    return it != config.end() && !it->is_null() ? &*it : nullptr;
  };
  if (const json* s = get("batch_input_shape")) in["batch_input_shape"] = *s;
  else if (const json* s2 = get("batch_shape")) in["batch_shape"] = *s2;
  else if (const json* s3 = get("input_shape")) in["shape"] = *s3;
  else if (const json* d = get("input_dim")) in["shape"] = json::array({*d});
  else return nullptr;
  if (const json* b = get("batch_size"); b && in.contains("shape")) in["batch_size"] = *b;
  if (const json* d = get("dtype")) in["dtype"] = *d;
  return in;
}

std::string registered_list() {
  std::vector<std::string> names = registered_layers();
  for (const char* extra : {"InputLayer", "Sequential", "Functional"}) names.push_back(extra);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

/// One entry of a "layers" list: {"class_name", "config", ...}.
LayerPtr read_layer(const json& entry, const std::string& path, int depth) {
  ConfigReader e(entry, path);
  const std::string cls = e.string("class_name");
  e.ignore({"module", "registered_name", "build_config", "name", "inbound_nodes",
            "shared_object_id", "compile_config"});
  const json* config = e.find("config");
  if (!config) e.fail("config", "required but missing");
  if (!config->is_object()) e.expected("config", "an object");
  e.check_unknown_keys("a layer entry");
  if (is_model_class(cls)) return read_model(entry, path, depth + 1, false);
  const std::vector<std::string> known = registered_layers();
  std::string key = cls;
  if (!std::binary_search(known.begin(), known.end(), key)) {
    // A custom class registered as "package>Class".
    auto rn = entry.find("registered_name");
    if (rn != entry.end() && rn->is_string() &&
        std::binary_search(known.begin(), known.end(), rn->get<std::string>()))
      key = rn->get<std::string>();
  }
  if (!std::binary_search(known.begin(), known.end(), key)) {
    const std::string hint = io::closest_match(cls, known);
    throw ConfigError(e.path("class_name") + ": unknown layer class \"" + cls + "\"" +
                      (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                      "; registered: " + registered_list());
  }
  const std::string cpath = e.path("config");
  io::ConfigPathScope scope(cpath);
  try {
    LayerPtr layer = layer_from_config(key, *config);
    if (!layer) throw ConfigError("the factory of \"" + key + "\" returned no layer");
    return layer;
  } catch (const Error& err) {
    io::rethrow_at(cpath, err);
  }
}

const json& required_list(const ConfigReader& r, const std::string& key) {
  const json* v = r.find(key);
  if (!v) r.fail(key, "required but missing");
  if (!v->is_array()) r.expected(key, "a list");
  return *v;
}

void check_model_dtype(const ConfigReader& r) {
  if (const json* d = r.find("dtype")) {
    const std::string dt = io::dtype_from_config(*d, r.path("dtype"));
    if (dt != "float32") r.fail("dtype", "only float32 models are supported, got \"" + dt + "\"");
  }
}

std::shared_ptr<Model> read_sequential(const json& config, const std::string& path, int depth) {
  ConfigReader r(config, path);
  const json& layers = required_list(r, "layers");
  const std::string lp = r.path("layers");
  auto model = std::make_shared<Sequential>(r.name());
  model->trainable = r.boolean("trainable", true);
  check_model_dtype(r);
  size_t first = 0;
  if (!layers.empty() && class_of(layers[0]) == "InputLayer") {
    ConfigReader e(layers[0], lp + "/0");
    e.ignore({"module", "registered_name", "class_name", "build_config", "name",
              "inbound_nodes"});
    model->add(read_input_layer(e.object("config").value(), e.path("config")));
    e.check_unknown_keys("a layer entry");
    first = 1;
  } else if (!layers.empty() && layers[0].is_object() && layers[0].contains("config")) {
    json in = first_layer_input(layers[0]["config"]);
    if (!in.is_null()) model->add(read_input_layer(in, lp + "/0/config"));
  }
  if (first == 0 && model->inputs().empty() && r.has("build_input_shape")) {
    json in = {{"batch_input_shape", *r.find("build_input_shape")}};
    model->add(read_input_layer(in, r.path("build_input_shape")));
  }
  r.find("build_input_shape");
  for (size_t i = first; i < layers.size(); ++i) {
    const std::string p = lp + "/" + std::to_string(i);
    if (class_of(layers[i]) == "InputLayer")
      throw ConfigError(p + ": an InputLayer can only be the first layer of a Sequential");
    LayerPtr layer = read_layer(layers[i], p, depth);
    try {
      model->add(layer);
    } catch (const Error& e) {
      io::rethrow_at(p, e);
    }
  }
  r.check_unknown_keys("Sequential");
  return model;
}

// ---- functional ----

struct TensorRef {
  std::string layer;
  int64_t node = 0, tensor = 0;
  std::string path;
};

bool non_negative_int(const json& v, int64_t& out) {
  if (!v.is_number_integer()) return false;
  out = v.get<int64_t>();
  return out >= 0;
}

/// [name, node_index, tensor_index] (+ kwargs in tf.keras' inbound nodes).
TensorRef read_triple(const json& v, const std::string& path, bool kwargs_allowed) {
  TensorRef ref;
  ref.path = path;
  const size_t n = v.is_array() ? v.size() : 0;
  if (!(n == 3 || (kwargs_allowed && n == 4)) || !v[0].is_string() ||
      !non_negative_int(v[1], ref.node) || !non_negative_int(v[2], ref.tensor))
    throw ConfigError(path + ": expected [layer_name, node_index, tensor_index]" +
                      std::string(kwargs_allowed ? " (+ kwargs)" : "") + ", got " +
                      io::describe(v));
  ref.layer = v[0].get<std::string>();
  if (n == 4) {
    if (!v[3].is_object())
      throw ConfigError(path + "/3: expected the call's keyword arguments (an object), got " +
                        io::describe(v[3]));
    for (auto it = v[3].begin(); it != v[3].end(); ++it)
      if (!it->is_null() && !(it.key() == "training" && it->is_boolean() && !it->get<bool>()))
        throw ConfigError(path + "/3/" + io::json_pointer_token(it.key()) +
                          ": call arguments other than input tensors are not supported, got " +
                          io::describe(*it));
  }
  return ref;
}

/// The __keras_tensor__ objects of a Keras 3 node's args, in order.
void collect_keras_tensors(const json& v, const std::string& path, std::vector<TensorRef>& out) {
  if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      collect_keras_tensors(v[i], path + "/" + std::to_string(i), out);
    return;
  }
  const std::string cls = class_of(v);
  if (cls == "__keras_tensor__") {
    ConfigReader r(v, path);
    ConfigReader c = r.object("config");
    c.ignore({"shape", "dtype", "sparse", "ragged", "name"});
    const json* h = c.find("keras_history");
    if (!h) c.fail("keras_history", "required but missing");
    out.push_back(read_triple(*h, c.path("keras_history"), false));
    return;
  }
  if (cls == "__tuple__") {
    ConfigReader r(v, path);
    ConfigReader c = r.object("config");
    const json* items = c.find("value");
    if (!items) c.fail("value", "required but missing");
    collect_keras_tensors(*items, c.path("value"), out);
    return;
  }
  throw ConfigError(path + ": call arguments other than input tensors are not supported, got " +
                    io::describe(v));
}

/// One inbound node: {"args": [...], "kwargs": {...}} (Keras 3) or [[name, node, tensor,
/// kwargs], ...] (tf.keras).
std::vector<TensorRef> read_node(const json& node, const std::string& path, bool& keras3) {
  std::vector<TensorRef> refs;
  if (node.is_object()) {
    keras3 = true;
    ConfigReader r(node, path);
    const json* args = r.find("args");
    if (!args) r.fail("args", "required but missing");
    collect_keras_tensors(*args, r.path("args"), refs);
    if (const json* kw = r.find("kwargs")) {
      if (!kw->is_object()) r.expected("kwargs", "an object");
      for (auto it = kw->begin(); it != kw->end(); ++it)
        if (!it->is_null() && !(it.key() == "training" && it->is_boolean() && !it->get<bool>()))
          throw ConfigError(r.path("kwargs") + "/" + io::json_pointer_token(it.key()) +
                            ": call arguments other than input tensors are not supported, "
                            "got " + io::describe(*it));
    }
    r.check_unknown_keys("an inbound node");
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i)
      refs.push_back(read_triple(node[i], path + "/" + std::to_string(i), true));
  } else {
    throw ConfigError(path + ": expected an inbound node ({\"args\", \"kwargs\"} or a list of "
                      "[layer, node, tensor, kwargs]), got " + io::describe(node));
  }
  if (refs.empty()) throw ConfigError(path + ": an inbound node needs at least one input tensor");
  return refs;
}

/// input_layers / output_layers: a triple, a list of triples, or a dict of triples.
std::vector<TensorRef> read_endpoints(const ConfigReader& r, const std::string& key) {
  const json* v = r.find(key);
  if (!v) r.fail(key, "required but missing");
  std::vector<TensorRef> out;
  const std::string p = r.path(key);
  if (v->is_array() && v->size() == 3 && (*v)[0].is_string()) {
    out.push_back(read_triple(*v, p, false));
  } else if (v->is_array()) {
    for (size_t i = 0; i < v->size(); ++i)
      out.push_back(read_triple((*v)[i], p + "/" + std::to_string(i), false));
  } else if (v->is_object()) {
    // Keras flattens a dict of inputs in sorted key order, as nlohmann's objects iterate.
    for (auto it = v->begin(); it != v->end(); ++it)
      out.push_back(read_triple(*it, p + "/" + io::json_pointer_token(it.key()), false));
  } else {
    r.expected(key, "a list of [layer_name, node_index, tensor_index]");
  }
  if (out.empty()) r.fail(key, "a model needs at least one");
  return out;
}

struct Slot {
  LayerPtr layer;
  bool is_input = false;
  std::vector<std::vector<KerasTensor>> outputs;  // by node position, then tensor index
  std::vector<std::vector<TensorRef>> nodes;
  std::vector<std::string> node_paths;
  size_t next = 0;
};

std::shared_ptr<Model> read_functional(const json& config, const std::string& path, int depth) {
  ConfigReader r(config, path);
  const json& layers = required_list(r, "layers");
  const std::string lp = r.path("layers");
  const std::string model_name = r.name();
  const bool trainable = r.boolean("trainable", true);
  check_model_dtype(r);
  std::map<std::string, Slot> slots;
  std::vector<std::string> order;
  bool keras3 = false;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string p = lp + "/" + std::to_string(i);
    const json& entry = layers[i];
    if (!entry.is_object()) throw ConfigError(p + ": expected a layer entry, got " + io::describe(entry));
    std::string lname;
    if (auto it = entry.find("name"); it != entry.end() && it->is_string())
      lname = it->get<std::string>();
    else if (auto c = entry.find("config"); c != entry.end() && c->is_object() &&
                                            c->contains("name") && (*c)["name"].is_string())
      lname = (*c)["name"].get<std::string>();
    else
      throw ConfigError(p + "/name: required but missing (every layer of a functional model "
                        "has a name)");
    if (slots.count(lname))
      throw ConfigError(p + "/name: two layers are named \"" + lname + "\"");
    Slot s;
    if (class_of(entry) == "InputLayer") {
      ConfigReader e(entry, p);
      e.ignore({"module", "registered_name", "class_name", "build_config", "name",
                "inbound_nodes"});
      json cfg = e.object("config").value();
      if (!cfg.contains("name")) cfg["name"] = lname;
      KerasTensor t = read_input_layer(cfg, e.path("config"));
      e.check_unknown_keys("a layer entry");
      s.layer = t.node()->layer;
      s.is_input = true;
      s.outputs.push_back({t});
    } else {
      s.layer = read_layer(entry, p, depth);
      if (s.layer->name() != lname)
        throw ConfigError(p + "/name: \"" + lname + "\" differs from the config's name \"" +
                          s.layer->name() + "\"");
      auto nodes = entry.find("inbound_nodes");
      if (nodes == entry.end() || !nodes->is_array())
        throw ConfigError(p + "/inbound_nodes: expected a list of inbound nodes, got " +
                          (nodes == entry.end() ? std::string("nothing") : io::describe(*nodes)));
      for (size_t k = 0; k < nodes->size(); ++k) {
        const std::string np = p + "/inbound_nodes/" + std::to_string(k);
        s.nodes.push_back(read_node((*nodes)[k], np, keras3));
        s.node_paths.push_back(np);
      }
    }
    order.push_back(lname);
    slots.emplace(lname, std::move(s));
  }

  // Resolves a reference to a created tensor; null while its node is not created yet.
  auto resolve = [&](const TensorRef& ref, bool endpoint) -> const KerasTensor* {
    auto it = slots.find(ref.layer);
    if (it == slots.end())
      throw ConfigError(ref.path + ": no layer named \"" + ref.layer + "\" in " + lp);
    const Slot& s = it->second;
    int64_t pos = ref.node - node_offset(*s.layer, keras3, endpoint);
    if (pos < 0) pos = ref.node;
    const size_t total = s.is_input ? 1 : s.nodes.size();
    if (static_cast<size_t>(pos) >= total && static_cast<size_t>(ref.node) < total) pos = ref.node;
    if (static_cast<size_t>(pos) >= total)
      throw ConfigError(ref.path + ": layer \"" + ref.layer + "\" has no node " +
                        std::to_string(ref.node));
    if (static_cast<size_t>(pos) >= s.outputs.size()) return nullptr;
    const std::vector<KerasTensor>& outs = s.outputs[size_t(pos)];
    if (static_cast<size_t>(ref.tensor) >= outs.size())
      throw ConfigError(ref.path + ": layer \"" + ref.layer + "\" gives " +
                        (outs.size() == 1 ? std::string("one output (tensor index 0)")
                                          : std::to_string(outs.size()) +
                                                " outputs (tensor indices 0 to " +
                                                std::to_string(outs.size() - 1) + ")") +
                        ", got tensor index " + std::to_string(ref.tensor));
    return &outs[size_t(ref.tensor)];
  };

  // Keras' loop: create each layer's nodes in order once their inputs exist; a shared layer's
  // later node may wait for a layer listed after it.
  for (bool progress = true; progress;) {
    progress = false;
    for (const auto& lname : order) {
      Slot& s = slots[lname];
      while (s.next < s.nodes.size()) {
        std::vector<KerasTensor> inputs;
        bool ready = true;
        for (const auto& ref : s.nodes[s.next]) {
          const KerasTensor* t = resolve(ref, false);
          if (!t) {
            ready = false;
            break;
          }
          inputs.push_back(*t);
        }
        if (!ready) break;
        try {
          s.outputs.push_back(s.layer->call_multi(inputs));
        } catch (const Error& e) {
          io::rethrow_at(s.node_paths[s.next], e);
        }
        ++s.next;
        progress = true;
      }
    }
  }
  for (const auto& lname : order) {
    const Slot& s = slots[lname];
    if (s.next < s.nodes.size())
      throw ConfigError(s.node_paths[s.next] + ": the inputs of this node are never created "
                        "(a cycle, or a reference to a node that does not exist)");
  }

  auto endpoint_tensors = [&](const std::string& key) {
    std::vector<KerasTensor> out;
    for (const TensorRef& ref : read_endpoints(r, key)) {
      const KerasTensor* t = resolve(ref, true);
      if (!t) throw ConfigError(ref.path + ": this node is never created");
      out.push_back(*t);
    }
    return out;
  };
  std::vector<KerasTensor> inputs = endpoint_tensors("input_layers");
  std::vector<KerasTensor> outputs = endpoint_tensors("output_layers");
  r.check_unknown_keys("Functional");
  try {
    auto model = std::make_shared<Model>(inputs, outputs, model_name);
    model->trainable = trainable;
    return model;
  } catch (const Error& e) {
    io::rethrow_at(path, e);
  }
}

std::shared_ptr<Model> read_model(const json& j, const std::string& path, int depth,
                                  bool allow_compile) {
  if (depth > kMaxNesting)
    throw ConfigError(path + ": models nested more than " + std::to_string(kMaxNesting) +
                      " deep");
  if (!j.is_object())
    throw ConfigError((path.empty() ? "/" : path) + ": expected a model config (an object), got " +
                      io::describe(j));
  if (!j.contains("class_name")) {  // a bare config, as model.get_config() returns
    if (j.contains("input_layers") || j.contains("output_layers"))
      return read_functional(j, path, depth);
    return read_sequential(j, path, depth);
  }
  ConfigReader e(j, path);
  const std::string cls = e.string("class_name");
  e.ignore({"module", "registered_name", "build_config", "keras_version", "backend", "name",
            "inbound_nodes", "shared_object_id"});
  const json* config = e.find("config");
  if (!config) e.fail("config", "required but missing");
  const json* compile_config = e.find("compile_config");
  e.check_unknown_keys("a model");
  std::shared_ptr<Model> model;
  if (cls == "Sequential") {
    model = read_sequential(*config, e.path("config"), depth);
  } else if (cls == "Functional" || cls == "Model") {
    model = read_functional(*config, e.path("config"), depth);
  } else {
    throw ConfigError(e.path("class_name") + ": expected a model class (Sequential or "
                      "Functional), got \"" + cls + "\"");
  }
  // Keras writes {} for an uncompiled model.
  if (compile_config && allow_compile && !compile_config->empty())
    io::compile_model_from_config(*model, *compile_config, e.path("compile_config"), true);
  return model;
}

}  // namespace

std::shared_ptr<Model> model_from_config(const json& config, const std::string& path) {
  return read_model(config, path, 0, true);
}

std::shared_ptr<Model> Model::from_config(const json& config) {
  return model_from_config(config);
}

std::shared_ptr<Model> model_from_json(const std::string& json_text) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::parse_error& e) {
    std::string m = e.what();
    if (auto p = m.find("] "); m.rfind("[json.exception", 0) == 0 && p != std::string::npos)
      m = m.substr(p + 2);
    throw ConfigError("model JSON: " + m);
  }
  return model_from_config(j);
}

}  // namespace fitrun
