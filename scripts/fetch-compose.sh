#!/usr/bin/env bash
# Fetches the compose v2 CLI plugin (`docker compose`) for the end-to-end tests and prints its
# path. Debian trixie packages it as `docker-compose` 2.x, a static Go binary that depends only on
# libc, so it runs on the bookworm host; bookworm's own `docker-compose` is the Python 1.29.
#
# The system's apt configuration is never touched: a private sources.list (trixie beside
# bookworm, on the mirror the system's sources use) with its own state and cache directories
# under $cache_root, then `apt-get download` and `dpkg -x`. The plugin lands in
# $cache_root/compose-v2/<package version>/docker-compose; a second run finds it there and
# does nothing (offline too, once fetched). The tests find the newest version in that directory,
# or the path in BERTH_TEST_COMPOSE_V2 (scripts/test.sh exports this script's output).
set -euo pipefail

cache_root=${BERTH_TEST_CACHE:-/var/cache/berth-test}
apt_root=$cache_root/apt-trixie
plugins=$cache_root/compose-v2

# The mirror of the system's Debian sources (deb822 or one-line format), so a host behind a
# local mirror or proxy keeps using it.
mirror() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
        [ -r "$f" ] || continue
        case $f in
        *.sources) uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f") ;;
        *) uri=$(awk '/^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' "$f") ;;
        esac
        if [ -n "$uri" ]; then
            echo "${uri%/}"
            return
        fi
    done
    echo http://deb.debian.org/debian
}

newest_cached() {
    # Versions sort as Debian versions would for the ones trixie has had (2.x.y-n).
    find "$plugins" -mindepth 2 -maxdepth 2 -name docker-compose -type f -perm -u+x 2>/dev/null |
        sort -V | tail -n 1
}

mkdir -p "$apt_root"/{state/lists/partial,cache/archives/partial,etc} "$plugins"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
m=$(mirror)
cat >"$apt_root/etc/sources.list" <<EOF
deb [signed-by=$keyring] $m bookworm main
deb [signed-by=$keyring] $m trixie main
EOF
apt_opts=(
    -o "Dir::Etc::sourcelist=$apt_root/etc/sources.list"
    # No sources.list.d: only the list above.
    -o "Dir::Etc::sourceparts=$apt_root/etc/sources.list.d"
    -o "Dir::State=$apt_root/state"
    -o "Dir::Cache=$apt_root/cache"
    # The system's dpkg status stays the reference for what is installed; nothing is installed.
    -o "Dir::State::status=/var/lib/dpkg/status"
    # The host's hooks (packagekit, appstream metadata) are for the system's lists, not these.
    -o "APT::Update::Post-Invoke-Success::="
    -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
    -o "Acquire::Languages=none"
)
mkdir -p "$apt_root/etc/sources.list.d"

# Refresh the lists at most once a day; with a cached plugin, a failed refresh is not an error.
stamp=$apt_root/state/updated
if [ -z "$(find "$stamp" -mmin -1440 2>/dev/null)" ]; then
    if apt-get "${apt_opts[@]}" -qq update >&2; then
        touch "$stamp"
    elif [ -n "$(newest_cached)" ]; then
        echo "fetch-compose: apt-get update failed; using the cached plugin" >&2
        newest_cached
        exit 0
    else
        echo "fetch-compose: apt-get update of trixie failed" >&2
        exit 1
    fi
fi

version=$(apt-cache "${apt_opts[@]}" madison docker-compose |
    awk -F' *[|] *' '$3 ~ /[ \/]trixie\// { print $2; exit }')
if [ -z "$version" ]; then
    echo "fetch-compose: no docker-compose in trixie's lists" >&2
    exit 1
fi
dest=$plugins/$version/docker-compose
if [ -x "$dest" ]; then
    echo "$dest"
    exit 0
fi

work=$(mktemp -d "$plugins/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt-get download fetches as the unprivileged _apt into the current directory (root's
# download is unsandboxed, with a warning).
chown _apt "$work" 2>/dev/null || true
(cd "$work" && apt-get "${apt_opts[@]}" -qq download "docker-compose=$version" >&2)
dpkg -x "$work"/docker-compose_*.deb "$work/root"
bin=$work/root/usr/libexec/docker/cli-plugins/docker-compose
if [ ! -x "$bin" ]; then
    echo "fetch-compose: the package has no usr/libexec/docker/cli-plugins/docker-compose" >&2
    exit 1
fi
mkdir -p "$work/out"
cp "$bin" "$work/out/docker-compose"
# Into place in one rename: a concurrent run sees the whole binary or none.
mv -T "$work/out" "$plugins/$version" 2>/dev/null || [ -x "$dest" ]
echo "$dest"
