#!/usr/bin/env python3
"""The inputs of the scale section of `make bench` (BENCH_SCALE=1): generated, never committed.

    python3 bench/make_scale.py OUTDIR [--sharded-gib 8] [--gzip-gib 1] [--force]

Writes, with the real writer libraries and the MLP of bench/make_checkpoints.py (64 MiB kernels,
round(16 * GIB) hidden layers, a 10-unit head, the same seeded values):

    OUTDIR/bench_sharded/               a sharded safetensors checkpoint as Hugging Face lays it out:
        model-0000K-of-0000N.safetensors    whole layers, at most 1 GiB of tensors per shard, each
                                            written by safetensors.numpy.save_file (metadata
                                            {"format": "pt"}), PyTorch names layers.<i>.weight (out, in)
        model.safetensors.index.json        {"metadata": {"total_size": ...}, "weight_map": {...}}
    OUTDIR/bench_gzip.h5                the Keras .h5 layout of bench_mlp.h5 with every dataset
                                        chunked (h5py's chunk guess) and gzip level 4 + shuffle

One shard at a time is held in memory (about 1 GiB); the HDF5 file is written one layer at a time.
Random normal float32 values compress little: the gzip file is about 0.86 of its data (64 KiB chunks).
Skips a file that exists with the size and parameters recorded in OUTDIR/bench_scale.json.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import safetensors
import safetensors.numpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_checkpoints as mc  # noqa: E402

SHARD_BYTES = 1 << 30
VERSION = 1


def save_sharded(directory, dims, layer):
    """Groups the layers into shards by their sizes, then draws and writes one shard at a time."""
    n = len(dims) - 1
    groups, size, current = [], 0, []
    for i, (fan_in, units) in enumerate(dims):
        layer_bytes = (fan_in * units + units) * 4
        if current and size + layer_bytes > SHARD_BYTES:
            groups.append(current)
            current, size = [], 0
        current.append(i)
        size += layer_bytes
    groups.append(current)
    weight_map, total = {}, 0
    directory.mkdir(parents=True)
    for k, group in enumerate(groups, start=1):
        name = f"model-{k:05d}-of-{len(groups):05d}.safetensors"
        tensors = {}
        for i in group:
            kernel, bias = layer(i)
            prefix = "head" if i == n else f"layers.{i}"
            tensors[f"{prefix}.weight"] = np.ascontiguousarray(kernel.T)  # PyTorch (out, in)
            tensors[f"{prefix}.bias"] = bias
            del kernel
        safetensors.numpy.save_file(tensors, directory / name, metadata={"format": "pt"})
        for key, value in tensors.items():
            weight_map[key] = name
            total += value.nbytes
        del tensors
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    (directory / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")


def tree_size(path):
    return sum(f.stat().st_size for f in path.iterdir()) if path.is_dir() else path.stat().st_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--sharded-gib", type=float, default=8.0, help="tensor GiB of the sharded checkpoint (0: none)")
    parser.add_argument("--gzip-gib", type=float, default=1.0, help="tensor GiB of the gzip HDF5 file (0: none)")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    stamp_path = out / "bench_scale.json"
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}

    jobs = {}
    if args.sharded_gib > 0:
        jobs["sharded"] = (out / "bench_sharded", args.sharded_gib,
                           lambda path, dims, layer: save_sharded(path, dims, layer))
    if args.gzip_gib > 0:
        jobs["gzip"] = (out / "bench_gzip.h5", args.gzip_gib,
                        lambda path, dims, layer: mc.write_hdf5(path, dims, layer, chunks=True, compression="gzip",
                                                               compression_opts=4, shuffle=True))
    for kind, (path, gib, writer) in jobs.items():
        dims = mc.layer_dims(max(1, round(16 * gib)))
        params = {"version": VERSION, "generator": mc.GENERATOR_VERSION, "dims": dims, "seed": 0,
                  "h5py": h5py.__version__, "safetensors": safetensors.__version__}
        record = stamp.get(kind, {})
        if not args.force and path.exists() and record.get("params") == params and record.get("size") == tree_size(path):
            print(f"{kind}: {path} exists with the recorded size; not regenerated")
            continue
        stamp.pop(kind, None)
        stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
        temporary = path.with_name(f".{path.name}.tmp")
        shutil.rmtree(temporary, ignore_errors=True) if temporary.is_dir() else temporary.unlink(missing_ok=True)
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        started = time.monotonic()
        try:
            writer(temporary, dims, mc.layers_of(dims))
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True) if temporary.is_dir() else temporary.unlink(missing_ok=True)
            raise
        os.replace(temporary, path)
        stamp[kind] = {"params": params, "size": tree_size(path)}
        stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
        tensor_bytes = sum((i * u + u) * 4 for i, u in dims)
        print(f"{kind}: wrote {path} ({tree_size(path) / 2**20:.1f} MiB on disk, {tensor_bytes / 2**30:.3f} GiB of tensors, "
              f"{len(dims) - 1} hidden layers) in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
