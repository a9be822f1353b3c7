"""What the fixture scripts share: the MNIST test set (IDX, gzipped), the tool versions they
record, an independent safetensors reader, and the fixture MLP.

Imported by make_fixtures.py, make_snapshot_fixtures.py, make_engine_fixtures.py and
check_outputs.py (they run as `python3 Fixtures/NAME.py`, so this folder is on sys.path).
Keras, JAX, h5py and safetensors are imported where used, so check_outputs.py can start
without them.
"""
import gzip
import os
import sys
from pathlib import Path

import numpy as np

MNIST_DIR = Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parents[2] / "shared/data/mnist"))


def read_idx(path):
    """An unsigned-byte IDX file (magic 0x0000 08 dd) as a uint8 array of its dd dimensions."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert data[0] == 0 and data[1] == 0 and data[2] == 0x08, f"bad IDX magic in {path}"
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def mnist_test(mnist_dir=None):
    """The 10,000 MNIST test images as uint8 (10000, 28, 28) and their labels as int64 (10000,)."""
    d = Path(mnist_dir or MNIST_DIR)
    x = read_idx(d / "t10k-images-idx3-ubyte.gz")
    y = read_idx(d / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)
    return x, y


def mnist_test_flat(mnist_dir=None):
    """The test images as float32 (10000, 784) scaled by 1/255, and the labels."""
    x, y = mnist_test(mnist_dir)
    return x.reshape(-1, 784).astype(np.float32) / 255.0, y


def versions(safetensors=False):
    """The versions of the tools that wrote a fixture, for its description."""
    import h5py
    import jax
    import keras
    found = {
        "python": sys.version.split()[0],
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "jax": jax.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
    }
    if safetensors:
        import safetensors as st
        found["safetensors"] = st.__version__
    found["numpy"] = np.__version__
    return found


def read_safetensors_raw(path):
    """Minimal independent reader: {name: (dtype, shape, raw bytes)}."""
    import json
    import struct
    b = Path(path).read_bytes()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    hdr.pop("__metadata__", None)
    data = b[8 + n:]
    return {k: (v["dtype"], tuple(v["shape"]), data[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in hdr.items()}


def build_mlp():
    """The fixture MLP: Input(784) -> Dense(32, relu, "hidden") -> Dense(10, softmax, "output")."""
    import keras
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ],
        name="mnist_mlp",
    )
