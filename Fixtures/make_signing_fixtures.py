#!/usr/bin/env python3
"""Regenerate the signing fixtures in Fixtures/signing/ (see signing/README.md).

    pip install model-signing==1.1.1 pyopenssl securesystemslib
    python3 Fixtures/make_signing_fixtures.py            # make what is missing, verify all
    python3 Fixtures/make_signing_fixtures.py --resign   # re-sign the ECDSA files

Keys are made once with the `openssl` CLI and then reused. ECDSA signatures are
randomised, so existing `.sig` / `dsse_p256.json` files are kept (and verified)
unless --resign is given; everything else is rewritten byte-identically.
model_signing is run with PYTHONHASHSEED=0: the order of its `ignore_paths`
follows Python's string hashing. (The key order inside `predicate`,
`serialization` and each resource comes from protobuf's Struct map and varies
from run to run regardless.)

After the fixtures, a set of probes runs model_signing against hand-made
variants of the bundles (in a temporary directory) and asserts the outcome
documented in the README. Exit status 0 means every assertion held.
"""

import base64
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

HERE = Path(__file__).resolve().parent
OUT = HERE / "signing"
RESIGN = "--resign" in sys.argv[1:]

MS_VERSION = "1.1.1"
INTOTO_TYPE = "application/vnd.in-toto+json"
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
OMS_PREDICATE = "https://model_signing/signature/v1.0"
GIT_PATHS = {".git", ".gitattributes", ".github", ".gitignore"}

MS_ENV = dict(os.environ, PYTHONHASHSEED="0")


def run(cmd, cwd=OUT, check=True):
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=MS_ENV,
                       capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"FAILED ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout}{p.stderr}")
    return p


# ---------------------------------------------------------------- keys

KEYS = {
    "p256": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p384": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
    "p521": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
    "ed25519": ["genpkey", "-algorithm", "ed25519"],
    "other_p256": ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "p256_ecparam": ["ecparam", "-name", "prime256v1", "-genkey"],
}


def make_keys():
    for name, args in KEYS.items():
        priv, pub = OUT / f"{name}.pem", OUT / f"{name}.pub.pem"
        if not priv.exists():
            run(["openssl", *args, "-out", priv.name])
            print(f"generated {priv.name}")
        if not pub.exists():
            run(["openssl", "pkey", "-in", priv.name, "-pubout", "-out", pub.name])


def load_priv(name):
    return serialization.load_pem_private_key((OUT / f"{name}.pem").read_bytes(), None)


def load_pub(name):
    return serialization.load_pem_public_key((OUT / f"{name}.pub.pem").read_bytes())


def key_hint(name):
    """model_signing's hint: hex SHA-256 of the SPKI *PEM text* (not the DER)."""
    pem = load_pub(name).public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    assert pem == (OUT / f"{name}.pub.pem").read_bytes(), "openssl PEM != cryptography PEM"
    return hashlib.sha256(pem).hexdigest()


# ---------------------------------------------------------------- models

def det_bytes(seed: bytes, n: int) -> bytes:
    out, block = b"", seed
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:n]


MODEL_FILES = {
    "a/x": b"x\n",
    "a-c": b"ac\n",
    "a.b": b"ab\n",
    "weights.bin": det_bytes(b"ckptforget model/weights.bin", 100),
    ".hidden": b"h\n",
}


def make_models():
    model = OUT / "model"
    if model.exists():
        shutil.rmtree(model)
    for rel, data in MODEL_FILES.items():
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        (model / rel).write_bytes(data)
    (OUT / "single.bin").write_bytes(det_bytes(b"ckptforget single.bin", 2048))


# ---------------------------------------------------------------- DSSE, own code

def pae(payload_type: str, body: bytes) -> bytes:
    t = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def sign_raw(priv, data: bytes) -> bytes:
    if isinstance(priv, ed25519.Ed25519PrivateKey):
        return priv.sign(data)
    h = {256: hashes.SHA256, 384: hashes.SHA384, 521: hashes.SHA512}[priv.curve.key_size]
    return priv.sign(data, ec.ECDSA(h()))


def make_bundle(payload: bytes, sig: bytes, hint: str) -> dict:
    # Same field order as model_signing writes.
    return {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
        "dsseEnvelope": {"payload": b64(payload), "payloadType": INTOTO_TYPE,
                         "signatures": [{"sig": b64(sig), "keyid": ""}]},
    }


def dump_bundle(bundle: dict) -> str:
    return json.dumps(bundle, separators=(",", ":"))  # compact, no newline, like model_signing


def test_statement() -> bytes:
    st = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "single.bin",
                     "digest": {"sha256": hashlib.sha256((OUT / "single.bin").read_bytes()).hexdigest()}}],
        "predicateType": "https://example.com/test/v1",
        "predicate": {"note": "made by Python cryptography"},
    }
    return json.dumps(st, separators=(",", ":")).encode("utf-8")


def verify_dsse_bundle(path: Path, keyname: str):
    """Check one DSSE bundle three ways: cryptography, securesystemslib, openssl CLI."""
    bundle = json.loads(path.read_text())
    env = bundle["dsseEnvelope"]
    assert bundle["verificationMaterial"]["publicKey"]["hint"] == key_hint(keyname)
    payload = base64.b64decode(env["payload"], validate=True)
    sig = base64.b64decode(env["signatures"][0]["sig"], validate=True)
    m = pae(env["payloadType"], payload)
    pub = load_pub(keyname)
    if isinstance(pub, ed25519.Ed25519PublicKey):
        pub.verify(sig, m)
        cli = ["pkeyutl", "-verify", "-pubin", "-inkey", f"{keyname}.pub.pem", "-rawin"]
    else:
        pub.verify(sig, m, ec.ECDSA(hashes.SHA256()))
        cli = ["dgst", "-sha256", "-verify", f"{keyname}.pub.pem"]
    # securesystemslib. Note: SSlibKey.from_crypto(pub, keyid="") silently replaces
    # "" by a computed keyid, so build the key by hand to keep keyid "".
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import SSlibKey
    k = SSlibKey.from_crypto(pub)
    k = SSlibKey("", k.keytype, k.scheme, k.keyval)
    Envelope.from_dict(copy.deepcopy(env)).verify([k], 1)
    # openssl CLI
    with tempfile.TemporaryDirectory() as td:
        (Path(td) / "pae.bin").write_bytes(m)
        (Path(td) / "sig.bin").write_bytes(sig)
        if cli[0] == "pkeyutl":
            cli += ["-in", f"{td}/pae.bin", "-sigfile", f"{td}/sig.bin"]
        else:
            cli += ["-signature", f"{td}/sig.bin", f"{td}/pae.bin"]
        run(["openssl", *cli])
    print(f"verified {path.name} (cryptography, securesystemslib, openssl {cli[0]})")


def make_dsse():
    payload = test_statement()
    for keyname, fname in [("ed25519", "dsse_ed25519.json"), ("p256", "dsse_p256.json")]:
        path = OUT / fname
        if keyname == "ed25519" or RESIGN or not path.exists():
            sig = sign_raw(load_priv(keyname), pae(INTOTO_TYPE, payload))
            path.write_text(dump_bundle(make_bundle(payload, sig, key_hint(keyname))))
        verify_dsse_bundle(path, keyname)


def make_pae_vectors():
    cases = [
        ("http://example.com/HelloWorld", b"hello world"),
        ("application/vnd.in-toto+json", "{\"note\":\"Grüße, 日本 ✓\"}".encode("utf-8")),
        ("application/vnd.in-toto+json", b""),
    ]
    vectors = []
    for t, body in cases:
        vectors.append({"type": t, "body_b64": b64(body), "pae_b64": b64(pae(t, body))})
    assert base64.b64decode(vectors[0]["pae_b64"]) == \
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    (OUT / "pae_vectors.json").write_text(json.dumps(vectors, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- model_signing

def ms_sign(model, key, sig, cwd=OUT):
    run(["model_signing", "sign", "key", model, "--private_key", key, "--signature", sig], cwd=cwd)


def ms_verify(model, sig, pub, cwd=OUT):
    p = run(["model_signing", "verify", "key", model, "--signature", sig, "--public_key", pub],
            cwd=cwd, check=False)
    return p.returncode == 0, (p.stdout + p.stderr).strip()


def oms_payload(sig_path: Path) -> dict:
    b = json.loads(sig_path.read_text())
    return json.loads(base64.b64decode(b["dsseEnvelope"]["payload"]))


def check_oms(sig_name, keyname, model_rel):
    """Independent reading of a real OMS signature: fields, hint, PAE, resources, root."""
    sig_path = OUT / sig_name
    b = json.loads(sig_path.read_text())
    assert list(b) == ["mediaType", "verificationMaterial", "dsseEnvelope"]
    assert b["mediaType"] == BUNDLE_MEDIA_TYPE
    assert b["verificationMaterial"] == {"publicKey": {"hint": key_hint(keyname)}, "tlogEntries": []}
    env = b["dsseEnvelope"]
    assert list(env) == ["payload", "payloadType", "signatures"]
    assert env["payloadType"] == INTOTO_TYPE and len(env["signatures"]) == 1
    assert env["signatures"][0]["keyid"] == ""
    payload = base64.b64decode(env["payload"], validate=True)
    sig = base64.b64decode(env["signatures"][0]["sig"], validate=True)
    pub = load_pub(keyname)
    h = {256: hashes.SHA256, 384: hashes.SHA384, 521: hashes.SHA512}[pub.curve.key_size]
    pub.verify(sig, pae(INTOTO_TYPE, payload), ec.ECDSA(h()))
    st = json.loads(payload)
    # payload text is protobuf's MessageToJson: indent 2, ", " / ": ", no trailing newline
    assert payload.decode() == json.dumps(st, indent=2, ensure_ascii=False)
    assert list(st) == ["_type", "subject", "predicateType", "predicate"]
    assert st["predicateType"] == OMS_PREDICATE and len(st["subject"]) == 1
    model = OUT / model_rel
    if model.is_file():
        expect = [(".", hashlib.sha256(model.read_bytes()).digest())]
    else:
        files = [p for p in model.rglob("*") if p.is_file()]
        files.sort(key=lambda p: p.relative_to(model).parts)  # component-wise order
        expect = [(p.relative_to(model).as_posix(), hashlib.sha256(p.read_bytes()).digest())
                  for p in files]
    res = st["predicate"]["resources"]
    assert [(r["name"], bytes.fromhex(r["digest"])) for r in res] == expect, res
    assert all(r["algorithm"] == "sha256" for r in res)
    root = hashlib.sha256(b"".join(d for _, d in expect)).hexdigest()
    assert st["subject"][0] == {"name": model.name, "digest": {"sha256": root}}
    ser = st["predicate"]["serialization"]
    assert ser["method"] == "files" and ser["hash_type"] == "sha256" and ser["allow_symlinks"] is False
    assert set(ser["ignore_paths"]) == GIT_PATHS, ser
    ok, msg = ms_verify(model_rel, sig_name, f"{keyname}.pub.pem")
    assert ok, msg
    print(f"verified {sig_name} (model_signing verify key + own checks), root {root[:16]}...")


def make_oms():
    for model, sig, key in [("single.bin", "single.bin.sig", "p256"),
                            ("model", "model.sig", "p256"),
                            ("single.bin", "single.bin.p384.sig", "p384")]:
        if RESIGN or not (OUT / sig).exists():
            ms_sign(model, f"{key}.pem", sig)
        check_oms(sig, key, model)


# ---------------------------------------------------------------- probes

def probes():
    """Run model_signing on variants; assert what it accepts and rejects."""
    results = []

    def expect(label, ok_expected, ok_msg):
        ok, msg = ok_msg
        last = msg.splitlines()[-1] if msg else ""
        results.append(f"{'accept' if ok else 'REJECT'}  {label}: {last[:150]}")
        assert ok == ok_expected, f"{label}: expected {'accept' if ok_expected else 'reject'}: {msg}"

    p256 = load_priv("p256")
    hint = key_hint("p256")
    pub = str(OUT / "p256.pub.pem")

    with tempfile.TemporaryDirectory() as td:
        td = Path(td)
        shutil.copytree(OUT / "model", td / "model")
        shutil.copy(OUT / "single.bin", td / "single.bin")
        base = json.loads((OUT / "model.sig").read_text())
        st = oms_payload(OUT / "model.sig")

        def bundle_file(name, bundle, pretty=False):
            (td / name).write_text(json.dumps(bundle, indent=2 if pretty else None))
            return name

        def own_sig(name, statement, payload_text=None, mutate=None, key=p256, h=hint):
            payload = (payload_text or json.dumps(statement, separators=(",", ":"))).encode()
            b = make_bundle(payload, sign_raw(key, pae(INTOTO_TYPE, payload)), h)
            if mutate:
                mutate(b)
            return bundle_file(name, b)

        def verify(model, sig, pubkey=pub):
            return ms_verify(model, sig, pubkey, cwd=td)

        # JSON layout of the bundle file itself
        rev = {k: base[k] for k in reversed(list(base))}
        rev["dsseEnvelope"] = {k: base["dsseEnvelope"][k] for k in reversed(list(base["dsseEnvelope"]))}
        expect("bundle keys in reverse order", True, verify("model", bundle_file("rev.sig", rev)))
        expect("bundle pretty-printed (indent 2)", True, verify("model", bundle_file("pretty.sig", base, True)))
        expect("own signer, compact sorted payload", True,
               verify("model", own_sig("own.sig", st, json.dumps(st, sort_keys=True, separators=(",", ":")))))

        # ignore_paths variants (signature outside the model)
        def with_ignore(paths):
            s = copy.deepcopy(st)
            if paths is None:
                del s["predicate"]["serialization"]["ignore_paths"]
            else:
                s["predicate"]["serialization"]["ignore_paths"] = paths
            return s
        expect("ignore_paths []", True, verify("model", own_sig("ig0.sig", with_ignore([]))))
        expect("ignore_paths absent", True, verify("model", own_sig("ig1.sig", with_ignore(None))))
        expect("ignore_paths ['model.sig'] (sig outside)", True,
               verify("model", own_sig("ig2.sig", with_ignore(["model.sig"]))))
        expect("ignore_paths ['weights.bin'] hides a signed file", False,
               verify("model", own_sig("ig3.sig", with_ignore(["weights.bin"]))))

        # signature inside the model directory
        ms_sign("model", pub.replace(".pub.pem", ".pem"), "model/model.sig", cwd=td)
        inside = oms_payload(td / "model/model.sig")["predicate"]["serialization"]["ignore_paths"]
        assert set(inside) == GIT_PATHS | {"model.sig"}, inside
        results.append(f"info    real tool, sig inside model/: ignore_paths = {sorted(inside)}")
        expect("real sig inside model/", True, verify("model", "model/model.sig"))
        (td / "model/own.sig").write_text((td / own_sig("x.sig", with_ignore([]))).read_text())
        expect("own sig inside model/ while another .sig is there, not listed", False,
               verify("model", "model/own.sig"))
        (td / "model/model.sig").unlink()
        expect("own sig inside model/, ignore_paths [] (CLI ignores --signature itself)", True,
               verify("model", "model/own.sig"))
        (td / "model/own.sig").unlink()

        # things that must be rejected (or notably not)
        b = copy.deepcopy(base); b["extra"] = 1
        expect("extra top-level bundle field", False, verify("model", bundle_file("x1.sig", b)))
        b = copy.deepcopy(base); b["dsseEnvelope"]["extra"] = 1
        expect("extra dsseEnvelope field", False, verify("model", bundle_file("x2.sig", b)))
        b = copy.deepcopy(base); b["verificationMaterial"]["publicKey"]["hint"] = "00" * 32
        expect("wrong hint", False, verify("model", bundle_file("x3.sig", b)))
        b = copy.deepcopy(base); del b["verificationMaterial"]["publicKey"]["hint"]
        expect("hint absent (prints a WARNING)", True, verify("model", bundle_file("x4.sig", b)))
        b = copy.deepcopy(base); b["dsseEnvelope"]["signatures"][0]["keyid"] = "abc"
        expect("keyid non-empty", True, verify("model", bundle_file("x5.sig", b)))
        b = copy.deepcopy(base); b["dsseEnvelope"]["payload"] = b["dsseEnvelope"]["payload"].rstrip("=")
        expect("payload base64 without padding", False, verify("model", bundle_file("x6.sig", b)))
        expect("wrong public key (other_p256)", False,
               verify("model", "rev.sig", str(OUT / "other_p256.pub.pem")))
        expect("wrong public key, hint absent (ECDSA check fails)", False,
               verify("model", "x4.sig", str(OUT / "other_p256.pub.pem")))
        ms_sign("model", OUT / "p521.pem", "p521.sig", cwd=td)
        assert len(base64.b64decode(json.loads((td / "p521.sig").read_text())
                                    ["dsseEnvelope"]["signatures"][0]["sig"])) > 130
        expect("signed with P-521 (ECDSA/SHA-512)", True,
               verify("model", "p521.sig", str(OUT / "p521.pub.pem")))
        ms_sign("model", OUT / "p256_ecparam.pem", "ecparam.sig", cwd=td)
        expect("signed with the `openssl ecparam -genkey` key", True,
               verify("model", "ecparam.sig", str(OUT / "p256_ecparam.pub.pem")))
        s = copy.deepcopy(st); s["subject"][0]["name"] = "not-the-dir-name"
        expect("subject name != directory name", True, verify("model", own_sig("x7.sig", s)))
        s = copy.deepcopy(st); s["predicate"]["extra"] = {"a": 1}
        s["subject"][0]["annotations"] = {"b": 2}
        expect("unknown keys in predicate / subject annotations", True, verify("model", own_sig("x8.sig", s)))
        s = copy.deepcopy(st); s["subject"][0]["digest"]["sha256"] = "00" * 32
        expect("wrong root digest", False, verify("model", own_sig("x9.sig", s)))
        s = copy.deepcopy(st); s["predicate"]["resources"].reverse(); fix_root(s)
        expect("resources in another order (root recomputed for that order)", True,
               verify("model", own_sig("x10.sig", s)))
        s = copy.deepcopy(st); s["predicateType"] = "https://example.com/other"
        expect("other predicateType", False, verify("model", own_sig("x11.sig", s)))
        expect("P-256 sig checked with P-384 key", False,
               verify("model", "rev.sig", str(OUT / "p384.pub.pem")))

        (td / "model/weights.bin").write_bytes(b"X" + MODEL_FILES["weights.bin"][1:])
        expect("changed byte", False, verify("model", "rev.sig"))
        (td / "model/weights.bin").write_bytes(MODEL_FILES["weights.bin"])
        (td / "model/new").write_bytes(b"n")
        expect("extra file", False, verify("model", "rev.sig"))
        (td / "model/new").unlink()
        (td / "model/.gitignore").write_bytes(b"n")
        expect("extra .gitignore (git paths ignored)", True, verify("model", "rev.sig"))
        (td / "model/.gitignore").unlink()
        (td / "model/a-c").unlink()
        expect("missing file", False, verify("model", "rev.sig"))

        # single-file model: resource name must be "."
        s1 = oms_payload(OUT / "single.bin.sig")
        s1["predicate"]["resources"][0]["name"] = "single.bin"
        expect("single file, resource named 'single.bin' instead of '.'", False,
               verify("single.bin", own_sig("s1.sig", s1)))
        p = run(["model_signing", "sign", "key", "single.bin", "--private_key",
                 OUT / "ed25519.pem", "--signature", "ed.sig"], cwd=td, check=False)
        results.append(f"{'accept' if p.returncode == 0 else 'REJECT'}  sign with Ed25519 key: "
                       f"{(p.stdout + p.stderr).strip().splitlines()[-1]}")
        assert p.returncode != 0

    print("probes (model_signing %s verify key):" % MS_VERSION)
    for r in results:
        print("  " + r)


def fix_root(s):
    """Set the subject digest to SHA-256 of the resources' raw digests, in list order."""
    root = hashlib.sha256(b"".join(bytes.fromhex(r["digest"]) for r in s["predicate"]["resources"]))
    s["subject"][0]["digest"]["sha256"] = root.hexdigest()


def main():
    import model_signing
    assert model_signing.__version__ == MS_VERSION, model_signing.__version__
    assert shutil.which("model_signing"), "model_signing CLI not on PATH"
    OUT.mkdir(exist_ok=True)
    make_keys()
    make_models()
    make_pae_vectors()
    make_dsse()
    make_oms()
    if "--no-probes" not in sys.argv[1:]:
        probes()
    print("all checks passed")


if __name__ == "__main__":
    main()
