#!/usr/bin/env python3
"""Regenerate the ckptforget test fixtures.

    python3 Fixtures/make_fixtures.py

Writes (next to this script):
    keras/mnist_mlp.h5                 Keras legacy HDF5 full model (model.save, with optimizer)
    keras/mnist_mlp.weights.h5         Keras 3 weights file (model.save_weights)
    safetensors/mlp.safetensors        PyTorch-style state dict, F32 (+ I64 scalar)
    safetensors/mlp_f16.safetensors    same, F16 (+ I64 scalar)
    safetensors/mlp_bf16.safetensors   same, BF16 (+ I64 scalar), via safetensors.flax
    safetensors/sharded/model-0000{1,2}-of-00002.safetensors + model.safetensors.index.json
    hdf5/generic.h5                    plain h5py file (not Keras) exercising HDF5 features
    expected/*.safetensors             expected `dampen:0.01 --class 2` outputs and
                                       F16/BF16 rounding cases, computed with numpy
                                       from the files above (see write_expected)

Every file is produced by the real writer library; nothing is hand-assembled.
Deterministic: fixed seeds, CPU only.

    python3 Fixtures/make_fixtures.py --expected-only

only recomputes expected/ from the committed fixtures (no MNIST, no training).
"""

import os

# Must be set before keras is imported.
os.environ["KERAS_BACKEND"] = "jax"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import hashlib
import json
import math
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import h5py
import jax.numpy as jnp
import keras
import safetensors
import safetensors.numpy
import safetensors.flax
import ml_dtypes

HERE = Path(__file__).resolve().parent
# Default: <repo>/../shared/data/mnist (the repo is this script's parent's parent).
from fixture_common import build_mlp, mnist_test_flat, read_safetensors_raw, versions  # noqa: E402
N_TRAIN = 8000          # images [0, 8000) train, [8000, 10000) evaluate
EPOCHS = 3
BATCH = 64
FORGET_CLASS = 2        # class whose accuracy we report separately

written = []


# ---------------------------------------------------------------- MNIST (IDX)
def per_class_acc(pred, y):
    return {c: float((pred[y == c] == c).mean()) for c in range(10)}


# ---------------------------------------------------------------- Keras
def train(x, y):
    keras.utils.set_random_seed(0)
    model = build_mlp()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x[:N_TRAIN], y[:N_TRAIN], epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=2)
    return model


def report_accuracy(model, x, y):
    xe, ye = x[N_TRAIN:], y[N_TRAIN:]
    pred = np.argmax(model.predict(xe, batch_size=500, verbose=0), axis=1)
    acc = float((pred == ye).mean())
    pc = per_class_acc(pred, ye)
    print(f"[keras] eval accuracy on images {N_TRAIN}..9999: {acc:.4f}")
    print(f"[keras] class {FORGET_CLASS} accuracy: {pc[FORGET_CLASS]:.4f} "
          f"(n={int((ye == FORGET_CLASS).sum())})")
    print("[keras] per-class: " + " ".join(f"{c}:{a:.3f}" for c, a in pc.items()))
    return pred


def write_keras(model):
    d = HERE / "keras"
    d.mkdir(parents=True, exist_ok=True)
    full = d / "mnist_mlp.h5"
    wts = d / "mnist_mlp.weights.h5"
    for p in (full, wts):
        if p.exists():
            p.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 format is legacy" warning
        model.save(full, include_optimizer=True)
    model.save_weights(wts)
    written.extend([full, wts])


def write_two_heads():
    """An untrained Functional model with two Dense outputs: the output layer is ambiguous."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(8,), name="features")
    hidden = keras.layers.Dense(4, activation="relu", name="trunk")(inputs)
    digits = keras.layers.Dense(3, activation="softmax", name="head_a")(hidden)
    parity = keras.layers.Dense(2, activation="softmax", name="head_b")(hidden)
    model = keras.Model(inputs, [digits, parity], name="two_heads")
    path = HERE / "keras" / "two_heads.h5"
    if path.exists():
        path.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path, include_optimizer=False)
    written.append(path)


# ---------------------------------------------------------------- safetensors
def state_dict_f32(model):
    k1, b1 = [np.asarray(v) for v in model.get_layer("hidden").get_weights()]
    k2, b2 = [np.asarray(v) for v in model.get_layer("output").get_weights()]
    steps = (N_TRAIN + BATCH - 1) // BATCH * EPOCHS
    return {
        "fc1.weight": np.ascontiguousarray(k1.T, dtype=np.float32),  # (32, 784)
        "fc1.bias": np.ascontiguousarray(b1, dtype=np.float32),      # (32,)
        "fc2.weight": np.ascontiguousarray(k2.T, dtype=np.float32),  # (10, 32)
        "fc2.bias": np.ascontiguousarray(b2, dtype=np.float32),      # (10,)
        # PyTorch BatchNorm-style integer buffer, shape () int64
        "fc1.num_batches_tracked": np.array(steps, dtype=np.int64),
    }


def write_safetensors(sd):
    d = HERE / "safetensors"
    (d / "sharded").mkdir(parents=True, exist_ok=True)
    meta = {"format": "pt"}

    p = d / "mlp.safetensors"
    safetensors.numpy.save_file(dict(sd), str(p), metadata=meta)
    written.append(p)

    p = d / "mlp_f16.safetensors"
    f16 = {k: (v.astype(np.float16) if v.dtype.kind == "f" else v) for k, v in sd.items()}
    safetensors.numpy.save_file(f16, str(p), metadata=meta)
    written.append(p)

    # BF16 via safetensors.flax.save_file with jax.numpy bfloat16 arrays.
    # The int64 buffer is passed as a numpy int64 array: with jax's default
    # (x64 disabled) jnp.asarray would silently narrow it to int32.
    p = d / "mlp_bf16.safetensors"
    bf16 = {k: (jnp.asarray(v, dtype=jnp.bfloat16) if v.dtype.kind == "f" else v) for k, v in sd.items()}
    safetensors.flax.save_file(bf16, str(p), metadata=meta)
    written.append(p)

    # Sharded, transformers-style.
    shards = {
        "model-00001-of-00002.safetensors": {k: v for k, v in sd.items() if k.startswith("fc1.")},
        "model-00002-of-00002.safetensors": {k: v for k, v in sd.items() if k.startswith("fc2.")},
    }
    weight_map, total = {}, 0
    for fname, tensors in shards.items():
        p = d / "sharded" / fname
        safetensors.numpy.save_file(tensors, str(p), metadata=meta)
        written.append(p)
        for k, v in tensors.items():
            weight_map[k] = fname
            total += v.nbytes
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    p = d / "sharded" / "model.safetensors.index.json"
    with open(p, "w", encoding="utf-8") as f:
        # transformers: json.dumps(index, indent=2, sort_keys=True) + "\n"
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")
    written.append(p)


# ---------------------------------------------------------------- generic HDF5
def write_generic_h5():
    d = HERE / "hdf5"
    d.mkdir(parents=True, exist_ok=True)
    p = d / "generic.h5"
    rng = np.random.default_rng(1234)
    nrm = lambda *s: rng.standard_normal(s)
    with h5py.File(p, "w") as f:
        f.attrs["title"] = "ckptforget generic fixture"        # variable-length UTF-8 str
        f.attrs["fixed_bytes"] = np.bytes_(b"fixed-len ascii")  # fixed-length byte string
        f.attrs["version"] = np.int64(3)
        f.attrs["scales"] = np.array([0.5, 1.0, 2.0], dtype=np.float64)

        enc = f.create_group("encoder")
        enc.attrs["note"] = "kept"
        enc.create_dataset("weight", data=nrm(16, 8).astype(np.float32),
                           chunks=(4, 8), compression="gzip", compression_opts=4, shuffle=True)
        enc.create_dataset("bias", data=nrm(16).astype(np.float32))

        head = f.create_group("head")
        hw = head.create_dataset("weight", data=nrm(5, 16).astype(np.float32))  # contiguous
        hw.attrs["units"] = "logits"
        hw.attrs["fan_in"] = np.int32(16)
        head.create_dataset("bias", data=nrm(5).astype(np.float32))

        extra = f.create_group("extra")
        extra.create_dataset("half", data=nrm(6, 4).astype(np.float16))
        extra.create_dataset("double", data=nrm(3, 3).astype(np.float64))
        extra.create_dataset("big_endian", data=nrm(4, 4).astype(">f4"))
        extra.create_dataset("counts", data=rng.integers(0, 1000, size=10).astype(np.int32))
        extra.create_dataset("scalar", data=np.float32(nrm(1)[0]))
    written.append(p)


# ---------------------------------------------------------------- expected outputs
# Independent numpy implementation of `ckptforget dampen:ALPHA --class C` and of
# the F16/BF16 rounding the tool uses. Reads only the fixture files on disk (the
# committed ones), so it can run without MNIST or training (--expected-only).
DAMPEN_ALPHA = 0.01
DAMPEN_CLASS = FORGET_CLASS
BF16 = ml_dtypes.bfloat16


def f32_to_bf16_bits(x32):
    """float32 -> bfloat16 bit patterns (uint16), round to nearest even done with
    integer ops on the bit pattern: (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16.
    NaN -> quiet NaN, same sign and top payload bits: (bits >> 16) | 0x0040."""
    x32 = np.ascontiguousarray(x32, dtype=np.float32)
    b = x32.view(np.uint32).astype(np.uint64)
    r = ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF
    r = np.where(np.isnan(x32), ((b >> 16) | 0x0040) & 0xFFFF, r)
    return r.astype(np.uint16)


def f64_to_bf16_bits_single(x64):
    """float64 -> bfloat16 with ONE rounding (for comparison only, not written):
    round-to-odd to float32 (keeps a sticky bit), then RNE to bfloat16.
    Valid for finite values inside the float32 range."""
    x64 = np.asarray(x64, dtype=np.float64)
    t = x64.astype(np.float32)
    tb = t.view(np.uint32).copy()
    tb[np.abs(t.astype(np.float64)) > np.abs(x64)] -= 1       # truncate toward zero
    tb[tb.view(np.float32).astype(np.float64) != x64] |= 1    # sticky bit
    return f32_to_bf16_bits(tb.view(np.float32))


def round_exact(v, ebits, mbits):
    """Reference rounding of float v to an IEEE-like binary format with `ebits`
    exponent and `mbits` mantissa bits (with subnormals and inf): nearest, ties
    to even, exact arithmetic with Fraction. Returns a Python float (NaN passes)."""
    if math.isnan(v) or math.isinf(v) or v == 0:
        return v
    bias = (1 << (ebits - 1)) - 1
    a = Fraction(abs(v))
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    e = max(e, 1 - bias)                       # subnormal range: fixed ulp
    ulp = Fraction(2) ** (e - mbits)
    q = a / ulp
    n = math.floor(q)
    rem = q - n
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and n % 2 == 1):
        n += 1
    r = n * ulp
    if r > (2 - Fraction(2) ** -mbits) * Fraction(2) ** bias:
        return math.copysign(math.inf, v)
    return math.copysign(float(r), v)


def check_against_exact(inputs, got, ebits, mbits, what):
    """Assert got (float16/bfloat16 array) == round_exact(inputs) value by value
    (NaN must stay NaN with the same sign; zero signs must match)."""
    for x, g in zip(np.asarray(inputs, dtype=np.float64).tolist(),
                    np.asarray(got).astype(np.float64).tolist()):
        r = round_exact(x, ebits, mbits)
        ok = (math.isnan(r) and math.isnan(g)) or (r == g and math.copysign(1, r) == math.copysign(1, g))
        ok = ok and math.copysign(1, x) == math.copysign(1, g)
        assert ok, f"{what}: {x!r} -> {g!r}, exact rounding gives {r!r}"


def save_expected(tensors, path, metadata, bf16=False):
    """Write with the same writer as the source fixtures (safetensors.numpy, or
    safetensors.flax with jnp.bfloat16 for BF16), then read back raw and check
    every tensor's bytes and dtype."""
    if bf16:
        safetensors.flax.save_file(
            {k: (jnp.asarray(v) if v.dtype == BF16 else v) for k, v in tensors.items()},
            str(path), metadata=metadata)
    else:
        safetensors.numpy.save_file(tensors, str(path), metadata=metadata)
    st = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16",
          np.dtype(np.float64): "F64", np.dtype(BF16): "BF16"}
    raw = read_safetensors_raw(path)
    assert sorted(raw) == sorted(tensors), path
    for k, v in tensors.items():
        assert raw[k] == (st[v.dtype], v.shape, np.ascontiguousarray(v).tobytes()), f"{path}: {k}"
    written.append(path)


def dampen_rows(w, cls, alpha, to_stored, axis):
    """Copy of w with row (axis=0) or column (axis=1) `cls` replaced by
    to_stored(w[...].astype(float64) * alpha); 1-D: entry `cls`."""
    out = w.copy()
    c = slice(cls, cls + 1)                   # keep arrays (not scalars) for every dtype
    idx = (c,) if w.ndim == 1 or axis == 0 else (slice(None), c)
    out[idx] = to_stored(w[idx].astype(np.float64) * alpha)
    return out


def write_expected():
    d = HERE / "expected"
    d.mkdir(parents=True, exist_ok=True)
    C, A = DAMPEN_CLASS, DAMPEN_ALPHA
    # One metadata key only: safetensors (Rust HashMap) writes several keys in a
    # random order, which would make the files non-deterministic.
    meta = lambda src, rounding: {"expected": f"{src}; dampen:{A} --class {C}; {rounding}"}
    names = ("fc2.weight", "fc2.bias")

    # 1. F32, PyTorch layout (out, in): row C of fc2.weight, fc2.bias[C].
    src = load_file_np(HERE / "safetensors/mlp.safetensors")
    f32 = lambda x: x.astype(np.float32)
    out = {k: dampen_rows(src[k], C, A, f32, axis=0) for k in names}
    check_against_exact((src["fc2.weight"][C].astype(np.float64) * A), out["fc2.weight"][C], 8, 23, "f32")
    save_expected(out, d / f"mlp_dampen{A}_class{C}.safetensors",
                  meta("safetensors/mlp.safetensors", "float64 product -> float32, RNE"))

    # 2. F16: float64 product -> float16 directly (numpy rounds once from float64).
    src = load_file_np(HERE / "safetensors/mlp_f16.safetensors")
    f16 = lambda x: x.astype(np.float16)
    out = {k: dampen_rows(src[k], C, A, f16, axis=0) for k in names}
    p64 = np.concatenate([src["fc2.weight"][C], src["fc2.bias"][C:C + 1]]).astype(np.float64) * A
    check_against_exact(p64, p64.astype(np.float16), 5, 10, "f16 dampen")
    via32 = int((p64.astype(np.float16) != p64.astype(np.float32).astype(np.float16)).sum())
    print(f"[expected] f16 dampen: {p64.size} edited values; direct f64->f16 vs via f32 differ: {via32}")
    save_expected(out, d / f"mlp_f16_dampen{A}_class{C}.safetensors",
                  meta("safetensors/mlp_f16.safetensors", "float64 product -> float16, RNE, one rounding"))

    # 3. BF16: float64 product -> float32 (RNE) -> bfloat16 (RNE on the bit pattern).
    src = {k: np.asarray(v) for k, v in safetensors.flax.load_file(
        str(HERE / "safetensors/mlp_bf16.safetensors")).items()}
    bf16 = lambda x: f32_to_bf16_bits(x.astype(np.float32)).view(BF16)
    out = {k: dampen_rows(src[k], C, A, bf16, axis=0) for k in names}
    p64 = np.concatenate([src["fc2.weight"][C], src["fc2.bias"][C:C + 1]]).astype(np.float64) * A
    dbl = f32_to_bf16_bits(p64.astype(np.float32))
    mld = p64.astype(BF16).view(np.uint16)
    one = f64_to_bf16_bits_single(p64)
    check_against_exact(p64, one.view(BF16), 8, 7, "bf16 single rounding")
    # ml_dtypes casts float64 -> bfloat16 via float32 (double rounding): 1+2^-8+2^-30
    # is above the bf16 halfway point 1+2^-8, but float32 rounds it onto the tie.
    probe = np.array([1 + 2.0 ** -8 + 2.0 ** -30])
    assert probe.astype(BF16).view(np.uint16)[0] == 0x3F80          # 1.0 (double rounding)
    assert f64_to_bf16_bits_single(probe)[0] == 0x3F81               # 1.0078125 (one rounding)
    print(f"[expected] bf16 dampen: {p64.size} edited values; f64->f32->bf16 (bit RNE) vs "
          f"ml_dtypes f64->bf16 differ: {int((dbl != mld).sum())}, "
          f"vs single-rounding f64->bf16 differ: {int((dbl != one).sum())}")
    save_expected(out, d / f"mlp_bf16_dampen{A}_class{C}.safetensors",
                  meta("safetensors/mlp_bf16.safetensors",
                       "float64 product -> float32 RNE -> bfloat16 RNE (bit pattern)"), bf16=True)

    # 4. Keras legacy HDF5, kernel (in, out): column C of the output kernel, bias[C].
    with h5py.File(HERE / "keras/mnist_mlp.h5", "r") as f:
        g = f["model_weights/output/mnist_mlp/output"]
        src = {"kernel": g["kernel"][()], "bias": g["bias"][()]}
    assert src["kernel"].shape == (32, 10) and src["kernel"].dtype == np.float32
    out = {k: dampen_rows(v, C, A, f32, axis=1) for k, v in src.items()}
    save_expected(out, d / f"mnist_mlp_dampen{A}_class{C}.safetensors",
                  meta("keras/mnist_mlp.h5:model_weights/output/mnist_mlp/output",
                       "float64 product -> float32, RNE"))

    write_f16_cases(d)
    write_bf16_cases(d)


def load_file_np(path):
    return safetensors.numpy.load_file(str(path))


def write_f16_cases(d):
    h = 2.0 ** -24                         # smallest float16 subnormal
    u = 2.0 ** -10                         # float16 ulp at 1
    cases = [
        1 + u / 2, 1 + 3 * u / 2,          # halfway; lower neighbour even -> 1, odd -> 1+2u
        -(1 + u / 2), -(1 + 3 * u / 2),
        2049.0, 2051.0,                    # halfway (ulp 2): -> 2048, -> 2052
        1 + u / 2 + 2.0 ** -20, 1 + u / 2 - 2.0 ** -20,   # just above / below halfway
        1 + 3 * u / 2 - 2.0 ** -20, 1 + 3 * u / 2 + 2.0 ** -20,
        1 + u / 2 + 2.0 ** -30, 1 + u / 2 - 2.0 ** -30,   # same, but the offset is lost
        1 + 3 * u / 2 - 2.0 ** -30, 1 + 3 * u / 2 + 2.0 ** -30,  # in float32 (-> ties)
        1 + u / 2 + 2.0 ** -40,            # above halfway by less than a float32 ulp:
                                           # direct -> 1+u, via float32 -> tie -> 1
        65504.0, 65519.99, 65520.0, -65520.0, 65519.999999999,
        h, h / 2, 1.5 * h, 2.5 * h, h / 2 + 2.0 ** -40, h / 4, -h / 2,
        1023 * h, 1023.5 * h, 2.0 ** -14,  # largest subnormal, halfway to / min normal
        -0.0, 0.0, math.inf, -math.inf,
        0.1, -2.5, 1 / 3, math.pi, 1000.3, -0.01, 1e-6,
        math.nan, -math.nan,
    ]
    inp = np.array(cases, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):    # overflow to inf is the point
        exp = inp.astype(np.float16)
        inp32 = inp.astype(np.float32)
        exp32 = inp32.astype(np.float16)
    check_against_exact(inp, exp, 5, 10, "f16 cases (f64)")
    check_against_exact(inp32, exp32, 5, 10, "f16 cases (f32)")
    print(f"[expected] f16 cases: {inp.size}; NaN bits {[hex(b) for b in exp[np.isnan(exp)].view(np.uint16)]}; "
          f"f64 vs f32 path differ at {int((exp.view(np.uint16) != exp32.view(np.uint16)).sum())}")
    save_expected({"input": inp, "expected": exp, "input32": inp32, "expected_from32": exp32},
                  d / "f16_rounding_cases.safetensors",
                  {"expected": "expected = input.astype(float16); expected_from32 = input32.astype(float16)"})


def write_bf16_cases(d):
    bits = [
        0x3F808000, 0x3F818000,            # halfway; lower 0x3F80 even -> 0x3F80, 0x3F81 odd -> 0x3F82
        0xBF808000, 0xBF818000,
        0x3F808001, 0x3F807FFF,            # just above / below halfway
        0x3F818001, 0x3F817FFF,
        0x3FFF8000, 0x3FFFFFFF,            # carry into the exponent -> 2.0
        0x7F7F0000,                        # max finite bf16
        0x7F7F7FFF, 0x7F7F8000,            # below halfway -> max; halfway (odd) -> inf
        0x7F7FFFFF, 0xFF7F8000,            # float32 max -> inf; -> -inf
        0x00000001, 0x00008000, 0x00008001,  # subnormals: -> 0, tie -> 0, -> 0x0001
        0x00010000, 0x00018000, 0x00028000,  # exact; tie odd -> 0x0002; tie even -> 0x0002
        0x007FFFFF, 0x00800000,            # largest f32 subnormal -> min normal 0x0080
        0x80008000, 0x807FFFFF,            # -> -0; -> 0x8080
        0x00000000, 0x80000000, 0x7F800000, 0xFF800000,
        0x7FC00000, 0xFFC00000,            # quiet NaNs
        0x7F800001, 0x7FA00000, 0xFFBFFFFF, 0x7FFFFFFF,  # signalling / payload NaNs
    ]
    ordinary = np.array([0.1, -2.5, 1 / 3, math.pi, 1000.3, -0.01, 65504.0, 1e-6], dtype=np.float32)
    inp32 = np.concatenate([np.array(bits, dtype=np.uint32).view(np.float32), ordinary])
    exp_bits = f32_to_bf16_bits(inp32)
    exp = exp_bits.view(BF16)
    fin = ~np.isnan(inp32)
    check_against_exact(inp32[fin], exp[fin], 8, 7, "bf16 cases")
    with np.errstate(invalid="ignore"):
        ml = inp32.astype(BF16).view(np.uint16)
    diff = np.nonzero(ml != exp_bits)[0]
    print(f"[expected] bf16 cases: {inp32.size}; ml_dtypes f32->bf16 differs at {diff.size}: " +
          ", ".join(f"{inp32.view(np.uint32)[i]:#010x}->ours {exp_bits[i]:#06x} ml {ml[i]:#06x}" for i in diff))
    save_expected({"input32": inp32, "expected": exp}, d / "bf16_rounding_cases.safetensors",
                  {"expected": "float32 -> bfloat16: (bits + 0x7FFF + ((bits>>16)&1)) >> 16; "
                               "NaN -> (bits>>16) | 0x0040"}, bf16=True)


def print_written():
    print("\nsha256 / bytes:")
    total = 0
    for p in written:
        b = p.read_bytes()
        total += len(b)
        print(f"{hashlib.sha256(b).hexdigest()}  {len(b):8d}  {p.relative_to(HERE)}")
    print(f"total fixture bytes: {total}")


def main():
    if "--expected-only" in sys.argv[1:]:
        write_expected()
        print_written()
        return
    v = versions(safetensors=True)
    print("versions: " + " ".join(f"{k}={val}" for k, val in v.items()))
    x, y = mnist_test_flat()
    model = train(x, y)
    report_accuracy(model, x, y)
    write_keras(model)
    write_two_heads()
    write_safetensors(state_dict_f32(model))
    write_generic_h5()
    write_expected()          # reads the files just written
    print_written()


if __name__ == "__main__":
    main()
