#!/usr/bin/env python3
"""Writes vision_golden.json: Keras 3 outputs of the vision layers for fixed inputs and weights.

    KERAS_BACKEND=jax python3 tests/data/vision_golden.py   # needs keras>=3 and jax

Each case holds the layer's class name and Keras' own get_config(), the input, the weights (in
layer.weights order) and Keras' output; BatchNormalization cases also hold the moving
statistics after a training call. tests/layers/test_vision_golden.cpp builds each layer from
the config through fitrun's registry, loads the weights and compares.
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

rng = np.random.default_rng(2024)
cases = []


def arr(a):
    a = np.asarray(a, dtype=np.float32)
    # The shortest decimal of each float32 (exact when read back as float32).
    return {"shape": list(a.shape), "data": [float(str(v)) for v in a.reshape(-1)]}


def add(layer, shape, training=False, weights=None, note=""):
    x = rng.uniform(-1, 1, size=shape).astype(np.float32)
    layer.build(shape)
    if weights is None:
        weights = [rng.uniform(-0.8, 0.8, size=w.shape).astype(np.float32) for w in layer.weights]
    layer.set_weights(weights)
    y = np.asarray(layer(x, training=training))
    case = {"class_name": layer.__class__.__name__, "config": layer.get_config(), "note": note,
            "training": training, "input": arr(x), "weights": [arr(w) for w in weights],
            "output": arr(y)}
    if training and isinstance(layer, keras.layers.BatchNormalization):
        case["weights_after"] = [arr(np.asarray(w)) for w in layer.weights]
    cases.append(case)


L = keras.layers
add(L.Conv2D(3, (3, 2), strides=(2, 1), padding="same", activation="relu"), (2, 5, 4, 2))
add(L.Conv2D(4, 3, padding="same", dilation_rate=2, groups=2), (1, 6, 6, 4))
add(L.Conv2D(2, 4, strides=2, padding="same", activation="tanh"), (1, 5, 5, 1), note="even kernel")
add(L.Conv2D(2, 3, strides=3, padding="valid", use_bias=False), (1, 8, 7, 3))
add(L.Conv1D(2, 3, padding="causal", dilation_rate=2), (2, 7, 2))
add(L.Conv1D(3, 2, strides=2, padding="same"), (1, 7, 2))
add(L.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same"), (1, 5, 5, 2))
add(L.SeparableConv2D(3, 3, depth_multiplier=2, padding="same", activation="sigmoid"), (1, 4, 5, 2))
add(L.Conv2DTranspose(2, 3, strides=2, padding="same"), (1, 3, 3, 2))
add(L.Conv2DTranspose(2, 3, strides=2, padding="valid"), (1, 3, 2, 2))
add(L.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1), (1, 3, 3, 2))
add(L.Conv2DTranspose(2, 2, strides=2, padding="valid"), (1, 2, 3, 3))
add(L.Conv2DTranspose(2, 3, dilation_rate=2, padding="same"), (1, 4, 4, 2))
add(L.Conv2DTranspose(2, (4, 3), strides=(2, 3), padding="same"), (1, 3, 2, 2))
add(L.MaxPooling2D(3, strides=2, padding="same"), (1, 5, 6, 2))
add(L.AveragePooling2D(3, strides=2, padding="same"), (1, 5, 6, 2))
add(L.AveragePooling2D(2, strides=1, padding="same"), (1, 3, 3, 1))
add(L.MaxPooling1D(3, strides=2, padding="same"), (1, 8, 2))
add(L.AveragePooling1D(2), (2, 7, 3))
add(L.GlobalAveragePooling2D(keepdims=True), (2, 3, 4, 2))
add(L.GlobalMaxPooling1D(), (2, 5, 3))
bn_weights = lambda c: [rng.uniform(0.5, 1.5, c), rng.uniform(-0.5, 0.5, c),  # noqa: E731
                        rng.uniform(-0.5, 0.5, c), rng.uniform(0.5, 1.5, c)]
add(L.BatchNormalization(), (4, 3, 3, 2), training=True, weights=bn_weights(2))
add(L.BatchNormalization(momentum=0.9, epsilon=1e-2), (5, 3), training=True, weights=bn_weights(3))
add(L.BatchNormalization(), (2, 3, 3, 2), training=False, weights=bn_weights(2))
add(L.LayerNormalization(), (2, 3, 5), training=True)
add(L.ZeroPadding2D(((1, 0), (2, 1))), (1, 2, 3, 2))
add(L.Cropping2D(((1, 0), (0, 2))), (1, 4, 4, 2))
add(L.UpSampling2D((2, 3)), (1, 2, 2, 2))
add(L.Permute((3, 1, 2)), (2, 2, 3, 4))
add(L.RepeatVector(3), (2, 4))

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "vision_golden.json"), "w") as f:
    json.dump({"keras": keras.__version__, "backend": keras.backend.backend(), "cases": cases}, f,
              separators=(",", ":"))
print(f"{len(cases)} cases, keras {keras.__version__} ({keras.backend.backend()})")
