#!/usr/bin/env bash
# ckptforget throughput benchmark: `make bench` runs this after `swift build -c release`.
#
# Prints one table: every pass family on ~1 GiB float32 checkpoints (bench/make_checkpoints.py:
# HDF5, safetensors, and, when torch and Keras are installed, a torch.save .pt and a Keras .keras
# archive), with signed records (a P-256 key from `ckptforget keygen`), against the floor measured
# in the same run,
#   cp IN OUT && openssl dgst -sha256 IN OUT
# and the same floor made durable like ckptforget's output (its commit fsyncs every file before the
# rename, as issue 14 asks),
#   cp IN OUT && sync OUT && openssl dgst -sha256 IN OUT
# and against the script a user would write (numpy + safetensors, torch.load/save, h5py in place on
# a copy). Targets: time <= 0.6 x the durable floor (the ratio to the floor without fsync is printed
# beside it), peak RSS <= 2 x largest tensor + 64 MiB (192 MiB). The snapshot and statistics passes
# read a second file whose digest their records hold, so their durable floor hashes it too.
# Pass families: class passes (dampen, zero, suppress; dampen also on a 64 MiB kernel), snapshot
# passes with --pre (negate, prune, revert), ssd with a statistics file (ckptforget stats), and the
# model pass ascent:steps=1 (the .h5 and .keras models; the engine cannot run a state dict).
# Below it: the pipeline alone (--no-sign) against cp + sync (the earlier 1.3x target), and what the
# records cost (hashing and re-reading the files alone).
# BENCH_SCALE=1 adds the scale section: an 8 GiB sharded safetensors checkpoint and a 1 GiB
# chunked gzip HDF5 (bench/make_scale.py), target time <= 1 x the floor, the same RSS bound.
# A final section (bench/fisher_bench.py) times the exact Fisher diagonals on the seed MLP
# (784-200-200-10, 10,000 MNIST images): the engine in-process with the data in memory
# (engine-bench, built by `swift build -c release`), run alternately with numpy (the Dense identity
# on OpenBLAS, also compute only) in BENCH_FISHER_ROUNDS rounds, JAX (jit(vmap(grad)) per-sample
# gradients), and the whole `ckptforget stats --fisher exact` command (reported, not the target);
# target: engine-bench >= 1 x numpy's samples/s (median of the per-round ratios).
# The engine-speed section (bench/engine_speed.py) times engine-bench's forward and batch:64 Fisher
# passes on keras.applications MobileNetV2 (96x96, random weights) and an LSTM text classifier
# against JAX's jit on CPU, alternating in BENCH_ENGINE_SPEED_ROUNDS rounds, after checking that
# the engine's outputs agree with JAX's and the Fisher of `ckptforget stats --fisher batch:64` is within
# 1e-4 of a float64 JAX reference whose ReLU layers pass the gradient where the engine's own float32
# inputs to them say (bench/README.md, Engine speed, Agreement); goal: >= 1 x JAX.
# Off unless BENCH_ENGINE_SPEED=1: the section is long (10+ minutes).
# It is a report: it exits 0 when a target is missed, non-zero only when it cannot measure
# (missing tools, ckptforget fails, or an output is wrong). See bench/README.md.
#
# Environment:
#   CKPTFORGET      binary to measure (default: .build/release/ckptforget)
#   ENGINE_BENCH    engine-bench binary for the Fisher section (default: .build/release/engine-bench)
#   BENCH_DIR       work directory (default: bench-out/ under the repository root; gitignored)
#   BENCH_RUNS      timed runs per command (default 3; medians are reported)
#   BENCH_GIB       checkpoint size in GiB (default 1.0)
#   BENCH_FORMATS   the formats to measure (default "hdf5 safetensors pt keras"; empty: none; pt and keras need
#                   their inputs, which need torch / Keras 3 + JAX)
#   BENCH_SLOW_S    a command whose warm-up takes longer is timed once: the warm-up is its run (default 30)
#   BENCH_ASCENT    0 = leave out the model pass (ascent holds the whole model: GiBs of RSS) (default 1)
#   BENCH_SCALE     1 = add the scale section (default 0; needs about 19 GiB free)
#   BENCH_SCALE_GIB size of the sharded checkpoint in GiB (default 8; made smaller when the disk is short)
#   BENCH_GZIP_GIB  size of the gzip HDF5 file in GiB (default 1)
#   BENCH_SCALE_RUNS  timed runs per scale command (default 1)
#   BENCH_KEEP      0 = delete the generated inputs at the end (default 1: keep them for the next run)
#   PYTHON          python interpreter (default python3)
#   BENCH_FISHER    0 = skip the Fisher-diagonal section (default 1)
#   BENCH_FISHER_RUNS  timed runs per Fisher command (default 5; medians are reported)
#   BENCH_FISHER_ROUNDS  interleaved numpy / engine-bench rounds (default 3; medians over the rounds)
#   BENCH_ENGINE_SPEED  1 = run the engine-speed section (default 0: it takes 10+ min; bench/README.md,
#                   Engine speed)
#   BENCH_ENGINE_SPEED_RUNS  timed passes per engine-speed measurement (default 3)
#   BENCH_ENGINE_SPEED_ROUNDS  alternating engine-bench / JAX rounds (default 3; medians over the rounds)
#   MNIST_DIR       the gzipped MNIST IDX files for the Fisher section (default ../shared/data/mnist)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CKPTFORGET:-$ROOT/.build/release/ckptforget}
ENGINE_BENCH=${ENGINE_BENCH:-$ROOT/.build/release/engine-bench}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench-out}
RUNS=${BENCH_RUNS:-3}
GIB=${BENCH_GIB:-1.0}
FORMATS_WANTED=${BENCH_FORMATS-hdf5 safetensors pt keras}
SLOW_S=${BENCH_SLOW_S:-30}
ASCENT=${BENCH_ASCENT:-1}
SCALE=${BENCH_SCALE:-0}
SCALE_GIB=${BENCH_SCALE_GIB:-8}
GZIP_GIB=${BENCH_GZIP_GIB:-1}
SCALE_RUNS=${BENCH_SCALE_RUNS:-1}
KEEP=${BENCH_KEEP:-1}
PYTHON=${PYTHON:-python3}
FISHER=${BENCH_FISHER:-1}
FISHER_RUNS=${BENCH_FISHER_RUNS:-5}
FISHER_ROUNDS=${BENCH_FISHER_ROUNDS:-3}
ENGINE_SPEED=${BENCH_ENGINE_SPEED:-0}
ENGINE_SPEED_RUNS=${BENCH_ENGINE_SPEED_RUNS:-3}
ENGINE_SPEED_ROUNDS=${BENCH_ENGINE_SPEED_ROUNDS:-3}
CHECK=$ROOT/bench/bench_check.py
USER_SCRIPTS=$ROOT/bench/user_scripts.py
TIME_TARGET=0.6          # x the durable floor, signed (issue 16)
SCALE_TIME_TARGET=1.0    # x the durable floor, at scale (issue 16)
PIPELINE_TARGET=1.3      # x cp, --no-sign (the earlier target, kept as a check on the pipeline alone)

die() { echo "bench: $*" >&2; exit 1; }
rule() { printf '%s\n' "----------------------------------------------------------------------------------------------------"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
gib_bytes() { "$PYTHON" -c "import sys; print(int(float(sys.argv[1]) * 2**30))" "$1"; }
q() { printf '%q ' "$@"; }

# ---------------------------------------------------------------------------------- preflight
for v in RUNS FISHER_RUNS FISHER_ROUNDS ENGINE_SPEED_RUNS ENGINE_SPEED_ROUNDS SCALE_RUNS SLOW_S; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ -x $BIN ]] || die "no ckptforget binary at $BIN; build it with 'swift build -c release' (or set CKPTFORGET=path)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [[ $FISHER == 1 || $ENGINE_SPEED == 1 ]]; then
    [[ -x $ENGINE_BENCH ]] || die "no engine-bench binary at $ENGINE_BENCH (the Fisher and engine-speed sections need it); build it with" \
        "'swift build -c release --product engine-bench' (or set ENGINE_BENCH=path, or BENCH_FISHER=0 BENCH_ENGINE_SPEED=0 to skip them)"
    ENGINE_BENCH=$(cd "$(dirname "$ENGINE_BENCH")" && pwd)/$(basename "$ENGINE_BENCH")
fi
command -v openssl >/dev/null || die "the floor is 'cp + openssl dgst -sha256': install openssl (apt-get install openssl)"
if ! "$PYTHON" -c 'import h5py, numpy, safetensors' 2>/dev/null; then
    echo "bench: $PYTHON cannot import h5py, numpy and safetensors, which generate and check the checkpoints." >&2
    echo "bench: install them with:  $PYTHON -m pip install h5py numpy safetensors" >&2
    exit 1
fi

# GNU time, for %M: the peak resident set size in KiB.
gnu_time_ok() { [[ -x /usr/bin/time ]] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; }
if ! gnu_time_ok; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "bench: /usr/bin/time (GNU time) is missing; installing it with apt-get (running as root)"
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; then
            { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time; } >/dev/null || true
        fi
    fi
    gnu_time_ok || die "GNU time is needed at /usr/bin/time to measure peak RSS: run 'sudo apt-get install time'"
fi


mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)
WORK=$BENCH_DIR/work
rm -rf "$WORK"
mkdir -p "$WORK/t" "$WORK/out"
cleanup() {
    rm -rf "$WORK"
    if [[ $KEEP != 1 ]]; then
        rm -f "$BENCH_DIR"/bench_mlp.{h5,safetensors,pt,keras} "$BENCH_DIR"/bench_mlp_pre.{h5,safetensors,pt,keras} \
            "$BENCH_DIR"/bench_checkpoints.json "$BENCH_DIR"/bench_data.h5 "$BENCH_DIR"/bench_stats{,_sd,_keras}.h5 \
            "$BENCH_DIR"/bench_companions.json "$BENCH_DIR"/bench_gzip.h5 "$BENCH_DIR"/bench_scale.json
        rm -rf "$BENCH_DIR"/bench_sharded
        rm -f "$BENCH_DIR"/seed_mlp.h5 "$BENCH_DIR"/mnist10k.h5 "$BENCH_DIR"/mnist10k_forget2.h5 \
            "$BENCH_DIR"/mnist10k_retain2.h5 "$BENCH_DIR"/fisher_inputs.json
        rm -rf "$BENCH_DIR"/fisher-work
        rmdir "$BENCH_DIR" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# Space: per GiB of model, 4 inputs + 4 --pre snapshots + 3 statistics files of 3 GiB (ckptforget
# stats writes the forget, retain and full diagonals) + an output and a kept reference output
# (+ slack), less what already exists.
need=$(gib_bytes "$("$PYTHON" -c "import sys; print(20 * float(sys.argv[1]))" "$GIB")")
for f in "$BENCH_DIR"/bench_mlp{,_pre}.{h5,safetensors,pt,keras} "$BENCH_DIR"/bench_stats{,_sd,_keras}.h5; do
    [[ -f $f ]] && need=$((need - $(stat -c %s "$f")))
done
avail=$(df -P -B1 "$BENCH_DIR" | awk 'NR==2 {print $4}')
if ((avail < need)); then
    die "$BENCH_DIR has $((avail >> 20)) MiB free; the benchmark needs about $((need >> 20)) MiB (set BENCH_DIR elsewhere, or a smaller BENCH_GIB)"
fi

# ---------------------------------------------------------------------------------- machine
fs_line=$(df -P -T "$BENCH_DIR" | awk 'NR==2 {print $2 " on " $1 ", mounted at " $7}')
mount_opts=$(awk -v m="$(df -P "$BENCH_DIR" | awk 'NR==2 {print $6}')" '$2 == m {o = $4} END {print o}' /proc/mounts 2>/dev/null || true)
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
echo "ckptforget benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
rule
echo "machine:     $(nproc) CPUs, ${cpu_model:-unknown CPU}, ${mem_total:-? GiB} RAM, kernel $(uname -sr)"
echo "bench dir:   $BENCH_DIR ($fs_line${mount_opts:+, options $mount_opts})"
echo "ckptforget:  $BIN ($("$BIN" --version 2>&1 | head -1))"
echo "cp:          $(command -v cp) ($(cp --version 2>/dev/null | head -1 || echo unknown)); $(openssl version)"
echo "python:      $("$PYTHON" -c 'import sys, h5py, numpy, safetensors; print(sys.version.split()[0], "h5py", h5py.__version__, "(HDF5", h5py.version.hdf5_version + ")", "numpy", numpy.__version__, "safetensors", safetensors.__version__)')"
echo "method:      $RUNS rounds, each running every command once (starting command rotates); medians reported;"
echo "             one untimed warm-up of each command first (inputs in the page cache, outputs checked);"
echo "             a command whose warm-up takes over ${SLOW_S} s is timed once (its warm-up); outputs are deleted"
echo "             and 'sync' run before every timed run (untimed)"
echo "load:        $(loadavg) (1, 5, 15 min) before the runs"
rule

# ---------------------------------------------------------------------------------- inputs
"$PYTHON" "$ROOT/bench/make_checkpoints.py" "$BENCH_DIR" --gib "$GIB" --pre
"$PYTHON" "$ROOT/bench/make_companions.py" "$BENCH_DIR" --bin "$BIN"
KEY=$WORK/signer.pem
"$BIN" keygen -o "$KEY" >/dev/null
rule

# timed RECORD CMDLINE: runs CMDLINE (bash -c) under GNU time; appends "wall_s rss_kib user_s sys_s"
# to RECORD. Its stdout and stderr go to $WORK/cmd.log, shown when it fails.
timed() {
    local record=$1 cmdline=$2 t0 t1 rss user sys
    sync
    t0=$EPOCHREALTIME
    if ! /usr/bin/time -f '%M %U %S' -o "$WORK/time.txt" bash -c "$cmdline" >"$WORK/cmd.log" 2>&1; then
        cat "$WORK/cmd.log" >&2
        die "command failed: $cmdline"
    fi
    t1=$EPOCHREALTIME
    read -r rss user sys < <(tail -1 "$WORK/time.txt")
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $rss $user $sys" >>"$record"
}
clean_out() { rm -rf "$WORK/out"; mkdir -p "$WORK/out"; sync; }
last_wall() { tail -1 "$1" | cut -d' ' -f1; }

# row SECTION FORMAT FAMILY LABEL DESCRIPTION BASELINE TARGET RSS_LIMIT_KIB: a line of the tables.
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$WORK/rows.tsv"; }
: >"$WORK/rows.tsv"

# The commands of one format: LABELS in order, CMD[label] a bash command line, CHECK[label] what
# to check after its warm-up (content:LAYER, records, leftover:LAYER, keep), and the table rows.
declare -A CMD CHECKS
declare -a LABELS
add() { LABELS+=("$1"); CMD[$1]=$2; CHECKS[$1]=${3:-}; }

# check_output FMT LABEL IN OUT: the warm-up's output is what the command should give.
check_output() {
    local fmt=$1 label=$2 input=$3 out=$4 what
    for what in ${CHECKS[$label]}; do
        case $what in
            records) "$BIN" verify "$out.manifest.json" --key "${KEY%.pem}.pub.pem" >"$WORK/verify.log" 2>&1 \
                         || { cat "$WORK/verify.log" >&2; die "$label: the records of $out do not verify"; } ;;
            content:*) "$PYTHON" "$CHECK" verify "$input" "$out" "${what#content:}" >/dev/null ;;
            leftover:*)
                local layer=${what#leftover:} datasets
                datasets=$("$PYTHON" -c 'import h5py, sys
f = h5py.File(sys.argv[1], "r"); g = f["model_weights/" + sys.argv[2]]; names = []
g.visititems(lambda n, o: names.append(o.name) if isinstance(o, h5py.Dataset) else None); print(" ".join(names))' "$input" "$layer")
                read -r left changed < <("$PYTHON" "$USER_SCRIPTS" leftover "$input" "$out" $datasets)
                LEFTOVER+=("$(printf '%-12s %-30s %s of the %s stored blocks it changed still hold the old bytes' "$fmt" "$label" "$left" "$changed")") ;;
            keep) rm -f "$WORK/ref.$fmt"; mv "$out" "$WORK/ref.$fmt" ;;
        esac
    done
}

# measure FMT RUNS: warm-up of every command (checked), then RUNS rounds with a rotating start.
measure() {
    local fmt=$1 runs=$2 label i j rec warm
    local -a round=()
    echo "  warm-up (untimed unless slower than ${SLOW_S} s; outputs checked):"
    for label in "${LABELS[@]}"; do
        rec=$WORK/t/$fmt.$label.txt warm=$WORK/t/$fmt.$label.warm
        : >"$rec"
        clean_out
        timed "$warm" "${CMD[$label]}"
        check_output "$fmt" "$label" "$INPUT" "$OUT"
        if awk -v w="$(last_wall "$warm")" -v s="$SLOW_S" 'BEGIN {exit !(w > s)}'; then
            cat "$warm" >>"$rec"
            : >"$WORK/t/$fmt.$label.slow"
            printf '    %-10s %8.2f s  (slow: this is its one timed run)\n' "$label" "$(last_wall "$warm")"
        else
            round+=("$label")
            printf '    %-10s %8.2f s\n' "$label" "$(last_wall "$warm")"
        fi
    done
    clean_out
    for ((i = 1; i <= runs; i++)); do
        local line="  run $i:"
        for ((j = 0; j < ${#round[@]}; j++)); do
            label=${round[$(((i - 1 + j) % ${#round[@]}))]}
            clean_out
            timed "$WORK/t/$fmt.$label.txt" "${CMD[$label]}"
        done
        for label in "${round[@]}"; do line+=$(printf ' %s %.2f' "$label" "$(last_wall "$WORK/t/$fmt.$label.txt")"); done
        echo "$line"
    done
    clean_out
}

declare -a LEFTOVER=()
LIMIT_KIB=0
FORMATS=()
for fmt in $FORMATS_WANTED; do
    case $fmt in
        hdf5) ext=h5 ;; safetensors) ext=safetensors ;; pt) ext=pt ;; keras) ext=keras ;;
        *) die "BENCH_FORMATS: unknown format '$fmt' (hdf5, safetensors, pt, keras)" ;;
    esac
    if [[ -f $BENCH_DIR/bench_mlp.$ext ]]; then FORMATS+=("$fmt"); else echo "$fmt: no $BENCH_DIR/bench_mlp.$ext (see above); left out"; fi
done

for fmt in "${FORMATS[@]}"; do
    case $fmt in
        hdf5) ext=h5 head=output stats=bench_stats.h5 engine=1 user=h5py ;;
        safetensors) ext=safetensors head=head stats=bench_stats_sd.h5 engine=0 user=safetensors ;;
        pt) ext=pt head=head stats=bench_stats_sd.h5 engine=0 user=torch ;;
        keras) ext=keras head=output stats=bench_stats_keras.h5 engine=1 user= ;;
    esac
    INPUT=$BENCH_DIR/bench_mlp.$ext
    PRE=$BENCH_DIR/bench_mlp_pre.$ext
    OUT=$WORK/out/out.$ext
    size=$(stat -c %s "$INPUT")
    largest=$("$PYTHON" "$CHECK" largest "$INPUT")
    limit=$(((2 * largest + 64 * 1048576) / 1024))
    big=$("$PYTHON" "$CHECK" last-hidden "$INPUT")
    # A state dict does not say which layer is the classifier (and `head` sorts before `layers.*`),
    # so safetensors and .pt runs name it; the .h5 and .keras models' configs declare it.
    ol=""; [[ $fmt == safetensors || $fmt == pt ]] && ol="--output-layer head"
    ck="$(q "$BIN" "$INPUT")"
    signed="-o $(q "$OUT") -q --sign-key $(q "$KEY")"
    nosign="-o $(q "$OUT") -q --no-sign"
    LABELS=()
    add floor "cp $(q "$INPUT" "$OUT") && openssl dgst -sha256 $(q "$INPUT" "$OUT") >/dev/null"
    add dfloor "cp $(q "$INPUT" "$OUT") && sync $(q "$OUT") && openssl dgst -sha256 $(q "$INPUT" "$OUT") >/dev/null"
    add cp "exec cp $(q "$INPUT" "$OUT")"
    add dcp "cp $(q "$INPUT" "$OUT") && exec sync $(q "$OUT")"
    # The snapshot and statistics passes read a second file and their records hold its digest too:
    # their floor hashes it as well (1 GiB of PRE, 3 GiB of STATS).
    add pfloor "cp $(q "$INPUT" "$OUT") && sync $(q "$OUT") && openssl dgst -sha256 $(q "$INPUT" "$PRE" "$OUT") >/dev/null"
    add sfloor "cp $(q "$INPUT" "$OUT") && sync $(q "$OUT") && openssl dgst -sha256 $(q "$INPUT" "$BENCH_DIR/$stats" "$OUT") >/dev/null"
    # Its output is kept (keep) for hash-out below; an HDF5 one is searched for the old bytes first.
    dampen_checks="records content:$head"
    [[ $fmt == hdf5 ]] && dampen_checks+=" leftover:output"
    add dampen "exec $ck --pass dampen:0.01 --class 2 $ol $signed" "$dampen_checks keep"
    add zero "exec $ck --pass zero --class 2 $ol $signed" records
    add suppress "exec $ck --pass suppress --class 2 $ol $signed" records
    add dampen64 "exec $ck --pass dampen:0.01 --class 2 --output-layer $(q "$big") $signed" "records content:$big"
    add negate "exec $ck --pre $(q "$PRE") --pass negate:0.5 $signed" records
    add prune "exec $ck --pre $(q "$PRE") --pass prune:top=1% $signed" records
    add revert "exec $ck --pre $(q "$PRE") --pass revert:alpha=1,dw=0.002,select=dw $signed" records
    add ssd "exec $ck --stats $(q "$BENCH_DIR/$stats") --pass ssd $signed" records
    if [[ $engine == 1 && $ASCENT == 1 ]]; then
        add ascent "exec $ck --data $(q "$BENCH_DIR/bench_data.h5") --class 2 --pass ascent:steps=1 $signed" records
    fi
    case $user in
        safetensors) add user "exec $(q "$PYTHON" "$USER_SCRIPTS" safetensors "$INPUT" "$OUT" head)" "content:head" ;;
        torch) add user "exec $(q "$PYTHON" "$USER_SCRIPTS" torch "$INPUT" "$OUT" head)" "content:head" ;;
        h5py) add user "cp $(q "$INPUT" "$OUT") && exec $(q "$PYTHON" "$USER_SCRIPTS" h5py "$OUT" output)" "content:output leftover:output" ;;
    esac
    add nosign "exec $ck --pass dampen:0.01 --class 2 $ol $nosign" "content:$head"
    add nosign64 "exec $ck --pass dampen:0.01 --class 2 --output-layer $(q "$big") $nosign" "content:$big"
    add hash-in "exec openssl dgst -sha256 $(q "$INPUT") >/dev/null"
    add read-in "exec cat $(q "$INPUT") >/dev/null"
    add hash-out "exec openssl dgst -sha256 $(q "$WORK/ref.$fmt") >/dev/null"
    add floor2 "cp $(q "$INPUT" "$OUT") && { openssl dgst -sha256 $(q "$INPUT") >/dev/null & openssl dgst -sha256 $(q "$OUT") >/dev/null; wait; }"
    # The schedule the records could have where the backend cannot stream the bytes (HDF5, .keras):
    # the input hashed while the rewrite runs (as now), the output as soon as the rewrite ends,
    # while the input's hash may still be running (ckptforget now waits for the input's first).
    add overlap "openssl dgst -sha256 $(q "$INPUT") >/dev/null & $ck --pass dampen:0.01 --class 2 $ol $nosign && openssl dgst -sha256 $(q "$OUT") >/dev/null; wait"

    t=$TIME_TARGET
    row main "$fmt" floor floor "cp IN OUT && openssl dgst -sha256 IN OUT" floor "" ""
    row main "$fmt" floor dfloor "the same with sync OUT (fsync) after cp: durable, as ckptforget's output" dfloor "" ""
    row main "$fmt" class dampen "dampen:0.01 --class 2" dfloor "$t" "$limit"
    row main "$fmt" class zero "zero --class 2" dfloor "$t" "$limit"
    row main "$fmt" class suppress "suppress --class 2" dfloor "$t" "$limit"
    row main "$fmt" class dampen64 "dampen:0.01 --class 2 --output-layer $big (64 MiB kernel)" dfloor "$t" "$limit"
    row main "$fmt" floor pfloor "the durable floor hashing PRE too: the snapshot rows' floor" pfloor "" ""
    row main "$fmt" snapshot negate "negate:0.5 --pre PRE" pfloor "$t" "$limit"
    row main "$fmt" snapshot prune "prune:top=1% --pre PRE" pfloor "$t" "$limit"
    row main "$fmt" snapshot revert "revert:alpha=1,dw=0.002,select=dw --pre PRE" pfloor "$t" "$limit"
    row main "$fmt" floor sfloor "the durable floor hashing STATS too: the statistics row's floor" sfloor "" ""
    row main "$fmt" statistics ssd "ssd --stats $stats ($(mib "$(stat -c %s "$BENCH_DIR/$stats")") MiB)" sfloor "$t" "$limit"
    if [[ $engine == 1 && $ASCENT == 1 ]]; then
        row main "$fmt" model ascent "ascent:steps=1 --data bench_data.h5 --class 2 (40 samples)" dfloor "$t" "$limit"
    fi
    case $user in
        safetensors) row main "$fmt" "user script" user "numpy + safetensors: load_file, edit, save_file" dfloor "" "" ;;
        torch) row main "$fmt" "user script" user "torch.load, edit, torch.save" dfloor "" "" ;;
        h5py) row main "$fmt" "user script" user "cp, then h5py in place (r+)" dfloor "" "" ;;
    esac
    row pipeline "$fmt" cp cp "cp IN OUT" cp "" ""
    row pipeline "$fmt" cp dcp "cp IN OUT && sync OUT (fsync: durable, as ckptforget's output)" dcp "" ""
    row pipeline "$fmt" class nosign "dampen:0.01 --class 2 --no-sign" dcp "$PIPELINE_TARGET" "$limit"
    row pipeline "$fmt" class nosign64 "dampen:0.01 --class 2 --output-layer $big --no-sign" dcp "$PIPELINE_TARGET" "$limit"
    row records "$fmt" floor floor "cp IN OUT && openssl dgst -sha256 IN OUT" floor "" ""
    row records "$fmt" floor floor2 "cp IN OUT, then openssl dgst of IN and of OUT at once" floor "" ""
    row records "$fmt" ckptforget dampen "signed (--sign-key)" floor "" ""
    row records "$fmt" ckptforget nosign "--no-sign" floor "" ""
    row records "$fmt" emulated overlap "openssl dgst IN & (--no-sign run, then openssl dgst OUT)" floor "" ""
    row records "$fmt" alone hash-in "openssl dgst -sha256 IN" floor "" ""
    row records "$fmt" alone hash-out "openssl dgst -sha256 OUT (the signed run's output)" floor "" ""
    row records "$fmt" alone read-in "cat IN >/dev/null (reading it again, no hashing)" floor "" ""

    echo "$fmt: $INPUT ($(mib "$size") MiB, largest tensor $(mib "$largest") MiB), --pre $(basename "$PRE"), --stats $stats"
    # hash-out hashes the signed dampen run's output, kept by its warm-up: run that first.
    measure "$fmt" "$RUNS"
    rm -f "$WORK/ref.$fmt"
    rule
done
LOAD_MAIN=$(loadavg)

# ---------------------------------------------------------------------------------- scale (opt-in)
if [[ $SCALE == 1 ]]; then
    echo "SCALE: a sharded safetensors checkpoint of ${SCALE_GIB} GiB and a chunked gzip HDF5 of ${GZIP_GIB} GiB (BENCH_SCALE=1)"
    have=0
    [[ -d $BENCH_DIR/bench_sharded ]] && have=$((have + $(du -sb "$BENCH_DIR/bench_sharded" | cut -f1)))
    [[ -f $BENCH_DIR/bench_gzip.h5 ]] && have=$((have + $(stat -c %s "$BENCH_DIR/bench_gzip.h5")))
    avail=$(df -P -B1 "$BENCH_DIR" | awk 'NR==2 {print $4}')
    # Input + output of each, and 1 GiB of slack.
    usable=$((avail + have - $(gib_bytes 1)))
    fit=$("$PYTHON" -c "import sys; a, g, s = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
n = min(s, (a / 2**30 - 2 * g) / 2); print(max(0.0, int(n * 16) / 16))" "$usable" "$GZIP_GIB" "$SCALE_GIB")
    short=0
    if awk -v f="$fit" -v s="$SCALE_GIB" 'BEGIN {exit !(f < s)}'; then
        if awk -v f="$fit" 'BEGIN {exit !(f < 1)}'; then
            short=1
            echo "  skipped: $BENCH_DIR has $((avail >> 20)) MiB free, less than a 1 GiB sharded checkpoint needs in and out"
        else
            echo "  $BENCH_DIR has $((avail >> 20)) MiB free: not enough for ${SCALE_GIB} GiB in and out; the sharded checkpoint is ${fit} GiB instead"
            SCALE_GIB=$fit
        fi
    fi
    if ((!short)); then
        "$PYTHON" "$ROOT/bench/make_scale.py" "$BENCH_DIR" --sharded-gib "$SCALE_GIB" --gzip-gib "$GZIP_GIB"
        # Sharded safetensors: the output is a directory ckptforget wants to exist.
        fmt=sharded INPUT=$BENCH_DIR/bench_sharded OUT=$WORK/out/sharded
        largest=$("$PYTHON" -c 'import json, struct, sys, pathlib
d = pathlib.Path(sys.argv[1]); best = 0
for shard in set(json.loads((d / "model.safetensors.index.json").read_text())["weight_map"].values()):
    with open(d / shard, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8)); h = json.loads(f.read(n))
    best = max([best] + [e["data_offsets"][1] - e["data_offsets"][0] for k, e in h.items() if k != "__metadata__"])
print(best)' "$INPUT")
        limit=$(((2 * largest + 64 * 1048576) / 1024))
        big=$("$PYTHON" -c 'import json, sys; m = json.load(open(sys.argv[1]))["weight_map"]
print("layers.%d" % max(int(k.split(".")[1]) for k in m if k.startswith("layers.")))' "$INPUT/model.safetensors.index.json")
        ck="mkdir -p $(q "$OUT") && exec $(q "$BIN" "$INPUT")"
        signed="-o $(q "$OUT") -q --sign-key $(q "$KEY")"
        LABELS=()
        add floor "cp -r $(q "$INPUT" "$OUT") && openssl dgst -sha256 $(printf '%q/* ' "$INPUT" "$OUT")>/dev/null"
        add dfloor "cp -r $(q "$INPUT" "$OUT") && sync $(printf '%q/* ' "$OUT") && openssl dgst -sha256 $(printf '%q/* ' "$INPUT" "$OUT")>/dev/null"
        add dampen "$ck --pass dampen:0.01 --class 2 --output-layer head $signed" records
        add dampen64 "$ck --pass dampen:0.01 --class 2 --output-layer $big $signed" records
        shards=$(find "$INPUT" -name '*.safetensors' | wc -l)
        echo "$fmt: $INPUT ($(mib "$(du -sb "$INPUT" | cut -f1)") MiB in $shards shards, largest tensor $(mib "$largest") MiB)"
        row scale "$fmt" floor floor "${SCALE_GIB} GiB, $shards shards: cp -r IN OUT && openssl dgst (all files)" floor "" ""
        row scale "$fmt" floor dfloor "the same with sync OUT/* (fsync) after cp: durable" dfloor "" ""
        row scale "$fmt" class dampen "dampen:0.01 --class 2 --output-layer head" dfloor "$SCALE_TIME_TARGET" "$limit"
        row scale "$fmt" class dampen64 "dampen:0.01 --class 2 --output-layer $big (64 MiB kernel)" dfloor "$SCALE_TIME_TARGET" "$limit"
        measure "$fmt" "$SCALE_RUNS"
        rule
        # Chunked gzip HDF5: the edited kernel is decompressed and compressed again.
        fmt=gzip INPUT=$BENCH_DIR/bench_gzip.h5 OUT=$WORK/out/out.h5
        largest=$("$PYTHON" "$CHECK" largest "$INPUT")
        limit=$(((2 * largest + 64 * 1048576) / 1024))
        big=$("$PYTHON" "$CHECK" last-hidden "$INPUT")
        ck="exec $(q "$BIN" "$INPUT")"
        signed="-o $(q "$OUT") -q --sign-key $(q "$KEY")"
        LABELS=()
        add floor "cp $(q "$INPUT" "$OUT") && openssl dgst -sha256 $(q "$INPUT" "$OUT") >/dev/null"
        add dfloor "cp $(q "$INPUT" "$OUT") && sync $(q "$OUT") && openssl dgst -sha256 $(q "$INPUT" "$OUT") >/dev/null"
        add dampen "$ck --pass dampen:0.01 --class 2 $signed" "records content:output leftover:output"
        add dampen64 "$ck --pass dampen:0.01 --class 2 --output-layer $(q "$big") $signed" "records content:$big leftover:$big"
        add user "cp $(q "$INPUT" "$OUT") && exec $(q "$PYTHON" "$USER_SCRIPTS" h5py "$OUT" output)" "content:output leftover:output"
        echo "$fmt: $INPUT ($(mib "$(stat -c %s "$INPUT")") MiB, chunked, gzip level 4 + shuffle)"
        row scale "$fmt" floor floor "${GZIP_GIB} GiB gzip HDF5: cp IN OUT && openssl dgst -sha256 IN OUT" floor "" ""
        row scale "$fmt" floor dfloor "the same with sync OUT (fsync) after cp: durable" dfloor "" ""
        row scale "$fmt" class dampen "dampen:0.01 --class 2" dfloor "$SCALE_TIME_TARGET" "$limit"
        row scale "$fmt" class dampen64 "dampen:0.01 --class 2 --output-layer $big (64 MiB kernel)" dfloor "$SCALE_TIME_TARGET" "$limit"
        row scale "$fmt" "user script" user "cp, then h5py in place (r+)" dfloor "" ""
        measure "$fmt" "$SCALE_RUNS"
        rule
    fi
fi

# ---------------------------------------------------------------------------------- the table
echo "RESULTS  $(date -u '+%Y-%m-%d %H:%M UTC'); median of $RUNS runs (scale: $SCALE_RUNS), inputs in the page cache;"
echo "load average before the runs: see above; after the pass table: $LOAD_MAIN; now: $(loadavg)"
echo "targets: signed runs <= ${TIME_TARGET} x the durable floor (scale: <= ${SCALE_TIME_TARGET} x), peak RSS <= 2 x largest tensor + 64 MiB;"
echo "         the durable floor fsyncs OUT as ckptforget's commit must; 'vs floor' is the ratio to the floor without it."
echo "         --no-sign <= ${PIPELINE_TARGET} x cp + sync ('vs floor': x cp alone). 'runs' 1* = one run (its warm-up was slower than ${SLOW_S} s)."
echo
missed=0
"$PYTHON" "$ROOT/bench/bench_table.py" "$WORK" --markdown "$BENCH_DIR/bench_table.md" || { rc=$?; ((rc == 10)) && missed=1 || die "bench_table.py failed"; }
if ((${#LEFTOVER[@]})); then
    echo "Old bytes left in the output (stored blocks of the edited datasets whose bytes changed, searched for in the output):"
    for line in "${LEFTOVER[@]}"; do echo "  $line"; done
    echo
fi
echo "(the tables in Markdown: $BENCH_DIR/bench_table.md)"
# ---------------------------------------------------------------------------------- engine sections
# python_section LABEL SCRIPT RUNS ROUNDS HEADER...: runs bench/SCRIPT, which prints its own table and
# a JSON summary line and exits 0 (target met), 10 (missed), 3 (Keras/JAX missing: skipped) or
# anything else (cannot measure, or disagreement: the bench stops).
python_section() {
    local label=$1 script=$2 runs=$3 rounds=$4 rc=0
    shift 4
    rule
    printf '%s\n' "$@"
    echo
    "$PYTHON" "$ROOT/bench/$script" "$BENCH_DIR" --bin "$BIN" --engine-bin "$ENGINE_BENCH" --runs "$runs" --rounds "$rounds" || rc=$?
    case $rc in
        0) ;;
        10) missed=1 ;;
        3) echo "($label section skipped: see above)" ;;
        *) die "the $label benchmark could not measure or disagreed (bench/$script exited $rc)" ;;
    esac
    rule
}
# fisher_bench.py: the engine's exact Fisher (engine-bench) and the whole `stats` command vs numpy and JAX.
if [[ $FISHER == 1 ]]; then
    python_section Fisher-diagonal fisher_bench.py "$FISHER_RUNS" "$FISHER_ROUNDS" \
        "FISHER DIAGONALS: the engine (engine-bench, in-process, data in memory) and the whole 'ckptforget stats --fisher exact'" \
        "command vs numpy (Dense identity, OpenBLAS) and JAX (jit(vmap(grad)))" \
        "target: engine-bench samples/s >= 1 x numpy's (both compute only, environment as is; median of $FISHER_ROUNDS per-round ratios)"
fi
# engine_speed.py: forward and batch Fisher on MobileNetV2 and an LSTM vs JAX, after its agreement checks.
if [[ $ENGINE_SPEED == 1 ]]; then
    python_section engine-speed engine_speed.py "$ENGINE_SPEED_RUNS" "$ENGINE_SPEED_ROUNDS" \
        "ENGINE SPEED: engine-bench (forward, --fisher batch:64; in-process, data in memory) vs JAX jit on CPU," \
        "MobileNetV2 96x96 and an LSTM text classifier; goal: engine samples/s >= 1 x JAX's (median of $ENGINE_SPEED_ROUNDS per-round ratios)"
fi
if ((missed)); then
    echo "RESULT: at least one target MISSED (FAIL above). This is a report; exiting 0."
else
    echo "RESULT: all targets met."
fi
if [[ $KEEP == 1 ]]; then
    echo "(generated inputs kept in $BENCH_DIR for the next run; delete that directory to reclaim $(du -sh "$BENCH_DIR" | cut -f1))"
fi
exit 0
