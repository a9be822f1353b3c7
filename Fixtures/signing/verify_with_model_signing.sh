#!/usr/bin/env bash
# Check a ckptforget `.sig` (OpenSSF Model Signing v1.0) with the real verifier:
#     Fixtures/signing/verify_with_model_signing.sh MODEL SIG PUBKEY
# MODEL is the signed file or directory, SIG the signature file, PUBKEY the SPKI
# PEM public key. Prints what model_signing said; exits with its status.
# A developer tool, not part of the test suite. Needs python3 + pip (PyPI).
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 MODEL SIG PUBKEY" >&2
    exit 2
fi
MODEL=$1 SIG=$2 PUBKEY=$3
PY=${PYTHON:-python3}

if ! "$PY" - <<'PYEOF' 2>/dev/null
import importlib.metadata as m, OpenSSL  # the 1.1.1 wheel needs pyopenssl
assert m.version("model-signing") == "1.1.1"
PYEOF
then
    echo "model-signing 1.1.1 (with pyopenssl) is not installed for $PY;" >&2
    echo "installing: $PY -m pip install model-signing==1.1.1 pyopenssl" >&2
    "$PY" -m pip install --quiet 'model-signing==1.1.1' pyopenssl >&2 || {
        echo "pip install failed; install model-signing==1.1.1 and pyopenssl by hand" >&2
        exit 3
    }
fi

# Run the CLI through the interpreter that has the package.
"$PY" -m model_signing verify key "$MODEL" --signature "$SIG" --public_key "$PUBKEY"
status=$?
echo "model_signing verify key exited with status $status" >&2
exit $status
