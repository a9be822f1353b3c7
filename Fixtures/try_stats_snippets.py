#!/usr/bin/env python3
"""Runs the PyTorch snippet of Fixtures/STATS.md as a user would, and checks its statistics file
against ckptforget's own (a developer check, not part of `make test`).

    python3 Fixtures/try_stats_snippets.py [--ckptforget .build/debug/ckptforget]

Needs torch, numpy, h5py, safetensors. The model is the PyTorch twin of Fixtures/keras/mnist_mlp.h5
(Fixtures/safetensors/mlp.safetensors: fc1 784->32 relu, fc2 32->10), the data the 200 MNIST test
images of Fixtures/engine/test_data.h5 scaled by 1/255, forget = class 2. The snippet writes
stats.h5 with safetensors names; ckptforget stats writes the same diagonals for the Keras file;
they must agree (kernels transposed), and ckptforget must accept the snippet's file for ssd.
"""
import argparse
import re
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch
from safetensors.numpy import load_file

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def snippet() -> str:
    text = (HERE / "STATS.md").read_text()
    section = text[text.index("## PyTorch"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckptforget", default=str(ROOT / ".build/debug/ckptforget"))
    tool = parser.parse_args().ckptforget

    weights = load_file(str(HERE / "safetensors/mlp.safetensors"))
    model = torch.nn.Module()
    model.fc1 = torch.nn.Linear(784, 32)
    model.fc2 = torch.nn.Linear(32, 10)
    model.forward = lambda x: model.fc2(torch.relu(model.fc1(x)))
    with torch.no_grad():
        for name in ("fc1", "fc2"):
            getattr(model, name).weight.copy_(torch.from_numpy(weights[f"{name}.weight"]))
            getattr(model, name).bias.copy_(torch.from_numpy(weights[f"{name}.bias"]))
    with h5py.File(HERE / "engine/test_data.h5") as f:
        x = torch.from_numpy(f["x_flat"][:].astype(np.float32) / 255)
        y = torch.from_numpy(f["labels"][:].astype(np.int64))

    work = Path(tempfile.mkdtemp(prefix="ckptforget-snippet-"))
    import os
    os.chdir(work)
    exec(snippet(), {"model": model, "x": x, "y": y})      # writes ./stats.h5, as the user would

    subprocess.run([tool, "stats", str(HERE / "keras/mnist_mlp.h5"), "--data", str(HERE / "engine/test_data.h5") + ":x_flat,labels",
                    "--scale", "1/255", "-c", "2", "-o", str(work / "ours.h5")], check=True)
    keras = {"fc1.weight": "model_weights/hidden/mnist_mlp/hidden/kernel", "fc1.bias": "model_weights/hidden/mnist_mlp/hidden/bias",
             "fc2.weight": "model_weights/output/mnist_mlp/output/kernel", "fc2.bias": "model_weights/output/mnist_mlp/output/bias"}
    worst = 0.0
    with h5py.File(work / "stats.h5") as theirs, h5py.File(work / "ours.h5") as ours:
        for split in ("forget", "retain", "full"):
            for torch_name, keras_name in keras.items():
                a = theirs[f"fisher/{split}/{torch_name}"][:].astype(np.float64)
                b = ours[f"fisher/{split}/{keras_name}"][:].astype(np.float64)
                b = b.T if b.ndim == 2 else b
                worst = max(worst, float(np.max(np.abs(a - b) / (np.abs(b) + 1e-3 * np.abs(b).max() + 1e-30))))
    print(f"PyTorch snippet vs ckptforget stats: worst relative difference {worst:.2e}")
    assert worst < 1e-4, worst

    out = work / "ssd.safetensors"
    subprocess.run([tool, str(HERE / "safetensors/mlp.safetensors"), "--stats", str(work / "stats.h5"),
                    "-p", "ssd:alpha=5", "--no-sign", "-o", str(out)], check=True)
    print(f"ckptforget used the snippet's statistics file for ssd: wrote {out}")


if __name__ == "__main__":
    main()
