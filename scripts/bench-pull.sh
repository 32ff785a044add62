#!/usr/bin/env bash
# Cold pull + unpack from a local docker-registry (127.0.0.1 only), side by side in one run:
#   berth (berthd, private roots)  vs  dockerd 20.10 (private roots, as bench-engine.sh)
#   vs  `skopeo copy` + `umoci unpack`.
# Images: a Debian minbase rootfs (debootstrap, cached in /var/cache/berth-test/) as one gzip
# layer (gzip -6: 93 MB for 204 MB of files), and a 16-layer image on top of it (committed
# layers, gzipped by `push` as dockerd does). Each engine starts from an empty store per image.
# The stores of all three live on one fresh ext4 filesystem (a loop-mounted image, with the
# journal a host filesystem has): this VM's root filesystem has no journal, and there ext4
# skips every inode freed in the last 30 s when allocating one (`recently_deleted`), which made
# whichever engine ran right after a deletion pay for it.
# Usage: scripts/bench-pull.sh   (BERTH_BIN=dir of berthd/berth-runtime/berth-shim, default
# target/release; build with `cargo build --release` first). Prints seconds and ratios.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${BERTH_BIN:-$repo/target/release}
cache=/var/cache/berth-test
tar=$cache/debian-minbase.tar
for tool in docker dockerd docker-registry skopeo umoci; do
    command -v "$tool" >/dev/null || { echo "missing $tool (see .ci/run)" >&2; exit 1; }
done
if [ ! -f "$tar" ]; then
    mkdir -p "$cache"
    debootstrap --variant=minbase bookworm "$cache/rootfs.tmp" http://deb.debian.org/debian \
        || { echo "debootstrap could not reach a Debian mirror; no Debian image to bench" >&2; exit 1; }
    tar --numeric-owner -C "$cache/rootfs.tmp" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$cache/rootfs.tmp"
fi
if [ ! -f "$tar.gz" ]; then
    gzip -c "$tar" >"$tar.gz.tmp" && mv "$tar.gz.tmp" "$tar.gz"
fi

work=$(mktemp -d /tmp/bench-pull.XXXXXX)
fs=$work/fs
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    # dockerd stops its containerd first: give every daemon up to 10 s.
    for _ in $(seq 100); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount 2>/dev/null || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
truncate -s 16G "$work/fs.img"
mkfs.ext4 -q -F "$work/fs.img"
mkdir "$fs"
mount -o loop "$work/fs.img" "$fs"

wait_socket() { for _ in $(seq 300); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no $1" >&2; exit 1; }
now() { date +%s.%N; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
reg=127.0.0.1:$port
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
    "$work/registry" "$reg" >"$work/registry.yml"
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)

# The CRI is off: not measured, and two daemons at once would both want its default socket.
start_berthd() { # name
    "$bin/berthd" --data-root "$fs/$1" --exec-root "$work/$1-exec" -H "unix://$work/$1.sock" \
        --runtime "$bin/berth-runtime" --shim "$bin/berth-shim" --config-file /nonexistent \
        --cri-socket "" >"$work/$1.log" 2>&1 &
    pids+=($!)
    wait_socket "$work/$1.sock"
}
B() { DOCKER_HOST=unix://$work/$1.sock DOCKER_CONFIG=$work/cfg docker "${@:2}"; }

# Seed the registry from a scratch berthd: the Debian image, and 16 layers on top of it.
start_berthd seed
B seed import "$tar.gz" "$reg/debian:minbase" >/dev/null
B seed push "$reg/debian:minbase" >/dev/null
base=$reg/debian:minbase
for i in $(seq 1 16); do
    B seed run --name "l$i" "$base" sh -c "head -c 2000000 /dev/urandom > /layer$i; cp -r /usr/share/doc /doc$i" >/dev/null
    B seed commit "l$i" "$reg/debian:layers$i" >/dev/null
    B seed rm "l$i" >/dev/null
    base=$reg/debian:layers$i
done
B seed tag "$base" "$reg/debian:many" && B seed push "$reg/debian:many" >/dev/null

echo '{}' >"$work/daemon.json"
dockerd --data-root "$fs/docker" --exec-root "$work/docker-exec" -H "unix://$work/docker.sock" \
    --pidfile "$work/dockerd.pid" --bridge=none --iptables=false --ip-masq=false \
    --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
pids+=($!)
wait_socket "$work/docker.sock"
D() { DOCKER_HOST=unix://$work/docker.sock DOCKER_CONFIG=$work/cfg docker "$@"; }

echo "| image | berth (s) | dockerd (s) | skopeo+umoci (s) | dockerd/berth | skopeo+umoci/berth |"
echo "|---|---|---|---|---|---|"
n=0
for image in minbase many; do
    n=$((n + 1))
    ref=$reg/debian:$image
    start_berthd "berth$n"
    # Each engine starts with no writeback of an earlier one's files in flight.
    sync
    t0=$(now); B "berth$n" pull -q "$ref" >/dev/null; t1=$(now)
    berth=$(echo "$t1 - $t0" | bc)
    D rmi -f "$ref" >/dev/null 2>&1 || true
    D image prune -af >/dev/null 2>&1 || true
    sync
    t0=$(now); D pull -q "$ref" >/dev/null; t1=$(now)
    dockerd=$(echo "$t1 - $t0" | bc)
    sync
    t0=$(now)
    skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$fs/oci$n:x" >/dev/null
    umoci unpack --image "$fs/oci$n:x" "$fs/bundle$n" >/dev/null
    t1=$(now)
    umoci_s=$(echo "$t1 - $t0" | bc)
    printf '| %s | %.2f | %.2f | %.2f | %.2fx | %.2fx |\n' "$image" "$berth" "$dockerd" "$umoci_s" \
        "$(echo "$dockerd / $berth" | bc -l)" "$(echo "$umoci_s / $berth" | bc -l)"
done
du -sh "$work/registry" | awk '{print "registry size (compressed blobs): " $1}'
