#!/usr/bin/env python3
"""A check of the engine on keras.applications models (developer tool; nothing is committed, the
files are large): MobileNetV2, ResNet50, DenseNet121 and EfficientNetB0 at 32x32x3 with 5 classes
and random weights (BatchNormalization statistics and biases drawn at random), saved by Keras as
a legacy .h5 and a .keras archive, with Keras' predictions and JAX's Fisher diagonals.

    python3 Fixtures/check_applications.py DIR [MODEL ...]     # then:
    CKPTFORGET_APPLICATIONS=DIR swift test --filter ApplicationsTests

Writes DIR/<model>.h5, DIR/<model>.keras and DIR/<model>_data.h5: x (4 samples, float32, normal),
y, probs (Keras' predict), and fisher/batch2/<tensor> (float64, under both the .h5's and the
.keras' tensor names): the mean over the 2 batches of 2 samples of the squared gradient of the
batch-mean loss -log(clip(p_y, 1e-7, 1 - 1e-7)), by jax.grad of model.stateless_call on a float64
copy of the model, as make_graph_fixtures.py computes it (its functions are reused).
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_graph_fixtures as g  # noqa: E402  (sets KERAS_BACKEND=jax and float64 JAX)

keras = g.keras
APPLICATIONS = {
    "mobilenet_v2": lambda: keras.applications.MobileNetV2(input_shape=(32, 32, 3), weights=None, classes=5),
    "resnet50": lambda: keras.applications.ResNet50(input_shape=(32, 32, 3), weights=None, classes=5),
    "densenet121": lambda: keras.applications.DenseNet121(input_shape=(32, 32, 3), weights=None, classes=5),
    "efficientnet_b0": lambda: keras.applications.EfficientNetB0(input_shape=(32, 32, 3), weights=None, classes=5),
}


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    g.OUT = out
    g.SAMPLES, g.BATCH = 4, 2
    for index, name in enumerate(sys.argv[2:] or APPLICATIONS):
        keras.backend.clear_session()
        keras.utils.set_random_seed(20 + index)
        rng = np.random.default_rng(20 + index)
        model = APPLICATIONS[name]()
        g.randomize(model, rng)
        h5, archive = g.save(model, name)
        names = g.tensor_names(model, h5, archive)
        x = rng.normal(size=(4, 32, 32, 3)).astype(np.float32)
        y = rng.integers(0, 5, size=4)
        probs = model.predict(x, verbose=0)
        p64, per_tensor = g.fisher(model, x, y, batch=2)
        g.check(float(np.abs(p64 - probs).max()) < 1e-5, f"{name}: float64 copy vs Keras predict")
        import h5py
        with h5py.File(out / f"{name}_data.h5", "w") as f:
            f.create_dataset("x", data=x)
            f.create_dataset("y", data=y.astype(np.int64))
            f.create_dataset("probs", data=probs.astype(np.float32))
            for variable, _, batch in per_tensor:
                for tensor in names[id(variable)]:
                    f.create_dataset(f"fisher/batch2/{tensor}", data=batch)
        print(f"[{name}] {len(model.layers)} layers, {len(per_tensor)} trainable tensors, classes {sorted(set(probs.argmax(1)))}")


if __name__ == "__main__":
    main()
