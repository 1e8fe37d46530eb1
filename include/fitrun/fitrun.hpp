#pragma once
// fitrun: Keras-style deep learning training in C++ on oneDNN (CPU) and cuDNN (GPU).
//
//   #include <fitrun/fitrun.hpp>
//   using namespace fitrun;
//   using namespace fitrun::layers;
//   Sequential model({Input({64}), Dense(64, "relu"), Dense(10)});
//   model.compile("adam", losses::SparseCategoricalCrossentropy({.from_logits = true}),
//                 {"accuracy"});
//   model.fit(x, y, {.batch_size = 32, .epochs = 10, .validation_split = 0.1});
#include "fitrun/activation.hpp"
#include "fitrun/callbacks/callback.hpp"
#include "fitrun/callbacks/history.hpp"
#include "fitrun/callbacks/progbar_logger.hpp"
#include "fitrun/datasets/csv.hpp"
#include "fitrun/device.hpp"
#include "fitrun/dtype.hpp"
#include "fitrun/error.hpp"
#include "fitrun/initializers.hpp"
#include "fitrun/io/compile_config.hpp"
#include "fitrun/io/model_config.hpp"
#include "fitrun/io/saving.hpp"
#include "fitrun/json.hpp"
#include "fitrun/keras_tensor.hpp"
#include "fitrun/layer.hpp"
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
#include "fitrun/layers/spatial.hpp"
#include "fitrun/layers/spatial_dropout.hpp"
#include "fitrun/losses/loss.hpp"
#include "fitrun/metrics/metric.hpp"
#include "fitrun/model.hpp"
#include "fitrun/ops.hpp"
#include "fitrun/optimizers/optimizer.hpp"
#include "fitrun/random.hpp"
#include "fitrun/runtime.hpp"
#include "fitrun/sequential.hpp"
#include "fitrun/shape.hpp"
#include "fitrun/tensor.hpp"
#include "fitrun/tensor_list.hpp"
#include "fitrun/testing.hpp"
#include "fitrun/version.hpp"
