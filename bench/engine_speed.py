#!/usr/bin/env python3
"""Engine throughput on real models: forward and batch-Fisher samples/s of engine-bench vs JAX jit.

    python3 bench/engine_speed.py BENCH_DIR [--bin CKPTFORGET] [--engine-bin ENGINE_BENCH]
                                            [--runs 3] [--rounds 3] [--rebuild]

Called by bench/run.sh as its own section (BENCH_ENGINE_SPEED=0 skips it); it can also run on
its own. It needs numpy and h5py, Keras 3 with JAX (KERAS_BACKEND=jax) to build the models and for
the JAX rows, and the engine-bench and ckptforget binaries of `swift build -c release` (default:
.build/release/). See bench/README.md, "Engine speed".

1. Models and data (BENCH_DIR/engine-speed/, rebuilt when missing or with --rebuild), built by
   Keras in a process of their own with keras.utils.set_random_seed(0):
   * mobilenetv2_96.h5: keras.applications.MobileNetV2(input_shape=(96, 96, 3), weights=None,
     classes=10) (2.27 M parameters), saved with model.save (legacy .h5); data
     mobilenetv2_96_data.h5: x (128, 96, 96, 3) float32 uniform in [-1, 1] (the range MobileNetV2's
     preprocessing gives), y (128,) int64 uniform in 0..9. Its BatchNormalization layers are
     calibrated on the first 32 samples of x (`calibrate`): with the initial moving mean 0 and
     variance 1 the activations fade layer by layer and the model outputs exactly 0.1 for every
     class on every sample, which leaves the agreement check nothing to compare.
   * lstm_text.h5: Input((80,), int32) -> Embedding(10000, 64) -> LSTM(64) -> Dense(10, softmax)
     (0.67 M parameters); data lstm_text_data.h5: x (512, 80) int32 tokens uniform in 1..9999,
     y (512,) int64 uniform in 0..9.
   The labels are random: the models are untrained, so any labels give gradients of the same kind.
2. JAX (one worker process for the whole run, so each function compiles once; the models loaded
   from the same .h5 files with keras.models.load_model, data on the device):
   * forward: jit(model.stateless_call(trainable, non_trainable, x, training=False)) over the
     samples in batches of FORWARD_BATCH (64), block_until_ready on all outputs;
   * batch Fisher: for each mini-batch of B = 64 samples in file order, jit(grad) of the batch-mean
     loss -log(clip(p_y, 1e-7, 1 - 1e-7)) (Keras' sparse categorical cross-entropy on
     probabilities), squared and added to the sums in the same jit; divided by the number of
     batches at the end: what `--fisher batch:64` computes (GradientSink.swift, man page
     STATISTICS FILES).
   The agreement check (item 5) runs and compiles both first; then the median of `--runs` passes.
3. engine: `engine-bench MODEL DATA --fisher none|batch:64 --runs R`: the engine's runner pass
   with the data already in memory (forward: outputs only, the engine's own batch size, as `eval`
   runs it; Fisher: batches of 64), one untimed pass, then the median of R passes. Both report the
   CPU seconds (all threads) of a pass too.
4. Rounds: `--rounds` rounds, each timing every (model, mode) on JAX and on engine-bench, the one
   going first alternating from round to round, so that load on this shared machine falls on both.
   The figures are the medians over the rounds; the ratio engine/JAX is the median of the
   per-round ratios.
5. Agreement (once, before the rounds): the engine's outputs (`engine-bench --outputs`) against
   JAX's on every sample: same argmax (a tie within 1e-4 counts as equal), and
   max |difference| / max |JAX| <= 1e-4 in each sample's row. The Fisher diagonals of
   `ckptforget stats MODEL --data DATA --class 0 --fisher batch:64` (the whole command), every JAX
   trainable tensor present, against a float64 reference (`reference64`: JAX with jax_enable_x64,
   the model rebuilt in float64 from its config, BatchNormalization computed in float64 too (Keras
   3 computes it in float32 whatever the model's type), the same float32 weights and inputs cast to
   float64, the same batches and loss). The error of a Fisher is max |difference| / max |reference|
   per tensor, its worst over the tensors. A ReLU6 whose input lies within float32 rounding of 0
   or 6 switches its gradient on or off by that rounding alone, and one such switch moves a
   channel's Fisher by 10 % (MobileNetV2; see bench/README.md, Engine speed, Agreement). So the
   criterion's reference takes each ReLU layer's backward mask (where the gradient passes) from
   the engine's own float32 inputs to that layer, read with engine-bench from a copy of the model
   whose output is those inputs (`relu_inputs`); everything else in it is float64. It passes when
   the engine's error against it is <= 1e-4 on every tensor. Without ReLU layers (the LSTM) that
   reference is the plain float64 one. The engine against the plain float64 reference, and JAX
   float32 against it, are printed, not judged.

Exit status: 0 when every engine/JAX ratio is >= 1, 10 when one is below (a report, not a
failure), 3 when Keras/JAX are missing (nothing measured; the pip command is printed), 1 when it
cannot measure (no binary, a command fails, the results disagree). The last line printed is a JSON
summary.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FISHER_BATCH = 64
FORWARD_BATCH = 64
EPS = 1e-7  # Keras' clip of probabilities in (sparse) categorical cross-entropy
TOLERANCE = 1e-4
INPUTS_VERSION = 2  # 2: MobileNetV2's BatchNormalization calibrated on the data
MISSED, SKIPPED = 10, 3
SEED = 0
CALIBRATION_SAMPLES = 32  # MobileNetV2's BatchNormalization statistics: the first 32 samples

# name: (model file, data file, samples, description)
MODELS = {
    "mobilenetv2_96": ("mobilenetv2_96.h5", "mobilenetv2_96_data.h5", 128,
                       "MobileNetV2 96x96x3, weights=None, 10 classes"),
    "lstm_text": ("lstm_text.h5", "lstm_text_data.h5", 512,
                  "Embedding(10000, 64) -> LSTM(64) -> Dense(10), length 80"),
}
MODES = ("forward", f"fisher batch:{FISHER_BATCH}")


def log(*args):
    print(*args, flush=True)


def loadavg():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# ------------------------------------------------------------------------------------------ inputs
def prepare(work, rebuild):
    """Builds the two models and their data in `work` unless they exist (Keras in its own process)."""
    meta_path = work / "inputs.json"
    files = [work / f for m in MODELS.values() for f in m[:2]]
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        meta = None
    if not rebuild and meta and meta.get("version") == INPUTS_VERSION and all(p.exists() for p in files):
        log(f"inputs:      {', '.join(p.name for p in files)} exist in {work} (--rebuild to redo)")
        return meta
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "_build", str(work)], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "jax"})
    if proc.returncode != 0:
        if "No module named" in proc.stderr:
            log(f"engine_speed: building the models needs Keras 3 with JAX ({proc.stderr.strip().splitlines()[-1]}); "
                f"install them with:  {sys.executable} -m pip install keras 'jax[cpu]'")
            sys.exit(SKIPPED)
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit("engine_speed: building the models with Keras failed")
    meta = {"version": INPUTS_VERSION, **json.loads(proc.stdout.strip().splitlines()[-1])}
    meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    log(f"inputs:      built the models and data in {time.perf_counter() - t0:.1f} s: {meta['params']}")
    return meta


def build(work):
    import h5py
    import keras
    keras.utils.set_random_seed(SEED)
    mobilenet = keras.applications.MobileNetV2(input_shape=(96, 96, 3), weights=None, classes=10)
    inputs = keras.Input((80,), dtype="int32")
    h = keras.layers.Embedding(10_000, 64, name="embedding")(inputs)
    h = keras.layers.LSTM(64, name="lstm")(h)
    outputs = keras.layers.Dense(10, activation="softmax", name="dense")(h)
    lstm = keras.Model(inputs, outputs, name="lstm_text")
    rng = np.random.default_rng(SEED)
    data = {
        "mobilenetv2_96": rng.uniform(-1, 1, (MODELS["mobilenetv2_96"][2], 96, 96, 3)).astype(np.float32),
        "lstm_text": rng.integers(1, 10_000, (MODELS["lstm_text"][2], 80)).astype(np.int32),
    }
    calibrate(mobilenet, data["mobilenetv2_96"][:CALIBRATION_SAMPLES])
    params = {}
    for name, model in (("mobilenetv2_96", mobilenet), ("lstm_text", lstm)):
        model_file, data_file, n, _ = MODELS[name]
        tmp = work / f"{name}.tmp.h5"
        model.save(tmp)  # legacy HDF5 (Keras warns that .h5 is legacy)
        os.replace(tmp, work / model_file)
        with h5py.File(work / data_file, "w") as f:
            f["x"] = data[name]
            f["y"] = rng.integers(0, 10, n).astype(np.int64)
        params[name] = model.count_params()
    import jax
    print(json.dumps({"keras": keras.__version__, "jax": jax.__version__, "params": params}))


def calibrate(model, x):
    """Sets every BatchNormalization layer's moving mean and variance to the per-channel mean and
    (population) variance of its input on `x`, in one inference-mode pass through the model's graph
    in its own (topological) order, so each layer normalises the input it really gets once the
    layers before it are calibrated: the activations keep unit scale through the depth, as in a
    trained model, and the outputs differ from sample to sample. Deterministic (fixed data, no
    randomness). Uses Keras' graph walker `Functional._run_through_graph` (Keras 3), which calls
    `operation_fn(layer)(*args)` for each node."""
    import keras

    def operation_fn(layer):
        def call(*args, **kwargs):
            if isinstance(layer, keras.layers.BatchNormalization):
                h = np.asarray(args[0], dtype=np.float64)
                axes = tuple(range(h.ndim - 1))
                layer.moving_mean.assign(h.mean(axis=axes).astype(np.float32))
                layer.moving_variance.assign(h.var(axis=axes).astype(np.float32))
            return layer(*args, **kwargs)
        return call

    model._run_through_graph([keras.ops.convert_to_tensor(x)], operation_fn=operation_fn)


def h5_names(path, model):
    """Each weight's name in the legacy .h5 (model_weights/<layer>/<weight_names[i]>), by variable path."""
    import h5py
    names = {}
    with h5py.File(path, "r") as f:
        g = f["model_weights"]
        for layer in model.layers:
            if layer.name not in g:
                continue
            listed = [n.decode() if isinstance(n, bytes) else n for n in g[layer.name].attrs["weight_names"]]
            for var, n in zip(layer.weights, listed):
                names[var.path] = f"model_weights/{layer.name}/{n}"
    return names


def batch_fisher_functions(model):
    """jit(forward) and jit(one mini-batch's squared gradient added to the sums) for `model`, in the
    model's own float type (float32, or float64 for the reference)."""
    import jax
    import jax.numpy as jnp

    def probabilities(tv, ntv, xb):
        return model.stateless_call(tv, ntv, xb, training=False)[0]

    def loss(tv, ntv, xb, yb):
        p = probabilities(tv, ntv, xb)
        py = jnp.take_along_axis(p, yb[:, None], axis=1)[:, 0]
        return jnp.mean(-jnp.log(jnp.clip(py, EPS, 1 - EPS)))

    gradient = jax.grad(loss)

    def fisher_step(sums, tv, ntv, xb, yb):
        return [s + g * g for s, g in zip(sums, gradient(tv, ntv, xb, yb))]

    return jax.jit(probabilities), jax.jit(fisher_step)


# ------------------------------------------------------------------------------------------ JAX
def jax_worker(work):
    """Loads both models once, then answers commands on stdin with one JSON line each:
    `time MODEL MODE RUNS` (times of RUNS passes and their CPU seconds; the first call of a
    (model, mode) compiles in an untimed pass), `save MODEL` (outputs and Fisher to .npy/.npz)."""
    import h5py
    import jax
    import jax.numpy as jnp
    import keras

    state = {}
    for name, (model_file, data_file, n, _) in MODELS.items():
        model = keras.models.load_model(work / model_file, compile=False)
        with h5py.File(work / data_file, "r") as f:
            x, y = f["x"][...], f["y"][...].astype(np.int32)
        tv = [v.value for v in model.trainable_variables]
        ntv = [v.value for v in model.non_trainable_variables]
        forward, fisher_step = batch_fisher_functions(model)
        state[name] = {
            "model": model, "tv": tv, "ntv": ntv, "n": n, "forward": forward, "fisher_step": fisher_step,
            "fx": [jax.device_put(x[s:s + FORWARD_BATCH]) for s in range(0, n, FORWARD_BATCH)],
            "bx": [jax.device_put(x[s:s + FISHER_BATCH]) for s in range(0, n, FISHER_BATCH)],
            "by": [jax.device_put(y[s:s + FISHER_BATCH]) for s in range(0, n, FISHER_BATCH)],
            "names": h5_names(work / model_file, model), "warm": set(),
        }

    def run(s, mode):
        if mode == "forward":
            return jax.block_until_ready([s["forward"](s["tv"], s["ntv"], xb) for xb in s["fx"]])
        sums = [jnp.zeros_like(v) for v in s["tv"]]
        for xb, yb in zip(s["bx"], s["by"]):
            sums = s["fisher_step"](sums, s["tv"], s["ntv"], xb, yb)
        return jax.block_until_ready(sums)

    print(json.dumps({"ready": True, "jax": jax.__version__, "keras": keras.__version__,
                      "devices": [str(d) for d in jax.devices()]}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "time":
            s, mode, runs = state[command[1]], command[2].replace("_", " "), int(command[3])
            if mode not in s["warm"]:
                t0 = time.perf_counter()
                run(s, mode)
                s["warm"].add(mode)
                log_line = {"compile_s": time.perf_counter() - t0}
            else:
                log_line = {}
            times, cpu = [], []
            for _ in range(runs):
                t0, c0 = time.perf_counter(), time.process_time()
                run(s, mode)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            print(json.dumps({"times": times, "cpu": cpu, **log_line}), flush=True)
        elif command[0] == "save":
            name, out = command[1], Path(command[2])
            s = state[name]
            np.save(out / f"{name}_jax_outputs.npy", np.concatenate([np.asarray(o) for o in run(s, "forward")]))
            batches = len(s["bx"])
            sums = run(s, f"fisher batch:{FISHER_BATCH}")
            paths = [v.path for v in s["model"].trainable_variables]
            np.savez(out / f"{name}_jax_fisher.npz",
                     **{s["names"][p].replace("/", "|"): np.asarray(v) / batches for p, v in zip(paths, sums)})
            s["warm"].update({"forward", f"fisher batch:{FISHER_BATCH}"})  # compiled: the rounds need no untimed pass
            print(json.dumps({"saved": name}), flush=True)


def float64_batch_normalization():
    """Keras 3 computes BatchNormalization in result_type(input, "float32"), float32 even in a float64
    model, which would leave the reference with float32 rounding right before every ReLU6: its
    inference path is replaced by the backend's op in the input's own type (reference process only)."""
    import keras
    from keras.src.backend.jax import nn as backend_nn

    def call(self, inputs, training=None, mask=None):
        return backend_nn.batch_normalization(inputs, self.moving_mean.value, self.moving_variance.value, axis=self.axis,
                                              offset=self.beta.value if self.center else None,
                                              scale=self.gamma.value if self.scale else None, epsilon=self.epsilon)
    keras.layers.BatchNormalization.call = call


def relu_layers(model):
    """The model's ReLU layers, each a plain ReLU or ReLU6 (threshold 0, no negative slope)."""
    import keras
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    for layer in layers:
        if float(layer.threshold) != 0 or float(layer.negative_slope) != 0:
            raise SystemExit(f"engine_speed: ReLU layer {layer.name} has a threshold or slope the masks do not model")
    return layers


def relu_inputs(work, name):
    """Saves WORK/<name>_relu_inputs.h5: the model with one output, every ReLU layer's input flattened
    and concatenated in layer order; prints one JSON line with the layers' names, per-sample sizes and
    upper clips (none when the model has no ReLU layer, and then no file)."""
    import keras
    model = keras.models.load_model(work / MODELS[name][0], compile=False)
    layers = relu_layers(model)
    described = [{"name": l.name, "size": int(np.prod(l.input.shape[1:])),
                  "max": None if l.max_value is None else float(l.max_value)} for l in layers]
    if layers:
        flat = [keras.layers.Flatten(name=f"flat_{l.name}")(l.input) for l in layers]
        joined = flat[0] if len(flat) == 1 else keras.layers.Concatenate(name="relu_inputs")(flat)
        keras.Model(model.input, joined).save(work / f"{name}_relu_inputs.h5")
    print(json.dumps({"layers": described}), flush=True)


def reference64(work, out):
    """The float64 references for the Fisher agreement: each model rebuilt from its own config with every
    float32 (layer dtype policies, input and tensor dtypes) read as float64, BatchNormalization computed
    in float64 (`float64_batch_normalization`), its float32 weights and float32 inputs cast to float64
    (exactly), and the same batch Fisher as the JAX worker's (same batches, same loss) computed in
    float64 with `jax_enable_x64`. Writes OUT/<model>_ref64_fisher.npz (float64, the same keys as the
    worker's .npz) and, where OUT/<model>_engine_masks.npz holds the engine's ReLU masks, also
    OUT/<model>_ref64_masked_fisher.npz: the same with each ReLU layer's gradient passed where the
    engine's mask says (its forward values stay float64). Prints one JSON line with the seconds each
    model took."""
    import h5py
    import jax
    jax.config.update("jax_enable_x64", True)  # before any array exists; without it float64 silently stays float32
    import jax.numpy as jnp
    import keras
    float64_batch_normalization()

    def as64(value):
        if isinstance(value, dict):
            return {k: as64(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as64(v) for v in value]
        return "float64" if value == "float32" else value

    @jax.custom_vjp
    def masked(x, mask):
        return x

    masked.defvjp(lambda x, mask: (x, mask), lambda mask, g: (g * mask, None))

    def masked_fisher_step(model):
        """As `batch_fisher_functions`' step, the graph walked layer by layer: a ReLU layer's output is
        its float64 value exactly (x + (clip(x) - x)) with the gradient g * mask."""
        def loss(tv, ntv, xb, yb, masks):
            mapping = list(zip(model.trainable_variables, tv)) + list(zip(model.non_trainable_variables, ntv))

            def operation_fn(layer):
                def call(*args, **kwargs):
                    if layer.name in masks:
                        x = args[0]
                        top = jnp.inf if layer.max_value is None else float(layer.max_value)
                        return masked(x, masks[layer.name].reshape(x.shape).astype(x.dtype)) + \
                            jax.lax.stop_gradient(jnp.clip(x, 0, top) - x)
                    return layer(*args, **kwargs)
                return call

            with keras.StatelessScope(state_mapping=mapping):
                p = model._run_through_graph([xb], operation_fn=operation_fn)
            p = p[0] if isinstance(p, (list, tuple)) else p
            py = jnp.take_along_axis(p, yb[:, None], axis=1)[:, 0]
            return jnp.mean(-jnp.log(jnp.clip(py, EPS, 1 - EPS)))

        gradient = jax.grad(loss)

        def step(sums, tv, ntv, xb, yb, masks):
            return [s + g * g for s, g in zip(sums, gradient(tv, ntv, xb, yb, masks))]
        return jax.jit(step)

    seconds = {}
    for name, (model_file, data_file, n, _) in MODELS.items():
        t0 = time.perf_counter()
        m32 = keras.models.load_model(work / model_file, compile=False)
        m64 = keras.Model.from_config(as64(m32.get_config()))
        m64.set_weights([w.astype(np.float64) for w in m32.get_weights()])
        if any(v.dtype != "float64" for v in m64.weights):
            raise SystemExit(f"engine_speed: the float64 {name} has weights of another type")
        if [v.path for v in m64.trainable_variables] != [v.path for v in m32.trainable_variables]:
            raise SystemExit(f"engine_speed: the float64 {name}'s trainable variables differ from the float32 model's")
        with h5py.File(work / data_file, "r") as f:
            x, y = f["x"][...], f["y"][...].astype(np.int32)
        if x.dtype == np.float32:
            x = x.astype(np.float64)
        tv = [v.value for v in m64.trainable_variables]
        ntv = [v.value for v in m64.non_trainable_variables]
        names = h5_names(work / model_file, m32)
        masks_file = out / f"{name}_engine_masks.npz"
        masks = dict(np.load(masks_file)) if masks_file.exists() else None
        _, fisher_step = batch_fisher_functions(m64)
        variants = [("ref64", lambda s, xb, yb, _: fisher_step(s, tv, ntv, xb, yb))]
        if masks:
            step = masked_fisher_step(m64)
            variants.append(("ref64_masked", lambda s, xb, yb, mb: step(s, tv, ntv, xb, yb, mb)))
        for label, run in variants:
            sums = [jnp.zeros_like(v) for v in tv]
            batches = 0
            for s in range(0, n, FISHER_BATCH):
                mb = None if masks is None else {k: jnp.asarray(v[s:s + FISHER_BATCH]) for k, v in masks.items()}
                sums = run(sums, x[s:s + FISHER_BATCH], y[s:s + FISHER_BATCH], mb)
                batches += 1
            if any(v.dtype != jnp.float64 for v in sums):
                raise SystemExit(f"engine_speed: the float64 {name} Fisher ({label}) came out in another type")
            np.savez(out / f"{name}_{label}_fisher.npz",
                     **{names[v32.path].replace("/", "|"): np.asarray(v) / batches
                        for v32, v in zip(m32.trainable_variables, sums)})
        seconds[name] = round(time.perf_counter() - t0, 1)
    print(json.dumps({"ref64_s": seconds}), flush=True)


def engine_masks(engine_bin, work, out, name):
    """OUT/<name>_engine_masks.npz: for each ReLU layer, where the engine's float32 input to it lies
    strictly inside (0, max) (the gradient passes), per sample, from engine-bench's outputs of the
    model cut at those inputs (`relu_inputs`), in batches of FISHER_BATCH as the Fisher runs. Returns
    the number of layers (0: no ReLU layer, no file)."""
    masks_file = out / f"{name}_engine_masks.npz"
    masks_file.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, __file__, "_relu_inputs", str(work), name], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "jax"})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"engine_speed: cutting {name} at its ReLU inputs failed")
    layers = json.loads(proc.stdout.strip().splitlines()[-1])["layers"]
    if not layers:
        return 0
    n, width = MODELS[name][2], sum(l["size"] for l in layers)
    values_file = out / f"{name}_engine_relu_inputs.f32"
    engine_bench(engine_bin, work, name, "forward", 1, outputs=values_file, model=work / f"{name}_relu_inputs.h5",
                 batch=FISHER_BATCH)
    values = np.fromfile(values_file, "<f4")
    if values.size != n * width:
        raise SystemExit(f"engine_speed: engine-bench wrote {values.size} ReLU inputs of {name}, expected {n} x {width}")
    values = values.reshape(n, width)
    masks, start = {}, 0
    for layer in layers:
        v = values[:, start:start + layer["size"]]
        top = np.inf if layer["max"] is None else layer["max"]
        masks[layer["name"]] = ((v > 0) & (v < top)).astype(np.uint8)
        start += layer["size"]
    np.savez(masks_file, **masks)
    values_file.unlink()
    return len(layers)


class JaxWorker:
    def __init__(self, work):
        self.proc = subprocess.Popen([sys.executable, __file__, "_jax", str(work)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "KERAS_BACKEND": "jax"})
        self.info = self.read()

    def read(self):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()
                raise SystemExit(f"engine_speed: the JAX worker stopped:\n{err[-3000:]}")
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, *command):
        self.proc.stdin.write(" ".join(str(c).replace(" ", "_") for c in command) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


# ------------------------------------------------------------------------------------------ engine
def engine_bench(engine_bin, work, name, mode, runs, outputs=None, model=None, batch=None):
    model_file, data_file, n, _ = MODELS[name]
    fisher = "none" if mode == "forward" else mode.split()[1]
    cmd = [str(engine_bin), str(model or work / model_file), str(work / data_file), "--fisher", fisher, "--runs", str(runs)]
    if outputs:
        cmd += ["--outputs", str(outputs)]
    if batch:
        cmd += ["--batch", str(batch)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"engine_speed: engine-bench failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"engine_speed: engine-bench printed no JSON line: {' '.join(cmd)}\n{proc.stdout[-2000:]}")
    if result.get("samples") != n:
        raise SystemExit(f"engine_speed: engine-bench measured {result.get('samples')} samples, expected {n}")
    return result


# ------------------------------------------------------------------------------------------ agreement
def relative_error(got, ref):
    """max |got - ref| / max |ref| over one tensor: the measure of every Fisher comparison here."""
    return float(np.abs(got - ref).max() / max(np.abs(ref).max(), 1e-30))


def worst_and_median(errors, i):
    """The worst (with its tensor) and the median of column i of {tensor: (error, ...)}."""
    if not errors:
        return {"worst": float("inf"), "at": None, "median": float("inf")}
    at = max(errors, key=lambda t: errors[t][i])
    return {"worst": errors[at][i], "at": at, "median": float(np.median([e[i] for e in errors.values()]))}


def agree(jaxw, bin_path, engine_bin, work):
    """Engine outputs and ckptforget's batch Fisher against JAX's; returns (ok, {model: worst figures})."""
    import h5py
    out = work / "out"
    out.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    masked = {name: engine_masks(engine_bin, work, out, name) for name in MODELS}
    log(f"masks:       the engine's ReLU inputs in {time.perf_counter() - t0:.1f} s: "
        + ", ".join(f"{name} {k} ReLU layers" for name, k in masked.items()))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "_ref64", str(work), str(out)], capture_output=True, text=True,
                          env={**os.environ, "KERAS_BACKEND": "jax"})
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit("engine_speed: the float64 reference failed")
    log(f"reference:   float64 batch Fisher (JAX, jax_enable_x64; plain, and with the engine's ReLU masks) in "
        f"{time.perf_counter() - t0:.1f} s: {json.loads(proc.stdout.strip().splitlines()[-1])['ref64_s']} s per model")
    ok, report = True, {}
    for name, (model_file, data_file, n, _) in MODELS.items():
        jaxw.ask("save", name, out)
        p_jax = np.load(out / f"{name}_jax_outputs.npy").astype(np.float64)
        engine_bench(engine_bin, work, name, "forward", 1, outputs=out / f"{name}_engine_outputs.f32")
        p_eng = np.fromfile(out / f"{name}_engine_outputs.f32", "<f4").astype(np.float64).reshape(p_jax.shape)
        row_rel = np.abs(p_eng - p_jax).max(axis=1) / np.abs(p_jax).max(axis=1)
        a_eng, a_jax = p_eng.argmax(axis=1), p_jax.argmax(axis=1)
        rows = np.arange(n)
        # Equal, or a tie within the tolerance (JAX's top probability and the engine's pick differ by <= 1e-4 relative).
        tie = np.abs(p_jax[rows, a_eng] - p_jax[rows, a_jax]) <= TOLERANCE * p_jax[rows, a_jax]
        argmax_bad = int(((a_eng != a_jax) & ~tie).sum())
        stats_out = out / f"{name}_stats.h5"
        stats_out.unlink(missing_ok=True)
        cmd = [str(bin_path), "stats", str(work / model_file), "--data", str(work / data_file), "--class", "0",
               "--fisher", f"batch:{FISHER_BATCH}", "-o", str(stats_out), "-q"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        stats_s = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"engine_speed: command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}")
        jf = np.load(out / f"{name}_jax_fisher.npz")
        r64 = np.load(out / f"{name}_ref64_fisher.npz")
        own = np.load(out / f"{name}_ref64_masked_fisher.npz") if masked[name] else r64
        if sorted(r64.files) != sorted(jf.files) or sorted(own.files) != sorted(jf.files):
            raise SystemExit(f"engine_speed: the float64 reference of {name} has other tensors than JAX's float32 Fisher")
        errors, missing = {}, []  # tensor: (engine vs JAX f32, engine vs f64, JAX f32 vs f64, engine vs f64 with its masks)
        with h5py.File(stats_out, "r") as f:
            full = f["fisher/full"]
            for key in jf.files:
                tensor = key.replace("|", "/")
                if tensor not in full:
                    missing.append(tensor)
                    continue
                jax32, ref = jf[key].astype(np.float64), r64[key]
                got = full[tensor][...].astype(np.float64).reshape(ref.shape)
                errors[tensor] = (relative_error(got, jax32), relative_error(got, ref), relative_error(jax32, ref),
                                  relative_error(got, own[key]))
        fisher = {label: worst_and_median(errors, i) for i, label in enumerate(("engine_vs_jax32", "engine_vs_ref64",
                                                                                 "jax32_vs_ref64", "engine_vs_ref64_own_masks"))}
        fisher_good = bool(errors) and fisher["engine_vs_ref64_own_masks"]["worst"] <= TOLERANCE
        beyond = sorted(t for t, e in errors.items() if e[3] > TOLERANCE)
        good = row_rel.max() <= TOLERANCE and argmax_bad == 0 and fisher_good and not missing
        ok &= good
        report[name] = {"prob_row_rel": float(row_rel.max()), "argmax_differs": int((a_eng != a_jax).sum()),
                        "argmax_differs_beyond_ties": argmax_bad, "fisher": fisher, "relu_layers_masked": masked[name],
                        "fisher_pass": fisher_good, "fisher_tensors_beyond_tolerance": len(beyond),
                        "fisher_tensors": len(jf.files), "fisher_missing": missing, "stats_command_s": round(stats_s, 3)}
        e64, j64, e32 = fisher["engine_vs_ref64"], fisher["jax32_vs_ref64"], fisher["engine_vs_jax32"]
        eown = fisher["engine_vs_ref64_own_masks"]
        log(f"agreement:   {name}: probabilities {row_rel.max():.1e} (max |diff| / row max), argmax differs on "
            f"{(a_eng != a_jax).sum()} of {n} ({argmax_bad} beyond ties)")
        log(f"             {name}: `ckptforget stats --fisher batch:{FISHER_BATCH}` over {len(jf.files)} tensors, "
            f"max |diff| / max |reference| per tensor, worst (median):")
        if masked[name]:
            log(f"               engine float32 vs float64 with the engine's ReLU masks ({masked[name]} layers)  "
                f"{eown['worst']:.1e} ({eown['median']:.1e})  {eown['at']}")
        log(f"               engine float32 vs JAX float64  {e64['worst']:.1e} ({e64['median']:.1e})  {e64['at']}"
            + ("  (reported, not the criterion)" if masked[name] else ""))
        log(f"               JAX float32 vs JAX float64     {j64['worst']:.1e} ({j64['median']:.1e})  {j64['at']}  (reported)")
        log(f"               engine float32 vs JAX float32  {e32['worst']:.1e} ({e32['median']:.1e})  {e32['at']}  (reported)")
        log(f"             {name}: Fisher criterion: engine vs float64{' with its own ReLU masks' if masked[name] else ''} "
            f"<= {TOLERANCE:.0e} on every tensor: {'PASS' if fisher_good else 'FAIL'}; tensors beyond it: "
            f"{len(beyond)} of {len(errors)}" + (f" ({', '.join(beyond[:5])}{', ...' if len(beyond) > 5 else ''})" if beyond else "")
            + (f"; MISSING in the stats file: {missing}" if missing else "") + ("" if good else "  DISAGREE"))
    return ok, report


# ------------------------------------------------------------------------------------------ driver
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench_dir", type=Path)
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--bin", type=Path, default=root / ".build/release/ckptforget")
    parser.add_argument("--engine-bin", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    engine_bin = args.engine_bin or args.bin.parent / "engine-bench"
    for path in (args.bin, engine_bin):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"engine_speed: no binary at {path} (swift build -c release)")
    work = args.bench_dir.resolve() / "engine-speed"
    load_before = loadavg()
    log(f"machine:     {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model()}, "
        f"kernel {platform.system()} {platform.release()}")
    log(f"load:        {load_before} (1, 5, 15 min) before the runs")
    meta = prepare(work, args.rebuild)
    jaxw = JaxWorker(work)
    import h5py
    log(f"versions:    python {platform.python_version()}, numpy {np.__version__}, h5py {h5py.__version__}, "
        f"Keras {jaxw.info['keras']}, JAX {jaxw.info['jax']} ({', '.join(jaxw.info['devices'])}), "
        f"engine {git_rev(root)}")
    for name, (_, _, n, what) in MODELS.items():
        log(f"model:       {name}: {what}; {meta['params'][name]:,} parameters; {n} samples")
    ok, agreement = agree(jaxw, args.bin, engine_bin, work)

    results = {(name, mode): [] for name in MODELS for mode in MODES}
    for k in range(args.rounds):
        for name in MODELS:
            for mode in MODES:
                n = MODELS[name][2]
                order = ("jax", "engine") if k % 2 == 0 else ("engine", "jax")
                res = {}
                for who in order:
                    if who == "jax":
                        j = jaxw.ask("time", name, mode, args.runs)
                        res["jax_s"], res["jax_cpu"] = statistics.median(j["times"]), statistics.median(j["cpu"])
                        if "compile_s" in j:
                            res["jax_compile_s"] = j["compile_s"]
                    else:
                        e = engine_bench(engine_bin, work, name, mode, args.runs)
                        res["engine_s"], res["engine_cpu"], res["workers"] = e["median_s"], e["cpu_s"], e["workers"]
                res["ratio"] = res["jax_s"] / res["engine_s"]
                results[(name, mode)].append(res)
                log(f"  round {k + 1}/{args.rounds} {name:15} {mode:15} engine {n / res['engine_s']:>9,.1f} samples/s "
                    f"(CPU {res['engine_cpu']:.2f} s)   JAX {n / res['jax_s']:>9,.1f} samples/s (CPU {res['jax_cpu']:.2f} s)   "
                    f"engine / JAX {res['ratio']:.2f}x")
    jaxw.close()
    load_after = loadavg()

    log("")
    log(f"ENGINE SPEED  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of {args.rounds} rounds of "
        f"{args.runs} passes; load average before {load_before}, after {load_after}")
    log("")
    log("| model | mode | samples | engine samples/s | JAX samples/s | engine / JAX | engine CPU s/pass | JAX CPU s/pass "
        "| engine / JAX by CPU |")
    log("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    summary_rows, missed = [], False
    for (name, mode), rows in results.items():
        n = MODELS[name][2]
        eng_s = statistics.median(r["engine_s"] for r in rows)
        jax_s = statistics.median(r["jax_s"] for r in rows)
        ratio = statistics.median(r["ratio"] for r in rows)
        eng_cpu = statistics.median(r["engine_cpu"] for r in rows)
        jax_cpu = statistics.median(r["jax_cpu"] for r in rows)
        missed |= ratio < 1
        log(f"| {name} | {mode} | {n} | {n / eng_s:,.1f} | {n / jax_s:,.1f} | {ratio:.2f}x | {eng_cpu:.3f} | {jax_cpu:.3f} "
            f"| {jax_cpu / eng_cpu:.2f}x |")
        summary_rows.append({"model": name, "mode": mode, "samples": n, "engine_samples_per_s": round(n / eng_s, 1),
                             "jax_samples_per_s": round(n / jax_s, 1), "ratio": round(ratio, 3),
                             "round_ratios": [round(r["ratio"], 3) for r in rows],
                             "engine_cpu_s": round(eng_cpu, 4), "jax_cpu_s": round(jax_cpu, 4),
                             "workers": rows[0]["workers"]})
    log("")
    log(f"engine / JAX is the median of the per-round ratios of wall times; 'by CPU' is JAX's CPU seconds over the engine's "
        f"(all threads, per pass). Forward: JAX in batches of {FORWARD_BATCH}, the engine in its own; Fisher: batches of "
        f"{FISHER_BATCH} for both.")
    if max(os.getloadavg()[0], float(load_before.split()[0])) > 0.5:
        log("NOTE: load average above 0.5: the machine was busy, the figures are provisional")
    if not ok:
        log("ENGINE SPEED: results DISAGREE (see 'agreement' above)")
        status = 1
    else:
        log(f"ENGINE SPEED goal: engine >= 1x JAX on every row: {'met' if not missed else 'MISSED'}")
        status = MISSED if missed else 0
    print(json.dumps({"engine_speed": 1, "rounds": args.rounds, "runs": args.runs, "load_before": load_before,
                      "load_after": load_after, "rows": summary_rows, "agreement": agreement, "agree": bool(ok),
                      "exit": status}), flush=True)
    return status


def git_rev(root):
    try:
        return subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        return "?"


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "_build":
        build(Path(sys.argv[2]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "_jax":
        jax_worker(Path(sys.argv[2]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "_ref64":
        reference64(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "_relu_inputs":
        relu_inputs(Path(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(main())
