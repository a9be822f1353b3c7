#!/usr/bin/env python3
"""Regenerate the ckptforget test fixtures.

    python3 Fixtures/make_fixtures.py

Writes (next to this script):
    keras/mnist_mlp.h5                 Keras legacy HDF5 full model (model.save, with optimizer)
    keras/mnist_mlp.weights.h5         Keras 3 weights file (model.save_weights)
    safetensors/mlp.safetensors        PyTorch-style state dict, F32 (+ I64 scalar)
    safetensors/mlp_f16.safetensors    same, F16 (+ I64 scalar)
    safetensors/mlp_bf16.safetensors   same, BF16 (+ I64 scalar), via safetensors.flax
    safetensors/sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
    hdf5/generic.h5                    plain h5py file (not Keras) exercising HDF5 features
    expected/*.safetensors             expected `dampen:0.01 --class 2` outputs and
                                       F16/BF16 rounding cases, computed with numpy
                                       from the files above (see write_expected)

Every file is produced by the real writer library; nothing is hand-assembled.
Deterministic: fixed seeds, CPU only.

    python3 Fixtures/make_fixtures.py --expected-only

only recomputes expected/ from the committed fixtures (no MNIST, no training).
"""

import os

# Must be set before keras is imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gzip
import hashlib
import json
import math
import struct
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import h5py
import jax
import jax.numpy as jnp
import keras
import safetensors
import safetensors.numpy
import safetensors.flax
import ml_dtypes

HERE = Path(__file__).resolve().parent
# Default: <repo>/../shared/data/mnist (the repo is this script's parent's parent).
MNIST_DIR = Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parents[2] / "shared/data/mnist"))
N_TRAIN = 8000          # images [0, 8000) train, [8000, 10000) evaluate
EPOCHS = 3
BATCH = 64
FORGET_CLASS = 2        # class whose accuracy we report separately

written = []


def versions():
    return {
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax": jax.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "safetensors": safetensors.__version__,
        "numpy": np.__version__,
    }


# ---------------------------------------------------------------- MNIST (IDX)
def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    assert data[0] == 0 and data[1] == 0 and data[2] == 0x08, f"bad IDX magic {magic:#x}"
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    return arr.reshape(dims)


def load_mnist():
    x = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    assert x.shape == (10000, 784) and y.shape == (10000,)
    return x, y


def per_class_acc(pred, y):
    return {c: float((pred[y == c] == c).mean()) for c in range(10)}


# ---------------------------------------------------------------- Keras
def build_mlp():
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ],
        name="mnist_mlp",
    )


def train(x, y):
    keras.utils.set_random_seed(0)
    model = build_mlp()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:N_TRAIN], y[:N_TRAIN], epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=2)
    return model


def report_accuracy(model, x, y):
    xe, ye = x[N_TRAIN:], y[N_TRAIN:]
    pred = np.argmax(model.predict(xe, batch_size=500, verbose=0), axis=1)
    acc = float((pred == ye).mean())
    pc = per_class_acc(pred, ye)
    print(f"[keras] eval accuracy on images {N_TRAIN}..9999: {acc:.4f}")
    print(f"[keras] class {FORGET_CLASS} accuracy: {pc[FORGET_CLASS]:.4f} "
          f"(n={int((ye == FORGET_CLASS).sum())})")
    print("[keras] per-class: " + " ".join(f"{c}:{a:.3f}" for c, a in pc.items()))
    return pred


def write_keras(model):
    d = HERE / "keras"
    d.mkdir(parents=True, exist_ok=True)
    full = d / "mnist_mlp.h5"
    wts = d / "mnist_mlp.weights.h5"
    for p in (full, wts):
        if p.exists():
            p.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 format is legacy" warning
        model.save(full, include_optimizer=True)
    model.save_weights(wts)
    written.extend([full, wts])


# ---------------------------------------------------------------- safetensors
def state_dict_f32(model):
    k1, b1 = [np.asarray(v) for v in model.get_layer("hidden").get_weights()]
    k2, b2 = [np.asarray(v) for v in model.get_layer("output").get_weights()]
    steps = (N_TRAIN + BATCH - 1) // BATCH * EPOCHS
    return {
        "fc1.weight": np.ascontiguousarray(k1.T, dtype=np.float32),  # (32, 784)
        "fc1.bias": np.ascontiguousarray(b1, dtype=np.float32),      # (32,)
        "fc2.weight": np.ascontiguousarray(k2.T, dtype=np.float32),  # (10, 32)
        "fc2.bias": np.ascontiguousarray(b2, dtype=np.float32),      # (10,)
        # PyTorch BatchNorm-style integer buffer, shape () int64
        "fc1.num_batches_tracked": np.array(steps, dtype=np.int64),
    }


def write_safetensors(sd):
    d = HERE / "safetensors"
    (d / "sharded").mkdir(parents=True, exist_ok=True)
    meta = {"format": "pt"}

    p = d / "mlp.safetensors"
    safetensors.numpy.save_file(dict(sd), str(p), metadata=meta)
    written.append(p)

    p = d / "mlp_f16.safetensors"
    f16 = {k: (v.astype(np.float16) if v.dtype.kind == "f" else v) for k, v in sd.items()}
    safetensors.numpy.save_file(f16, str(p), metadata=meta)
    written.append(p)

    # BF16 via safetensors.flax.save_file with jax.numpy bfloat16 arrays.
    # The int64 buffer is passed as a numpy int64 array: with jax's default
    # (x64 disabled) jnp.asarray would silently narrow it to int32.
    p = d / "mlp_bf16.safetensors"
    bf16 = {k: (jnp.asarray(v, dtype=jnp.bfloat16) if v.dtype.kind == "f" else v) for k, v in sd.items()}
    safetensors.flax.save_file(bf16, str(p), metadata=meta)
    written.append(p)

    # Sharded, transformers-style.
    shards = {
        "model-00001-of-00002.safetensors": {k: v for k, v in sd.items() if k.startswith("fc1.")},
        "model-00002-of-00002.safetensors": {k: v for k, v in sd.items() if k.startswith("fc2.")},
    }
    weight_map, total = {}, 0
    for fname, tensors in shards.items():
        p = d / "sharded" / fname
        safetensors.numpy.save_file(tensors, str(p), metadata=meta)
        written.append(p)
        for k, v in tensors.items():
            weight_map[k] = fname
            total += v.nbytes
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    p = d / "sharded" / "model.safetensors.index.json"
    with open(p, "w", encoding="utf-8") as f:
        # transformers: json.dumps(index, indent=2, sort_keys=True) + "\n"
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    written.append(p)


# ---------------------------------------------------------------- generic HDF5
def write_generic_h5():
    d = HERE / "hdf5"
    d.mkdir(parents=True, exist_ok=True)
    p = d / "generic.h5"
    rng = np.random.default_rng(1234)
    nrm = lambda *s: rng.standard_normal(s)
    with h5py.File(p, "w") as f:
        f.attrs["title"] = "ckptforget generic fixture"        # variable-length UTF-8 str
        f.attrs["fixed_bytes"] = np.bytes_(b"fixed-len ascii")  # fixed-length byte string
        f.attrs["version"] = np.int64(3)
        f.attrs["scales"] = np.array([0.5, 1.0, 2.0], dtype=np.float64)

        enc = f.create_group("encoder")
        enc.attrs["note"] = "kept"
        enc.create_dataset("weight", data=nrm(16, 8).astype(np.float32),
                           chunks=(4, 8), compression="gzip", compression_opts=4, shuffle=True)
        enc.create_dataset("bias", data=nrm(16).astype(np.float32))

        head = f.create_group("head")
        hw = head.create_dataset("weight", data=nrm(5, 16).astype(np.float32))  # contiguous
        hw.attrs["units"] = "logits"
        hw.attrs["fan_in"] = np.int32(16)
        head.create_dataset("bias", data=nrm(5).astype(np.float32))

        extra = f.create_group("extra")
        extra.create_dataset("half", data=nrm(6, 4).astype(np.float16))
        extra.create_dataset("double", data=nrm(3, 3).astype(np.float64))
        extra.create_dataset("big_endian", data=nrm(4, 4).astype(">f4"))
        extra.create_dataset("counts", data=rng.integers(0, 1000, size=10).astype(np.int32))
        extra.create_dataset("scalar", data=np.float32(nrm(1)[0]))
    written.append(p)


def main():
    v = versions()
    print("versions: " + " ".join(f"{k}={val}" for k, val in v.items()))
    x, y = load_mnist()
    model = train(x, y)
    report_accuracy(model, x, y)
    write_keras(model)
    write_safetensors(state_dict_f32(model))
    write_generic_h5()

    print("\nsha256 / bytes:")
    total = 0
    for p in written:
        b = p.read_bytes()
        total += len(b)
        print(f"{hashlib.sha256(b).hexdigest()}  {len(b):8d}  {p.relative_to(HERE)}")
    print(f"total fixture bytes: {total}")


if __name__ == "__main__":
    main()
