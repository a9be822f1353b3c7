#!/usr/bin/env bash
# Forgetting quality benchmark: ckptforget's passes (ssd hand-tuned and alpha=auto, ascent, finetune,
# dampen) vs retraining from scratch, on a Keras MNIST CNN and the seed MLP, plus the relabel task; ssd and
# ascent also on a residual CNN and an LSTM classifier (issue 19).
#
#   bash bench/quality/run.sh [extra quality.py options, e.g. --runs 1 --archs rescnn,lstm --no-relabel]
#
# Builds the release binary (unless CKPTFORGET names one), prints the machine, then runs
# bench/quality/quality.py, which writes its inputs, models, results.md and results.json to
# QUALITY_DIR (default bench-out/quality under the repository root; gitignored).
# See bench/quality/README.md.
#
# Environment:
#   CKPTFORGET   binary to use (default: .build/release/ckptforget, built here)
#   QUALITY_DIR  work directory (default: <repo>/bench-out/quality)
#   MNIST_DIR    the gzipped MNIST test-set IDX files (default: <repo>/../shared/data/mnist)
#   PYTHON       python interpreter with keras 3, jax, numpy, h5py (default python3)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PYTHON=${PYTHON:-python3}
export KERAS_BACKEND=${KERAS_BACKEND:-jax}
export QUALITY_DIR=${QUALITY_DIR:-$ROOT/bench-out/quality}

if [[ -z "${CKPTFORGET:-}" ]]; then
  (cd "$ROOT" && swift build -c release 2>&1 | tail -1)
  export CKPTFORGET=$ROOT/.build/release/ckptforget
fi
[[ -x "$CKPTFORGET" ]] || { echo "run.sh: $CKPTFORGET is not executable" >&2; exit 1; }

if ! "$PYTHON" -c 'import keras, jax, numpy, h5py' 2>/dev/null; then
  echo "run.sh: $PYTHON needs keras 3, jax, numpy and h5py (scipy for the MIA refit): pip install 'keras>=3' jax numpy h5py scipy" >&2
  exit 1
fi

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/{print $2}') GiB RAM, $(uname -sr)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary:  $CKPTFORGET ($("$CKPTFORGET" --version 2>&1 | head -1))"
mkdir -p "$QUALITY_DIR"
exec "$PYTHON" "$ROOT/bench/quality/quality.py" --work "$QUALITY_DIR" --bin "$CKPTFORGET" "$@"
