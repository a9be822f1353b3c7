#!/usr/bin/env python3
"""Reference for ckptforget's training steps (gradients of a batch-mean loss, SGD with momentum,
Adam, plain-SGD gradient ascent), computed independently of the Swift engine.

    python3 Fixtures/make_training_fixtures.py    # from anywhere; ~1 min on CPU; writes one file

Reads (read-only): Fixtures/keras/mnist_mlp.h5, Fixtures/engine/mnist_cnn.h5,
Fixtures/engine/test_data.h5. Sets KERAS_BACKEND=jax itself. No randomness: two runs give
byte-identical files. Prints the versions, every check (Keras vs this reference, per tensor)
and the sha256/size of the file written.

Writes Fixtures/engine/training_steps.h5 (h5py, libver v108 = compact groups, readable by HDF5
>= 1.8; every dataset float64; those over 64 KiB, the (784,32) MLP kernels, as one chunk with
shuffle + gzip 9; about 1.4 MB, 1.05 MB of it the nine MLP hidden kernels, which no lossless
filter shrinks further). For M in mlp, cnn and every trainable
tensor T (named by its dataset path in the checkpoint without the leading slash, e.g.
model_weights/hidden/mnist_mlp/hidden/kernel, model_weights/bn/mnist_cnn/bn/gamma):
  /M/grad/<loss>/T   gradient of the batch-mean loss on batch 0 at the checkpoint's weights,
                     loss in ce, ascent, relabel, penalty (group attr `loss_value`)
  /M/sgd1/T          parameters after 1 step of SGD(lr 0.05, momentum 0.9), loss ce
  /M/sgd10/T         the same after 10 steps
  /M/adam1/T         parameters after 1 step of Adam(lr 0.001), loss ce
  /M/adam10/T        the same after 10 steps
  /M/ascent_sgd3/T   parameters after 3 steps of plain SGD (lr 0.05, momentum 0), loss ascent
Step groups have attrs optimizer, loss, steps and `losses` (the batch loss at each step, before
that step's update). Root attrs: the constants below and the tool versions.

The contract (what the Swift engine follows):
* Inference mode throughout: BatchNormalization uses its stored moving_mean/moving_variance
  (y = gamma * (x - mean) / sqrt(var + 0.001) + beta), which are never trained or updated;
  Dropout is the identity. Trainable: every Dense/Conv2D kernel and bias, BN gamma and beta.
* Data: test_data.h5, inputs x.astype(float32)/255 (float32 division; x_flat for the MLP,
  x (N,28,28,1) for the CNN), labels y. Step t = 0, 1, ... uses samples [20t, 20t+20)
  (batch B = 20, file order, no shuffling); 10 steps use all 200 samples.
* p = the model's softmax output, eps = 1e-7, clip(q) = min(max(q, eps), 1 - eps) with zero
  gradient where q is outside [eps, 1 - eps]. Per-sample losses:
    ce       L = -log(clip(p_y))        (Keras sparse_categorical_crossentropy on probabilities)
    ascent   L = +log(clip(p_y))        (minus ce)
    relabel  ce with every label 2 replaced by 3, other labels unchanged
    penalty  L = -log(clip(1 - p_2))    (every sample, whatever its label)
  The batch loss is the mean over the batch's 20 samples; g = its gradient.
* SGD (Keras 3 SGD(learning_rate=0.05, momentum=0.9), not nesterov):
    v <- 0.9 v - 0.05 g;  w <- w + v        (v starts at 0)
* Adam (Keras 3 Adam(learning_rate=0.001), beta_1 0.9, beta_2 0.999, epsilon 1e-7, as
  keras/src/optimizers/adam.py): at step t = 1, 2, ...
    alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    m <- m + (g - m)(1 - beta_1);  v <- v + (g^2 - v)(1 - beta_2)     (m, v start at 0)
    w <- w - alpha * m / (sqrt(v) + epsilon)
* Plain SGD (ascent_sgd3): w <- w - 0.05 g with g the gradient of the ascent loss (so w climbs
  the ce loss), batches 0, 1, 2.

How: float64 JAX (jax_enable_x64) on a forward pass written here from the layer definitions
(weights read with h5py; conv1 padded by TF's 'same' rule, channels last, HWIO kernels; max /
average 2x2 pooling, valid; flatten in NHWC order), gradients by jax.grad, the optimizers from
the formulas above. Cross-checked with Keras itself (float32): the forward pass against
model.predict; the four batch-0 gradients against jax.grad through model.stateless_call; sgd1,
sgd10, adam1, adam10 against model.train_on_batch with the compiled optimizer and
sparse_categorical_crossentropy, with the JAX trainer's compute_loss_and_updates switched to
training=False (train_on_batch otherwise runs BN on batch statistics, updates the moving
statistics and applies Dropout); ascent_sgd3 against optimizer.stateless_apply. Agreement
measure: per tensor max|keras - ref| / max|ref| (ref = this float64 reference), must be < 1e-5.
Also asserted: the clip is inactive for every sample of every step (so float32 and float64 agree
on which samples it zeroes); ce's gradient equals jax.grad of Keras' own
sparse_categorical_crossentropy on the float64 probabilities; textbook Adam (epsilon added to
sqrt(v_hat)) is measurably different from Keras' adam1, so the fixture tells the two apart.
"""

import os

# Must be set before keras is imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import h5py
import jax
import jax.numpy as jnp
from jax import lax
import keras

HERE = Path(__file__).resolve().parent
from fixture_common import versions  # noqa: E402

MLP_H5 = HERE / "keras" / "mnist_mlp.h5"
CNN_H5 = HERE / "engine" / "mnist_cnn.h5"
DATA_H5 = HERE / "engine" / "test_data.h5"
OUT_H5 = HERE / "engine" / "training_steps.h5"

BATCH = 20
STEPS = 10
CLIP_EPS = 1e-7              # keras.config.epsilon(), the clip of sparse_categorical_crossentropy
SGD_LR, SGD_MOMENTUM = 0.05, 0.9
ADAM_LR, ADAM_BETA_1, ADAM_BETA_2, ADAM_EPSILON = 0.001, 0.9, 0.999, 1e-7
ASCENT_LR, ASCENT_STEPS = 0.05, 3
RELABEL_FROM, RELABEL_TO = 2, 3
PENALTY_CLASS = 2
LOSSES = ("ce", "ascent", "relabel", "penalty")
BIG = 64 * 1024              # datasets larger than this are stored compressed
TOL = 1e-5                   # Keras (float32) vs reference (float64), per tensor, relative to max|ref|

MLP_NAMES = [
    "model_weights/hidden/mnist_mlp/hidden/kernel",
    "model_weights/hidden/mnist_mlp/hidden/bias",
    "model_weights/output/mnist_mlp/output/kernel",
    "model_weights/output/mnist_mlp/output/bias",
]


def cnn_name(layer, weight):
    return f"model_weights/{layer}/mnist_cnn/{layer}/{weight}"


CNN_NAMES = [cnn_name(l, w) for l, w in (
    ("conv1", "kernel"), ("conv1", "bias"), ("conv2", "kernel"), ("conv2", "bias"),
    ("bn", "gamma"), ("bn", "beta"), ("fc", "kernel"), ("fc", "bias"),
    ("logits", "kernel"), ("logits", "bias"))]
CNN_FIXED = [cnn_name("bn", "moving_mean"), cnn_name("bn", "moving_variance")]

MODELS = {
    "mlp": {"path": MLP_H5, "model": "mnist_mlp", "names": MLP_NAMES, "fixed": [], "input": "x_flat"},
    "cnn": {"path": CNN_H5, "model": "mnist_cnn", "names": CNN_NAMES, "fixed": CNN_FIXED, "input": "x"},
}

# (group, optimizer, loss, steps) of every parameter snapshot written
RUNS = [
    ("sgd1", "sgd", "ce", 1), ("sgd10", "sgd", "ce", 10),
    ("adam1", "adam", "ce", 1), ("adam10", "adam", "ce", 10),
    ("ascent_sgd3", "plain_sgd", "ascent", ASCENT_STEPS),
]


def check(cond, msg):
    print(f"[check] {'ok  ' if cond else 'FAIL'} {msg}")
    assert cond, msg


def load_data():
    with h5py.File(DATA_H5, "r") as f:
        x = f["x"][()]
        x_flat = f["x_flat"][()]
        y = f["y"][()].astype(np.int64)
    assert x.dtype == np.uint8 and x.shape == (200, 28, 28, 1) and x_flat.shape == (200, 784)
    return {"x": x.astype(np.float32) / 255.0, "x_flat": x_flat.astype(np.float32) / 255.0}, y


def batch(t):
    return slice(BATCH * t, BATCH * t + BATCH)


def read_weights(path, names):
    with h5py.File(path, "r") as f:
        return {n: np.asarray(f[n][()]) for n in names}


def layer_of(name):
    return name.split("/")[1]


def rel(a, b):
    """max|a - b| / max|b| (0 when both are all zero)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = float(np.abs(a - b).max())
    m = float(np.abs(b).max())
    return d / m if m > 0 else (0.0 if d == 0 else np.inf)


# ====================================================================== Keras (float32)
# Runs before jax_enable_x64 is switched on, so Keras works in its ordinary float32 setting.

def load_keras(path):
    keras.backend.clear_session()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return keras.models.load_model(path, compile=False)


def ckpt_names(model, spec):
    """checkpoint dataset path of each of model.trainable_variables, in that order."""
    names = []
    for v in model.trainable_variables:          # v.path is e.g. "mnist_mlp/hidden/kernel"
        layer, weight = v.path.split("/")[-2:]
        names.append(f"model_weights/{layer}/{spec['model']}/{layer}/{weight}")
    assert sorted(names) == sorted(spec["names"]), names
    return names


def inference_train_step(model):
    """Make train_on_batch run the model with training=False (BN on its moving statistics, which
    are then left alone; Dropout off). The JAX trainer's train_step differentiates
    self.compute_loss_and_updates(..., training=True); this wraps it for this instance only."""
    bound = model.compute_loss_and_updates

    def compute_loss_and_updates(*args, training=False, **kwargs):
        return bound(*args, training=False, **kwargs)

    model.compute_loss_and_updates = compute_loss_and_updates


def keras_optimizer(kind):
    if kind == "sgd":
        return keras.optimizers.SGD(learning_rate=SGD_LR, momentum=SGD_MOMENTUM)
    if kind == "adam":
        return keras.optimizers.Adam(learning_rate=ADAM_LR, beta_1=ADAM_BETA_1, beta_2=ADAM_BETA_2,
                                     epsilon=ADAM_EPSILON)
    if kind == "plain_sgd":
        return keras.optimizers.SGD(learning_rate=ASCENT_LR, momentum=0.0)
    raise ValueError(kind)


def keras_snapshot(model, spec):
    return {n: np.asarray(v.value) for n, v in zip(ckpt_names(model, spec), model.trainable_variables)}


def keras_train_on_batch(spec, xs, y, kind, snap_at, inference=True):
    """train_on_batch on batches 0..max(snap_at)-1; trainable parameters after each step in snap_at."""
    model = load_keras(spec["path"])
    if inference:
        inference_train_step(model)
    model.compile(optimizer=keras_optimizer(kind), loss="sparse_categorical_crossentropy")
    fixed0 = [np.asarray(v.value) for v in model.non_trainable_variables]
    snaps = {}
    for t in range(max(snap_at)):
        model.train_on_batch(xs[batch(t)], y[batch(t)])
        if t + 1 in snap_at:
            snaps[t + 1] = keras_snapshot(model, spec)
    # BN moving statistics, and Dropout's seed-generator state (it advances when Dropout draws)
    moved = {"moving": 0.0, "seed": False}
    for v, a in zip(model.non_trainable_variables, fixed0):
        if "moving_" in v.path:
            moved["moving"] = max(moved["moving"], float(np.abs(np.asarray(v.value) - a).max()))
        elif "seed_generator" in v.path:
            moved["seed"] = moved["seed"] or not np.array_equal(np.asarray(v.value), a)
        else:
            raise AssertionError(f"unexpected non-trainable variable {v.path}")
    return snaps, moved


def keras_loss_fns():
    """The four losses on Keras' float32 output, written with keras.ops / keras.losses."""
    ops = keras.ops
    eps = keras.config.epsilon()
    ce = lambda y, p: ops.mean(keras.losses.sparse_categorical_crossentropy(y, p))
    return {
        "ce": ce,
        "ascent": lambda y, p: -ce(y, p),
        "relabel": lambda y, p: ce(ops.where(y == RELABEL_FROM, RELABEL_TO, y), p),
        "penalty": lambda y, p: ops.mean(-ops.log(ops.clip(1.0 - p[:, PENALTY_CLASS], eps, 1.0 - eps))),
    }


def keras_stateless(spec, xs, y):
    """Through model.stateless_call(training=False): the batch-0 gradient of each loss, and the
    ascent_sgd3 run applied with optimizer.stateless_apply."""
    model = load_keras(spec["path"])
    names = ckpt_names(model, spec)
    tv = [v.value for v in model.trainable_variables]
    ntv = [v.value for v in model.non_trainable_variables]
    fns = keras_loss_fns()

    def batch_loss(tv, loss, xb, yb):
        p, _ = model.stateless_call(tv, ntv, xb, training=False)
        return fns[loss](yb, p)

    grad = jax.jit(jax.grad(batch_loss), static_argnums=1)
    grads = {}
    for loss in LOSSES:
        g = grad(tv, loss, jnp.asarray(xs[batch(0)]), jnp.asarray(y[batch(0)]))
        grads[loss] = {n: np.asarray(a) for n, a in zip(names, g)}
    opt = keras_optimizer("plain_sgd")
    opt.build(model.trainable_variables)
    ov = [v.value for v in opt.variables]
    for t in range(ASCENT_STEPS):
        g = grad(tv, "ascent", jnp.asarray(xs[batch(t)]), jnp.asarray(y[batch(t)]))
        tv, ov = opt.stateless_apply(ov, g, tv)
    ascent = {n: np.asarray(a) for n, a in zip(names, tv)}
    return grads, ascent


def keras_phase(data, y):
    out = {}
    for m, spec in MODELS.items():
        xs = data[spec["input"]]
        model = load_keras(spec["path"])
        pred = model.predict(xs, batch_size=len(xs), verbose=0)
        bn_eps = [l.epsilon for l in model.layers if isinstance(l, keras.layers.BatchNormalization)]
        r = {"predict": np.asarray(pred), "bn_eps": bn_eps[0] if bn_eps else None,
             "train": {}, "fixed_moved": {}}
        for kind in ("sgd", "adam"):
            snaps, moved = keras_train_on_batch(spec, xs, y, kind, (1, STEPS))
            r["train"][f"{kind}1"], r["train"][f"{kind}{STEPS}"] = snaps[1], snaps[STEPS]
            r["fixed_moved"][kind] = moved
        r["grad"], r["train"]["ascent_sgd3"] = keras_stateless(spec, xs, y)
        # what plain train_on_batch does (training=True): only recorded, to show the difference
        keras.utils.set_random_seed(0)
        snaps, moved = keras_train_on_batch(spec, xs, y, "sgd", (1,), inference=False)
        r["plain_sgd1"], r["plain_moved"] = snaps[1], moved
        out[m] = r
        print(f"[keras] {m}: predict, train_on_batch sgd/adam x{STEPS}, stateless gradients and ascent done")
    return out


# ====================================================================== reference (float64 JAX)

def same_padding(size, k, s):
    """TensorFlow's 'same' padding: (before, after) with before = total // 2."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return total // 2, total - total // 2


def mlp_probs(p, fixed, x):
    h = jnp.maximum(x @ p[MLP_NAMES[0]] + p[MLP_NAMES[1]], 0.0)
    return jax.nn.softmax(h @ p[MLP_NAMES[2]] + p[MLP_NAMES[3]], axis=-1)


def make_cnn_probs(bn_eps):
    dn = ("NHWC", "HWIO", "NHWC")

    def probs(p, fixed, x):
        k1 = p[cnn_name("conv1", "kernel")]
        pad = [same_padding(x.shape[1], k1.shape[0], 1), same_padding(x.shape[2], k1.shape[1], 1)]
        h = lax.conv_general_dilated(x, k1, (1, 1), pad, dimension_numbers=dn,
                                     precision=lax.Precision.HIGHEST)
        h = jnp.maximum(h + p[cnn_name("conv1", "bias")], 0.0)
        h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        h = lax.conv_general_dilated(h, p[cnn_name("conv2", "kernel")], (2, 2), [(0, 0), (0, 0)],
                                     dimension_numbers=dn, precision=lax.Precision.HIGHEST)
        h = jnp.maximum(h + p[cnn_name("conv2", "bias")], 0.0)
        h = lax.reduce_window(h, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4.0
        h = (p[cnn_name("bn", "gamma")] * (h - fixed[cnn_name("bn", "moving_mean")])
             / jnp.sqrt(fixed[cnn_name("bn", "moving_variance")] + bn_eps) + p[cnn_name("bn", "beta")])
        h = h.reshape(h.shape[0], -1)                      # NHWC order; Dropout = identity
        h = jnp.tanh(h @ p[cnn_name("fc", "kernel")] + p[cnn_name("fc", "bias")])
        return jax.nn.softmax(h @ p[cnn_name("logits", "kernel")] + p[cnn_name("logits", "bias")], axis=-1)
    return probs


def clip(q):
    """min(max(q, eps), 1 - eps), gradient 1 inside [eps, 1 - eps] and 0 outside."""
    inside = (q >= CLIP_EPS) & (q <= 1.0 - CLIP_EPS)
    return jnp.where(inside, q, lax.stop_gradient(jnp.clip(q, CLIP_EPS, 1.0 - CLIP_EPS)))


def per_sample_loss(loss, p, y):
    """(per-sample loss, the argument q of the clip)."""
    py = lambda yy: jnp.take_along_axis(p, yy[:, None], axis=1)[:, 0]
    if loss in ("ce", "ascent"):
        q = py(y)
    elif loss == "relabel":
        q = py(jnp.where(y == RELABEL_FROM, RELABEL_TO, y))
    elif loss == "penalty":
        q = 1.0 - p[:, PENALTY_CLASS]
    else:
        raise ValueError(loss)
    sign = 1.0 if loss == "ascent" else -1.0
    return sign * jnp.log(clip(q)), q


def make_batch_loss(probs_fn, fixed):
    """jitted (p, loss, x, y) -> ((batch-mean loss, samples whose clip is active), gradient)."""
    def batch_loss(p, loss, x, y):
        l, q = per_sample_loss(loss, probs_fn(p, fixed, x), y)
        return jnp.mean(l), jnp.sum((q < CLIP_EPS) | (q > 1.0 - CLIP_EPS))
    return jax.jit(jax.value_and_grad(batch_loss, has_aux=True), static_argnums=1)


def reference_run(vg, p0, xs, y, kind, loss, steps):
    """Parameters after `steps` steps (dict per step count 1..steps) and the batch losses."""
    p = dict(p0)
    state = {n: (jnp.zeros_like(a), jnp.zeros_like(a)) for n, a in p.items()}
    after, losses = {}, []
    for t in range(steps):
        (value, clipped), g = vg(p, loss, jnp.asarray(xs[batch(t)]), jnp.asarray(y[batch(t)]))
        assert int(clipped) == 0, f"{kind} {loss} step {t}: the clip is active for {int(clipped)} sample(s)"
        losses.append(float(value))
        for n in p:
            m, v = state[n]
            if kind == "sgd":
                m = SGD_MOMENTUM * m - SGD_LR * g[n]
                p[n] = p[n] + m
            elif kind == "plain_sgd":
                p[n] = p[n] - ASCENT_LR * g[n]
            elif kind == "adam_textbook":          # Kingma & Ba: eps added to sqrt(v_hat)
                step = t + 1
                m = ADAM_BETA_1 * m + (1.0 - ADAM_BETA_1) * g[n]
                v = ADAM_BETA_2 * v + (1.0 - ADAM_BETA_2) * g[n] * g[n]
                m_hat, v_hat = m / (1.0 - ADAM_BETA_1 ** step), v / (1.0 - ADAM_BETA_2 ** step)
                p[n] = p[n] - ADAM_LR * m_hat / (jnp.sqrt(v_hat) + ADAM_EPSILON)
            elif kind == "adam":
                step = t + 1
                alpha = ADAM_LR * np.sqrt(1.0 - ADAM_BETA_2 ** step) / (1.0 - ADAM_BETA_1 ** step)
                m = m + (g[n] - m) * (1.0 - ADAM_BETA_1)
                v = v + (g[n] * g[n] - v) * (1.0 - ADAM_BETA_2)
                p[n] = p[n] - alpha * m / (jnp.sqrt(v) + ADAM_EPSILON)
            state[n] = (m, v)
        after[t + 1] = {n: np.asarray(a) for n, a in p.items()}
    return after, losses


def keras_equivalent_ce(probs_fn, fixed):
    """Keras' own sparse_categorical_crossentropy (jax backend: divide by the sum, clip, log,
    one-hot sum) called on the float64 probabilities; mean over the batch."""
    def batch_loss(p, x, y):
        out = keras.ops.sparse_categorical_crossentropy(y, probs_fn(p, fixed, x), from_logits=False)
        assert out.dtype == jnp.float64, out.dtype
        return jnp.mean(out)
    return jax.jit(jax.grad(batch_loss))


def reference_phase(data, y, kr):
    jax.config.update("jax_enable_x64", True)
    out = {}
    for m, spec in MODELS.items():
        xs = data[spec["input"]].astype(np.float64)
        p0 = {n: jnp.asarray(a, jnp.float64) for n, a in read_weights(spec["path"], spec["names"]).items()}
        fixed = {n: jnp.asarray(a, jnp.float64) for n, a in read_weights(spec["path"], spec["fixed"]).items()}
        probs_fn = mlp_probs if m == "mlp" else make_cnn_probs(kr[m]["bn_eps"])
        if m == "cnn":
            check(kr[m]["bn_eps"] == 1e-3, f"cnn: BN epsilon {kr[m]['bn_eps']} (from the model config)")

        prob = np.asarray(probs_fn(p0, fixed, jnp.asarray(xs)))
        d = float(np.abs(prob - kr[m]["predict"]).max())
        check(d < 1e-6, f"{m}: float64 forward vs Keras predict on the 200 samples: max |dp| {d:.2e} < 1e-6")
        py = prob[np.arange(len(y)), y]
        q2 = 1.0 - prob[:, PENALTY_CLASS]
        out_of = int(((py < CLIP_EPS) | (py > 1 - CLIP_EPS) | (q2 < CLIP_EPS) | (q2 > 1 - CLIP_EPS)).sum())
        print(f"[ref] {m}: at the checkpoint, p_y in [{py.min():.3e}, 1 - {1 - py.max():.3e}], "
              f"1 - p_{PENALTY_CLASS} in [{q2.min():.3e}, 1 - {1 - q2.max():.3e}]: {out_of} of the {len(y)} "
              f"samples outside the clip range [{CLIP_EPS}, 1 - {CLIP_EPS}]")

        vg = make_batch_loss(probs_fn, fixed)
        xb, yb = jnp.asarray(xs[batch(0)]), jnp.asarray(y[batch(0)])
        grads, values = {}, {}
        for loss in LOSSES:
            (v, clipped), g = vg(p0, loss, xb, yb)
            check(int(clipped) == 0, f"{m}: batch 0, {loss}: the clip is inactive for all {BATCH} samples")
            grads[loss] = {n: np.asarray(a) for n, a in g.items()}
            values[loss] = float(v)
        print(f"[ref] {m}: batch-0 losses " + ", ".join(f"{k} {v:.10f}" for k, v in values.items()))

        # ce against Keras' own loss function, in float64
        gk = keras_equivalent_ce(probs_fn, fixed)(p0, xb, yb)
        w = max(rel(gk[n], grads["ce"][n]) for n in spec["names"])
        check(w < 1e-12, f"{m}: ce gradient vs jax.grad of keras.ops.sparse_categorical_crossentropy "
                         f"(float64): worst {w:.1e} < 1e-12")
        w = max(rel(grads["ascent"][n], -grads["ce"][n]) for n in spec["names"])
        check(w == 0.0, f"{m}: ascent gradient = -ce gradient exactly")
        n2 = int((np.asarray(yb) == RELABEL_FROM).sum())
        w = max(rel(grads["relabel"][n], grads["ce"][n]) for n in spec["names"])
        check(n2 > 0 and w > 1e-3, f"{m}: batch 0 has {n2} label-{RELABEL_FROM} sample(s); relabel differs "
                                   f"from ce (max rel {w:.2e})")

        runs = {}
        for group, kind, loss, steps in RUNS:
            after, losses = reference_run(vg, p0, xs, y, kind, loss, steps)
            runs[group] = (after[steps], kind, loss, steps, losses)
        # consistency of the runs with each other
        w = max(rel(runs["sgd1"][0][n], np.asarray(p0[n]) - SGD_LR * grads["ce"][n]) for n in spec["names"])
        check(w < 1e-15, f"{m}: sgd1 = w0 - 0.05 g_ce (batch 0): max rel {w:.1e}")
        textbook = reference_run(vg, p0, xs, y, "adam_textbook", "ce", 1)[0][1]
        print(f"[ref] {m}: every step of every run: the clip is inactive for all samples (asserted)")
        print(f"[ref] {m}: batch loss at each step (step t on batch t): sgd " + " ".join(f"{v:.4f}" for v in runs["sgd10"][4])
              + "; adam " + " ".join(f"{v:.4f}" for v in runs["adam10"][4])
              + "; ascent " + " ".join(f"{v:.4f}" for v in runs["ascent_sgd3"][4]))
        out[m] = {"grads": grads, "values": values, "runs": runs, "textbook_adam1": textbook,
                  "p0": {n: np.asarray(a) for n, a in p0.items()}}
    return out


# ====================================================================== cross-check

def cross_check(kr, ref):
    summary = {}
    for m, spec in MODELS.items():
        print(f"\n[cross] {m}: Keras float32 vs float64 reference, per tensor max|keras - ref| / max|ref|")
        checks = [(f"grad/{loss}", kr[m]["grad"][loss], ref[m]["grads"][loss]) for loss in LOSSES]
        for group, _, _, _ in RUNS:
            checks.append((group, kr[m]["train"][group], ref[m]["runs"][group][0]))
        p0 = ref[m]["p0"]
        for what, k, r in checks:
            figures = {n: rel(k[n], r[n]) for n in spec["names"]}
            worst = max(figures.values())
            # for information: the same measure on the update w - w0 alone (includes Keras'
            # float32 rounding of w, which is large relative to a small update)
            upd = None if what.startswith("grad/") else max(rel(k[n] - p0[n], r[n] - p0[n]) for n in spec["names"])
            summary[(m, what)] = (worst, upd)
            print(f"[cross] {m} {what:12s} " + "  ".join(
                f"{layer_of(n)}/{n.split('/')[-1]} {v:.1e}" for n, v in figures.items()))
            check(worst < TOL, f"{m} {what}: worst {worst:.2e} < {TOL}")
        # where Adam's step-1 disagreement comes from: Keras' update at step 1 is
        # lr * g / (|g| + epsilon / sqrt(1 - beta_2)), steep in g for |g| near 3.2e-6
        worst_n = max(spec["names"], key=lambda n: rel(kr[m]["train"]["adam1"][n], ref[m]["runs"]["adam1"][0][n]))
        d = np.abs(kr[m]["train"]["adam1"][worst_n] - ref[m]["runs"]["adam1"][0][worst_n])
        i = np.unravel_index(d.argmax(), d.shape)
        g64, g32 = ref[m]["grads"]["ce"][worst_n][i], kr[m]["grad"]["ce"][worst_n][i]
        print(f"[cross] {m} adam1: worst element {layer_of(worst_n)}/{worst_n.split('/')[-1]}{tuple(int(j) for j in i)}: "
              f"|dw| {d[i]:.1e}, g float64 {g64:.6e}, Keras float32 {g32:.6e} (|g| vs "
              f"epsilon/sqrt(1-beta_2) = {ADAM_EPSILON / np.sqrt(1 - ADAM_BETA_2):.2e})")
        w = max(rel(kr[m]["train"]["adam1"][n], ref[m]["textbook_adam1"][n]) for n in spec["names"])
        check(w > 10 * TOL, f"{m}: control: textbook Adam (epsilon added to sqrt(v_hat)) is far from Keras' "
                             f"adam1 (worst {w:.2e}), so adam1 tells the two apart")
        summary[(m, "control: textbook adam1")] = (w, None)
        for kind, moved in kr[m]["fixed_moved"].items():
            check(moved["moving"] == 0.0 and not moved["seed"],
                  f"{m}: train_on_batch ({kind}, training=False): BN moving statistics unchanged, "
                  f"Dropout drew no random numbers")
        w = max(rel(kr[m]["plain_sgd1"][n], ref[m]["runs"]["sgd1"][0][n]) for n in spec["names"])
        pm = kr[m]["plain_moved"]
        print(f"[cross] {m}: unmodified train_on_batch (training=True), sgd1: worst {w:.2e}; BN moving "
              f"statistics moved by up to {pm['moving']:.3e}; Dropout drew random numbers: {pm['seed']}")
        if m == "mlp":
            same = all(np.array_equal(kr[m]["plain_sgd1"][n], kr[m]["train"]["sgd1"][n]) for n in spec["names"])
            check(same, "mlp (no BN, no Dropout): unmodified train_on_batch gives exactly the training=False result")
        summary[(m, "unmodified train_on_batch sgd1")] = (w, None)
    return summary


# ====================================================================== output

def write(ref):
    # libver v108: compact link storage (readable by HDF5 >= 1.8; ckptforget links 1.10), which
    # saves ~200 KB of symbol-table B-trees over h5py's default for ~200 small groups
    with h5py.File(OUT_H5, "w", libver=("v108", "v108")) as f:
        f.attrs["description"] = ("ckptforget training reference: batch-0 gradients of 4 losses and "
                                  "parameters after SGD/Adam/ascent steps; see make_training_fixtures.py")
        f.attrs["data"] = "engine/test_data.h5, x.astype(float32)/255, step t uses samples [20t, 20t+20)"
        f.attrs["mode"] = "inference: BN uses moving statistics (not trained), Dropout identity"
        f.attrs["batch_size"] = np.int64(BATCH)
        f.attrs["clip_epsilon"] = CLIP_EPS
        f.attrs["losses"] = json.dumps({
            "ce": "-log(clip(p_y, eps, 1-eps))", "ascent": "+log(clip(p_y, eps, 1-eps))",
            "relabel": f"ce with label {RELABEL_FROM} replaced by {RELABEL_TO}",
            "penalty": f"-log(clip(1 - p_{PENALTY_CLASS}, eps, 1-eps))",
            "batch": "mean over the batch; clip has zero gradient outside [eps, 1-eps]"}, sort_keys=True)
        f.attrs["sgd_learning_rate"] = SGD_LR
        f.attrs["sgd_momentum"] = SGD_MOMENTUM
        f.attrs["adam_learning_rate"] = ADAM_LR
        f.attrs["adam_beta_1"] = ADAM_BETA_1
        f.attrs["adam_beta_2"] = ADAM_BETA_2
        f.attrs["adam_epsilon"] = ADAM_EPSILON
        f.attrs["ascent_learning_rate"] = ASCENT_LR
        f.attrs["ascent_momentum"] = 0.0
        f.attrs["relabel_from"] = np.int64(RELABEL_FROM)
        f.attrs["relabel_to"] = np.int64(RELABEL_TO)
        f.attrs["penalty_class"] = np.int64(PENALTY_CLASS)
        f.attrs["bn_epsilon"] = 1e-3
        f.attrs["versions"] = json.dumps(versions(), sort_keys=True)
        for m, spec in MODELS.items():
            g = f.create_group(m)
            g.attrs["checkpoint"] = str(spec["path"].relative_to(HERE))
            g.attrs["input"] = f"test_data.h5 {spec['input']}"

            def put(group, tensors):
                for n in spec["names"]:
                    a = np.asarray(tensors[n], dtype=np.float64)
                    if a.nbytes > BIG:
                        group.create_dataset(n, data=a, chunks=a.shape, shuffle=True,
                                             compression="gzip", compression_opts=9)
                    else:
                        group.create_dataset(n, data=a)

            for loss in LOSSES:
                gg = g.create_group(f"grad/{loss}")
                gg.attrs["loss"] = loss
                gg.attrs["loss_value"] = ref[m]["values"][loss]
                gg.attrs["samples"] = "0..19"
                put(gg, ref[m]["grads"][loss])
            for group, (params, kind, loss, steps, losses) in ref[m]["runs"].items():
                gg = g.create_group(group)
                gg.attrs["optimizer"] = {"sgd": f"SGD(lr {SGD_LR}, momentum {SGD_MOMENTUM})",
                                         "adam": f"Adam(lr {ADAM_LR}, beta_1 {ADAM_BETA_1}, beta_2 "
                                                 f"{ADAM_BETA_2}, epsilon {ADAM_EPSILON})",
                                         "plain_sgd": f"SGD(lr {ASCENT_LR}, momentum 0)"}[kind]
                gg.attrs["loss"] = loss
                gg.attrs["steps"] = np.int64(steps)
                gg.attrs["losses"] = np.asarray(losses, dtype=np.float64)
                put(gg, params)


def read_back(ref):
    """Every dataset read back equals what was computed."""
    n = 0
    with h5py.File(OUT_H5, "r") as f:
        for m, spec in MODELS.items():
            for loss in LOSSES:
                for t in spec["names"]:
                    a = f[f"{m}/grad/{loss}/{t}"]
                    assert a.dtype == np.float64 and np.array_equal(a[()], ref[m]["grads"][loss][t])
                    n += 1
            for group in ref[m]["runs"]:
                for t in spec["names"]:
                    a = f[f"{m}/{group}/{t}"]
                    assert a.dtype == np.float64 and np.array_equal(a[()], ref[m]["runs"][group][0][t])
                    n += 1
    check(True, f"{OUT_H5.name}: {n} float64 datasets read back equal")


def main():
    print("versions: " + " ".join(f"{k}={v}" for k, v in versions().items()))
    data, y = load_data()
    print(f"[data] {len(y)} samples, {len(y) // BATCH} batches of {BATCH}; label-{RELABEL_FROM} per batch: "
          + " ".join(str(int((y[batch(t)] == RELABEL_FROM).sum())) for t in range(STEPS)))
    kr = keras_phase(data, y)
    ref = reference_phase(data, y, kr)
    summary = cross_check(kr, ref)
    write(ref)
    read_back(ref)

    print("\nworst Keras vs reference per check (max|keras - ref| / max|ref| per tensor, worst tensor):")
    for (m, what), (v, upd) in summary.items():
        print(f"  {m:4s} {what:32s} {v:.2e}" + ("" if upd is None else f"   (on w - w0: {upd:.2e})"))
    b = OUT_H5.read_bytes()
    print("\nsha256 / bytes:")
    print(f"{hashlib.sha256(b).hexdigest()}  {len(b):8d}  {OUT_H5.relative_to(HERE)}")


if __name__ == "__main__":
    main()
