#!/usr/bin/env bash
# ckptforget throughput benchmark: `make bench` runs this after `swift build -c release`.
#
# Generates a ~1 GiB float32 checkpoint in each format (bench/make_checkpoints.py: HDF5, safetensors,
# and, when torch and Keras are installed, a torch.save .pt and a Keras .keras archive), then times
#   cp IN OUT
#   ckptforget IN --pass dampen:0.01 --class 2 -o OUT -q
# and reports the ratio and ckptforget's peak RSS against the targets
#   time      <= 1.3 x cp
#   peak RSS  <= 2 x largest tensor + 64 MiB
# A second run per format forces the output layer onto the last hidden layer (a 64 MiB kernel), so
# that a largest-size tensor is actually read, edited and written (the RSS target's worst case).
# A final section (bench/fisher_bench.py) times the exact Fisher diagonals on the seed MLP
# (784-200-200-10, 10,000 MNIST images): the engine in-process with the data in memory
# (engine-bench, built by `swift build -c release`), run alternately with numpy (the Dense identity
# on OpenBLAS, also compute only) in BENCH_FISHER_ROUNDS rounds, JAX (jit(vmap(grad)) per-sample
# gradients), and the whole `ckptforget stats --fisher exact` command (reported, not the target);
# target: engine-bench >= 1 x numpy's samples/s (median of the per-round ratios).
# It is a report: it exits 0 when a target is missed, non-zero only when it cannot measure
# (missing tools, ckptforget fails, or an output is wrong). See bench/README.md.
#
# Environment:
#   CKPTFORGET      binary to measure (default: .build/release/ckptforget)
#   ENGINE_BENCH    engine-bench binary for the Fisher section (default: .build/release/engine-bench)
#   BENCH_DIR       work directory (default: bench-out/ under the repository root; gitignored)
#   BENCH_RUNS      timed runs per command (default 3; medians are reported)
#   BENCH_GIB       checkpoint size in GiB (default 1.0)
#   BENCH_BIG_EDIT  0 = skip the 64 MiB-edit runs (default 1)
#   BENCH_KEEP      0 = delete the generated inputs at the end (default 1: keep them for the next run)
#   PYTHON          python interpreter (default python3)
#   BENCH_FISHER    0 = skip the Fisher-diagonal section (default 1)
#   BENCH_FISHER_RUNS  timed runs per Fisher command (default 5; medians are reported)
#   BENCH_FISHER_ROUNDS  interleaved numpy / engine-bench rounds (default 3; medians over the rounds)
#   MNIST_DIR       the gzipped MNIST IDX files for the Fisher section (default ../shared/data/mnist)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${CKPTFORGET:-$ROOT/.build/release/ckptforget}
ENGINE_BENCH=${ENGINE_BENCH:-$ROOT/.build/release/engine-bench}
BENCH_DIR=${BENCH_DIR:-$ROOT/bench-out}
RUNS=${BENCH_RUNS:-3}
GIB=${BENCH_GIB:-1.0}
BIG_EDIT=${BENCH_BIG_EDIT:-1}
KEEP=${BENCH_KEEP:-1}
PYTHON=${PYTHON:-python3}
FISHER=${BENCH_FISHER:-1}
FISHER_RUNS=${BENCH_FISHER_RUNS:-5}
FISHER_ROUNDS=${BENCH_FISHER_ROUNDS:-3}
CHECK=$ROOT/bench/bench_check.py
TIME_RATIO_TARGET=1.3
PASS_ARGS=(--pass dampen:0.01 --class 2)

die() { echo "bench: $*" >&2; exit 1; }
rule() { printf '%s\n' "----------------------------------------------------------------------------------------------------"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }

# ---------------------------------------------------------------------------------- preflight
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer (got '$RUNS')"
[[ $FISHER_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_FISHER_RUNS must be a positive integer (got '$FISHER_RUNS')"
[[ $FISHER_ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_FISHER_ROUNDS must be a positive integer (got '$FISHER_ROUNDS')"
[[ -x $BIN ]] || die "no ckptforget binary at $BIN; build it with 'swift build -c release' (or set CKPTFORGET=path)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [[ $FISHER == 1 ]]; then
    [[ -x $ENGINE_BENCH ]] || die "no engine-bench binary at $ENGINE_BENCH (the Fisher section needs it); build it with" \
        "'swift build -c release --product engine-bench' (or set ENGINE_BENCH=path, or BENCH_FISHER=0 to skip the section)"
    ENGINE_BENCH=$(cd "$(dirname "$ENGINE_BENCH")" && pwd)/$(basename "$ENGINE_BENCH")
fi

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
mkdir -p "$WORK"
cleanup() {
    rm -rf "$WORK"
    if [[ $KEEP != 1 ]]; then
        rm -f "$BENCH_DIR"/bench_mlp.h5 "$BENCH_DIR"/bench_mlp.safetensors "$BENCH_DIR"/bench_mlp.pt "$BENCH_DIR"/bench_mlp.keras \
            "$BENCH_DIR"/bench_checkpoints.json
        rm -f "$BENCH_DIR"/seed_mlp.h5 "$BENCH_DIR"/mnist10k.h5 "$BENCH_DIR"/mnist10k_forget2.h5 \
            "$BENCH_DIR"/mnist10k_retain2.h5 "$BENCH_DIR"/fisher_inputs.json
        rm -rf "$BENCH_DIR"/fisher-work
        rmdir "$BENCH_DIR" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# Space: four inputs + one output at a time (+ slack), less the inputs that already exist.
need=$("$PYTHON" -c "import sys; print(int(5.2 * float(sys.argv[1]) * 2**30))" "$GIB")
for f in "$BENCH_DIR"/bench_mlp.h5 "$BENCH_DIR"/bench_mlp.safetensors "$BENCH_DIR"/bench_mlp.pt "$BENCH_DIR"/bench_mlp.keras; do
    [[ -f $f ]] && need=$((need - $(stat -c %s "$f")))
done
avail=$(df -P -B1 "$BENCH_DIR" | awk 'NR==2 {print $4}')
if ((avail < need)); then
    die "$BENCH_DIR has $((avail >> 20)) MiB free; the benchmark needs about $((need >> 20)) MiB (set BENCH_DIR elsewhere)"
fi

# ---------------------------------------------------------------------------------- machine
fs_line=$(df -P -T "$BENCH_DIR" | awk 'NR==2 {print $2 " on " $1 ", mounted at " $7}')
mount_opts=$(awk -v m="$(df -P "$BENCH_DIR" | awk 'NR==2 {print $6}')" '$2 == m {o = $4} END {print o}' /proc/mounts 2>/dev/null || true)
cpu_model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
mem_total=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
echo "ckptforget benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
rule
echo "machine:     $(nproc) CPUs, ${cpu_model:-unknown CPU}, ${mem_total:-? GiB} RAM, kernel $(uname -sr)"
echo "bench dir:   $BENCH_DIR ($fs_line${mount_opts:+, options $mount_opts})"
echo "ckptforget:  $BIN ($("$BIN" --version 2>&1 | head -1))"
echo "cp:          $(command -v cp) ($(cp --version 2>/dev/null | head -1 || echo unknown))"
echo "python:      $("$PYTHON" -c 'import sys, h5py, numpy, safetensors; print(sys.version.split()[0], "h5py", h5py.__version__, "(HDF5", h5py.version.hdf5_version + ")", "numpy", numpy.__version__, "safetensors", safetensors.__version__)')"
echo "method:      $RUNS rounds, each running every command once (starting command rotates); medians reported;"
echo "             the output is deleted and 'sync' run before and after every timed run (untimed)"
rule

# ---------------------------------------------------------------------------------- inputs
"$PYTHON" "$ROOT/bench/make_checkpoints.py" "$BENCH_DIR" --gib "$GIB"
rule

# run_timed LABEL OUT CMD...: runs CMD under GNU time; appends "wall_s rss_kib user_s sys_s" to
# $WORK/LABEL.txt. OUT is removed and dirty pages flushed before and after, outside the timing.
run_timed() {
    local label=$1 out=$2; shift 2
    local t0 t1 rss user sys
    rm -f "$out" "$out.sig" "$out.manifest.json"
    sync
    t0=$EPOCHREALTIME
    /usr/bin/time -f '%M %U %S' -o "$WORK/time.txt" "$@" || die "command failed: $*"
    t1=$EPOCHREALTIME
    [[ -s $out ]] || die "no output file after: $*"
    read -r rss user sys <"$WORK/time.txt"
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') $rss $user $sys" >>"$WORK/$label.txt"
    rm -f "$out" "$out.sig" "$out.manifest.json"
    sync
}
last_wall() { tail -1 "$WORK/$1.txt" | cut -d' ' -f1; }

# stat FILE COLUMN median|min|max
stat_of() {
    awk -v c="$2" '{print $c}' "$1" | sort -g | awk -v what="$3" '{v[NR] = $1} END {
        if (what == "min") print v[1]; else if (what == "max") print v[NR];
        else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

declare -a ROWS=() INFO=() CPU=() SPREAD=() SIGNING=()
missed=0
FORMATS=(hdf5 safetensors)
[[ -f $BENCH_DIR/bench_mlp.pt ]] && FORMATS+=(pt)
[[ -f $BENCH_DIR/bench_mlp.keras ]] && FORMATS+=(keras)
for fmt in "${FORMATS[@]}"; do
    case $fmt in
        hdf5) input=$BENCH_DIR/bench_mlp.h5; ext=h5; head=output ;;
        safetensors) input=$BENCH_DIR/bench_mlp.safetensors; ext=safetensors; head=head ;;
        pt) input=$BENCH_DIR/bench_mlp.pt; ext=pt; head=head ;;
        keras) input=$BENCH_DIR/bench_mlp.keras; ext=keras; head=output ;;
    esac
    out=$WORK/out.$ext
    size=$(stat -c %s "$input")
    largest=$("$PYTHON" "$CHECK" largest "$input")
    limit_kib=$(((2 * largest + 64 * 1048576) / 1024))
    big=$("$PYTHON" "$CHECK" last-hidden "$input")

    # Scenarios: name, output layer, ckptforget command.
    # A state dict does not say which layer is the classifier, and `head` sorts before `layers.*`,
    # so ckptforget refuses to guess: safetensors and .pt runs name the output layer explicitly.
    # A .keras archive's config.json declares it.
    scenarios=("$fmt-head")
    # The time target is for the pipeline itself (--no-sign: no records); the signed runs are
    # measured beside it against the floor the issue sets for them: cp plus hashing both files.
    if [[ $fmt == safetensors || $fmt == pt ]]; then
        ck_head=("$BIN" "$input" "${PASS_ARGS[@]}" --output-layer head -o "$out" -q --no-sign)
    else
        ck_head=("$BIN" "$input" "${PASS_ARGS[@]}" -o "$out" -q --no-sign)
    fi
    ck_big=("$BIN" "$input" "${PASS_ARGS[@]}" --output-layer "$big" -o "$out" -q --no-sign)
    ck_signed=("${ck_head[@]/--no-sign/--sign-key}" "$WORK/signer.pem")
    [[ -f $WORK/signer.pem ]] || "$BIN" keygen -o "$WORK/signer.pem" >/dev/null
    [[ $BIG_EDIT == 1 ]] && scenarios+=("$fmt-big")

    echo "$fmt: $input ($(mib "$size") MiB, largest tensor $(mib "$largest") MiB)"
    echo "  cp:          cp \$IN \$OUT"
    echo "  ckptforget:  ${ck_head[*]/#$BENCH_DIR/\$BENCH_DIR}"
    [[ $BIG_EDIT == 1 ]] && echo "  64 MiB edit: ${ck_big[*]/#$BENCH_DIR/\$BENCH_DIR}"
    # Caches are not dropped (that needs root and is unreliable in VMs and containers). Instead one
    # untimed warm-up run of each command puts the input in the page cache, so cp and ckptforget
    # both read from memory and the comparison is of the copy/edit work itself. The warm-up
    # outputs are checked against the input with h5py/safetensors.
    echo "  warm-up (untimed; puts the input in the page cache for cp and ckptforget alike):"
    rm -f "$out"; cp "$input" "$out"; cmp -s "$input" "$out" || die "cp made a different copy?"; rm -f "$out"
    "${ck_head[@]}" || die "ckptforget failed on $input"
    "$PYTHON" "$CHECK" verify "$input" "$out" "$head"
    rm -f "$out"
    if [[ $BIG_EDIT == 1 ]]; then
        "${ck_big[@]}" || die "ckptforget failed on $input (--output-layer $big)"
        "$PYTHON" "$CHECK" verify "$input" "$out" "$big"
        rm -f "$out"
    fi
    sync

    for label in cp "${scenarios[@]}" signed floor; do : >"$WORK/$fmt-$label.txt"; done
    # One round runs every command once; the starting command rotates from round to round, so no
    # command always follows the same one (each run reuses the page-cache pages the previous freed).
    round=(cp "$fmt-head")
    [[ $BIG_EDIT == 1 ]] && round+=("$fmt-big")
    round+=(signed floor)
    for ((i = 1; i <= RUNS; i++)); do
        for ((j = 0; j < ${#round[@]}; j++)); do
            label=${round[$(((i - 1 + j) % ${#round[@]}))]}
            case $label in
                cp) run_timed "$fmt-cp" "$out" cp "$input" "$out" ;;
                *-head) run_timed "$fmt-$label" "$out" "${ck_head[@]}" ;;
                *-big) run_timed "$fmt-$label" "$out" "${ck_big[@]}" ;;
                signed) run_timed "$fmt-signed" "$out" "${ck_signed[@]}" ;;
                floor) run_timed "$fmt-floor" "$out" sh -c 'cp "$1" "$2" && sha256sum "$1" "$2" >/dev/null' sh "$input" "$out" ;;
            esac
        done
        line=$(printf '  run %d: cp %6.3f s   ckptforget %6.3f s' "$i" "$(last_wall "$fmt-cp")" "$(last_wall "$fmt-$fmt-head")")
        [[ $BIG_EDIT == 1 ]] && line+=$(printf '   64 MiB edit %6.3f s' "$(last_wall "$fmt-$fmt-big")")
        line+=$(printf '   signed %6.3f s   cp+sha256sum %6.3f s' "$(last_wall "$fmt-signed")" "$(last_wall "$fmt-floor")")
        echo "$line"
    done

    cpf=$WORK/$fmt-cp.txt
    cp_s=$(stat_of "$cpf" 1 median)
    nosign_s=$(stat_of "$WORK/$fmt-$fmt-head.txt" 1 median)
    signed_s=$(stat_of "$WORK/$fmt-signed.txt" 1 median)
    floor_s=$(stat_of "$WORK/$fmt-floor.txt" 1 median)
    SIGNING+=("$(printf '%-12s %9.3f %9.3f %9.3f %14.3f %6.2fx' "$fmt" "$nosign_s" "$signed_s" \
        "$(awk -v a="$signed_s" -v b="$nosign_s" 'BEGIN {printf "%.3f", a - b}')" "$floor_s" "$(ratio "$signed_s" "$floor_s")")")
    SPREAD+=("$(printf '%-12s %-26s min %6.3f  median %6.3f  max %6.3f s' "$fmt" cp "$(stat_of "$cpf" 1 min)" "$cp_s" "$(stat_of "$cpf" 1 max)")")
    CPU+=("$(printf '%-12s %-26s user %5.2f s  sys %5.2f s  peak RSS %6.1f MiB' "$fmt" cp \
        "$(stat_of "$cpf" 3 median)" "$(stat_of "$cpf" 4 median)" "$(mib "$(($(stat_of "$cpf" 2 max) * 1024))")")")
    for scenario in "${scenarios[@]}"; do
        f=$WORK/$fmt-$scenario.txt
        if [[ $scenario == *-big ]]; then
            layer=$big; what="$big (64 MiB kernel)"
        else
            layer=$head; what="$head (10-unit head)"
        fi
        ck_s=$(stat_of "$f" 1 median)
        rss_kib=$(stat_of "$f" 2 max)
        r=$(ratio "$ck_s" "$cp_s")
        time_ok=$(awk -v r="$r" -v t="$TIME_RATIO_TARGET" 'BEGIN {print (r <= t) ? "PASS" : "FAIL"}')
        rss_ok=$( ((rss_kib <= limit_kib)) && echo PASS || echo FAIL)
        [[ $time_ok == FAIL || $rss_ok == FAIL ]] && missed=1
        ROWS+=("$(printf '%-12s %-26s %9.1f %7.3f %7.3f %6.2fx %8.1f %9.1f   %-4s  %-4s' "$fmt" "$what" \
            "$(mib "$size")" "$cp_s" "$ck_s" "$r" "$(mib $((rss_kib * 1024)))" "$(mib $((limit_kib * 1024)))" "$time_ok" "$rss_ok")")
        INFO+=("$(printf '%-12s %-26s %7.3f %7.3f %6.2fx' "$fmt" "$what" \
            "$(stat_of "$cpf" 1 min)" "$(stat_of "$f" 1 min)" "$(ratio "$(stat_of "$f" 1 min)" "$(stat_of "$cpf" 1 min)")")")
        SPREAD+=("$(printf '%-12s %-26s min %6.3f  median %6.3f  max %6.3f s' "$fmt" "ckptforget $layer" "$(stat_of "$f" 1 min)" "$ck_s" "$(stat_of "$f" 1 max)")")
        CPU+=("$(printf '%-12s %-26s user %5.2f s  sys %5.2f s  peak RSS %6.1f MiB' "$fmt" "ckptforget $layer" \
            "$(stat_of "$f" 3 median)" "$(stat_of "$f" 4 median)" "$(mib $((rss_kib * 1024)))")")
    done
    rule
done

echo "RESULTS  (median of $RUNS runs, inputs in the page cache)"
echo "targets: ckptforget time <= ${TIME_RATIO_TARGET} x cp; peak RSS <= 2 x largest tensor + 64 MiB (largest of the timed runs)"
echo
printf '%-12s %-26s %9s %7s %7s %7s %8s %9s   %-4s  %-4s\n' format "output layer" "size MiB" "cp s" "ckpt s" ratio "RSS MiB" "limit MiB" time RSS
for row in "${ROWS[@]}"; do echo "$row"; done
echo
echo "Signed records (the head edit with --sign-key, ECDSA P-256: OUT.sig + OUT.manifest.json), against the"
echo "same run with --no-sign and against the floor cp + sha256sum of both files:"
printf '%-12s %9s %9s %9s %14s %7s\n' format "no-sign s" "signed s" "overhead" "cp+sha256sum s" ratio
for row in "${SIGNING[@]}"; do echo "$row"; done
echo
echo "Informational (not targets): the fastest runs (neither cp nor ckptforget fsyncs its output):"
printf '%-12s %-26s %7s %7s %7s\n' format "output layer" "min cp" "min ck" ratio
for row in "${INFO[@]}"; do echo "$row"; done
echo
echo "Spread of wall times:"
for row in "${SPREAD[@]}"; do echo "  $row"; done
echo
echo "CPU time (medians) and peak RSS:"
for row in "${CPU[@]}"; do echo "  $row"; done
echo
noisy=$(for fmt in "${FORMATS[@]}"; do awk '{print $1}' "$WORK/$fmt-cp.txt"; done | sort -g | awk '{v[NR] = $1} END {print (v[NR] > 1.5 * v[1]) ? 1 : 0}')
if ((noisy)); then
    echo "NOTE: cp's own wall time varied by more than 1.5x between runs on this machine, so the ratios are"
    echo "      noisy; compare the 'min' columns too, or run again with more runs (BENCH_RUNS=$((RUNS < 7 ? 7 : RUNS * 2)))."
fi

# ---------------------------------------------------------------------------------- Fisher diagonals
# bench/fisher_bench.py prints its own table (method, samples/s, and the engine's and the whole
# command's samples/s over each), then which figure is which, then a JSON summary line; it exits
# 0 (target met: engine-bench >= 1 x numpy), 10 (missed), 3 (Keras/JAX missing: skipped) or 1
# (cannot measure).
if [[ $FISHER == 1 ]]; then
    rule
    echo "FISHER DIAGONALS: the engine (engine-bench, in-process, data in memory) and the whole 'ckptforget stats --fisher exact'"
    echo "command vs numpy (Dense identity, OpenBLAS) and JAX (jit(vmap(grad)))"
    echo "target: engine-bench samples/s >= 1 x numpy's (both compute only, environment as is; median of $FISHER_ROUNDS per-round ratios)"
    echo
    fisher_rc=0
    "$PYTHON" "$ROOT/bench/fisher_bench.py" "$BENCH_DIR" --bin "$BIN" --engine-bin "$ENGINE_BENCH" \
        --runs "$FISHER_RUNS" --rounds "$FISHER_ROUNDS" || fisher_rc=$?
    case $fisher_rc in
        0) ;;
        10) missed=1 ;;
        3) echo "(Fisher section skipped: see above)" ;;
        *) die "the Fisher-diagonal benchmark could not measure (bench/fisher_bench.py exited $fisher_rc)" ;;
    esac
    rule
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
