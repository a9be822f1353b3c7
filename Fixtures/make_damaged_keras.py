"""Keras .h5 files whose output layer is damaged (Fixtures/keras/damaged/): ckptforget must refuse
to edit them (exit 2, naming the layer and what disagrees) instead of editing another layer.

A tiny Keras model, Sequential Dense(4 -> 3, relu, name "hidden") -> Dense(3 -> 2, softmax, name
"output"), saved with model.save(..., .h5) by Keras 3 (the legacy full-model format), then broken
one way per copy with h5py:

    no_kernel.h5        the output kernel dataset deleted (weight_names still lists it)
    kernel_1d.h5        the output kernel replaced by a 1-D array of 6 values
    kernel_string.h5    the output kernel replaced by a string dataset
    unlisted_kernel.h5  the output kernel left out of the layer's weight_names
    bias_length.h5      the output bias replaced by 5 values (the kernel has 2 units)
    int_kernel.h5       the output kernel replaced by int32 values
    units_mismatch.h5   kernel (3, 5) and bias (5,) where the model_config says 2 units

Run: python3 Fixtures/make_damaged_keras.py (Keras 3 with any backend; JAX here).
"""
import os
import pathlib
import shutil

os.environ.setdefault("KERAS_BACKEND", "jax")
import h5py
import keras
import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "keras" / "damaged"


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu", name="hidden"),
                              keras.layers.Dense(2, activation="softmax", name="output")])
    base = OUT / "base.h5"
    model.save(base)
    with h5py.File(base, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights/output"].attrs["weight_names"]]
    kernel_name = next(n for n in names if n.endswith("kernel"))
    kernel, bias = f"model_weights/output/{kernel_name}", f"model_weights/output/{next(n for n in names if n.endswith('bias'))}"

    def replace(f, path, value):
        del f[path]
        f[path] = value

    breakages = {
        "no_kernel.h5": lambda f: f.__delitem__(kernel),
        "kernel_1d.h5": lambda f: replace(f, kernel, np.ones(6, np.float32)),
        "kernel_string.h5": lambda f: replace(f, kernel, "not a kernel"),
        "unlisted_kernel.h5": lambda f: f["model_weights/output"].attrs.__setitem__(
            "weight_names", np.array([n for n in names if n != kernel_name], dtype=h5py.string_dtype())),
        "bias_length.h5": lambda f: replace(f, bias, np.zeros(5, np.float32)),
        "int_kernel.h5": lambda f: replace(f, kernel, np.ones((3, 2), np.int32)),
        "units_mismatch.h5": lambda f: (replace(f, kernel, np.ones((3, 5), np.float32)), replace(f, bias, np.zeros(5, np.float32))),
    }
    for name, breakage in breakages.items():
        shutil.copy(base, OUT / name)
        with h5py.File(OUT / name, "r+") as f:
            breakage(f)
        print(name, (OUT / name).stat().st_size, "bytes")
    base.unlink()
    print("keras", keras.__version__, "h5py", h5py.__version__)


if __name__ == "__main__":
    main()
