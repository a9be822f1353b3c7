#!/usr/bin/env python3
"""Zeroing and randomising the forget class's weights in a fully connected network (a repository
README, "Machine Unlearning for Neural Network"; METHODS.md section 5), reproduced with ckptforget.

    KERAS_BACKEND=jax python3 experiments/zero_randomize.py [--mnist DIR] [--bin CKPTFORGET] [--out DIR]

The README's method: forget a class in a fully connected network by setting the output weights that
serve it to zero, or to random values (one notebook each). Here: Dense(128, relu) -> Dense(10,
softmax) on the 784 pixels (the README's layer sizes are not in METHODS.md), Adam 1e-3, batch 64,
5 epochs, seed 0, on the 8,000 training images (common.py); forget class 2.

ckptforget's class passes do exactly these edits, on the output layer's class-2 column and bias:

  zero                      weights and bias set to 0 (the zeroing notebook)
  randomize:seed=0          weights and bias replaced by normal draws with the mean and standard
                            deviation of the layer's other units (the randomising notebook)

and, for comparison, the same two with bias=floor (the bias set below every other class's logit on
the training data), ckptforget's answer to the negative-logit trap: a class whose logit is moved to
about 0 can become MORE likely, as the other classes' logits are mostly negative (man page, Class
passes). The README itself notes that zeroing only the output layer may leave the class's influence
elsewhere; these passes never touch the hidden layer.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import common as c  # noqa: E402

FORGET = 2
RUNS = [("zero", "zero", False), ("randomize:seed=0", "randomize", False),
        ("zero:bias=floor", "zero_floor", True), ("randomize:seed=0,bias=floor", "randomize_floor", True)]


def fc():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((784,)),
        layers.Dense(128, activation="relu", name="hidden"),
        layers.Dense(10, activation="softmax", name="output"),
    ], name="fc_net")


def main():
    args = c.arguments(__doc__.split("\n")[0])
    t0 = c.header(args, "Zeroing and randomising the forget class's weights in a fully connected network")
    c.log(c.SPLIT_TEXT)
    x, y = c.mnist(args)
    w = args.work
    original = c.keras_train(args, fc, x[:c.N_TRAIN], y[:c.N_TRAIN], w / "original.h5", epochs=5, batch=64, flat=True)
    target = ["--class", str(FORGET)]
    rows = [("original", None, c.evaluate(args, original, target))]
    for spec, name, data in RUNS:
        out = w / f"{name}.h5"
        run = c.forget(args, original, out, [spec], target, with_data=data)
        rows.append((spec, run, c.evaluate(args, out, target)))
        if name in ("zero", "randomize"):
            c.report(args, out, original, target, f"zero_randomize-{name}")

    s0 = rows[0][2]
    c.log(f"\n## Held-out images ({s0['all']['samples']:,}; class {FORGET}: {s0['forget']['samples']})\n")
    body = []
    for label, run, s in rows:
        a = s["all"]
        share = sum(r[FORGET] for r in a["confusion"]) / a["samples"]
        body.append([label, c.pct(s["forget"]["accuracy"]), c.pct(s["retain"]["accuracy"]), c.pct(a["accuracy"]),
                     c.pct(share), f"{a['auc'][FORGET]:.4f}", "-" if run is None else c.changed(run)])
    c.table(["model", f"forget acc (class {FORGET}) %", "retain acc %", "test acc %", f"predicted as {FORGET} %",
             f"ROC AUC of class {FORGET}", "elements changed"], body)
    c.log("\nThe README states no figures (METHODS.md section 5): nothing to print beside them.")
    c.confusion("Confusion matrix after zero", rows[1][2]["all"]["confusion"], {FORGET})
    c.confusion("Confusion matrix after randomize:seed=0", rows[2][2]["all"]["confusion"], {FORGET})
    c.log(f"\nreports: {', '.join(p.name for p in sorted(args.out.glob('zero_randomize-*.html')))} in {args.out}")
    c.footer(t0)


if __name__ == "__main__":
    main()
