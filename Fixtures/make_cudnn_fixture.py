#!/usr/bin/env python3
"""Keras 2's CuDNNLSTM, written by Keras 2 itself (tf_keras), for the engine's mapping of its weights
to an LSTM:

  graph/cudnn_text.h5       legacy .h5 (model.save) of Input((10,), int32) -> Embedding(40, 6)
                            -> Bidirectional(CuDNNLSTM(5, return_sequences)) -> CuDNNLSTM(7,
                            go_backwards) -> Dense(4, softmax); weights drawn from N(0, 0.4), the
                            head's kernel from N(0, 2) and its bias 0, so the predictions spread
                            over the classes (Keras' initial CuDNNLSTM biases are zeros and 1s,
                            which would hide a wrong bias mapping). The file holds cuDNN's layout: biases of 8 x units values.
  graph/cudnn_text_data.h5  16 samples: x (16, 10) int32 tokens in 1..39, y (16,) int64, probs
                            (16, 4) float32 and fisher/exact/<tensor>, fisher/batch8/<tensor>
                            (float64), as the other graph fixtures' data files.
  graph/cudnn_text_huge_units.h5, graph/cudnn_text_wide_kernel.h5
                            hostile copies made with h5py: rnn_2's config declares 2^62 units; rnn_2's
                            kernel is an empty chunked int8 dataset 2^62 wide.

The references come from Keras 2 too: the same architecture with LSTM(recurrent_activation sigmoid)
in place of each CuDNNLSTM, built in float64, loads the file with `load_weights`, which converts
CuDNNLSTM weights as Keras 2 does for such files (`_convert_rnn_weights`); its predictions are
`probs`. The Fisher diagonals are TensorFlow's gradients of -log(clip(p_y, 1e-7, 1 - 1e-7)) on that
float64 twin (exact: per sample, squared, mean over samples; batch8: per mini-batch of 8 of the
batch-mean loss, squared, mean over batches), moved into the file's layout with the permutation
that Keras 2's own loading applies to index arrays (`preprocess_weights_for_loading`, which calls
`_convert_rnn_weights` on each recurrent layer, on np.arange), each bias half getting its sum's
gradient. CuDNNLSTM cannot run without a GPU; only its weights are used.

Needs TensorFlow and tf_keras, which the project's other fixtures do not (install them apart, e.g.
`python3 -m venv tfenv && tfenv/bin/pip install tensorflow-cpu tf_keras h5py`):

    tfenv/bin/python Fixtures/make_cudnn_fixture.py
"""
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CUDA_VISIBLE_DEVICES"] = ""
import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
from tf_keras.src.layers.rnn.cudnn_lstm import CuDNNLSTM  # noqa: E402
from tf_keras.src.saving.legacy import hdf5_format  # noqa: E402

OUT = Path(__file__).resolve().parent / "graph"
VOCAB, LENGTH, CLASSES, SAMPLES, BATCH, CLIP = 40, 10, 4, 16, 8, 1e-7


def build(recurrent):
    inputs = keras.Input((LENGTH,), dtype="int32")
    h = keras.layers.Embedding(VOCAB, 6, name="embedding")(inputs)
    h = keras.layers.Bidirectional(recurrent(5, return_sequences=True, name="rnn_1"), name="bidirectional")(h)
    h = recurrent(7, go_backwards=True, name="rnn_2")(h)
    outputs = keras.layers.Dense(CLASSES, activation="softmax", name="dense")(h)
    return keras.Model(inputs, outputs, name="cudnn_text")


def lstm(units, **options):
    return keras.layers.LSTM(units, recurrent_activation="sigmoid", **options)


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)


def file_names(path):
    """{layer: [dataset path of each weight, in the layer's weight order]} from the legacy file."""
    with h5py.File(path, "r") as f:
        group = f["model_weights"]
        return {layer: [f"model_weights/{layer}/{n.decode() if isinstance(n, bytes) else n}"
                        for n in group[layer].attrs["weight_names"]] for layer in group.attrs["layer_names"].astype(str)}


def to_file_layout(layer, gradients):
    """A twin layer's gradients (LSTM layout) in the CuDNN file's layout, by Keras 2's own loading
    applied to index arrays; each bias half gets the gradient of the sum."""
    cudnn = [np.arange(g.size * (2 if i % 3 == 2 else 1), dtype=np.float64).reshape(
        (2 * g.shape[0],) if i % 3 == 2 else g.shape) for i, g in enumerate(gradients)]
    # What load_weights calls on each layer's weights (a Bidirectional's halves go to its two layers).
    converted = hdf5_format.preprocess_weights_for_loading(layer, cudnn, original_keras_version="2.21.0", original_backend="tensorflow")
    out = []
    for i, (g, index) in enumerate(zip(gradients, converted)):
        if i % 3 == 2:
            out.append(np.concatenate([g, g]))
            continue
        placed = np.zeros(g.size)
        placed[index.astype(np.int64).ravel()] = g.ravel()
        check(np.array_equal(np.sort(index.ravel()), np.arange(g.size)) and not np.array_equal(index.ravel(), np.arange(g.size)),
              f"{layer.name}: the converter permutes weight {i}, and not as the identity")
        out.append(placed.reshape(g.shape))
    return out


def main():
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(7)
    model = build(CuDNNLSTM)
    for layer in model.layers:
        if layer.weights:
            scale = 2.0 if layer.name == "dense" else 0.4  # a head that spreads the predictions over the classes
            layer.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in layer.get_weights()])
    model.get_layer("dense").set_weights([model.get_layer("dense").get_weights()[0], np.zeros(CLASSES, np.float32)])
    path = OUT / "cudnn_text.h5"
    model.save(path)
    names = file_names(path)
    with h5py.File(path, "r") as f:
        bias = f[names["rnn_2"][2]]
        check(bias.shape == (56,), f"rnn_2's bias in the file has cuDNN's 8 x 7 values: {bias.shape}")
        config = f.attrs["model_config"]
        check(b"CuDNNLSTM" in (config if isinstance(config, bytes) else config.encode()), "model_config names CuDNNLSTM")

    keras.backend.set_floatx("float64")
    twin = build(lstm)
    twin.load_weights(path)
    file_bias = model.get_layer("rnn_2").get_weights()[2].astype(np.float64)
    check(np.allclose(twin.get_layer("rnn_2").get_weights()[2], file_bias[:28] + file_bias[28:]), "load_weights added the bias halves")

    x = rng.integers(1, VOCAB, (SAMPLES, LENGTH)).astype(np.int32)
    y = rng.integers(0, CLASSES, SAMPLES).astype(np.int64)
    probs = twin.predict(x, batch_size=SAMPLES, verbose=0)
    check(probs.min() > 1e-6 and probs.max() < 1 - 1e-6, f"no probability near the clip ({probs.min():.2e}..{probs.max():.4f})")

    def gradients(xs, ys):
        with tf.GradientTape() as tape:
            p = twin(xs, training=False)
            py = tf.gather(p, ys, batch_dims=1)
            loss = -tf.reduce_mean(tf.math.log(tf.clip_by_value(py, CLIP, 1 - CLIP)))
        return [np.asarray(tf.convert_to_tensor(g)) for g in tape.gradient(loss, twin.trainable_weights)]

    exact = [np.zeros(w.shape) for w in twin.trainable_weights]
    for s in range(SAMPLES):
        for acc, g in zip(exact, gradients(x[s:s + 1], y[s:s + 1])):
            acc += g ** 2
    exact = [e / SAMPLES for e in exact]
    batch = [np.zeros(w.shape) for w in twin.trainable_weights]
    for start in range(0, SAMPLES, BATCH):
        for acc, g in zip(batch, gradients(x[start:start + BATCH], y[start:start + BATCH])):
            acc += g ** 2
    batch = [b / (SAMPLES // BATCH) for b in batch]

    data = OUT / "cudnn_text_data.h5"
    with h5py.File(data, "w", libver=("earliest", "v108")) as f:
        f.create_dataset("x", data=x)
        f.create_dataset("y", data=y)
        f.create_dataset("probs", data=probs.astype(np.float32))
        position = 0
        for layer in twin.layers:
            count = len(layer.trainable_weights)
            if not count:
                continue
            e, b = exact[position:position + count], batch[position:position + count]
            position += count
            if layer.name in ("bidirectional", "rnn_2"):
                e, b = to_file_layout(layer, e), to_file_layout(layer, b)
            for tensor, ev, bv in zip(names[layer.name], e, b):
                f.create_dataset(f"fisher/exact/{tensor}", data=ev)
                f.create_dataset(f"fisher/batch8/{tensor}", data=bv)
        check(position == len(exact), f"{position} trainable tensors written")
    # Two hostile copies (h5py only) whose sizes once overflowed Swift arithmetic: rnn_2's config
    # declaring 2^62 units, and rnn_2's kernel replaced by an empty chunked int8 dataset 2^62 wide.
    huge_units = OUT / "cudnn_text_huge_units.h5"
    shutil.copy(path, huge_units)
    with h5py.File(huge_units, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["config"].get("name") == "rnn_2":
                layer["config"]["units"] = 2 ** 62
        f.attrs["model_config"] = json.dumps(config)
    wide_kernel = OUT / "cudnn_text_wide_kernel.h5"
    shutil.copy(path, wide_kernel)
    with h5py.File(wide_kernel, "r+") as f:
        group = f[names["rnn_2"][0].rsplit("/", 1)[0]]
        leaf = names["rnn_2"][0].rsplit("/", 1)[1]
        del group[leaf]
        group.create_dataset(leaf, shape=(1, 2 ** 62), dtype="i1", chunks=(1, 1024))
    print(f"wrote {path} ({path.stat().st_size} bytes) and {data} ({data.stat().st_size} bytes); "
          f"tf_keras {keras.__version__}, TensorFlow {tf.__version__}; argmax classes {np.bincount(probs.argmax(1), minlength=CLASSES).tolist()}")


if __name__ == "__main__":
    main()
