#!/usr/bin/env python3
"""PyTorch state dicts written by torch.save (and one by PyTorch Geometric's modules), and the
expected results of editing them.

    python3 Fixtures/make_torch_fixtures.py          # from anywhere; writes next to this script

Needs torch (CPU wheel) and torch_geometric; reads MNIST test images from <repo>/../shared/data/mnist
(override: MNIST_DIR). CPU, one thread, fixed seeds, deterministic algorithms: two runs give
byte-identical files (torch.save's own bytes are a function of the tensors; its
`.data/serialization_id` is derived from the records, not random). Prints the sha256 and size of
every file written.

Writes:
  torch/mnist_cnn.pt            state dict of MnistCNN (below) after 2 epochs on the retain set
                                (label != 2) of MNIST test [0, 8000) and 1 epoch on all of it:
                                conv.weight (4,1,3,3), conv.bias (4,), fc.weight (10,676), fc.bias (10,)
  torch/mnist_cnn_pre.pt        the same model before its last epoch (class 2 never seen)
  torch/mnist_cnn_f16.pt        mnist_cnn.pt after model.half()
  torch/mnist_cnn_bf16.pt       mnist_cnn.pt after model.bfloat16()
  torch/views.pt                a hand-made state dict: head.weight = Parameter(W.t()) (4,6),
                                stride (1,4), not contiguous; head.bias = Parameter (4,);
                                shared.a = base[0:6] and shared.b = base[6:12].view(2,3), two
                                views of one storage; steps = int64 scalar
  torch/sharded/                mnist_cnn.pt as transformers shards it: pytorch_model-0000k-of-00002.bin
                                (conv.* then fc.*), pytorch_model.bin.index.json, and a config.json
                                with id2label = digit names ("zero" ... "nine")
  torch/gcn.pt, torch/gcn_pre.pt  a two-layer GCN of torch_geometric.nn.GCNConv (8 -> 16 -> 3) on a
                                synthetic 3-class graph of 60 nodes (gcn_graph.npz): pre is trained
                                without the labels of class 1, post (gcn.pt) 100 more epochs with them;
                                keys conv1.bias, conv1.lin.weight (16,8), conv2.bias, conv2.lin.weight (3,16)
  torch/gcn_graph.npz           x (60,8) f32, edge_index (2,E) i64, y (60,) i64
  expected/torch_cnn_dampen0.01_class2.safetensors       fc.weight, fc.bias after dampen:0.01 --class 2
  expected/torch_cnn_f16_dampen0.01_class2.safetensors   the same from the f16 file (F16)
  expected/torch_cnn_bf16_dampen0.01_class2.safetensors  the same from the bf16 file (BF16)
  expected/torch_views_dampen0.5_class1.safetensors      head.weight (4,6), head.bias after dampen:0.5 --class 1
  expected/gcn_suppress_class1.safetensors               conv2.lin.weight, conv2.bias after suppress --class 1
Expected tensors are computed in float64 from the files read back, rounded once to the stored dtype.
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fixture_common import mnist_test  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


class MnistCNN(nn.Module):
    """Conv2d(1, 4, 3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(676, 10)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 13 * 13, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.max_pool2d(torch.relu(self.conv(x)), 2), 1))


def gcn_model():
    from torch_geometric.nn import GCNConv

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = GCNConv(8, 16)
            self.conv2 = GCNConv(16, 3)

        def forward(self, x, edge_index):
            return self.conv2(torch.relu(self.conv1(x, edge_index)), edge_index)

    return GCN()


def mnist_images(lo, hi):
    x, y = mnist_test()
    return torch.from_numpy(x[lo:hi].astype(np.float32)[:, None] / 255.0), torch.from_numpy(y[lo:hi])


def train(model, x, y, epochs, seed):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()


def synthetic_graph():
    """60 nodes in 3 classes of 20; features = class mean + noise; edges mostly within a class."""
    rng = np.random.default_rng(7)
    y = np.repeat(np.arange(3), 20)
    means = rng.normal(size=(3, 8))
    x = (means[y] + rng.normal(scale=1.2, size=(60, 8))).astype(np.float32)
    edges = set()
    while len(edges) < 240:
        a, b = rng.integers(0, 60, size=2)
        if a != b and (y[a] == y[b] or rng.random() < 0.15):
            edges.add((int(a), int(b)))
            edges.add((int(b), int(a)))
    edge_index = np.array(sorted(edges), dtype=np.int64).T
    return x, edge_index, y


def bf16_bits(values_f64):
    """float64 -> float32 (RNE) -> bfloat16 bits (RNE), as FloatCodec does."""
    b = values_f64.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16).astype(np.uint16)


def save_expected(path, tensors, description):
    """tensors: {name: (dtype tag, numpy array)}; BF16 arrays are uint16 bit patterns, written with
    safetensors.flax as jax bfloat16 (safetensors.numpy has no bfloat16), as make_fixtures.py does."""
    if any(tag == "BF16" for tag, _ in tensors.values()):
        import jax.numpy as jnp
        import ml_dtypes
        import safetensors.flax
        arrays = {name: jnp.asarray(array.view(ml_dtypes.bfloat16) if tag == "BF16" else array) for name, (tag, array) in tensors.items()}
        safetensors.flax.save_file(arrays, str(path), metadata={"expected": description})
    else:
        import safetensors.numpy
        safetensors.numpy.save_file({name: np.ascontiguousarray(array) for name, (_, array) in tensors.items()}, str(path),
                                    metadata={"expected": description})


def dampened_rows(weight, bias, cls, alpha):
    w, b = weight.astype(np.float64), bias.astype(np.float64)
    w[cls] *= alpha
    b[cls] *= alpha
    return w, b


def main():
    out = HERE / "torch"
    expected = HERE / "expected"
    (out / "sharded").mkdir(parents=True, exist_ok=True)
    written = []

    def saved(path):
        written.append(path)
        return path

    # The CNN: pre without class 2, post with it.
    torch.manual_seed(0)
    x, y = mnist_images(0, 8000)
    model = MnistCNN()
    train(model, x[y != 2], y[y != 2], epochs=2, seed=1)
    torch.save(model.state_dict(), saved(out / "mnist_cnn_pre.pt"))
    train(model, x, y, epochs=1, seed=2)
    torch.save(model.state_dict(), saved(out / "mnist_cnn.pt"))
    torch.save({k: v.half() for k, v in model.state_dict().items()}, saved(out / "mnist_cnn_f16.pt"))
    torch.save({k: v.bfloat16() for k, v in model.state_dict().items()}, saved(out / "mnist_cnn_bf16.pt"))
    tx, ty = mnist_images(8000, 10000)
    with torch.no_grad():
        predicted = model(tx).argmax(1)
    print(f"mnist_cnn: accuracy {float((predicted == ty).float().mean()):.4f}, class 2 {float((predicted[ty == 2] == 2).float().mean()):.4f}")

    # Sharded as transformers writes pytorch_model.bin shards.
    state = model.state_dict()
    shards = {"pytorch_model-00001-of-00002.bin": ["conv.weight", "conv.bias"], "pytorch_model-00002-of-00002.bin": ["fc.weight", "fc.bias"]}
    for shard, names in shards.items():
        torch.save({n: state[n].contiguous() for n in names}, saved(out / "sharded" / shard))
    index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in state.values())},
             "weight_map": {n: shard for shard, names in shards.items() for n in names}}
    saved(out / "sharded" / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    digits = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    config = {"architectures": ["MnistCNN"], "id2label": {str(i): d for i, d in enumerate(digits)},
              "label2id": {d: i for i, d in enumerate(digits)}, "num_labels": 10}
    saved(out / "sharded" / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    # Views, a Parameter, a shared storage.
    g = torch.Generator().manual_seed(3)
    w = torch.randn(6, 4, generator=g)
    base = torch.arange(12, dtype=torch.float32) / 4
    views = {
        "head.weight": nn.Parameter(w.t()),
        "head.bias": nn.Parameter(torch.randn(4, generator=g)),
        "shared.a": base[0:6],
        "shared.b": base[6:12].view(2, 3),
        "steps": torch.tensor(17, dtype=torch.int64),
    }
    assert not views["head.weight"].is_contiguous()
    torch.save(views, saved(out / "views.pt"))

    # The GCN, written by PyTorch Geometric's modules.
    gx, edge_index, gy = synthetic_graph()
    np.savez(saved(out / "gcn_graph.npz"), x=gx, edge_index=edge_index, y=gy)
    torch.manual_seed(5)
    gcn = gcn_model()
    xt, et, yt = torch.from_numpy(gx), torch.from_numpy(edge_index), torch.from_numpy(gy)
    optimizer = torch.optim.Adam(gcn.parameters(), lr=0.01)
    for step in range(200):
        mask = yt != 1 if step < 100 else torch.ones_like(yt, dtype=torch.bool)
        optimizer.zero_grad()
        nn.functional.cross_entropy(gcn(xt, et)[mask], yt[mask]).backward()
        optimizer.step()
        if step == 99:
            torch.save(gcn.state_dict(), saved(out / "gcn_pre.pt"))
    torch.save(gcn.state_dict(), saved(out / "gcn.pt"))
    with torch.no_grad():
        gp = gcn(xt, et).argmax(1)
    print(f"gcn: accuracy {float((gp == yt).float().mean()):.4f}, class 1 {float((gp[yt == 1] == 1).float().mean()):.4f}")

    # Expected results, from the files read back.
    sd = torch.load(out / "mnist_cnn.pt", weights_only=True)
    wf, bf = dampened_rows(sd["fc.weight"].numpy(), sd["fc.bias"].numpy(), 2, 0.01)
    save_expected(saved(expected / "torch_cnn_dampen0.01_class2.safetensors"),
                  {"fc.weight": ("F32", wf.astype(np.float32)), "fc.bias": ("F32", bf.astype(np.float32))},
                  "torch/mnist_cnn.pt; dampen:0.01 --class 2; row 2 of fc.weight and fc.bias times 0.01 in float64, rounded to f32")
    sd = torch.load(out / "mnist_cnn_f16.pt", weights_only=True)
    wf, bf = dampened_rows(sd["fc.weight"].float().numpy(), sd["fc.bias"].float().numpy(), 2, 0.01)
    save_expected(saved(expected / "torch_cnn_f16_dampen0.01_class2.safetensors"),
                  {"fc.weight": ("F16", wf.astype(np.float16)), "fc.bias": ("F16", bf.astype(np.float16))},
                  "torch/mnist_cnn_f16.pt; dampen:0.01 --class 2; float64 product rounded once to f16")
    sd = torch.load(out / "mnist_cnn_bf16.pt", weights_only=True)
    wf, bf = dampened_rows(sd["fc.weight"].float().numpy(), sd["fc.bias"].float().numpy(), 2, 0.01)
    save_expected(saved(expected / "torch_cnn_bf16_dampen0.01_class2.safetensors"),
                  {"fc.weight": ("BF16", bf16_bits(wf)), "fc.bias": ("BF16", bf16_bits(bf))},
                  "torch/mnist_cnn_bf16.pt; dampen:0.01 --class 2; float64 product -> f32 -> bf16 (RNE)")
    sd = torch.load(out / "views.pt", weights_only=True)
    wv, bv = dampened_rows(sd["head.weight"].detach().numpy(), sd["head.bias"].detach().numpy(), 1, 0.5)
    save_expected(saved(expected / "torch_views_dampen0.5_class1.safetensors"),
                  {"head.weight": ("F32", wv.astype(np.float32)), "head.bias": ("F32", bv.astype(np.float32))},
                  "torch/views.pt; dampen:0.5 --class 1; row 1 of head.weight (a transposed view) and head.bias times 0.5")
    sd = torch.load(out / "gcn.pt", weights_only=True)
    wg, bg = sd["conv2.lin.weight"].numpy().copy(), sd["conv2.bias"].numpy().copy()
    wg[1] = 0
    bg[1] = -10000
    save_expected(saved(expected / "gcn_suppress_class1.safetensors"),
                  {"conv2.lin.weight": ("F32", wg), "conv2.bias": ("F32", bg)},
                  "torch/gcn.pt; suppress --class 1 (no data); row 1 of conv2.lin.weight = 0, conv2.bias[1] = -10000")

    print(f"torch {torch.__version__}, torch_geometric {__import__('torch_geometric').__version__}, numpy {np.__version__}")
    for path in written:
        data = Path(path).read_bytes()
        print(f"{hashlib.sha256(data).hexdigest()}  {len(data):7d}  {Path(path).relative_to(HERE)}")


if __name__ == "__main__":
    main()
