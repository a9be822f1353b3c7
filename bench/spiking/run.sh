#!/usr/bin/env bash
# Spiking-network benchmarks: the simulator's speed against snnTorch and numpy (speed.py) and the
# forgetting quality of the spiking passes (quality.py). See bench/spiking/README.md.
#
#   bash bench/spiking/run.sh
#   CKPTFORGET=/path/ckptforget ENGINE_BENCH=/path/engine-bench SPEED_RUNS=5 bash bench/spiking/run.sh
#
# Environment:
#   CKPTFORGET     the ckptforget binary (default <repo>/.build/release/ckptforget)
#   ENGINE_BENCH   the engine-bench binary (default <repo>/.build/release/engine-bench)
#   PYTHON         python 3 with numpy, h5py, torch (CPU), snntorch and nir (default python3)
#   SPIKING_OUT    where the JSON summaries and the quality Markdown go (default <repo>/bench-out)
#   SPEED_RUNS     timed passes per method and round (default 3; at least 2)
#   SPEED_ROUNDS   rounds alternating the methods (default 3)
#   SPIKING_SPEED=0 / SPIKING_QUALITY=0   skip that part
#
# Exit status: 0 when everything was measured, whether or not the targets were met (the scripts
# print PASS/MISS); 1 when something cannot be measured (a binary or package is missing, a command
# fails, the simulators disagree).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/bench/spiking
PYTHON=${PYTHON:-python3}
export CKPTFORGET=${CKPTFORGET:-$ROOT/.build/release/ckptforget}
export ENGINE_BENCH=${ENGINE_BENCH:-$ROOT/.build/release/engine-bench}
OUT=${SPIKING_OUT:-$ROOT/bench-out}
RUNS=${SPEED_RUNS:-3}
ROUNDS=${SPEED_ROUNDS:-3}

die() { echo "spiking bench: $*" >&2; exit 1; }
rule() { printf '%*s\n' 100 '' | tr ' ' -; }

[[ $RUNS =~ ^[0-9]+$ ]] && ((RUNS >= 2)) || die "SPEED_RUNS must be an integer >= 2 (got '$RUNS')"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "SPEED_ROUNDS must be a positive integer (got '$ROUNDS')"

[[ -x $CKPTFORGET ]] || die "no ckptforget binary at $CKPTFORGET (build with 'swift build -c release', or set CKPTFORGET=path)"
if [[ ${SPIKING_SPEED:-1} == 1 && ! -x $ENGINE_BENCH ]]; then
    die "no engine-bench binary at $ENGINE_BENCH (build with 'swift build -c release --product engine-bench', or set ENGINE_BENCH=path, or SPIKING_SPEED=0)"
fi
"$PYTHON" -c 'import numpy, h5py, torch, snntorch, nir' 2>/dev/null ||
    die "$PYTHON cannot import numpy, h5py, torch, snntorch and nir: $PYTHON -m pip install numpy h5py torch snntorch nir"
mkdir -p "$OUT" || die "cannot create $OUT"

rule
echo "spiking benchmarks  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:    $(nproc) CPUs, $(lscpu 2>/dev/null | awk -F': *' '/^Model name/ {print $2; exit}'), kernel $(uname -sr)"
echo "load:       $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; timings are provisional above 0.5)"
echo "ckptforget: $CKPTFORGET ($("$CKPTFORGET" --version 2>&1 | head -1))"
echo "python:     $("$PYTHON" -c 'import sys, numpy, h5py, torch, snntorch, nir; print(sys.version.split()[0], "numpy", numpy.__version__, "h5py", h5py.__version__, "torch", torch.__version__, "snntorch", snntorch.__version__, "nir", nir.__version__)')"
rule

status=0
if [[ ${SPIKING_SPEED:-1} == 1 ]]; then
    "$PYTHON" "$HERE/speed.py" --runs "$RUNS" --rounds "$ROUNDS" --json "$OUT/spiking_speed.json" || status=1
    rule
fi
if [[ ${SPIKING_QUALITY:-1} == 1 ]]; then
    "$PYTHON" "$HERE/quality.py" --json "$OUT/spiking_quality.json" | tee "$OUT/spiking_quality.md"
    [[ ${PIPESTATUS[0]} == 0 ]] || status=1
    echo "(Markdown also in $OUT/spiking_quality.md)"
    rule
fi
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
if ((status)); then
    echo "RESULT: something could not be measured (see above); exit 1"
else
    echo "RESULT: everything measured (targets: PASS/MISS above; a MISS is reported, not an error)"
fi
exit $status
