#!/usr/bin/env python3
"""Synaptic dampening of class 2 in an MNIST CNN (slides "Machine Unlearning via Synaptic
Dampening"; METHODS.md section 2), reproduced with ckptforget.

    KERAS_BACKEND=jax python3 experiments/slides_dampening.py [--mnist DIR] [--bin CKPTFORGET] [--out DIR]

The slides' setup: a CNN trained on MNIST for 2 epochs (Adam, categorical cross-entropy, about 98 %
test accuracy); the output layer's weights and bias of class 2 multiplied by alpha = 0.01. No
retraining, no gradients. They show the confusion matrix before and after, class-wise accuracy and
forget/retain accuracy bars.

Here: the Keras example MNIST CNN (the slides give no layer list): Conv2D(32, 3, relu) -> MaxPool ->
Conv2D(64, 3, relu) -> MaxPool -> Flatten -> Dropout(0.5) -> Dense(10, softmax), 2 epochs, Adam 1e-3,
batch 128, seed 0, on the 8,000 training images (common.py). Then three ckptforget runs on it:

  dampen:0.01 --class 2                 the slides' edit, exactly
  dampen:0.01,bias=floor --class 2      the same with the bias set below every other logit
                                        (ckptforget's answer to the negative-logit trap, man page)
  ssd:alpha=3,lambda=0.01 --class 2     Selective Synaptic Dampening with Fisher diagonals computed
                                        from the training data (--data). The setting came from a
                                        hand search on the TRAINING images (README); ssd:alpha=auto
                                        found no setting meeting forget_acc<=0.01,retain_drop<=0.01

and `ckptforget eval` of each on the 2,000 held-out images, `ckptforget report` of each.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import common as c  # noqa: E402

FORGET = 2
PAPER_TEST_ACC = "about 98"  # the only figure the slides state (METHODS.md section 2)


def build():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(64, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dropout(0.5, name="dropout"),
        layers.Dense(10, activation="softmax", name="output"),
    ], name="slides_cnn")


def main():
    args = c.arguments(__doc__.split("\n")[0])
    t0 = c.header(args, "Synaptic dampening of class 2 in an MNIST CNN (slides)")
    c.log(c.SPLIT_TEXT)
    x, y = c.mnist(args)
    w = args.work
    original = c.keras_train(args, build, x[:c.N_TRAIN], y[:c.N_TRAIN], w / "original.h5", epochs=2, batch=128)
    target = ["--class", str(FORGET)]
    # dampen needs no data; ssd computes the Fisher diagonals of the training data (exact, the default)
    runs = [("dampen:0.01 (the slides)", "dampen", ["dampen:0.01"], False),
            ("dampen:0.01,bias=floor", "dampen_floor", ["dampen:0.01,bias=floor"], True),
            ("ssd:alpha=3,lambda=0.01", "ssd", ["ssd:alpha=3,lambda=0.01"], True)]
    results = {"original": (None, c.evaluate(args, original, target))}
    for label, name, passes, data in runs:
        out = w / f"{name}.h5"
        run = c.forget(args, original, out, passes, target, with_data=data)
        results[label] = (run, c.evaluate(args, out, target))
        c.report(args, out, original, target, f"slides_dampening-{name}")

    c.log(f"\n## Held-out images ({results['original'][1]['all']['samples']:,}; class {FORGET}: "
          f"{results['original'][1]['forget']['samples']})\n")
    rows = [["paper (slides): original", f"{PAPER_TEST_ACC}", "-", "-", "-", "-"]]
    for label, (run, s) in results.items():
        a = s["all"]
        share = sum(r[FORGET] for r in a["confusion"]) / a["samples"]
        rows.append([label, c.pct(a["accuracy"]), c.pct(s["forget"]["accuracy"]), c.pct(s["retain"]["accuracy"]),
                     c.pct(share), "-" if run is None else c.changed(run)])
    c.table(["model", "test acc %", f"forget acc (class {FORGET}) %", "retain acc %",
             f"predicted as {FORGET} %", "elements changed"], rows)
    c.log("\nThe slides state only the original's test accuracy (about 98 %); they show the rest as charts.")

    before, after = results["original"][1], results["dampen:0.01 (the slides)"][1]
    c.confusion("Confusion matrix before", before["all"]["confusion"], {FORGET})
    c.confusion("Confusion matrix after dampen:0.01", after["all"]["confusion"], {FORGET})
    c.log("\nForget / retain accuracy (held out):")
    bar_rows = []
    for label, (_, s) in results.items():
        bar_rows += [(f"{label}: forget", s["forget"]["accuracy"]), (f"{label}: retain", s["retain"]["accuracy"])]
    c.bars(bar_rows)
    c.log("\nClass-wise accuracy (recall) before -> after dampen:0.01: " + ", ".join(
        f"{k}: {c.pct(b)} -> {c.pct(a)}" for k, (b, a) in enumerate(zip(before["all"]["recall"], after["all"]["recall"]))))
    c.log(f"\nreports: {', '.join(str(p.name) for p in sorted(args.out.glob('slides_dampening-*.html')))} in {args.out}")
    c.footer(t0)


if __name__ == "__main__":
    main()
