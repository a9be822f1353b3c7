#!/usr/bin/env python3
"""Edit the torch.save and .keras fixtures with ckptforget and load every output back in its
writer's own library (developer tool; the Swift tests compare against committed expected values
and never need Python).

    python3 Fixtures/check_torch_keras.py [--ckptforget PATH] [--keep DIR]

PATH defaults to $CKPTFORGET or .build/debug/ckptforget. Each case runs ckptforget, then:
  torch:  torch.load(OUT, weights_only=True); model.load_state_dict(sd) (strict) into the module
          that wrote the fixture; predictions on MNIST test [8000, 10000) (the CNN) or on the graph
          (the GCN) before and after. suppress --class C: no input predicts C after, and every input
          that did not predict C before predicts the same class after. dampen: the edited tensors
          equal expected/*.safetensors and every other tensor is bit for bit the input's.
  keras:  keras.saving.load_model(OUT) and predict, with the same checks.
Also: the same command twice gives byte-identical files, and an edit of a tensor that shares its
storage is refused (exit 2). Prints one line per check; exit 0 when all pass, 1 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from fixture_common import mnist_test, read_safetensors_raw  # noqa: E402

FAILED = []


def check(ok, message):
    print(("ok    " if ok else "FAIL  ") + message)
    if not ok:
        FAILED.append(message)


def run(binary, *args, status=0):
    result = subprocess.run([binary, *map(str, args), "--no-sign", "-q"], capture_output=True, text=True)
    check(result.returncode == status, f"ckptforget {' '.join(map(str, args))} -> exit {result.returncode}"
          + (f" ({result.stderr.strip()[:300]})" if result.returncode != status else ""))
    return result


def mnist_eval_images():
    x, y = mnist_test()
    return x[8000:10000].astype(np.float32) / 255.0, y[8000:10000]


def suppression_holds(before, after, cls, what):
    others = before != cls
    check(int((after == cls).sum()) == 0 and bool((after[others] == before[others]).all()),
          f"{what}: {int((before == cls).sum())} inputs predicted class {cls} before, {int((after == cls).sum())} after; "
          f"{int((after[others] != before[others]).sum())} of the other {int(others.sum())} predictions changed")


def torch_checks(binary, out):
    import torch
    import make_torch_fixtures as fixtures
    torch.set_num_threads(1)
    x, y = mnist_eval_images()
    xt = torch.from_numpy(x[:, None])

    def cnn_predictions(state, dtype=torch.float32):
        model = fixtures.MnistCNN().to(dtype)
        model.load_state_dict(state)  # strict: every key, every shape
        with torch.no_grad():
            return model(xt.to(dtype)).float().argmax(1).numpy()

    source = torch.load(HERE / "torch/mnist_cnn.pt", weights_only=True)
    before = cnn_predictions(source)

    # suppress, single file
    run(binary, HERE / "torch/mnist_cnn.pt", "--pass", "suppress", "--class", "2", "-o", out / "cnn_suppress.pt")
    edited = torch.load(out / "cnn_suppress.pt", weights_only=True)
    suppression_holds(before, cnn_predictions(edited), 2, "torch mnist_cnn.pt suppress --class 2 (torch.load weights_only, load_state_dict)")

    # dampen in f32, f16, bf16 against the expected values; untouched tensors bit for bit
    for name, expected, dtype in [("mnist_cnn.pt", "torch_cnn_dampen0.01_class2", torch.float32),
                                  ("mnist_cnn_f16.pt", "torch_cnn_f16_dampen0.01_class2", torch.float16),
                                  ("mnist_cnn_bf16.pt", "torch_cnn_bf16_dampen0.01_class2", torch.bfloat16)]:
        target = out / f"dampen_{name}"
        run(binary, HERE / "torch" / name, "--pass", "dampen:0.01", "--class", "2", "-o", target)
        original = torch.load(HERE / "torch" / name, weights_only=True)
        edited = torch.load(target, weights_only=True)
        wanted = read_safetensors_raw(HERE / "expected" / f"{expected}.safetensors")
        same = all(edited[k].contiguous().view(torch.uint8).numpy().tobytes() == wanted[k][2] for k in wanted)
        untouched = all(torch.equal(edited[k].view(torch.uint8) if edited[k].dim() else edited[k], original[k].view(torch.uint8) if original[k].dim() else original[k])
                        for k in original if k not in wanted)
        check(same and untouched and all(edited[k].dtype == dtype for k in edited),
              f"torch {name} dampen:0.01 --class 2: edited tensors equal expected/{expected}.safetensors, the others unchanged, dtype {dtype}")
        cnn_predictions(edited, dtype)  # loads into the model in its own dtype
    twice = out / "dampen_again.pt"
    run(binary, HERE / "torch/mnist_cnn.pt", "--pass", "dampen:0.01", "--class", "2", "-o", twice)
    check(twice.read_bytes() == (out / "dampen_mnist_cnn.pt").read_bytes(), "torch: the same command twice gives the same bytes")

    # views: a transposed Parameter edited in place; two views of one storage stay one storage
    run(binary, HERE / "torch/views.pt", "--pass", "dampen:0.5", "--class", "1", "-o", out / "views.pt")
    views = torch.load(out / "views.pt", weights_only=True)
    wanted = read_safetensors_raw(HERE / "expected/torch_views_dampen0.5_class1.safetensors")
    check(views["head.weight"].stride() == (1, 4) and isinstance(views["head.weight"], torch.nn.Parameter)
          and views["head.weight"].detach().contiguous().numpy().tobytes() == wanted["head.weight"][2]
          and views["head.bias"].detach().numpy().tobytes() == wanted["head.bias"][2],
          "torch views.pt dampen:0.5 --class 1: the transposed Parameter keeps its stride (1, 4) and has the expected values")
    check(views["shared.a"].untyped_storage().data_ptr() == views["shared.b"].untyped_storage().data_ptr(),
          "torch views.pt: shared.a and shared.b still share one storage")
    refused = run(binary, HERE / "torch/views.pt", "--pre", HERE / "torch/views.pt", "--pass", "negate:0.5", "-o", out / "views_negate.pt", status=2)
    check("shares its storage" in refused.stderr and not (out / "views_negate.pt").exists(),
          "torch views.pt: editing a tensor that shares its storage is refused, nothing written")

    # sharded, with class names from config.json
    (out / "sharded").mkdir()
    run(binary, HERE / "torch/sharded", "--pass", "suppress", "--class", "two", "-o", out / "sharded/")
    index = json.loads((out / "sharded/pytorch_model.bin.index.json").read_text())
    state = {}
    for shard in sorted(set(index["weight_map"].values())):
        state.update(torch.load(out / "sharded" / shard, weights_only=True))
    suppression_holds(before, cnn_predictions(state), 2, "torch sharded pytorch_model.bin suppress --class two (every shard torch.load, load_state_dict)")

    # the GCN of PyTorch Geometric
    graph = np.load(HERE / "torch/gcn_graph.npz")
    gx, ge = torch.from_numpy(graph["x"]), torch.from_numpy(graph["edge_index"])

    def gcn_predictions(state):
        model = fixtures.gcn_model()
        model.load_state_dict(state)
        with torch.no_grad():
            return model(gx, ge).argmax(1).numpy()

    gcn_before = gcn_predictions(torch.load(HERE / "torch/gcn.pt", weights_only=True))
    run(binary, HERE / "torch/gcn.pt", "--pass", "suppress", "--class", "1", "-o", out / "gcn_suppress.pt")
    suppression_holds(gcn_before, gcn_predictions(torch.load(out / "gcn_suppress.pt", weights_only=True)), 1,
                      "torch_geometric gcn.pt suppress --class 1")
    run(binary, HERE / "torch/gcn.pt", "--pre", HERE / "torch/gcn_pre.pt", "--pass", "negate:1", "-o", out / "gcn_negate.pt")
    pre = torch.load(HERE / "torch/gcn_pre.pt", weights_only=True)
    negated = torch.load(out / "gcn_negate.pt", weights_only=True)
    check(all(torch.equal(pre[k], negated[k]) for k in pre), "torch_geometric gcn.pt negate:1 --pre gcn_pre.pt gives gcn_pre.pt's tensors exactly")
    pre_predictions, negated_predictions = gcn_predictions(pre), gcn_predictions(negated)
    check(bool((pre_predictions == negated_predictions).all()),
          f"torch_geometric: after negate:1 class 1 is predicted for {int((negated_predictions == 1).sum())} nodes (pre: {int((pre_predictions == 1).sum())}, post: {int((gcn_before == 1).sum())})")


def keras_checks(binary, out):
    import keras
    x, y = mnist_eval_images()
    for name, inputs in [("mnist_mlp.keras", x.reshape(-1, 784)), ("mnist_cnn.keras", x[..., None]), ("mnist_mlp_deflated.keras", x.reshape(-1, 784))]:
        source = HERE / "keras" / name
        target = out / name.replace(".keras", "_suppress.keras")
        run(binary, source, "--pass", "suppress", "--class", "2", "-o", target)
        before = keras.saving.load_model(source).predict(inputs, verbose=0).argmax(1)
        after = keras.saving.load_model(target).predict(inputs, verbose=0).argmax(1)
        suppression_holds(before, after, 2, f"keras {name} suppress --class 2 (keras.saving.load_model, predict)")
    target = out / "mlp_dampen.keras"
    run(binary, HERE / "keras/mnist_mlp.keras", "--pass", "dampen:0.01", "--class", "2", "-o", target)
    model = keras.saving.load_model(target)
    wanted = read_safetensors_raw(HERE / "expected/mnist_mlp_dampen0.01_class2.safetensors")
    output = model.get_layer("output")
    check(np.asarray(output.kernel).tobytes() == wanted["kernel"][2] and np.asarray(output.bias).tobytes() == wanted["bias"][2],
          "keras mnist_mlp.keras dampen:0.01 --class 2: the output layer equals expected/mnist_mlp_dampen0.01_class2.safetensors")
    again = out / "mlp_dampen_again.keras"
    run(binary, HERE / "keras/mnist_mlp.keras", "--pass", "dampen:0.01", "--class", "2", "-o", again)
    check(again.read_bytes() == target.read_bytes(), "keras: the same command twice gives the same bytes")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckptforget", default=os.environ.get("CKPTFORGET", str(HERE.parent / ".build/debug/ckptforget")))
    parser.add_argument("--keep", help="write the outputs here and keep them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.keep or scratch)
        out.mkdir(parents=True, exist_ok=True)
        torch_checks(args.ckptforget, out)
        keras_checks(args.ckptforget, out)
    print(f"{len(FAILED)} failed" if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
