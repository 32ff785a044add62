#!/usr/bin/env bash
# Measures the resident memory of berth-shim watching a running busybox container that has
# logged some output (so the line buffers and log path have been exercised).
#
# usage: scripts/bench-shim-rss.sh [SHIM] [RUNTIME]
#   SHIM     default: target/release/berth-shim (build: cargo build --release -p berth-shim)
#   RUNTIME  default: target/debug/berth-runtime
# Prints VmRSS / RssAnon / RssFile / Pss of the shim, in KiB. Needs root and /bin/busybox.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
shim=${1:-$target/release/berth-shim}
runtime=${2:-$target/debug/berth-runtime}
work=$(mktemp -d /tmp/bshrss.XXXXXX)
id=rss-$$
cleanup() {
    "$runtime" --root "$work/root" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

"$root/scripts/make-busybox-bundle.sh" "$work/bundle" "" \
    sh -c 'i=0; while [ $i -lt 1000 ]; do echo "line $i of some output"; i=$((i+1)); done; exec sleep 1000' \
    >/dev/null
exec 3>"$work/sync"
"$shim" --id "$id" --bundle "$work/bundle" --state-dir "$work/state" --runtime "$runtime" \
    --runtime-root "$work/root" --log-path "$work/ctr.log" --log-max-size 100000 --log-max-files 2 \
    --sync-fd 3
exec 3>&-
for _ in $(seq 100); do grep -q '^ok' "$work/sync" && break; sleep 0.05; done
grep -q '^ok' "$work/sync" || { echo "shim failed: $(cat "$work/sync")" >&2; exit 1; }
"$runtime" --root "$work/root" start "$id"
for _ in $(seq 100); do [ "$(wc -l < "$work/ctr.log")" -ge 1000 ] && break; sleep 0.05; done
pid=$(cat "$work/state/shim.pid")
echo "shim: $shim ($(stat -c %s "$shim") bytes)"
echo "log lines: $(wc -l < "$work/ctr.log")"
grep -E '^(VmRSS|RssAnon|RssFile)' "/proc/$pid/status"
grep -E '^Pss:' "/proc/$pid/smaps_rollup"
