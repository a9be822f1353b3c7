#!/usr/bin/env python3
"""Reference fixtures for ckptforget's CPU inference engine (rebuild a Keras model from
the `model_config` of a legacy .h5, run it, compute Fisher diagonals, evaluate metrics).

    python3 Fixtures/make_engine_fixtures.py      # from anywhere; writes Fixtures/engine/

Reads MNIST test images from <repo>/../shared/data/mnist (override: MNIST_DIR). Sets
KERAS_BACKEND=jax itself. Deterministic (CPU, keras.utils.set_random_seed(0)): two runs
give byte-identical files; prints accuracies, every check, and sha256/size of each file.

Writes (Fixtures/engine/):
  mnist_cnn.h5               Sequential "mnist_cnn" (model.save, legacy HDF5, no optimizer):
                             Input(28,28,1) -> Conv2D(6,3,same,relu,"conv1") ->
                             MaxPooling2D(2,"pool1") -> Conv2D(8,3,strides 2,valid,relu,"conv2")
                             -> AveragePooling2D(2,valid,"pool2") -> BatchNormalization("bn")
                             -> Flatten("flatten") -> Dropout(0.25,"drop") ->
                             Dense(24,tanh,"fc") -> Dense(10,"logits") -> Activation(softmax,
                             "softmax"); Adam 1e-3, 2 epochs, batch 64, MNIST test [0,8000)/255
  mnist_mlp_sigmoid.h5       Sequential "mnist_mlp_sigmoid": Input(784) -> Dense(16,sigmoid,"d1")
                             -> Dense(12,linear,"d2") -> Activation(relu,"act") ->
                             Dense(10,softmax,"out"); 1 epoch, same data flattened
  test_data.h5               h5py: x uint8 (200,28,28,1), y int64 (200,) = MNIST test 8000..8199;
                             x_flat uint8 (200,784), labels int32 (200,) (same content)
  predictions.h5             h5py float32 (200,10): cnn, cnn_logits (pre-softmax, sub-model up to
                             "logits"), mlp (Fixtures/keras/mnist_mlp.h5), mlp_sigmoid; inputs are
                             x.astype(float32)/255 (float32 division)
  x_small.npy, y_small.npy   numpy.save: (50,784) float32 = x_flat[:50]/255, (50,) int64
  mnist_head.idx3-ubyte.gz   first 100 images / labels of the real MNIST test IDX files
  mnist_head.idx1-ubyte.gz   (same magic, count = 100), gzip.compress(mtime=0)
  fisher_mlp_exact.h5        statistics file (STATS.md schema), Fixtures/keras/mnist_mlp.h5,
                             exact Fisher forget/retain/full, float64 datasets (those over 64 KiB,
                             the (784,32) kernels, chunked as one chunk with shuffle + gzip 9)
  fisher_mlp_batch64.h5      the same, mode batch, batch_size 64, forget/full
  fisher_cnn_exact.h5        exact Fisher of every trainable tensor of mnist_cnn.h5, forget/full
  metrics_cases.json         hand-checkable classification cases (accuracy, macro P/R/F1,
                             per-class sensitivity/specificity, one-vs-rest ROC AUC, confusion)
  mia_case.json              membership-inference known answer (balanced L2 logistic regression
                             on entropy, solved with Newton's method)

Fisher data: the 200 test_data samples /255 (float32 division, then float64); forget = label 2,
retain = the others, full = all 200; batches in file order. Loss: -log(clip(p_y, 1e-7, 1-1e-7))
of the softmax output p, in float64, on a pure-JAX forward pass checked against Keras first.
"""

import os

# Must be set before keras is imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gzip
import hashlib
import json
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import h5py
import jax
import jax.numpy as jnp
from jax import lax
import keras

HERE = Path(__file__).resolve().parent
OUT = HERE / "engine"
from fixture_common import MNIST_DIR, mnist_test, read_idx, versions  # noqa: E402
MLP_H5 = HERE / "keras" / "mnist_mlp.h5"        # existing fixture (make_fixtures.py)

N_TRAIN = 8000              # MNIST test images [0, 8000) train, [8000, 10000) evaluate
BATCH = 64
TEST_START, TEST_N = 8000, 200
SMALL_N = 50
HEAD_N = 100
FORGET_CLASS = 2
STATS_BATCH = 64
LOSS = "sparse_categorical_crossentropy"
BIG = 64 * 1024             # statistics datasets larger than this are stored gzip-compressed
CLIP_EPS = 1e-7             # keras.config.epsilon(), the clip of sparse_categorical_crossentropy

MLP_NAMES = [  # ckptforget's tensor names (`ckptforget inspect Fixtures/keras/mnist_mlp.h5`)
    "model_weights/hidden/mnist_mlp/hidden/kernel",
    "model_weights/hidden/mnist_mlp/hidden/bias",
    "model_weights/output/mnist_mlp/output/kernel",
    "model_weights/output/mnist_mlp/output/bias",
]
CNN_TRAINABLE = [  # (layer, weight) of every trainable tensor of mnist_cnn; not moving_mean/variance
    ("conv1", "kernel"), ("conv1", "bias"), ("conv2", "kernel"), ("conv2", "bias"),
    ("bn", "gamma"), ("bn", "beta"), ("fc", "kernel"), ("fc", "bias"),
    ("logits", "kernel"), ("logits", "bias"),
]


def cnn_name(layer, weight):
    return f"model_weights/{layer}/mnist_cnn/{layer}/{weight}"


written = []


def check(cond, msg):
    print(f"[check] {'ok  ' if cond else 'FAIL'} {msg}")
    assert cond, msg


# ---------------------------------------------------------------- MNIST (IDX), as make_fixtures.py
def scale(x_u8):
    return x_u8.astype(np.float32) / 255.0   # float32 division, as make_fixtures.py


# ---------------------------------------------------------------- Keras models
L = keras.layers


def build_cnn():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            L.Conv2D(6, 3, padding="same", activation="relu", name="conv1"),
            L.MaxPooling2D(2, name="pool1"),
            L.Conv2D(8, 3, strides=2, padding="valid", activation="relu", name="conv2"),
            L.AveragePooling2D(2, padding="valid", name="pool2"),
            L.BatchNormalization(name="bn"),
            L.Flatten(name="flatten"),
            L.Dropout(0.25, name="drop"),
            L.Dense(24, activation="tanh", name="fc"),
            L.Dense(10, name="logits"),
            L.Activation("softmax", name="softmax"),
        ],
        name="mnist_cnn",
    )


def build_mlp_sigmoid():
    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            L.Dense(16, activation="sigmoid", name="d1"),
            L.Dense(12, activation="linear", name="d2"),
            L.Activation("relu", name="act"),
            L.Dense(10, activation="softmax", name="out"),
        ],
        name="mnist_mlp_sigmoid",
    )


def train(build, x, y, epochs, what):
    keras.backend.clear_session()          # fresh name counters: the InputLayer is "input_layer"
    keras.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss=LOSS, metrics=["accuracy"])
    print(f"[train] {what}: {epochs} epoch(s) on MNIST test images 0..{N_TRAIN - 1}")
    model.fit(x[:N_TRAIN], y[:N_TRAIN], epochs=epochs, batch_size=BATCH, shuffle=True, verbose=2)
    return model


def save_keras(model, path):
    if path.exists():
        path.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 format is legacy"
        model.save(path, include_optimizer=False)
    written.append(path)


def load_keras(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.models.load_model(path, compile=False)


def accuracy(model, x, y, what):
    pred = np.argmax(model.predict(x[N_TRAIN:], batch_size=500, verbose=0), axis=1)
    acc = float((pred == y[N_TRAIN:]).mean())
    c2 = y[N_TRAIN:] == FORGET_CLASS
    print(f"[keras] {what}: accuracy on images {N_TRAIN}..9999 = {acc:.4f} "
          f"(class {FORGET_CLASS}: {float((pred[c2] == FORGET_CLASS).mean()):.4f}, n={int(c2.sum())})")
    return acc


# ---------------------------------------------------------------- simple data files
def write_test_data(x_u8, y):
    xs = x_u8[TEST_START:TEST_START + TEST_N]
    ys = y[TEST_START:TEST_START + TEST_N]
    p = OUT / "test_data.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=xs.reshape(TEST_N, 28, 28, 1).astype(np.uint8))
        f.create_dataset("y", data=ys.astype(np.int64))
        f.create_dataset("x_flat", data=xs.reshape(TEST_N, 784).astype(np.uint8))
        f.create_dataset("labels", data=ys.astype(np.int32))
    written.append(p)
    return xs.reshape(TEST_N, 28, 28, 1), ys


def write_small(x_test_u8, y_test):
    xs = scale(x_test_u8[:SMALL_N].reshape(SMALL_N, 784))
    assert xs.dtype == np.float32
    for name, arr in (("x_small.npy", xs), ("y_small.npy", y_test[:SMALL_N].astype(np.int64))):
        p = OUT / name
        np.save(p, arr)
        written.append(p)


def write_idx_head():
    for src, dst in (("t10k-images-idx3-ubyte.gz", "mnist_head.idx3-ubyte.gz"),
                     ("t10k-labels-idx1-ubyte.gz", "mnist_head.idx1-ubyte.gz")):
        with gzip.open(MNIST_DIR / src, "rb") as f:
            data = f.read()
        ndim = data[3]
        dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        item = int(np.prod(dims[1:], dtype=np.int64)) if ndim > 1 else 1
        header = bytearray(data[:4 + 4 * ndim])
        header[4:8] = HEAD_N.to_bytes(4, "big")
        body = data[4 + 4 * ndim: 4 + 4 * ndim + HEAD_N * item]
        out = bytes(header) + body
        p = OUT / dst
        p.write_bytes(gzip.compress(out, compresslevel=9, mtime=0))
        written.append(p)
        back = read_idx(p)
        full = read_idx(MNIST_DIR / src)
        check(back.shape == (HEAD_N, *dims[1:]) and np.array_equal(back, full[:HEAD_N]),
              f"{dst}: magic {data[:4].hex()}, dims {[HEAD_N, *dims[1:]]}, equals the first {HEAD_N} records")


# ---------------------------------------------------------------- pure-JAX forward passes (float64)
def h5_weights(path, names):
    with h5py.File(path, "r") as f:
        return {n: np.asarray(f[n][()]) for n in names}


def mlp_logits(p, x):
    h = jax.nn.relu(x @ p[MLP_NAMES[0]] + p[MLP_NAMES[1]])
    return h @ p[MLP_NAMES[2]] + p[MLP_NAMES[3]]


def mlp_dense_io(p, x, dz):
    """MLP forward with additive perturbations dz on the pre-activations; returns logits and
    the Dense inputs, for the (a^2)^T(delta^2) identity."""
    z1 = x @ p[MLP_NAMES[0]] + p[MLP_NAMES[1]] + dz["hidden"]
    h = jax.nn.relu(z1)
    z2 = h @ p[MLP_NAMES[2]] + p[MLP_NAMES[3]] + dz["output"]
    return z2, {"hidden": x, "output": h}


def cnn_features(p, x, bn_eps):
    """x (N,28,28,1) -> flattened BN output (N,72): conv/pool/BN part of mnist_cnn."""
    dn = ("NHWC", "HWIO", "NHWC")
    h = lax.conv_general_dilated(x, p[cnn_name("conv1", "kernel")], (1, 1), "SAME", dimension_numbers=dn)
    h = jax.nn.relu(h + p[cnn_name("conv1", "bias")])
    h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    h = lax.conv_general_dilated(h, p[cnn_name("conv2", "kernel")], (2, 2), "VALID", dimension_numbers=dn)
    h = jax.nn.relu(h + p[cnn_name("conv2", "bias")])
    h = lax.reduce_window(h, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4.0
    h = (p[cnn_name("bn", "gamma")] * (h - p[cnn_name("bn", "moving_mean")])
         / jnp.sqrt(p[cnn_name("bn", "moving_variance")] + bn_eps) + p[cnn_name("bn", "beta")])
    return h.reshape(h.shape[0], -1)          # NHWC order; dropout = identity at inference


def cnn_dense_io(p, x, dz, bn_eps):
    a0 = cnn_features(p, x, bn_eps)
    z1 = a0 @ p[cnn_name("fc", "kernel")] + p[cnn_name("fc", "bias")] + dz["fc"]
    a1 = jnp.tanh(z1)
    z2 = a1 @ p[cnn_name("logits", "kernel")] + p[cnn_name("logits", "bias")] + dz["logits"]
    return z2, {"fc": a0, "logits": a1}


def sig_logits(w, x):
    h = jax.nn.sigmoid(x @ w["d1/kernel"] + w["d1/bias"])
    h = jax.nn.relu(h @ w["d2/kernel"] + w["d2/bias"])
    return h @ w["out/kernel"] + w["out/bias"]


def make_loss(logits_fn, clip=True):
    """Per-sample loss -log(clip(softmax(logits)[y], eps, 1-eps)) (Keras' sparse CE on a softmax
    output); clip=False gives -log_softmax(logits)[y]."""
    def loss(p, x, y):
        z = logits_fn(p, x[None])[0]
        if clip:
            prob = jax.nn.softmax(z)[y]
            return -jnp.log(jnp.clip(prob, CLIP_EPS, 1.0 - CLIP_EPS))
        return -jax.nn.log_softmax(z)[y]
    return loss


def fisher_exact(loss, p, x, y):
    g = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(p, jnp.asarray(x), jnp.asarray(y))
    return {k: np.asarray(jnp.mean(v * v, axis=0)) for k, v in g.items()}


def fisher_batch(loss, p, x, y, bs):
    mean_loss = lambda p, xb, yb: jnp.mean(jax.vmap(loss, in_axes=(None, 0, 0))(p, xb, yb))
    gfn = jax.grad(mean_loss)
    acc = {k: np.zeros(v.shape) for k, v in p.items()}
    nb = 0
    for s in range(0, len(x), bs):
        g = gfn(p, jnp.asarray(x[s:s + bs]), jnp.asarray(y[s:s + bs]))
        for k in acc:
            acc[k] += np.asarray(g[k]) ** 2
        nb += 1
    return {k: v / nb for k, v in acc.items()}, nb


def dense_identity(dense_io, p, x, y, dz_shapes, kernel_bias):
    """max relative difference between mean_x (a^2)^T(delta^2) / mean_x delta^2 and the exact
    vmap(grad) Fisher of each Dense kernel / bias."""
    def loss_dz(dz, p, xi, yi):
        z, _ = dense_io(p, xi[None], {k: v[None] for k, v in dz.items()})
        prob = jax.nn.softmax(z[0])[yi]
        return -jnp.log(jnp.clip(prob, CLIP_EPS, 1.0 - CLIP_EPS))

    dz0 = {k: jnp.zeros(s) for k, s in dz_shapes.items()}
    delta = jax.vmap(jax.grad(loss_dz), in_axes=(None, None, 0, 0))(dz0, p, jnp.asarray(x), jnp.asarray(y))
    _, acts = dense_io(p, jnp.asarray(x), {k: jnp.zeros((len(x), s)) for k, s in dz_shapes.items()})
    loss = lambda p, xi, yi: loss_dz(dz0, p, xi, yi)
    ref = fisher_exact(loss, p, x, y)
    worst = 0.0
    for layer, (kname, bname) in kernel_bias.items():
        a2, d2 = np.asarray(acts[layer]) ** 2, np.asarray(delta[layer]) ** 2
        for mine, name in ((a2.T @ d2 / len(x), kname), (d2.mean(0), bname)):
            r = ref[name]
            assert np.all(np.abs(mine[r == 0]) < 1e-300), "identity gives non-zero where vmap(grad) is 0"
            nz = r != 0
            worst = max(worst, float((np.abs(mine[nz] - r[nz]) / r[nz]).max()))
    return worst


def write_stats(path, model_name, per_split, mode, batch_size):
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "ckptforget-stats"
        f.attrs["version"] = np.int64(1)
        f.attrs["model"] = model_name
        for split, (n, fis) in per_split.items():
            g = f.create_group(f"fisher/{split}")
            g.attrs["samples"] = np.int64(n)
            g.attrs["mode"] = mode
            g.attrs["batch_size"] = np.int64(batch_size)
            g.attrs["loss"] = LOSS
            for name in sorted(fis):
                a = np.asarray(fis[name], dtype=np.float64)
                if a.nbytes > BIG:   # one chunk, shuffle + gzip 9 (keeps the directory small)
                    g.create_dataset(name, data=a, chunks=a.shape, shuffle=True,
                                     compression="gzip", compression_opts=9)
                else:
                    g.create_dataset(name, data=a)
    written.append(path)


def fisher_fixtures(x_test_u8, y_test, preds, bn_eps):
    jax.config.update("jax_enable_x64", True)
    x4 = scale(x_test_u8).astype(np.float64)                 # (200,28,28,1)
    xf = x4.reshape(TEST_N, 784)
    y = y_test.astype(np.int64)
    idx = np.arange(TEST_N)
    sp = {"forget": idx[y == FORGET_CLASS], "retain": idx[y != FORGET_CLASS], "full": idx}
    print(f"[fisher] splits of the {TEST_N} test_data samples: "
          + ", ".join(f"{k} {len(v)}" for k, v in sp.items()))

    # ---- MLP (Fixtures/keras/mnist_mlp.h5)
    pm = {k: jnp.asarray(v, jnp.float64) for k, v in h5_weights(MLP_H5, MLP_NAMES).items()}
    prob = np.asarray(jax.nn.softmax(mlp_logits(pm, jnp.asarray(xf))))
    d = float(np.abs(prob - preds["mlp"]).max())
    check(d < 1e-6, f"JAX float64 MLP forward vs Keras predict: max |diff| {d:.2e} < 1e-6")
    report_clip("mnist_mlp", prob, y)
    loss = make_loss(mlp_logits)
    exact = {s: fisher_exact(loss, pm, xf[i], y[i]) for s, i in sp.items()}
    noclip = fisher_exact(make_loss(mlp_logits, clip=False), pm, xf, y)
    print(f"[fisher] mlp: clip vs no clip, full split: max rel diff {max_rel(exact['full'], noclip):.2e}")
    additivity("mlp", exact, sp)
    write_stats(OUT / "fisher_mlp_exact.h5", MLP_H5.name,
                {s: (len(i), exact[s]) for s, i in sp.items()}, "exact", 1)
    batch = {}
    for s in ("forget", "full"):
        f, nb = fisher_batch(loss, pm, xf[sp[s]], y[sp[s]], STATS_BATCH)
        batch[s] = (len(sp[s]), f)
        ratio = sum(v.sum() for v in f.values()) / sum(v.sum() for v in exact[s].values())
        print(f"[fisher] mlp batch{STATS_BATCH} {s}: {nb} batch(es), sum(batch)/sum(exact) = {ratio:.4f}")
    write_stats(OUT / "fisher_mlp_batch64.h5", MLP_H5.name, batch, "batch", STATS_BATCH)
    w = dense_identity(mlp_dense_io, pm, xf, y, {"hidden": 32, "output": 10},
                       {"hidden": (MLP_NAMES[0], MLP_NAMES[1]), "output": (MLP_NAMES[2], MLP_NAMES[3])})
    check(w < 1e-12, f"mlp Dense identity mean(a^2)^T(delta^2) vs vmap(grad): max rel diff {w:.2e}")

    # ---- CNN (engine/mnist_cnn.h5)
    all_cnn = [cnn_name(l, w) for l, w in CNN_TRAINABLE] + \
              [cnn_name("bn", "moving_mean"), cnn_name("bn", "moving_variance")]
    pc_all = {k: jnp.asarray(v, jnp.float64) for k, v in h5_weights(OUT / "mnist_cnn.h5", all_cnn).items()}
    trainable = [cnn_name(l, w) for l, w in CNN_TRAINABLE]
    fixed = {k: v for k, v in pc_all.items() if k not in trainable}

    def cnn_logits(p, x):
        z, _ = cnn_dense_io({**p, **fixed}, x, {"fc": 0.0, "logits": 0.0}, bn_eps)
        return z

    pc = {k: pc_all[k] for k in trainable}
    z = np.asarray(cnn_logits(pc, jnp.asarray(x4)))
    prob = np.asarray(jax.nn.softmax(z))
    d1 = float(np.abs(prob - preds["cnn"]).max())
    d2 = float(np.abs(z - preds["cnn_logits"]).max())
    check(d1 < 1e-6, f"JAX float64 CNN forward vs Keras predict: max |diff| {d1:.2e} < 1e-6")
    check(d2 < 1e-5, f"JAX float64 CNN logits vs Keras sub-model: max |diff| {d2:.2e} < 1e-5 "
                     f"(logits up to {np.abs(z).max():.1f})")
    report_clip("mnist_cnn", prob, y)
    loss = make_loss(cnn_logits)
    cexact = {s: fisher_exact(loss, pc, x4[sp[s]], y[sp[s]]) for s in ("forget", "full")}
    noclip = fisher_exact(make_loss(cnn_logits, clip=False), pc, x4, y)
    print(f"[fisher] cnn: clip vs no clip, full split: max rel diff {max_rel(cexact['full'], noclip):.2e}")
    for s in ("forget", "full"):
        print(f"[fisher] cnn {s}: sum per tensor " + ", ".join(
            f"{k.split('/')[1]}/{k.split('/')[-1]} {v.sum():.3e}" for k, v in cexact[s].items()))
    write_stats(OUT / "fisher_cnn_exact.h5", "mnist_cnn.h5",
                {s: (len(sp[s]), cexact[s]) for s in ("forget", "full")}, "exact", 1)

    def cnn_io(p, x, dz):
        return cnn_dense_io({**p, **fixed}, x, dz, bn_eps)

    w = dense_identity(cnn_io, pc, x4, y, {"fc": 24, "logits": 10},
                       {"fc": (cnn_name("fc", "kernel"), cnn_name("fc", "bias")),
                        "logits": (cnn_name("logits", "kernel"), cnn_name("logits", "bias"))})
    check(w < 1e-12, f"cnn Dense identity (fc, logits) vs vmap(grad): max rel diff {w:.2e}")

    # ---- MLP sigmoid: only the forward check (its predictions are fixtures too)
    with h5py.File(OUT / "mnist_mlp_sigmoid.h5", "r") as f:
        ws = {f"{l}/{k}": jnp.asarray(f[f"model_weights/{l}/mnist_mlp_sigmoid/{l}/{k}"][()], jnp.float64)
              for l in ("d1", "d2", "out") for k in ("kernel", "bias")}
    d = float(np.abs(np.asarray(jax.nn.softmax(sig_logits(ws, jnp.asarray(xf)))) - preds["mlp_sigmoid"]).max())
    check(d < 1e-6, f"JAX float64 sigmoid-MLP forward vs Keras predict: max |diff| {d:.2e} < 1e-6")


def max_rel(a, b):
    m = 0.0
    for k in a:
        nz = b[k] != 0
        if nz.any():
            m = max(m, float((np.abs(a[k][nz] - b[k][nz]) / b[k][nz]).max()))
    return m


def report_clip(what, prob, y):
    py = prob[np.arange(len(y)), y]
    lo, hi = int((py < CLIP_EPS).sum()), int((py > 1 - CLIP_EPS).sum())
    print(f"[fisher] {what}: true-class probability in [{py.min():.3e}, 1 - {1 - py.max():.3e}]; "
          f"{lo} below {CLIP_EPS}, {hi} above 1 - {CLIP_EPS} (those have zero gradient with the clip)")


def additivity(what, exact, sp):
    n = {s: len(i) for s, i in sp.items()}
    worst = 0.0
    for k in exact["full"]:
        lhs = n["full"] * exact["full"][k]
        rhs = n["forget"] * exact["forget"][k] + n["retain"] * exact["retain"][k]
        worst = max(worst, float(np.abs(lhs - rhs).max() / np.abs(lhs).max()))
    check(worst < 1e-12, f"{what}: N_full F_full = N_forget F_forget + N_retain F_retain (max rel {worst:.1e})")


# ---------------------------------------------------------------- metrics cases
def metrics_case(name, note, y_true, probs):
    probs = [[float(v) for v in row] for row in probs]
    K = len(probs[0])
    y_pred = [int(np.argmax(r)) for r in probs]
    for r in probs:
        assert sum(1 for v in r if v == max(r)) == 1, "argmax must be unique"
    n = len(y_true)
    classes = sorted(set(y_true) | set(y_pred))
    cm = [[sum(1 for t, p in zip(y_true, y_pred) if t == a and p == b) for b in classes] for a in classes]
    per = {}
    for c in classes:
        tp = sum(1 for t, p in zip(y_true, y_pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(y_true, y_pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(y_true, y_pred) if t == c and p != c)
        tn = n - tp - fp - fn
        prec = Fraction(tp, tp + fp) if tp + fp else Fraction(0)
        rec = Fraction(tp, tp + fn) if tp + fn else Fraction(0)
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else Fraction(0)
        spec = Fraction(tn, tn + fp) if tn + fp else None
        per[c] = dict(tp=tp, fp=fp, fn=fn, tn=tn, support=tp + fn, predicted=tp + fp,
                      precision=prec, recall=rec, f1=f1, sensitivity=rec, specificity=spec)
    auc = {}
    for c in range(K):
        pos = [probs[i][c] for i in range(n) if y_true[i] == c]
        neg = [probs[i][c] for i in range(n) if y_true[i] != c]
        if not pos or not neg:
            auc[c] = None
            continue
        u2 = sum(2 * (a > b) + (a == b) for a in pos for b in neg)     # twice Mann-Whitney U
        ties = sum(a == b for a in pos for b in neg)
        auc[c] = (Fraction(u2, 2 * len(pos) * len(neg)), ties)
    defined = [v[0] for v in auc.values() if v is not None]
    mean = lambda xs: sum(xs, Fraction(0)) / len(xs)
    fr = lambda q: None if q is None else {"value": float(q), "fraction": f"{q.numerator}/{q.denominator}"}
    return {
        "name": name,
        "note": note,
        "num_classes": K,
        "y_true": list(y_true),
        "y_pred": y_pred,
        "probabilities": probs,
        "classes": classes,
        "expected": {
            "accuracy": fr(Fraction(sum(t == p for t, p in zip(y_true, y_pred)), n)),
            "macro_precision": fr(mean([per[c]["precision"] for c in classes])),
            "macro_recall": fr(mean([per[c]["recall"] for c in classes])),
            "macro_f1": fr(mean([per[c]["f1"] for c in classes])),
            "confusion_matrix": cm,
            "per_class": {str(c): {k: (fr(v) if isinstance(v, Fraction) or v is None else v)
                                   for k, v in per[c].items()} for c in classes},
            "roc_auc_ovr": {str(c): (None if auc[c] is None else
                                     {**fr(auc[c][0]), "pos_neg_ties": auc[c][1]}) for c in range(K)},
            "roc_auc_macro": fr(mean(defined)),
        },
    }


METRICS_DEFINITIONS = {
    "y_pred": "argmax of each probabilities row (every row has a unique maximum); given explicitly",
    "classes": "sorted union of the labels in y_true and y_pred; confusion matrix rows/cols, per_class "
               "and every macro average (except AUC) use exactly these classes",
    "accuracy": "mean(y_true == y_pred)",
    "confusion_matrix": "cm[i][j] = number of samples with y_true == classes[i] and y_pred == classes[j] "
                        "(rows = true, cols = predicted)",
    "tp/fp/fn/tn": "one-vs-rest counts for class c: tp = true c & pred c, fp = true != c & pred c, "
                   "fn = true c & pred != c, tn = the rest",
    "precision": "tp / (tp + fp); 0 when the class is never predicted (tp + fp = 0)",
    "recall": "tp / (tp + fn); 0 when the class never occurs in y_true (tp + fn = 0)",
    "f1": "2 * precision * recall / (precision + recall); 0 when precision + recall = 0",
    "macro_precision/macro_recall/macro_f1": "unweighted mean of the per-class values over `classes` "
                                             "(the same as sklearn average='macro', zero_division=0)",
    "sensitivity": "= recall = tp / (tp + fn)",
    "specificity": "tn / (tn + fp); null if tn + fp = 0 (does not occur here)",
    "roc_auc_ovr[c]": "one-vs-rest ROC AUC of class c with score probabilities[:, c], for c in "
                      "0..num_classes-1: Mann-Whitney U / (n_pos * n_neg), U = number of (positive, "
                      "negative) pairs with s_pos > s_neg plus 1/2 for each pair with s_pos == s_neg "
                      "(equals the trapezoidal area under the ROC curve); null if class c has no "
                      "positive or no negative sample in y_true. pos_neg_ties = number of tied pairs",
    "roc_auc_macro": "unweighted mean of the non-null roc_auc_ovr values",
    "value/fraction": "every rate is given as a float (`value`) and as an exact fraction string",
}


def write_metrics_cases():
    cases = [
        metrics_case(
            "basic", "3 classes, two errors, no tied scores between a positive and a negative",
            [0, 0, 0, 1, 1, 1, 2, 2],
            [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.3, 0.5, 0.2], [0.2, 0.7, 0.1],
             [0.05, 0.85, 0.1], [0.4, 0.35, 0.25], [0.1, 0.15, 0.75], [0.15, 0.25, 0.6]]),
        metrics_case(
            "ties", "tied scores between positives and negatives in every class column",
            [0, 0, 1, 1, 2, 2],
            [[0.5, 0.3, 0.2], [0.4, 0.35, 0.25], [0.4, 0.5, 0.1],
             [0.2, 0.5, 0.3], [0.3, 0.5, 0.2], [0.25, 0.25, 0.5]]),
        metrics_case(
            "never_predicted", "4 classes; class 3 occurs twice in y_true but is never predicted "
            "(precision 0 by convention, recall 0)",
            [0, 0, 1, 1, 1, 2, 2, 3, 3, 0],
            [[0.6, 0.1, 0.1, 0.2], [0.5, 0.2, 0.2, 0.1], [0.1, 0.7, 0.1, 0.1], [0.2, 0.6, 0.05, 0.15],
             [0.45, 0.4, 0.1, 0.05], [0.1, 0.1, 0.7, 0.1], [0.2, 0.1, 0.6, 0.1],
             [0.1, 0.2, 0.4, 0.3], [0.35, 0.2, 0.2, 0.25], [0.3, 0.3, 0.35, 0.05]]),
        metrics_case(
            "predicted_only", "class 2 is predicted once but never occurs in y_true: it is in `classes` "
            "(recall 0 by convention, precision 0), and its AUC is null (no positives)",
            [0, 0, 0, 1, 1],
            [[0.8, 0.1, 0.1], [0.3, 0.2, 0.5], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.45, 0.5, 0.05]]),
    ]
    # spot checks of the conventions the cases are meant to exercise
    assert cases[1]["expected"]["roc_auc_ovr"]["0"]["pos_neg_ties"] > 0
    assert cases[2]["expected"]["per_class"]["3"]["predicted"] == 0
    assert cases[3]["expected"]["roc_auc_ovr"]["2"] is None and 2 in cases[3]["classes"]
    doc = {"definitions": METRICS_DEFINITIONS, "cases": cases}
    p = OUT / "metrics_cases.json"
    p.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    written.append(p)
    for c in cases:
        e = c["expected"]
        print(f"[metrics] {c['name']}: acc {e['accuracy']['fraction']}, macro P/R/F1 "
              f"{e['macro_precision']['value']:.4f}/{e['macro_recall']['value']:.4f}/{e['macro_f1']['value']:.4f}, "
              f"AUC macro {e['roc_auc_macro']['fraction']} ("
              + " ".join(f"{k}:{'null' if v is None else v['fraction']}" for k, v in e["roc_auc_ovr"].items())
              + ")")


# ---------------------------------------------------------------- membership inference
def logreg_newton(x, t, s, C=1.0, lam=1.0, iters=100):
    """argmin_{w,b} lam/2 * w^2 + C * sum_i s_i * [log(1 + exp(z_i)) - t_i z_i], z_i = w x_i + b
    (intercept not penalised). Newton's method from (0, 0); returns (w, b, iterations)."""
    X = np.stack([x, np.ones_like(x)], axis=1)
    R = np.diag([lam, 0.0])
    theta = np.zeros(2)
    for it in range(1, iters + 1):
        z = X @ theta
        q = 1.0 / (1.0 + np.exp(-z))
        g = R @ theta + C * X.T @ (s * (q - t))
        H = R + C * (X * (s * q * (1 - q))[:, None]).T @ X
        step = np.linalg.solve(H, g)
        theta = theta - step
        if np.abs(step).max() < 1e-15 * max(1.0, np.abs(theta).max()):
            break
    z = X @ theta
    q = 1.0 / (1.0 + np.exp(-z))
    g = R @ theta + C * X.T @ (s * (q - t))
    assert np.abs(g).max() < 1e-10, f"Newton did not converge: gradient {g}"
    return float(theta[0]), float(theta[1]), it, float(np.abs(g).max())


def write_mia_case():
    rng = np.random.default_rng(7)
    n_mem, n_non = 48, 32
    member = np.round(np.clip(np.abs(rng.normal(0.25, 0.2, n_mem)), 0.001, None), 4)
    non = np.round(np.clip(rng.normal(1.45, 0.35, n_non), 0.45, 2.30), 4)
    targets = np.round(np.array([0.05, 0.12, 0.2, 0.28, 0.33, 0.4, 0.15, 1.7, 1.95, 2.1]), 4)
    x = np.concatenate([member, non])
    t = np.concatenate([np.ones(n_mem), np.zeros(n_non)])
    n = len(x)
    s = np.where(t == 1, n / (2 * n_mem), n / (2 * n_non))        # class_weight="balanced"
    w, b, it, gmax = logreg_newton(x, t, s, C=1.0, lam=1.0)
    pt = 1.0 / (1.0 + np.exp(-(w * targets + b)))
    frac = float((pt >= 0.5).mean())
    thr = -b / w
    margin = float(np.abs(pt - 0.5).min())
    check(margin > 0.1 and frac == 0.7, f"mia: w {w:.6f}, b {b:.6f}, threshold entropy {thr:.4f}, "
          f"targets predicted member {frac} (closest target |p - 0.5| = {margin:.3f}), Newton {it} it")
    # sklearn multinomial on 2 classes == binary with penalty 1/4 w^2 (see README)
    w2, b2, _, _ = logreg_newton(x, t, s, C=1.0, lam=0.5)
    pt2 = 1.0 / (1.0 + np.exp(-(w2 * targets + b2)))
    frac2 = float((pt2 >= 0.5).mean())
    check(frac2 == frac and np.abs(pt2 - 0.5).min() > 0.1,
          f"mia: sklearn-multinomial-equivalent fit w {w2:.6f}, b {b2:.6f} gives the same fraction {frac2}")
    train_acc = float((((w * x + b) >= 0) == (t == 1)).mean())
    doc = {
        "definitions": {
            "feature": "one feature per sample: the entropy -sum_k p_k ln p_k of the model's softmax output "
                       "(natural log), as in the official SSD code's metrics.entropy",
            "labels": "member = 1 (official code: retain-set samples), non-member = 0 (test-set samples); "
                      "targets are the samples to classify (official code: the forget set)",
            "sample_weight": "class_weight='balanced': s_i = n / (2 * n_c) with n = members + non-members and "
                             "n_c the size of sample i's class",
            "model": "p(member | e) = 1 / (1 + exp(-(weight * e + intercept)))",
            "objective": "minimise 0.5 * weight^2 + C * sum_i s_i * [log(1 + exp(z_i)) - t_i * z_i], "
                         "z_i = weight * e_i + intercept, C = 1.0; the intercept is not penalised "
                         "(sklearn lbfgs convention)",
            "solver": "Newton's method from weight = intercept = 0 until the step is below 1e-15 "
                      "(final gradient max |g| recorded)",
            "fraction_member": "fraction of targets with p(member) >= 0.5 (no target is near 0.5)",
            "sklearn_multinomial_equivalent": "sklearn LogisticRegression(multi_class='multinomial') on 2 "
                      "classes fits two weight rows w0, w1 with penalty 0.5*(w0^2 + w1^2) and "
                      "p(member) = softmax(...)[1], i.e. a binary model with weight w1 - w0 and penalty "
                      "0.25 * weight^2 (= C doubled); that fit is given too; it gives the same fraction",
        },
        "C": 1.0,
        "member_entropies": member.tolist(),
        "nonmember_entropies": non.tolist(),
        "target_entropies": targets.tolist(),
        "sample_weight_member": float(n / (2 * n_mem)),
        "sample_weight_nonmember": float(n / (2 * n_non)),
        "expected": {
            "weight": w,
            "intercept": b,
            "threshold_entropy": thr,
            "newton_iterations": it,
            "final_gradient_max_abs": gmax,
            "target_probabilities": pt.tolist(),
            "target_predicted_member": [bool(v) for v in (pt >= 0.5)],
            "fraction_member": frac,
            "training_accuracy": train_acc,
            "sklearn_multinomial_equivalent": {
                "weight": w2, "intercept": b2, "penalty": "0.25 * weight^2",
                "sklearn_coef_": w2 / 2, "sklearn_intercept_": b2 / 2,
                "note": "sklearn stores the class-1 row only: coef_ = weight/2, intercept_ = intercept/2, "
                        "p(member) = softmax([-d, d])[1] = sigmoid(2d), d = coef_*e + intercept_. Checked once "
                        "against scikit-learn 1.5.2 (tol=1e-12): coef_ -2.41384248, intercept_ 1.86300246; "
                        "multi_class='ovr' gave the primary weight/intercept (-3.8668236, 3.04497445)",
                "target_probabilities": pt2.tolist(), "fraction_member": frac2},
        },
    }
    p = OUT / "mia_case.json"
    p.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    written.append(p)


# ---------------------------------------------------------------- main
def report_config():
    with h5py.File(OUT / "mnist_cnn.h5", "r") as f:
        cfg = json.loads(f.attrs["model_config"])
        names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"].attrs["layer_names"]]
        bn_w = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights/bn"].attrs["weight_names"]]
    layers = cfg["config"]["layers"]
    print(f"[config] {cfg['class_name']} {cfg['config']['name']}: "
          + " -> ".join(f"{l['class_name']}({l['config']['name']})" for l in layers))
    print(f"[config] layer_names {names}; bn weight_names {bn_w}")
    bn = next(l for l in layers if l["class_name"] == "BatchNormalization")["config"]
    check(names == ["conv1", "pool1", "conv2", "pool2", "bn", "flatten", "drop", "fc", "logits", "softmax"],
          "layer_names lists every layer except the InputLayer")
    check(bn["axis"] == -1 and bn["center"] and bn["scale"], f"BN axis {bn['axis']}, epsilon {bn['epsilon']}")
    return float(bn["epsilon"])


def main():
    print("versions: " + " ".join(f"{k}={v}" for k, v in versions().items()))
    OUT.mkdir(parents=True, exist_ok=True)
    x_u8, y = mnist_test()
    x4 = scale(x_u8).reshape(-1, 28, 28, 1)
    xf = scale(x_u8).reshape(-1, 784)

    cnn = train(build_cnn, x4, y, 2, "mnist_cnn")
    accuracy(cnn, x4, y, "mnist_cnn (in memory)")
    mm, mv = [np.asarray(v) for v in cnn.get_layer("bn").get_weights()[2:]]
    check(np.abs(mm).max() > 0.05 and np.abs(mv - 1).max() > 0.05,
          f"BN moving stats moved: mean in [{mm.min():.3f}, {mm.max():.3f}], var in [{mv.min():.3f}, {mv.max():.3f}]")
    save_keras(cnn, OUT / "mnist_cnn.h5")

    sig = train(build_mlp_sigmoid, xf, y, 1, "mnist_mlp_sigmoid")
    save_keras(sig, OUT / "mnist_mlp_sigmoid.h5")

    # everything below uses the models read back from disk
    cnn_r, sig_r, mlp_r = (load_keras(p) for p in (OUT / "mnist_cnn.h5", OUT / "mnist_mlp_sigmoid.h5", MLP_H5))
    accs = {"mnist_cnn": accuracy(cnn_r, x4, y, "mnist_cnn.h5"),
            "mnist_mlp_sigmoid": accuracy(sig_r, xf, y, "mnist_mlp_sigmoid.h5"),
            "mnist_mlp": accuracy(mlp_r, xf, y, "keras/mnist_mlp.h5")}

    x_test_u8, y_test = write_test_data(x_u8, y)
    xt4 = scale(x_test_u8)
    xtf = xt4.reshape(TEST_N, 784)
    sub = keras.Model(cnn_r.inputs, cnn_r.get_layer("logits").output)
    preds = {
        "cnn": cnn_r.predict(xt4, batch_size=TEST_N, verbose=0),
        "cnn_logits": sub.predict(xt4, batch_size=TEST_N, verbose=0),
        "mlp": mlp_r.predict(xtf, batch_size=TEST_N, verbose=0),
        "mlp_sigmoid": sig_r.predict(xtf, batch_size=TEST_N, verbose=0),
    }
    d = float(np.abs(preds["cnn"] - cnn.predict(xt4, batch_size=TEST_N, verbose=0)).max())
    check(d == 0.0, f"reloaded mnist_cnn.h5 predicts exactly what the trained model does (max diff {d})")
    p = OUT / "predictions.h5"
    with h5py.File(p, "w") as f:
        for k in ("cnn", "cnn_logits", "mlp", "mlp_sigmoid"):
            f.create_dataset(k, data=np.asarray(preds[k], dtype=np.float32))
    written.append(p)
    for k in ("cnn", "mlp", "mlp_sigmoid"):
        acc = float((np.argmax(preds[k], 1) == y_test).mean())
        print(f"[predict] {k}: accuracy on the {TEST_N} test_data samples {acc:.3f}")

    write_small(x_test_u8, y_test)
    write_idx_head()
    bn_eps = report_config()
    fisher_fixtures(x_test_u8, y_test, preds, bn_eps)
    write_metrics_cases()
    write_mia_case()

    print("\nsha256 / bytes:")
    total = 0
    for p in written:
        b = p.read_bytes()
        total += len(b)
        print(f"{hashlib.sha256(b).hexdigest()}  {len(b):8d}  {p.relative_to(HERE)}")
    print(f"total bytes written: {total}")
    print("accuracies (images 8000..9999): " + ", ".join(f"{k} {v:.4f}" for k, v in accs.items()))


if __name__ == "__main__":
    main()
