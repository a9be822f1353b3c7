#!/usr/bin/env python3
"""The data and statistics files the pass table of `make bench` needs beside the checkpoints.

    python3 bench/make_companions.py OUTDIR --bin CKPTFORGET [--force]

Needs OUTDIR/bench_mlp.h5 (bench/make_checkpoints.py). Writes:

    OUTDIR/bench_data.h5         x (40, 2048) float32 ~ N(0, 1), y (40,) int64: two samples of class 2,
                                 the rest spread over the other nine classes (seed 5); the forget and
                                 retain data of the ssd statistics and of the model pass (ascent)
    OUTDIR/bench_stats.h5        `ckptforget stats bench_mlp.h5 --data bench_data.h5 --class 2 -o ...`:
                                 exact Fisher diagonals on the forget, retain and full splits (three
                                 times the model's size), activity, correlation, logits
    OUTDIR/bench_stats_sd.h5     the same Fisher diagonals under the state-dict names of
                                 bench_mlp.safetensors and bench_mlp.pt (layers.<i>.weight, transposed
                                 to (out, in); layers.<i>.bias; head.*), all three splits
    OUTDIR/bench_stats_keras.h5  the same under the names of bench_mlp.keras (layers/dense_<i>/vars/0, 1)

The engine runs the .h5 and .keras models but not a state dict (no architecture), so the safetensors
and .pt statistics are ckptforget's, renamed: the values an engine run on those files would give.
`ckptforget stats` holds the model, its gradients and the three splits' diagonals at once: its peak RSS
is about 14x the model's size (3.4 GiB at 0.25 GiB, so about 14 GiB at 1 GiB); it runs once and is kept.

Skips the work when the files exist and OUTDIR/bench_companions.json says they were made from the same
model file (size and generator parameters) by the same ckptforget version; --force redoes it.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np

MODEL = "bench_mlp"
VERSION = 1  # bump when the contents change
SAMPLES, FEATURES, CLASS = 40, 2048, 2


def write_data(path):
    rng = np.random.default_rng(5)
    others = [c for c in range(10) if c != CLASS]
    y = np.array([CLASS, CLASS] + [others[i % len(others)] for i in range(SAMPLES - 2)], dtype=np.int64)
    with h5py.File(path, "w") as f:
        f["x"] = rng.standard_normal((SAMPLES, FEATURES), dtype=np.float32)
        f["y"] = y


def hdf5_layers(stats):
    """The layer names of the .h5 model, in order (hidden_0 .. hidden_{N-1}, output), from the diagonals."""
    names = set()
    stats["fisher/full"].visit(lambda name: names.add(name.split("/")[1]) if name.count("/") >= 1 else None)
    hidden = sorted((n for n in names if n.startswith("hidden_")), key=lambda n: int(n.split("_")[1]))
    return hidden + ["output"]


def convert(source, target, rename):
    """Copies every /fisher/<split>/<tensor> of `source` to `target` as rename(layer index, role) says."""
    temporary = target.with_name(f".{target.name}.tmp")
    with h5py.File(source, "r") as src, h5py.File(temporary, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        dst.attrs["converted_from"] = f"{source.name} (ckptforget stats on {MODEL}.h5), renamed for another format"
        layers = hdf5_layers(src)
        for split in src["fisher"]:
            for index, layer in enumerate(layers):
                for role in ("kernel", "bias"):
                    values = src[f"fisher/{split}/model_weights/{layer}/{MODEL}/{layer}/{role}"][()]
                    name, values = rename(index, len(layers) - 1, role, values)
                    dst.create_dataset(f"fisher/{split}/{name}", data=values)
                    del values
    os.replace(temporary, target)


def state_dict_name(index, head, role, values):
    prefix = "head" if index == head else f"layers.{index}"
    if role == "kernel":
        return f"{prefix}.weight", np.ascontiguousarray(values.T)  # PyTorch (out, in)
    return f"{prefix}.bias", values


def keras_name(index, head, role, values):
    group = "dense" if index == 0 else f"dense_{index}"  # Keras 3 names the groups after the class
    return f"layers/{group}/vars/{0 if role == 'kernel' else 1}", values


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--bin", required=True, help="the ckptforget binary that computes the statistics")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    out = Path(args.outdir)
    model = out / f"{MODEL}.h5"
    if not model.exists():
        sys.exit(f"make_companions: {model} is missing (run bench/make_checkpoints.py first)")
    version = subprocess.run([args.bin, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        model_stamp = json.loads((out / "bench_checkpoints.json").read_text())["hdf5"]
    except (OSError, ValueError, KeyError):
        model_stamp = {"size": model.stat().st_size}
    stamp = {"version": VERSION, "ckptforget": version, "model": model_stamp}
    stamp_path = out / "bench_companions.json"
    files = [out / "bench_data.h5", out / "bench_stats.h5", out / "bench_stats_sd.h5", out / "bench_stats_keras.h5"]
    try:
        recorded = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        recorded = None
    if not args.force and recorded == stamp and all(f.exists() for f in files):
        print(f"companions: {', '.join(f.name for f in files)} exist for this model; not regenerated")
        return
    stamp_path.unlink(missing_ok=True)
    for f in files:
        f.unlink(missing_ok=True)

    write_data(files[0])
    started = time.monotonic()
    run = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", str(out / ".stats-rss"), args.bin, "stats", str(model),
                          "--data", str(files[0]), "--class", str(CLASS), "-o", str(files[1]), "-q"])
    if run.returncode != 0:
        sys.exit(f"make_companions: ckptforget stats failed (exit {run.returncode})")
    rss = int((out / ".stats-rss").read_text().split()[-1])
    (out / ".stats-rss").unlink()
    print(f"companions: {files[1].name} by ckptforget stats in {time.monotonic() - started:.1f} s, "
          f"peak RSS {rss / 1024:.0f} MiB ({files[1].stat().st_size / 2**20:.0f} MiB)")
    started = time.monotonic()
    convert(files[1], files[2], state_dict_name)
    convert(files[1], files[3], keras_name)
    print(f"companions: {files[2].name} and {files[3].name} (renamed diagonals) in {time.monotonic() - started:.1f} s")
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")


if __name__ == "__main__":
    main()
