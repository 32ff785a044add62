#!/usr/bin/env bash
# Builds the stand-in images critest pulls (it cannot reach registry.k8s.io, k8s.gcr.io or
# gcr.io here) and prints the cache directory holding them:
#
#   scripts/critest-images.sh        # -> /var/cache/berth-critest/<key>
#
#   <key>/oci/         OCI image layout, one ref per image name (tests/critest/ociw.py)
#   <key>/registry/    docker-registry filesystem storage with every image pushed under its
#                      upstream path (registry host dropped): e2e-test-images/busybox:1.29-2,
#                      pause:3.9, k8s-staging-cri-tools/test-image-tags:1, ...; a registry
#                      serving it is a mirror for all three upstream registries at once
#   <key>/images.txt   "REF INDEX-DIGEST CONFIG-DIGEST" per ref
#   <key>/build-info   inputs and timing
#
# What each image must do is in /work/notes/critest-images.md (and docs/critest.md). In short:
# a busybox userland from Debian's DYNAMIC busybox package (busybox-static's ash runs `ls` as a
# built-in applet, so the MaskedPaths spec could never see /bin/ls masked) with every applet a
# hard link in /bin, glibc from the host, pgrep/ipcs shims (Debian's busybox lacks both);
# Debian's real nginx for the nginx images; gcc -static for nonewprivs and pause.
#
# The build is deterministic (tests/critest/ociw.py), so <key> is a hash of the recipe's inputs:
# this script, tests/critest/*, the two .deb files, the host libraries copied in, gcc, libc.a and
# python3's version. Same inputs -> same directory -> no rebuild. A build happens in a temporary
# directory renamed into place at the end; concurrent runs wait for each other (flock).
#
# Nothing of the host changes: the .debs are fetched with `apt-get download` into the cache
# (never an apt source change, never installed: dpkg-deb -x), and the registry used to fill the
# storage runs with skopeo in a private network namespace (unshare -n) where 127.0.0.1:5000 is
# free by construction and nothing can leave the machine.
#
# Env: BERTH_CRITEST_CACHE (default /var/cache/berth-critest), NICE (default 10).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$repo/scripts/critest-images.sh
src=$repo/tests/critest
cache_root=${BERTH_CRITEST_CACHE:-/var/cache/berth-critest}
nice_level=${NICE:-10}
# Fixed modes for everything staged: the tar entries keep on-disk modes.
umask 022

log() { echo "critest-images: $*" >&2; }
die() {
    log "$*"
    exit 1
}

# ---- the registry filler: runs inside `unshare -n` (called by this script itself) ----------
if [ "${1:-}" = _push ]; then
    work=$2
    ip link set lo up
    cat >"$work/registry.yml" <<EOF
version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: $work/registry } }
http: { addr: 127.0.0.1:5000 }
EOF
    docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    reg=$!
    trap 'kill "$reg" 2>/dev/null || true; wait "$reg" 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do
        curl -sf http://127.0.0.1:5000/v2/ >/dev/null 2>&1 && break
        kill -0 "$reg" 2>/dev/null || die "docker-registry exited: $(cat "$work/registry.log")"
        sleep 0.1
    done
    while read -r ref _ _; do
        # --preserve-digests: fail rather than let skopeo re-encode anything; the digests in
        # images.txt are what the runtimes will see.
        skopeo copy -q --all --preserve-digests --dest-tls-verify=false \
            "oci:$work/oci:$ref" "docker://127.0.0.1:5000/$ref" ||
            die "skopeo could not push $ref"
    done <"$work/images.txt"
    # Read back what a runtime will resolve: every ref answers with the digest ociw.py wrote.
    while read -r ref digest _; do
        got=$(curl -sfI -H 'Accept: application/vnd.oci.image.index.v1+json' \
            "http://127.0.0.1:5000/v2/${ref%:*}/manifests/${ref##*:}" |
            tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }')
        [ "$got" = "$digest" ] || die "registry serves $ref as '$got', built $digest"
    done <"$work/images.txt"
    exit 0
fi

[ $# -eq 0 ] || die "usage: $0"
[ "$(id -u)" = 0 ] || die "needs root (unshare -n for the private registry, dpkg-deb -x keeps setuid modes)"
for tool in python3 gcc skopeo docker-registry dpkg-deb apt-get apt-cache unshare ip curl flock \
    sha256sum ldd; do
    command -v "$tool" >/dev/null || die "$tool is needed and not installed"
done
[ "$(dpkg --print-architecture)" = amd64 ] || die "the stand-ins are linux/amd64 images"
mkdir -p "$cache_root/debs" || die "cannot create $cache_root"

# ---- the .debs: the candidate version of each package, downloaded once ----------------------
# apt-cache reads the local package lists only; apt-get download fetches into a private
# directory from the sources already configured. Offline with the .deb cached works too.
fetch_deb() {
    local pkg=$1 ver file tmp
    ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
    if [ -z "$ver" ]; then
        # No package lists: take what the cache has.
        file=$(find "$cache_root/debs" -maxdepth 1 -name "${pkg}_*_amd64.deb" | sort | tail -n 1)
        [ -n "$file" ] || die "apt-cache knows no $pkg and $cache_root/debs has none (apt-get update?)"
        echo "$file"
        return
    fi
    file=$cache_root/debs/${pkg}_${ver//:/%3a}_amd64.deb
    if [ ! -f "$file" ]; then
        log "apt-get download $pkg=$ver"
        tmp=$(mktemp -d "$cache_root/debs/dl.XXXXXX")
        (cd "$tmp" && apt-get download -q "$pkg=$ver" >&2 2>/dev/null) ||
            { rm -rf "$tmp"; die "apt-get download $pkg=$ver failed"; }
        mv "$tmp"/"${pkg}"_*.deb "$file"
        rm -rf "$tmp"
    fi
    echo "$file"
}
busybox_deb=$(fetch_deb busybox)
nginx_deb=$(fetch_deb nginx)

exec 9>"$cache_root/.lock"
flock 9
rm -rf "$cache_root"/build.* # what a killed build left (we hold the lock)
start=$(date +%s)
work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
x=$work/x
mkdir -p "$x/busybox" "$x/nginx"
dpkg-deb -x "$busybox_deb" "$x/busybox"
dpkg-deb -x "$nginx_deb" "$x/nginx"
[ -x "$x/busybox/bin/busybox" ] || die "$busybox_deb has no /bin/busybox"
[ -x "$x/nginx/usr/sbin/nginx" ] || die "$nginx_deb has no /usr/sbin/nginx"

# Host libraries the two dynamic binaries need (the host is Debian too: same ABI).
host_libs() { ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'; }
mapfile -t libs < <({ host_libs "$x/busybox/bin/busybox"; host_libs "$x/nginx/usr/sbin/nginx"; } | sort -u)
[ ${#libs[@]} -gt 0 ] || die "ldd found no libraries for busybox/nginx"

# ---- the cache key ----------------------------------------------------------------------------
libc_a=$(gcc -print-file-name=libc.a)
[ -f "$libc_a" ] || die "gcc -static needs libc.a (package libc6-dev)"
key=$(
    {
        sha256sum "$self" "$src"/* "$busybox_deb" "$nginx_deb" "$libc_a"
        for l in "${libs[@]}"; do sha256sum "$(readlink -f "$l")" | sed "s# .*# $l#"; done
        gcc --version | head -n 1
        python3 -c 'import sys; print(sys.version.split()[0])'
    } | sed -e "s#$repo/##" -e "s#$cache_root/debs/##" | sha256sum | cut -c1-16
)
out=$cache_root/$key
if [ -f "$out/build-info" ]; then
    echo "$out"
    exit 0
fi
log "building the stand-in images into $out"

# ---- layer "bb": busybox userland ------------------------------------------------------------
B=$work/bb
mkdir -p "$B"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib/x86_64-linux-gnu,lib64,etc,root,home,var/www,var/spool/mail,var/lib,dev,proc,sys}
install -d -m 1777 "$B/tmp"
install -m 0755 "$x/busybox/bin/busybox" "$B/bin/busybox"
# Every applet a hard link in /bin only: `ls` must resolve to /bin/ls alone (MaskedPaths).
for a in $("$B/bin/busybox" --list); do
    [ -e "$B/bin/$a" ] || ln "$B/bin/busybox" "$B/bin/$a"
done
copy_lib() { # lib root
    case $1 in
    */ld-linux*) cp -L "$1" "$2/lib64/" ;;
    *) cp -L "$1" "$2/lib/x86_64-linux-gnu/" ;;
    esac
}
for l in $(host_libs "$x/busybox/bin/busybox"); do copy_lib "$l" "$B"; done
install -m 0755 "$src/pgrep" "$src/ipcs" "$B/bin/"
cat >"$B/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$B/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
users:x:100:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$B/etc/nsswitch.conf"

# ---- nginx layers: Debian's binary + its libraries beyond bb's, one config layer per port -----
N=$work/ngx
mkdir -p "$N"/{usr/sbin,lib/x86_64-linux-gnu,etc/nginx,var/lib/nginx,var/log/nginx,run,usr/share/nginx/html}
install -m 0755 "$x/nginx/usr/sbin/nginx" "$N/usr/sbin/nginx"
for l in $(host_libs "$x/nginx/usr/sbin/nginx"); do
    [ -e "$B/lib/x86_64-linux-gnu/${l##*/}" ] || [ -e "$B/lib64/${l##*/}" ] || copy_lib "$l" "$N"
done
ln -s /run "$N/var/run"
cat >"$N/usr/share/nginx/html/index.html" <<'EOF'
<!DOCTYPE html>
<html><head><title>Welcome to nginx!</title></head>
<body><h1>Welcome to nginx!</h1><p>critest stand-in (Debian nginx).</p></body></html>
EOF
for port in 80 12003; do
    mkdir -p "$work/ngxconf$port/etc/nginx"
    sed "s/@PORT@/$port/" "$src/nginx.conf.in" >"$work/ngxconf$port/etc/nginx/nginx.conf"
done

# ---- httpd, nonewprivs, pause ------------------------------------------------------------------
H=$work/httpd
mkdir -p "$H/usr/local/bin" "$H/usr/local/apache2/htdocs"
install -m 0755 "$src/httpd-foreground" "$H/usr/local/bin/httpd-foreground"
echo '<html><body><h1>It works!</h1></body></html>' >"$H/usr/local/apache2/htdocs/index.html"

mkdir -p "$work/nnp/usr/local/bin" "$work/pause"
nice -n "$nice_level" gcc -static -Os -s -o "$work/nnp/usr/local/bin/nnp" "$src/nnp.c" ||
    die "gcc -static failed for nnp.c"
# setuid root: the NoNewPrivs spec expects effective uid 0 unless no_new_privs is set.
chmod 04755 "$work/nnp/usr/local/bin/nnp"
nice -n "$nice_level" gcc -static -Os -s -o "$work/pause/pause" "$src/pause.c" ||
    die "gcc -static failed for pause.c"

# ---- predefined-group layer (SupplementalGroupsPolicy specs) ----------------------------------
P=$work/predef
mkdir -p "$P/etc" "$P/home/default-user"
cp "$B/etc/passwd" "$B/etc/group" "$P/etc/"
echo 'default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh' >>"$P/etc/passwd"
printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >>"$P/etc/group"

# One layer with one empty file /NAME: what makes test-image-N differ from one another.
one() {
    mkdir -p "$work/one/$1"
    : >"$work/one/$1/$1"
    echo "$work/one/$1"
}

# ---- the image list ----------------------------------------------------------------------------
path_env='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
sh_cfg="{\"Cmd\":[\"sh\"],$path_env}"
nginx_cfg="{\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],$path_env,\"ExposedPorts\":{\"80/tcp\":{}},\"StopSignal\":\"SIGTERM\"}"
images=()
img() { # config-json layer-dir... -- ref...
    local cfg=$1 layers=() refs=()
    shift
    while [ "$1" != -- ]; do
        layers+=("\"$1\"")
        shift
    done
    shift
    for r in "$@"; do refs+=("\"$r\""); done
    images+=("{\"refs\":[$(
        IFS=,
        echo "${refs[*]}"
    )],\"layers\":[$(
        IFS=,
        echo "${layers[*]}"
    )],\"config\":$cfg${owners:+,\"owners\":$owners}}")
}
T=k8s-staging-cri-tools
owners=
img "{\"Cmd\":[\"sh\"],$path_env,\"Labels\":{\"image_version\":\"1.29\"}}" "$B" -- e2e-test-images/busybox:1.29-2
img "$nginx_cfg" "$B" "$N" "$work/ngxconf80" -- e2e-test-images/nginx:1.14-2
img "{\"Cmd\":[\"httpd-foreground\"],$path_env,\"WorkingDir\":\"/usr/local/apache2\",\"ExposedPorts\":{\"80/tcp\":{}}}" \
    "$B" "$H" -- e2e-test-images/httpd:2.4.39-4
img "{\"Cmd\":[\"nnp\"],$path_env}" "$B" "$work/nnp" -- e2e-test-images/nonewprivs:1.3
# One image, one local repo: serves registry.k8s.io/pause:3.9 AND k8s.gcr.io/pause:3.9 (the
# same-image-different-registries specs need one id under both names).
img "{\"Entrypoint\":[\"/pause\"],\"User\":\"65535:65535\",\"WorkingDir\":\"/\",$path_env}" "$work/pause" -- pause:3.9
# The reference containerd's sandbox image (served as registry.k8s.io/berth-critest/sandbox-pause:1):
# NOT pause:3.9, which the image specs pull and remove, and a different image id (other label),
# else pause:3.9's RepoTags would gain a third name and the two-registries spec would fail.
img "{\"Entrypoint\":[\"/pause\"],\"User\":\"65535:65535\",\"WorkingDir\":\"/\",$path_env,\"Labels\":{\"org.berth.critest\":\"sandbox\"}}" \
    "$work/pause" -- berth-critest/sandbox-pause:1
for n in 1 2 3 latest; do
    img "$sh_cfg" "$B" "$(one "test-image-$n")" -- "$T/test-image-$n:latest"
done
# Three tags of ONE image (listImage with 3 repoTags, remove-by-one-tag-removes-all).
img "$sh_cfg" "$B" "$(one same-image)" -- "$T/test-image-tags:1" "$T/test-image-tags:2" "$T/test-image-tags:3"
img "$sh_cfg" "$B" "$(one test)" -- "$T/test-image-tag:test"
img "$sh_cfg" "$B" "$(one all)" -- "$T/test-image-tag:all"
img "{\"Cmd\":[\"sh\"],$path_env,\"User\":\"1002\"}" "$B" -- "$T/test-image-user-uid:latest"
img "{\"Cmd\":[\"sh\"],$path_env,\"User\":\"www-data\"}" "$B" -- "$T/test-image-user-username:latest"
img "{\"Cmd\":[\"sh\"],$path_env,\"User\":\"1003:1004\"}" "$B" -- "$T/test-image-user-uid-group:latest"
img "{\"Cmd\":[\"sh\"],$path_env,\"User\":\"www-data:1004\"}" "$B" -- "$T/test-image-user-username-group:latest"
owners='{"home/default-user":[1000,1000]}'
img "{\"Cmd\":[\"sh\"],$path_env,\"User\":\"1000\"}" "$B" "$P" -- "$T/test-image-predefined-group:latest"
owners=
img "$nginx_cfg" "$B" "$N" "$work/ngxconf12003" -- "$T/hostnet-nginx-amd64:latest"
# -benchmark only (public.ecr.aws mirror).
img "$sh_cfg" "$B" -- docker/library/busybox:1.35.0-glibc docker/library/busybox:1-uclibc \
    docker/library/busybox:1 docker/library/busybox:1-glibc docker/library/busybox:1-musl
# Not built: gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:9700f9...: a digest is the
# hash of upstream's bytes; its spec ("public image with digest") is skipped by the harness.
(
    IFS=,
    echo "{\"images\":[${images[*]}]}"
) >"$work/spec.json"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/spec.json" ||
    die "internal error: bad spec.json"

nice -n "$nice_level" python3 "$src/ociw.py" "$work/oci" "$work/spec.json" >"$work/images.txt" ||
    die "ociw.py failed"
unshare -n "$self" _push "$work" || die "pushing into the registry storage failed (log: $work/registry.log)"

# The multi-tag / shared-id expectations, checked on what was built.
same_digest() {
    local n
    n=$(grep -E "$1" "$work/images.txt" | awk '{ print $2 }' | sort -u | wc -l)
    [ "$n" = 1 ] || die "internal error: $1 are $n images, want one"
}
same_digest '^k8s-staging-cri-tools/test-image-tags:[123] '
[ "$(grep -E '^k8s-staging-cri-tools/test-image-(1|2|3|latest):' "$work/images.txt" | awk '{ print $3 }' | sort -u | wc -l)" = 4 ] ||
    die "internal error: test-image-{1,2,3,latest} must be 4 different images"

secs=$(($(date +%s) - start))
{
    echo "key: $key"
    echo "busybox: ${busybox_deb##*/}"
    echo "nginx: ${nginx_deb##*/}"
    echo "host libraries: ${libs[*]}"
    echo "gcc: $(gcc --version | head -n 1)"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in ${secs}s"
} >"$work/build-info"
mkdir -p "$work/out"
mv "$work/oci" "$work/registry" "$work/images.txt" "$work/spec.json" "$work/build-info" "$work/out/"
rm -rf "$out"
mv "$work/out" "$out"
log "built $(wc -l <"$out/images.txt") refs in ${secs}s"
echo "$out"
