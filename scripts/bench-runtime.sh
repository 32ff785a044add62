#!/usr/bin/env bash
# Side-by-side startup benchmark of berth-runtime, crun and runc on one busybox /bin/true bundle,
# in one hyperfine run so all three see the same machine state.
#
#   (a) cycle: create + start + wait for the process to exit + delete
#   (b) run:   run (foreground, waits for exit) + delete
# plus the peak RSS of `run` per runtime (GNU time's %M: the largest of the runtime and the
# processes it waited for).
#
# Everything runs inside `unshare -m` with /sys/fs/cgroup/unified unmounted, for every runtime
# alike: crun 1.8 refuses hybrid cgroup hosts otherwise. The config keeps the default network
# namespace (an empty one: only lo) and no network setup.
#
# usage: sudo scripts/bench-runtime.sh
#   BERTH_RUNTIME  berth-runtime binary (default: the static production build, scripts/build-static.sh)
#   RUNS           timed runs per command (default 50), WARMUP (default 5)
# Output ends with Markdown tables meant for docs/performance.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
berth=${BERTH_RUNTIME:-$("$repo/scripts/build-static.sh" berth-runtime)}
runs=${RUNS:-50}
warmup=${WARMUP:-5}

[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
for tool in hyperfine jq /usr/bin/time unshare; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install hyperfine jq time util-linux)" >&2; exit 1; }
done

if [ -z "${BENCH_INNER:-}" ]; then
    # Private mount namespace: unmounting cgroup2 here does not affect the host.
    exec unshare -m --propagation private env BENCH_INNER=1 "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified; then
    umount /sys/fs/cgroup/unified
fi

work=$(mktemp -d /tmp/berth-bench.XXXXXX)
bundle=$work/bundle
"$repo/scripts/make-busybox-bundle.sh" "$bundle" "" /bin/true >/dev/null

names=()
bins=()
failed=()
cleanup() {
    for i in "${!names[@]}"; do
        "${bins[$i]}" --root "$work/state-${names[$i]}" delete --force bench >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# A runtime takes part only if it can run the bundle once; berth-runtime is still young and may
# not, which must not hide the crun/runc numbers.
consider() {
    local name=$1 bin=$2 state=$work/state-$1
    if [ ! -x "$bin" ]; then
        failed+=("$name: binary not found at $bin")
        return
    fi
    local out
    local rc=0
    out=$(timeout 30 "$bin" --root "$state" run --bundle "$bundle" bench 2>&1) || rc=$?
    if [ "$rc" != 0 ]; then
        failed+=("$name: smoke run failed (exit $rc): $(echo "$out" | tail -n 3 | tr '\n' ' ')")
        "$bin" --root "$state" delete --force bench >/dev/null 2>&1 || true
        return
    fi
    "$bin" --root "$state" delete --force bench >/dev/null 2>&1 || true
    names+=("$name")
    bins+=("$bin")
}
consider berth-runtime "$berth"
consider crun "$(command -v crun || echo /usr/bin/crun)"
consider runc "$(command -v runc || echo /usr/sbin/runc)"
[ ${#names[@]} -gt 0 ] || { printf '%s\n' "${failed[@]}" >&2; exit 1; }

# One small script per runtime and scenario keeps the hyperfine command lines readable.
hf_args=()
for i in "${!names[@]}"; do
    name=${names[$i]} bin=${bins[$i]} state=$work/state-${names[$i]}
    cat > "$work/cycle-$name.sh" <<EOF
#!/bin/sh
set -e
"$bin" --root "$state" create --bundle "$bundle" --pid-file "$work/$name.pid" bench
pid=\$(cat "$work/$name.pid")
"$bin" --root "$state" start bench
# Wait for /bin/true to exit without polling the runtime: the process counts as exited once it
# is a zombie (the orphan's reaper may be slow: this VM's pid 1 reaps about every 2 s) or gone.
# \`read\` is a shell builtin, so the loop forks nothing.
while read -r stat 2>/dev/null < /proc/\$pid/stat; do
    case \$stat in *") Z "*) break ;; esac
done
"$bin" --root "$state" delete bench
EOF
    cat > "$work/run-$name.sh" <<EOF
#!/bin/sh
"$bin" --root "$state" run --bundle "$bundle" bench
# runc and crun remove the container when run returns; delete is then a no-op error.
"$bin" --root "$state" delete bench 2>/dev/null || true
EOF
    chmod +x "$work/cycle-$name.sh" "$work/run-$name.sh"
    hf_args+=(-n "$name cycle" "$work/cycle-$name.sh")
done
for name in "${names[@]}"; do
    hf_args+=(-n "$name run" "$work/run-$name.sh")
done

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(uname -r), $(nproc) CPUs, runs=$runs warmup=$warmup"
for i in "${!names[@]}"; do
    echo "#   ${names[$i]}: $("${bins[$i]}" --version 2>/dev/null | head -n 1)"
done
hyperfine -N --style basic --warmup "$warmup" --runs "$runs" \
    --prepare "sh -c 'for s in $work/state-*; do for r in ${bins[*]}; do \$r --root \$s delete --force bench 2>/dev/null; done; done; true'" \
    --export-json "$work/results.json" "${hf_args[@]}" >&2

# Peak RSS of `run`: median of 5 runs, in KiB.
declare -A rss
for i in "${!names[@]}"; do
    name=${names[$i]} bin=${bins[$i]} state=$work/state-${names[$i]}
    samples=()
    for _ in 1 2 3 4 5; do
        /usr/bin/time -o "$work/rss" -f %M "$bin" --root "$state" run --bundle "$bundle" bench \
            >/dev/null 2>&1 || true
        samples+=("$(tail -n 1 "$work/rss")")
        "$bin" --root "$state" delete --force bench >/dev/null 2>&1 || true
    done
    rss[$name]=$(printf '%s\n' "${samples[@]}" | sort -n | sed -n 3p)
done

median_ms() {
    jq -r --arg n "$1" '.results[] | select(.command == $n) | .median * 1000' "$work/results.json"
}
ratio() {
    if [ -n "$2" ]; then
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'
    else
        echo "n/a"
    fi
}
crun_cycle=$(median_ms "crun cycle" || true)
crun_run=$(median_ms "crun run" || true)

echo
echo "| runtime | create+start+wait+delete (median) | vs crun | run+delete (median) | vs crun | peak RSS of run |"
echo "|---|---|---|---|---|---|"
for name in "${names[@]}"; do
    cycle=$(median_ms "$name cycle")
    run=$(median_ms "$name run")
    printf '| %s | %.1f ms | %s | %.1f ms | %s | %s KiB |\n' "$name" "$cycle" \
        "$(ratio "$cycle" "$crun_cycle")" "$run" "$(ratio "$run" "$crun_run")" "${rss[$name]}"
done
for f in "${failed[@]}"; do
    echo
    echo "**not measured** — $f"
done
