// The built-in layer classes, by Keras class name. Each factory reads its Keras config through
// io::ConfigReader, which names the JSON path of a bad value and rejects unknown keys (see
// src/io/config_reader.hpp), so that from_config(get_config()) round-trips every argument.
#include <map>
#include <optional>

#include "fitrun/layers/activation_layer.hpp"
#include "fitrun/layers/conv.hpp"
#include "fitrun/layers/dense.hpp"
#include "fitrun/layers/dropout.hpp"
#include "fitrun/layers/input_layer.hpp"
#include "fitrun/layers/merging.hpp"
#include "fitrun/layers/normalization.hpp"
#include "fitrun/layers/pooling.hpp"
#include "fitrun/layers/reshaping.hpp"
#include "fitrun/layers/reshaping_image.hpp"
#include "fitrun/layers/spatial_dropout.hpp"
#include "io/config_reader.hpp"

namespace fitrun {

void register_sequence_layers(std::map<std::string, LayerFactory>& r);  // registry_sequence.cpp

void register_builtin_layers(std::map<std::string, LayerFactory>& r) {
  using namespace layers;
  using io::ConfigReader;
  r["Dense"] = [](const json& c) {
    ConfigReader cfg(c);
    DenseOptions o;
    o.name = cfg.name();
    o.use_bias = cfg.boolean("use_bias", true);
    o.kernel_initializer = cfg.initializer("kernel_initializer", "glorot_uniform");
    o.bias_initializer = cfg.initializer("bias_initializer", "zeros");
    o.kernel_regularizer = cfg.regularizer("kernel_regularizer");
    o.bias_regularizer = cfg.regularizer("bias_regularizer");
    o.kernel_constraint = cfg.constraint("kernel_constraint");
    o.bias_constraint = cfg.constraint("bias_constraint");
    cfg.require_null({"quantization_config", "lora_rank"});
    cfg.ignore({"lora_alpha"});  // only meaningful with lora_rank
    const int64_t units = cfg.positive_int("units");
    return cfg.finish(std::make_shared<Dense>(units, cfg.activation(), o));
  };
  r["Activation"] = [](const json& c) {
    ConfigReader cfg(c);
    return cfg.finish(std::make_shared<layers::Activation>(cfg.activation(), cfg.name()));
  };
  r["LeakyReLU"] = [](const json& c) {
    ConfigReader cfg(c);
    // Keras 3 says negative_slope, tf.keras alpha; both default to 0.3.
    const char* key = cfg.has("alpha") && !cfg.has("negative_slope") ? "alpha" : "negative_slope";
    const double slope = cfg.number(key, 0.3, 0.0, 3e38);
    return cfg.finish(std::make_shared<LeakyReLU>(static_cast<float>(slope), cfg.name()));
  };
  r["Dropout"] = [](const json& c) {
    ConfigReader cfg(c);
    const double rate = cfg.number("rate");
    if (!(rate >= 0.0 && rate < 1.0)) cfg.expected("rate", "a number in [0, 1)");
    cfg.require_null({"noise_shape"});
    std::optional<uint32_t> seed;
    if (cfg.has("seed")) seed = static_cast<uint32_t>(cfg.integer("seed", 0, 0xffffffffLL));
    return cfg.finish(std::make_shared<Dropout>(static_cast<float>(rate), cfg.name(), seed));
  };
  r["Flatten"] = [](const json& c) {
    ConfigReader cfg(c);
    cfg.require_value("data_format", "channels_last");
    return cfg.finish(std::make_shared<Flatten>(cfg.name()));
  };
  r["Reshape"] = [](const json& c) {
    ConfigReader cfg(c);
    const std::vector<int64_t> target = cfg.int_list("target_shape", -1);
    for (size_t i = 0; i < target.size(); ++i)
      if (target[i] == 0)
        throw ConfigError(cfg.path("target_shape") + "/" + std::to_string(i) +
                          ": expected a positive integer or -1, got 0");
    if (target.size() > static_cast<size_t>(Shape::kMaxRank - 1))
      cfg.expected("target_shape", "at most " + std::to_string(Shape::kMaxRank - 1) + " dimensions");
    return cfg.finish(std::make_shared<Reshape>(Shape(target), cfg.name()));
  };
  r["Add"] = [](const json& c) {
    ConfigReader cfg(c);
    return cfg.finish(std::make_shared<Add>(cfg.name()));
  };
  r["Concatenate"] = [](const json& c) {
    ConfigReader cfg(c);
    const int64_t axis = cfg.integer("axis", -1, -Shape::kMaxRank, Shape::kMaxRank - 1);
    return cfg.finish(std::make_shared<Concatenate>(static_cast<int>(axis), cfg.name()));
  };
  // ---- vision layers: convolution, pooling, normalization, image reshaping ----
  // The arguments shared by the 2-D convolutions; `kernel_key` is "kernel" or "depthwise"
  // (the prefix of the kernel's initializer/regularizer/constraint keys).
  static constexpr auto conv_options = [](const ConfigReader& cfg, const char* kernel_key) {
    ConvOptions o;
    o.name = cfg.name();
    cfg.require_value("data_format", "channels_last");
    const auto strides = cfg.int_tuple("strides", 2, {1, 1});
    o.strides = Size2(strides[0], strides[1]);
    o.padding = cfg.choice("padding", "valid", {"valid", "same"});
    const auto dilation = cfg.int_tuple("dilation_rate", 2, {1, 1});
    o.dilation_rate = Size2(dilation[0], dilation[1]);
    o.use_bias = cfg.boolean("use_bias", true);
    o.kernel_initializer =
        cfg.initializer(std::string(kernel_key) + "_initializer", "glorot_uniform");
    o.bias_initializer = cfg.initializer("bias_initializer", "zeros");
    o.kernel_regularizer = cfg.regularizer(std::string(kernel_key) + "_regularizer");
    o.kernel_constraint = cfg.constraint(std::string(kernel_key) + "_constraint");
    o.bias_regularizer = cfg.regularizer("bias_regularizer");
    o.bias_constraint = cfg.constraint("bias_constraint");
    return o;
  };
  auto size2 = [](const std::vector<int64_t>& v) { return Size2(v[0], v[1]); };
  r["Conv2D"] = [=](const json& c) {
    ConfigReader cfg(c);
    ConvOptions o = conv_options(cfg, "kernel");
    o.groups = cfg.positive_int("groups", 1);
    const int64_t filters = cfg.positive_int("filters");
    const Size2 k = size2(cfg.int_tuple("kernel_size", 2));
    return cfg.finish(std::make_shared<Conv2D>(filters, k, cfg.activation(), o));
  };
  r["Conv1D"] = [](const json& c) {
    ConfigReader cfg(c);
    Conv1DOptions o;
    o.name = cfg.name();
    cfg.require_value("data_format", "channels_last");
    o.strides = cfg.int_tuple("strides", 1, {1})[0];
    o.padding = cfg.choice("padding", "valid", {"valid", "same", "causal"});
    o.dilation_rate = cfg.int_tuple("dilation_rate", 1, {1})[0];
    o.groups = cfg.positive_int("groups", 1);
    o.use_bias = cfg.boolean("use_bias", true);
    o.kernel_initializer = cfg.initializer("kernel_initializer", "glorot_uniform");
    o.bias_initializer = cfg.initializer("bias_initializer", "zeros");
    o.kernel_regularizer = cfg.regularizer("kernel_regularizer");
    o.bias_regularizer = cfg.regularizer("bias_regularizer");
    o.kernel_constraint = cfg.constraint("kernel_constraint");
    o.bias_constraint = cfg.constraint("bias_constraint");
    const int64_t filters = cfg.positive_int("filters");
    const int64_t k = cfg.int_tuple("kernel_size", 1)[0];
    return cfg.finish(std::make_shared<Conv1D>(filters, k, cfg.activation(), o));
  };
  r["DepthwiseConv2D"] = [=](const json& c) {
    ConfigReader cfg(c);
    // Keras 3 names the kernel initializer depthwise_initializer, like tf.keras.
    ConvOptions o = conv_options(cfg, "depthwise");
    o.depth_multiplier = cfg.positive_int("depth_multiplier", 1);
    const Size2 k = size2(cfg.int_tuple("kernel_size", 2));
    return cfg.finish(std::make_shared<DepthwiseConv2D>(k, cfg.activation(), o));
  };
  r["SeparableConv2D"] = [=](const json& c) {
    ConfigReader cfg(c);
    ConvOptions o = conv_options(cfg, "depthwise");
    o.depth_multiplier = cfg.positive_int("depth_multiplier", 1);
    o.pointwise_initializer = cfg.initializer("pointwise_initializer", "glorot_uniform");
    o.pointwise_regularizer = cfg.regularizer("pointwise_regularizer");
    o.pointwise_constraint = cfg.constraint("pointwise_constraint");
    const int64_t filters = cfg.positive_int("filters");
    const Size2 k = size2(cfg.int_tuple("kernel_size", 2));
    return cfg.finish(std::make_shared<SeparableConv2D>(filters, k, cfg.activation(), o));
  };
  r["Conv2DTranspose"] = [=](const json& c) {
    ConfigReader cfg(c);
    ConvOptions o = conv_options(cfg, "kernel");
    o.groups = cfg.positive_int("groups", 1);
    const int64_t filters = cfg.positive_int("filters");
    const Size2 k = size2(cfg.int_tuple("kernel_size", 2));
    const Size2 op = size2(cfg.int_tuple("output_padding", 2, {-1, -1}, 0));
    return cfg.finish(std::make_shared<Conv2DTranspose>(filters, k, cfg.activation(), o, op));
  };
  auto pooling2d = [=](bool max) {
    return [=](const json& c) -> LayerPtr {
      ConfigReader cfg(c);
      cfg.require_value("data_format", "channels_last");
      Pooling2DOptions o;
      o.name = cfg.name();
      const Size2 pool = size2(cfg.int_tuple("pool_size", 2, {2, 2}));
      if (cfg.has("strides")) o.strides = size2(cfg.int_tuple("strides", 2));
      o.padding = cfg.choice("padding", "valid", {"valid", "same"});
      if (max) return cfg.finish(std::make_shared<MaxPooling2D>(pool, o));
      return cfg.finish(std::make_shared<AveragePooling2D>(pool, o));
    };
  };
  r["MaxPooling2D"] = pooling2d(true);
  r["AveragePooling2D"] = pooling2d(false);
  auto pooling1d = [](bool max) {
    return [=](const json& c) -> LayerPtr {
      ConfigReader cfg(c);
      cfg.require_value("data_format", "channels_last");
      Pooling1DOptions o;
      o.name = cfg.name();
      const int64_t pool = cfg.int_tuple("pool_size", 1, {2})[0];
      if (cfg.has("strides")) o.strides = cfg.int_tuple("strides", 1)[0];
      o.padding = cfg.choice("padding", "valid", {"valid", "same"});
      if (max) return cfg.finish(std::make_shared<MaxPooling1D>(pool, o));
      return cfg.finish(std::make_shared<AveragePooling1D>(pool, o));
    };
  };
  r["MaxPooling1D"] = pooling1d(true);
  r["AveragePooling1D"] = pooling1d(false);
  auto global_pooling = [](int kind) {
    return [=](const json& c) -> LayerPtr {
      ConfigReader cfg(c);
      cfg.require_value("data_format", "channels_last");
      GlobalPoolingOptions o;
      o.name = cfg.name();
      o.keepdims = cfg.boolean("keepdims", false);
      switch (kind) {
        case 0: return cfg.finish(std::make_shared<GlobalAveragePooling2D>(o));
        case 1: return cfg.finish(std::make_shared<GlobalMaxPooling2D>(o));
        case 2: return cfg.finish(std::make_shared<GlobalAveragePooling1D>(o));
        default: return cfg.finish(std::make_shared<GlobalMaxPooling1D>(o));
      }
    };
  };
  r["GlobalAveragePooling2D"] = global_pooling(0);
  r["GlobalMaxPooling2D"] = global_pooling(1);
  r["GlobalAveragePooling1D"] = global_pooling(2);
  r["GlobalMaxPooling1D"] = global_pooling(3);
  // axis: an integer, or (tf.keras) a list of one integer.
  static constexpr auto norm_axis = [](const ConfigReader& cfg) -> int {
    const json* a = cfg.find("axis");
    if (!a) return -1;
    if (a->is_number_integer()) return a->get<int>();
    if (a->is_array() && a->size() == 1 && (*a)[0].is_number_integer()) return (*a)[0].get<int>();
    cfg.expected("axis", "an integer (the last axis)");
  };
  r["BatchNormalization"] = [](const json& c) {
    ConfigReader cfg(c);
    BatchNormalizationOptions o;
    o.name = cfg.name();
    o.axis = norm_axis(cfg);
    o.momentum = static_cast<float>(cfg.number("momentum", 0.99, 0.0, 1.0));
    o.epsilon = static_cast<float>(cfg.number("epsilon", 1e-3, 1e-38, 1e38));
    o.center = cfg.boolean("center", true);
    o.scale = cfg.boolean("scale", true);
    o.beta_initializer = cfg.initializer("beta_initializer", "zeros");
    o.gamma_initializer = cfg.initializer("gamma_initializer", "ones");
    o.moving_mean_initializer = cfg.initializer("moving_mean_initializer", "zeros");
    o.moving_variance_initializer = cfg.initializer("moving_variance_initializer", "ones");
    o.beta_regularizer = cfg.regularizer("beta_regularizer");
    o.gamma_regularizer = cfg.regularizer("gamma_regularizer");
    o.beta_constraint = cfg.constraint("beta_constraint");
    o.gamma_constraint = cfg.constraint("gamma_constraint");
    cfg.require_null({"renorm_clipping", "virtual_batch_size", "adjustment"});
    cfg.require_value("synchronized", false);
    cfg.require_value("renorm", false);
    cfg.ignore({"renorm_momentum", "fused"});  // without renorm / an implementation hint
    return cfg.finish(std::make_shared<BatchNormalization>(o));
  };
  r["LayerNormalization"] = [](const json& c) {
    ConfigReader cfg(c);
    LayerNormalizationOptions o;
    o.name = cfg.name();
    o.axis = norm_axis(cfg);
    o.epsilon = static_cast<float>(cfg.number("epsilon", 1e-3, 1e-38, 1e38));
    o.center = cfg.boolean("center", true);
    o.scale = cfg.boolean("scale", true);
    o.beta_initializer = cfg.initializer("beta_initializer", "zeros");
    o.gamma_initializer = cfg.initializer("gamma_initializer", "ones");
    o.beta_regularizer = cfg.regularizer("beta_regularizer");
    o.gamma_regularizer = cfg.regularizer("gamma_regularizer");
    o.beta_constraint = cfg.constraint("beta_constraint");
    o.gamma_constraint = cfg.constraint("gamma_constraint");
    cfg.require_value("rms_scaling", false);
    return cfg.finish(std::make_shared<LayerNormalization>(o));
  };
  // ZeroPadding2D / Cropping2D amounts: 1, [1, 2] or [[1, 0], [2, 2]].
  static constexpr auto sides = [](const ConfigReader& cfg, const char* key) -> Padding2D {
    const json* v = cfg.find(key);
    if (!v) return Padding2D(key == std::string("padding") ? 1 : 0);
    auto is_int = [](const json& j) { return j.is_number_integer() && j.get<int64_t>() >= 0; };
    auto is_pair = [&](const json& j) {
      return j.is_array() && j.size() == 2 && is_int(j[0]) && is_int(j[1]);
    };
    if (is_int(*v)) return Padding2D(v->get<int64_t>());
    if (is_pair(*v)) return Padding2D((*v)[0].get<int64_t>(), (*v)[1].get<int64_t>());
    if (v->is_array() && v->size() == 2 && is_pair((*v)[0]) && is_pair((*v)[1]))
      return Padding2D({(*v)[0][0].get<int64_t>(), (*v)[0][1].get<int64_t>()},
                       {(*v)[1][0].get<int64_t>(), (*v)[1][1].get<int64_t>()});
    cfg.expected(key, "an integer, [height, width] or [[top, bottom], [left, right]] (>= 0)");
  };
  r["ZeroPadding2D"] = [](const json& c) {
    ConfigReader cfg(c);
    cfg.require_value("data_format", "channels_last");
    return cfg.finish(std::make_shared<ZeroPadding2D>(sides(cfg, "padding"), cfg.name()));
  };
  r["Cropping2D"] = [](const json& c) {
    ConfigReader cfg(c);
    cfg.require_value("data_format", "channels_last");
    return cfg.finish(std::make_shared<Cropping2D>(sides(cfg, "cropping"), cfg.name()));
  };
  r["UpSampling2D"] = [=](const json& c) {
    ConfigReader cfg(c);
    cfg.require_value("data_format", "channels_last");
    const Size2 size = size2(cfg.int_tuple("size", 2, {2, 2}));
    const std::string interpolation = cfg.choice("interpolation", "nearest", {"nearest"});
    return cfg.finish(std::make_shared<UpSampling2D>(size, interpolation, cfg.name()));
  };
  auto spatial_dropout = [](bool two_d) {
    return [=](const json& c) -> LayerPtr {
      ConfigReader cfg(c);
      if (two_d) cfg.require_value("data_format", "channels_last");
      const double rate = cfg.number("rate", 0.0, 1.0);
      if (rate >= 1.0) cfg.expected("rate", "a number in [0, 1)");
      std::optional<uint32_t> seed;
      if (cfg.has("seed")) seed = static_cast<uint32_t>(cfg.integer("seed", 0, 0xffffffffLL));
      if (two_d)
        return cfg.finish(std::make_shared<SpatialDropout2D>(static_cast<float>(rate), cfg.name(),
                                                             seed));
      return cfg.finish(std::make_shared<SpatialDropout1D>(static_cast<float>(rate), cfg.name(),
                                                           seed));
    };
  };
  r["SpatialDropout2D"] = spatial_dropout(true);
  r["SpatialDropout1D"] = spatial_dropout(false);
  r["Permute"] = [](const json& c) {
    ConfigReader cfg(c);
    std::vector<int> dims;
    for (int64_t d : cfg.int_list("dims", 1)) dims.push_back(static_cast<int>(d));
    return cfg.finish(std::make_shared<Permute>(dims, cfg.name()));
  };
  r["RepeatVector"] = [](const json& c) {
    ConfigReader cfg(c);
    return cfg.finish(std::make_shared<RepeatVector>(cfg.positive_int("n"), cfg.name()));
  };
  register_sequence_layers(r);
}

}  // namespace fitrun
