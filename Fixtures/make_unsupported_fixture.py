#!/usr/bin/env python3
"""A Keras model with a layer the engine does not run, written by Keras itself.

    python3 Fixtures/make_unsupported_fixture.py

keras/groupnorm_mlp.h5: Input(8) -> Dense(4) -> GroupNormalization(groups=2, name="norm") -> Dense(3, softmax),
untrained (seed 2), saved with model.save (legacy HDF5, no optimizer). (It held a
LayerNormalization until the engine ran those.)
"""
import os
import warnings
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
import keras  # noqa: E402

keras.utils.set_random_seed(2)
model = keras.Sequential([
    keras.Input(shape=(8,)),
    keras.layers.Dense(4, activation="relu", name="fc"),
    keras.layers.GroupNormalization(groups=2, name="norm"),
    keras.layers.Dense(3, activation="softmax", name="out"),
], name="groupnorm_mlp")
path = Path(__file__).resolve().parent / "keras" / "groupnorm_mlp.h5"
path.unlink(missing_ok=True)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    model.save(path, include_optimizer=False)
print("wrote", path)
