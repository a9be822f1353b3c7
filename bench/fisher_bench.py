#!/usr/bin/env python3
"""Fisher-diagonal throughput: engine-bench and `ckptforget stats --fisher exact` vs numpy and JAX.

    python3 bench/fisher_bench.py BENCH_DIR [--bin CKPTFORGET] [--engine-bin ENGINE_BENCH] [--runs 5]
                                            [--rounds 3] [--jax-runs 3] [--rebuild]

Called by bench/run.sh as its last section; it can also be run on its own (it needs numpy and
h5py; Keras 3 with JAX to build the model; JAX for the JAX row; the engine-bench binary, built by
`swift build -c release`, default next to the ckptforget binary). See bench/README.md.

1. Inputs (kept in BENCH_DIR, rebuilt when missing or with --rebuild):
   * BENCH_DIR/mnist10k.h5: the 10,000 MNIST test images, x (10000, 784) uint8 and y (10000,)
     int64, from the gzipped IDX files in MNIST_DIR (default <repo>/../shared/data/mnist).
   * BENCH_DIR/seed_mlp.h5: the seed MLP, Keras 3 (KERAS_BACKEND=jax) Input(784) -> Dense(200,
     relu) -> Dense(200, relu) -> Dense(10, softmax), trained 1 epoch with Adam on those images
     (x / 255, seed 0) so that its gradients are realistic, saved with model.save (legacy .h5).
   * BENCH_DIR/mnist10k_forget2.h5 and mnist10k_retain2.h5: the same samples split by class 2
     (for the --forget-data/--retain-data ckptforget variant below).
2. numpy (worker process, with the environment as it is, with OPENBLAS_CORETYPE and
   OPENBLAS_L2_SIZE removed, and with OPENBLAS_NUM_THREADS=1): the exact Fisher (mean over
   samples of squared per-sample gradients of -log p_y) through the Dense identity
   F_W = sum_x (a_in^2)^T (delta^2), F_b = sum_x delta^2, divided by N; float32, batches of
   1000, np.matmul (OpenBLAS). The images are already in memory as float32 (x / 255); one
   untimed warm-up pass, then the median of `--runs` passes over the 10,000 samples. The
   environment-as-is worker runs `--rounds` times, interleaved with engine-bench (item 3); the
   other two run once.
3. engine (in-process, data in memory): `engine-bench seed_mlp.h5 mnist10k.h5 --scale 1/255
   --runs R`, the engine's exact Fisher as `ckptforget stats` computes it, with the data read into
   memory first (the bytes the file stores, widened batch by batch as `stats` does) and the process
   start excluded, like numpy: one untimed warm-up pass, then the
   median of R passes over the 10,000 samples. To damp the noise of a shared machine, numpy and
   engine-bench run alternately in `--rounds` rounds (numpy worker, then engine-bench, each with
   `--runs` R); the figures are the medians over the rounds of the per-round medians, and the
   headline ratio engine/numpy is the median of the per-round ratios.
4. JAX (worker process): jit(vmap(grad(loss))) per-sample gradients, squared and summed over the
   batch inside the same jit, float32, batches of 1000, data on the device, block_until_ready.
   One untimed warm-up pass (compiles), then the median of `--jax-runs` passes.
5. ckptforget: `ckptforget stats seed_mlp.h5 --data mnist10k.h5 --scale 1/255 --class 2
   --fisher exact -o OUT`, the whole command (start-up, SHA-256 of the inputs for the record,
   reading and scaling the data, forward and backward passes, writing OUT). It writes three
   splits, forget (class 2), retain (the rest) and full, but runs the per-sample gradients only
   over forget and retain: the exact Fisher sums of full are their sums (no pass of its own), so
   10,000 samples: samples/s = 10,000 / wall time. Also timed: the same with the two OPENBLAS_*
   variables removed and with OPENBLAS_NUM_THREADS=1, the form `--forget-data F --retain-data R`
   (also 10,000 samples: 10,000 / wall), and `ckptforget eval` (reading + forward only) for
   where the time goes. One untimed warm-up run each, then the median of `--runs`.
6. Agreement: numpy vs JAX, and ckptforget's /fisher/full/<tensor> (both forms) vs numpy:
   max |difference| / max |numpy| per tensor must be <= 1e-4.

The target is the engine's in-process figure: the whole-command figure is reported beside it but
not held to numpy's, because numpy's figure is compute only, without process start, hashing, HDF5
reading or writing.

Exit status: 0 when the engine (engine-bench, environment as it is) reaches >= 1x numpy's
samples/s (environment as it is) by the headline ratio (the median of the per-round ratios), 10
when it does not (a report, not a failure), 3 when Keras/JAX are missing and there is no model
from an earlier run (nothing measured; the pip command is printed), 1 when it cannot measure (no
MNIST, no engine-bench binary, a command fails, the results disagree).

The last line printed is a JSON summary of the figures (samples/s, per-round times and ratios).
"""

import argparse
import gzip
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

N_SAMPLES = 10_000
BATCH = 1000
FORGET_CLASS = 2
EPS = 1e-7  # Keras' clip of probabilities in (sparse) categorical cross-entropy
TOLERANCE = 1e-4
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
INPUTS_VERSION = 1
MISSED, SKIPPED = 10, 3  # exit statuses besides 0 (target met) and 1 (cannot measure)


def log(*args):
    print(*args, flush=True)


def mnist_dir():
    return Path(os.environ.get("MNIST_DIR", Path(__file__).resolve().parents[2] / "shared/data/mnist"))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise SystemExit(f"fisher_bench: {path}: not an unsigned-byte IDX file")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_data(bench_dir):
    import h5py
    with h5py.File(bench_dir / "mnist10k.h5", "r") as f:
        return f["x"][...], f["y"][...]


def load_model(path):
    """The Dense layers of a Keras legacy .h5, read with h5py: [(kernel_name, W, bias_name, b, activation)]."""
    import h5py
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
        activations = {layer["config"]["name"]: layer["config"]["activation"]
                       for layer in config["config"]["layers"] if layer["class_name"] == "Dense"}
        weights = f["model_weights"]
        layers = []
        for name in (n.decode() if isinstance(n, bytes) else n for n in weights.attrs["layer_names"]):
            names = [n.decode() if isinstance(n, bytes) else n for n in weights[name].attrs["weight_names"]]
            if not names:
                continue
            kernel = next(n for n in names if n.endswith("kernel"))
            bias = next(n for n in names if n.endswith("bias"))
            layers.append((f"model_weights/{name}/{kernel}", weights[name][kernel][...].astype(np.float32),
                           f"model_weights/{name}/{bias}", weights[name][bias][...].astype(np.float32), activations[name]))
    assert [a for *_, a in layers] == ["relu", "relu", "softmax"], "expected the seed MLP (relu, relu, softmax)"
    return layers


# ------------------------------------------------------------------------------------------ inputs
def prepare(bench_dir, rebuild):
    """Writes mnist10k.h5, seed_mlp.h5 and the class-2 split files unless they are up to date."""
    import h5py
    src = mnist_dir()
    images, labels = src / "t10k-images-idx3-ubyte.gz", src / "t10k-labels-idx1-ubyte.gz"
    meta_path = bench_dir / "fisher_inputs.json"
    outputs = [bench_dir / n for n in ("mnist10k.h5", "seed_mlp.h5", "mnist10k_forget2.h5", "mnist10k_retain2.h5")]
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        meta = None
    if not rebuild and meta and meta.get("version") == INPUTS_VERSION and all(p.exists() for p in outputs):
        if not images.exists() or meta.get("mnist_sha256") == sha256(images):
            log(f"inputs:      {outputs[1].name}, {outputs[0].name} and the class-2 split files exist in {bench_dir} (--rebuild to redo)")
            return meta
    if not images.exists() or not labels.exists():
        raise SystemExit(f"fisher_bench: no MNIST test set at {src} (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz); set MNIST_DIR")
    x = read_idx(images).reshape(-1, 784)[:N_SAMPLES]
    y = read_idx(labels)[:N_SAMPLES].astype(np.int64)
    with h5py.File(bench_dir / "mnist10k.h5", "w") as f:
        f["x"] = x
        f["y"] = y
    forget = y == FORGET_CLASS
    for name, keep in (("mnist10k_forget2.h5", forget), ("mnist10k_retain2.h5", ~forget)):
        with h5py.File(bench_dir / name, "w") as f:
            f["x"] = x[keep]
            f["y"] = y[keep]
    # Keras in its own process: it imports JAX, which must not share the process with the timings.
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "_train", str(bench_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        if "No module named" in proc.stderr:
            log(f"fisher_bench: building the seed MLP needs Keras 3 with JAX ({proc.stderr.strip().splitlines()[-1]}); "
                f"install them with:  {sys.executable} -m pip install keras 'jax[cpu]'")
            sys.exit(SKIPPED)
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit("fisher_bench: training the seed MLP with Keras failed")
    trained = json.loads(proc.stdout.strip().splitlines()[-1])
    meta = {"version": INPUTS_VERSION, "mnist_sha256": sha256(images), "trained": trained}
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    log(f"inputs:      trained the seed MLP in {time.perf_counter() - t0:.1f} s ({trained}) and wrote {outputs[0].name}, "
        f"{outputs[1].name}, {outputs[2].name} ({int(forget.sum())} samples), {outputs[3].name}")
    return meta


def train(bench_dir):
    os.environ["KERAS_BACKEND"] = "jax"
    import keras
    import h5py
    with h5py.File(bench_dir / "mnist10k.h5", "r") as f:
        x = f["x"][...].astype(np.float32) / 255
        y = f["y"][...]
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(200, activation="relu", name="dense"),
        keras.layers.Dense(200, activation="relu", name="dense_1"),
        keras.layers.Dense(10, activation="softmax", name="dense_2"),
    ], name="seed_mlp")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    tmp = bench_dir / "seed_mlp.tmp.h5"
    model.save(tmp)  # legacy HDF5 (Keras warns that .h5 is legacy)
    os.replace(tmp, bench_dir / "seed_mlp.h5")
    import jax
    print(json.dumps({"keras": keras.__version__, "jax": jax.__version__, "epochs": 1, "optimizer": "Adam(1e-3)",
                      "batch_size": 32, "train_loss": round(float(history.history["loss"][-1]), 4),
                      "train_accuracy": round(float(history.history["accuracy"][-1]), 4)}))


# ------------------------------------------------------------------------------------------ numpy
def numpy_fisher(layers, x, y):
    """Exact Fisher over all of x (float32), batches of BATCH; returns sums / N by tensor name."""
    (kn1, W1, bn1, b1, _), (kn2, W2, bn2, b2, _), (kn3, W3, bn3, b3, _) = layers
    acc = {n: np.zeros(s, np.float32) for n, s in ((kn1, W1.shape), (bn1, b1.shape), (kn2, W2.shape),
                                                    (bn2, b2.shape), (kn3, W3.shape), (bn3, b3.shape))}
    n = len(x)
    for start in range(0, n, BATCH):
        a0 = x[start:start + BATCH]
        yb = y[start:start + BATCH]
        rows = np.arange(len(a0))
        a1 = np.matmul(a0, W1); a1 += b1; np.maximum(a1, 0, out=a1)
        a2 = np.matmul(a1, W2); a2 += b2; np.maximum(a2, 0, out=a2)
        z = np.matmul(a2, W3); z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        d3 = z  # dL/dz = p - onehot(y), zero where Keras' clip of p_y bites
        py = d3[rows, yb].copy()
        d3[rows, yb] -= 1
        d3[(py < EPS) | (py > 1 - EPS)] = 0
        d2 = np.matmul(d3, W3.T); d2 *= a2 > 0
        d1 = np.matmul(d2, W2.T); d1 *= a1 > 0
        for a, d, kn, bn in ((a0, d1, kn1, bn1), (a1, d2, kn2, bn2), (a2, d3, kn3, bn3)):
            d2sq = np.square(d)
            acc[kn] += np.matmul(np.square(a).T, d2sq)
            acc[bn] += d2sq.sum(axis=0)
    return {k: v / n for k, v in acc.items()}


def numpy_worker(bench_dir, runs, save):
    layers = load_model(bench_dir / "seed_mlp.h5")
    xu, y = load_data(bench_dir)
    x = xu.astype(np.float32) * np.float32(1 / 255)  # as ckptforget --scale 1/255: float32 multiply
    fisher = numpy_fisher(layers, x, y)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fisher = numpy_fisher(layers, x, y)
        times.append(time.perf_counter() - t0)
    if save:
        np.savez(bench_dir / "fisher-work" / "numpy_fisher.npz", **{k.replace("/", "|"): v for k, v in fisher.items()})
    try:
        from threadpoolctl import threadpool_info
        pools = [p for p in threadpool_info() if p.get("internal_api") == "openblas"]
        kernel = ", ".join(f"{p.get('architecture')} ({p.get('num_threads')} threads, OpenBLAS {p.get('version')})" for p in pools) or "?"
    except ImportError:
        kernel = f"? (kernel unknown: {sys.executable} -m pip install threadpoolctl)"
    print(json.dumps({"times": times, "kernel": kernel}))


# ------------------------------------------------------------------------------------------ JAX
def jax_worker(bench_dir, runs):
    import jax
    import jax.numpy as jnp
    layers = load_model(bench_dir / "seed_mlp.h5")
    xu, y = load_data(bench_dir)
    x = xu.astype(np.float32) * np.float32(1 / 255)
    params = [(jnp.asarray(W), jnp.asarray(b)) for _, W, _, b, _ in layers]

    def loss(params, xs, ys):
        (W1, b1), (W2, b2), (W3, b3) = params
        h = jax.nn.relu(xs @ W1 + b1)
        h = jax.nn.relu(h @ W2 + b2)
        p = jax.nn.softmax(h @ W3 + b3)
        return -jnp.log(jnp.clip(p[ys], EPS, 1 - EPS))  # Keras' sparse categorical cross-entropy

    per_sample = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))

    @jax.jit
    def batch_sum(params, xs, ys):
        return jax.tree_util.tree_map(lambda g: jnp.sum(g * g, axis=0), per_sample(params, xs, ys))

    xs = [jax.device_put(x[s:s + BATCH]) for s in range(0, N_SAMPLES, BATCH)]
    ys = [jax.device_put(y[s:s + BATCH].astype(np.int32)) for s in range(0, N_SAMPLES, BATCH)]

    def run():
        total = None
        for xb, yb in zip(xs, ys):
            part = batch_sum(params, xb, yb)
            total = part if total is None else jax.tree_util.tree_map(jnp.add, total, part)
        return jax.block_until_ready(total)

    run()  # warm-up: compiles
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        total = run()
        times.append(time.perf_counter() - t0)
    fisher = {}
    for (kn, _, bn, _, _), (gW, gb) in zip(layers, total):
        fisher[kn] = np.asarray(gW) / N_SAMPLES
        fisher[bn] = np.asarray(gb) / N_SAMPLES
    np.savez(bench_dir / "fisher-work" / "jax_fisher.npz", **{k.replace("/", "|"): v for k, v in fisher.items()})
    print(json.dumps({"times": times, "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}))


# ------------------------------------------------------------------------------------------ driver
def without_openblas_env():
    return {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}


def worker(kind, bench_dir, runs, env=None, save=True):
    cmd = [sys.executable, __file__, f"_{kind}", str(bench_dir), "--runs", str(runs)] + ([] if save else ["--no-save"])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return None, proc.stderr.strip()
    return json.loads(proc.stdout.strip().splitlines()[-1]), None


def engine_bench(engine_bin, model, data, runs, env=None):
    """engine-bench on the seed MLP (environment as is unless `env`): its JSON line (samples, median_s, min_s, workers...)."""
    cmd = [str(engine_bin), str(model), str(data), "--scale", "1/255", "--runs", str(runs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"fisher_bench: engine-bench failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"fisher_bench: engine-bench printed no JSON line: {' '.join(cmd)}\n{proc.stdout[-2000:]}")
    if result.get("samples") != N_SAMPLES:
        raise SystemExit(f"fisher_bench: engine-bench measured {result.get('samples')} samples, expected {N_SAMPLES}")
    return result


def interleaved_rounds(bench_dir, engine_bin, model, data, runs, rounds):
    """`rounds` rounds, each running the numpy worker (environment as is) then engine-bench, both with
    `runs` timed passes, so that machine noise falls on both alike. Returns one dict per round: the
    numpy worker's and engine-bench's results, their medians (s) and the ratio engine/numpy."""
    per_round = []
    for k in range(rounds):
        np_res, err = worker("numpy", bench_dir, runs, save=(k == 0))
        if np_res is None:
            raise SystemExit(f"fisher_bench: numpy worker failed:\n{err}")
        eng = engine_bench(engine_bin, model, data, runs)
        np_s, eng_s = statistics.median(np_res["times"]), eng["median_s"]
        per_round.append({"numpy": np_res, "engine": eng, "numpy_s": np_s, "engine_s": eng_s, "ratio": np_s / eng_s})
        log(f"  round {k + 1}/{rounds}: numpy {np_s:.3f} s ({N_SAMPLES / np_s:,.0f} samples/s)   "
            f"engine-bench {eng_s:.3f} s ({N_SAMPLES / eng_s:,.0f} samples/s)   engine / numpy {np_s / eng_s:.2f}x")
    return per_round


def run_once(cmd, out, env):
    """Runs cmd once; returns (wall s, user s, sys s, peak RSS MiB)."""
    if out:
        Path(out).unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace")  # -q: nothing unless it fails
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"fisher_bench: command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024


def time_commands(variants, runs):
    """variants: {label: (cmd, out, env)}. One untimed warm-up of each, then `runs` rounds that run
    every variant once, the starting variant rotating from round to round (as run.sh does), so
    machine noise is spread over all of them. Yields each label after its warm-up (so that the
    caller can read the output it wrote), then {label: stats}."""
    labels = list(variants)
    samples = {label: [] for label in labels}
    for label in labels:
        run_once(*variants[label])
        yield label
    for i in range(runs):
        for j in range(len(labels)):
            label = labels[(i + j) % len(labels)]
            samples[label].append(run_once(*variants[label]))
    result = {}
    for label, rows in samples.items():
        walls = sorted(r[0] for r in rows)
        result[label] = {"wall": statistics.median(walls), "min": walls[0], "max": walls[-1],
                         "user": statistics.median(r[1] for r in rows), "sys": statistics.median(r[2] for r in rows),
                         "rss": max(r[3] for r in rows)}
    yield result


def other_busy_processes(window=1.0, threshold=0.2):
    """Processes outside this process tree that used more than `threshold` of a CPU over `window` s."""
    def snapshot():
        ticks = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    name = f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:60]
                ticks[int(pid)] = (int(fields[11]) + int(fields[12]), name, int(fields[1]))
            except (OSError, IndexError, ValueError):
                pass
        return ticks
    try:
        first = snapshot()
        time.sleep(window)
        second = snapshot()
    except OSError:
        return []
    hz = os.sysconf("SC_CLK_TCK")
    mine = {os.getpid()}
    busy = []
    for pid, (t, name, ppid) in second.items():
        if pid in mine or ppid in mine or pid not in first:
            continue
        share = (t - first[pid][0]) / hz / window
        if share > threshold:
            busy.append(f"pid {pid} {name or '?'} ({share:.0%} CPU)")
    return busy


def read_stats(path, names, split="full"):
    import h5py
    with h5py.File(path, "r") as f:
        return {n: f[f"fisher/{split}/{n}"][...].astype(np.float64) for n in names}


def compare(label, got, ref):
    worst = 0.0
    parts = []
    for name, r in ref.items():
        g = np.asarray(got[name], np.float64)
        r = np.asarray(r, np.float64)
        if g.shape != r.shape:
            raise SystemExit(f"fisher_bench: {label}: {name} has shape {g.shape}, numpy's is {r.shape}")
        rel = float(np.max(np.abs(g - r)) / max(np.max(np.abs(r)), 1e-30))
        worst = max(worst, rel)
        parts.append(f"{name.split('/')[1]}/{name.rsplit('/', 1)[1]} {rel:.1e}")
    ok = worst <= TOLERANCE
    log(f"  {label:<48} max|d|/max|ref| {worst:.2e}  {'OK' if ok else 'MISMATCH'}  ({', '.join(parts)})")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench_dir", type=Path)
    ap.add_argument("--bin", default=None, help="ckptforget binary (default .build/release/ckptforget)")
    ap.add_argument("--engine-bin", default=None,
                    help="engine-bench binary (default: next to --bin when given, else .build/release/engine-bench)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs for numpy, engine-bench and ckptforget (median)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of numpy then engine-bench (median over rounds)")
    ap.add_argument("--jax-runs", type=int, default=3, help="timed passes for JAX (median)")
    ap.add_argument("--rebuild", action="store_true", help="retrain the model and rewrite the data files")
    ap.add_argument("--no-save", action="store_true", help=argparse.SUPPRESS)
    if len(sys.argv) > 1 and sys.argv[1] in ("_train", "_numpy", "_jax"):
        kind = sys.argv.pop(1)
        args = ap.parse_args()
        bench_dir = args.bench_dir.resolve()
        if kind == "_train":
            train(bench_dir)
        elif kind == "_numpy":
            numpy_worker(bench_dir, args.runs, not args.no_save)
        else:
            jax_worker(bench_dir, args.runs)
        return 0
    args = ap.parse_args()
    root = Path(__file__).resolve().parents[1]
    binary = Path(args.bin or root / ".build/release/ckptforget").resolve()
    if not binary.is_file():
        raise SystemExit(f"fisher_bench: no ckptforget binary at {binary} (swift build -c release)")
    engine_bin = Path(args.engine_bin or (Path(args.bin).resolve().parent if args.bin else root / ".build/release") / "engine-bench").resolve()
    if not engine_bin.is_file() or not os.access(engine_bin, os.X_OK):
        raise SystemExit(f"fisher_bench: no engine-bench binary at {engine_bin}; build it with: "
                         f"swift build -c release --product engine-bench (or pass --engine-bin PATH)")
    if args.runs < 1 or args.rounds < 1 or args.jax_runs < 1:
        raise SystemExit("fisher_bench: --runs, --rounds and --jax-runs must be at least 1")
    bench_dir = args.bench_dir.resolve()
    bench_dir.mkdir(parents=True, exist_ok=True)
    work = bench_dir / "fisher-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        return run(args, binary, engine_bin, bench_dir, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args, binary, engine_bin, bench_dir, work):
    meta = prepare(bench_dir, args.rebuild)
    model, data = bench_dir / "seed_mlp.h5", bench_dir / "mnist10k.h5"
    forget_h5, retain_h5 = bench_dir / "mnist10k_forget2.h5", bench_dir / "mnist10k_retain2.h5"
    names = [n for kn, _, bn, _, _ in load_model(model) for n in (kn, bn)]
    busy = other_busy_processes()
    log(f"load:        1-minute load average {os.getloadavg()[0]:.2f} before the runs"
        + (f"; NOTE: busy now: {'; '.join(busy)}: the timings will be noisy" if busy else "; no other busy process"))
    env_now = " ".join(f"{k}={os.environ[k]}" for k in OPENBLAS_VARS if k in os.environ) or "(neither set)"
    log(f"OpenBLAS env: {env_now}")
    log(f"method:      numpy and engine-bench: {args.rounds} interleaved rounds (numpy, then engine-bench), each 1 warm-up + "
        f"median of {args.runs} passes; medians over the rounds, headline ratio = median of the per-round ratios;")
    log(f"             numpy with OPENBLAS_* unset / 1 thread: 1 round; JAX: 1 warm-up (compile) + median of {args.jax_runs}; "
        f"ckptforget: 1 warm-up per variant, then {args.runs} rounds running every variant once (rotating), medians")

    # numpy (environment as is) and the engine, alternately.
    log(f"engine-bench: {engine_bin}")
    log(f"numpy vs engine (in-process, data in memory), {args.rounds} interleaved rounds:")
    rounds = interleaved_rounds(bench_dir, engine_bin, model, data, args.runs, args.rounds)
    np_env = rounds[0]["numpy"]
    np_rate = N_SAMPLES / statistics.median(r["numpy_s"] for r in rounds)
    eng_rate = N_SAMPLES / statistics.median(r["engine_s"] for r in rounds)
    eng_ratio = statistics.median(r["ratio"] for r in rounds)

    # numpy without the two variables, and on one thread.
    np_clean, err = worker("numpy", bench_dir, args.runs, env=without_openblas_env(), save=False)
    if np_clean is None:
        raise SystemExit(f"fisher_bench: numpy worker (OPENBLAS_* unset) failed:\n{err}")
    # The engine without them too (OpenBLAS then picks its kernels for this CPU, as numpy's does).
    eng_clean = engine_bench(engine_bin, model, data, args.runs, env=without_openblas_env())
    np_1t, err = worker("numpy", bench_dir, args.runs, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"), save=False)
    if np_1t is None:
        raise SystemExit(f"fisher_bench: numpy worker (OPENBLAS_NUM_THREADS=1) failed:\n{err}")

    # JAX.
    jax_res, jax_err = worker("jax", bench_dir, args.jax_runs)
    if jax_res is None:
        if "No module named 'jax'" in (jax_err or ""):
            log(f"JAX:         not installed, row skipped; install with: {sys.executable} -m pip install 'jax[cpu]'")
        else:
            log(f"JAX:         failed, row skipped:\n{jax_err[-2000:]}")

    # ckptforget.
    out = work / "stats.h5"
    main_cmd = [str(binary), "stats", str(model), "--data", str(data), "--scale", "1/255", "--class", str(FORGET_CLASS),
                "--fisher", "exact", "-o", str(out), "-q"]
    one_cmd = [str(binary), "stats", str(model), "--forget-data", str(forget_h5), "--retain-data", str(retain_h5),
               "--scale", "1/255", "--fisher", "exact", "-o", str(out), "-q"]
    eval_cmd = [str(binary), "eval", str(model), "--data", str(data), "--scale", "1/255", "--class", str(FORGET_CLASS)]
    unset = without_openblas_env()
    one_thread = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    variants = {"main": (main_cmd, out, None), "main_unset": (main_cmd, out, unset), "main_1t": (main_cmd, out, one_thread),
                "one": (one_cmd, out, None), "one_unset": (one_cmd, out, unset), "eval": (eval_cmd, None, None)}
    outputs = {}
    for item in time_commands(variants, args.runs):
        if isinstance(item, str):  # after a warm-up: keep what it computed
            if item == "main":
                outputs["main"] = read_stats(out, names)
                outputs["forget"] = read_stats(out, names, "forget")
                outputs["retain"] = read_stats(out, names, "retain")
            elif item == "one":
                outputs["one"] = read_stats(out, names)
        else:
            timed = item
    ck, ck_clean, ck_1t, ck_one, ck_one_clean, ev = (timed[k] for k in variants)
    ck_stats, one_stats = outputs["main"], outputs["one"]
    split_stats = {s: outputs[s] for s in ("forget", "retain")}

    # Agreement.
    log("agreement (per tensor: max |difference| / max |numpy|, tolerance 1e-4):")
    ref = {k.replace("|", "/"): v for k, v in np.load(work / "numpy_fisher.npz").items()}
    ok = True
    if jax_res is not None:
        jx = {k.replace("|", "/"): v for k, v in np.load(work / "jax_fisher.npz").items()}
        ok &= compare("JAX vs numpy", jx, ref)
    ok &= compare("ckptforget /fisher/full (--data) vs numpy", ck_stats, ref)
    ok &= compare("ckptforget /fisher/full (split files) vs numpy", one_stats, ref)
    nf = int(np.sum(load_data(bench_dir)[1] == FORGET_CLASS))
    mixed = {n: (nf * split_stats["forget"][n] + (N_SAMPLES - nf) * split_stats["retain"][n]) / N_SAMPLES for n in names}
    ok &= compare("ckptforget forget+retain (weighted) vs numpy", mixed, ref)

    # Table: samples/s, and the engine's and the whole command's samples/s over each.
    ck_rate = N_SAMPLES / ck["wall"]  # forget + retain passes; full is their sum (no pass of its own)
    ck_rows = [
        ("ckptforget stats --data --class 2 (forget + retain: 10,000)", ck),
        ("  same, OPENBLAS_CORETYPE/L2_SIZE unset", ck_clean),
        ("  same, OPENBLAS_NUM_THREADS=1", ck_1t),
        ("ckptforget stats --forget/--retain-data (10,000)", ck_one),
        ("  same, OPENBLAS_CORETYPE/L2_SIZE unset", ck_one_clean),
    ]
    np_clean_rate = N_SAMPLES / statistics.median(np_clean["times"])
    np_1t_rate = N_SAMPLES / statistics.median(np_1t["times"])
    jax_rate = N_SAMPLES / statistics.median(jax_res["times"]) if jax_res is not None else None
    workers = rounds[0]["engine"].get("workers")
    kernel = lambda r: r["kernel"].split(" ")[0]
    eng_clean_rate = N_SAMPLES / eng_clean["median_s"]
    rows = [(f"engine-bench (in-process, data in memory, {workers} workers)", eng_rate),
            ("  same, OPENBLAS_CORETYPE/L2_SIZE unset", eng_clean_rate)]
    rows += [(label, N_SAMPLES / t["wall"]) for label, t in ck_rows]
    rows += [(f"numpy Dense identity, env as is [{kernel(np_env)}]", np_rate),
             (f"numpy Dense identity, OPENBLAS_* unset [{kernel(np_clean)}]", np_clean_rate),
             (f"numpy Dense identity, OPENBLAS_NUM_THREADS=1 [{kernel(np_1t)}]", np_1t_rate)]
    if jax_rate is not None:
        rows.append(("JAX jit(vmap(grad)), squared + summed in the jit", jax_rate))
    log("")
    log(f"numpy BLAS:  env as is: {np_env['kernel']}; OPENBLAS_* unset: {np_clean['kernel']}")
    if jax_res is not None:
        log(f"JAX:         {jax_res['jax']} on {', '.join(jax_res['devices'])}")
    t = meta["trained"]
    log(f"model:       {model.name}: 784-200-200-10 built with Keras {t['keras']} on JAX {t['jax']}, trained {t['epochs']} epoch "
        f"({t['optimizer']}, batch {t['batch_size']}) on the 10,000 images: loss {t['train_loss']}, accuracy {t['train_accuracy']}")
    shown = lambda cmd: " ".join(["ckptforget"] + cmd[1:]).replace(str(bench_dir) + "/", "$BENCH_DIR/")
    log(f"engine:      engine-bench $BENCH_DIR/{model.name} $BENCH_DIR/{data.name} --scale 1/255 --runs {args.runs} "
        f"(exact Fisher, {workers} workers)")
    log(f"ckptforget:  {binary}")
    log(f"  command:   {shown(main_cmd)}")
    log(f"  --forget/--retain-data: {shown(one_cmd)}")
    log("")
    log("engine / method and command / method: ratios of the samples/s below (for numpy, env as is, a ratio of")
    log(f"medians; the headline engine / numpy is the median of the {args.rounds} per-round ratios, under FIGURES)")
    log(f"{'method':<62} {'samples/s':>10} {'engine / method':>16} {'command / method':>17}")
    for label, r in rows:
        log(f"{label:<62} {r:>10,.0f} {eng_rate / r:>15.2f}x {ck_rate / r:>16.2f}x")
    log("")
    log("ckptforget runs (median wall, min-max, median CPU time, peak RSS):")
    for label, t in ck_rows + [("ckptforget eval --class 2 (read + forward only)", ev)]:
        log(f"  {label:<60} {t['wall']:6.3f} s ({t['min']:.3f}-{t['max']:.3f})  user {t['user']:.2f} s  sys {t['sys']:.2f} s  RSS {t['rss']:.0f} MiB")
    for k, r in enumerate(rounds, 1):
        log(f"round {k}: numpy passes, env as is (s): {', '.join(f'{t:.3f}' for t in r['numpy']['times'])}; "
            f"engine-bench median {r['engine_s']:.3f} s, min {r['engine']['min_s']:.3f} s")
    for label, r in (("OPENBLAS_* unset", np_clean), ("OPENBLAS_NUM_THREADS=1", np_1t)):
        log(f"numpy passes, {label} (s): {', '.join(f'{t:.3f}' for t in r['times'])}")
    if jax_res is not None:
        log(f"JAX passes (s): {', '.join(f'{t:.3f}' for t in jax_res['times'])}")
    log("")
    per_round = ", ".join(f"{r['ratio']:.2f}x" for r in rounds)
    log("FIGURES:")
    log(f"  engine (in-process, data in memory):  {eng_rate:>8,.0f} samples/s (engine-bench, median of {args.rounds} round medians)")
    log(f"      / numpy: {eng_ratio:.2f}x (headline: median of the per-round ratios {per_round})"
        + (f";  / JAX: {eng_rate / jax_rate:.2f}x" if jax_rate is not None else ";  / JAX: - (no JAX row)"))
    log(f"  ckptforget stats (whole command):     {ck_rate:>8,.0f} samples/s (10,000 samples / median wall {ck['wall']:.3f} s)")
    log(f"      / numpy: {ck_rate / np_rate:.2f}x; reported, not the target: numpy's figure is compute only, without process start,")
    log("      hashing, HDF5 reading or writing")
    log(f"  numpy (Dense identity, env as is):    {np_rate:>8,.0f} samples/s (median of {args.rounds} round medians)")
    if jax_rate is not None:
        log(f"  JAX (jit(vmap(grad))):                {jax_rate:>8,.0f} samples/s (median of {args.jax_runs} pass{'es' if args.jax_runs != 1 else ''})")
    log(f"  with OPENBLAS_CORETYPE/L2_SIZE unset (one run each, OpenBLAS's own kernel choice): engine {eng_clean_rate:,.0f}, "
        f"numpy {np_clean_rate:,.0f} samples/s: {eng_clean_rate / np_clean_rate:.2f}x")

    met = eng_ratio >= 1
    if not ok:
        log("FISHER: results DISAGREE (see above)")
        status = 1
    else:
        busy = other_busy_processes()
        if busy:
            log(f"NOTE: other processes were using CPU at the end of the runs: {'; '.join(busy)}; the timings are noisy, run again when idle")
        log(f"FISHER target: engine (in-process, data in memory) >= 1x numpy (both with the environment as is, median of "
            f"{args.rounds} per-round ratios): {eng_rate:,.0f} vs {np_rate:,.0f} samples/s, {eng_ratio:.2f}x: {'PASS' if met else 'FAIL'}")
        status = 0 if met else MISSED
    print_summary(args, rounds, np_rate, eng_rate, eng_ratio, np_env, np_clean, np_1t, jax_res, jax_rate,
                  timed, ok, met, status, eng_clean)
    return status


def print_summary(args, rounds, np_rate, eng_rate, eng_ratio, np_env, np_clean, np_1t, jax_res, jax_rate, timed, ok, met, status,
                  eng_clean):
    """The figures as one JSON line (the last line printed)."""
    s4 = lambda v: round(v, 4)
    rate = lambda v: round(v, 1) if v is not None else None
    numpy_once = lambda r: {"samples_per_s": rate(N_SAMPLES / statistics.median(r["times"])),
                            "median_s": s4(statistics.median(r["times"])), "kernel": r["kernel"]}
    ck = timed["main"]
    summary = {
        "fisher_bench": 1, "samples": N_SAMPLES, "runs": args.runs, "rounds": args.rounds, "jax_runs": args.jax_runs,
        "engine": {"what": "engine-bench: in-process, data in memory", "samples_per_s": rate(eng_rate),
                   "round_median_s": [s4(r["engine_s"]) for r in rounds], "round_min_s": [s4(r["engine"]["min_s"]) for r in rounds],
                   "fisher": rounds[0]["engine"].get("fisher"), "workers": rounds[0]["engine"].get("workers"),
                   "ratio_numpy": s4(eng_ratio), "round_ratio_numpy": [s4(r["ratio"]) for r in rounds],
                   "ratio_jax": s4(eng_rate / jax_rate) if jax_rate is not None else None},
        "numpy": {"samples_per_s": rate(np_rate), "round_median_s": [s4(r["numpy_s"]) for r in rounds], "kernel": np_env["kernel"]},
        "engine_openblas_unset": {"samples_per_s": rate(N_SAMPLES / eng_clean["median_s"]), "median_s": s4(eng_clean["median_s"])},
        "numpy_openblas_unset": numpy_once(np_clean),
        "numpy_1_thread": numpy_once(np_1t),
        "jax": {"samples_per_s": rate(jax_rate), "median_s": s4(statistics.median(jax_res["times"])), "jax": jax_res["jax"]}
               if jax_res is not None else None,
        "command": {"what": "ckptforget stats --data --class 2 --fisher exact: whole command", "samples": N_SAMPLES,
                    "samples_per_s": rate(N_SAMPLES / ck["wall"]), "median_wall_s": s4(ck["wall"]),
                    "ratio_numpy": s4(N_SAMPLES / ck["wall"] / np_rate)},
        "command_variants": {label: {"median_wall_s": s4(t["wall"]), "samples_per_s": rate(N_SAMPLES / t["wall"]) if label != "eval" else None}
                             for label, t in timed.items() if label != "main"},
        "agree": bool(ok), "target": "engine samples/s >= 1x numpy (median of per-round ratios)", "target_met": bool(met),
        "exit": status,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    sys.exit(main())
