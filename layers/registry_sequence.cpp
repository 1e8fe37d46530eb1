// The sequence layers' Keras configs (Embedding, Masking, SimpleRNN, LSTM, GRU, ...), read the
// same way as the other built-in layers in layers/registry.cpp.
#include <map>
#include <utility>

#include "fitrun/layers/attention.hpp"
#include "fitrun/layers/bidirectional.hpp"
#include "fitrun/layers/embedding.hpp"
#include "fitrun/layers/masking.hpp"
#include "fitrun/layers/recurrent.hpp"
#include "fitrun/layers/time_distributed.hpp"
#include "io/config_reader.hpp"

namespace fitrun {

namespace {
/// A wrapper's inner layer, {"class_name", "config", ...} at `key`; its config errors name
/// the wrapper's path.
LayerPtr wrapped_layer(const io::ConfigReader& cfg, const char* key) {
  io::ConfigReader inner = cfg.object(key);
  const std::string cls = inner.string("class_name");
  inner.ignore({"module", "registered_name", "build_config"});
  const json* inner_config = inner.find("config");
  if (!inner_config || !inner_config->is_object())
    inner.expected("config", "the wrapped layer's config object");
  inner.check_unknown_keys(std::string(key));
  try {
    return layer_from_config(cls, *inner_config);
  } catch (const ConfigError& e) {
    throw ConfigError(cfg.path(key) + ": " + e.what());
  }
}
}  // namespace

void register_sequence_layers(std::map<std::string, LayerFactory>& r) {
  using namespace layers;
  using io::ConfigReader;
  r["Embedding"] = [](const json& c) {
    ConfigReader cfg(c);
    EmbeddingOptions o;
    o.name = cfg.name();
    o.embeddings_initializer = cfg.initializer("embeddings_initializer", "uniform");
    o.mask_zero = cfg.boolean("mask_zero", false);
    o.embeddings_regularizer = cfg.regularizer("embeddings_regularizer");
    o.embeddings_constraint = cfg.constraint("embeddings_constraint");
    cfg.require_null({"input_length", "lora_rank"});
    cfg.require_value("sparse", false);
    cfg.ignore({"lora_alpha", "quantization_config"});
    const int64_t input_dim = cfg.positive_int("input_dim");
    const int64_t output_dim = cfg.positive_int("output_dim");
    return cfg.finish(std::make_shared<Embedding>(input_dim, output_dim, o));
  };
  r["Masking"] = [](const json& c) {
    ConfigReader cfg(c);
    const double v = cfg.number("mask_value", 0.0, -3e38, 3e38);
    return cfg.finish(std::make_shared<Masking>(static_cast<float>(v), cfg.name()));
  };
  auto recurrent = [](RNN::Cell cell) {
    return [=](const json& c) -> LayerPtr {
      ConfigReader cfg(c);
      RNNOptions o;
      o.name = cfg.name();
      o.activation = cfg.activation("activation", "tanh");
      if (cell != RNN::Cell::simple)
        o.recurrent_activation = cfg.activation("recurrent_activation", "sigmoid");
      o.use_bias = cfg.boolean("use_bias", true);
      o.kernel_initializer = cfg.initializer("kernel_initializer", "glorot_uniform");
      o.recurrent_initializer = cfg.initializer("recurrent_initializer", "orthogonal");
      o.bias_initializer = cfg.initializer("bias_initializer", "zeros");
      if (cell == RNN::Cell::lstm) o.unit_forget_bias = cfg.boolean("unit_forget_bias", true);
      if (cell == RNN::Cell::gru) o.reset_after = cfg.boolean("reset_after", true);
      o.return_sequences = cfg.boolean("return_sequences", false);
      o.go_backwards = cfg.boolean("go_backwards", false);
      o.zero_output_for_mask = cfg.boolean("zero_output_for_mask", false);
      o.stateful = cfg.boolean("stateful", false);
      o.kernel_regularizer = cfg.regularizer("kernel_regularizer");
      o.recurrent_regularizer = cfg.regularizer("recurrent_regularizer");
      o.bias_regularizer = cfg.regularizer("bias_regularizer");
      o.kernel_constraint = cfg.constraint("kernel_constraint");
      o.recurrent_constraint = cfg.constraint("recurrent_constraint");
      o.bias_constraint = cfg.constraint("bias_constraint");
      for (auto [key, rate] : {std::pair{"dropout", &o.dropout},
                               std::pair{"recurrent_dropout", &o.recurrent_dropout}}) {
        const double r = cfg.number(key, 0.0, 0.0, 1.0);
        if (r >= 1.0) cfg.expected(key, "a number in [0, 1)");
        *rate = static_cast<float>(r);
      }
      if (cfg.has("seed")) o.seed = static_cast<uint32_t>(cfg.integer("seed", 0, 0xffffffffLL));
      o.return_state = cfg.boolean("return_state", false);
      // Not implemented: an error naming the key rather than a silently different model.
      cfg.require_value("time_major", false);
      // Implementation hints that do not change the maths.
      cfg.ignore({"unroll", "implementation", "use_cudnn"});
      const int64_t units = cfg.positive_int("units");
      switch (cell) {
        case RNN::Cell::simple: return cfg.finish(std::make_shared<SimpleRNN>(units, o));
        case RNN::Cell::lstm: return cfg.finish(std::make_shared<LSTM>(units, o));
        default: return cfg.finish(std::make_shared<GRU>(units, o));
      }
    };
  };
  r["MultiHeadAttention"] = [](const json& c) {
    ConfigReader cfg(c);
    MultiHeadAttentionOptions o;
    o.name = cfg.name();
    const int64_t heads = cfg.positive_int("num_heads");
    const int64_t key_dim = cfg.positive_int("key_dim");
    if (cfg.has("value_dim")) o.value_dim = cfg.positive_int("value_dim");
    const double rate = cfg.number("dropout", 0.0, 0.0, 1.0);
    if (rate >= 1.0) cfg.expected("dropout", "a number in [0, 1)");
    o.dropout = static_cast<float>(rate);
    o.use_bias = cfg.boolean("use_bias", true);
    if (const json* out = cfg.find("output_shape"); out && !out->is_null()) {
      if (out->is_number_integer() && out->get<int64_t>() > 0) o.output_shape = out->get<int64_t>();
      else if (out->is_array() && out->size() == 1 && (*out)[0].is_number_integer() &&
               (*out)[0].get<int64_t>() > 0)
        o.output_shape = (*out)[0].get<int64_t>();
      else cfg.expected("output_shape", "a positive integer (the output's last dimension)");
    }
    o.kernel_initializer = cfg.initializer("kernel_initializer", "glorot_uniform");
    o.bias_initializer = cfg.initializer("bias_initializer", "zeros");
    o.use_causal_mask = cfg.boolean("use_causal_mask", false);
    // Keras 3's to_json() writes the axes it built with: [1] for (batch, steps, features)
    // inputs, the only ones fitrun's MultiHeadAttention takes, the same as null.
    if (const json* axes = cfg.find("attention_axes"); axes && !axes->is_null()) {
      auto steps_axis = [](const json& a) {
        return a.is_number_integer() && (a.get<int64_t>() == 1 || a.get<int64_t>() == -2);
      };
      if (!(steps_axis(*axes) || (axes->is_array() && axes->size() == 1 && steps_axis((*axes)[0]))))
        cfg.expected("attention_axes", "null or [1] (fitrun attends over the steps axis only)");
    }
    // Newer Keras 3 (3.15 writes them): use_gate false and sliding_window null are plain attention.
    if (cfg.boolean("use_gate", false)) cfg.expected("use_gate", "false (fitrun has no gate)");
    cfg.require_null({"sliding_window", "kernel_regularizer", "bias_regularizer",
                      "activity_regularizer", "kernel_constraint", "bias_constraint"});
    cfg.ignore({"seed", "flash_attention"});
    return cfg.finish(std::make_shared<MultiHeadAttention>(heads, key_dim, o));
  };
  // Keras' Attention and AdditiveAttention. use_causal_mask and return_attention_scores are
  // call arguments in Keras; fitrun reads the first as a layer option (tf.keras 2 wrote it
  // as "causal") and refuses the second (not implemented; it would be a second output).
  auto dropout_rate = [](const ConfigReader& cfg) {
    const double rate = cfg.number("dropout", 0.0, 0.0, 1.0);
    if (rate >= 1.0) cfg.expected("dropout", "a number in [0, 1)");
    return static_cast<float>(rate);
  };
  auto causal = [](const ConfigReader& cfg) {
    const bool keras3 = cfg.boolean("use_causal_mask", false);
    const bool keras2 = cfg.boolean("causal", false);  // both read: each is a known key
    return keras3 || keras2;
  };
  r["Attention"] = [=](const json& c) {
    ConfigReader cfg(c);
    AttentionOptions o;
    o.name = cfg.name();
    o.use_scale = cfg.boolean("use_scale", false);
    o.score_mode = cfg.choice("score_mode", "dot", {"dot", "concat"});
    o.dropout = dropout_rate(cfg);
    o.use_causal_mask = causal(cfg);
    cfg.require_value("return_attention_scores", false);
    cfg.ignore({"seed"});
    return cfg.finish(std::make_shared<Attention>(o));
  };
  r["AdditiveAttention"] = [=](const json& c) {
    ConfigReader cfg(c);
    AdditiveAttentionOptions o;
    o.name = cfg.name();
    o.use_scale = cfg.boolean("use_scale", true);
    o.dropout = dropout_rate(cfg);
    o.use_causal_mask = causal(cfg);
    cfg.require_value("return_attention_scores", false);
    // Keras accepts score_mode here and ignores it (the scores are always additive).
    cfg.choice("score_mode", "dot", {"dot", "concat"});
    cfg.ignore({"seed"});
    return cfg.finish(std::make_shared<AdditiveAttention>(o));
  };
  r["TimeDistributed"] = [](const json& c) {
    ConfigReader cfg(c);
    LayerPtr layer = wrapped_layer(cfg, "layer");
    return cfg.finish(std::make_shared<TimeDistributed>(layer, cfg.name()));
  };
  r["Bidirectional"] = [](const json& c) {
    ConfigReader cfg(c);
    BidirectionalOptions o;
    o.name = cfg.name();
    // Keras' merge_mode=None (null): the two directions as two outputs.
    (void)cfg.find("merge_mode");  // read, also when null
    o.merge_mode = c.contains("merge_mode") && c["merge_mode"].is_null()
                       ? "none"
                       : cfg.choice("merge_mode", "concat", {"concat", "sum", "mul", "ave"});
    LayerPtr layer = wrapped_layer(cfg, "layer");
    if (cfg.has("backward_layer")) o.backward_layer = wrapped_layer(cfg, "backward_layer");
    try {
      return cfg.finish(std::make_shared<Bidirectional>(layer, o));
    } catch (const ConfigError& e) {
      throw ConfigError(cfg.path() + ": " + e.what());
    }
  };
  r["SimpleRNN"] = recurrent(RNN::Cell::simple);
  r["LSTM"] = recurrent(RNN::Cell::lstm);
  r["GRU"] = recurrent(RNN::Cell::gru);
}

}  // namespace fitrun
