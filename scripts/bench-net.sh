#!/usr/bin/env bash
# Network setup cost of `run`: `docker run --rm <busybox> true` on the default bridge vs
# `--network none`, against berthd, dockerd (with its own containerd) and podman, side by side
# (hyperfine), plus berthd's own split of a bridge start (its `started` debug event:
# network_us = pinned namespace + CNI ADD chain).
#
# Every engine gets private roots, its own bridge and a private 10.199.x.0/24 subnet, and no
# masquerading: nothing is routed off the machine.
#
# usage: sudo scripts/bench-net.sh        RUNS (default 20), WARMUP (default 3),
#        BERTH_BIN=dir (default: a release build of the workspace),
#        BERTH_BASE_BIN=dir (optional: a second berthd build, e.g. of main, measured in the same
#        hyperfine run as "berthd-base", for before/after ratios on a noisy machine)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-20}
warmup=${WARMUP:-3}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
for tool in hyperfine docker dockerd podman jq; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
if [ -z "${BERTH_BIN:-}" ]; then
    cargo build --release --workspace --manifest-path "$repo/Cargo.toml"
    BERTH_BIN=${CARGO_TARGET_DIR:-$repo/target}/release
fi

work=$(mktemp -d /tmp/berth-bench-net.XXXXXX)
berth_sock=$work/berth.sock
docker_sock=$work/docker.sock
pids=()
B="env DOCKER_HOST=unix://$berth_sock DOCKER_CONFIG=$work/cfg docker"
D="env DOCKER_HOST=unix://$docker_sock DOCKER_CONFIG=$work/cfg docker"
P="podman --root $work/podman --runroot $work/podman-run --cgroup-manager=cgroupfs --events-backend=none --runtime runc --network-config-dir $work/podman-net"
cleanup() {
    $P network rm -f benchnet >/dev/null 2>&1 || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for br in bnbench0 bnbase0 bndock0; do ip link del "$br" 2>/dev/null || true; done
    # berthd keeps a default bridge's isolation and FORWARD rules for its next start.
    for t in iptables ip6tables; do
        "$t-save" -t filter | grep -E -- '^-A .* (bnbench0|bnbase0)( |$)' | sed 's/^-A //' |
            while read -r rule; do $t -w -t filter -D $rule || true; done
    done
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
wait_socket() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no $1" >&2; exit 1; }

mkdir -p "$work/rootfs"/{bin,etc,tmp,proc,sys,dev} "$work/podman-net"
cp /bin/busybox "$work/rootfs/bin/"
ln -s busybox "$work/rootfs/bin/true"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .

# The CRI is off: not measured here.
"$BERTH_BIN/berthd" --data-root "$work/berth" --exec-root "$work/berth-exec" -H "unix://$berth_sock" \
    --config-file /nonexistent --bridge bnbench0 --bip 10.199.1.1/24 \
    --default-address-pool base=10.199.16.0/20,size=24 --ip-masq=false -l debug --cri-socket "" \
    >"$work/berthd.log" 2>&1 &
pids+=($!)
engines="berthd"
if [ -n "${BERTH_BASE_BIN:-}" ]; then
    "$BERTH_BASE_BIN/berthd" --data-root "$work/base" --exec-root "$work/base-exec" \
        -H "unix://$work/base.sock" --config-file /nonexistent --bridge bnbase0 \
        --bip 10.199.4.1/24 --default-address-pool base=10.199.32.0/20,size=24 --ip-masq=false \
        -l debug >"$work/base.log" 2>&1 &
    pids+=($!)
    engines="berthd berthd-base"
fi
ip link add bndock0 type bridge && ip addr add 10.199.2.1/24 dev bndock0 && ip link set bndock0 up
echo '{}' >"$work/daemon.json"
dockerd --data-root "$work/docker" --exec-root "$work/docker-exec" -H "unix://$docker_sock" \
    --pidfile "$work/dockerd.pid" --bridge=bndock0 --ip-masq=false \
    --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
pids+=($!)
wait_socket "$berth_sock"
wait_socket "$docker_sock"
$B import "$work/busybox.tar" bench:busybox >/dev/null
base=()
if [ -n "${BERTH_BASE_BIN:-}" ]; then
    wait_socket "$work/base.sock"
    A="env DOCKER_HOST=unix://$work/base.sock DOCKER_CONFIG=$work/cfg docker"
    $A import "$work/busybox.tar" bench:busybox >/dev/null
    base=(-n "berthd-base bridge" "$A run --rm bench:busybox true"
          -n "berthd-base none" "$A run --rm --network none bench:busybox true")
fi
$D import "$work/busybox.tar" bench:busybox >/dev/null
$P import "$work/busybox.tar" localhost/bench:busybox >/dev/null
$P network create --subnet 10.199.3.0/24 --disable-dns benchnet >/dev/null
ulimits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"

hyperfine --warmup "$warmup" --runs "$runs" --export-json "$work/run.json" \
    -n "berthd bridge" "$B run --rm bench:busybox true" \
    -n "berthd none" "$B run --rm --network none bench:busybox true" \
    "${base[@]}" \
    -n "dockerd bridge" "$D run --rm bench:busybox true" \
    -n "dockerd none" "$D run --rm --network none bench:busybox true" \
    -n "podman bridge" "$P run --rm --network benchnet $ulimits localhost/bench:busybox true" \
    -n "podman none" "$P run --rm --network none $ulimits localhost/bench:busybox true"

echo
echo "### docker run --rm true: default bridge vs --network none (median of $runs)"
echo
echo "| engine | bridge ms | none ms | network share ms |"
echo "|---|---|---|---|"
for e in $engines dockerd podman; do
    jq -r --arg e "$e" '
        (.results[] | select(.command==($e+" bridge")) | .median) as $b |
        (.results[] | select(.command==($e+" none")) | .median) as $n |
        "| \($e) | \($b*1000|floor) | \($n*1000|floor) | \(($b-$n)*1000|floor) |"' "$work/run.json"
done
echo
echo "berthd's own split of bridge starts (medians, µs):"
for log in "$work/berthd.log" "$work/base.log"; do
    [ -f "$log" ] || continue
    grep -o 'network_us[^ ]*[0-9]*' "$log" | grep -o '[0-9]*$' | awk '$1 > 1000' | sort -n |
        awk -v l="$(basename "$log" .log)" '{a[NR]=$1} END {if (NR) print "  " l ": network setup (netns + CNI ADD): " a[int((NR+1)/2)] " (" NR " runs)"}'
done
