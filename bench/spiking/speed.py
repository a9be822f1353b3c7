#!/usr/bin/env python3
"""Spiking-simulator throughput: ckptforget's simulator (engine-bench --spiking) vs snnTorch and numpy.

    python3 bench/spiking/speed.py [--runs 3] [--rounds 3] [--batch N] [--extra-batch N] [--seed 0] [--json PATH]

Binaries from the environment: ENGINE_BENCH (default <repo>/.build/release/engine-bench) and
CKPTFORGET (default <repo>/.build/release/ckptforget; the whole-process row and the agreement
checks). Needs numpy, h5py, torch (CPU), snntorch and nir. See bench/spiking/README.md.

The same network, the same spike trains and the same batch size for every method:

* Network: Fixtures/spiking/snn_post.nir, the snnTorch MLP 784-64-64-10 (Affine -> LIF three
  times; 138 spiking neurons), read with nir.read; the chain order comes from the graph's edges.
  beta = float32(1 - 1e-4 / float64(tau)) per neuron (snnTorch's beta bit for bit, see
  Fixtures/README.md), theta = v_threshold.
* Spike trains: the 2,000 held-out images of Fixtures/spiking/snn_data.h5, rate-coded once:
  spikes = numpy.random.default_rng(SEED).random((T, N, 784), float32) < x / 255, T = 25, written
  to a temporary HDF5 file as `input` uint8 (25, 2000, 784) and `labels` int64 (2000,). All the
  simulators get exactly these spikes (in memory as float32 for the Python ones; engine-bench reads
  the file into memory before it times anything).
* Batch: ckptforget's own (about 16 MiB of node outputs, at most 256 samples:
  Sources/Engine/Spiking/SpikingRunner.swift; 156 for this network and T = 25), which cannot be set
  from outside; snnTorch and numpy use the same unless --batch says otherwise (--extra-batch N adds
  informational snnTorch and numpy rows at batch N).
* snnTorch: nn.Linear layers with the file's weights and snn.Leaky(beta=<per-neuron vector>,
  threshold=<v_threshold>, reset_mechanism="subtract", init_hidden=False), stepped one time step
  at a time through every layer, torch.no_grad(); timed with torch.set_num_threads(nproc) (its
  default) and with 1 thread.
* numpy: snnTorch's recurrence as Fixtures/make_spiking_fixtures.py writes it
  (sim_snntorch_rule), the whole batch per time step, float32; timed in process (BLAS threads as
  numpy loaded them) and in a child process with OPENBLAS_NUM_THREADS=1. An informational row runs
  each layer over all steps before the next (one matrix product per Affine node for all steps, the
  order ckptforget uses).
* ckptforget: `engine-bench --spiking snn_post.nir SPIKES.h5:input,labels --runs R`, which loads the
  spike trains into memory, runs the simulator once untimed and prints the median of R passes on
  all cores. The whole process is timed too, as an informational row: `ckptforget eval snn_post.nir
  --data SPIKES.h5:input,labels --encoding spikes --json` (start-up, reading and converting the
  spike file, simulation, metrics).

Neuron updates = 138 spiking neurons x 25 steps x 2,000 samples per pass. Each method runs one
untimed pass, then the median of --runs passes. The methods alternate in --rounds rounds (the
starting method rotates), so the load of a shared machine falls on all of them; the figures are
medians over the rounds of the per-round medians, and the ratios are the medians of the per-round
ratios. On a loaded machine intra-op threads on these small products can cost far more than they
give, so the headline compares against snnTorch as fast as it ran: per round, the faster of its
two thread settings ("snnTorch, faster thread setting"; likewise for numpy). Target: ckptforget's
simulator >= 4x that snnTorch's neuron updates per second. When the 1-minute load average exceeds
0.5 at the start, after any round or at the end, the result is marked PROVISIONAL.

CPU seconds per pass are reported beside the wall clock (all threads of the process: Python's
process_time for snnTorch and numpy; for engine-bench, its process CPU with --runs R less that of
one extra call with --runs 1, over R - 1, so loading the spike trains is left out; --runs must be
at least 2). They are what a pass costs in core-seconds, and on a loaded machine they move far
less than the wall clock; they are not the target (a method that uses both cores well has a lower
wall clock at the same CPU).

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
import resource
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
LOAD_LIMIT = 0.5            # a 1-minute load average above this makes the timing provisional


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


def children_cpu():
    """CPU seconds (user + system) of the children waited for so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cpu(command):
    """run(), and the CPU seconds the command used (all its threads)."""
    before = children_cpu()
    out = run(command)
    return out, children_cpu() - before


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
    """One untimed pass, then `runs` timed ones: (median s, min s, counts of the last pass, median
    CPU s of the process, all its threads)."""
    counts = simulate()
    seconds, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        counts = simulate()
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(seconds), min(seconds), counts, statistics.median(cpu)


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
    median, least, counts, cpu = time_python(lambda: simulate_numpy_steps(chain, spikes, batch), runs)
    totals = {name: value.sum(axis=0).tolist() for name, value in counts.items()}
    print(json.dumps({"median_s": median, "min_s": least, "cpu_s": cpu, "totals": totals}), flush=True)


def time_numpy_one_thread(spikes_path, batch, runs):
    """numpy's BLAS thread count is fixed when numpy loads, so this row runs in a child process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, __file__, "--numpy-worker", str(spikes_path), "--batch", str(batch),
                           "--runs", str(runs)], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        die(f"the numpy worker failed: {done.stderr.strip()}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    return report["median_s"], report["min_s"], {k: np.asarray(v) for k, v in report["totals"].items()}, report["cpu_s"]


def time_engine(engine_bench, spikes_path, runs, expected):
    """engine-bench's report, with "process_cpu_s": the CPU seconds of the whole process (loading the
    spike trains, one untimed pass and `runs` timed ones)."""
    out, cpu = run_cpu([engine_bench, "--spiking", MODEL, f"{spikes_path}:input,labels", "--runs", runs])
    report = json.loads(out.strip().splitlines()[-1])
    for key, value in expected.items():
        if report.get(key) != value:
            die(f"engine-bench reports {key} = {report.get(key)}, expected {value}: {out.strip()}")
    report["process_cpu_s"] = cpu
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


def time_whole_command(ckptforget, spikes_path, runs):
    """`ckptforget eval` on the spike file as a whole process (start-up, reading and converting the
    39 MB of spikes, simulation, metrics): one untimed run, then the median of `runs`."""
    command = [ckptforget, "eval", MODEL, "--data", f"{spikes_path}:input,labels", "--encoding", "spikes", "--json"]
    run(command)
    seconds, cpu = [], []
    for _ in range(runs):
        start = time.perf_counter()
        cpu.append(run_cpu(command)[1])
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), min(seconds), None, statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="timed passes per method and round (median)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds alternating the methods")
    ap.add_argument("--batch", type=int, default=0,
                    help="samples per batch for snnTorch and numpy (default 0: ckptforget's own batch)")
    ap.add_argument("--extra-batch", type=int, default=0, metavar="N",
                    help="also time snnTorch and numpy at batch N (informational rows)")
    ap.add_argument("--seed", type=int, default=0, help="numpy seed of the rate coding")
    ap.add_argument("--json", type=Path, default=ROOT / "bench-out" / "spiking_speed.json")
    ap.add_argument("--numpy-worker", type=Path, metavar="SPIKES.h5", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.numpy_worker:
        numpy_worker(args.numpy_worker, args.batch, args.runs)
        return
    if args.runs < 2 or args.rounds < 1:
        die("--runs must be at least 2 (engine-bench's CPU per pass is a difference of two runs) and --rounds at least 1")

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
    batch = args.batch or engine_batch
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
            f"batch {batch} for every method (ckptforget's own batch is {engine_batch} and cannot be set)")
        log(f"method:    {args.rounds} rounds; per round and method 1 untimed pass + median of {args.runs}; "
            f"torch threads {cores} (and 1), numpy BLAS threads as loaded (and 1, in a child process); "
            f"engine-bench workers: its own (all cores)")
        log("")

        def snntorch_at(size, threads):
            return lambda: with_threads(torch, threads, lambda: time_python(
                lambda: simulate_snntorch(layers, spikes_torch, size), args.runs))

        methods = {
            "snntorch": snntorch_at(batch, cores),
            "numpy": lambda: time_python(lambda: simulate_numpy_steps(chain, spikes, batch), args.runs),
            "ckptforget": None,
            "numpy_layers": lambda: time_python(lambda: simulate_numpy_layers(chain, spikes, batch), args.runs),
            "ckptforget_eval": lambda: time_whole_command(ckptforget, spikes_path, args.runs),
        }
        if cores > 1:      # on a loaded machine, intra-op threads on these small products can cost more than they give
            methods["snntorch_1_thread"] = snntorch_at(batch, 1)
            methods["numpy_1_thread"] = lambda: time_numpy_one_thread(spikes_path, batch, args.runs)
        if args.extra_batch and args.extra_batch != batch:
            methods[f"snntorch_b{args.extra_batch}"] = snntorch_at(args.extra_batch, cores)
            methods[f"numpy_b{args.extra_batch}"] = lambda: time_python(
                lambda: simulate_numpy_steps(chain, spikes, args.extra_batch), args.runs)
        order = list(methods)
        per_round = {m: [] for m in order}
        mins = {m: [] for m in order}
        cpu_round = {m: [] for m in order}
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
                    median, least, cpu = report["median_s"], report["min_s"], report["process_cpu_s"]
                else:
                    median, least, result, cpu = methods[m]()
                    if result is not None:
                        counts[m] = result
                per_round[m].append(median)
                mins[m].append(least)
                cpu_round[m].append(cpu)
                line.append(f"{m} {median:.3f} s")
            round_loads.append(load_average())
            log(f"round {r + 1}: " + ", ".join(line) + f"   (load {' '.join(map(str, round_loads[-1]))})")

        # engine-bench's CPU per pass: its process CPU with --runs R (loading + R + 1 passes) less that
        # of one call with --runs 1 (loading + 2 passes), over R - 1.
        short = time_engine(engine_bench, spikes_path, 1, {"samples": samples})
        cpu_round["ckptforget"] = [max(c - short["process_cpu_s"], 0) / (args.runs - 1) for c in cpu_round["ckptforget"]]
        engine_load_cpu = max(short["process_cpu_s"] - 2 * statistics.median(cpu_round["ckptforget"]), 0)

        # ------------------------------------------------------------------ agreement
        torch_counts = counts["snntorch"]
        lif_names = [n for n, k, _ in chain if k == "lif"]
        out_name = lif_names[-1]
        pred = {"snntorch": predictions(torch_counts[out_name]), "numpy": predictions(counts["numpy"][out_name]),
                "numpy_layers": predictions(counts["numpy_layers"][out_name])}

        def count_agreement(a, b):
            equal = sum(int((a[n] == b[n]).sum()) for n in lif_names)
            total = sum(a[n].size for n in lif_names)
            same = np.ones(samples, bool)
            for n in lif_names:
                same &= (a[n] == b[n]).all(axis=1)
            return {"counts_equal": equal, "counts_total": total, "samples_identical": int(same.sum()),
                    "predictions_differ": int((predictions(a[out_name]) != predictions(b[out_name])).sum())}

        agreement = {f"snntorch_vs_{m}": count_agreement(torch_counts, counts[m])
                     for m in counts if m not in ("snntorch", "numpy_1_thread")}
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
        _, _, ck_accuracy, _ = ckptforget_agreement(ckptforget, spikes_path, "labels")
        totals, rounding = ckptforget_neuron_totals(ckptforget, spikes_path, workdir, samples)
        neuron_equal = sum(int((totals[n] == torch_counts[n].sum(axis=0)).sum()) for n in lif_names)
        spike_diff = sum(int(np.abs(totals[n] - torch_counts[n].sum(axis=0)).sum()) for n in lif_names)
        agreement["ckptforget_vs_snntorch"].update({
            "neuron_totals_equal": neuron_equal, "neurons": neurons, "sum_abs_total_difference": spike_diff,
            "stats_rounding_max": rounding})
        accuracy = {"snntorch": float((pred["snntorch"] == labels).mean()), "numpy": float((pred["numpy"] == labels).mean()),
                    "numpy_layers": float((pred["numpy_layers"] == labels).mean()), "ckptforget": float(ck_accuracy)}

    # ---------------------------------------------------------------------- results
    # "best" = per round, the faster of a library's thread settings: the headline is judged against
    # snnTorch as fast as it ran here, so thread over-subscription on a loaded machine cannot help ckptforget.
    def best_of(*names):
        present = [n for n in names if n in per_round]
        return [min(per_round[n][r] for n in present) for r in range(args.rounds)], \
               [min(mins[n][r] for n in present) for r in range(args.rounds)]

    per_round["snntorch_best"], mins["snntorch_best"] = best_of("snntorch", "snntorch_1_thread")
    per_round["numpy_best"], mins["numpy_best"] = best_of("numpy", "numpy_1_thread")
    shown = order + ["snntorch_best", "numpy_best"]

    def summary(m):
        med = statistics.median(per_round[m])
        row = {"median_s": med, "min_s": min(mins[m]), "per_round_median_s": per_round[m],
               "neuron_updates_per_s": updates / med, "samples_per_s": samples / med,
               "best_neuron_updates_per_s": updates / min(mins[m])}
        if cpu_round.get(m):
            row["cpu_s"] = statistics.median(cpu_round[m])
            row["per_round_cpu_s"] = cpu_round[m]
        return row

    results = {m: summary(m) for m in shown}

    def ratio(m, of="ckptforget"):
        """`of`'s neuron updates per second over method m's: the median of the per-round ratios."""
        return statistics.median(t / e for t, e in zip(per_round[m], per_round[of]))

    ratios = {m: ratio(m) for m in shown if m != "ckptforget"}
    whole_ratios = {m: ratio(m, "ckptforget_eval") for m in ("snntorch_best", "numpy_best", "snntorch", "numpy")}
    ratio_torch = ratios["snntorch_best"]
    met = ratio_torch >= TARGET_RATIO
    machine["load_average_rounds"] = round_loads
    machine["load_average_end"] = load_average()
    worst_load = max([machine["load_average_start"][0]] + [l[0] for l in round_loads] + [machine["load_average_end"][0]])
    provisional = worst_load > LOAD_LIMIT

    labels_of = {"snntorch": f"snnTorch {vers['snntorch']} (torch {vers['torch']}), {cores} threads",
                 "snntorch_1_thread": "snnTorch, 1 torch thread",
                 "snntorch_best": "snnTorch, faster thread setting per round",
                 "numpy": "numpy, whole batch per step",
                 "numpy_1_thread": "numpy per step, OPENBLAS_NUM_THREADS=1",
                 "numpy_best": "numpy per step, faster setting per round",
                 "numpy_layers": "numpy, each layer over all steps (info)",
                 "ckptforget": "ckptforget simulator (engine-bench --spiking)",
                 "ckptforget_eval": "ckptforget eval, whole process (info)"}
    if args.extra_batch:
        labels_of[f"snntorch_b{args.extra_batch}"] = f"snnTorch, {cores} threads, batch {args.extra_batch} (info)"
        labels_of[f"numpy_b{args.extra_batch}"] = f"numpy per step, batch {args.extra_batch} (info)"
    batch_of = {m: batch for m in shown}
    batch_of.update({m: args.extra_batch for m in shown if m.endswith(f"_b{args.extra_batch}")})
    log("")
    log(f"RESULTS  snn_post.nir, {samples} samples x {STEPS} steps, {neurons} neurons; "
        f"median of {args.rounds} round medians ({args.runs} passes each)")
    log(f"{'method':48s} {'batch':>5s} {'s/pass':>8s} {'min s':>7s} {'Mupd/s':>8s} {'samples/s':>10s} {'ckpt/this':>9s} "
        f"{'CPU s/pass':>10s} {'CPU ratio':>9s}")
    for m in ["ckptforget", "ckptforget_eval", "snntorch_best", "snntorch", "snntorch_1_thread", "numpy_best", "numpy",
              "numpy_1_thread", "numpy_layers"] + [m for m in order if m.startswith(("snntorch_b", "numpy_b"))]:
        if m not in results:
            continue
        s = results[m]
        log(f"{labels_of[m]:48s} {batch_of[m]:5d} {s['median_s']:8.3f} {s['min_s']:7.3f} "
            f"{s['neuron_updates_per_s'] / 1e6:8.2f} {s['samples_per_s']:10.0f} "
            + (f"{ratios[m]:8.2f}x" if m in ratios else f"{'':9s}")
            + (f" {s['cpu_s']:10.3f} {s['cpu_s'] / results['ckptforget']['cpu_s']:8.2f}x" if "cpu_s" in s else ""))
    log("ckpt/this = median over the rounds of (this method's s/pass) / (the ckptforget simulator's s/pass)")
    log("CPU s/pass = CPU seconds of a pass, all threads (median over passes and rounds; engine-bench: its process")
    log(f"  CPU with --runs {args.runs} less that with --runs 1, over {args.runs - 1}; loading the spike trains took "
        f"{engine_load_cpu:.2f} CPU s);")
    log("  CPU ratio = this method's CPU s/pass over the ckptforget simulator's. On a loaded machine the CPU figures")
    log("  move far less than the wall-clock ones; the target is the wall-clock ratio.")
    log("")
    verdict = "PASS" if met else "MISS"
    log(f"ckptforget / snnTorch (faster thread setting): {ratio_torch:.2f}x  (target >= {TARGET_RATIO:g}x: {verdict}; per round "
        f"{', '.join(f'{t / e:.2f}' for t, e in zip(per_round['snntorch_best'], per_round['ckptforget']))})")
    log(f"ckptforget / snnTorch ({cores} threads, its default): {ratios['snntorch']:.2f}x")
    log(f"ckptforget / numpy (faster setting):  {ratios['numpy_best']:.2f}x  "
        f"(numpy with each layer over all steps: {ratios['numpy_layers']:.2f}x)")
    log(f"whole process 'ckptforget eval' (start-up, reading the spike file, simulation, metrics): "
        f"{results['ckptforget_eval']['median_s']:.3f} s, {results['ckptforget_eval']['neuron_updates_per_s'] / 1e6:.2f} "
        f"Mupd/s = {whole_ratios['snntorch_best']:.2f}x snnTorch (faster setting), {whole_ratios['numpy_best']:.2f}x numpy")
    if provisional:
        log(f"PROVISIONAL: the 1-minute load average reached {worst_load:.2f} (> {LOAD_LIMIT}) on {cores} CPUs during "
            f"the run; repeat on an idle machine")
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
        "provisional": provisional, "versions": vers, "model": str(MODEL.relative_to(ROOT)),
        "data": str(DATA.relative_to(ROOT)), "spike_seed": args.seed, "samples": samples, "steps": STEPS,
        "neurons": neurons, "neuron_updates_per_pass": updates, "batch": batch, "ckptforget_batch": engine_batch,
        "runs": args.runs, "rounds": args.rounds, "results": results, "engine_bench_reports": engine_reports,
        "ratio_ckptforget_over_snntorch_best": ratio_torch, "ratios_ckptforget_over": ratios,
        "ratios_whole_process_over": whole_ratios,
        "target": {"ratio_over_snntorch_best_at_least": TARGET_RATIO, "met": met,
                   "met_against_snntorch_default_threads": ratios["snntorch"] >= TARGET_RATIO},
        "engine_bench_load_cpu_s": engine_load_cpu,
        "cpu_ratios_over_ckptforget": {m: results[m]["cpu_s"] / results["ckptforget"]["cpu_s"]
                                       for m in order if m != "ckptforget" and "cpu_s" in results[m]},
        "accuracy": accuracy, "agreement": agreement,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary_json, indent=2) + "\n")
    log(f"wrote {args.json}")
    if worst > MAX_DISAGREEMENT * samples:
        die(f"the simulators disagree on {worst} of {samples} predictions: the comparison is not like for like")
    log(f"RESULT: ckptforget {ratio_torch:.2f}x snnTorch (faster thread setting), target >= {TARGET_RATIO:g}x: "
        f"{verdict}{' (provisional: loaded machine)' if provisional else ''}; a MISS is reported, exit 0")


if __name__ == "__main__":
    main()
