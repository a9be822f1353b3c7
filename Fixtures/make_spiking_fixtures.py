#!/usr/bin/env python3
"""Reference fixtures for ckptforget's spiking-network support: NIR graphs (HDF5, `nir.write`),
spike counts from snnTorch itself and from independent numpy simulators, and MNIST data.

    python3 Fixtures/make_spiking_fixtures.py      # from anywhere; ~2 min on CPU; writes Fixtures/spiking/

Needs torch (CPU wheel), snntorch, nir, nirtorch, h5py, numpy (README.md has the versions).
Reads MNIST test images from <repo>/../shared/data/mnist (override: MNIST_DIR); images
0..7999 train, 8000..9999 test, pixels x.astype(float32) / 255 as the other fixtures.
Deterministic: one torch thread, torch.use_deterministic_algorithms(True), fixed seeds, and the
script re-executes itself with PYTHONHASHSEED=0 because nirtorch collects the graph's edges in
a set (the edge order in the written file otherwise changes from run to run). Two runs give
byte-identical files; it prints versions, every check, and sha256/size of each file.

Writes (Fixtures/spiking/):
  snn_pre.nir       snnTorch MLP 784 -> Linear(64) -> Leaky -> Linear(64) -> Leaky ->
                    Linear(10) -> Leaky, exported with snntorch.export_nir.export_to_nir on
                    torch.zeros(784) and nir.write; trained 4 epochs on images 0..7999
                    WITHOUT class 2 (seed 0)
  snn_post.nir      snn_pre trained 1 more epoch on all of images 0..7999 (same Adam), so
                    post - pre is what learning class 2 changed
  snn_retrain.nir   trained from scratch without class 2 (seed 1), 5 epochs (as long as post)
  snn_spikes.h5     first 32 test images (8000..8031): `input` uint8 [25,32,784] rate-coded spike
                    trains (gzip); `counts/<LIF node>` int32 = snnTorch's own per-neuron spike
                    counts of the post model (the torch module) on exactly those spikes;
                    `predicted` (argmax of counts/5, ties -> lowest index), `labels`,
                    `image_index`; `nir_counts/<LIF node>` and `nir_predicted` = counts under
                    NIR's own LIF equations (numpy, float64); attributes give both recurrences
  cnn_sinabs.nir    NIR's own reference CNN (neuromorphs/NIR paper/02_cnn/cnn_sinabs.nir, BSD-3,
                    licence in cnn_sinabs.LICENSE); NOT written here: verified by sha256 and
                    git blob id, and fetched by hand if missing (README.md)
  cnn_spikes.h5     8 synthetic N-MNIST-shaped inputs `input` uint8 [25,8,2,34,34] (MNIST test
                    digits 8000..8007 padded to 34x34, Bernoulli p = 0.3*pixel/255 in both
                    polarity channels, numpy default_rng(5)); `counts/<IF node>` int32 under
                    NIR IF semantics (numpy float64, cross-checked with torch.nn.functional)
  snn_data.h5       `x` uint8 [2000,784], `y` int64: MNIST test images 8000..9999 (gzip)
  snn_train.h5      `x` uint8 [2000,784], `y` int64: images 0..1999 (gzip; N_TRAIN_SUBSET, README
                    says why not 4000)

Training (snnTorch's usual recipe): per-neuron beta vectors (fixed buffers, numpy
default_rng(7) uniform in [0.80, 0.95], float32) and per-neuron threshold vectors (ones),
reset "subtract" (reset_delay=True, the defaults), ATan surrogate, rate coding with
snntorch.spikegen.rate (T = 25, torch.manual_seed per epoch), SF.ce_count_loss, Adam lr 2e-3,
batch 128. (With SF.ce_rate_loss the output neuron of class 2 dies while pre is trained and
post never learns class 2: 0 % after 3 more epochs; ce_count_loss stops pushing a silent wrong
neuron down once the right one fires, so post recovers it.) Evaluation on images 8000..9999
with one fixed set of spike trains (seed 1234 + batch) for every model; prediction = argmax of output spike counts (numpy argmax: ties -> lowest index).
"""

import os
import sys

if __name__ == "__main__" and os.environ.get("PYTHONHASHSEED") != "0":   # nirtorch's edge set must iterate the same way
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import copy
import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import h5py
import torch
import torch.nn as nn
import torch.nn.functional as F

import nir
import nirtorch
import snntorch as snn
import snntorch.functional as SF
from snntorch import spikegen
from snntorch.export_nir import export_to_nir
from snntorch.import_nir import import_from_nir

HERE = Path(__file__).resolve().parent
OUT = HERE / "spiking"
from fixture_common import mnist_test  # noqa: E402  (MNIST_DIR is honoured there)

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

T = 25                      # time steps
DT = 1e-4                   # the dt snnTorch's exporter assumes (tau = dt / (1 - beta)); not stored
HIDDEN = 64
N_TRAIN = 8000              # MNIST test images [0, 8000) train, [8000, 10000) test
FORGET_CLASS = 2
BATCH = 128
LR = 2e-3
EPOCHS_PRE = 4
EPOCHS_POST = 1
EPOCHS_RETRAIN = EPOCHS_PRE + EPOCHS_POST
BETA_SEED, BETA_LO, BETA_HI = 7, 0.80, 0.95
EVAL_SEED, EVAL_BATCH = 1234, 500
SPIKES_N, SPIKES_SEED = 32, 4321
CNN_N, CNN_T, CNN_RATE, CNN_SEED = 8, 25, 0.3, 5
N_TRAIN_SUBSET = 2000       # rows of snn_train.h5 (README: why not 4000)

CNN_FILE = OUT / "cnn_sinabs.nir"
CNN_SHA256 = "e2fa55bda7aab5a772485e1b690358bcb825b303eca7dc426e3973937fcb5bcb"
CNN_GIT_BLOB = "89e0a618fc0d2ce42c23a6aa877fa5ae72f67e38"      # `git ls-tree` in neuromorphs/NIR
CNN_COMMIT = "7232ada6d30e1beea78b180a5135b1a3bb3d3bc0"        # NIR main, 2026-01-30 (file last changed in 905c107)
CNN_URL = (f"https://raw.githubusercontent.com/neuromorphs/NIR/{CNN_COMMIT}/paper/02_cnn/cnn_sinabs.nir")

SNNTORCH_RULE = (
    "snnTorch 1.0 Leaky, reset_mechanism='subtract', reset_delay=True (the defaults); per time step t=1..T "
    "and per layer in graph order, all in float32: I_t = W s_t^in + b (Affine); r_t = [v_{t-1} > theta] "
    "(v_0 = 0); v_t = (beta*v_{t-1} + I_t) - r_t*theta; s_t = [v_t > theta] (snnTorch computes "
    "(v - theta) > 0); beta is clamped to [0, 1] by snnTorch. From the NIR file: beta = float32(1 - dt/tau) "
    "(float64 arithmetic on the float32 tau), dt = 1e-4, theta = v_threshold; r, v_leak, v_reset unused.")
NIR_RULE = (
    "NIR LIF (nir 1.0.8 docs), forward Euler with dt = 1e-4, float64: v <- (1 - dt/tau)*v + (dt/tau)*v_leak "
    "+ (r*dt/tau)*I; s = [v > v_threshold]; where s: v <- v_reset (same step, no delay); v_0 = 0.")
NIR_IF_RULE = (
    "NIR IF, one update per time step (dt folded into the step, as the NIR paper's CNN simulators do; "
    "IF has no leak), float64: v <- v + r*I; s = [v > v_threshold]; where s: v <- v_reset "
    "(v_reset is absent from this nir-0.2.0 file; nir.read fills zeros); v_0 = 0. Conv2d: PyTorch "
    "cross-correlation, weight (Cout, Cin/groups, kH, kW), zero padding; SumPool2d: window sum, zero "
    "padding; Flatten start_dim/end_dim count axes of one sample (no batch axis); Affine W x + b.")

written = []


def check(cond, msg):
    print(f"[check] {'ok  ' if cond else 'FAIL'} {msg}")
    assert cond, msg


def spiking_versions():
    """The versions this script depends on (fixture_common.versions() would import keras/jax)."""
    import snntorch as _s
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "snntorch": _s.__version__,
        "nir": nir.__version__,
        "nirtorch": nirtorch.__version__,
        "h5py": h5py.__version__,
        "hdf5": h5py.version.hdf5_version,
        "numpy": np.__version__,
    }


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def git_blob_id(path):
    b = Path(path).read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(b) + b).hexdigest()


def gz(f, name, data, **kw):
    """A gzip-9 dataset stored as one chunk (or 500-row chunks when it is large)."""
    data = np.ascontiguousarray(data)
    chunks = data.shape if data.nbytes <= 1 << 20 else (min(500, data.shape[0]),) + data.shape[1:]
    return f.create_dataset(name, data=data, compression="gzip", compression_opts=9, chunks=chunks, **kw)


# ---------------------------------------------------------------- the snnTorch model
def betas():
    """Per-neuron beta vectors of the three Leaky layers (fixed, identical in every snapshot)."""
    rng = np.random.default_rng(BETA_SEED)
    return [rng.uniform(BETA_LO, BETA_HI, n).astype(np.float32) for n in (HIDDEN, HIDDEN, 10)]


BETAS = betas()


def build_net(seed):
    torch.manual_seed(seed)

    def leaky(i, n, **kw):
        return snn.Leaky(beta=torch.from_numpy(BETAS[i].copy()), threshold=torch.ones(n),
                         reset_mechanism="subtract", init_hidden=True, **kw)

    return nn.Sequential(
        nn.Linear(784, HIDDEN), leaky(0, HIDDEN),
        nn.Linear(HIDDEN, HIDDEN), leaky(1, HIDDEN),
        nn.Linear(HIDDEN, 10), leaky(2, 10, output=True),
    )


LIF_NAMES = ["1", "3", "5"]     # Sequential indices of the Leaky modules = NIR node names (checked)


def reset_hidden(net):
    for m in net.modules():
        if isinstance(m, snn.Leaky):
            m.reset_mem()


def run_torch(net, spikes, record=False):
    """Output spikes [T,N,10]; with record, also {LIF name: int32 [N, n] counts} via forward hooks."""
    reset_hidden(net)
    counts, hooks = {}, []
    if record:
        for name in LIF_NAMES:
            def hook(mod, inp, out, name=name):
                spk = out[0] if isinstance(out, tuple) else out
                counts[name] = counts.get(name, 0) + spk.detach()
            hooks.append(net.get_submodule(name).register_forward_hook(hook))
    out = []
    for t in range(spikes.shape[0]):
        spk, _mem = net(spikes[t])
        out.append(spk)
    for h in hooks:
        h.remove()
    return torch.stack(out), {k: v.numpy().astype(np.int32) for k, v in counts.items()}


def encode(x, seed):
    """snntorch.spikegen.rate on float32 [N,784] pixels in [0,1]: float32 {0,1} [T,N,784]."""
    torch.manual_seed(seed)
    return spikegen.rate(torch.from_numpy(x), num_steps=T)


def train(net, opt, x, y, idx, epochs, seed, what):
    loss_fn = SF.ce_count_loss()
    yt = torch.from_numpy(y)
    print(f"[train] {what}: {epochs} epoch(s) on {len(idx)} images")
    for ep in range(epochs):
        perm = np.random.default_rng(seed * 1000 + ep).permutation(idx)
        torch.manual_seed(seed * 1000 + 500 + ep)
        total = 0.0
        for b in range(0, len(perm), BATCH):
            bi = perm[b:b + BATCH]
            spikes = spikegen.rate(torch.from_numpy(x[bi]), num_steps=T)
            spk, _ = run_torch(net, spikes)
            loss = loss_fn(spk, yt[bi])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(bi)
        print(f"[train]   epoch {ep + 1}: mean loss {total / len(perm):.4f}")
    reset_hidden(net)           # drop the autograd graph held in the membrane state


def eval_spikes(x_test):
    """The fixed spike trains every model is evaluated on: [T, 2000, 784] float32."""
    return torch.cat([encode(x_test[b:b + EVAL_BATCH], EVAL_SEED + b // EVAL_BATCH)
                      for b in range(0, len(x_test), EVAL_BATCH)], dim=1)


def predict(counts_out):
    return np.argmax(counts_out, axis=1)      # ties -> lowest index


def acc_report(pred, y, what):
    acc = float((pred == y).mean())
    per = [float((pred[y == k] == k).mean()) for k in range(10)]
    others = float((pred[y != FORGET_CLASS] == y[y != FORGET_CLASS]).mean())
    print(f"[acc] {what}: overall {acc:.4f}, class {FORGET_CLASS} {per[FORGET_CLASS]:.4f}, "
          f"other classes {others:.4f}, predicted {FORGET_CLASS} {int((pred == FORGET_CLASS).sum())}x")
    print("[acc]   per class " + " ".join(f"{k}:{p:.3f}" for k, p in enumerate(per)))
    return {"overall": acc, "per_class": per, "others": others}


# ---------------------------------------------------------------- NIR files, read with h5py only
def read_nir_h5(path):
    """{name: {param: array, "type": str}}, [(src, dst)] straight from the HDF5 layout of nir.write."""
    def s(v):
        return v.decode() if isinstance(v, bytes) else str(v)
    with h5py.File(path, "r") as f:
        g = f["node"]
        assert s(g["type"][()]) == "NIRGraph"
        edges = [(s(a), s(b)) for a, b in g["edges"][()]]
        nodes = {}
        for name, grp in g["nodes"].items():
            d = {k: grp[k][()] for k in grp if isinstance(grp[k], h5py.Dataset)}
            d["type"] = s(d["type"])
            nodes[name] = d
    return nodes, edges


def chain(nodes, edges):
    """The nodes from Input to Output of a graph that is a single chain (checked)."""
    succ = {}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
    start = [n for n, d in nodes.items() if d["type"] == "Input"]
    assert len(start) == 1
    order = start
    while order[-1] in succ:
        nxt = succ[order[-1]]
        assert len(nxt) == 1, f"{order[-1]} fans out"
        order = order + nxt
    assert nodes[order[-1]]["type"] == "Output" and len(order) == len(nodes) == len(edges) + 1
    return order


def beta_from_tau(tau):
    return (1.0 - DT / tau.astype(np.float64)).astype(np.float32)


def affine(x, d, acc):
    w, b = d["weight"], d["bias"]
    if acc == "f64":    # float64 accumulation, rounded once to float32
        return (x.astype(np.float64) @ w.astype(np.float64).T + b.astype(np.float64)).astype(np.float32)
    return (x.astype(np.float32) @ w.T + b).astype(np.float32)


def sim_snntorch_rule(nodes, order, spikes, acc="f32", margins=None):
    """snnTorch's Leaky recurrence (SNNTORCH_RULE) in float32 numpy; counts int32 per LIF node.
    With a dict `margins`, records per LIF node the smallest |v_t - theta| seen (how far the
    closest threshold decision was from flipping)."""
    n = spikes.shape[1]
    v, counts = {}, {}
    for t in range(spikes.shape[0]):
        x = spikes[t].astype(np.float32)
        for name in order[1:-1]:
            d = nodes[name]
            if d["type"] == "Affine":
                x = affine(x, d, acc)
            elif d["type"] == "LIF":
                beta, theta = beta_from_tau(d["tau"]), d["v_threshold"].astype(np.float32)
                vp = v.get(name, np.zeros((n, theta.size), np.float32))
                reset = (vp > theta).astype(np.float32)
                vt = (beta * vp + x) - reset * theta
                s = (vt > theta).astype(np.float32)
                if margins is not None:
                    margins[name] = min(margins.get(name, np.inf), float(np.abs(vt - theta).min()))
                v[name] = vt
                counts[name] = counts.get(name, 0) + s.astype(np.int32)
                x = s
            else:
                raise ValueError(d["type"])
    return counts


def conv2d(x, d):
    """PyTorch Conv2d semantics on [N, Cin, H, W] (cross-correlation, zero padding, groups)."""
    w, b = d["weight"].astype(x.dtype), d["bias"].astype(x.dtype)
    sh, sw = (int(v) for v in np.broadcast_to(d["stride"], 2))
    ph, pw = (int(v) for v in np.broadcast_to(d["padding"], 2))
    dh, dw = (int(v) for v in np.broadcast_to(d["dilation"], 2))
    g = int(d["groups"])
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    assert cin == cin_g * g
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, cout, oh, ow), x.dtype)
    co_g = cout // g
    for gi in range(g):
        xs = xp[:, gi * cin_g:(gi + 1) * cin_g]
        ws = w[gi * co_g:(gi + 1) * co_g]
        for a in range(kh):
            for c in range(kw):
                patch = xs[:, :, a * dh: a * dh + sh * (oh - 1) + 1: sh, c * dw: c * dw + sw * (ow - 1) + 1: sw]
                out[:, gi * co_g:(gi + 1) * co_g] += np.einsum("nchw,oc->nohw", patch, ws[:, :, a, c])
    return out + b[None, :, None, None]


def pool2d(x, d, average):
    kh, kw = (int(v) for v in np.broadcast_to(d["kernel_size"], 2))
    sh, sw = (int(v) for v in np.broadcast_to(d["stride"], 2))
    ph, pw = (int(v) for v in np.broadcast_to(d["padding"], 2))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh = (x.shape[2] + 2 * ph - kh) // sh + 1
    ow = (x.shape[3] + 2 * pw - kw) // sw + 1
    out = np.zeros(x.shape[:2] + (oh, ow), x.dtype)
    for a in range(kh):
        for c in range(kw):
            out += xp[:, :, a: a + sh * (oh - 1) + 1: sh, c: c + sw * (ow - 1) + 1: sw]
    return out / (kh * kw) if average else out


def flatten(x, d):
    """start_dim/end_dim count the axes of one sample; x carries a leading batch axis."""
    nd = x.ndim - 1
    s, e = int(d["start_dim"]), int(d["end_dim"])
    s, e = (s + nd if s < 0 else s) + 1, (e + nd if e < 0 else e) + 1
    return x.reshape(x.shape[:s] + (-1,) + x.shape[e + 1:])


def sim_nir(nodes, order, spikes, dtype=np.float64, margins=None):
    """NIR semantics (NIR_RULE for LIF, NIR_IF_RULE for IF), counts int32 per neuron node;
    `margins` as in sim_snntorch_rule (smallest |v - v_threshold| before the reset)."""
    n = spikes.shape[1]
    v, counts = {}, {}
    for t in range(spikes.shape[0]):
        x = spikes[t].astype(dtype)
        for name in order[1:-1]:
            d = nodes[name]
            ty = d["type"]
            p = {k: np.asarray(a, dtype) for k, a in d.items() if k != "type" and np.asarray(a).dtype.kind == "f"}
            if ty == "Affine":
                x = x @ p["weight"].T + p["bias"]
            elif ty == "Conv2d":
                x = conv2d(x, {**d, "weight": p["weight"], "bias": p["bias"]})
            elif ty in ("SumPool2d", "AvgPool2d"):
                x = pool2d(x, d, ty == "AvgPool2d")
            elif ty == "Flatten":
                x = flatten(x, d)
            elif ty in ("LIF", "IF"):
                vp = v.get(name, np.zeros((n,) + p["v_threshold"].shape, dtype))
                if ty == "LIF":
                    k = DT / p["tau"]
                    vt = (1 - k) * vp + k * p["v_leak"] + (p["r"] * k) * x
                else:
                    vt = vp + p["r"] * x
                s = vt > p["v_threshold"]
                if margins is not None:
                    margins[name] = min(margins.get(name, np.inf), float(np.abs(vt - p["v_threshold"]).min()))
                v_reset = p.get("v_reset", np.zeros_like(p["v_threshold"]))
                v[name] = np.where(s, np.broadcast_to(v_reset, vt.shape), vt)
                counts[name] = counts.get(name, 0) + s.astype(np.int32)
                x = s.astype(dtype)
            else:
                raise ValueError(ty)
    return counts


def torch_nir_if(nodes, order, spikes):
    """A second implementation of the CNN's NIR semantics with torch.nn.functional (float64)."""
    v, counts = {}, {}
    for t in range(spikes.shape[0]):
        x = torch.from_numpy(spikes[t].astype(np.float64))
        for name in order[1:-1]:
            d = nodes[name]
            ty = d["type"]

            def tt(k):
                return torch.from_numpy(np.asarray(d[k], np.float64))
            if ty == "Conv2d":
                x = F.conv2d(x, tt("weight"), tt("bias"), tuple(int(a) for a in d["stride"]),
                             tuple(int(a) for a in d["padding"]), tuple(int(a) for a in d["dilation"]),
                             int(d["groups"]))
            elif ty == "SumPool2d":
                x = F.avg_pool2d(x, tuple(int(a) for a in d["kernel_size"]), tuple(int(a) for a in d["stride"]),
                                 tuple(int(a) for a in d["padding"]), divisor_override=1)
            elif ty == "Flatten":
                x = torch.flatten(x, int(d["start_dim"]) + 1, int(d["end_dim"]))
            elif ty == "Affine":
                x = F.linear(x, tt("weight"), tt("bias"))
            elif ty == "IF":
                vt = v.get(name, torch.zeros_like(x)) + tt("r") * x
                s = vt > tt("v_threshold")
                v[name] = torch.where(s, torch.zeros_like(vt), vt)
                counts[name] = counts.get(name, 0) + s.numpy().astype(np.int32)
                x = s.double()
            else:
                raise ValueError(ty)
    return counts


def compare(a, b):
    """(equal elements, total elements, samples with every count equal) over all layers."""
    eq = sum(int((a[k] == b[k]).sum()) for k in a)
    tot = sum(a[k].size for k in a)
    n = next(iter(a.values())).shape[0]
    same = np.ones(n, bool)
    for k in a:
        same &= (a[k] == b[k]).reshape(n, -1).all(1)
    return eq, tot, int(same.sum())


# ---------------------------------------------------------------- export
def export(net, path, what):
    net.eval()
    reset_hidden(net)
    with torch.no_grad():
        graph = export_to_nir(net, torch.zeros(784))
    if path.exists():
        path.unlink()
    nir.write(str(path), graph)
    written.append(path)
    g = nir.read(str(path))
    check(isinstance(g, nir.NIRGraph), f"nir.read loads {path.name} ({what})")
    sd = net.state_dict()
    for i, name in enumerate(["0", "2", "4"]):
        node = g.nodes[name]
        check(type(node).__name__ == "Affine"
              and np.array_equal(node.weight, sd[f"{name}.weight"].numpy())
              and np.array_equal(node.bias, sd[f"{name}.bias"].numpy())
              and node.weight.dtype == np.float32,
              f"{path.name}: node {name} Affine weight {node.weight.shape} / bias = torch {name}.weight/.bias, float32")
    for i, name in enumerate(LIF_NAMES):
        node = g.nodes[name]
        beta = sd[f"{name}.beta"].numpy()
        check(type(node).__name__ == "LIF"
              and np.array_equal(node.v_threshold, sd[f"{name}.threshold"].numpy())
              and np.array_equal(beta_from_tau(node.tau), beta),
              f"{path.name}: node {name} LIF, v_threshold = threshold, float32(1 - dt/tau) == beta bit for bit")
    return g


def describe_nir(path):
    """What the README records: node names/types, parameter shapes and dtypes, edges, storage."""
    lines = []
    with h5py.File(path, "r") as f:
        lines.append(f"/version = {f['version'][()].decode()!r}; root attrs {dict(f.attrs)}")
        g = f["node"]
        edges = [(a.decode(), b.decode()) for a, b in g["edges"][()]]
        lines.append(f"edges (file order) {edges}")
        for name in sorted(g["nodes"], key=lambda s: (not s.isdigit(), int(s) if s.isdigit() else 0, s)):
            grp = g["nodes"][name]
            parts = []
            for k in grp:
                ds = grp[k]
                if k == "type":
                    continue
                filt = f" gzip{ds.compression_opts}" if ds.compression else ""
                val = ""
                if ds.size <= 4 and ds.dtype.kind in "iuf":
                    val = f"={ds[()].tolist()}"
                parts.append(f"{k} {ds.dtype}{list(ds.shape)}{filt}{val}")
            nattr = sum(len(grp[k].attrs) for k in grp) + len(grp.attrs)
            lines.append(f"  {name}: {grp['type'][()].decode()} " + ", ".join(parts) + (f" ({nattr} attrs)" if nattr else ""))
    for l in lines:
        print(f"[nir] {Path(path).name}: {l}")
    return lines


# ---------------------------------------------------------------- data files
def write_data(x_u8, y, n_train):
    p = OUT / "snn_data.h5"
    with h5py.File(p, "w") as f:
        gz(f, "x", x_u8[N_TRAIN:].reshape(-1, 784))
        gz(f, "y", y[N_TRAIN:].astype(np.int64))
        f.attrs["description"] = (f"MNIST test images {N_TRAIN}..9999 (raw uint8, row-major 28x28) and labels; "
                                  "the test split of the spiking fixtures (scale x/255 as float32)")
    written.append(p)
    p = OUT / "snn_train.h5"
    with h5py.File(p, "w") as f:
        gz(f, "x", x_u8[:n_train].reshape(-1, 784))
        gz(f, "y", y[:n_train].astype(np.int64))
        f.attrs["description"] = (f"MNIST test images 0..{n_train - 1} (raw uint8) and labels: the first "
                                  f"{n_train} of the {N_TRAIN} training images of the spiking fixtures")
    written.append(p)


# ---------------------------------------------------------------- main parts
def mlp_part(x, y, vers):
    yt_all = y
    train_idx = np.arange(N_TRAIN)
    retain_idx = train_idx[y[:N_TRAIN] != FORGET_CLASS]
    print(f"[data] training images 0..{N_TRAIN - 1}: {len(retain_idx)} without class {FORGET_CLASS}, "
          f"{N_TRAIN - len(retain_idx)} of class {FORGET_CLASS}")
    print("[model] beta per neuron: " + ", ".join(f"layer {n}: [{b.min():.4f}, {b.max():.4f}]"
                                                  for n, b in zip(LIF_NAMES, BETAS)))

    net = build_net(0)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    net.train()
    train(net, opt, x, yt_all, retain_idx, EPOCHS_PRE, 0, "pre (no class 2), seed 0")
    pre = copy.deepcopy(net)
    train(net, opt, x, yt_all, train_idx, EPOCHS_POST, 1, "post = pre + all classes (same Adam state)")
    post = net
    retrain = build_net(1)
    train(retrain, torch.optim.Adam(retrain.parameters(), lr=LR), x, yt_all, retain_idx, EPOCHS_RETRAIN, 2,
          "retrain (no class 2), seed 1")

    graphs = {}
    for name, m in (("pre", pre), ("post", post), ("retrain", retrain)):
        graphs[name] = export(m, OUT / f"snn_{name}.nir", name)
    check(all(set(g.nodes) == {"input", "output", "0", "1", "2", "3", "4", "5"} for g in graphs.values()),
          "every graph has nodes input, 0..5, output")
    describe_nir(OUT / "snn_post.nir")

    # ---- accuracies on images 8000..9999, the same spike trains for every model
    x_test, y_test = x[N_TRAIN:], y[N_TRAIN:]
    ev = eval_spikes(x_test)
    ev_np = ev.numpy().astype(np.uint8)
    accs = {}
    for name, m in (("pre", pre), ("post", post), ("retrain", retrain)):
        with torch.no_grad():
            _, c = run_torch(m, ev, record=True)
        accs[name] = acc_report(predict(c["5"]), y_test, f"snn_{name} (snnTorch, {len(y_test)} test images)")
        fired = c["5"][:, FORGET_CLASS] > 0
        print(f"[info] snn_{name}: output neuron {FORGET_CLASS} fires on {int(fired.sum())}/{len(y_test)} test images "
              f"({int(fired[y_test == FORGET_CLASS].sum())}/{int((y_test == FORGET_CLASS).sum())} of class {FORGET_CLASS}); "
              f"mean counts per layer " + ", ".join(f"{k}: {c[k].mean():.2f}" for k in LIF_NAMES))
        nodes, edges = read_nir_h5(OUT / f"snn_{name}.nir")
        order = chain(nodes, edges)
        cn = sim_snntorch_rule(nodes, order, ev_np)
        eq, tot, same = compare(c, cn)
        check(eq == tot, f"snn_{name}.nir: numpy (snnTorch rule, float32) reproduces snnTorch's counts: "
                         f"{eq}/{tot} counts, {same}/{len(y_test)} samples")
        cn64 = sim_snntorch_rule(nodes, order, ev_np, acc="f64")
        eq2, _, same2 = compare(c, cn64)
        print(f"[info] same with float64-accumulated Affine outputs: {eq2}/{tot} counts, {same2} samples equal")
        nc = sim_nir(nodes, order, ev_np)
        accs[name]["nir"] = acc_report(predict(nc["5"]), y_test, f"snn_{name} under NIR semantics (numpy)")
        ag = compare(c, nc)
        print(f"[info] NIR semantics vs snnTorch rule: {ag[0]}/{ag[1]} counts equal, {ag[2]} samples identical")
    check(accs["post"]["per_class"][FORGET_CLASS] > 0.5 and accs["pre"]["per_class"][FORGET_CLASS] < 0.05
          and accs["retrain"]["per_class"][FORGET_CLASS] < 0.05,
          "post knows class 2, pre and retrain do not")

    # ---- snn_spikes.h5: the first 32 test images
    xs = x_test[:SPIKES_N]
    spikes = encode(xs, SPIKES_SEED)
    check(spikes.shape == (T, SPIKES_N, 784) and bool(((spikes == 0) | (spikes == 1)).all()),
          f"input spike trains {tuple(spikes.shape)} binary")
    with torch.no_grad():
        _, counts = run_torch(post, spikes, record=True)
    pred = predict(counts["5"])
    sp_u8 = spikes.numpy().astype(np.uint8)
    nodes, edges = read_nir_h5(OUT / "snn_post.nir")
    order = chain(nodes, edges)
    print(f"[sim] snn_post.nir chain: {' -> '.join(n + '(' + nodes[n]['type'] + ')' for n in order)}")
    marg = {}
    cn = sim_snntorch_rule(nodes, order, sp_u8, margins=marg)
    eq, tot, same = compare(counts, cn)
    check(eq == tot, f"snn_spikes: numpy simulator reading snn_post.nir reproduces every snnTorch count "
                     f"({eq}/{tot}, {same}/{SPIKES_N} samples)")
    cn64 = sim_snntorch_rule(nodes, order, sp_u8, acc="f64")
    e64 = compare(counts, cn64)
    print(f"[info] snn_spikes margins (smallest |v - theta|, float32): {marg}; with float64-accumulated Affine "
          f"outputs {e64[0]}/{e64[1]} counts equal")
    nmarg = {}
    nc = sim_nir(nodes, order, sp_u8, margins=nmarg)
    print(f"[info] snn_spikes NIR-semantics margins (float64): {nmarg}")
    nc32 = sim_nir(nodes, order, sp_u8, np.float32)
    e32 = compare(nc, nc32)
    print(f"[info] NIR semantics float32 vs float64: {e32[0]}/{e32[1]} counts equal")
    npred = predict(nc["5"])
    ey = compare(counts, nc)
    print(f"[info] 32 samples: NIR semantics vs snnTorch: {ey[0]}/{ey[1]} counts equal, {ey[2]} samples identical, "
          f"predictions equal {int((pred == npred).sum())}/32; accuracy snnTorch "
          f"{float((pred == y_test[:SPIKES_N]).mean()):.4f}, NIR {float((npred == y_test[:SPIKES_N]).mean()):.4f}")

    # snnTorch's own NIR importer on the same spikes
    import_check(OUT / "snn_post.nir", spikes, nc, ev, accs)

    p = OUT / "snn_spikes.h5"
    with h5py.File(p, "w") as f:
        gz(f, "input", sp_u8)
        for k in LIF_NAMES:
            gz(f, f"counts/{k}", counts[k].astype(np.int32))
            gz(f, f"nir_counts/{k}", nc[k].astype(np.int32))
        f.create_dataset("labels", data=y_test[:SPIKES_N].astype(np.int64))
        f.create_dataset("predicted", data=pred.astype(np.int64))
        f.create_dataset("nir_predicted", data=npred.astype(np.int64))
        f.create_dataset("image_index", data=np.arange(N_TRAIN, N_TRAIN + SPIKES_N, dtype=np.int64))
        f.attrs["model"] = "snn_post.nir"
        f.attrs["recurrence"] = SNNTORCH_RULE
        f.attrs["nir_recurrence"] = NIR_RULE
        f.attrs["input_encoding"] = (f"torch.manual_seed({SPIKES_SEED}); snntorch.spikegen.rate(x, num_steps={T}) "
                                     f"with x = MNIST test images {N_TRAIN}..{N_TRAIN + SPIKES_N - 1} as float32/255")
        f.attrs["prediction"] = "argmax over neurons of counts/5 (ties -> lowest index)"
        f.attrs["dt"] = DT
        f.attrs["num_steps"] = T
        f.attrs["versions"] = json.dumps(vers, sort_keys=True)
    written.append(p)
    return accs


def import_check(path, spikes, nc, ev, accs):
    """snntorch.import_nir.import_from_nir: does it load, and does it simulate NIR's semantics?"""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = import_from_nir(nir.read(str(path)))
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        print(f"[import] import_from_nir failed: {type(e).__name__}: {e}")
        return None
    leaky = {n: mod for n, mod in m.named_modules() if isinstance(mod, snn.Leaky)}
    print(f"[import] import_from_nir modules: {[(n, type(mod).__name__) for n, mod in m.named_modules() if n]}; "
          f"Leaky reset {[mod.reset_mechanism for mod in leaky.values()]}, reset_delay "
          f"{[mod.reset_delay for mod in leaky.values()]}, beta dtype {[str(mod.beta.dtype) for mod in leaky.values()]}")

    def run(sp):
        for mod in leaky.values():
            mod.reset_mem()
        counts, hooks = {}, []
        for n, mod in leaky.items():
            hooks.append(mod.register_forward_hook(
                lambda mod, i, o, n=n: counts.__setitem__(n, counts.get(n, 0) + (o[0] if isinstance(o, tuple) else o))))
        with torch.no_grad():
            for t in range(sp.shape[0]):
                m(sp[t])
        for h in hooks:
            h.remove()
        return {k: v.numpy().astype(np.int32) for k, v in counts.items()}

    c = run(spikes)
    eq, tot, same = compare(nc, c)
    print(f"[import] 32 samples: import_from_nir vs numpy NIR semantics: {eq}/{tot} counts, {same}/32 samples equal")
    c2 = run(ev)
    ev_np = ev.numpy().astype(np.uint8)
    nodes, edges = read_nir_h5(path)
    nc2 = sim_nir(nodes, chain(nodes, edges), ev_np)
    eq2, tot2, same2 = compare(nc2, c2)
    y_test = mnist_test()[1][N_TRAIN:]
    acc = float((predict(c2["5"]) == y_test).mean())
    print(f"[import] 2000 test images: import_from_nir vs numpy NIR semantics: {eq2}/{tot2} counts, "
          f"{same2}/2000 samples equal; accuracy import_from_nir {acc:.4f}, numpy NIR {accs['post']['nir']['overall']:.4f}, "
          f"snnTorch model {accs['post']['overall']:.4f}")
    return {"n32": (eq, tot, same), "n2000": (eq2, tot2, same2), "acc": acc}


def cnn_part(x_u8, y, vers):
    if not CNN_FILE.exists():
        sys.exit(f"{CNN_FILE} missing: fetch it (README.md), e.g.\n  curl -L -o {CNN_FILE} {CNN_URL}")
    check(git_blob_id(CNN_FILE) == CNN_GIT_BLOB and sha256(CNN_FILE) == CNN_SHA256,
          f"cnn_sinabs.nir is NIR's file (git blob {CNN_GIT_BLOB[:12]}, sha256 {CNN_SHA256[:12]})")
    g = nir.read(str(CNN_FILE))
    check(isinstance(g, nir.NIRGraph), "nir.read loads cnn_sinabs.nir (nir 0.2.0 file, IF without v_reset)")
    describe_nir(CNN_FILE)
    nodes, edges = read_nir_h5(CNN_FILE)
    order = chain(nodes, edges)
    print(f"[cnn] chain: {' -> '.join(n + '(' + nodes[n]['type'] + ')' for n in order)}")
    for n in order:
        print(f"[cnn]   {n}: input_type {g.nodes[n].input_type} output_type {g.nodes[n].output_type}")

    img = np.pad(x_u8[N_TRAIN:N_TRAIN + CNN_N], ((0, 0), (3, 3), (3, 3))).astype(np.float64) / 255.0
    prob = np.stack([img, img], axis=1) * CNN_RATE                       # [8, 2, 34, 34]
    rng = np.random.default_rng(CNN_SEED)
    spikes = (rng.random((CNN_T,) + prob.shape) < prob).astype(np.uint8)  # [T, 8, 2, 34, 34]
    check(tuple(nodes[order[0]]["shape"]) == spikes.shape[2:], f"input shape {spikes.shape[2:]} = Input node shape")
    cmarg = {}
    counts = sim_nir(nodes, order, spikes, margins=cmarg)
    print(f"[info] cnn margins (smallest |v - v_threshold|, float64): {cmarg}")
    ct = torch_nir_if(nodes, order, spikes)
    eq, tot, same = compare(counts, ct)
    check(eq == tot, f"cnn: numpy and torch.nn.functional (float64) give the same counts: {eq}/{tot}")
    c32 = sim_nir(nodes, order, spikes, np.float32)
    e32 = compare(counts, c32)
    print(f"[info] cnn float32 vs float64 numpy: {e32[0]}/{e32[1]} counts equal, {e32[2]}/{CNN_N} samples identical")
    out_name = [n for n in order if nodes[n]["type"] == "IF"][-1]
    pred = predict(counts[out_name])
    labels = y[N_TRAIN:N_TRAIN + CNN_N]
    for k in counts:
        print(f"[cnn] counts/{k} {counts[k].shape}: mean {counts[k].mean():.3f}, max {counts[k].max()}, "
              f"silent neurons {(counts[k].reshape(CNN_N, -1) == 0).mean():.3f}")
    print(f"[cnn] input spikes per sample {spikes.reshape(CNN_T, CNN_N, -1).sum((0, 2)).tolist()}; "
          f"predicted {pred.tolist()}, digit labels {labels.tolist()}")

    p = OUT / "cnn_spikes.h5"
    with h5py.File(p, "w") as f:
        gz(f, "input", spikes)
        for k in counts:
            gz(f, f"counts/{k}", counts[k].astype(np.int32))
        f.create_dataset("predicted", data=pred.astype(np.int64))
        f.create_dataset("labels", data=labels.astype(np.int64))
        f.create_dataset("image_index", data=np.arange(N_TRAIN, N_TRAIN + CNN_N, dtype=np.int64))
        f.attrs["model"] = "cnn_sinabs.nir"
        f.attrs["model_sha256"] = sha256(CNN_FILE)
        f.attrs["recurrence"] = NIR_IF_RULE
        f.attrs["input_encoding"] = (f"MNIST test images {N_TRAIN}..{N_TRAIN + CNN_N - 1} zero-padded 28->34 (3 each "
                                     f"side), p = {CNN_RATE}*pixel/255 for both channels, spikes = "
                                     f"numpy.random.default_rng({CNN_SEED}).random((T, 8, 2, 34, 34)) < p")
        f.attrs["prediction"] = f"argmax over neurons of counts/{out_name} (ties -> lowest index)"
        f.attrs["num_steps"] = CNN_T
        f.attrs["versions"] = json.dumps(vers, sort_keys=True)
    written.append(p)


def main():
    vers = spiking_versions()
    print("versions: " + " ".join(f"{k}={v}" for k, v in vers.items()))
    print(f"[det] torch threads {torch.get_num_threads()}, deterministic algorithms "
          f"{torch.are_deterministic_algorithms_enabled()}, PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED')}")
    OUT.mkdir(parents=True, exist_ok=True)
    x_u8, y = mnist_test()
    x = x_u8.reshape(-1, 784).astype(np.float32) / 255.0

    accs = mlp_part(x, y, vers)
    cnn_part(x_u8, y, vers)
    write_data(x_u8, y, N_TRAIN_SUBSET)

    print("\nsha256 / bytes:")
    total = 0
    for p in written + [CNN_FILE, OUT / "cnn_sinabs.LICENSE"]:
        b = p.read_bytes()
        total += len(b)
        print(f"{hashlib.sha256(b).hexdigest()}  {len(b):8d}  {p.relative_to(HERE)}")
    print(f"total bytes in {OUT.relative_to(HERE)}/: {total}")
    print("accuracies (images 8000..9999): " + ", ".join(
        f"{k} {v['overall']:.4f} (class 2 {v['per_class'][FORGET_CLASS]:.4f}; NIR semantics {v['nir']['overall']:.4f})"
        for k, v in accs.items()))


if __name__ == "__main__":
    main()
