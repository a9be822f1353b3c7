#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (Fuzz/corpus/NAME/) from the repository's fixtures, plus a
few hand-made edge cases. Small on purpose: real headers and configs, not whole checkpoints.

Needs python3 with h5py (for the Keras model_config attributes). The two signed records under
dsse-bundle come from ckptforget itself; to remake them, build it and run with SOURCE_DATE_EPOCH=0:
  ckptforget Fixtures/safetensors/sharded/model-00002-of-00002.safetensors --pass dampen:0.5 --class 1 \
      -o out.safetensors --sign-key Fixtures/signing/p256.pem
and copy out.safetensors.sig and out.safetensors.manifest.json into Fuzz/corpus/dsse-bundle/.
"""
import base64
import gzip
import json
import struct
from pathlib import Path

import h5py

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Fixtures"
CORPUS = ROOT / "Fuzz" / "corpus"


def put(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def safetensors(header, data_bytes):
    text = header.encode()
    return struct.pack("<Q", len(text)) + text + bytes(data_bytes)


def npy(header, payload=b"", version=1):
    text = header.encode()
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(text)) + text + payload


def model_config(path):
    with h5py.File(FIXTURES / path, "r") as f:
        value = f.attrs["model_config"]
    return value.decode() if isinstance(value, bytes) else value


def compact_keras(config):
    """The config with only what ckptforget reads: class names, names, shapes, layer settings, links."""
    keep = {"name", "batch_shape", "batch_input_shape", "activation", "strides", "pool_size", "padding",
            "data_format", "dilation_rate", "groups", "axis", "epsilon", "units", "filters", "kernel_size"}
    root = json.loads(config)
    layers = []
    for layer in root["config"]["layers"]:
        entry = {"class_name": layer["class_name"], "config": {k: v for k, v in layer["config"].items() if k in keep}}
        if "inbound_nodes" in layer:
            entry["inbound_nodes"] = layer["inbound_nodes"]
        layers.append(entry)
    out = {"class_name": root["class_name"], "config": {"layers": layers}}
    for key in ("build_input_shape", "output_layers", "input_layers"):
        if key in root["config"]:
            out["config"][key] = root["config"][key]
    return json.dumps(out, separators=(",", ":"))


def main():
    # safetensors-header: whole small files, real headers cut from their data, hand-made cases.
    for path in ["expected/bf16_rounding_cases.safetensors", "expected/f16_rounding_cases.safetensors",
                 "expected/mlp_f16_dampen0.01_class2.safetensors", "expected/mlp_bf16_dampen0.01_class2.safetensors",
                 "safetensors/sharded/model-00002-of-00002.safetensors", "thirdparty/flax_pre.safetensors"]:
        put("safetensors-header", Path(path).name, (FIXTURES / path).read_bytes())
    for path in ["safetensors/mlp.safetensors", "thirdparty/embedding_only.safetensors"]:
        data = (FIXTURES / path).read_bytes()
        put("safetensors-header", Path(path).stem + "-header-only", data[:8 + struct.unpack("<Q", data[:8])[0]])
    put("safetensors-header", "empty", safetensors("{}", 0))
    put("safetensors-header", "two-tensors", safetensors(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2,1],"data_offsets":[8,12]}}', 12))
    put("safetensors-header", "scalar-and-empty", safetensors(
        '{"__metadata__":{"k":"v"},"s":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"e":{"dtype":"F64","shape":[0,3],"data_offsets":[2,2]}}', 2))

    # shard-index: the fixtures' indexes and a minimal one.
    put("shard-index", "sharded.index.json", (FIXTURES / "safetensors/sharded/model.safetensors.index.json").read_bytes())
    put("shard-index", "hf_vit.index.json", (FIXTURES / "thirdparty/hf_vit_sharded/model.safetensors.index.json").read_bytes())
    put("shard-index", "minimal.index.json", '{"weight_map":{"w":"model-00001-of-00001.safetensors"}}')

    # npy-header: numpy's own files (the samples cut short), every version and dtype form.
    put("npy-header", "y_small.npy", (FIXTURES / "engine/y_small.npy").read_bytes())
    put("npy-header", "x_small-cut.npy", (FIXTURES / "engine/x_small.npy").read_bytes()[:256])
    put("npy-header", "v2-uint8.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", bytes(6), version=2))
    put("npy-header", "v3-scalar.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", bytes(8), version=3))
    put("npy-header", "long-dims.npy", npy("{'descr': '<i2', 'fortran_order': False, 'shape': (1L, 0L, 2L), }\n"))
    put("npy-header", "fortran.npy", npy("{'descr': '<u4', 'fortran_order': True, 'shape': (1,), }", bytes(4)))

    # idx-header: the MNIST files' headers (labels whole), other ranks by hand.
    labels = gzip.decompress((FIXTURES / "engine/mnist_head.idx1-ubyte.gz").read_bytes())
    images = gzip.decompress((FIXTURES / "engine/mnist_head.idx3-ubyte.gz").read_bytes())
    put("idx-header", "labels.idx1-ubyte", labels)
    put("idx-header", "images-head.idx3-ubyte", images[:16 + 28 * 28])
    put("idx-header", "rank4.idx4-ubyte", bytes([0, 0, 8, 4]) + struct.pack(">IIII", 1, 2, 2, 1) + bytes(4))
    put("idx-header", "rank2.idx2-ubyte", bytes([0, 0, 8, 2]) + struct.pack(">II", 0, 7))

    # json: the statement inside a signed record, fixtures' JSON, numbers and strings at the edges.
    record = json.loads((FIXTURES / "signing/dsse_p256.json").read_text())
    put("json", "statement.json", base64.b64decode(record["dsseEnvelope"]["payload"]))
    put("json", "pae_vectors.json", (FIXTURES / "signing/pae_vectors.json").read_bytes())
    put("json", "numbers.json", '[0,-0,-0.0,1e15,1e16,9007199254740993,-9223372036854775808,1.5e-320,1e308,0.1,true,false,null]')
    put("json", "strings.json", '{"":"","\\u0000":"\\ud83d\\ude00","e\\u0301":"\\u00e9","\\"\\\\\\/\\b\\f\\n\\r\\t":[{}]}')
    put("json", "fragment.json", '"just a string"')

    # dsse-bundle: the fixtures' bundles and ckptforget's own two records.
    for path in ["signing/dsse_p256.json", "signing/dsse_ed25519.json", "signing/single.bin.sig", "signing/single.bin.p384.sig"]:
        put("dsse-bundle", Path(path).name, (FIXTURES / path).read_bytes())

    # pass-spec: one spec per pass, every key used at least once.
    specs = {
        "dampen": "dampen:0.01", "dampen-floor": "dampen:alpha=0.5,bias=floor,margin=2@dense*",
        "zero": "zero:bias=floor", "suppress": "suppress:margin=5", "randomize": "randomize:seed=3",
        "prune-theta": "prune:0.05", "prune-top": "prune:top=1%,scope=global@conv?/kernel",
        "negate": "negate:0.5", "revert": "revert:alpha=1,dw=0.005,corr=0.2", "ssd": "ssd:alpha=10,lambda=1",
        "fisher-noise": "fisher-noise:0.1,eps=1e-8,clip=1000,seed=2",
        "ascent": "ascent:steps=100,lr=0.01,batch=32,optimizer=sgd,momentum=0.9,retain=1,stop=forget_acc<=0.1,seed=3,shuffle=false",
        "ascent-adam": "ascent:steps=5,optimizer=adam",
    }
    for name, spec in specs.items():
        put("pass-spec", name, spec)

    # keras-model-config: mnist_cnn's config (whole and cut to what is read; the fuzz target has its
    # weights), and configs of other shapes: Sequential MLPs, a two-output Functional model.
    put("keras-model-config", "mnist_cnn.json", model_config("engine/mnist_cnn.h5"))
    put("keras-model-config", "mnist_cnn-compact.json", compact_keras(model_config("engine/mnist_cnn.h5")))
    put("keras-model-config", "mnist_mlp_sigmoid-compact.json", compact_keras(model_config("engine/mnist_mlp_sigmoid.h5")))
    put("keras-model-config", "two_heads-compact.json", compact_keras(model_config("keras/two_heads.h5")))
    fer = json.loads(compact_keras(model_config("thirdparty/fer_emotion_model.hdf5")))
    fer["config"]["layers"] = fer["config"]["layers"][:4]  # Keras 2 inbound_nodes
    put("keras-model-config", "fer-keras2-head.json", json.dumps(fer, separators=(",", ":")))

    # huggingface-config: a real config.json and the num_labels form.
    put("huggingface-config", "hf_vit-config.json", (FIXTURES / "thirdparty/hf_vit/config.json").read_bytes())
    put("huggingface-config", "num_labels.json", '{"num_labels":3}')


if __name__ == "__main__":
    main()
