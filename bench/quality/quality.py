#!/usr/bin/env python3
"""Forgetting quality: ckptforget's `ssd` pass against retraining from scratch, on a Keras MNIST CNN.

    KERAS_BACKEND=jax python3 bench/quality/quality.py [--work DIR] [--bin CKPTFORGET] [options]

Normally run through `bash bench/quality/run.sh` (which builds the binary and prints the machine).
See bench/quality/README.md for what is measured and the results of a run.

Steps (all files in --work, default <repo>/bench-out/quality, gitignored):

1. Data: the 10,000 MNIST test images (gz IDX in MNIST_DIR, default <repo>/../shared/data/mnist),
   split deterministically: train = the first 8,000, test = the last 2,000. Written with h5py as
   train.h5 / test.h5: x uint8 (N, 28, 28, 1), y int64 (N,). Also train_forget.h5 / train_retain.h5
   (train split by class 2), used only for the one-pass timing variant.
2. original.h5: Conv2D(16,3,relu,same) -> MaxPool -> Conv2D(32,3,relu) -> MaxPool -> Flatten ->
   Dense(64,relu) -> Dense(10,softmax), Adam 1e-3, batch 64, --epochs (5), seed --seed (0), on
   train x/255; model.save (legacy HDF5). Training is timed (build + compile + fit + save).
3. ssd grid: for each Fisher mode (exact, batch:64) and each (alpha, lambda) of the grid (alpha=10,
   lambda=1, the defaults, plus --alphas x --lambdas), the command
     ckptforget original.h5 --data train.h5 --test-data test.h5 --scale 1/255 --class 2
                --pass ssd:alpha=A,lambda=L --fisher MODE -o ssd_MODE_aA_lL.h5 --json
   timed (wall, the whole process: Fisher diagonals from the data, before/after metrics, writing).
4. Every model is evaluated with
     ckptforget eval M --data train.h5 --test-data test.h5 --scale 1/255 --class 2 --json
       -> forget acc (train class 2 = Df), retain acc (train others = Dr), test acc (test less
          class 2), MIA (members = Dr, non-members = test less class 2, targets = Df)
     ckptforget eval M --data test.h5 --test-data test.h5 --scale 1/255 --class 2 --json
       -> test forget acc (test class 2); its test row must equal the first's
   and, independently, with Keras (load_model + predict): the confusion matrices of the train
   forget/retain splits and of test must equal ckptforget's (cross-check of the engine).
5. Baseline: the same CNN, same seed and hyper-parameters, retrained from scratch on train less
   class 2 (timed like step 2), evaluated the same way.
6. Timing: the best ssd setting of each mode and the retraining are timed --runs times (medians);
   also the best exact setting in the one-pass form (--forget-data/--retain-data) and each best
   setting without --test-data (the edit alone, no before/after metrics).
7. Prints the tables and writes results.json and results.md to --work.

Target (the issue): forget acc (Df) <= 1 % with retain acc (Dr) within 0.5 points of the
original's, in a small fraction of retraining's time. "Best" setting of a mode: among settings
meeting both accuracy conditions the one with the highest retain acc; if none does, the one with
the smallest total shortfall (forget acc - 0.01)+ + (retain drop - 0.005)+.

Exit status: 0 when everything was measured (whether or not the target is met: it is a report),
1 when something could not be measured (a command failed, the Keras cross-check disagrees).
"""

import argparse
import gzip
import json
import os
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
FORGET_MAX = 0.01
RETAIN_DROP_MAX = 0.005
LAST_CPU = 0.0  # user + sys seconds of the last ckptforget command
ROOT = Path(__file__).resolve().parents[2]


def log(*a):
    print(*a, flush=True)


def mnist_dir():
    return Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parents[3] / "shared/data/mnist"))


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def write_h5(path, x, y):
    tmp = path.with_suffix(".tmp.h5")
    with h5py.File(tmp, "w") as f:
        f.create_dataset("x", data=np.ascontiguousarray(x, np.uint8))
        f.create_dataset("y", data=np.ascontiguousarray(y, np.int64))
    tmp.replace(path)


def make_data(work):
    d = mnist_dir()
    x = read_idx(d / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1)
    y = read_idx(d / "t10k-labels-idx1-ubyte.gz", 8).astype(np.int64)
    if len(x) != 10000 or len(y) != 10000:
        raise SystemExit(f"quality: expected 10,000 images and labels in {d}, got {len(x)}/{len(y)}")
    xtr, ytr, xte, yte = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    write_h5(work / "train.h5", xtr, ytr)
    write_h5(work / "test.h5", xte, yte)
    f = ytr == FORGET_CLASS
    write_h5(work / "train_forget.h5", xtr[f], ytr[f])
    write_h5(work / "train_retain.h5", xtr[~f], ytr[~f])
    log(f"data: train {len(ytr)} (class {FORGET_CLASS}: {int(f.sum())}), test {len(yte)} "
        f"(class {FORGET_CLASS}: {int((yte == FORGET_CLASS).sum())}) from {d}")
    return xtr, ytr, xte, yte


# ---------------------------------------------------------------- Keras


def build_cnn():
    import keras
    from keras import layers

    m = keras.Sequential(
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
    m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    return m


def train(x, y, out, epochs, seed, batch):
    """Build, compile, fit and save; returns (wall seconds, fit seconds, CPU seconds of the process)."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    c0 = time.process_time()
    t0 = time.perf_counter()
    m = build_cnn()
    t1 = time.perf_counter()
    m.fit(x.astype(np.float32) / 255.0, y, epochs=epochs, batch_size=batch, shuffle=True, verbose=0)
    t2 = time.perf_counter()
    tmp = out.with_suffix(".tmp.h5")
    m.save(tmp)
    tmp.replace(out)
    t3 = time.perf_counter()
    return t3 - t0, t2 - t1, time.process_time() - c0


def keras_probs(path, x):
    import keras

    m = keras.models.load_model(path, compile=False)
    return np.asarray(m.predict(x.astype(np.float32) / 255.0, batch_size=500, verbose=0))


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


# ---------------------------------------------------------------- ckptforget


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(cmd, what):
    global LAST_CPU
    c = children_cpu()
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    LAST_CPU = children_cpu() - c
    if p.returncode != 0:
        raise RuntimeError(f"{what}: exit {p.returncode}\n$ {' '.join(map(str, cmd))}\n{p.stderr[-3000:]}")
    return p, wall


def ckpt_eval(binary, work, model, data):
    cmd = [binary, "eval", str(model), "--data", str(work / data), "--test-data", str(work / "test.h5"),
           "--scale", "1/255", "--class", str(FORGET_CLASS), "--json"]
    p, _ = run(cmd, f"eval {model.name} on {data}")
    return json.loads(p.stdout)


def evaluate(binary, work, model, keras_check):
    """Metrics of one model from ckptforget eval (+ Keras cross-check)."""
    tr = ckpt_eval(binary, work, model, "train.h5")
    te = ckpt_eval(binary, work, model, "test.h5")
    s = tr["splits"]
    m = {
        "forget_acc": s["forget"]["accuracy"],
        "retain_acc": s["retain"]["accuracy"],
        "test_acc": s["test"]["accuracy"],
        "test_forget_acc": te["splits"]["forget"]["accuracy"],
        "test_all_acc": te["splits"]["all"]["accuracy"],
        "mia": tr["mia"]["member_share"],
        "n": {"forget": s["forget"]["samples"], "retain": s["retain"]["samples"],
              "test": s["test"]["samples"], "test_forget": te["splits"]["forget"]["samples"]},
    }
    problems = []
    if abs(te["splits"]["retain"]["accuracy"] - m["test_acc"]) > 1e-12:
        problems.append(f"test row of the train eval ({m['test_acc']}) != retain split of the test eval "
                        f"({te['splits']['retain']['accuracy']})")
    if keras_check is not None:
        (xtr, ytr, xte, yte) = keras_check
        ptr, pte = keras_probs(model, xtr), keras_probs(model, xte)
        f_tr, f_te = ytr == FORGET_CLASS, yte == FORGET_CLASS
        pairs = {
            "forget": (confusion(ytr[f_tr], ptr[f_tr].argmax(1)), s["forget"]["confusion"]),
            "retain": (confusion(ytr[~f_tr], ptr[~f_tr].argmax(1)), s["retain"]["confusion"]),
            "test": (confusion(yte[~f_te], pte[~f_te].argmax(1)), s["test"]["confusion"]),
            "test_forget": (confusion(yte[f_te], pte[f_te].argmax(1)), te["splits"]["forget"]["confusion"]),
        }
        kc = {}
        for name, (k, c) in pairs.items():
            c = np.asarray(c)
            # samples whose predicted class differs (lower bound from the confusion matrices)
            kc[name] = {"keras_acc": float(np.trace(k) / k.sum()), "cells_off": int(np.abs(k - c).sum() // 2)}
            if not np.array_equal(k, c):
                problems.append(f"{model.name} {name}: Keras and ckptforget confusion matrices differ "
                                f"(>= {kc[name]['cells_off']} samples)")
        m["keras"] = kc
        # Independent MIA: the same recipe refitted here on Keras' probabilities.
        hm, hn, ht = entropy(ptr[~f_tr]), entropy(pte[~f_te]), entropy(ptr[f_tr])
        m["entropy_mean"] = {"members": float(hm.mean()), "non_members": float(hn.mean()), "targets": float(ht.mean())}
        m["mia_fit"] = {"weight": tr["mia"]["weight"], "intercept": tr["mia"]["intercept"]}
        ref = mia_refit(hm, hn, ht)
        if ref is not None:
            m["mia_refit"] = ref
            if abs(ref["share"] - m["mia"]) > 2.5 / len(ht):
                problems.append(f"{model.name}: MIA refit on Keras probabilities {ref['share']:.4f} "
                                f"!= ckptforget {m['mia']:.4f}")
    m["problems"] = problems
    return m


def ssd_cmd(binary, work, mode, alpha, lam, out, test_data=True, one_pass=False):
    data = (["--forget-data", str(work / "train_forget.h5"), "--retain-data", str(work / "train_retain.h5")]
            if one_pass else ["--data", str(work / "train.h5")])
    cmd = [binary, str(work / "original.h5"), *data]
    if test_data:
        cmd += ["--test-data", str(work / "test.h5")]
    cmd += ["--scale", "1/255", "--class", str(FORGET_CLASS), "--pass", f"ssd:alpha={alpha},lambda={lam}",
            "--fisher", mode, "-o", str(out), "--json"]
    return cmd


def ssd_run(binary, work, mode, alpha, lam, out, **kw):
    for p in (out, Path(str(out) + ".manifest.json"), Path(str(out) + ".sig")):
        p.unlink(missing_ok=True)
    p, wall = run(ssd_cmd(binary, work, mode, alpha, lam, out, **kw), f"ssd {mode} a={alpha} l={lam}")
    rep = json.loads(p.stdout)
    changed = sum(t["elements_changed"] for ps in rep["passes"] for t in ps["tensors"])
    return wall, changed, LAST_CPU


def fmt_num(v):
    return f"{v:g}"


def tag(mode, a, lam):
    return f"ssd_{mode.replace(':', '')}_a{fmt_num(a)}_l{fmt_num(lam)}"


def meets(m, orig):
    drop = orig["retain_acc"] - m["retain_acc"]
    return m["forget_acc"] <= FORGET_MAX and drop <= RETAIN_DROP_MAX


def shortfall(m, orig):
    drop = orig["retain_acc"] - m["retain_acc"]
    return max(m["forget_acc"] - FORGET_MAX, 0) + max(drop - RETAIN_DROP_MAX, 0)


def pct(v):
    return f"{100 * v:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("QUALITY_DIR", ROOT / "bench-out/quality")))
    ap.add_argument("--bin", default=os.environ.get("CKPTFORGET", str(ROOT / ".build/release/ckptforget")))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--modes", default="exact,batch:64")
    ap.add_argument("--alphas", default="0.4,0.45,0.5,1,2,3,5,8")
    ap.add_argument("--lambdas", default="1,0.5,0.1,0.05,0.01")
    ap.add_argument("--runs", type=int, default=3, help="timed runs for the best settings and retraining")
    ap.add_argument("--no-keras-check", action="store_true", help="skip the Keras cross-check of ssd outputs")
    args = ap.parse_args()

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    binary = str(Path(args.bin).resolve())
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"quality: {binary} is not an executable (swift build -c release)")
    modes = [m for m in args.modes.split(",") if m]
    grid = [(10.0, 1.0)] + [(float(a), float(l)) for l in args.lambdas.split(",") for a in args.alphas.split(",")]
    grid = list(dict.fromkeys(grid))
    problems = []
    started = datetime.now(timezone.utc)
    t_all = time.perf_counter()

    import keras

    log(f"keras {keras.__version__} ({keras.backend.backend()}), work dir {work}")
    xtr, ytr, xte, yte = make_data(work)
    check = (xtr, ytr, xte, yte)
    keep = ytr != FORGET_CLASS

    # ---- original
    wall, fit, cpu = train(xtr, ytr, work / "original.h5", args.epochs, args.seed, args.batch)
    log(f"original: trained {args.epochs} epochs on {len(ytr)} samples in {wall:.1f} s (fit {fit:.1f} s)")
    orig = evaluate(binary, work, work / "original.h5", check)
    orig["train_wall"], orig["train_fit"], orig["train_cpu"] = wall, fit, cpu
    problems += orig["problems"]
    # Keras' own model.evaluate on the same splits, for the report
    km = keras.models.load_model(work / "original.h5")
    kev = {}
    for name, (x, y) in {"forget": (xtr[~keep], ytr[~keep]), "retain": (xtr[keep], ytr[keep]),
                         "test": (xte[yte != FORGET_CLASS], yte[yte != FORGET_CLASS]),
                         "test_all": (xte, yte)}.items():
        loss, acc = km.evaluate(x.astype(np.float32) / 255.0, y, batch_size=500, verbose=0)
        kev[name] = {"loss": float(loss), "accuracy": float(acc)}
    orig["keras_evaluate"] = kev
    log(f"original: Df {pct(orig['forget_acc'])} Dr {pct(orig['retain_acc'])} test {pct(orig['test_acc'])} "
        f"MIA {pct(orig['mia'])}; Keras evaluate: Df {pct(kev['forget']['accuracy'])} "
        f"Dr {pct(kev['retain']['accuracy'])} test {pct(kev['test']['accuracy'])} "
        f"test(all) {pct(kev['test_all']['accuracy'])} vs ckptforget {pct(orig['test_all_acc'])}")

    # ---- ssd grid
    rows = []
    for mode in modes:
        for a, lam in grid:
            out = work / f"{tag(mode, a, lam)}.h5"
            wall, changed, cpu = ssd_run(binary, work, mode, a, lam, out)
            m = evaluate(binary, work, out, None if args.no_keras_check else check)
            problems += m["problems"]
            r = {"mode": mode, "alpha": a, "lambda": lam, "file": out.name, "wall": wall, "cpu": cpu, "changed": changed, **m}
            r["meets"] = meets(m, orig)
            rows.append(r)
            log(f"{mode:9s} alpha={fmt_num(a):>3s} lambda={fmt_num(lam):>3s}: {wall:5.1f} s, {changed:6d} changed, "
                f"Df {pct(m['forget_acc']):>6s} Dr {pct(m['retain_acc'])} test {pct(m['test_acc'])} "
                f"test-2 {pct(m['test_forget_acc']):>6s} MIA {pct(m['mia']):>6s} {'MET' if r['meets'] else ''}")

    best = {}
    for mode in modes:
        cand = [r for r in rows if r["mode"] == mode]
        ok = [r for r in cand if r["meets"]]
        best[mode] = (max(ok, key=lambda r: (r["retain_acc"], -r["forget_acc"])) if ok
                      else min(cand, key=lambda r: (shortfall(r, orig), -r["retain_acc"])))

    # ---- retraining baseline
    rt_walls, rt_fits, rt_cpus, rt_weights = [], [], [], []
    for i in range(max(args.runs, 1)):
        out = work / ("retrain.h5" if i == 0 else "retrain_again.h5")
        wall, fit, cpu = train(xtr[keep], ytr[keep], out, args.epochs, args.seed, args.batch)
        rt_cpus.append(cpu)
        rt_walls.append(wall)
        rt_fits.append(fit)
        with h5py.File(out) as f:
            ws = []
            f["model_weights"].visititems(lambda n, o: ws.append(np.asarray(o)) if isinstance(o, h5py.Dataset) else None)
            rt_weights.append(ws)
        log(f"retrain {i + 1}/{args.runs}: {wall:.1f} s (fit {fit:.1f} s) on {int(keep.sum())} samples")
    (work / "retrain_again.h5").unlink(missing_ok=True)
    deterministic = all(len(w) == len(rt_weights[0]) and all(np.array_equal(a, b) for a, b in zip(w, rt_weights[0]))
                        for w in rt_weights)
    retrain = evaluate(binary, work, work / "retrain.h5", check)
    problems += retrain["problems"]
    retrain.update(wall=statistics.median(rt_walls), walls=rt_walls, fit=statistics.median(rt_fits),
                   fits=rt_fits, cpu=statistics.median(rt_cpus), cpus=rt_cpus,
                   deterministic=deterministic)
    retrain["meets"] = meets(retrain, orig)

    # ---- timing of the best settings
    timing = {}
    for mode in modes:
        b = best[mode]
        tmp = work / f"timing_{mode.replace(':', '')}.h5"
        full = [(b["wall"], 0, b["cpu"])] + [ssd_run(binary, work, mode, b["alpha"], b["lambda"], tmp)
                                             for _ in range(args.runs - 1)]
        edit = [ssd_run(binary, work, mode, b["alpha"], b["lambda"], tmp, test_data=False)
                for _ in range(args.runs)]
        timing[mode] = {"walls": [r[0] for r in full], "wall": statistics.median(r[0] for r in full),
                        "cpus": [r[2] for r in full], "cpu": statistics.median(r[2] for r in full),
                        "edit_walls": [r[0] for r in edit], "edit_wall": statistics.median(r[0] for r in edit),
                        "edit_cpu": statistics.median(r[2] for r in edit)}
        if mode == "exact":
            op = [ssd_run(binary, work, mode, b["alpha"], b["lambda"], tmp, test_data=False, one_pass=True)
                  for _ in range(args.runs)]
            timing[mode].update(one_pass_walls=[r[0] for r in op], one_pass_wall=statistics.median(r[0] for r in op),
                                one_pass_cpu=statistics.median(r[2] for r in op))
            # the one-pass form must select the same parameters (full = weighted mean of the splits)
            m1 = evaluate(binary, work, tmp, None)
            timing[mode]["one_pass_metrics"] = {k: m1[k] for k in ("forget_acc", "retain_acc", "test_acc", "mia")}
        for p in (tmp, Path(str(tmp) + ".manifest.json")):
            p.unlink(missing_ok=True)
        log(f"timing {mode}: with --test-data median {timing[mode]['wall']:.1f} s, edit only "
            f"{timing[mode]['edit_wall']:.1f} s" +
            (f", one-pass {timing[mode]['one_pass_wall']:.1f} s" if "one_pass_wall" in timing[mode] else ""))

    # ---- report
    def mrow(method, wall, m, ok):
        return (f"| {method} | {wall:.1f} | {pct(m['forget_acc'])} | {pct(m['retain_acc'])} | {pct(m['test_acc'])} | "
                f"{pct(m['test_forget_acc'])} | {pct(m['mia'])} | {ok} |")

    head = ("| method | wall s | forget acc Df % | retain acc Dr % | test acc (non-2) % | test class-2 acc % "
            "| MIA % | target met |\n|---|---:|---:|---:|---:|---:|---:|---|")
    lines = [head,
             mrow("original (Keras training, 5 epochs, all 10 classes)", orig["train_wall"], orig, "-")]
    for mode in modes:
        b = best[mode]
        lines.append(mrow(f"ssd `--fisher {mode}` alpha={fmt_num(b['alpha'])}, lambda={fmt_num(b['lambda'])} (best)",
                          timing[mode]["wall"], b, "yes" if b["meets"] else "no"))
    for mode in modes:
        d = next(r for r in rows if r["mode"] == mode and r["alpha"] == 10.0 and r["lambda"] == 1.0)
        lines.append(mrow(f"ssd `--fisher {mode}` alpha=10, lambda=1 (defaults)", d["wall"], d,
                          "yes" if d["meets"] else "no"))
    lines.append(mrow("retrain from scratch without class 2 (Keras)", retrain["wall"], retrain,
                      "yes" if retrain["meets"] else "no"))
    main_table = "\n".join(lines)

    ghead = ("| fisher | alpha | lambda | wall s | elements changed | Df % | Dr % | Dr drop pts | test % | "
             "test class-2 % | MIA % | target |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    glines = [ghead]
    for r in rows:
        glines.append(f"| {r['mode']} | {fmt_num(r['alpha'])} | {fmt_num(r['lambda'])} | {r['wall']:.1f} | {r['changed']} | "
                      f"{pct(r['forget_acc'])} | {pct(r['retain_acc'])} | {100 * (orig['retain_acc'] - r['retain_acc']):.2f} | "
                      f"{pct(r['test_acc'])} | {pct(r['test_forget_acc'])} | {pct(r['mia'])} | "
                      f"{'met' if r['meets'] else '-'} |")
    grid_table = "\n".join(glines)

    tlines = []
    for mode in modes:
        t = timing[mode]
        tlines.append(f"* ssd `--fisher {mode}` (best setting): {t['wall']:.1f} s median of {args.runs} "
                      f"({', '.join(f'{w:.1f}' for w in t['walls'])}) = **{t['wall'] / retrain['wall']:.2f}x** retraining "
                      f"({retrain['wall']:.1f} s); CPU (user+sys) {t['cpu']:.1f} s = {t['cpu'] / retrain['cpu']:.2f}x retraining's; "
                      f"the edit alone (no --test-data, no before/after metrics) "
                      f"{t['edit_wall']:.1f} s = {t['edit_wall'] / retrain['wall']:.2f}x (CPU {t['edit_cpu']:.1f} s)")
        if "one_pass_wall" in t:
            tlines.append(f"  * one-pass form (`--forget-data train_forget.h5 --retain-data train_retain.h5`, full = "
                          f"sample-weighted mean): {t['one_pass_wall']:.1f} s = {t['one_pass_wall'] / retrain['wall']:.2f}x "
                          f"retraining (CPU {t['one_pass_cpu']:.1f} s); result Df {pct(t['one_pass_metrics']['forget_acc'])} %, "
                          f"Dr {pct(t['one_pass_metrics']['retain_acc'])} %")
    tlines.append(f"* retraining: {retrain['wall']:.1f} s median of {len(rt_walls)} "
                  f"({', '.join(f'{w:.1f}' for w in rt_walls)}), of which model.fit {retrain['fit']:.1f} s "
                  f"(includes JAX compilation), CPU {retrain['cpu']:.1f} s; retrained weights identical across runs: {deterministic}")
    tlines.append(f"* original training: {orig['train_wall']:.1f} s (fit {orig['train_fit']:.1f} s, CPU {orig['train_cpu']:.1f} s)")
    timing_text = "\n".join(tlines)

    kv = orig["keras_evaluate"]
    cross = (f"Keras `model.evaluate` on original.h5: Df {pct(kv['forget']['accuracy'])} %, Dr {pct(kv['retain']['accuracy'])} %, "
             f"test (non-2) {pct(kv['test']['accuracy'])} %, test (all 2000) {pct(kv['test_all']['accuracy'])} %; "
             f"ckptforget eval: Df {pct(orig['forget_acc'])} %, Dr {pct(orig['retain_acc'])} %, "
             f"test (non-2) {pct(orig['test_acc'])} %, test (all) {pct(orig['test_all_acc'])} %. "
             f"Confusion matrices (Keras predict vs ckptforget eval) of every model checked: "
             f"{'all identical' if not problems else str(len(problems)) + ' differences'}.")

    def mia_line(name, m):
        if "entropy_mean" not in m:
            return ""
        e, f = m["entropy_mean"], m["mia_fit"]
        r = m.get("mia_refit")
        return (f"* {name}: mean entropy members (Dr) {e['members']:.4f}, non-members (test, non-2) "
                f"{e['non_members']:.4f}, targets (Df) {e['targets']:.4f}; fit p(member) = sigmoid({f['weight']:.3f} H "
                f"{f['intercept']:+.3f}); MIA {pct(m['mia'])} %" +
                (f" (scipy refit on Keras probabilities: {pct(r['share'])} %)" if r else "") + "\n")

    mia_text = (mia_line("original", orig) +
                "".join(mia_line(f"ssd {mode} best", best[mode]) for mode in modes) +
                mia_line("retrain", retrain))

    hostinfo = {"nproc": os.cpu_count(), "cpu": cpu_model(), "python": platform.python_version(),
                "keras": keras.__version__, "backend": keras.backend.backend(),
                "load_before": os.getloadavg()}
    md = (f"Run {started.strftime('%Y-%m-%d %H:%M UTC')}, {hostinfo['nproc']} CPUs ({hostinfo['cpu']}), "
          f"Python {hostinfo['python']}, Keras {hostinfo['keras']} ({hostinfo['backend']}), "
          f"load average at the end {os.getloadavg()[0]:.2f}; total {time.perf_counter() - t_all:.0f} s.\n\n"
          f"{main_table}\n\n{timing_text}\n\n{cross}\n\nMembership inference details:\n\n{mia_text}\nGrid (each row one run of the command, wall time of that run):\n\n"
          f"{grid_table}\n")
    (work / "results.md").write_text(md)
    res = {"started": started.isoformat(), "host": hostinfo, "args": {k: str(v) for k, v in vars(args).items()},
           "original": orig, "grid": rows, "best": {k: v["file"] for k, v in best.items()}, "retrain": retrain,
           "timing": timing, "problems": problems,
           "target": {"forget_acc_max": FORGET_MAX, "retain_drop_max": RETAIN_DROP_MAX}}
    (work / "results.json").write_text(json.dumps(res, indent=1, default=float))
    log("\n" + md)
    for p in problems:
        log(f"PROBLEM: {p}")
    log(f"wrote {work / 'results.md'} and {work / 'results.json'}")
    return 1 if problems else 0


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RuntimeError as e:
        print(f"quality: {e}", file=sys.stderr)
        sys.exit(1)
