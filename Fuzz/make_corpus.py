#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (Fuzz/corpus/NAME/) from the repository's fixtures, plus a
few hand-made edge cases. Small on purpose: real headers and configs, not whole checkpoints (the
zip and torch seeds are whole archives, the smaller of the fixtures and hand-made ones).

Needs python3 with h5py (for the Keras model_config attributes). The two signed records under
dsse-bundle come from ckptforget itself; to remake them, build it and run with SOURCE_DATE_EPOCH=0:
  ckptforget Fixtures/safetensors/sharded/model-00002-of-00002.safetensors --pass dampen:0.5 --class 1 \
      -o out.safetensors --sign-key Fixtures/signing/p256.pem
and copy out.safetensors.sig and out.safetensors.manifest.json into Fuzz/corpus/dsse-bundle/.
"""
import base64
import gzip
import io
import json
import struct
import zipfile
import zlib
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


class Pickle:
    """A pickle written opcode by opcode (protocol 2, as torch.save writes a state dict), like
    Tests/CheckpointTests/PickleBytes.swift: no torch needed, and any field can be what a damaged
    or hostile file would hold."""

    def __init__(self):
        self.b = bytearray(b"\x80\x02")

    def op(self, code):
        self.b += bytes([code])

    def string(self, text):
        data = text.encode()
        self.b += b"X" + struct.pack("<I", len(data)) + data

    def int(self, value):
        if 0 <= value < 256:
            self.b += b"K" + bytes([value])
        elif -2**31 <= value < 2**31:
            self.b += b"J" + struct.pack("<i", value)
        else:
            data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
            self.b += b"\x8a" + bytes([len(data)]) + data

    def float(self, value):
        self.b += b"G" + struct.pack(">d", value)

    def glob(self, module, name):
        self.b += b"c" + f"{module}\n{name}\n".encode()

    def put(self, index):
        self.b += b"q" + bytes([index]) if index < 256 else b"r" + struct.pack("<I", index)

    def get(self, index):
        self.b += b"h" + bytes([index]) if index < 256 else b"j" + struct.pack("<I", index)

    def ints(self, values):
        self.op(0x28)
        for v in values:
            self.int(v)
        self.op(0x74)

    def ordered_dict(self):
        self.glob("collections", "OrderedDict")
        self.op(0x29)
        self.op(0x52)

    def storage(self, key, numel, kind="FloatStorage"):
        self.op(0x28)
        self.string("storage")
        self.glob("torch.storage" if kind == "UntypedStorage" else "torch", kind)
        self.string(key)
        self.string("cpu")
        self.int(numel)
        self.op(0x74)
        self.op(0x51)  # BINPERSID

    def tensor(self, key, numel, size, stride, offset=0, kind="FloatStorage", dtype=None):
        """_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()), or _v3 with a dtype."""
        self.glob("torch._utils", "_rebuild_tensor_v3" if dtype else "_rebuild_tensor_v2")
        self.op(0x28)
        self.storage(key, numel, kind)
        self.int(offset)
        self.ints(size)
        self.ints(stride)
        self.op(0x89)
        self.ordered_dict()
        if dtype:
            self.glob("torch", dtype)
        self.op(0x74)
        self.op(0x52)

    def stop(self):
        self.op(0x2E)
        return bytes(self.b)


def hand_made_pickles():
    """State dicts of the shapes torch writes and the reader must get right: (name, pickle, records)."""
    out = []
    # A transposed Parameter and a bias sharing one storage; a module's _metadata set with BUILD.
    p = Pickle()
    p.ordered_dict(); p.put(0); p.op(0x28)
    p.string("fc.weight"); p.glob("torch._utils", "_rebuild_parameter"); p.op(0x28)
    p.tensor("0", 9, [2, 3], [1, 2]); p.op(0x88); p.ordered_dict(); p.op(0x74); p.op(0x52)
    p.string("fc.bias"); p.tensor("0", 9, [3], [1], offset=6)
    p.op(0x75)
    p.op(0x7D); p.string("_metadata"); p.ordered_dict(); p.op(0x73); p.op(0x62)
    out.append(("parameter-shared", p.stop(), {"0": 36}))
    # An expanded view (stride 0), an empty tensor, a scalar, an int64 step counter.
    p = Pickle()
    p.op(0x7D); p.op(0x28)
    p.string("expanded"); p.tensor("0", 2, [3, 2], [0, 1])
    p.string("empty"); p.tensor("1", 0, [0, 5], [5, 1])
    p.string("scalar"); p.tensor("2", 1, [], [], kind="HalfStorage")
    p.string("steps"); p.tensor("3", 1, [1], [1], kind="LongStorage")
    p.op(0x75)
    out.append(("expanded-empty-scalar", p.stop(), {"0": 8, "1": 0, "2": 2, "3": 8}))
    # Untyped storages with dtypes (torch >= 2.x for uint16 and float8), nested dicts, a list,
    # numbers and None beside the tensors, memo entries past 255.
    p = Pickle()
    p.op(0x7D); p.put(0); p.op(0x28)
    p.string("model"); p.op(0x7D); p.put(300); p.op(0x28)
    p.string("u"); p.tensor("a", 8, [4], [1], kind="UntypedStorage", dtype="uint16")
    p.string("b"); p.tensor("b", 8, [2, 2], [2, 1], kind="UntypedStorage", dtype="bfloat16")
    p.op(0x75)
    p.string("epoch"); p.int(3)
    p.string("history"); p.op(0x5D); p.float(1.5); p.op(0x61)
    p.string("none"); p.op(0x4E)
    p.string("big"); p.int(2**40)
    p.string("alias"); p.get(300)  # the same dict again: walked once
    p.op(0x75)
    out.append(("untyped-nested", p.stop(), {"a": 8, "b": 8}))
    # Every storage type once, each a one-element tensor.
    kinds = ["FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
             "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage"]
    sizes = [4, 8, 2, 2, 8, 4, 2, 1, 1, 1]
    p = Pickle()
    p.op(0x7D); p.op(0x28)
    for i, kind in enumerate(kinds):
        p.string(kind); p.tensor(str(i), 1, [1], [1], kind=kind)
    p.op(0x75)
    out.append(("every-storage", p.stop(), {str(i): n for i, n in enumerate(sizes)}))
    return out


def zip_bytes(members, comment=b"", zip64=False):
    """A zip written field by field, like Tests/CheckpointTests/ZipBytes.swift: members are
    (name, content, method); with zip64, every size and offset is in zip64 extra fields and the
    end records are zip64's."""
    out = bytearray()
    central = bytearray()
    for name, content, method in members:
        raw = name.encode()
        stored = content if method == 0 else zlib.compress(content, 9)[2:-4]
        crc = zlib.crc32(content)
        offset = len(out)
        if zip64:
            local_extra = struct.pack("<HHQQ", 1, 16, len(content), len(stored))
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc, 0xFFFFFFFF, 0xFFFFFFFF,
                               len(raw), len(local_extra)) + raw + local_extra + stored
            extra = struct.pack("<HHQQQ", 1, 24, len(content), len(stored), offset)
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x032D, 45, 0, method, 0, 0x21, crc, 0xFFFFFFFF,
                                   0xFFFFFFFF, len(raw), len(extra), 0, 0, 0, 0o100644 << 16, 0xFFFFFFFF) + raw + extra
        else:
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(stored), len(content),
                               len(raw), 0) + raw + stored
            central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, 0, method, 0, 0x21, crc, len(stored),
                                   len(content), len(raw), 0, 0, 0, 0, 0o100644 << 16, offset) + raw
    directory = len(out)
    out += central
    count = len(members)
    if zip64:
        record = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 0x032D, 45, 0, 0, count, count, len(central), directory)
        out += struct.pack("<IIQI", 0x07064B50, 0, record, 1)
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment)) + comment
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), directory, len(comment)) + comment
    return bytes(out)


def torch_archive(pickle, records, prefix="archive"):
    """A torch.save-like archive: data.pkl, byteorder, one stored record per storage (its bytes
    counting up), version."""
    members = [(f"{prefix}/data.pkl", pickle, 0), (f"{prefix}/byteorder", b"little", 0)]
    members += [(f"{prefix}/data/{key}", bytes(i % 251 for i in range(size)), 0) for key, size in records.items()]
    members.append((f"{prefix}/version", b"3\n", 0))
    return zip_bytes(members)


def streamed_zip(members):
    """What Python's zipfile writes to a stream it cannot seek: data descriptors after the data."""
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()
        def writable(self):
            return True
        def write(self, b):
            self.data += b
            return len(b)
    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, content in members:
            with z.open(name, "w") as f:
                f.write(content)
    return bytes(sink.data)


def keras_layout(deflated):
    """A .keras archive's member layout (metadata.json, config.json, model.weights.h5) with the
    fixture's real metadata and config and the first KiB of its weights; metadata and config
    deflated as Keras writes them in mnist_mlp_deflated.keras, the weights always stored."""
    source = zipfile.ZipFile(FIXTURES / "keras/mnist_mlp.keras")
    method = 8 if deflated else 0
    return zip_bytes([("metadata.json", source.read("metadata.json"), method),
                      ("config.json", source.read("config.json"), method),
                      ("model.weights.h5", source.read("model.weights.h5")[:1024], 0)])


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

    # zip-archive: the .keras member layout (stored and deflated), two small torch.save files, and
    # zips of the forms the reader must take apart: zip64 fields and end records, a comment, data
    # descriptors, no members at all.
    put("zip-archive", "keras-layout.keras", keras_layout(deflated=False))
    put("zip-archive", "keras-layout-deflated.keras", keras_layout(deflated=True))
    for path in ["torch/views.pt", "torch/gcn.pt"]:
        put("zip-archive", Path(path).name, (FIXTURES / path).read_bytes())
    two = [("config.json", b'{"a": 1}', 0), ("notes/readme.txt", b"hello hello hello hello\n", 8)]
    put("zip-archive", "zip64.zip", zip_bytes(two, zip64=True))
    put("zip-archive", "comment.zip", zip_bytes(two, comment=b"written by hand"))
    put("zip-archive", "descriptors.zip", streamed_zip([("a/data.pkl", b"\x80\x02}."), ("a/version", b"3\n")]))
    put("zip-archive", "empty.zip", zip_bytes([]))

    # torch-pickle: the fixtures' data.pkl (what torch writes), then hand-made state dicts.
    for path in ["torch/views.pt", "torch/gcn.pt", "torch/mnist_cnn.pt", "torch/mnist_cnn_bf16.pt",
                 "torch/sharded/pytorch_model-00001-of-00002.bin"]:
        archive = zipfile.ZipFile(FIXTURES / path)
        pickle = next(name for name in archive.namelist() if name.endswith("/data.pkl"))
        put("torch-pickle", Path(path).stem + ".pkl", archive.read(pickle))
    for name, pickle, _ in hand_made_pickles():
        put("torch-pickle", name + ".pkl", pickle)

    # torch-archive: the smaller torch fixtures whole (a transposed view, a graph model, a shard,
    # bfloat16), and the hand-made state dicts with records of the right lengths.
    for path in ["torch/views.pt", "torch/gcn.pt", "torch/mnist_cnn_bf16.pt", "torch/sharded/pytorch_model-00001-of-00002.bin"]:
        put("torch-archive", Path(path).name, (FIXTURES / path).read_bytes())
    for name, pickle, records in hand_made_pickles():
        put("torch-archive", name + ".pt", torch_archive(pickle, records))


if __name__ == "__main__":
    main()
