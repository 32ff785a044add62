#!/usr/bin/env bash
# The main job on a fresh machine (as root): install what is needed, build Berth, start berthd
# on its default paths (/var/lib/berth, /run/berth/berth.sock), import a busybox image made from
# Debian's busybox-static, and run containers in it through the real docker CLI. berthd keeps
# running afterwards; stop it with `kill $(cat /run/berth/berthd.pid)`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v busybox >/dev/null || need+=(busybox-static)
[ -e /usr/include/seccomp.h ] || need+=(libseccomp-dev pkg-config)
command -v docker >/dev/null || need+=(docker.io)
if [ ${#need[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "${need[@]}"
fi

cargo build --release --workspace
bin=$PWD/target/release
# The production runtime and shim: static, non-PIE (scripts/build-static.sh). The init of
# `--init` containers too: it runs inside the image, which has no glibc to load (berthd refuses
# `--init` with a dynamically linked one).
{ read -r runtime; read -r shim; read -r init; } < <(scripts/build-static.sh berth-runtime berth-shim berth-init)
sock=/run/berth/berth.sock
pidfile=/run/berth/berthd.pid

# Replace a berthd left by an earlier run; its containers keep running and are re-attached.
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"
    while kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null; do sleep 0.1; done
fi
mkdir -p /run/berth
"$bin/berthd" --pidfile "$pidfile" --runtime "$runtime" --shim "$shim" --init-path "$init" >/run/berth/berthd.log 2>&1 &
for _ in $(seq 100); do
    [ -S "$sock" ] && break
    sleep 0.1
done
export DOCKER_HOST=unix://$sock
docker version --format 'berthd {{.Server.Version}} speaks API {{.Server.APIVersion}}'

# A busybox root filesystem from the host's static busybox, imported as an image.
work=$(mktemp -d /tmp/berth-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/rootfs"/{bin,etc,tmp,root,proc,sys,dev}
cp /bin/busybox "$work/rootfs/bin/"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$work/rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$work/rootfs/etc/group"
tar -C "$work/rootfs" -cf "$work/busybox.tar" .
docker import -c 'CMD ["sh"]' -m "busybox-static from Debian" "$work/busybox.tar" busybox:demo
docker images busybox

# An image built from a Dockerfile on it (the docker CLI's classic builder).
mkdir -p "$work/app"
echo "built by berthd at $(date -u +%H:%M:%S)" >"$work/app/message.txt"
printf '%s\n' 'FROM busybox:demo' 'WORKDIR /app' 'COPY message.txt .' \
    'RUN wc -c message.txt > size.txt' 'CMD ["sh", "-c", "cat message.txt size.txt"]' \
    >"$work/app/Dockerfile"
DOCKER_BUILDKIT=0 docker build -t app:demo "$work/app"
docker run --rm app:demo

docker run --rm busybox:demo sh -c \
    'echo "hello from a berth container: hostname=$(hostname) pid=$$ uid=$(id -u)"; grep -E "^(CapEff|Seccomp):" /proc/self/status'
# --init: berth-init is PID 1 (mounted at /sbin/docker-init, where dockerd puts its own),
# forwarding signals and reaping zombies; the command is its child.
docker run --rm --init busybox:demo ps -o pid,comm
name=demo-$$
docker run -d --name "$name" busybox:demo sh -c 'for i in 1 2 3; do echo tick $i; sleep 0.2; done; sleep 1000'
sleep 1
docker ps --filter "name=$name"
docker logs "$name"
docker rm -f "$name" >/dev/null
# The same daemon through Berth's own CLI.
BERTH_HOST=unix://$sock "$bin/berth" run --rm busybox:demo echo "hello through the berth CLI"
BERTH_HOST=unix://$sock "$bin/berth" images
echo "berthd is still running (pid $(cat "$pidfile")): export DOCKER_HOST=$DOCKER_HOST"
