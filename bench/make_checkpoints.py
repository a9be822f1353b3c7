#!/usr/bin/env python3
"""Generate the large float32 checkpoints used by `make bench` (bench/run.sh).

    python3 bench/make_checkpoints.py OUTDIR [--gib 1.0] [--pre] [--force]

Writes, with the real writer libraries (nothing hand-assembled):

    OUTDIR/bench_mlp.h5           Keras legacy HDF5 full-model layout, written with h5py
    OUTDIR/bench_mlp.safetensors  PyTorch-style state dict, safetensors.numpy.save_file
    OUTDIR/bench_mlp.pt           the same state dict, torch.save (needs torch; skipped without it)
    OUTDIR/bench_mlp.keras        the Keras model of the .h5 file, model.save (needs Keras 3 and JAX;
                                  skipped without them)

The model is an MLP of N hidden Dense layers alternating 2048->8192 and 8192->2048 (each kernel
8192x2048 float32 = 64 MiB) and a 10-unit head, so the largest tensor is 64 MiB whatever N is.
N = round(16 * GIB) (at least 1), so --gib 1.0 gives 16 layers, 1.0003 GiB of float32.

All files hold the same values: layer i is drawn from child i of
np.random.default_rng(0).spawn(N + 1) (the head is child N), as the Keras kernel (in, out);
the safetensors weight is its transpose (out, in), as PyTorch stores it.

--pre also writes, in every format, the snapshot "from before the forget data was learned" that
the --pre passes (negate, prune, revert) compare against: OUTDIR/bench_mlp_pre.{h5,safetensors,pt,keras}
with the same names and shapes and W_pre = W - dW, dW ~ N(0, (0.05/sqrt(fan_in))^2) for kernels and
N(0, 0.001^2) for biases, layer i's dW drawn from child i of np.random.default_rng(1).spawn(N + 1).
So every element differs from the model's, as after fine-tuning on the forget data.

HDF5 layout (as Keras 3 `model.save("x.h5")` writes it, cf. Fixtures/keras/mnist_mlp.h5):
    root attrs   backend, keras_version, model_config (Sequential JSON)
    model_weights/                       attrs backend, keras_version, layer_names
    model_weights/<layer>/               attr weight_names = [bench_mlp/<layer>/kernel, .../bias]
    model_weights/<layer>/bench_mlp/<layer>/{kernel,bias}    contiguous little-endian f32
Layers are hidden_0 .. hidden_{N-1} and output.

safetensors and torch names: layers.<i>.weight (out, in), layers.<i>.bias, head.weight (10, 2048),
head.bias; metadata {"format": "pt"} (safetensors). The .keras archive is Keras' own: config.json with
layers hidden_0 .. hidden_{N-1} and output, model.weights.h5 with layers/dense, dense_1, ... (Keras
names the groups after the class), metadata.json.

Memory: the HDF5 file is written one layer at a time (~130 MiB). torch.save and Keras' model.save
need every array at once (Keras also buffers model.weights.h5 in memory: about 3 GiB at 1 GiB);
safetensors.numpy.save_file needs every array at once; for up to 1.5 GiB of tensors they are held in RAM, above that they are
np.memmap arrays backed by a scratch directory in OUTDIR (removed afterwards), so generation never
needs much more than ~1.5 GiB of RAM.

Skips a file that already exists with the recorded size and parameters (OUTDIR/bench_checkpoints.json);
--force regenerates. Files are written under a temporary name and renamed when complete.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import safetensors
import safetensors.numpy

MIB = 1 << 20
GIB = 1 << 30
WIDE, NARROW, CLASSES = 8192, 2048, 10
MODEL = "bench_mlp"
GENERATOR_VERSION = 1  # bump when the contents change, so old files are regenerated
IN_RAM_LIMIT = int(1.5 * GIB)


def layer_dims(n_layers):
    """(fan_in, units) of each hidden layer, then the head."""
    dims = []
    width = NARROW
    for i in range(n_layers):
        units = WIDE if i % 2 == 0 else NARROW
        dims.append([width, units])
        width = units
    dims.append([width, CLASSES])
    return dims


def draw(rng, fan_in, units):
    """Keras kernel (fan_in, units) ~ N(0, 1/fan_in) and bias (units,) ~ N(0, 0.01^2), float32."""
    kernel = rng.standard_normal((fan_in, units), dtype=np.float32)
    kernel *= np.float32(1.0 / np.sqrt(fan_in))
    bias = rng.standard_normal(units, dtype=np.float32)
    bias *= np.float32(0.01)
    return kernel, bias


def layers_of(dims, pre=False):
    """A function giving layer i's (kernel, bias) in Keras orientation; call it once per i, in order."""
    rngs = np.random.default_rng(0).spawn(len(dims))
    deltas = np.random.default_rng(1).spawn(len(dims)) if pre else None

    def layer(i):
        fan_in, units = dims[i]
        kernel, bias = draw(rngs[i], fan_in, units)
        if deltas is not None:
            d_kernel = deltas[i].standard_normal((fan_in, units), dtype=np.float32)
            d_kernel *= np.float32(0.05 / np.sqrt(fan_in))
            kernel -= d_kernel
            del d_kernel
            bias -= np.float32(0.001) * deltas[i].standard_normal(units, dtype=np.float32)
        return kernel, bias

    return layer


def model_config(dims):
    dtype_policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}

    def dense(name, units, activation):
        return {"class_name": "Dense", "config": {
            "name": name, "trainable": True, "dtype": dtype_policy, "units": units, "activation": activation,
            "use_bias": True,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "config": {"seed": None, "input_axes": None, "output_axes": None}, "registered_name": None},
            "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None},
            "kernel_regularizer": None, "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
            "quantization_config": None}}

    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, dims[0][0]], "dtype": "float32", "sparse": False,
                                                      "ragged": False, "name": "input_layer", "optional": False}}]
    for i, (_, units) in enumerate(dims[:-1]):
        layers.append(dense(f"hidden_{i}", units, "relu"))
    layers.append(dense("output", dims[-1][1], "softmax"))
    return {"class_name": "Sequential", "config": {"name": MODEL, "trainable": True, "dtype": dtype_policy,
                                                   "layers": layers, "build_input_shape": [None, dims[0][0]]}}


def ascii_strings(values):
    return np.array([v.encode("ascii") for v in values], dtype=h5py.string_dtype("ascii"))


def write_hdf5(path, dims, layer, **dataset_options):
    """dataset_options go to every create_dataset (chunks, compression: bench/make_scale.py's gzip file)."""
    names = [f"hidden_{i}" for i in range(len(dims) - 1)] + ["output"]
    with h5py.File(path, "w") as f:  # libver "earliest" (superblock 0), as Keras/h5py default
        f.attrs["backend"] = "jax"
        f.attrs["keras_version"] = "3.15.1"
        f.attrs.create("model_config", json.dumps(model_config(dims)), dtype=h5py.string_dtype("ascii"))
        weights = f.create_group("model_weights")
        weights.attrs.create("backend", "jax", dtype=h5py.string_dtype("ascii"))
        weights.attrs.create("keras_version", "3.15.1", dtype=h5py.string_dtype("ascii"))
        weights.attrs["layer_names"] = ascii_strings(names)
        for i, name in enumerate(names):
            kernel, bias = layer(i)
            group = weights.create_group(name)
            group.attrs["weight_names"] = ascii_strings([f"{MODEL}/{name}/kernel", f"{MODEL}/{name}/bias"])
            inner = group.create_group(f"{MODEL}/{name}")
            inner.create_dataset("bias", data=bias, **dataset_options)
            inner.create_dataset("kernel", data=kernel, **dataset_options)  # by default contiguous, uncompressed, <f4
            del kernel, bias


def write_safetensors(path, dims, layer, scratch_root):
    total = sum((i * u + u) * 4 for i, u in dims)
    scratch = None
    if total > IN_RAM_LIMIT:
        scratch = tempfile.mkdtemp(prefix=".scratch-", dir=scratch_root)

    def array(shape):
        if scratch is None:
            return np.empty(shape, dtype=np.float32)
        backing = os.path.join(scratch, f"{len(os.listdir(scratch))}.f32")
        return np.memmap(backing, dtype=np.float32, mode="w+", shape=shape)

    try:
        tensors = {}
        n = len(dims) - 1
        for i, (fan_in, units) in enumerate(dims):
            kernel, bias = layer(i)
            prefix = "head" if i == n else f"layers.{i}"
            weight = array((units, fan_in))
            weight[...] = kernel.T  # PyTorch (out, in)
            del kernel
            tensors[f"{prefix}.weight"] = weight
            tensors[f"{prefix}.bias"] = bias
        safetensors.numpy.save_file(tensors, path, metadata={"format": "pt"})
        del tensors
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def write_torch(path, dims, layer):
    import torch
    tensors = {}
    n = len(dims) - 1
    for i in range(len(dims)):
        kernel, bias = layer(i)
        prefix = "head" if i == n else f"layers.{i}"
        tensors[f"{prefix}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.T))  # PyTorch (out, in)
        tensors[f"{prefix}.bias"] = torch.from_numpy(bias)
        del kernel
    torch.save(tensors, path)


def write_keras(path, dims, layer_values):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras
    model = keras.Sequential([keras.Input((dims[0][0],))]
                             + [keras.layers.Dense(units, activation="relu", name=f"hidden_{i}") for i, (_, units) in enumerate(dims[:-1])]
                             + [keras.layers.Dense(dims[-1][1], activation="softmax", name="output")], name=MODEL)
    for i, layer in enumerate(model.layers):
        kernel, bias = layer_values(i)
        layer.set_weights([kernel, bias])
        del kernel, bias
    target = Path(path).with_suffix(".keras")  # Keras saves only under a .keras name
    model.save(target)
    os.replace(target, path)


def largest_tensor(dims):
    return max(i * u * 4 for i, u in dims)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--gib", type=float, default=1.0, help="approximate float32 bytes per file, in GiB (default 1.0)")
    parser.add_argument("--pre", action="store_true", help="also write the --pre snapshot bench_mlp_pre.* in every format")
    parser.add_argument("--force", action="store_true", help="regenerate even if the files look complete")
    args = parser.parse_args()
    if args.gib <= 0:
        parser.error("--gib must be positive")

    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    n_layers = max(1, round(16 * args.gib))
    dims = layer_dims(n_layers)
    tensor_bytes = sum((i * u + u) * 4 for i, u in dims)
    params = {"generator": GENERATOR_VERSION, "layers": n_layers, "dims": dims, "seed": 0,
              "h5py": h5py.__version__, "safetensors": safetensors.__version__}
    stamp_path = out / "bench_checkpoints.json"
    try:
        stamp = json.loads(stamp_path.read_text())
    except (OSError, ValueError):
        stamp = {}

    files = {"hdf5": out / f"{MODEL}.h5", "safetensors": out / f"{MODEL}.safetensors",
             "pt": out / f"{MODEL}.pt", "keras": out / f"{MODEL}.keras"}
    writers = {"hdf5": lambda p, layer: write_hdf5(p, dims, layer),
               "safetensors": lambda p, layer: write_safetensors(p, dims, layer, out),
               "pt": lambda p, layer: write_torch(p, dims, layer),
               "keras": lambda p, layer: write_keras(p, dims, layer)}
    writer_versions = {}
    try:
        import torch
        writer_versions["pt"] = {"torch": torch.__version__}
    except ImportError:
        print("pt: torch is not installed; bench_mlp.pt is not written (pip install torch, the CPU wheel)")
        del files["pt"]
    try:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras
        writer_versions["keras"] = {"keras": keras.__version__}
    except ImportError:
        print("keras: Keras 3 is not installed; bench_mlp.keras is not written (pip install keras jax)")
        del files["keras"]
    if args.pre:  # the snapshots: same writers, same names, W - dW
        for fmt, path in list(files.items()):
            files[f"pre-{fmt}"] = path.with_name(f"{MODEL}_pre{path.suffix}")
            writers[f"pre-{fmt}"] = writers[fmt]
            if fmt in writer_versions:
                writer_versions[f"pre-{fmt}"] = writer_versions[fmt]
    print(f"model: {n_layers} hidden layers {WIDE}x{NARROW} + {CLASSES}-unit head; "
          f"{tensor_bytes / GIB:.4f} GiB of float32 tensors per file; largest tensor {largest_tensor(dims) / MIB:.0f} MiB")

    for fmt, path in files.items():
        record = stamp.get(fmt, {})
        fmt_params = dict(params, **writer_versions.get(fmt, {}))
        if (not args.force and path.exists() and record.get("params") == fmt_params
                and record.get("size") == path.stat().st_size):
            print(f"{fmt}: {path} exists with the recorded size ({path.stat().st_size} bytes); not regenerated")
            continue
        stamp.pop(fmt, None)
        stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
        temporary = path.with_name(f".{path.stem}.tmp{path.suffix}")
        temporary.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
        started = time.monotonic()
        try:
            writers[fmt](temporary, layers_of(dims, pre=fmt.startswith("pre-")))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        os.replace(temporary, path)
        size = path.stat().st_size
        if not tensor_bytes <= size <= tensor_bytes + 8 * MIB:
            sys.exit(f"{path}: unexpected size {size} for {tensor_bytes} bytes of tensors")
        stamp[fmt] = {"params": fmt_params, "size": size}
        stamp_path.write_text(json.dumps(stamp, indent=2) + "\n")
        print(f"{fmt}: wrote {path} in {time.monotonic() - started:.1f} s")

    for fmt, path in files.items():
        size = path.stat().st_size
        print(f"  {path.name:28s} {size:>14,d} bytes  {size / MIB:9.1f} MiB")
    print(f"  largest tensor: {largest_tensor(dims):,d} bytes ({largest_tensor(dims) / MIB:.0f} MiB)")


if __name__ == "__main__":
    main()
