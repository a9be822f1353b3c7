#!/usr/bin/env python3
"""Forgetting quality: ckptforget's passes against retraining from scratch, on a Keras MNIST CNN, the
seed MLP, a residual CNN and an LSTM classifier (--archs chooses which).

    KERAS_BACKEND=jax python3 bench/quality/quality.py [--work DIR] [--bin CKPTFORGET] [options]

Normally run through `bash bench/quality/run.sh` (which builds the binary and prints the machine).
See bench/quality/README.md for what is measured and the results of a run.

Steps (all files in --work, default <repo>/bench-out/quality, gitignored):

1. Data: the 10,000 MNIST test images (gz IDX in MNIST_DIR, default <repo>/../shared/data/mnist),
   split deterministically: train = the first 8,000; of the last 2,000, the even positions are the
   validation split (val.h5, 1,000) and the odd ones the test split (test.h5, 1,000). Settings are
   chosen on train and validation only; the test split measures only the models reported. Written
   with h5py: x uint8 (N, 28, 28, 1), x_flat uint8 (N, 784) (the same pixels, for the MLP, read as
   `train.h5:x_flat,y`), y int64 (N,). Also train_forget.h5 / train_retain.h5 (train split by
   class 2), used only for the one-pass timing variant of ssd.
2. Two architectures, each trained with Keras (JAX backend) on train x/255, seed --seed, Adam 1e-3,
   batch 64, saved with model.save (legacy HDF5); timed (build + compile + fit + save):
     cnn: Conv2D(16,3,relu,same) -> MaxPool -> Conv2D(32,3,relu) -> MaxPool -> Flatten ->
          Dense(64,relu) -> Dense(10,softmax), --epochs (5) epochs;
     mlp: the seed MLP of Fixtures/keras/mnist_mlp.h5: Input(784) -> Dense(32,relu,"hidden") ->
          Dense(10,softmax,"output"), --mlp-epochs (3) epochs (compared with the fixture when present).
     rescnn (issue 19; functional): Conv2D(16,3,same) -> BN -> ReLU -> MaxPool -> [Conv2D(16,3,same)
          -> BN -> ReLU -> Conv2D(16,3,same) -> BN] + skip (Add) -> ReLU -> MaxPool -> Conv2D(32,3,same)
          -> BN -> ReLU -> GlobalAveragePooling2D -> Dense(10,softmax); convolutions without bias, BN
          momentum 0.9 (0.99 leaves the moving statistics unsettled after so few steps);
          --rescnn-epochs (5) epochs;
     lstm (issue 19): Reshape(28,28) (the image's rows as 28 timesteps of 28 features) -> LSTM(64)
          -> Dense(10,softmax), --lstm-epochs (5) epochs.
   The two issue-19 models run only ssd (exact Fisher grid and both automatic searches) and ascent;
   no finetune, dampen or relabel.
3. Baseline: the same model retrained from scratch on train less class 2, --runs times (median).
4. Methods (each one ckptforget command, class 2):
     ssd hand-tuned: a grid of alpha x lambda for --fisher exact and batch:64, run on a statistics
       file computed once per mode with `ckptforget stats` (equal to computing them from --data);
       the best setting of each mode is then run and timed in the data form (--data train.h5);
     ssd:alpha=auto (lambda 1) and ssd:alpha=auto,lambda=auto (lambda = alpha/10), each with
       --require forget_acc<=0.01,retain_drop<=0.005 (train metrics);
     ascent, finetune, dampen: small grids (GRIDS below, --grid to override), data form;
     dampen:auto with the same --require.
   Each command: ckptforget original.h5 --data train.h5 --test-data val.h5 --scale 1/255 --class 2
   --pass SPEC -o OUT --json, timed (wall, whole process).
5. Every model is evaluated with
     ckptforget eval M --data train.h5 --test-data val.h5 --scale 1/255 --class 2
                      --relearn N --before original.h5 --json
       -> forget acc (train class 2 = Df), retain acc (train others = Dr), val acc (val less
          class 2), MIA on val (members = Dr, non-members = val less class 2, targets = Df), relearn
          time (steps of fine-tuning on Df until its accuracy is back to the original's, or > N);
          settings are chosen by these;
   and the models reported (original, retraining, the chosen setting of each method) also with
     ckptforget eval M --data train.h5 --test-data test.h5 ... -> test acc, MIA (non-members = test)
     ckptforget eval M --data test.h5 --test-data test.h5 ... -> test class-2 acc; its retain row
       must equal the first's test row.
   (ssd grid settings that miss the forget or retain condition get no relearn measurement.)
   Cross-checks (--keras-check all, the default; `reported` limits them to the models of the main
   tables): Keras' own predict confusion matrices of every split measured must equal ckptforget's,
   and the MIA is refitted with scipy on Keras' probabilities. For the models of the
   main tables, the relearn time is also measured independently in JAX (Keras' Adam, lr 1e-3, batches
   of 32 forget samples shuffled by numpy seed 0) with cross-entropy computed from the logits, which
   has no clip, beside the share of Df whose true-label probability is below Keras' clip 1e-7.
6. Best setting of a method (a grid; judged on train and validation): fewest targets missed, then
   the smallest total normalised
   shortfall, then the highest retain acc. Targets (the issue), against the original and retraining:
   forget acc <= 1 %; retain drop <= 0.5 points; |MIA - retraining's MIA| <= 5 points (validation
   MIA to choose, test MIA to report); relearn >= half of retraining's; wall time <= 25 % of
   retraining's. For the ssd grid (run in the --stats
   form) the wall-time target is left out of the choice: every setting of a mode runs the same
   command and differs only in which parameters it dampens.
7. Timing: --runs rounds; each round retrains once and runs every best setting once (the whole
   command as in step 4, and the edit alone, without --test-data), so both sides see the same
   machine load. Fractions are medians over rounds. Outputs of the rounds must be byte-identical.
8. Relabel task (cnn): forget 6 and relabel as 3 with finetune:...,relabel=6:3 --class 6; per-class
   recall (class accuracy) of 3 and 6 and overall accuracy on all classes before and after; the
   setting is chosen on the validation split, every setting reported on the test split.
9. Prints the tables and writes results.json and results.md to --work.

Exit status: 0 when everything was measured (whether or not targets are met: it is a report),
1 when something could not be measured (a command failed, a cross-check disagrees).
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py  # noqa: E402
import numpy as np  # noqa: E402

FORGET_CLASS = 2
N_TRAIN = 8000
# The last 2,000 images are held out: alternately validation (choosing settings: grids, --require of the
# automatic searches, the relabel setting) and test (only to report the chosen settings). Alternating, not
# two blocks, because MNIST's test set is grouped by writer: two blocks of 1,000 differ in difficulty.
FORGET_MAX = 0.01
RETAIN_DROP_MAX = 0.005
MIA_GAP_MAX = 0.05
RELEARN_MIN_SHARE = 0.5
WALL_MAX_SHARE = 0.25
POLICY = f"forget_acc<={FORGET_MAX},retain_drop<={RETAIN_DROP_MAX}"
CLIP = 1e-7
RETAIN_SUBSETS = (10, 25, 50)  # percent; a grid entry "SPEC [retain P%]" trains on that subset
ROOT = Path(__file__).resolve().parents[2]
LAST_CPU = 0.0  # user + sys seconds of the last ckptforget command

# Hand-search grids. Each method's first entry is its defaults (dampen has none: the slides' alpha 0.01);
# the rest came from a search by hand on
# train and validation (README, "How the settings were found"). A grid entry is a pass spec, optionally
# followed by " [retain P%]" (see split_spec).
STOP = "stop=forget_acc<=0.01"
GRIDS = {
    "cnn": {
        "ascent": [
            "ascent",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=1,{STOP}",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=3,{STOP}",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=10,{STOP}",
            f"ascent:steps=200,lr=0.0003,optimizer=adam,retain=3,{STOP}",
            f"ascent:steps=200,lr=0.005,retain=3,{STOP}",
            f"ascent:steps=200,lr=0.01,retain=1,{STOP}",
        ],
        "finetune": [
            "finetune",
            "finetune:freeze=0.9",
            "finetune:freeze=none,lr=0.0003",
            "finetune [retain 25%]",
            "finetune:freeze=0.5 [retain 25%]",
            "finetune:freeze=0.9 [retain 25%]",
            "finetune:freeze=0.9,penalty=0.3 [retain 25%]",
        ],
        "dampen": ["dampen:0.01", "dampen:0.1", "dampen:0", "dampen:0.01,bias=floor"],
    },
    "mlp": {
        "ascent": [
            "ascent",
            f"ascent:steps=300,lr=0.003,retain=10,{STOP}",
            f"ascent:steps=300,lr=0.0003,optimizer=adam,retain=10,{STOP}",
            f"ascent:steps=300,lr=0.0003,optimizer=adam,retain=30,{STOP}",
            f"ascent:steps=300,lr=0.0005,optimizer=adam,retain=30,{STOP}",
            f"ascent:steps=300,lr=0.001,optimizer=adam,retain=30,{STOP}",
            f"ascent:steps=300,lr=0.001,optimizer=adam,retain=100,{STOP}",
        ],
        "finetune": [
            "finetune",
            "finetune:freeze=none",
            "finetune [retain 25%]",
            "finetune:penalty=0.3 [retain 25%]",
            "finetune:freeze=0.9 [retain 25%]",
            "finetune:freeze=0.9,penalty=0.3 [retain 25%]",
        ],
        "dampen": ["dampen:0.01", "dampen:0.1", "dampen:0", "dampen:0.01,bias=floor"],
    },
    # issue 19: the residual CNN and the LSTM are compared on ssd and ascent only (no finetune or dampen
    # grid, hence no dampen:auto); ascent's defaults first, then the CNN's chosen setting and stronger retain
    # terms (on the residual CNN retain=3 kept 56-67 % of Dr in a first run, retain=10 94.6 %)
    "rescnn": {
        "ascent": [
            "ascent",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=3,{STOP}",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=10,{STOP}",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=30,{STOP}",
            f"ascent:steps=400,lr=0.00003,optimizer=adam,retain=10,{STOP}",
        ],
    },
    "lstm": {
        "ascent": [
            "ascent",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=3,{STOP}",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=10,{STOP}",
            f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=30,{STOP}",
            f"ascent:steps=200,lr=0.0003,optimizer=adam,retain=10,{STOP}",
        ],
    },
}
RELABEL_GRID = [
    "finetune:relabel=6:3",
    "finetune:relabel=6:3,penalty=0.3",
    "finetune:relabel=6:3,freeze=none",
]
PAPER_RELABEL = {"overall": (0.9857, 0.8936), "class3": (0.9743, 0.9901), "class6": (0.9927, 0.0)}
SSD_GRID = {  # per model and Fisher mode: (alphas, lambdas); the defaults alpha=10, lambda=1 are always added
    "cnn": {"exact": ("0.5,0.55,0.6,0.65,0.7", "0.1,0.01"), "batch:64": ("0.7,1,1.5,2", "0.1,0.01")},
    "mlp": {"exact": ("2,3,4,5,6", "1,0.1,0.01"), "batch:64": ("10,15,20,30,50", "1,0.1")},
    # a Fisher mode missing here is not run for that model
    # probed on a statistics file of a first run (alpha 0.5-2 emptied Dr on the residual CNN)
    "rescnn": {"exact": ("3.5,4,4.25,4.5", "0.1")},
    "lstm": {"exact": ("2.5,3,4,5", "0.1")},
}


def log(*a):
    print(*a, flush=True)


def mnist_dir():
    return Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parents[3] / "shared/data/mnist"))


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def write_h5(path, x, y, flat=False):
    tmp = path.with_suffix(".tmp.h5")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("x", data=np.ascontiguousarray(x, np.uint8))
        if flat:
            f.create_dataset("x_flat", data=np.ascontiguousarray(x.reshape(len(x), -1), np.uint8))
        f.create_dataset("y", data=np.ascontiguousarray(y, np.int64))
    tmp.replace(path)


def make_data(work):
    d = mnist_dir()
    x = read_idx(d / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1)
    y = read_idx(d / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if len(x) != 10000 or len(y) != 10000:
        raise SystemExit(f"quality: expected 10,000 images and labels in {d}, got {len(x)}/{len(y)}")
    xtr, ytr = x[:N_TRAIN], y[:N_TRAIN]
    xva, yva, xte, yte = x[N_TRAIN::2], y[N_TRAIN::2], x[N_TRAIN + 1::2], y[N_TRAIN + 1::2]
    write_h5(work / "train.h5", xtr, ytr, flat=True)
    write_h5(work / "val.h5", xva, yva, flat=True)
    write_h5(work / "test.h5", xte, yte, flat=True)
    f = ytr == FORGET_CLASS
    write_h5(work / "train_forget.h5", xtr[f], ytr[f], flat=True)
    write_h5(work / "train_retain.h5", xtr[~f], ytr[~f], flat=True)
    # fixed random subsets of the retain split, for settings that train on less retain data
    keep = np.flatnonzero(~f)
    for pct_ in RETAIN_SUBSETS:
        sub = np.sort(np.random.default_rng(0).choice(keep, round(len(keep) * pct_ / 100), replace=False))
        write_h5(work / f"train_retain_{pct_}.h5", xtr[sub], ytr[sub], flat=True)
    log(f"data: train {len(ytr)} (class {FORGET_CLASS}: {int(f.sum())}), validation {len(yva)} "
        f"(class {FORGET_CLASS}: {int((yva == FORGET_CLASS).sum())}), test {len(yte)} "
        f"(class {FORGET_CLASS}: {int((yte == FORGET_CLASS).sum())}) from {d}")
    return xtr, ytr, xva, yva, xte, yte


# ---------------------------------------------------------------- Keras


def build_cnn():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Conv2D(16, 3, activation="relu", padding="same", name="conv1"),
            layers.MaxPooling2D(name="pool1"),
            layers.Conv2D(32, 3, activation="relu", name="conv2"),
            layers.MaxPooling2D(name="pool2"),
            layers.Flatten(name="flatten"),
            layers.Dense(64, activation="relu", name="fc"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="mnist_cnn",
    )


def build_rescnn():
    """Issue 19's residual CNN: a functional graph with an Add skip connection and BatchNormalization."""
    import keras
    from keras import layers

    x = inp = keras.Input((28, 28, 1), name="image")
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="stem")(x)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    x = skip = layers.MaxPooling2D(name="pool1")(x)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="res_conv1")(x)
    x = layers.BatchNormalization(momentum=0.9, name="res_bn1")(x)
    x = layers.ReLU(name="res_relu1")(x)
    x = layers.Conv2D(16, 3, padding="same", use_bias=False, name="res_conv2")(x)
    x = layers.BatchNormalization(momentum=0.9, name="res_bn2")(x)
    x = layers.Add(name="res_add")([x, skip])
    x = layers.ReLU(name="res_relu2")(x)
    x = layers.MaxPooling2D(name="pool2")(x)
    x = layers.Conv2D(32, 3, padding="same", use_bias=False, name="conv3")(x)
    x = layers.BatchNormalization(momentum=0.9, name="bn3")(x)
    x = layers.ReLU(name="relu3")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    out = layers.Dense(10, activation="softmax", name="output")(x)
    return keras.Model(inp, out, name="mnist_rescnn")


def build_lstm():
    """Issue 19's LSTM classifier: the image's 28 rows as a sequence of 28 features."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input((28, 28, 1), name="image"),
            layers.Reshape((28, 28), name="rows"),
            layers.LSTM(64, name="lstm"),
            layers.Dense(10, activation="softmax", name="output"),
        ],
        name="mnist_lstm",
    )


def build_mlp():
    """The fixture MLP (Fixtures/fixture_common.py build_mlp)."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ],
        name="mnist_mlp",
    )


def shaped(x, flat):
    x = x.astype(np.float32) / 255.0
    return x.reshape(len(x), -1) if flat else x


def train(arch, x, y, out, seed, batch):
    """Build, compile, fit and save; returns (wall seconds, fit seconds, CPU seconds of the process)."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    c0 = time.process_time()
    t0 = time.perf_counter()
    m = arch.build()
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    t1 = time.perf_counter()
    m.fit(shaped(x, arch.flat), y, epochs=arch.epochs, batch_size=batch, shuffle=True, verbose=0)
    t2 = time.perf_counter()
    tmp = out.with_suffix(".tmp.h5")
    m.save(tmp)
    tmp.replace(out)
    t3 = time.perf_counter()
    return t3 - t0, t2 - t1, time.process_time() - c0


def keras_probs(path, x):
    import keras

    m = keras.models.load_model(path, compile=False)
    flat = len(m.input_shape) == 2
    return np.asarray(m.predict(shaped(x, flat), batch_size=500, verbose=0))


def h5_weights(path):
    out = {}
    with h5py.File(path) as f:
        root = f["model_weights"] if "model_weights" in f else f
        root.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset) else None)
    return out


def same_weights(a, b):
    wa, wb = h5_weights(a), h5_weights(b)
    return sorted(wa) == sorted(wb) and all(np.array_equal(wa[k], wb[k]) for k in wa)


def entropy(p):
    p = np.asarray(p, np.float64)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=1)


def mia_refit(h_members, h_non, h_targets):
    """The SSD code's MIA (sklearn LogisticRegression(class_weight="balanced", lbfgs, multinomial) on
    the entropy) refitted with scipy: binary logistic, sample weight n/(2 n_class), penalty w^2/4
    (multinomial on two classes), intercept free; share of targets with p(member) >= 0.5."""
    try:
        from scipy.optimize import minimize
    except ImportError:
        return None
    x = np.concatenate([h_members, h_non])
    y = np.concatenate([np.ones(len(h_members)), np.zeros(len(h_non))])
    sw = np.where(y == 1, len(x) / (2 * len(h_members)), len(x) / (2 * len(h_non)))

    def obj(t):
        w, b = t
        z = w * x + b
        loss = y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)
        g = (1 / (1 + np.exp(-z)) - y) * sw
        return (sw * loss).sum() + 0.25 * w * w, np.array([(g * x).sum() + 0.5 * w, g.sum()])

    r = minimize(obj, [0.0, 0.0], jac=True, method="L-BFGS-B", options={"gtol": 1e-10, "maxiter": 10000})
    w, b = r.x
    return {"weight": float(w), "intercept": float(b), "share": float(np.mean(w * h_targets + b >= 0))}


def confusion(y, pred):
    c = np.zeros((10, 10), np.int64)
    np.add.at(c, (y, pred), 1)
    return c


def jax_relearn(path, fx, fy, target, limit, lr=1e-3, batch=32, seed=0):
    """Independent relearn time: steps of Adam (Keras' update, lr 1e-3) on batches of `batch` forget
    samples (numpy permutation, seed 0, reshuffled every epoch) with cross-entropy computed from the
    logits (log-softmax, no clip), until accuracy on (fx, fy) >= target; None when not within limit.
    Also returns the share of samples whose true-label probability is below Keras' clip (1e-7), where
    Keras' (and ckptforget's) clipped cross-entropy has no gradient."""
    import jax
    import jax.numpy as jnp
    import keras

    keras.backend.clear_session()
    m = keras.models.load_model(path, compile=False)
    m.layers[-1].activation = keras.activations.linear  # logits
    tv = [jnp.asarray(v.value) for v in m.trainable_variables]
    ntv = [jnp.asarray(v.value) for v in m.non_trainable_variables]
    fxj, fyj = jnp.asarray(fx), jnp.asarray(fy)

    def logits(tv, x):
        return m.stateless_call(tv, ntv, x, training=False)[0]

    def loss(tv, x, y):
        z = logits(tv, x)
        return jnp.mean(jax.nn.logsumexp(z, axis=1) - jnp.take_along_axis(z, y[:, None], axis=1)[:, 0])

    @jax.jit
    def step(tv, mo, ve, t, x, y):
        g = jax.grad(loss)(tv, x, y)
        b1, b2, eps = 0.9, 0.999, 1e-7
        a = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        mo = [u + (gg - u) * (1 - b1) for u, gg in zip(mo, g)]
        ve = [u + (gg * gg - u) * (1 - b2) for u, gg in zip(ve, g)]
        return [p - a * u / (jnp.sqrt(v) + eps) for p, u, v in zip(tv, mo, ve)], mo, ve

    @jax.jit
    def acc(tv):
        return jnp.mean(jnp.argmax(logits(tv, fxj), axis=1) == fyj)

    p = jax.nn.softmax(logits(tv, fxj), axis=1)
    clipped = float(jnp.mean(jnp.take_along_axis(p, fyj[:, None], axis=1)[:, 0] < CLIP))
    if float(acc(tv)) >= target:
        return 0, clipped
    mo = [jnp.zeros_like(p) for p in tv]
    ve = [jnp.zeros_like(p) for p in tv]
    rng = np.random.default_rng(seed)
    t = 0
    while True:
        idx = rng.permutation(len(fx))
        for b in range(0, len(fx), batch):
            t += 1
            k = idx[b:b + batch]
            tv, mo, ve = step(tv, mo, ve, float(t), fxj[k], fyj[k])
            if float(acc(tv)) >= target:
                return t, clipped
            if t >= limit:
                return None, clipped


# ---------------------------------------------------------------- ckptforget


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, what, ok=(0,)):
    global LAST_CPU
    c = children_cpu()
    t = time.perf_counter()
    p = subprocess.run([str(a) for a in cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    LAST_CPU = children_cpu() - c
    if p.returncode not in ok:
        raise RuntimeError(f"{what}: exit {p.returncode}\n$ {' '.join(map(str, cmd))}\n{p.stderr[-3000:]}")
    return p, wall


class Arch:
    def __init__(self, key, label, build, epochs, flat, work):
        self.key, self.label, self.build, self.epochs, self.flat = key, label, build, epochs, flat
        self.dir = work / key
        suffix = ":x_flat,y" if flat else ""
        self.train = f"{work / 'train.h5'}{suffix}"
        self.val = f"{work / 'val.h5'}{suffix}"
        self.test = f"{work / 'test.h5'}{suffix}"
        self.original = self.dir / "original.h5"
        self.retrain = self.dir / "retrain.h5"


def unlink_outputs(out):
    for p in (Path(out), Path(str(out) + ".manifest.json"), Path(str(out) + ".sig")):
        p.unlink(missing_ok=True)


def split_spec(entry):
    """A grid entry is a pass spec, optionally followed by " [retain P%]": the pass then gets
    --forget-data (all of Df) and --retain-data (a fixed P % subset of Dr) instead of --data."""
    m = re.fullmatch(r"(.*?)\s*\[retain (\d+)%\]", entry)
    if not m:
        return entry, None
    if int(m.group(2)) not in RETAIN_SUBSETS:
        raise SystemExit(f"quality: retain subsets are {RETAIN_SUBSETS} percent, got {entry!r}")
    return m.group(1), int(m.group(2))


def forget_cmd(binary, arch, spec, out, cls=FORGET_CLASS, test=True, data=True, stats=None, fisher=None,
               require=None, one_pass=False, retain_subset=None):
    cmd = [binary, arch.original]
    sfx = ":x_flat,y" if arch.flat else ""
    if stats is not None:
        cmd += ["--stats", stats]
    elif one_pass or (data and retain_subset):
        name = f"train_retain_{retain_subset}.h5" if retain_subset else "train_retain.h5"
        cmd += ["--forget-data", f"{arch.dir.parent / 'train_forget.h5'}{sfx}",
                "--retain-data", f"{arch.dir.parent / name}{sfx}"]
    elif data:
        cmd += ["--data", arch.train]
    if test:
        cmd += ["--test-data", arch.val]
    if stats is None and (data or test or one_pass):
        cmd += ["--scale", "1/255"]
    cmd += ["--class", cls, "--pass", spec]
    if fisher:
        cmd += ["--fisher", fisher]
    if require:
        cmd += ["--require", require]
    return cmd + ["-o", out, "--json"]


def forget_run(binary, arch, spec, out, **kw):
    """One ckptforget command; returns (wall, cpu, report or None, stderr). Exit 4 (--require not met)
    is a result, not a failure: no output."""
    unlink_outputs(out)
    p, wall = run(forget_cmd(binary, arch, spec, out, **kw), f"{arch.key} {spec}", ok=(0, 4))
    rep = json.loads(p.stdout) if p.returncode == 0 else None
    return wall, LAST_CPU, rep, p.stderr


def ckpt_eval(binary, model, data, test, cls=FORGET_CLASS, relearn=None, before=None):
    cmd = [binary, "eval", model, "--data", data]
    if test:
        cmd += ["--test-data", test]
    cmd += ["--scale", "1/255"]
    if cls is not None:
        cmd += ["--class", cls]
    if relearn:
        cmd += ["--relearn", relearn, "--before", before]
    p, wall = run(cmd + ["--json"], f"eval {model} on {data}")
    return json.loads(p.stdout), wall


class Ctx:
    """What every evaluation needs."""

    def __init__(self, binary, args, data, keras):
        self.binary, self.args, self.data, self.keras = binary, args, data, keras
        self.problems = []


def evaluate(ctx, arch, model, relearn=True, report=True, keras=True):
    """Metrics of one model from ckptforget eval.

    Always (what settings are chosen by): eval on train with the validation split as held-out data:
    forget acc (Df), retain acc (Dr), val acc (val less class 2), mia_val (non-members = val less
    class 2) and, with relearn, the relearn time. With report (only for the models of the main
    tables): eval on train with the test split (test acc, mia) and eval on test (test class-2 acc,
    test acc over all classes). With keras: Keras' predict confusion matrices must equal
    ckptforget's on every split measured, and the MIA is refitted with scipy."""
    b = ctx.binary
    sel, _ = ckpt_eval(b, model, arch.train, arch.val, relearn=ctx.args.relearn if relearn else None,
                       before=arch.original)
    s = sel["splits"]
    m = {
        "forget_acc": s["forget"]["accuracy"],
        "retain_acc": s["retain"]["accuracy"],
        "val_acc": s["test"]["accuracy"],
        "mia_val": sel["mia"]["member_share"],
        "n": {"forget": s["forget"]["samples"], "retain": s["retain"]["samples"], "val": s["test"]["samples"]},
    }
    if relearn:
        m["relearn"] = sel["relearn"]["steps"]  # None: not within the limit
        m["relearn_target"] = sel["relearn"]["target_forget_acc"]
    problems = []
    tr = te = None
    if report:
        tr, _ = ckpt_eval(b, model, arch.train, arch.test)
        te, _ = ckpt_eval(b, model, arch.test, arch.test)
        m["test_acc"] = tr["splits"]["test"]["accuracy"]
        m["mia"] = tr["mia"]["member_share"]
        m["test_forget_acc"] = te["splits"]["forget"]["accuracy"]
        m["test_all_acc"] = te["splits"]["all"]["accuracy"]
        m["n"].update(test=tr["splits"]["test"]["samples"], test_forget=te["splits"]["forget"]["samples"])
        if abs(te["splits"]["retain"]["accuracy"] - m["test_acc"]) > 1e-12:
            problems.append(f"{model}: test row of the train eval ({m['test_acc']}) != retain split of the test "
                            f"eval ({te['splits']['retain']['accuracy']})")
        for k in ("forget", "retain"):
            if tr["splits"][k]["accuracy"] != s[k]["accuracy"]:
                problems.append(f"{model}: {k} accuracy differs between the two train evals")
    if keras and ctx.keras:
        (xtr, ytr, xva, yva, xte, yte) = ctx.data
        ptr, pva = keras_probs(model, xtr), keras_probs(model, xva)
        f_tr, f_va = ytr == FORGET_CLASS, yva == FORGET_CLASS
        pairs = {
            "forget": (confusion(ytr[f_tr], ptr[f_tr].argmax(1)), s["forget"]["confusion"]),
            "retain": (confusion(ytr[~f_tr], ptr[~f_tr].argmax(1)), s["retain"]["confusion"]),
            "val": (confusion(yva[~f_va], pva[~f_va].argmax(1)), s["test"]["confusion"]),
        }
        hm, ht = entropy(ptr[~f_tr]), entropy(ptr[f_tr])
        mias = {"mia_val": (entropy(pva[~f_va]), sel)}
        if report:
            pte = keras_probs(model, xte)
            f_te = yte == FORGET_CLASS
            pairs["test"] = (confusion(yte[~f_te], pte[~f_te].argmax(1)), tr["splits"]["test"]["confusion"])
            pairs["test_forget"] = (confusion(yte[f_te], pte[f_te].argmax(1)), te["splits"]["forget"]["confusion"])
            mias["mia"] = (entropy(pte[~f_te]), tr)
        kc = {}
        for name, (k, c) in pairs.items():
            c = np.asarray(c)
            kc[name] = {"keras_acc": float(np.trace(k) / k.sum()), "cells_off": int(np.abs(k - c).sum() // 2)}
            if not np.array_equal(k, c):
                problems.append(f"{model}: {name}: Keras and ckptforget confusion matrices differ "
                                f"(>= {kc[name]['cells_off']} samples)")
        m["keras"] = kc
        # share of Df whose true-label probability is below Keras' clip: no cross-entropy gradient there
        m["df_clipped_share"] = float(np.mean(ptr[f_tr][:, FORGET_CLASS] < CLIP))
        for key, (hn, ev) in mias.items():
            sfx = "" if key == "mia" else "_val"
            m["entropy_mean" + sfx] = {"members": float(hm.mean()), "non_members": float(hn.mean()),
                                       "targets": float(ht.mean())}
            m["mia_fit" + sfx] = {"weight": ev["mia"]["weight"], "intercept": ev["mia"]["intercept"]}
            ref = mia_refit(hm, hn, ht)
            if ref is not None:
                m["mia_refit" + sfx] = ref
                if abs(ref["share"] - m[key]) > 2.5 / len(ht):
                    problems.append(f"{model}: {key} refit on Keras probabilities {ref['share']:.4f} "
                                    f"!= ckptforget {m[key]:.4f}")
    m["problems"] = problems
    ctx.problems += problems
    return m


def relearn_value(m, limit):
    r = m.get("relearn", "missing")
    if r == "missing":
        return None
    return limit + 1 if r is None else r


def fmt_relearn(r, limit):
    if r == "missing" or r is False:
        return "-"
    return f"> {limit}" if r is None else str(r)


def assess(m, orig, rt, limit, wall=None, rt_wall=None, split="val", kind="wall"):
    """Each target: (met, normalised shortfall, text). Missing measurements count as missed. The MIA
    is compared on `split`: "val" (non-members from the validation split; what settings are chosen
    by) or "test" (the reported figure)."""
    t = {}
    t["forget"] = (m["forget_acc"] <= FORGET_MAX, (m["forget_acc"] - FORGET_MAX) / FORGET_MAX,
                   f"forget {100 * m['forget_acc']:.2f} % (max {100 * FORGET_MAX:g} %)")
    drop = orig["retain_acc"] - m["retain_acc"]
    t["retain"] = (drop <= RETAIN_DROP_MAX + 1e-12, (drop - RETAIN_DROP_MAX) / RETAIN_DROP_MAX,
                   f"retain drop {100 * drop:.2f} pts (max {100 * RETAIN_DROP_MAX:g})")
    mk = "mia_val" if split == "val" else "mia"
    gap = abs(m[mk] - rt[mk])
    t["mia"] = (gap <= MIA_GAP_MAX + 1e-12, (gap - MIA_GAP_MAX) / MIA_GAP_MAX,
                f"MIA ({split}) {100 * m[mk]:.2f} % vs retraining {100 * rt[mk]:.2f} % (gap {100 * gap:.2f} pts, max {100 * MIA_GAP_MAX:g})")
    r, rr = relearn_value(m, limit), relearn_value(rt, limit)
    need = RELEARN_MIN_SHARE * rr
    if r is None:
        t["relearn"] = (False, 1.0, "relearn not measured")
    else:
        t["relearn"] = (r >= need, (need - r) / need,
                        f"relearn {fmt_relearn(m['relearn'], limit)} steps (min {need:g} = half of retraining's {fmt_relearn(rt['relearn'], limit)})")
    if wall is not None:
        lim = WALL_MAX_SHARE * rt_wall
        t["wall"] = (wall <= lim, (wall - lim) / lim,
                     f"{kind} {wall:.2f} s = {wall / rt_wall:.2f}x retraining's {rt_wall:.2f} s (max {WALL_MAX_SHARE:g}x)")
    return t


def score(t, retain_acc):
    missed = sum(1 for ok, _, _ in t.values() if not ok)
    short = sum(max(s, 0) for ok, s, _ in t.values() if not ok)
    return (missed, short, -retain_acc)


def pct(v):
    return "-" if v is None else f"{100 * v:.2f}"


def fmt_num(v):
    return f"{v:g}"


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total():
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


# ---------------------------------------------------------------- one architecture


def arch_modes(args, arch):
    """The Fisher modes of --modes that the model's ssd grid has (all of them with --alphas/--mlp-alphas)."""
    return [m for m in args.modes if args.ssd_grid.get(arch.key) or m in SSD_GRID[arch.key]]


def bench_arch(ctx, arch, xtr, ytr, keras_all):
    args, b = ctx.args, ctx.binary
    keep = ytr != FORGET_CLASS
    limit = args.relearn
    res = {"label": arch.label, "epochs": arch.epochs}
    arch.dir.mkdir(parents=True, exist_ok=True)

    # ---- original
    wall, fit, cpu = train(arch, xtr, ytr, arch.original, args.seed, args.batch)
    log(f"[{arch.key}] original: trained {arch.epochs} epochs on {len(ytr)} samples in {wall:.1f} s (fit {fit:.1f} s)")
    orig = evaluate(ctx, arch, arch.original)
    orig.update(train_wall=wall, train_fit=fit, train_cpu=cpu)
    import keras
    km = keras.models.load_model(arch.original)
    xva, yva, xte, yte = ctx.data[2:]
    kev = {}
    for name, (x, y) in {"forget": (xtr[~keep], ytr[~keep]), "retain": (xtr[keep], ytr[keep]),
                         "val": (xva[yva != FORGET_CLASS], yva[yva != FORGET_CLASS]),
                         "test": (xte[yte != FORGET_CLASS], yte[yte != FORGET_CLASS]), "test_all": (xte, yte)}.items():
        loss, acc = km.evaluate(shaped(x, arch.flat), y, batch_size=500, verbose=0)
        kev[name] = {"loss": float(loss), "accuracy": float(acc)}
    orig["keras_evaluate"] = kev
    if arch.key == "mlp":
        fx = ROOT / "Fixtures/keras/mnist_mlp.h5"
        if fx.exists():
            wa, wb = h5_weights(arch.original), h5_weights(fx)
            orig["fixture_max_abs_diff"] = (max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)
                                            if sorted(wa) == sorted(wb) else None)
    log(f"[{arch.key}] original: Df {pct(orig['forget_acc'])} Dr {pct(orig['retain_acc'])} test {pct(orig['test_acc'])} "
        f"MIA {pct(orig['mia'])} relearn {fmt_relearn(orig['relearn'], limit)}")
    res["original"] = orig

    # ---- retraining baseline (first runs; more in the timing rounds)
    wall, fit, cpu = train(arch, xtr[keep], ytr[keep], arch.retrain, args.seed, args.batch)
    rt_runs = [{"wall": wall, "fit": fit, "cpu": cpu, "load": os.getloadavg()[0], "same_weights": True}]
    log(f"[{arch.key}] retrain: {wall:.1f} s (fit {fit:.1f} s) on {int(keep.sum())} samples")
    rt = evaluate(ctx, arch, arch.retrain)
    rt["first_runs"] = rt_runs
    rt_cpu0 = rt_runs[0]["cpu"]
    log(f"[{arch.key}] retrain: Df {pct(rt['forget_acc'])} Dr {pct(rt['retain_acc'])} test {pct(rt['test_acc'])} "
        f"MIA {pct(rt['mia'])} relearn {fmt_relearn(rt['relearn'], limit)}")
    res["retrain"] = rt

    def acc_ok(m):
        return m["forget_acc"] <= FORGET_MAX and orig["retain_acc"] - m["retain_acc"] <= RETAIN_DROP_MAX + 1e-12

    # ---- ssd hand-tuned grid, through statistics files
    ssd_rows, stats_times = [], {}
    modes = arch_modes(args, arch)
    for mode in modes:
        alphas, lambdas = args.ssd_grid.get(arch.key) or SSD_GRID[arch.key][mode]
        grid = [(10.0, 1.0)] + [(float(a), float(l)) for l in lambdas.split(",") for a in alphas.split(",")]
        grid = list(dict.fromkeys(grid))
        st = arch.dir / f"stats_{mode.replace(':', '')}.h5"
        st.unlink(missing_ok=True)
        _, w = run([b, "stats", arch.original, "--data", arch.train, "--class", FORGET_CLASS, "--scale", "1/255",
                    "--fisher", mode, "-o", st], f"{arch.key} stats {mode}")
        stats_times[mode] = {"wall": w, "cpu": LAST_CPU}
        for a, lam in grid:
            spec = f"ssd:alpha={fmt_num(a)},lambda={fmt_num(lam)}"
            out = arch.dir / f"ssd_{mode.replace(':', '')}_a{fmt_num(a)}_l{fmt_num(lam)}.h5"
            wall, cpu, rep, _ = forget_run(b, arch, spec, out, test=False, data=False, stats=st)
            changed = sum(t["elements_changed"] for ps in rep["passes"] for t in ps["tensors"])
            m = evaluate(ctx, arch, out, relearn=False, report=False, keras=keras_all)
            if acc_ok(m):  # relearn only where it can matter
                m.update({k: v for k, v in evaluate(ctx, arch, out, relearn=True, report=False, keras=False).items()
                          if k in ("relearn", "relearn_target")})
            row = {"method": f"ssd {mode}", "spec": spec, "mode": mode, "alpha": a, "lambda": lam, "file": out.name,
                   "changed": changed, **m}
            row["targets"] = assess(m, orig, rt, limit)
            ssd_rows.append(row)
            log(f"[{arch.key}] ssd {mode:8s} a={fmt_num(a):>4s} l={fmt_num(lam):>4s}: {changed:6d} changed, "
                f"Df {pct(m['forget_acc']):>6s} Dr {pct(m['retain_acc'])} val {pct(m['val_acc'])} MIA(val) {pct(m['mia_val']):>6s} "
                f"relearn {fmt_relearn(m.get('relearn', 'missing'), limit)}")
    res["ssd_grid"], res["stats_times"] = ssd_rows, stats_times

    # ---- ascent, finetune, dampen grids and the automatic searches (data form, timed)
    def data_row(method, entry, out, require=None):
        spec, subset = split_spec(entry)
        wall, cpu, rep, err = forget_run(b, arch, spec, out, require=require, retain_subset=subset)
        row = {"method": method, "spec": spec, "retain_subset": subset, "file": out.name, "wall": wall, "cpu": cpu,
               "require": require}
        if rep is None:
            row["no_output"] = err.strip().splitlines()[-1] if err.strip() else "exit 4"
            row["stderr"] = err[-4000:]
            log(f"[{arch.key}] {spec}: no output ({row['no_output']}), {wall:.1f} s")
            return row
        ps = rep["passes"][-1]
        row["changed"] = sum(t["elements_changed"] for t in ps["tensors"])
        row["parameters"] = ps["parameters"]
        det = ps.get("details")
        if isinstance(det, dict):
            row["details"] = {k: v for k, v in det.items() if k != "loss"}
            if "loss" in det:
                row["details"]["loss_first_last"] = [det["loss"][0], det["loss"][-1]] if det["loss"] else []
        m = evaluate(ctx, arch, out, relearn=True, report=False, keras=keras_all)
        row.update(m)
        # to choose, the time target compares CPU time (user + sys), which the load of the machine
        # changes little; the reported verdict compares wall-time medians of the timing rounds
        row["targets"] = assess(m, orig, rt, limit, cpu, rt_cpu0, kind="CPU")
        log(f"[{arch.key}] {spec}{f' [retain {subset}%]' if subset else ''}"
            f"{'' if require in (None, POLICY) else ' --require ' + require}: {wall:5.1f} s, Df {pct(m['forget_acc']):>6s} Dr {pct(m['retain_acc'])} "
            f"val {pct(m['val_acc'])} MIA(val) {pct(m['mia_val']):>6s} relearn {fmt_relearn(m['relearn'], limit)}"
            + (f" (chose {row['parameters']})" if "auto" in spec else ""))
        return row

    # The automatic searches: first with the accuracy policy; when the result misses the MIA
    # target on the validation split, again with retraining's validation MIA +- 5 points added to the
    # policy (measured by the command on --test-data val.h5).
    mia_window = (f"{POLICY},mia>={max(rt['mia_val'] - MIA_GAP_MAX, 0):.4f},"
                  f"mia<={min(rt['mia_val'] + MIA_GAP_MAX, 1):.4f}")

    def auto_rows(method, specs):
        rows = []
        for i, spec in enumerate(specs):
            row = data_row(method, spec, arch.dir / f"{method.replace(' ', '_')}_{i}.h5", POLICY)
            rows.append(row)
            if "targets" in row and not row["targets"]["mia"][0]:
                rows.append(data_row(method, spec, arch.dir / f"{method.replace(' ', '_')}_{i}_mia.h5", mia_window))
        return rows

    method_rows = {}
    # alpha=auto alone keeps lambda at 1; with lambda=auto too, lambda follows alpha/10 (man page)
    method_rows["ssd auto"] = auto_rows("ssd auto", ("ssd:alpha=auto", "ssd:alpha=auto,lambda=auto"))
    grids = {**GRIDS[arch.key], **args.grid.get(arch.key, {})}
    for method in [m for m in ("ascent", "finetune", "dampen") if m in grids]:
        method_rows[method] = [data_row(method, spec, arch.dir / f"{method}_{i}.h5")
                               for i, spec in enumerate(grids[method])]
    if "dampen" in grids:
        method_rows["dampen auto"] = auto_rows("dampen auto", ("dampen:auto",))
    res["method_rows"] = method_rows

    # ---- best settings
    best = {}
    for mode in modes:
        cand = [r for r in ssd_rows if r["mode"] == mode]
        best[f"ssd {mode}"] = min(cand, key=lambda r: score(r["targets"], r["retain_acc"]))
    for method, rows in method_rows.items():
        cand = [r for r in rows if "targets" in r]
        if cand:
            best[method] = min(cand, key=lambda r: score(r["targets"], r["retain_acc"]))
    # the models of the main table: the Keras cross-check and the JAX relearn
    ftr = ytr == FORGET_CLASS
    fx, fy = shaped(xtr[ftr], arch.flat), ytr[ftr]
    target = orig["forget_acc"]

    def jax_check(r, path, name):
        if not args.jax_relearn or "relearn_logits" in r:
            return
        t0 = time.perf_counter()
        r["relearn_logits"], r["df_clipped_share_jax"] = jax_relearn(path, fx, fy, target, limit)
        log(f"[{arch.key}] {name}: relearn ckptforget {fmt_relearn(r.get('relearn', 'missing'), limit)}, "
            f"JAX logit CE {fmt_relearn(r['relearn_logits'], limit)} ({time.perf_counter() - t0:.1f} s); "
            f"Df with p_2 < 1e-7: {pct(r['df_clipped_share_jax'])} %")

    # every setting whose ckptforget relearn time is "not within N": is it masked by the clip?
    for row in ssd_rows + [r for rows in method_rows.values() for r in rows]:
        if "relearn" in row and row["relearn"] is None:
            jax_check(row, arch.dir / row["file"], row["spec"])
    for name, r in [("original", orig), ("retrain", rt)] + list(best.items()):
        path = arch.dir / r["file"] if "file" in r else (arch.original if name == "original" else arch.retrain)
        if "mia" not in r:  # the test split is measured only for the models reported
            full = evaluate(ctx, arch, path, relearn=False, report=True, keras=True)
            r.update({k: v for k, v in full.items() if k not in ("relearn", "relearn_target")})
        jax_check(r, path, name)

    # ---- timing rounds: retraining and every best, interleaved
    timed = {name: r for name, r in best.items()}
    tim = {name: {"walls": [], "cpus": [], "edit_walls": [], "edit_cpus": [], "hashes": set(), "loads": []}
           for name in timed}
    if arch.key == "cnn" and "ssd exact" in timed and args.edit_timing:
        tim["ssd exact one-pass"] = {"walls": [], "cpus": [], "hashes": set(), "loads": []}
    rt_t = []
    for i in range(max(args.runs, 1)):
        out = arch.dir / "retrain_timing.h5"
        wall, fit, cpu = train(arch, xtr[keep], ytr[keep], out, args.seed, args.batch)
        rt_t.append({"wall": wall, "fit": fit, "cpu": cpu, "load": os.getloadavg()[0],
                     "same_weights": same_weights(out, arch.retrain)})
        out.unlink(missing_ok=True)
        for name, r in timed.items():
            kw = {"require": r.get("require"), "retain_subset": r.get("retain_subset")}
            if name.startswith("ssd ") and "mode" in r:
                kw["fisher"] = r["mode"]
            tmp = arch.dir / f"timing_{name.replace(' ', '_').replace(':', '')}.h5"
            wall, cpu, rep, _ = forget_run(b, arch, r["spec"], tmp, **kw)
            tim[name]["walls"].append(wall)
            tim[name]["cpus"].append(cpu)
            tim[name]["loads"].append(os.getloadavg()[0])
            if rep is not None:
                tim[name]["hashes"].add(sha256(tmp))
                if i == 0 and name.startswith("ssd ") and "mode" in r:
                    # the data form must give the weights of the --stats form
                    tim[name]["same_as_stats_form"] = same_weights(tmp, arch.dir / r["file"])
            if args.edit_timing:
                noargs = {"data": not r["spec"].startswith("dampen") or "auto" in r["spec"]}
                wall, cpu, _, _ = forget_run(b, arch, r["spec"], tmp, test=False, **kw, **noargs)
                tim[name]["edit_walls"].append(wall)
                tim[name]["edit_cpus"].append(cpu)
                tim[name]["edit_form"] = "no data at all" if not noargs["data"] else "without --test-data"
            unlink_outputs(tmp)
        if "ssd exact one-pass" in tim:
            r = timed["ssd exact"]
            tmp = arch.dir / "timing_onepass.h5"
            wall, cpu, rep, _ = forget_run(b, arch, r["spec"], tmp, test=False, fisher="exact", one_pass=True)
            t = tim["ssd exact one-pass"]
            t["walls"].append(wall)
            t["cpus"].append(cpu)
            if i == 0:
                m1 = evaluate(ctx, arch, tmp, relearn=False, report=False, keras=False)
                t["metrics"] = {k: m1[k] for k in ("forget_acc", "retain_acc", "val_acc", "mia_val")}
            unlink_outputs(tmp)
        log(f"[{arch.key}] timing round {i + 1}/{args.runs}: retrain {rt_t[-1]['wall']:.1f} s; "
            + ", ".join(f"{n} {t['walls'][-1]:.1f} s" for n, t in tim.items()))
    rt["timing_runs"] = rt_t
    rt["wall"] = statistics.median(r["wall"] for r in rt_t)
    rt["cpu"] = statistics.median(r["cpu"] for r in rt_t)
    rt["fit"] = statistics.median(r["fit"] for r in rt_t)
    rt["deterministic"] = all(r["same_weights"] for r in rt_runs + rt_t)
    for name, t in tim.items():
        t["wall"] = statistics.median(t["walls"])
        t["cpu"] = statistics.median(t["cpus"])
        if t.get("edit_walls"):
            t["edit_wall"] = statistics.median(t["edit_walls"])
            t["edit_cpu"] = statistics.median(t["edit_cpus"])
        t["identical_outputs"] = len(t["hashes"]) <= 1
        if len(t["hashes"]) > 1:
            ctx.problems.append(f"{arch.key} {name}: the timed runs wrote {len(t['hashes'])} different outputs")
        if t.get("same_as_stats_form") is False:
            ctx.problems.append(f"{arch.key} {name}: the data form and the --stats form give different weights")
        t["hashes"] = sorted(t["hashes"])
    for name, r in best.items():
        if name in tim and "targets" in r:
            r["final_targets"] = assess(r, orig, rt, limit, tim[name]["wall"], rt["wall"], split="test")
    res.update(best={k: v["file"] for k, v in best.items()}, best_rows=best, timing=tim)
    return res


# ---------------------------------------------------------------- relabel task


def relabel_task(ctx, arch):
    """Forget 6 and relabel as 3 (Fabbri 2024) on the CNN: each setting of --relabel-grid is one
    ckptforget command (--class 6, measured on train and the validation split). The setting is
    chosen on the validation split (class 6 accuracy 0, class 3 accuracy at least the original's,
    then the highest overall accuracy); every setting is then reported on the test split."""
    b = ctx.binary
    out_rows = []
    xva, yva, xte, yte = ctx.data[2:]

    def metrics(model, data, x, y, what):
        ev, _ = ckpt_eval(b, model, data, None, cls=None)
        a = ev["splits"]["all"]
        m = {"overall": a["accuracy"], "class3": a["recall"][3], "class6": a["recall"][6],
             "recall": a["recall"], "confusion": a["confusion"]}
        if ctx.keras:
            k = confusion(y, keras_probs(model, x).argmax(1))
            m["keras_confusion_equal"] = bool(np.array_equal(k, np.asarray(a["confusion"])))
            if not m["keras_confusion_equal"]:
                ctx.problems.append(f"relabel {model}: Keras and ckptforget {what} confusion matrices differ")
        return m

    def both(model):
        return metrics(model, arch.val, xva, yva, "validation"), metrics(model, arch.test, xte, yte, "test")

    before_val, before = both(arch.original)
    for i, spec in enumerate(ctx.args.relabel_grid):
        out = arch.dir / f"relabel_{i}.h5"
        wall, cpu, rep, err = forget_run(b, arch, spec, out, cls=6)
        if rep is None:
            raise RuntimeError(f"relabel {spec}: {err[-2000:]}")
        mv, m = both(out)
        det = rep["passes"][-1].get("details") or {}
        row = {"spec": spec, "file": out.name, "wall": wall, "cpu": cpu, **m, "val": mv,
               "trained_share": det.get("trained_share")}
        row["meets_val"] = mv["class6"] == 0 and mv["class3"] >= before_val["class3"]
        row["meets"] = m["class6"] == 0 and m["class3"] >= before["class3"]
        out_rows.append(row)
        log(f"[relabel] {spec}: {wall:.1f} s, validation: overall {pct(mv['overall'])} class 3 {pct(mv['class3'])} "
            f"class 6 {pct(mv['class6'])} {'met' if row['meets_val'] else 'missed'}; test: overall {pct(m['overall'])} "
            f"class 3 {pct(m['class3'])} class 6 {pct(m['class6'])} {'met' if row['meets'] else 'missed'}")
    ok = [r for r in out_rows if r["meets_val"]]
    best = (max(ok, key=lambda r: r["val"]["overall"]) if ok
            else min(out_rows, key=lambda r: (r["val"]["class6"] + max(before_val["class3"] - r["val"]["class3"], 0),
                                              -r["val"]["overall"])))
    return {"before": before, "before_val": before_val, "rows": out_rows, "best": best["file"]}


# ---------------------------------------------------------------- report


TARGET_NAMES = ("forget", "retain", "mia", "relearn", "wall")


def params_text(p):
    return ", ".join(f"{k}={float(v):.4g}" if v.replace(".", "", 1).replace("e-", "", 1).isdigit() else f"{k}={v}"
                     for k, v in (p or {}).items())


def spec_text(row):
    sub, req = row.get("retain_subset"), row.get("require")
    return (f"`{row['spec']}`" + (f" (--retain-data: {sub} % of Dr)" if sub else "")
            + (f" `--require {req}`" if req and req != POLICY else ""))


def run_text(row):
    d = row.get("details") or {}
    if "search" in d:
        return f"{len(d['search'].get('trials', []))} trials"
    if "trained_share" in d:
        return f"{d.get('steps')} steps, {100 * d['trained_share']:.1f} % trained"
    if "stopped" in d:
        return f"{d.get('steps')} steps" + (", stop met" if d["stopped"].startswith("forget_acc") else ", no stop")
    return "-"


def relearn_cell(row, limit):
    r = fmt_relearn(row.get("relearn", "missing"), limit)
    if row.get("relearn", "missing") is None and "relearn_logits" in row:
        r += f" ({fmt_relearn(row['relearn_logits'], limit)})"
    return r


def targets_cell(t):
    if not t:
        return "-"
    missed = [k for k in TARGET_NAMES if k in t and not t[k][0]]
    return "all met" if not missed else "missed: " + ", ".join(missed)


def report(res, args, started, total, host):
    limit = args.relearn
    md = []
    md.append(f"Run {started.strftime('%Y-%m-%d %H:%M UTC')}; {host['nproc']} CPUs ({host['cpu']}), {host['mem']} RAM, "
              f"{host['kernel']}; Python {host['python']}, Keras {host['keras']} ({host['backend']}), jax {host['jax']}; "
              f"{host['binary']} (sha256 {host['binary_sha256'][:12]}). Load average (1 min) at the start {host['load_start']:.2f}, at the end "
              f"{host['load_end']:.2f}; total {total:.0f} s ({total / 60:.1f} min).\n")
    for key, r in res["archs"].items():
        orig, rt, tim, best = r["original"], r["retrain"], r["timing"], r["best_rows"]
        md.append(f"### {r['label']}\n")
        md.append("| method | setting | wall s | × retraining | forget acc Df % | retain acc Dr % | test acc (non-2) % | "
                  "test class-2 % | MIA % | relearn steps | relearn steps (JAX, logit CE) | "
                  "Df ≤ 1 % | Dr drop ≤ 0.5 | MIA ±5 of retraining | relearn ≥ ½ retraining | wall ≤ 25 % |")
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|---|")

        def line(method, setting, wall, frac, m, tg):
            cells = (" | ".join("-" for _ in TARGET_NAMES) if tg is None else
                     " | ".join(("PASS" if tg[k][0] else "MISS") if k in tg else "-" for k in TARGET_NAMES))
            return (f"| {method} | {setting} | {wall} | {frac} | {pct(m['forget_acc'])} | {pct(m['retain_acc'])} | "
                    f"{pct(m['test_acc'])} | {pct(m.get('test_forget_acc'))} | {pct(m['mia'])} | "
                    f"{fmt_relearn(m.get('relearn', 'missing'), limit)} | {fmt_relearn(m.get('relearn_logits', 'missing'), limit)} | "
                    f"{cells} |")

        md.append(line("original", f"Keras, {r['epochs']} epochs, all classes", f"{orig['train_wall']:.1f}", "-", orig, None))
        md.append(line("retraining", f"Keras, {r['epochs']} epochs, without class 2", f"{rt['wall']:.1f}", "1.00", rt, None))
        for name, b in best.items():
            if "targets" not in b:
                continue
            t = tim[name]
            setting = spec_text(b) + (f" → {params_text(b['parameters'])}" if "auto" in b["spec"] and b.get("parameters") else "")
            if name.startswith("ssd ") and "mode" in b:
                setting += f" `--fisher {b['mode']}`"
            md.append(line(name, setting, f"{t['wall']:.2f}", f"{t['wall'] / rt['wall']:.2f}", b, b.get("final_targets")))
        md.append("")
        md.append("Targets of each reported setting (✓ met, ✗ missed; MIA on the test split, wall time from the timing "
                  "rounds; the setting was chosen on the validation split, whose verdict follows the arrow):\n")
        for name, b in best.items():
            if "final_targets" not in b:
                continue
            sel = b["targets"]
            md.append(f"* **{name}** {spec_text(b)}: " + "; ".join(
                f"{'✓' if ok else '✗'} {txt}" for k, (ok, _, txt) in b["final_targets"].items())
                + f" → chosen on validation: MIA (val) {pct(b['mia_val'])} % vs retraining {pct(rt['mia_val'])} % "
                f"({'✓' if sel['mia'][0] else '✗'}), {targets_cell(sel)} (wall time there: one run)")
        for method, rows in r["method_rows"].items():
            for row in rows:
                if "no_output" in row:
                    md.append(f"* **{method}** {spec_text(row)}: no output: {row['no_output']}")
        md.append("")
        md.append("Timing (median of the rounds; each round retrains once and runs each setting once):\n")
        walls_t = ", ".join(f"{x['wall']:.1f}" for x in rt["timing_runs"])
        walls_f = ", ".join(f"{x['wall']:.1f}" for x in rt["first_runs"])
        md.append(f"* retraining: {rt['wall']:.2f} s ({walls_t}), "
                  f"fit {rt['fit']:.1f} s, CPU {rt['cpu']:.1f} s; the first retraining, before the grids, "
                  f"{walls_f} s; weights identical across all "
                  f"{len(rt['first_runs']) + len(rt['timing_runs'])} retrainings: {rt['deterministic']}")
        md.append(f"* original training: {orig['train_wall']:.1f} s (fit {orig['train_fit']:.1f} s, CPU {orig['train_cpu']:.1f} s)")
        for name, t in tim.items():
            extra = ""
            if "edit_wall" in t:
                extra = (f"; the edit alone ({t['edit_form']}) {t['edit_wall']:.2f} s = {t['edit_wall'] / rt['wall']:.2f}x "
                         f"(CPU {t['edit_cpu']:.1f} s)")
            if "metrics" in t:
                extra += (f"; result Df {pct(t['metrics']['forget_acc'])} %, Dr {pct(t['metrics']['retain_acc'])} %, "
                          f"MIA (val) {pct(t['metrics']['mia_val'])} %")
            if "same_as_stats_form" in t:
                extra += f"; same weights as the --stats form: {t['same_as_stats_form']}"
            walls = ", ".join(f"{w:.1f}" for w in t["walls"])
            md.append(f"* {name}: {t['wall']:.2f} s ({walls}) = "
                      f"**{t['wall'] / rt['wall']:.2f}x** retraining; CPU {t['cpu']:.1f} s = {t['cpu'] / rt['cpu']:.2f}x"
                      f"{extra}; outputs identical across rounds: {t['identical_outputs']}")
        for mode, s in r["stats_times"].items():
            md.append(f"* `ckptforget stats --fisher {mode}` (for the ssd grid): {s['wall']:.1f} s")
        md.append("")
        kv = orig["keras_evaluate"]
        md.append(f"Keras `model.evaluate` on the original: Df {pct(kv['forget']['accuracy'])} %, Dr "
                  f"{pct(kv['retain']['accuracy'])} %, val (non-2) {pct(kv['val']['accuracy'])} %, test (non-2) "
                  f"{pct(kv['test']['accuracy'])} %, test (all) {pct(kv['test_all']['accuracy'])} %; ckptforget eval: Df "
                  f"{pct(orig['forget_acc'])} %, Dr {pct(orig['retain_acc'])} %, val (non-2) {pct(orig['val_acc'])} %, "
                  f"test (non-2) {pct(orig['test_acc'])} %, test (all) {pct(orig['test_all_acc'])} %."
                  + (f" Largest difference from Fixtures/keras/mnist_mlp.h5's weights: {orig['fixture_max_abs_diff']:.3g}."
                     if orig.get("fixture_max_abs_diff") is not None else ""))
        md.append("")
        md.append("Membership inference on the test split (mean softmax entropy; the attack's fit; the scipy refit on "
                  "Keras' probabilities; in brackets the MIA with the validation split as non-members):\n")
        for name, m in [("original", orig), ("retraining", rt)] + list(best.items()):
            if "entropy_mean" not in m:
                continue
            e, f, rf = m["entropy_mean"], m["mia_fit"], m.get("mia_refit")
            md.append(f"* {name}: members (Dr) {e['members']:.4f}, non-members (test, non-2) {e['non_members']:.4f}, "
                      f"targets (Df) {e['targets']:.4f}; p(member) = sigmoid({f['weight']:.3f} H {f['intercept']:+.3f}); "
                      f"MIA {pct(m['mia'])} %" + (f" (refit {pct(rf['share'])} %)" if rf else "")
                      + f" [val: {pct(m['mia_val'])} %]")
        md.append("")
        md.append("Grids, measured on train and the validation split only (one run each; wall time of that run, with "
                  f"--test-data val.h5; time target on CPU time, against the first retraining's "
                  f"{rt['first_runs'][0]['cpu']:.1f} s CPU ({rt['first_runs'][0]['wall']:.1f} s wall); "
                  "MIA target against retraining's MIA on the validation split, "
                  f"{pct(rt['mia_val'])} %; relearn in brackets: JAX with logit cross-entropy, "
                  "measured where ckptforget's is not within the limit):\n")
        md.append("| method | setting | wall s | CPU s | elements changed | run | Df % | Dr % | Dr drop pts | val % | MIA (val) % | relearn | targets |")
        md.append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|")
        for method, rows in r["method_rows"].items():
            for row in rows:
                if "no_output" in row:
                    md.append(f"| {method} | {spec_text(row)} | {row['wall']:.1f} | {row['cpu']:.1f} | - | - | - | - | - | - | - | - | no output |")
                    continue
                spec = spec_text(row) + (f" → {params_text(row['parameters'])}" if "auto" in row["spec"] else "")
                md.append(f"| {method} | {spec} | {row['wall']:.1f} | {row['cpu']:.1f} | {row['changed']} | {run_text(row)} | {pct(row['forget_acc'])} | "
                          f"{pct(row['retain_acc'])} | {100 * (orig['retain_acc'] - row['retain_acc']):.2f} | {pct(row['val_acc'])} | "
                          f"{pct(row['mia_val'])} | {relearn_cell(row, limit)} | {targets_cell(row['targets'])} |")
        md.append("")
        md.append("ssd grid (`--stats` form; statistics computed once per mode; relearn measured only where the forget and "
                  "retain conditions hold; the wall-time target is not part of this table):\n")
        md.append("| fisher | alpha | lambda | elements changed | Df % | Dr % | Dr drop pts | val % | MIA (val) % | relearn | targets |")
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for row in r["ssd_grid"]:
            md.append(f"| {row['mode']} | {fmt_num(row['alpha'])} | {fmt_num(row['lambda'])} | {row['changed']} | "
                      f"{pct(row['forget_acc'])} | {pct(row['retain_acc'])} | {100 * (orig['retain_acc'] - row['retain_acc']):.2f} | "
                      f"{pct(row['val_acc'])} | {pct(row['mia_val'])} | {relearn_cell(row, limit)} | "
                      f"{targets_cell(row['targets'])} |")
        md.append("")
    if "relabel" in res:
        rl = res["relabel"]
        bf, bv = rl["before"], rl["before_val"]
        n6, n3 = sum(bf["confusion"][6]), sum(bf["confusion"][3])
        md.append(f"### Relabel task (CNN): forget 6, relabel as 3 (`--class 6`), on the test split (all "
                  f"{sum(map(sum, bf['confusion']))} images: {n6} of class 6, {n3} of class 3)\n")
        md.append("Targets: class 6 accuracy 0 %, class 3 accuracy at least the original's; overall accuracy reported. "
                  "The setting is chosen on the validation split (same rule), then reported on the test split.\n")
        md.append("| | setting | wall s | overall % | class 3 % | class 6 % | class 6 predicted as 3 | trained share | "
                  "val: overall / 3 / 6 % | class 6 = 0 % | class 3 ≥ original |")
        md.append("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|")
        p = PAPER_RELABEL
        md.append(f"| paper (Fabbri 2024), before → after | their CNN, 10,000 test images | - | {100 * p['overall'][0]:.2f} → {100 * p['overall'][1]:.2f} | "
                  f"{100 * p['class3'][0]:.2f} → {100 * p['class3'][1]:.2f} | {100 * p['class6'][0]:.2f} → {100 * p['class6'][1]:.2f} | - | - | - | - | - |")
        md.append(f"| original | - | - | {pct(bf['overall'])} | {pct(bf['class3'])} | {pct(bf['class6'])} | "
                  f"{bf['confusion'][6][3]} of {n6} | - | {pct(bv['overall'])} / {pct(bv['class3'])} / {pct(bv['class6'])} | - | - |")
        for row in rl["rows"]:
            share = "-" if row["trained_share"] is None else f"{100 * row['trained_share']:.1f} %"
            v = row["val"]
            md.append(f"| {'**chosen**' if row['file'] == rl['best'] else ''} | `{row['spec']}` | {row['wall']:.1f} | {pct(row['overall'])} | "
                      f"{pct(row['class3'])} | {pct(row['class6'])} | {row['confusion'][6][3]} of {n6} | {share} | "
                      f"{pct(v['overall'])} / {pct(v['class3'])} / {pct(v['class6'])} | "
                      f"{'PASS' if row['class6'] == 0 else 'MISS'} | {'PASS' if row['class3'] >= bf['class3'] else 'MISS'} |")
        bb = next(r for r in rl["rows"] if r["file"] == rl["best"])
        md.append("")
        md.append("Per-class test accuracy (recall) of the original and the chosen relabel setting: "
                  + ", ".join(f"{c}: {100 * bf['recall'][c]:.1f} → {100 * bb['recall'][c]:.1f}" for c in range(10)) + ".")
        md.append("")
    md.append(f"Cross-checks: {len(res['problems'])} problems" + (": " + "; ".join(res["problems"]) if res["problems"] else
              " (every Keras confusion matrix equals ckptforget's, every MIA refit agrees, timed outputs are byte-identical, "
              "the data form of each ssd setting gives the weights of its --stats form)."))
    return "\n".join(md) + "\n"


def parse_grid(items):
    out = {}
    for it in items:
        k, _, v = it.partition("=")
        arch, _, method = k.partition(".")
        if arch not in GRIDS or method not in ("ascent", "finetune", "dampen") or not v:
            raise SystemExit(f"quality: --grid ARCH.METHOD='SPEC|SPEC' (ARCH {', '.join(GRIDS)}, METHOD ascent, finetune or dampen), got {it!r}")
        out.setdefault(arch, {})[method] = [s for s in v.split("|") if s]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("QUALITY_DIR", ROOT / "bench-out/quality")))
    ap.add_argument("--bin", default=os.environ.get("CKPTFORGET", str(ROOT / ".build/release/ckptforget")))
    ap.add_argument("--archs", default="cnn,mlp,rescnn,lstm",
                    help="models to run, comma-separated, of cnn, mlp, rescnn (residual CNN), lstm")
    ap.add_argument("--epochs", type=int, default=5, help="CNN epochs")
    ap.add_argument("--mlp-epochs", type=int, default=3)
    ap.add_argument("--rescnn-epochs", type=int, default=5)
    ap.add_argument("--lstm-epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--modes", default="exact,batch:64")
    ap.add_argument("--alphas", help=f"CNN ssd grid alphas, every Fisher mode (default per mode: {SSD_GRID['cnn']})")
    ap.add_argument("--lambdas", help="CNN ssd grid lambdas, every Fisher mode (with --alphas)")
    ap.add_argument("--mlp-alphas", help=f"MLP ssd grid alphas, every Fisher mode (default per mode: {SSD_GRID['mlp']})")
    ap.add_argument("--mlp-lambdas", help="MLP ssd grid lambdas, every Fisher mode (with --mlp-alphas)")
    ap.add_argument("--grid", action="append", default=[], metavar="ARCH.METHOD=SPEC|SPEC",
                    help="replace a hand-search grid, e.g. --grid 'cnn.ascent=ascent:steps=50|ascent:steps=100'")
    ap.add_argument("--relabel-grid", default="|".join(RELABEL_GRID), help="'|'-separated finetune specs with relabel=6:3")
    ap.add_argument("--no-relabel", action="store_true")
    ap.add_argument("--relearn", type=int, default=100, help="relearn limit N (steps)")
    ap.add_argument("--edit-timing", action="store_true",
                    help="also time each chosen setting without --test-data (the edit alone) and, on the CNN, "
                         "ssd exact in the one-pass form (--forget-data/--retain-data), in every round")
    ap.add_argument("--runs", type=int, default=3, help="timing rounds (retraining + every best setting)")
    ap.add_argument("--keras-check", choices=("all", "reported", "none"), default="reported")
    ap.add_argument("--no-keras-check", action="store_true", help="same as --keras-check none")
    ap.add_argument("--no-jax-relearn", dest="jax_relearn", action="store_false")
    args = ap.parse_args()
    args.modes = [m for m in args.modes.split(",") if m]
    args.grid = parse_grid(args.grid)
    args.relabel_grid = [s for s in args.relabel_grid.split("|") if s]
    args.ssd_grid = {"cnn": (args.alphas, args.lambdas or "1") if args.alphas else None,
                     "mlp": (args.mlp_alphas, args.mlp_lambdas or "1") if args.mlp_alphas else None}
    if args.no_keras_check:
        args.keras_check = "none"

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    binary = str(Path(args.bin).resolve())
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"quality: {binary} is not an executable (swift build -c release)")
    started = datetime.now(timezone.utc)
    t_all = time.perf_counter()
    load_start = os.getloadavg()[0]

    import jax
    import keras

    log(f"keras {keras.__version__} ({keras.backend.backend()}), work dir {work}, binary {binary}")
    check = make_data(work)
    xtr, ytr = check[:2]
    ctx = Ctx(binary, args, check, args.keras_check != "none")
    archs = {
        "cnn": Arch("cnn", "Keras CNN (MNIST, forget class 2)", build_cnn, args.epochs, False, work),
        "mlp": Arch("mlp", "seed MLP (784 → 32 → 10, MNIST, forget class 2)", build_mlp, args.mlp_epochs, True, work),
        "rescnn": Arch("rescnn", "Keras residual CNN (MNIST, forget class 2)", build_rescnn, args.rescnn_epochs, False, work),
        "lstm": Arch("lstm", "Keras LSTM (MNIST rows as a sequence, forget class 2)", build_lstm, args.lstm_epochs, False, work),
    }
    res = {"archs": {}}
    keys = [k for k in args.archs.split(",") if k]
    if unknown := [k for k in keys if k not in archs]:
        raise SystemExit(f"quality: --archs: unknown {', '.join(unknown)} (known: {', '.join(archs)})")
    for key in keys:
        res["archs"][key] = bench_arch(ctx, archs[key], xtr, ytr, args.keras_check == "all")
    if not args.no_relabel and "cnn" in args.archs.split(","):
        res["relabel"] = relabel_task(ctx, archs["cnn"])
    res["problems"] = ctx.problems
    total = time.perf_counter() - t_all
    host = {"nproc": os.cpu_count(), "cpu": cpu_model(), "mem": mem_total(), "kernel": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
            "jax": jax.__version__, "binary": subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip(),
            "binary_sha256": sha256(binary), "load_start": load_start, "load_end": os.getloadavg()[0]}
    md = report(res, args, started, total, host)
    (work / "results.md").write_text(md)

    def clean(o):
        if isinstance(o, dict):
            return {k: clean(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [clean(v) for v in o]
        if isinstance(o, set):
            return sorted(o)
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        return o

    out = {"started": started.isoformat(), "total_seconds": total, "host": host,
           "args": {k: str(v) for k, v in vars(args).items()},
           "targets": {"forget_acc_max": FORGET_MAX, "retain_drop_max": RETAIN_DROP_MAX, "mia_gap_max": MIA_GAP_MAX,
                       "relearn_min_share_of_retraining": RELEARN_MIN_SHARE, "wall_max_share_of_retraining": WALL_MAX_SHARE,
                       "policy_for_auto": POLICY},
           **clean(res)}
    (work / "results.json").write_text(json.dumps(out, indent=1, default=float))
    log("\n" + md)
    for p in ctx.problems:
        log(f"PROBLEM: {p}")
    log(f"wrote {work / 'results.md'} and {work / 'results.json'}")
    return 1 if ctx.problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"quality: {e}", file=sys.stderr)
        sys.exit(1)
