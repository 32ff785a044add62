#!/usr/bin/env bash
# Side-by-side engine benchmark, in one run so every engine sees the same machine state:
#
#   (a) `docker run --rm --network none <busybox> true` against berthd and against Debian's
#       dockerd 20.10 (with its own containerd), `podman run --rm --network none` and
#       `ctr run --rm` (containerd directly), timed by hyperfine;
#   (b) idle RSS of berthd vs dockerd + containerd;
#   (c) per-container overhead: RSS of berth-shim vs containerd-shim-runc-v2 vs conmon, each
#       monitoring a running `sleep`.
#
# Every daemon gets private roots under one temp dir and its own socket; nothing touches
# /var/lib/docker, /run/docker.sock or the host's networks (dockerd runs with --bridge=none
# --iptables=false, containers with --network none).
#
# usage: sudo scripts/bench-engine.sh        RUNS (default 30), WARMUP (default 3)
# Output ends with Markdown tables meant for docs/performance.md.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-30}
warmup=${WARMUP:-3}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
for tool in hyperfine docker dockerd containerd ctr podman jq; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
cargo build --release --workspace --manifest-path "$repo/Cargo.toml"
# The production runtime and shim: static and non-PIE (see scripts/build-static.sh).
{ read -r runtime; read -r shim; } < <("$repo/scripts/build-static.sh" berth-runtime berth-shim)

work=$(mktemp -d /tmp/berth-bench-engine.XXXXXX)
berth_sock=$work/berth.sock
docker_sock=$work/docker.sock
pids=()
cleanup() {
    DOCKER_HOST=unix://$berth_sock docker rm -f bench-idle >/dev/null 2>&1 || true
    DOCKER_HOST=unix://$docker_sock docker rm -f bench-idle >/dev/null 2>&1 || true
    podman --root "$work/podman" --runroot "$work/podman-run" rm -f bench-idle >/dev/null 2>&1 || true
    ctr -a "$work/docker-exec/containerd/containerd.sock" -n bench task kill -s KILL bench-idle >/dev/null 2>&1 || true
    sleep 0.5
    ctr -a "$work/docker-exec/containerd/containerd.sock" -n bench container rm bench-idle >/dev/null 2>&1 || true
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

wait_socket() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no $1" >&2; exit 1; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# The busybox image every engine runs.
mkdir -p "$work/rootfs"/{bin,etc,tmp,proc,sys,dev}
cp /bin/busybox "$work/rootfs/bin/"
ln -s busybox "$work/rootfs/bin/true"
ln -s busybox "$work/rootfs/bin/sleep"
ln -s busybox "$work/rootfs/bin/sh"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .

"${CARGO_TARGET_DIR:-$repo/target}/release/berthd" --data-root "$work/berth" --exec-root "$work/berth-exec" \
    -H "unix://$berth_sock" --runtime "$runtime" --shim "$shim" --config-file /nonexistent \
    --cri-socket "" >"$work/berthd.log" 2>&1 &
pids+=($!)
berthd_pid=$!
echo '{}' >"$work/daemon.json"
dockerd --data-root "$work/docker" --exec-root "$work/docker-exec" -H "unix://$docker_sock" \
    --pidfile "$work/dockerd.pid" --bridge=none --iptables=false --ip-masq=false \
    --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
pids+=($!)
dockerd_pid=$!
wait_socket "$berth_sock"
wait_socket "$docker_sock"
containerd_sock=$work/docker-exec/containerd/containerd.sock
wait_socket "$containerd_sock"

B="env DOCKER_HOST=unix://$berth_sock DOCKER_CONFIG=$work/cfg docker"
D="env DOCKER_HOST=unix://$docker_sock DOCKER_CONFIG=$work/cfg docker"
P="podman --root $work/podman --runroot $work/podman-run --cgroup-manager=cgroupfs --events-backend=none --runtime runc"
C="ctr -a $containerd_sock -n bench"
$B import "$work/busybox.tar" bench:busybox >/dev/null
$D import "$work/busybox.tar" bench:busybox >/dev/null
$P import "$work/busybox.tar" localhost/bench:busybox >/dev/null
$D save bench:busybox -o "$work/busybox-image.tar"
$C images import --base-name docker.io/library/bench "$work/busybox-image.tar" >/dev/null
ctr_image=$($C images ls -q | grep bench | head -1)

# Idle daemons, before any container ran.
sleep 2
containerd_pid=$(pgrep -f "containerd --config $work/docker-exec" | head -1 || pgrep -f "$containerd_sock" | head -1)
berthd_idle=$(rss_kib "$berthd_pid")
dockerd_idle=$(( $(rss_kib "$dockerd_pid") + $(rss_kib "$containerd_pid") ))

# Podman here needs explicit ulimits (no CAP_SYS_RESOURCE to raise its defaults) and runc (its
# default crun 1.8 refuses this v1-hybrid host).
ulimits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
hyperfine --warmup "$warmup" --runs "$runs" --export-json "$work/run.json" \
    -n berthd "$B run --rm --network none bench:busybox true" \
    -n dockerd "$D run --rm --network none bench:busybox true" \
    -n podman "$P run --rm --network none $ulimits localhost/bench:busybox true" \
    -n ctr "$C run --rm $ctr_image bench-run-\$(date +%s%N) true"

# Per-container monitor memory.
$B run -d --name bench-idle --network none bench:busybox sleep 1000 >/dev/null
$D run -d --name bench-idle --network none bench:busybox sleep 1000 >/dev/null
$P run -d --name bench-idle --network none $ulimits localhost/bench:busybox sleep 1000 >/dev/null
sleep 1
berth_shim=$(pgrep -f "berth-shim --id $($B inspect -f '{{.Id}}' bench-idle)" | head -1)
docker_shim=$(pgrep -f "containerd-shim-runc-v2 .*-id $($D inspect -f '{{.Id}}' bench-idle)" | head -1)
conmon=$(pgrep -f "conmon .*$($P inspect -f '{{.Id}}' bench-idle)" | head -1)
berthd_busy=$(rss_kib "$berthd_pid")

echo
echo "### docker run --rm true (median of $runs)"
echo
echo "| engine | median ms | mean ms | vs berthd |"
echo "|---|---|---|---|"
base=$(jq '.results[] | select(.command=="berthd") | .median' "$work/run.json")
jq -r --argjson base "$base" '.results[] | "| \(.command) | \(.median*1000|floor) | \(.mean*1000|floor) | \(.median/$base*100|floor/100)x |"' "$work/run.json"
echo
echo "### memory (VmRSS, KiB)"
echo
echo "| what | berth | docker (dockerd + containerd) | podman |"
echo "|---|---|---|---|"
echo "| idle daemon | $berthd_idle | $dockerd_idle | (no daemon) |"
echo "| per-container monitor | $(rss_kib "$berth_shim") (berth-shim) | $(rss_kib "$docker_shim") (containerd-shim-runc-v2) | $(rss_kib "$conmon") (conmon) |"
echo "| berthd after $((runs + warmup)) runs, 1 running | $berthd_busy | | |"
echo
echo "dockerd/berthd median ratio: $(jq -r --argjson base "$base" '.results[] | select(.command=="dockerd") | .median/$base*100|floor/100' "$work/run.json")x"
