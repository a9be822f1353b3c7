#!/usr/bin/env python3
"""Full-parameter unlearning: gradient ascent and Fisher-based unlearning on a CNN and a dense
network (Milner, "Machine Unlearning Application for CNN, DNN and GNN", 2024; METHODS.md section 4),
reproduced with ckptforget.

    KERAS_BACKEND=jax python3 experiments/milner_full_param.py [--mnist DIR] [--bin CKPTFORGET] [--out DIR]

The preprint names the two techniques (first-order: gradient ascent on the forget data,
theta <- theta + eta * grad L_f; second-order: the diagonal Fisher information, as in Golatkar et
al.'s Fisher forgetting and in Selective Synaptic Dampening) but gives no model, data set or figure
in METHODS.md; so here, forgetting MNIST class 2 on the 8,000 training images (common.py):

  cnn  Conv2D(16, 3, relu, same) -> MaxPool -> Conv2D(32, 3, relu) -> MaxPool -> Flatten ->
       Dense(64, relu) -> Dense(10, softmax), 3 epochs
  dnn  Dense(256, relu) -> Dense(128, relu) -> Dense(10, softmax) on the 784 pixels, 5 epochs
  (both Adam 1e-3, batch 64, seed 0)

Each method is one ckptforget command on the trained model (every setting below is run and
reported; none is chosen on the held-out images):

  ascent:stop=forget_acc<=0.01              plain gradient ascent (SGD 0.01, batches of 32 forget
                                            samples, up to 100 steps, stopping once the forget
                                            split's training accuracy is <= 1 %)
  ascent:...,retain=W                       the "gradient difference" variant (ascent on forget
                                            batches, descent on retain batches), Adam
  fisher-noise:alpha=A                      Golatkar's Fisher forgetting: Gaussian noise with
                                            variance min(A / F_retain, 1000)
  ssd:alpha=A,lambda=L                      Selective Synaptic Dampening

The Fisher diagonals are computed once per model with `ckptforget stats` on the training data and
given to fisher-noise and ssd with --stats (the same edit as computing them from --data).
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import common as c  # noqa: E402

FORGET = 2
STOP = "stop=forget_acc<=0.01"
# Golatkar's noise: variance min(alpha / (F_retain + 1e-8), 1000); a parameter the retain data does not
# move at all (F = 0) gets variance alpha * 1e8, so alpha 1e-8 already adds noise of standard deviation 1
FISHER_NOISE = [(f"fisher-noise alpha={a}", [f"fisher-noise:alpha={a}"], "stats")
                for a in ("1e-12", "1e-11", "1e-10", "1e-9", "1e-8")]
REPORTED = ("ascent + retain (Adam)", "fisher-noise alpha=1e-10")
METHODS = {
    "cnn": [
        ("ascent (SGD, plain)", [f"ascent:{STOP}"], "data"),
        ("ascent + retain (Adam)", [f"ascent:steps=200,lr=0.0001,optimizer=adam,retain=1,{STOP}"], "data"),
        *FISHER_NOISE,
        ("ssd alpha=10, lambda=1 (defaults)", ["ssd"], "stats"),
        ("ssd alpha=1, lambda=0.1", ["ssd:alpha=1,lambda=0.1"], "stats"),
        ("ssd alpha=0.45, lambda=0.05", ["ssd:alpha=0.45,lambda=0.05"], "stats"),
    ],
    "dnn": [
        ("ascent (SGD, plain)", [f"ascent:{STOP}"], "data"),
        ("ascent + retain (Adam)", [f"ascent:steps=300,lr=0.001,optimizer=adam,retain=30,{STOP}"], "data"),
        *FISHER_NOISE,
        ("ssd alpha=10, lambda=1 (defaults)", ["ssd"], "stats"),
        ("ssd alpha=5, lambda=0.1", ["ssd:alpha=5,lambda=0.1"], "stats"),
    ],
}


def cnn():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu", padding="same", name="conv1"),
        layers.MaxPooling2D(name="pool1"),
        layers.Conv2D(32, 3, activation="relu", name="conv2"),
        layers.MaxPooling2D(name="pool2"),
        layers.Flatten(name="flatten"),
        layers.Dense(64, activation="relu", name="fc"),
        layers.Dense(10, activation="softmax", name="output"),
    ], name="milner_cnn")


def dnn():
    import keras
    from keras import layers

    return keras.Sequential([
        keras.Input((784,)),
        layers.Dense(256, activation="relu", name="fc1"),
        layers.Dense(128, activation="relu", name="fc2"),
        layers.Dense(10, activation="softmax", name="output"),
    ], name="milner_dnn")


def main():
    args = c.arguments(__doc__.split("\n")[0])
    t0 = c.header(args, "Gradient ascent and Fisher-based unlearning on a CNN and a dense network (Milner 2024)")
    c.log(c.SPLIT_TEXT)
    x, y = c.mnist(args)
    w = args.work
    target = ["--class", str(FORGET)]
    tables = {}
    for arch, build, epochs, flat in (("cnn", cnn, 3, False), ("dnn", dnn, 5, True)):
        c.log(f"\n## {arch}")
        original = c.keras_train(args, build, x[:c.N_TRAIN], y[:c.N_TRAIN], w / f"{arch}.h5",
                                 epochs=epochs, batch=64, flat=flat)
        stats = w / f"{arch}.stats.h5"
        c.cf(args, "stats", original, "--data", args.train, "--scale", "1/255", *target, "-o", stats)
        rows = [("original", None, c.evaluate(args, original, target))]
        for i, (label, passes, needs) in enumerate(METHODS[arch]):
            out = w / f"{arch}-{i}.h5"
            # the --stats passes take no class: the statistics file holds the forget split already
            if needs == "stats":
                run = c.forget(args, original, out, passes, [], extra=["--stats", stats], with_data=False)
            else:
                run = c.forget(args, original, out, passes, target)
            rows.append((label, run, c.evaluate(args, out, target)))
            if label in REPORTED:
                c.report(args, out, original, target, f"milner_full_param-{arch}-{i}")
        tables[arch] = rows

    for arch, rows in tables.items():
        s0 = rows[0][2]
        c.log(f"\n## {arch}: held-out images ({s0['all']['samples']:,}; class {FORGET}: {s0['forget']['samples']})\n")
        body = []
        for label, run, s in rows:
            details = (run["passes"][0].get("details") or {}) if run else {}
            steps = details.get("steps")
            body.append([label, c.pct(s["forget"]["accuracy"]), c.pct(s["retain"]["accuracy"]),
                         c.pct(s["all"]["accuracy"]), f"{s['all']['macro_auc']:.4f}",
                         "-" if run is None else f"{c.changed(run):,}", "-" if steps is None else steps])
        c.table(["method", f"forget acc (class {FORGET}) %", "retain acc %", "test acc %", "macro ROC AUC",
                 "elements changed", "steps"], body)
    c.log("\nThe preprint states no figures for these methods (METHODS.md section 4): nothing to print beside them.")
    c.log(f"reports: {', '.join(p.name for p in sorted(args.out.glob('milner_full_param-*.html')))} in {args.out}")
    c.footer(t0)


if __name__ == "__main__":
    main()
