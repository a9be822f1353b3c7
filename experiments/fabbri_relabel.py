#!/usr/bin/env python3
"""Forget class 6 and relearn it as class 3 with freezing and a modified loss (Fabbri, "Selective
Unlearning in Neural Networks: Forgetting and Relearning Classes", 2024; METHODS.md section 3),
reproduced with ckptforget.

    KERAS_BACKEND=jax python3 experiments/fabbri_relabel.py [--mnist DIR] [--bin CKPTFORGET] [--out DIR]

The paper's CNN, in Keras: Conv2D(32, 3x3, pad 1) -> ReLU -> MaxPool 2 -> Conv2D(64, 3x3, pad 1) ->
ReLU -> MaxPool 2 -> Dense 3136 -> 128 -> Dense 128 -> 64 -> Dense 64 -> 10 (softmax; the paper's
log-softmax with NLL is the same loss). Trained with Adam 1e-3, batch 64, 3 epochs (the paper's
epochs are not in METHODS.md), seed 0, on the 8,000 training images (common.py).

The unlearning is one ckptforget command:

    ckptforget original.h5 --data train.h5 --scale 1/255 --class 6 \\
        --pass finetune:freeze=auto,relabel=6:3 -o relabel.h5

finetune with freeze=auto trains only the elements whose Fisher diagonal on the forget data (class
6) exceeds the one on the retain data (the paper's step 1-2: the weights relevant to class 6,
everything else frozen) and descends cross-entropy on retain batches plus cross-entropy steering
class-6 samples toward label 3 (the paper's modified loss), one epoch of the retain split, Adam 1e-3.

Printed: class 6, class 3 and overall accuracy on the 2,000 held-out images before and after, beside
the paper's 99.27 % -> 0.00 %, 97.43 % -> 99.01 %, 98.57 % -> 89.36 %, and both confusion matrices.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import common as c  # noqa: E402

FORGET, TO = 6, 3
SPEC = f"finetune:freeze=auto,relabel={FORGET}:{TO}"
PAPER = {"class 6": (0.9927, 0.0), "class 3": (0.9743, 0.9901), "overall": (0.9857, 0.8936)}


def fabbri_cnn():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Flatten(name="flatten"),  # 7 x 7 x 64 = 3136
        layers.Dense(128, activation="relu", name="fc1"),
        layers.Dense(64, activation="relu", name="fc2"),
        layers.Dense(10, activation="softmax", name="fc3"),
    ], name="fabbri_cnn")


def figures(s):
    a = s["all"]
    return {"class 6": a["recall"][FORGET], "class 3": a["recall"][TO], "overall": a["accuracy"]}


def main():
    args = c.arguments(__doc__.split("\n")[0])
    t0 = c.header(args, "Forget class 6 and relearn it as 3, freezing and a modified loss (Fabbri 2024)")
    c.log(c.SPLIT_TEXT)
    x, y = c.mnist(args)
    w = args.work
    original = c.keras_train(args, fabbri_cnn, x[:c.N_TRAIN], y[:c.N_TRAIN], w / "original.h5", epochs=3, batch=64)
    target = ["--class", str(FORGET)]
    run = c.forget(args, original, w / "relabel.h5", [SPEC], target)
    details = run["passes"][0].get("details") or {}
    before, after = c.evaluate(args, original, target), c.evaluate(args, w / "relabel.h5", target)
    report = c.report(args, w / "relabel.h5", original, target, "fabbri_relabel")

    fb, fa = figures(before), figures(after)
    n = before["all"]["samples"]
    counts = [sum(r) for r in before["all"]["confusion"]]
    c.log(f"\n## Held-out images ({n:,}: {counts[FORGET]} of class 6, {counts[TO]} of class 3); paper: "
          "its CNN on the 10,000 MNIST test images\n")
    rows = []
    for k in ("class 6", "class 3", "overall"):
        p0, p1 = PAPER[k]
        rows.append([f"{k} accuracy", f"{c.pct(p0)} -> {c.pct(p1)}", f"{c.pct(fb[k])} -> {c.pct(fa[k])}"])
    c.table(["", "paper (Fabbri 2024) %", "ckptforget here %"], rows)
    moved = after["all"]["confusion"][FORGET][TO]
    c.log(f"\nclass-6 held-out images predicted as 3 after: {moved} of {counts[FORGET]}; "
          f"elements changed: {c.changed(run):,}"
          + (f"; share trained: {details['trained_share']:.4f}" if "trained_share" in details else ""))
    c.log(f"accuracy on the other eight classes (not 3, not 6): "
          f"{c.pct(others(before))} -> {c.pct(others(after))} %")
    c.confusion("Confusion matrix before", before["all"]["confusion"], {FORGET})
    c.confusion(f"Confusion matrix after {SPEC}", after["all"]["confusion"], {FORGET})
    c.log(f"\nreport: {report}")
    c.footer(t0)


def others(s):
    m = s["all"]["confusion"]
    keep = [k for k in range(10) if k not in (FORGET, TO)]
    return sum(m[k][k] for k in keep) / sum(sum(m[k]) for k in keep)


if __name__ == "__main__":
    main()
