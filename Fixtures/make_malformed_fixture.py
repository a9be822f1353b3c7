#!/usr/bin/env python3
"""A Keras model file whose weights do not fit its own config, for the engine's shape checks.

    python3 Fixtures/make_malformed_fixture.py

keras/bad_bias_mlp.h5: Input(8) -> Dense(4, relu, name="fc") -> Dense(3, softmax, name="out"),
untrained (seed 3), saved by Keras with model.save (legacy HDF5, no optimizer); then h5py replaces
fc's bias (4 values) with one of 6 values, as a broken converter might write it.
"""
import os
import warnings
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

keras.utils.set_random_seed(3)
model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(4, activation="relu", name="fc"),
    keras.layers.Dense(3, activation="softmax", name="out"),
], name="bad_bias_mlp")
path = Path(__file__).resolve().parent / "keras" / "bad_bias_mlp.h5"
path.unlink(missing_ok=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.save(path, include_optimizer=False)
with h5py.File(path, "r+") as f:
    names = []
    f["model_weights/fc"].visit(names.append)
    bias = next(f"model_weights/fc/{n}" for n in names if n.endswith("bias") and isinstance(f[f"model_weights/fc/{n}"], h5py.Dataset))
    del f[bias]
    f.create_dataset(bias, data=np.arange(6, dtype=np.float32))
    print("replaced", bias, "with 6 values")
print("wrote", path)
