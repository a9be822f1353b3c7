#!/usr/bin/env python3
"""Keras 3 `.keras` archives written by Keras itself from the legacy `.h5` fixtures.

    python3 Fixtures/make_keras_archive_fixtures.py      # from anywhere; writes next to this script

Sets KERAS_BACKEND=jax itself. Keras stamps the archive with the time of saving (the
`date_saved` of metadata.json and the zip date of model.weights.h5); the script fixes Keras' clock
at 2026-01-01 00:00:00 UTC while it saves (it patches `datetime` in keras.src.saving.saving_lib and
`time.time`), so two runs give byte-identical files. Prints the sha256 and size of every file.

Writes:
  keras/mnist_mlp.keras           keras.saving.load_model("keras/mnist_mlp.h5").save(...): the MLP of
                                  make_fixtures.py (its optimizer/ holds only Adam's iteration and learning
                                  rate: the legacy loader does not restore the slots); the same weights as mnist_mlp.h5,
                                  so expected/mnist_mlp_dampen0.01_class2.safetensors holds its edit too
  keras/mnist_cnn.keras           load_model("engine/mnist_cnn.h5", compile=False).save(...): the engine's CNN
  keras/mnist_mlp_deflated.keras  mnist_mlp.keras re-zipped by Python's zipfile with metadata.json and
                                  config.json deflated (model.weights.h5 stored, as Keras needs it to be
                                  read in place); Keras loads it
"""
import datetime
import hashlib
import os
import sys
import zipfile
from pathlib import Path
from unittest import mock

os.environ["KERAS_BACKEND"] = "jax"
os.environ["TZ"] = "UTC"
import time  # noqa: E402

time.tzset()

HERE = Path(__file__).resolve().parent
FIXED = datetime.datetime(2026, 1, 1, 0, 0, 0)


class FixedClock(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED


def save_with_fixed_clock(model, path):
    import keras.src.saving.saving_lib as saving_lib
    fixed_datetime = mock.Mock(wraps=datetime)
    fixed_datetime.datetime = FixedClock
    with mock.patch.object(saving_lib, "datetime", fixed_datetime), mock.patch("time.time", return_value=FIXED.timestamp()):
        model.save(path)


def main():
    import keras
    keras.utils.set_random_seed(0)
    out = HERE / "keras"
    written = []
    mlp = keras.saving.load_model(HERE / "keras/mnist_mlp.h5")
    save_with_fixed_clock(mlp, out / "mnist_mlp.keras")
    written.append(out / "mnist_mlp.keras")
    cnn = keras.saving.load_model(HERE / "engine/mnist_cnn.h5", compile=False)
    save_with_fixed_clock(cnn, out / "mnist_cnn.keras")
    written.append(out / "mnist_cnn.keras")

    deflated = out / "mnist_mlp_deflated.keras"
    with zipfile.ZipFile(out / "mnist_mlp.keras") as source, zipfile.ZipFile(deflated, "w") as target:
        for info in source.infolist():
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = zipfile.ZIP_STORED if info.filename.endswith(".h5") else zipfile.ZIP_DEFLATED
            target.writestr(copy, source.read(info))
    written.append(deflated)

    # The archives load back, with the weights of their sources.
    import numpy as np
    for path, source in [(out / "mnist_mlp.keras", mlp), (out / "mnist_cnn.keras", cnn), (deflated, mlp)]:
        loaded = keras.saving.load_model(path)
        assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(loaded.weights, source.weights)), path

    print(f"keras {keras.__version__} ({keras.backend.backend()})")
    for path in written:
        data = Path(path).read_bytes()
        print(f"{hashlib.sha256(data).hexdigest()}  {len(data):7d}  {Path(path).relative_to(HERE)}")


if __name__ == "__main__":
    sys.exit(main())
