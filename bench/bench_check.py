#!/usr/bin/env python3
"""Helpers for bench/run.sh (reads the files with h5py / safetensors / torch / zipfile, never with ckptforget).

    bench_check.py largest FILE            bytes of the largest tensor in FILE
    bench_check.py last-hidden FILE        name of the last hidden layer (the big-edit target)
    bench_check.py verify IN OUT LAYER     checks that OUT is IN with `dampen:0.01 --class 2` applied
                                           to LAYER: class 2 of LAYER's weight and bias scaled by 0.01
                                           (computed in double, stored as float32, as ckptforget
                                           does), every other value of every tensor identical
"""

import json
import struct
import sys

import numpy as np

ALPHA, CLASS = 0.01, 2


def is_safetensors(path):
    return path.endswith(".safetensors")


def is_torch(path):
    return path.endswith(".pt")


def is_keras(path):
    return path.endswith(".keras")


def state_dict_like(path):
    """Files whose names are PyTorch state-dict keys ((out, in) weights)."""
    return is_safetensors(path) or is_torch(path)


def torch_state(path):
    import torch
    return torch.load(path, weights_only=True, mmap=True)


class KerasWeights:
    """model.weights.h5 of a .keras archive, read in place with h5py through zipfile (stored member)."""

    def __init__(self, path):
        import zipfile
        import h5py
        self.zip = zipfile.ZipFile(path)
        self.member = self.zip.open("model.weights.h5")
        self.h5 = h5py.File(self.member, "r")
        self.config = json.loads(self.zip.read("config.json"))

    def group_of(self, layer):
        """Keras names the groups after the class; a layer's own name is its vars group's `name`."""
        for group in self.h5["layers"]:
            if self.h5[f"layers/{group}/vars"].attrs.get("name") == layer:
                return f"layers/{group}"
        sys.exit(f"bench: no group of layer {layer}")

    def close(self):
        self.h5.close()
        self.member.close()
        self.zip.close()


def safetensors_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def h5_datasets(f):
    import h5py
    names = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def largest(path):
    if is_torch(path):
        return max(t.numel() * t.element_size() for t in torch_state(path).values())
    if is_keras(path):
        weights = KerasWeights(path)
        try:
            return max(weights.h5[n].size * weights.h5[n].dtype.itemsize for n in h5_datasets(weights.h5))
        finally:
            weights.close()
    if is_safetensors(path):
        header = safetensors_header(path)
        return max(e["data_offsets"][1] - e["data_offsets"][0] for k, e in header.items() if k != "__metadata__")
    import h5py
    with h5py.File(path, "r") as f:
        return max(f[n].size * f[n].dtype.itemsize for n in h5_datasets(f))


def last_hidden(path):
    if state_dict_like(path):
        keys = torch_state(path).keys() if is_torch(path) else safetensors_header(path)
        layers = {int(k.split(".")[1]) for k in keys if k.startswith("layers.")}
        return f"layers.{max(layers)}"
    if is_keras(path):  # --output-layer takes the layer's own name from config.json
        weights = KerasWeights(path)
        try:
            return [layer["config"]["name"] for layer in weights.config["config"]["layers"] if layer["class_name"] == "Dense"][-2]
        finally:
            weights.close()
    import h5py
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["model_weights"].attrs["layer_names"]]
        return names[-2]


def expected(name, a, layer, safetensors, keras=None):
    """The input tensor `a` as dampen:0.01 --class 2 on `layer` should leave it."""
    if keras is not None:
        weight, bias, axis = f"{keras}/vars/0", f"{keras}/vars/1", -1  # Keras 3 (in, out): a column
        safetensors = True  # names compared whole
    elif safetensors:
        weight, bias, axis = f"{layer}.weight", f"{layer}.bias", 0      # PyTorch (out, in): a row
    else:
        weight, bias, axis = f"/{layer}/kernel", f"/{layer}/bias", -1   # Keras (in, out): a column
    hit = name == weight if safetensors else name.endswith(weight)
    if hit:
        a = a.copy()
        index = [slice(None)] * a.ndim
        index[axis] = CLASS
        index = tuple(index)
        a[index] = (a[index].astype(np.float64) * ALPHA).astype(np.float32)
    elif (name == bias) if safetensors else name.endswith(bias):
        a = a.copy()
        a[CLASS] = np.float32(np.float64(a[CLASS]) * ALPHA)
    return a


def verify(src, out, layer):
    group = None

    def check(name, a, b):
        if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(expected(name, a, layer, state_dict_like(src), group), b):
            sys.exit(f"bench: {out}: tensor {name} is not what dampen:{ALPHA} --class {CLASS} on layer {layer} should give")

    if is_torch(src):
        fa, fb = torch_state(src), torch_state(out)
        names = sorted(fa)
        if names != sorted(fb):
            sys.exit(f"bench: {out}: tensor names differ from the input's")
        for k in names:
            check(k, fa[k].numpy(), fb[k].numpy())
    elif is_keras(src):
        wa, wb = KerasWeights(src), KerasWeights(out)
        try:
            if wa.config != wb.config or wa.zip.read("metadata.json") != wb.zip.read("metadata.json"):
                sys.exit(f"bench: {out}: config.json or metadata.json differs from the input's")
            group = wa.group_of(layer)
            names = sorted(n for n in h5_datasets(wa.h5) if not n.startswith("optimizer"))
            if names != sorted(h5_datasets(wb.h5)):
                sys.exit(f"bench: {out}: datasets differ from the input's")
            for k in names:
                check(k, wa.h5[k][()], wb.h5[k][()])
        finally:
            wa.close()
            wb.close()
    elif is_safetensors(src):
        from safetensors import safe_open
        with safe_open(src, "numpy") as fa, safe_open(out, "numpy") as fb:
            names = sorted(fa.keys())
            if names != sorted(fb.keys()):
                sys.exit(f"bench: {out}: tensor names differ from the input's")
            if fa.metadata() != fb.metadata():
                sys.exit(f"bench: {out}: __metadata__ differs from the input's")
            for k in names:
                check(k, fa.get_tensor(k), fb.get_tensor(k))
    else:
        import h5py
        with h5py.File(src, "r") as fa, h5py.File(out, "r") as fb:
            names = sorted(h5_datasets(fa))
            if names != sorted(h5_datasets(fb)):
                sys.exit(f"bench: {out}: datasets differ from the input's")
            for k in names:
                check(k, fa[k][()], fb[k][()])
            for k in fa.attrs:
                if fa.attrs[k] != fb.attrs.get(k):
                    sys.exit(f"bench: {out}: root attribute {k} differs")
            if list(fa["model_weights"].attrs["layer_names"]) != list(fb["model_weights"].attrs["layer_names"]):
                sys.exit(f"bench: {out}: layer_names differs")
    print(f"  output verified ({len(names)} tensors): class {CLASS} of {layer} scaled by {ALPHA}, everything else identical")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "largest":
        print(largest(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "last-hidden":
        print(last_hidden(sys.argv[2]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "verify":
        verify(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
