#!/usr/bin/env python3
"""Load checkpoints in their real tool and print a short report (developer tool).

    python3 Fixtures/check_outputs.py [--class C] FILE [FILE...]

Not used by the test suite. Exit status 1 if any file fails to load/check.

Dispatch:
  HDF5 with root attr `model_config`   -> keras.models.load_model(compile=False), MNIST accuracy
  *.weights.h5 / Keras-3 weights layout -> build the fixture MLP, model.load_weights, MNIST accuracy
  HDF5 with `layer_names` (legacy Keras weights-only) -> build MLP, load_weights, MNIST accuracy
  *.safetensors                         -> list tensors; if fc1/fc2 present, numpy MLP forward
  *.index.json                          -> load every shard, check every weight_map name exists
  any other HDF5                        -> h5py walk (datasets, dtype, shape, attribute counts)

Accuracy is measured on MNIST test images 8000..9999 (the fixtures were
trained on 0..7999). MNIST dir: --mnist DIR or $MNIST_DIR
(default /work/shared/data/mnist).
"""

import os

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import shutil
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

import numpy as np

from fixture_common import build_mlp, mnist_test_flat  # noqa: E402

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
EVAL_START = 8000
_mnist = None
ARGS = None


# ---------------------------------------------------------------- data / metrics
def mnist_eval():
    global _mnist
    if _mnist is None:
        x, y = mnist_test_flat(ARGS.mnist)
        _mnist = (x[EVAL_START:], y[EVAL_START:])
    return _mnist


def accuracy_report(pred, y, tag):
    cls = ARGS.cls
    acc = float((pred == y).mean())
    print(f"  [{tag}] overall accuracy (images {EVAL_START}..9999): {acc:.4f}")
    cells = []
    for c in range(10):
        m = y == c
        a = float((pred[m] == c).mean())
        cells.append(f"{'*' if c == cls else ''}{c}:{a:.3f}")
    print("  per-class: " + " ".join(cells))
    if cls is not None:
        m = y == cls
        a_c = float((pred[m] == cls).mean())
        a_rest = float((pred[~m] == y[~m]).mean())
        share = float((pred == cls).mean())
        print(f"  class {cls}: accuracy {a_c:.4f} (n={int(m.sum())}); "
              f"other classes {a_rest:.4f}; fraction of all predictions == {cls}: {share:.4f}")


# ---------------------------------------------------------------- Keras
def keras_predict(model):
    x, y = mnist_eval()
    pred = np.argmax(np.asarray(model.predict(x, batch_size=500, verbose=0)), axis=1)
    return pred, y


def check_keras_full(path):
    import h5py
    import keras
    with h5py.File(path, "r") as f:
        has_opt = "optimizer_weights" in f
        if has_opt:
            n_opt = sum(1 for _ in _datasets(f["optimizer_weights"]))
        layer_names = [_s(n) for n in f["model_weights"].attrs.get("layer_names", [])]
    print(f"  Keras legacy full model; layer_names={layer_names}; optimizer_weights present: "
          f"{has_opt}" + (f" ({n_opt} datasets)" if has_opt else ""))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.models.load_model(_with_suffix(path, ".h5"), compile=False)
    for layer in model.layers:
        print("  layer " + layer.name + ": " + ", ".join(str(tuple(w.shape)) for w in layer.get_weights()))
    pred, y = keras_predict(model)
    accuracy_report(pred, y, "keras load_model")


def check_keras_weights(path, legacy):
    import h5py
    with h5py.File(path, "r") as f:
        if legacy:
            print("  legacy Keras weights-only HDF5; layer_names="
                  f"{[_s(n) for n in f.attrs.get('layer_names', [])]}")
        else:
            groups = sorted(f["layers"].keys()) if "layers" in f else []
            print(f"  Keras 3 weights file; layers/: {groups}; optimizer/ present: {'optimizer' in f}")
    model = build_mlp()
    suffix = ".h5" if legacy else ".weights.h5"
    model.load_weights(_with_suffix(path, suffix))
    pred, y = keras_predict(model)
    accuracy_report(pred, y, "keras load_weights")


_tmpdir = None


def _with_suffix(path, suffix):
    """Keras dispatches on file name; copy to a temp name if needed."""
    global _tmpdir
    p = str(path)
    if p.endswith(suffix) and not (suffix == ".h5" and p.endswith(".weights.h5")):
        return p
    if _tmpdir is None:
        _tmpdir = tempfile.mkdtemp(prefix="check_outputs_")
    dst = os.path.join(_tmpdir, "copy" + suffix)
    shutil.copyfile(p, dst)
    return dst


# ---------------------------------------------------------------- safetensors
def load_safetensors(path):
    import safetensors.numpy
    try:
        return safetensors.numpy.load_file(str(path)), "safetensors.numpy"
    except Exception as e:  # older safetensors.numpy has no BF16
        import safetensors.flax
        t = safetensors.flax.load_file(str(path))
        print(f"  (safetensors.numpy failed: {e!r}; used safetensors.flax)")
        return {k: np.asarray(v) for k, v in t.items()}, "safetensors.flax"


def safetensors_metadata(path):
    from safetensors import safe_open
    with safe_open(str(path), framework="np") as f:
        return f.metadata()


def mlp_forward(t):
    x, y = mnist_eval()
    f = lambda k: np.asarray(t[k]).astype(np.float32)
    h = np.maximum(x @ f("fc1.weight").T + f("fc1.bias"), 0.0)
    logits = h @ f("fc2.weight").T + f("fc2.bias")
    return np.argmax(logits, axis=1), y


def print_tensors(t):
    for k in sorted(t):
        v = t[k]
        extra = f" value={v.item()}" if v.size == 1 and v.dtype.kind in "iu" else ""
        print(f"  {k:28s} {str(v.dtype):9s} {tuple(v.shape)}{extra}")


def check_safetensors(path):
    t, how = load_safetensors(path)
    print(f"  loaded with {how}; metadata={safetensors_metadata(path)}")
    print_tensors(t)
    if all(k in t for k in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")):
        pred, y = mlp_forward(t)
        accuracy_report(pred, y, "numpy MLP forward")


def check_index(path):
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        idx = json.load(f)
    wm = idx["weight_map"]
    declared = idx.get("metadata", {}).get("total_size")
    tensors, missing, total = {}, [], 0
    for shard in sorted(set(wm.values())):
        t, _ = load_safetensors(path.parent / shard)
        print(f"  shard {shard}: {len(t)} tensors")
        for k, v in t.items():
            total += v.nbytes
            if wm.get(k) != shard:
                print(f"  WARNING: {k} is in {shard} but weight_map says {wm.get(k)}")
        tensors.update(t)
    for name, shard in wm.items():
        if name not in tensors:
            missing.append(f"{name} ({shard})")
    print(f"  weight_map names: {len(wm)}, found: {len(wm) - len(missing)}; "
          f"total_size declared={declared} actual={total}")
    print_tensors(tensors)
    if missing:
        raise RuntimeError("missing tensors: " + ", ".join(missing))
    if declared is not None and declared != total:
        print("  WARNING: metadata.total_size does not match tensor bytes")
    if all(k in tensors for k in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")):
        pred, y = mlp_forward(tensors)
        accuracy_report(pred, y, "numpy MLP forward (all shards)")


# ---------------------------------------------------------------- generic HDF5
def _s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _datasets(group):
    import h5py
    out = []
    group.visititems(lambda n, o: out.append((n, o)) if isinstance(o, h5py.Dataset) else None)
    return out


def check_hdf5_generic(path):
    import h5py
    with h5py.File(path, "r") as f:
        print(f"  root attrs ({len(f.attrs)}): {sorted(f.attrs.keys())}")

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                layout = f"chunks={obj.chunks}" if obj.chunks else "contiguous"
                if obj.compression:
                    layout += f" {obj.compression}({obj.compression_opts})"
                if obj.shuffle:
                    layout += " shuffle"
                s = np.asarray(data, dtype=np.float64) if obj.dtype.kind in "fiu" else None
                summ = f" sum={s.sum():.6g}" if s is not None else ""
                print(f"  D {name:24s} {obj.dtype.str:5s} {str(obj.shape):10s} attrs={len(obj.attrs)} "
                      f"{layout}{summ}")
            else:
                print(f"  G {name + '/':24s} attrs={len(obj.attrs)}")

        f.visititems(visit)


# ---------------------------------------------------------------- dispatch
def is_hdf5(path):
    with open(path, "rb") as f:
        return f.read(8) == HDF5_MAGIC


def check(path):
    p = str(path)
    if p.endswith(".json"):
        return check_index(path)
    if p.endswith(".safetensors"):
        return check_safetensors(path)
    if is_hdf5(path):
        import h5py
        with h5py.File(path, "r") as f:
            if "model_config" in f.attrs:
                kind = "full"
            elif p.endswith(".weights.h5") or ("layers" in f and "model_weights" not in f):
                kind = "weights3"
            elif "layer_names" in f.attrs:
                kind = "weights_legacy"
            else:
                kind = "generic"
        if kind == "full":
            return check_keras_full(path)
        if kind == "weights3":
            return check_keras_weights(path, legacy=False)
        if kind == "weights_legacy":
            return check_keras_weights(path, legacy=True)
        return check_hdf5_generic(path)
    # Unknown extension: try safetensors.
    return check_safetensors(path)


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--class", dest="cls", type=int, default=None, help="highlight this class's accuracy")
    ap.add_argument("--mnist", default=os.environ.get("MNIST_DIR", "/work/shared/data/mnist"))
    ap.add_argument("-v", "--verbose", action="store_true", help="print tracebacks on failure")
    ARGS = ap.parse_args()

    failed = []
    for fpath in ARGS.files:
        print(f"== {fpath} ({os.path.getsize(fpath) if os.path.exists(fpath) else '?'} bytes)")
        try:
            check(fpath)
            print("  OK")
        except Exception as e:
            failed.append(fpath)
            print(f"  FAILED: {type(e).__name__}: {e}")
            if ARGS.verbose:
                traceback.print_exc()
    if _tmpdir:
        shutil.rmtree(_tmpdir, ignore_errors=True)
    print(f"\n{len(ARGS.files) - len(failed)}/{len(ARGS.files)} loaded OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
