#!/usr/bin/env python3
"""Spiking-simulator throughput: ckptforget's simulator (engine-bench --spiking) vs snnTorch and numpy.

    python3 bench/spiking/speed.py [--runs 5] [--rounds 3] [--batch 256] [--seed 0] [--json PATH]

Binaries from the environment: ENGINE_BENCH (default <repo>/.build/release/engine-bench) and
CKPTFORGET (default <repo>/.build/release/ckptforget; used for the agreement checks only).
Needs numpy, h5py, torch (CPU), snntorch and nir. See bench/spiking/README.md.

The same network, the same spike trains and (for snnTorch and numpy) the same batch size:

* Network: Fixtures/spiking/snn_post.nir, the snnTorch MLP 784-64-64-10 (Affine -> LIF three
  times; 138 spiking neurons), read with nir.read; the chain order comes from the graph's edges.
  beta = float32(1 - 1e-4 / float64(tau)) per neuron (snnTorch's beta bit for bit, see
  Fixtures/README.md), theta = v_threshold.
* Spike trains: the 2,000 held-out images of Fixtures/spiking/snn_data.h5, rate-coded once:
  spikes = numpy.random.default_rng(SEED).random((T, N, 784), float32) < x / 255, T = 25, written
  to a temporary HDF5 file as `input` uint8 (25, 2000, 784) and `labels` int64 (2000,). All three
  simulators get exactly these spikes (in memory as float32 for the Python ones; engine-bench reads
  the file into memory before it times anything).
* snnTorch: nn.Linear layers with the file's weights and snn.Leaky(beta=<per-neuron vector>,
  threshold=<v_threshold>, reset_mechanism="subtract", init_hidden=False), stepped one time step
  at a time through every layer, torch.no_grad(), torch.set_num_threads(nproc), batches of --batch.
* numpy: snnTorch's recurrence as Fixtures/make_spiking_fixtures.py writes it
  (sim_snntorch_rule), the whole batch per time step, float32, batches of --batch. An extra,
  informational row runs each layer over all steps before the next (one matrix product per Affine
  node for all steps, as ckptforget orders its work).
* ckptforget: `engine-bench --spiking snn_post.nir SPIKES.h5:input,labels --runs R`, which loads the
  spike trains into memory, runs the simulator once untimed and prints the median of R passes
  (JSON: neuron_updates_per_s). Its batch size is its own (about 16 MiB of node outputs, at most
  256 samples: Sources/Engine/Spiking/SpikingRunner.swift; 156 for this network and T = 25) and
  cannot be set from outside; it is printed.
* Informational rows, timed in the same rounds: snnTorch and numpy (per step) at ckptforget's own
  batch size (--no-same-batch skips them), and snnTorch with torch.set_num_threads(1) and numpy
  with OPENBLAS_NUM_THREADS=1 (in a child process, as numpy fixes its BLAS threads when it loads;
  --no-one-thread skips both): on a loaded machine, intra-op threads on these small products can
  cost far more than they give. A NOTE is printed when the one-thread row is the faster one.

Neuron updates = 138 spiking neurons x 25 steps x 2,000 samples per pass. Each Python method runs
one untimed pass, then the median of --runs passes. The methods alternate in --rounds rounds (the
starting method rotates), so the load of a shared machine falls on all of them; the figures are
medians over the rounds of the per-round medians, and the headline ratios are the medians of the
per-round ratios. Target: ckptforget >= 4x snnTorch's neuron updates per second.

Agreement (prediction = argmax of the output spike counts, ties to the lowest index):
* snnTorch vs numpy: every spike count of every neuron and sample is compared.
* ckptforget vs snnTorch (and numpy): `ckptforget eval snn_post.nir --data SPIKES.h5:input,P
  --encoding spikes --json`, where P is the other simulator's predictions stored as labels: the
  accuracy is the share of samples on which the predictions agree, the confusion matrix lists the
  disagreements. And `ckptforget stats ... --encoding spikes` gives each neuron's mean spike count,
  compared neuron by neuron with snnTorch's total over the 2,000 samples.

Exit status: 0 when everything was measured (whether the target is met or not: it is a report);
1 when it cannot measure (a binary or package is missing, a command fails, or the simulators
disagree on more than 1 % of the predictions, in which case the comparison is meaningless).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Fixtures" / "spiking"
MODEL = FIXTURES / "snn_post.nir"
DATA = FIXTURES / "snn_data.h5"
STEPS = 25
DT = 1e-4                   # the dt snnTorch's NIR exporter assumes: tau = dt / (1 - beta)
TARGET_RATIO = 4.0          # ckptforget / snnTorch neuron updates per second
MAX_DISAGREEMENT = 0.01     # share of samples whose predictions may differ before we give up


def log(*args):
    print(*args, flush=True)


def die(message):
    log(f"speed: {message}")
    sys.exit(1)


def binary(variable, name):
    path = Path(os.environ.get(variable) or ROOT / ".build" / "release" / name)
    if not (path.is_file() and os.access(path, os.X_OK)):
        die(f"no {name} binary at {path} (set {variable}=path, or build it with 'swift build -c release')")
    return path


def run(command):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if done.returncode != 0:
        die(f"command failed (exit {done.returncode}): {' '.join(map(str, command))}\n{done.stderr.strip()}")
    return done.stdout


# ---------------------------------------------------------------------------- machine
def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    return [round(v, 2) for v in os.getloadavg()]


def versions(ckptforget):
    import nir
    import snntorch
    import torch
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "torch": torch.__version__,
        "snntorch": snntorch.__version__,
        "nir": nir.__version__,
        "ckptforget": run([ckptforget, "--version"]).strip().removeprefix("ckptforget "),
    }


# ---------------------------------------------------------------------------- the network
def read_chain(path):
    """The NIR graph's nodes from Input to Output, in edge order: [(name, kind, params)] with kind
    "affine" (W (out, in), b) or "lif" (beta, theta), float32."""
    import nir
    graph = nir.read(str(path))
    successor = dict(graph.edges)
    if len(successor) != len(graph.edges):
        die(f"{path}: the graph is not a chain")
    name = next(n for n, node in graph.nodes.items() if isinstance(node, nir.Input))
    chain = []
    while name in successor:
        name = successor[name]
        node = graph.nodes[name]
        if isinstance(node, nir.Output):
            break
        if isinstance(node, nir.Affine):
            chain.append((name, "affine", (np.asarray(node.weight, np.float32), np.asarray(node.bias, np.float32))))
        elif isinstance(node, nir.LIF):
            beta = (1.0 - DT / np.asarray(node.tau, np.float32).astype(np.float64)).astype(np.float32)
            chain.append((name, "lif", (beta, np.asarray(node.v_threshold, np.float32))))
        else:
            die(f"{path}: node {name} is a {type(node).__name__}; this benchmark expects Affine and LIF only")
    return chain


def spiking_neurons(chain):
    return sum(params[0].size for _, kind, params in chain if kind == "lif")


# ---------------------------------------------------------------------------- snnTorch
def build_snntorch(chain):
    """[(name, module, is_leaky)] built from the NIR file's weights."""
    import snntorch as snn
    import torch
    import torch.nn as nn
    layers = []
    for name, kind, params in chain:
        if kind == "affine":
            w, b = params
            linear = nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(w))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append((name, linear, False))
        else:
            beta, theta = params
            leaky = snn.Leaky(beta=torch.from_numpy(beta.copy()), threshold=torch.from_numpy(theta.copy()),
                              reset_mechanism="subtract", init_hidden=False)
            layers.append((name, leaky, True))
    return layers


def simulate_snntorch(layers, spikes, batch):
    """spikes: torch float32 [T, N, 784]. Every layer stepped once per time step. Returns
    {LIF name: int32 [N, neurons]} spike counts."""
    import torch
    steps, samples = spikes.shape[:2]
    counts = {}
    with torch.no_grad():
        for first in range(0, samples, batch):
            x = spikes[:, first:first + batch]
            mem = {name: module.reset_mem() for name, module, leaky in layers if leaky}
            total = {name: 0 for name in mem}
            for t in range(steps):
                h = x[t]
                for name, module, leaky in layers:
                    if leaky:
                        h, mem[name] = module(h, mem[name])
                        total[name] = total[name] + h
                    else:
                        h = module(h)
            for name, value in total.items():
                counts.setdefault(name, []).append(value.to(torch.int32).numpy())
    return {name: np.concatenate(parts) for name, parts in counts.items()}


# ---------------------------------------------------------------------------- numpy
# The recurrence of Fixtures/make_spiking_fixtures.py (sim_snntorch_rule, this repository), which
# reproduces snnTorch's own counts on the fixtures: per step and layer, float32,
#   I_t = W s_in + b;  r_t = [v_{t-1} > theta];  v_t = (beta v_{t-1} + I_t) - r_t theta;  s_t = [v_t > theta].
def simulate_numpy_steps(chain, spikes, batch):
    """The whole batch per time step, every layer once per step (as snnTorch runs it)."""
    steps, samples = spikes.shape[:2]
    counts = {}
    for first in range(0, samples, batch):
        x = spikes[:, first:first + batch]
        size = x.shape[1]
        v = {name: np.zeros((size, p[0].size), np.float32) for name, kind, p in chain if kind == "lif"}
        total = {name: np.zeros((size, p[0].size), np.int32) for name, kind, p in chain if kind == "lif"}
        for t in range(steps):
            h = x[t]
            for name, kind, params in chain:
                if kind == "affine":
                    w, b = params
                    h = h @ w.T + b
                else:
                    beta, theta = params
                    reset = (v[name] > theta).astype(np.float32)
                    v[name] = (beta * v[name] + h) - reset * theta
                    spiked = v[name] > theta
                    total[name] += spiked
                    h = spiked.astype(np.float32)
        for name, value in total.items():
            counts.setdefault(name, []).append(value)
    return {name: np.concatenate(parts) for name, parts in counts.items()}


def simulate_numpy_layers(chain, spikes, batch):
    """The same recurrence, each node over all steps before the next: one matrix product per Affine
    node for every step at once (the order ckptforget uses), the membrane loop per step."""
    steps, samples = spikes.shape[:2]
    counts = {}
    for first in range(0, samples, batch):
        h = spikes[:, first:first + batch]
        size = h.shape[1]
        for name, kind, params in chain:
            if kind == "affine":
                w, b = params
                h = (h.reshape(steps * size, -1) @ w.T + b).reshape(steps, size, -1)
            else:
                beta, theta = params
                v = np.zeros((size, beta.size), np.float32)
                out = np.empty(h.shape, np.float32)
                for t in range(steps):
                    reset = (v > theta).astype(np.float32)
                    v = (beta * v + h[t]) - reset * theta
                    out[t] = v > theta
                counts.setdefault(name, []).append(out.sum(axis=0).astype(np.int32))
                h = out
    return {name: np.concatenate(parts) for name, parts in counts.items()}


# ---------------------------------------------------------------------------- timing
def time_python(simulate, runs):
    """One untimed pass, then `runs` timed ones: (median s, min s, counts of the last pass)."""
    counts = simulate()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        counts = simulate()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), min(seconds), counts


def with_threads(torch, threads, body):
    """Runs body with torch limited to `threads` intra-op threads, then restores the setting."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return body()
    finally:
        torch.set_num_threads(old)


def numpy_worker(spikes_path, batch, runs):
    """Child process (started with OPENBLAS_NUM_THREADS=1): times the per-step numpy simulator on the
    spike file and prints one JSON line: median and least seconds, output spike counts per neuron."""
    chain = read_chain(MODEL)
    with h5py.File(spikes_path, "r") as f:
        spikes = f["input"][()].astype(np.float32)
    median, least, counts = time_python(lambda: simulate_numpy_steps(chain, spikes, batch), runs)
    totals = {name: value.sum(axis=0).tolist() for name, value in counts.items()}
    print(json.dumps({"median_s": median, "min_s": least, "totals": totals}), flush=True)


def time_numpy_one_thread(spikes_path, batch, runs):
    """numpy's BLAS thread count is fixed when numpy loads, so this row runs in a child process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, __file__, "--numpy-worker", str(spikes_path), "--batch", str(batch),
                           "--runs", str(runs)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        die(f"the numpy worker failed: {done.stderr.strip()}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["median_s"], report["min_s"], {k: np.asarray(v) for k, v in report["totals"].items()}


def time_engine(engine_bench, spikes_path, runs, expected):
    out = run([engine_bench, "--spiking", MODEL, f"{spikes_path}:input,labels", "--runs", runs])
    report = json.loads(out.strip().splitlines()[-1])
    for key, value in expected.items():
        if report.get(key) != value:
            die(f"engine-bench reports {key} = {report.get(key)}, expected {value}: {out.strip()}")
    return report


def engine_batch_size(chain):
    """The batch SpikingRunner picks (Sources/Engine/Spiking/SpikingRunner.swift): 4 Mi float32 of
    node outputs (every node's output, Input and Output included) over the steps, 1 to 256."""
    values = chain[0][2][0].shape[1]    # the Input node: the first Affine's inputs
    values += sum((p[0].shape[0] if kind == "affine" else p[0].size) for _, kind, p in chain)
    values += chain[-1][2][0].size      # the Output node repeats the last layer's width
    return min(max((4 << 20) // (values * STEPS), 1), 256)


# ---------------------------------------------------------------------------- agreement
def predictions(counts_out):
    return np.argmax(counts_out, axis=1)        # ties -> lowest index


def ckptforget_agreement(ckptforget, spikes_path, labels_name):
    """ckptforget eval against stored labels (another simulator's predictions): (equal, disagreements)
    where disagreements is {(label, ckptforget's prediction): samples}."""
    report = json.loads(run([ckptforget, "eval", MODEL, "--data", f"{spikes_path}:input,{labels_name}",
                             "--encoding", "spikes", "--json"]))
    split = report["splits"]["all"]
    confusion = np.asarray(split["confusion"])
    off = {(int(i), int(j)): int(confusion[i, j]) for i, j in zip(*np.nonzero(confusion)) if i != j}
    return int(np.trace(confusion)), off, split["accuracy"], int(split["samples"])


def ckptforget_neuron_totals(ckptforget, spikes_path, workdir, samples):
    """Per spiking node, each neuron's spikes summed over all samples, from `ckptforget stats`
    (/spikes/full/<node>/count is the mean per sample, float32)."""
    out = Path(workdir) / "stats.h5"
    run([ckptforget, "stats", MODEL, "--data", f"{spikes_path}:input,labels", "--encoding", "spikes",
         "--class", "2", "-o", out])
    totals, worst = {}, 0.0
    with h5py.File(out, "r") as f:
        for name, group in f["spikes/full"].items():
            exact = group["count"][()].astype(np.float64) * samples
            totals[name] = np.rint(exact).astype(np.int64)
            worst = max(worst, float(np.abs(exact - totals[name]).max()))
    return totals, worst


# ---------------------------------------------------------------------------- main
def make_spikes(path, seed):
    with h5py.File(DATA, "r") as f:
        x, y = f["x"][()], f["y"][()]
    prob = x.astype(np.float32) / 255.0
    rng = np.random.default_rng(seed)
    spikes = (rng.random((STEPS,) + prob.shape, dtype=np.float32) < prob).astype(np.uint8)
    with h5py.File(path, "w") as f:
        f.create_dataset("input", data=spikes)
        f.create_dataset("labels", data=y.astype(np.int64))
        f.attrs["encoding"] = (f"numpy.random.default_rng({seed}).random(({STEPS}, N, 784), float32) < x/255, "
                               f"x = {DATA.name}['x']")
    return spikes, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="timed passes per method and round (median)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds alternating the methods")
    ap.add_argument("--batch", type=int, default=256, help="samples per batch for snnTorch and numpy")
    ap.add_argument("--seed", type=int, default=0, help="numpy seed of the rate coding")
    ap.add_argument("--no-same-batch", dest="same_batch", action="store_false",
                    help="skip the informational snnTorch and numpy rows at ckptforget's own batch size")
    ap.add_argument("--no-one-thread", dest="one_thread", action="store_false",
                    help="skip the informational snnTorch and numpy rows on one thread")
    ap.add_argument("--json", type=Path, default=ROOT / "bench-out" / "spiking_speed.json")
    ap.add_argument("--numpy-worker", type=Path, metavar="SPIKES.h5", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.numpy_worker:
        numpy_worker(args.numpy_worker, args.batch, args.runs)
        return

    ckptforget = binary("CKPTFORGET", "ckptforget")
    engine_bench = binary("ENGINE_BENCH", "engine-bench")
    try:
        import nir  # noqa: F401
        import snntorch  # noqa: F401
        import torch
    except ImportError as e:
        die(f"{e}; install with: {sys.executable} -m pip install torch snntorch nir h5py numpy")
    cores = os.cpu_count() or 1
    torch.set_num_threads(cores)

    started = datetime.now(timezone.utc)
    machine = {"nproc": cores, "cpu": cpu_model(), "kernel": platform.release(),
               "load_average_start": load_average()}
    vers = versions(ckptforget)
    log(f"spiking speed benchmark  {started:%Y-%m-%d %H:%M:%S} UTC")
    log(f"machine:   {cores} CPUs ({machine['cpu']}), kernel {machine['kernel']}, "
        f"load average {' '.join(map(str, machine['load_average_start']))} (1, 5, 15 min)")
    log("versions:  " + ", ".join(f"{k} {v}" for k, v in vers.items()))
    log(f"binaries:  {engine_bench}\n           {ckptforget}")

    chain = read_chain(MODEL)
    neurons = spiking_neurons(chain)
    engine_batch = engine_batch_size(chain)
    layers = build_snntorch(chain)

    with tempfile.TemporaryDirectory(prefix="spiking-speed-") as workdir:
        spikes_path = Path(workdir) / "spikes.h5"
        spikes_u8, labels = make_spikes(spikes_path, args.seed)
        samples = spikes_u8.shape[1]
        updates = neurons * STEPS * samples
        spikes = spikes_u8.astype(np.float32)
        spikes_torch = torch.from_numpy(spikes)
        log(f"model:     {MODEL.relative_to(ROOT)}: " + " -> ".join(f"{n}({k}, {p[0].shape[0] if k == 'affine' else p[0].size})"
                                                             for n, k, p in chain) + f"; {neurons} spiking neurons")
        log(f"spikes:    {DATA.name} x/255 rate-coded with numpy seed {args.seed}: uint8 {spikes_u8.shape}, "
            f"{spikes_u8.mean() * 100:.1f} % ones -> {spikes_path.name} (temporary)")
        log(f"work:      {neurons} neurons x {STEPS} steps x {samples} samples = {updates:,} neuron updates per pass; "
            f"batch {args.batch} (snnTorch, numpy); ckptforget's own batch: {engine_batch}")
        log(f"method:    {args.rounds} rounds; per round and method 1 untimed pass + median of {args.runs}; "
            f"torch threads {torch.get_num_threads()}, engine-bench workers: its own (all cores)")
        log("")

        methods = {
            "snntorch": lambda: time_python(lambda: simulate_snntorch(layers, spikes_torch, args.batch), args.runs),
            "numpy": lambda: time_python(lambda: simulate_numpy_steps(chain, spikes, args.batch), args.runs),
            "numpy_layers": lambda: time_python(lambda: simulate_numpy_layers(chain, spikes, args.batch), args.runs),
            "ckptforget": None,
        }
        if args.same_batch and engine_batch != args.batch:     # informational: ckptforget's batch size
            methods["snntorch_same_batch"] = lambda: time_python(
                lambda: simulate_snntorch(layers, spikes_torch, engine_batch), args.runs)
            methods["numpy_same_batch"] = lambda: time_python(
                lambda: simulate_numpy_steps(chain, spikes, engine_batch), args.runs)
        if args.one_thread and cores > 1:      # informational: snnTorch and numpy on one thread
            methods["snntorch_1_thread"] = lambda: with_threads(torch, 1, lambda: time_python(
                lambda: simulate_snntorch(layers, spikes_torch, args.batch), args.runs))
            methods["numpy_1_thread"] = lambda: time_numpy_one_thread(spikes_path, args.batch, args.runs)
        order = list(methods)
        per_round = {m: [] for m in order}
        mins = {m: [] for m in order}
        counts = {}
        engine_reports = []
        round_loads = []
        for r in range(args.rounds):
            line = []
            for j in range(len(order)):
                m = order[(r + j) % len(order)]
                if m == "ckptforget":
                    report = time_engine(engine_bench, spikes_path, args.runs,
                                         {"samples": samples, "steps": STEPS, "neurons": neurons})
                    engine_reports.append(report)
                    median, least = report["median_s"], report["min_s"]
                else:
                    median, least, counts[m] = methods[m]()
                per_round[m].append(median)
                mins[m].append(least)
                line.append(f"{m} {median:.3f} s")
            round_loads.append(load_average())
            log(f"round {r + 1}: " + ", ".join(line) + f"   (load {' '.join(map(str, round_loads[-1]))})")

        # ------------------------------------------------------------------ agreement
        torch_counts, numpy_counts, layer_counts = counts["snntorch"], counts["numpy"], counts["numpy_layers"]
        lif_names = [n for n, k, _ in chain if k == "lif"]
        out_name = lif_names[-1]
        pred = {"snntorch": predictions(torch_counts[out_name]), "numpy": predictions(numpy_counts[out_name]),
                "numpy_layers": predictions(layer_counts[out_name])}

        def count_agreement(a, b):
            equal = sum(int((a[n] == b[n]).sum()) for n in lif_names)
            total = sum(a[n].size for n in lif_names)
            same = np.ones(samples, bool)
            for n in lif_names:
                same &= (a[n] == b[n]).all(axis=1)
            return {"counts_equal": equal, "counts_total": total, "samples_identical": int(same.sum()),
                    "predictions_differ": int((predictions(a[out_name]) != predictions(b[out_name])).sum())}

        agreement = {f"snntorch_vs_{m}": count_agreement(torch_counts, counts[m])
                     for m in order if m not in ("snntorch", "ckptforget", "numpy_1_thread")}
        if "numpy_1_thread" in counts:    # the worker returns per-neuron totals only
            totals_equal = sum(int((counts["numpy_1_thread"][n] == torch_counts[n].sum(axis=0)).sum()) for n in lif_names)
            agreement["snntorch_vs_numpy_1_thread"] = {"neuron_totals_equal": totals_equal, "neurons": neurons}
        with h5py.File(spikes_path, "a") as f:
            f.create_dataset("snntorch_pred", data=pred["snntorch"].astype(np.int64))
            f.create_dataset("numpy_pred", data=pred["numpy"].astype(np.int64))
        for other in ("snntorch", "numpy"):
            equal, off, _, n = ckptforget_agreement(ckptforget, spikes_path, f"{other}_pred")
            if n != samples:
                die(f"ckptforget eval saw {n} samples, expected {samples}")
            agreement[f"ckptforget_vs_{other}"] = {
                "predictions_equal": equal, "predictions_differ": samples - equal,
                "disagreements": [{other: k[0], "ckptforget": k[1], "samples": v} for k, v in sorted(off.items())]}
        start = time.perf_counter()
        _, _, ck_accuracy, _ = ckptforget_agreement(ckptforget, spikes_path, "labels")
        eval_seconds = time.perf_counter() - start
        totals, rounding = ckptforget_neuron_totals(ckptforget, spikes_path, workdir, samples)
        neuron_equal = sum(int((totals[n] == torch_counts[n].sum(axis=0)).sum()) for n in lif_names)
        spike_diff = sum(int(np.abs(totals[n] - torch_counts[n].sum(axis=0)).sum()) for n in lif_names)
        agreement["ckptforget_vs_snntorch"].update({
            "neuron_totals_equal": neuron_equal, "neurons": neurons, "sum_abs_total_difference": spike_diff,
            "stats_rounding_max": rounding})
        accuracy = {"snntorch": float((pred["snntorch"] == labels).mean()), "numpy": float((pred["numpy"] == labels).mean()),
                    "numpy_layers": float((pred["numpy_layers"] == labels).mean()), "ckptforget": float(ck_accuracy)}

    # ---------------------------------------------------------------------- results
    def summary(m):
        med = statistics.median(per_round[m])
        return {"median_s": med, "min_s": min(mins[m]), "per_round_median_s": per_round[m],
                "neuron_updates_per_s": updates / med, "samples_per_s": samples / med,
                "best_neuron_updates_per_s": updates / min(mins[m])}

    results = {m: summary(m) for m in order}
    def ratio(m):
        """ckptforget's neuron updates per second over method m's: the median of the per-round ratios."""
        return statistics.median(t / e for t, e in zip(per_round[m], per_round["ckptforget"]))

    ratios = {m: ratio(m) for m in order if m != "ckptforget"}
    ratio_torch, ratio_numpy, ratio_layers = ratios["snntorch"], ratios["numpy"], ratios["numpy_layers"]
    met = ratio_torch >= TARGET_RATIO
    machine["load_average_rounds"] = round_loads
    machine["load_average_end"] = load_average()

    labels_of = {"snntorch": f"snnTorch {vers['snntorch']} (torch {vers['torch']}, {cores} threads)",
                 "numpy": "numpy, whole batch per step",
                 "numpy_layers": "numpy, each layer over all steps (info)",
                 "ckptforget": "ckptforget (engine-bench --spiking)",
                 "snntorch_same_batch": "snnTorch at ckptforget's batch (info)",
                 "numpy_same_batch": "numpy at ckptforget's batch (info)",
                 "snntorch_1_thread": "snnTorch, 1 torch thread (info)",
                 "numpy_1_thread": "numpy, OPENBLAS_NUM_THREADS=1 (info)"}
    batch_of = {m: args.batch for m in order}
    batch_of.update({"ckptforget": engine_batch, "snntorch_same_batch": engine_batch, "numpy_same_batch": engine_batch})
    log("")
    log(f"RESULTS  snn_post.nir, {samples} samples x {STEPS} steps, {neurons} neurons; "
        f"median of {args.rounds} round medians ({args.runs} passes each)")
    log(f"{'method':46s} {'batch':>5s} {'s/pass':>8s} {'min s':>7s} {'Mupd/s':>8s} {'samples/s':>10s} {'ckpt/this':>9s}")
    for m in order:
        s = results[m]
        log(f"{labels_of[m]:46s} {batch_of[m]:5d} {s['median_s']:8.3f} {s['min_s']:7.3f} "
            f"{s['neuron_updates_per_s'] / 1e6:8.2f} {s['samples_per_s']:10.0f} "
            + (f"{ratios[m]:8.2f}x" if m in ratios else f"{'':9s}"))
    log("")
    log(f"ckptforget / snnTorch: {ratio_torch:.2f}x  (target >= {TARGET_RATIO:g}x: {'PASS' if met else 'MISS'}; "
        f"per round {', '.join(f'{t / e:.2f}' for t, e in zip(per_round['snntorch'], per_round['ckptforget']))})")
    log(f"ckptforget / numpy:    {ratio_numpy:.2f}x  (numpy with each layer over all steps: {ratio_layers:.2f}x)")
    if "snntorch_same_batch" in ratios:
        log(f"at ckptforget's own batch of {engine_batch} (informational): ckptforget / snnTorch "
            f"{ratios['snntorch_same_batch']:.2f}x, ckptforget / numpy {ratios['numpy_same_batch']:.2f}x")
    log("ckpt/this = median over the rounds of (this method's s/pass) / (ckptforget's s/pass)")
    notes = []
    for fast, slow, what in (("snntorch_1_thread", "snntorch", f"snnTorch with 1 torch thread than with {cores}"),
                             ("numpy_1_thread", "numpy", f"numpy with 1 BLAS thread than with {cores}")):
        if fast in ratios and ratios[fast] < ratios[slow]:
            notes.append(f"NOTE: on this machine, now, {what} is faster: ckptforget / {fast} = {ratios[fast]:.2f}x "
                         f"(against {ratios[slow]:.2f}x)" + (f"; against that row the {TARGET_RATIO:g}x target would be "
                                                            f"{'met' if ratios[fast] >= TARGET_RATIO else 'MISSED'}"
                                                            if fast.startswith("snntorch") else ""))
    for note in notes:
        log(note)
    log(f"whole command 'ckptforget eval' on the same spike file (start-up, reading 39 MB, simulation): {eval_seconds:.2f} s")
    log("")
    a = agreement
    log("AGREEMENT  (prediction = argmax of output spike counts, ties to the lowest index)")
    for key, v in a.items():
        if key == "snntorch_vs_numpy_1_thread":
            log(f"  snntorch vs numpy_1_thread (child process): per-neuron spike totals {v['neuron_totals_equal']}/{v['neurons']} equal")
        if "counts_equal" not in v:
            continue
        log(f"  {key.replace('_vs_', ' vs ')}: {v['counts_equal']:,}/{v['counts_total']:,} spike counts equal, "
            f"{v['samples_identical']}/{samples} samples identical in every count, "
            f"{v['predictions_differ']} predictions differ")
    for other in ("snntorch", "numpy"):
        v = a[f"ckptforget_vs_{other}"]
        extra = ""
        if other == "snntorch":
            extra = (f"; per-neuron spike totals over the {samples} samples (ckptforget stats): "
                     f"{v['neuron_totals_equal']}/{v['neurons']} neurons equal, sum |difference| {v['sum_abs_total_difference']}")
        pairs = ", ".join(f"{d[other]}->{d['ckptforget']} x{d['samples']}" for d in v["disagreements"])
        log(f"  ckptforget vs {other}: {v['predictions_differ']} of {samples} predictions differ"
            + (f" ({other}->ckptforget: {pairs})" if pairs else "") + extra)
    log("  accuracy on the labels: " + ", ".join(f"{m} {v:.4f}" for m, v in accuracy.items()))
    log(f"load average at the end: {' '.join(map(str, machine['load_average_end']))}")

    worst = max(v["predictions_differ"] for v in a.values() if "predictions_differ" in v)
    summary_json = {
        "benchmark": "spiking speed", "date": started.isoformat(timespec="seconds"), "machine": machine,
        "versions": vers, "model": str(MODEL.relative_to(ROOT)), "data": str(DATA.relative_to(ROOT)),
        "spike_seed": args.seed, "samples": samples, "steps": STEPS, "neurons": neurons,
        "neuron_updates_per_pass": updates, "batch": args.batch, "ckptforget_batch": engine_batch,
        "runs": args.runs, "rounds": args.rounds, "results": results,
        "engine_bench_reports": engine_reports,
        "ratio_ckptforget_over_snntorch": ratio_torch, "ratio_ckptforget_over_numpy": ratio_numpy,
        "ratio_ckptforget_over_numpy_layers": ratio_layers, "ratios_ckptforget_over": ratios,
        "target": {"ratio_over_snntorch_at_least": TARGET_RATIO, "met": met,
                   "met_against_snntorch_1_thread": (ratios["snntorch_1_thread"] >= TARGET_RATIO
                                                     if "snntorch_1_thread" in ratios else None)},
        "notes": notes,
        "ckptforget_eval_whole_command_s": eval_seconds,
        "accuracy": accuracy, "agreement": agreement,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary_json, indent=2) + "\n")
    log(f"wrote {args.json}")
    if worst > MAX_DISAGREEMENT * samples:
        die(f"the simulators disagree on {worst} of {samples} predictions: the comparison is not like for like")
    log(f"RESULT: ckptforget {ratio_torch:.2f}x snnTorch, target >= {TARGET_RATIO:g}x "
        f"{'met' if met else 'MISSED (this is a report; exit 0)'}")


if __name__ == "__main__":
    main()
