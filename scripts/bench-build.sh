#!/usr/bin/env bash
# Image build benchmark: Berth's builder vs dockerd 20.10's classic builder vs `podman build`,
# side by side in one run, every engine on the same fresh ext4 (loop-mounted: the root ext4 of
# this VM is aged and journal-less), the same context and Dockerfile:
#
#   a multi-stage build: a busybox stage making a file; a Debian minbase stage that copies a
#   source tree of FILES files (DIRS directories) and processes it in two RUN steps; a
#   busybox stage that copies the results from both;
#
#   (a) cold: `--no-cache` (base images present, nothing else), RUNS_COLD times;
#   (b) no-change rebuild: everything cached, RUNS times;
#   (c) one-file-change rebuild: one source file changed before each build, RUNS times.
#
# Berth and dockerd are driven by the same docker CLI (`DOCKER_BUILDKIT=0`, `-q`); podman by
# `podman build -q` (buildah, runc, cgroupfs). RUN steps have `--network none` everywhere.
# Goals (issue 14): cold >= 2x faster than dockerd, no-change rebuild < 100 ms end to end,
# one-file-change rebuild >= 3x faster than dockerd.
#
# usage: sudo scripts/bench-build.sh   RUNS (10), RUNS_COLD (5), FILES (3000), DIRS (30)
# Needs hyperfine, dockerd, podman, jq, and the Debian minbase tarball the tests cache in
# /var/cache/berth-test (made by debootstrap on first use). Output ends with a Markdown table.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
runs=${RUNS:-10}
runs_cold=${RUNS_COLD:-5}
files=${FILES:-3000}
dirs=${DIRS:-30}
[ "$(id -u)" = 0 ] || { echo "needs root" >&2; exit 1; }
for tool in hyperfine docker dockerd podman jq mkfs.ext4 busybox; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
debian=/var/cache/berth-test/debian-minbase.tar
[ -f "$debian" ] || {
    echo "no $debian: run the registry tests once (cargo test -p berthd --test registry), or" >&2
    echo "  debootstrap --variant=minbase bookworm DIR && tar --numeric-owner -C DIR -cf $debian ." >&2
    exit 1
}
cargo build --release --workspace --manifest-path "$repo/Cargo.toml" >&2
{ read -r runtime; read -r shim; } < <("$repo/scripts/build-static.sh" berth-runtime berth-shim)

work=$(mktemp -d /tmp/berth-bench-build.XXXXXX)
berth_sock=$work/berth.sock
docker_sock=$work/docker.sock
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 2
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    pkill -f "containerd --config $work" 2>/dev/null || true
    grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
wait_socket() { for _ in $(seq 300); do [ -S "$1" ] && return 0; sleep 0.1; done; echo "no $1" >&2; exit 1; }

# Every engine's store on one fresh ext4.
truncate -s 32G "$work/fs.img"
mkfs.ext4 -q -F "$work/fs.img"
mkdir -p "$work/fs"
mount -o loop "$work/fs.img" "$work/fs"
rm -f "$work/fs.img"
fs=$work/fs

# Base images, the context and the Dockerfile.
mkdir -p "$work/busybox"/{bin,etc,tmp}
cp "$(command -v busybox)" "$work/busybox/bin/busybox"
for c in sh cat mkdir echo tar; do ln -s busybox "$work/busybox/bin/$c"; done
tar -C "$work/busybox" -cf "$work/busybox.tar" .
ctx=$work/ctx
mkdir -p "$ctx/src"
for d in $(seq -w 1 "$dirs"); do
    mkdir -p "$ctx/src/d$d"
    for f in $(seq -w 1 $((files / dirs))); do
        printf '/* %s/%s */\nint f%s_%s(void) { return %s; }\n' "$d" "$f" "$d" "$f" "$f" >"$ctx/src/d$d/f$f.c"
    done
done
# The first file of the first directory, whatever the zero padding.
changed=$(find "$ctx/src" -name '*.c' | sort | sed -n 1p)
cat >"$ctx/Dockerfile" <<'EOF'
FROM bench/busybox AS tools
RUN mkdir -p /out && echo tool > /out/tool

FROM bench/debian AS build
WORKDIR /src
COPY src/ /src/
RUN find /src -name '*.c' | sort | xargs cat | sha256sum > /checksum
RUN tar -C /src -cf /src.tar .

FROM bench/busybox
COPY --from=tools /out/tool /tool
COPY --from=build /checksum /checksum
COPY --from=build /src.tar /src.tar
CMD ["cat", "/checksum"]
EOF

"${CARGO_TARGET_DIR:-$repo/target}/release/berthd" --data-root "$fs/berth" --exec-root "$fs/berth-exec" \
    -H "unix://$berth_sock" --runtime "$runtime" --shim "$shim" --config-file /nonexistent \
    --cri-socket "" --bridge benchbld0 --bip 10.71.0.1/24 --ip-masq=false >"$work/berthd.log" 2>&1 &
pids+=($!)
echo '{}' >"$work/daemon.json"
dockerd --data-root "$fs/docker" --exec-root "$fs/docker-exec" -H "unix://$docker_sock" \
    --pidfile "$work/dockerd.pid" --bridge=none --iptables=false --ip-masq=false \
    --config-file "$work/daemon.json" >"$work/dockerd.log" 2>&1 &
pids+=($!)
wait_socket "$berth_sock"
wait_socket "$docker_sock"

export DOCKER_BUILDKIT=0
B="env DOCKER_HOST=unix://$berth_sock DOCKER_CONFIG=$work/cfg docker"
D="env DOCKER_HOST=unix://$docker_sock DOCKER_CONFIG=$work/cfg docker"
# runc and explicit ulimits: podman's crun refuses this v1-hybrid host, and there is no
# CAP_SYS_RESOURCE to raise its default limits.
P="podman --root $fs/podman --runroot $fs/podman-run --cgroup-manager=cgroupfs --events-backend=none --runtime runc"
for e in "$B" "$D"; do
    $e import "$work/busybox.tar" bench/busybox >/dev/null
    $e import "$debian" bench/debian >/dev/null
done
$P import "$work/busybox.tar" localhost/bench/busybox >/dev/null
$P import "$debian" localhost/bench/debian >/dev/null
# Podman names local images under localhost/.
sed 's#FROM bench/#FROM localhost/bench/#' "$ctx/Dockerfile" >"$work/Dockerfile.podman"

build_b="$B build -q --network none -t bench/out $ctx"
build_d="$D build -q --network none -t bench/out $ctx"
build_p="$P build -q --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -f $work/Dockerfile.podman -t bench/out $ctx"
# Sanity: each builds, and the results agree.
for e in b d p; do
    v=build_$e
    ${!v} >/dev/null
done
sum_b=$($B run --rm --network none bench/out)
sum_d=$($D run --rm --network none bench/out)
[ "$sum_b" = "$sum_d" ] || { echo "berth and dockerd built different results: $sum_b / $sum_d" >&2; exit 1; }

hyperfine --runs "$runs_cold" --export-json "$work/cold.json" \
    -n berth "$build_b --no-cache" -n dockerd "$build_d --no-cache" -n podman "$build_p --no-cache"
for e in b d p; do v=build_$e; ${!v} >/dev/null; done
hyperfine --warmup 1 --runs "$runs" --export-json "$work/nochange.json" \
    -n berth "$build_b" -n dockerd "$build_d" -n podman "$build_p"
hyperfine --runs "$runs" --export-json "$work/onefile.json" \
    --prepare "date +%s%N >> $changed" \
    -n berth "$build_b" -n dockerd "$build_d" -n podman "$build_p"

echo
echo "### Image builds ($files source files, median of $runs_cold cold / $runs rebuilds), ms"
echo
echo "| build | berth | dockerd | podman | dockerd/berth | podman/berth |"
echo "|---|---|---|---|---|---|"
row() { # name json
    jq -r --arg name "$1" '
        [.results[] | {(.command): .median}] | add as $m
        | "| \($name) | \($m.berth*1000|floor) | \($m.dockerd*1000|floor) | \($m.podman*1000|floor) | \($m.dockerd/$m.berth*100|floor/100)x | \($m.podman/$m.berth*100|floor/100)x |"' "$2"
}
row "cold (--no-cache)" "$work/cold.json"
row "no-change rebuild" "$work/nochange.json"
row "one file changed" "$work/onefile.json"
echo
jq -r '[.results[] | {(.command): .median}] | add | "goal cold >= 2x faster than dockerd: \(.dockerd/.berth*100|floor/100)x: " + (if .dockerd/.berth >= 2 then "met" else "NOT met" end)' "$work/cold.json"
jq -r '[.results[] | {(.command): .median}] | add | "goal no-change rebuild < 100 ms: \(.berth*1000|floor) ms: " + (if .berth < 0.1 then "met" else "NOT met" end)' "$work/nochange.json"
jq -r '[.results[] | {(.command): .median}] | add | "goal one-file rebuild >= 3x faster than dockerd: \(.dockerd/.berth*100|floor/100)x: " + (if .dockerd/.berth >= 3 then "met" else "NOT met" end)' "$work/onefile.json"
