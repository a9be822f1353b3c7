"""Shared pieces of the paper experiments (experiments/*.py): the MNIST split, running ckptforget,
reading its `eval --json`, Keras training, and printing tables.

Nothing here forgets anything: every edit and every measurement is a `ckptforget` command run as a
subprocess (its `eval --json` is the only source of the figures printed).

Data: only the MNIST TEST set (10,000 images, IDX gz) is available here. It is split
deterministically by position: images 0..7,999 are the training set (models are trained on them,
and they are the --data the forgetting commands get), images 8,000..9,999 are held out (every
figure printed is measured on them unless the row says otherwise). The papers trained on the
60,000 MNIST training images and measured on these 10,000, so our models saw 7.5x fewer images
and are measured on 2,000: figures are close, not comparable to the second decimal.
"""

import argparse
import gzip
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN = 8000
SPLIT_TEXT = ("data: the MNIST test set only (10,000 images); train = images 0..7,999, held out = "
              "images 8,000..9,999 (fixed split by position); figures are on the held-out images")


def log(*a):
    print(*a, flush=True)


def arguments(description, **extra):
    """The options every experiment takes; extra: name -> (default, help)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--mnist", type=Path, default=ROOT.parent / "shared" / "data" / "mnist",
                    help="directory with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz "
                         "(default ../shared/data/mnist relative to the repository)")
    ap.add_argument("--bin", type=Path, default=ROOT / ".build" / "release" / "ckptforget",
                    help="the ckptforget binary (default .build/release/ckptforget)")
    ap.add_argument("--out", type=Path, default=ROOT / "experiments-out", help="output directory")
    ap.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    for name, (default, text) in extra.items():
        ap.add_argument(f"--{name}", type=type(default), default=default, help=text)
    args = ap.parse_args()
    if not (args.bin.is_file() and os.access(args.bin, os.X_OK)):
        sys.exit(f"no ckptforget binary at {args.bin}: build it with `swift build -c release` or give --bin")
    args.out = args.out.resolve()
    args.work = args.out / Path(sys.argv[0]).stem
    args.work.mkdir(parents=True, exist_ok=True)
    return args


def header(args, title):
    started = datetime.now(timezone.utc)
    version = subprocess.run([str(args.bin), "--version"], capture_output=True, text=True).stdout.strip()
    log(f"# {title}")
    log(f"{started:%Y-%m-%d %H:%M} UTC; {os.cpu_count()} CPUs ({cpu_model()}); load average "
        f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}; {version}; Python {platform.python_version()}")
    return time.perf_counter()


def footer(t0):
    log(f"\ntotal {time.perf_counter() - t0:.0f} s; load average at the end "
        f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------- data


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def mnist(args):
    """(x uint8 [10000,28,28,1], y int64 [10000]); writes train.h5 and heldout.h5 into args.out/data."""
    import h5py

    x = read_idx(args.mnist / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1)
    y = read_idx(args.mnist / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if len(x) != 10000 or len(y) != 10000:
        sys.exit(f"expected 10,000 MNIST test images and labels in {args.mnist}, got {len(x)}/{len(y)}")
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, sl in (("train", slice(0, N_TRAIN)), ("heldout", slice(N_TRAIN, None))):
        path = data / f"{name}.h5"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            with h5py.File(tmp, "w") as f:
                f.create_dataset("x", data=np.ascontiguousarray(x[sl]))
                f.create_dataset("y", data=np.ascontiguousarray(y[sl]))
            tmp.replace(path)
    args.train, args.heldout = data / "train.h5", data / "heldout.h5"
    return x, y


# ---------------------------------------------------------------- ckptforget


def cf(args, *argv, quiet=False):
    """Runs ckptforget; its stdout. Stops the experiment if it fails (exit 4 included)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", SOURCE_DATE_EPOCH="1700000000")
    argv = [str(args.bin)] + [str(a) for a in argv]
    shown = " ".join(a if a and all(c not in a for c in " *'") else f"'{a}'" for a in argv[1:])
    shown = shown.replace(str(args.out) + "/", "")
    if not quiet:
        log(f"$ ckptforget {shown}")
    t = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"ckptforget failed (exit {done.returncode}):\n{done.stderr.strip()}")
    if not quiet:
        for line in done.stderr.strip().splitlines():
            if line.startswith(("wrote", "warning", "ckptforget: warning")):
                log(f"  {line}")
        log(f"  ({time.perf_counter() - t:.1f} s)")
    return done.stdout


def forget(args, model, out, passes, target, data=None, extra=(), with_data=True):
    """One forgetting run: ckptforget MODEL [--data D --scale 1/255] TARGET --pass ... -o OUT --json."""
    argv = [model] + (["--data", data or args.train, "--scale", "1/255"] if with_data else []) + [*target]
    for p in passes:
        argv += ["--pass", p]
    argv += [*extra, "-o", out, "--json"]
    return json.loads(cf(args, *argv))


def evaluate(args, model, target, data=None, extra=()):
    """`ckptforget eval MODEL --data D --scale 1/255 TARGET --json`: its splits."""
    out = cf(args, "eval", model, "--data", data or args.heldout, "--scale", "1/255", *target, *extra,
             "--json", quiet=True)
    return json.loads(out)["splits"]


def report(args, model, before, target, name, data=None, extra=()):
    path = args.out / f"{name}.html"
    cf(args, "report", model, "--before", before, "--data", data or args.heldout, "--scale", "1/255",
       *target, *extra, "-o", path)
    return path


def changed(run):
    return sum(t["elements_changed"] for p in run["passes"] for t in p["tensors"])


# ---------------------------------------------------------------- Keras


def keras_train(args, build, x, y, out, epochs, batch, lr=1e-3, flat=False, seed=None):
    """Builds, trains with Adam and sparse categorical cross-entropy on x/255, saves legacy .h5."""
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    seed = args.seed if seed is None else seed
    key = json.dumps({"model": build.__name__, "epochs": epochs, "batch": batch, "lr": lr, "seed": seed,
                      "samples": len(y), "labels": hashlib.sha256(y.tobytes()).hexdigest(),
                      "images": hashlib.sha256(x.tobytes()).hexdigest(), "keras": keras.__version__})
    stamp = out.with_suffix(".trained.json")
    if out.exists() and stamp.exists() and stamp.read_text() == key:
        log(f"{out.name}: trained before with the same settings ({stamp.name}); reused")
        return out
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    m = build()
    m.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    xs = x.astype(np.float32) / 255.0
    if flat:
        xs = xs.reshape(len(xs), -1)
    t = time.perf_counter()
    m.fit(xs, y, epochs=epochs, batch_size=batch, shuffle=True, verbose=0)
    m.save(out)
    stamp.write_text(key)
    log(f"trained {out.name}: {m.count_params():,} parameters, {epochs} epochs on {len(y):,} images, "
        f"Adam {lr:g}, batch {batch} ({time.perf_counter() - t:.0f} s, Keras {keras.__version__}, "
        f"{keras.backend.backend()})")
    return out


# ---------------------------------------------------------------- printing


def pct(v):
    return "-" if v is None else f"{100 * v:.2f}"


def table(header_row, rows):
    """A Markdown table, columns right-aligned after the first."""
    cells = [[str(c) for c in header_row]] + [[str(c) for c in r] for r in rows]
    w = [max(len(r[i]) for r in cells) for i in range(len(header_row))]
    fmt = lambda r: "| " + " | ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(r)) + " |"
    log(fmt(cells[0]))
    log("|" + "|".join("-" * (w[i] + 1) + (":" if i else "-") for i in range(len(w))) + "|")
    for r in cells[1:]:
        log(fmt(r))


def confusion(title, matrix, marked=()):
    log(f"\n{title} (rows true, columns predicted; * = forgotten class)")
    log("      " + "".join(f"{c:>6}" for c in range(len(matrix))))
    for i, row in enumerate(matrix):
        log(f"{i:>4}{'*' if i in marked else ' '} " + "".join(f"{v:>6}" for v in row))


def bars(rows, width=40):
    """rows: (label, fraction); a text bar chart."""
    lw = max(len(r[0]) for r in rows)
    for label, v in rows:
        log(f"  {label.ljust(lw)} {'#' * round(v * width):<{width}} {pct(v):>6} %")
