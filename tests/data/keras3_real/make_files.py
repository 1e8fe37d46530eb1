# Writes the files of this folder with real Keras (3.15.1, jax backend on the CPU):
#   KERAS_BACKEND=jax python make_files.py
# They check that fitrun reads what Keras writes: a legacy .h5 with optimizer state, a
# .weights.h5, and to_json() output, with Keras' own predictions to compare against.
import os, sys, json
os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np
import keras
keras.utils.set_random_seed(7)
out = os.path.dirname(os.path.abspath(__file__))

# Layers made of sub-objects: Keras 3's .weights.h5 nests their variables by the object tree
# (lstm/cell/vars, bidirectional/forward_layer/cell/vars, time_distributed/layer/vars,
# multi_head_attention/query_dense/vars, ...). Run alone with `python make_files.py seq`.
def seq_layers():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = keras.Input((5, 3), name="x")
    h = keras.layers.LSTM(4, return_sequences=True, name="lstm")(x)
    h = keras.layers.GRU(4, return_sequences=True, name="gru")(h)
    h = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True), name="bidirectional")(h)
    h = keras.layers.TimeDistributed(keras.layers.Dense(4), name="time_distributed")(h)
    h = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, name="multi_head_attention")(h, h)
    y = keras.layers.SimpleRNN(2, name="simple_rnn")(h)
    m = keras.Model(x, y, name="k3_seq_layers")
    # Non-zero biases, so that a bias read into the wrong place shows.
    for w in m.weights:
        w.assign(w.numpy() + rng.normal(scale=0.1, size=w.shape).astype("float32"))
    m.save_weights(out + "/k3_seq_layers.weights.h5")
    open(out + "/k3_seq_layers.json", "w").write(m.to_json())
    xs = rng.normal(size=(2, 5, 3)).astype("float32")
    json.dump({"x": xs.tolist(), "y": m.predict(xs, verbose=0).tolist()},
              open(out + "/k3_seq_layers_expected.json", "w"))

if sys.argv[1:] == ["seq"]:
    seq_layers(); sys.exit()

a = keras.Input((4,), name="a"); b = keras.Input((3,), name="b")
da = keras.layers.Dense(5, activation="relu", name="da")(a)
db = keras.layers.Dense(5, name="db")(b)
s = keras.layers.Add(name="add")([da, db])
c = keras.layers.Concatenate(name="cat")([s, a])
h = keras.layers.LeakyReLU(negative_slope=0.2, name="leaky")(c)
h = keras.layers.Reshape((3, 3), name="reshape")(h)
h = keras.layers.Flatten(name="flatten")(h)
h = keras.layers.Dropout(0.1, name="drop")(h)
y = keras.layers.Dense(2, activation="softmax", name="out")(h)
fn = keras.Model([a, b], y, name="k3_functional")
fn.compile(keras.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
rng = np.random.default_rng(0)
xa = rng.normal(size=(64, 4)).astype("float32"); xb = rng.normal(size=(64, 3)).astype("float32")
yl = (xa[:, 0] + xb[:, 0] > 0).astype("int32")
fn.fit([xa, xb], yl, batch_size=16, epochs=1, verbose=0, shuffle=False)
fn.save(out + "/k3_functional.h5")
open(out + "/k3_functional.json", "w").write(fn.to_json())
px = [xa[:4].tolist(), xb[:4].tolist()]
json.dump({"x": px, "y": fn.predict([xa[:4], xb[:4]], verbose=0).tolist(),
           "iterations": int(fn.optimizer.iterations.numpy())}, open(out + "/k3_functional_expected.json", "w"))

seq = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)], name="k3_sequential")
seq.compile("sgd", "mse")
xs = rng.normal(size=(4, 6)).astype("float32")
seq.save_weights(out + "/k3_sequential.weights.h5")
open(out + "/k3_sequential.json", "w").write(seq.to_json())
json.dump({"x": xs.tolist(), "y": seq.predict(xs, verbose=0).tolist()}, open(out + "/k3_sequential_expected.json", "w"))

# A Sequential shared by two calls, one of which depends on a later Dense: Keras lists the layers
# by depth (z, dense, seqin, add), not in call order.
keras.utils.set_random_seed(1)
seqin = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, name="proj")], name="seqin")
z = keras.Input((6,), name="z")
d = keras.layers.Dense(6, name="pre")
withseq = keras.Model(z, keras.layers.Add(name="sum")([seqin(z), seqin(d(z))]), name="withseq")
withseq.save(out + "/k3_withseq.h5")
xw = rng.normal(size=(3, 6)).astype("float32")
json.dump({"x": xw.tolist(), "y": withseq.predict(xw, verbose=0).tolist()},
          open(out + "/k3_withseq_expected.json", "w"))

seq_layers()
