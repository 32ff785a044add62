#!/usr/bin/env bash
# Runs Berth's tests where most users run it: pure cgroup v2 hosts with older kernels. Each
# kernel boots a throwaway QEMU guest (../shared/v2vm/run-in-v2-guest.sh: Debian's kernel booted
# with cgroup_no_v1=all, the host's filesystem read-only) that runs the test binaries built here:
# the runtime's whole integration suite, the cgroup and overlay tests, and an engine subset with
# the docker CLI (resources read back from cgroup files, update, pause, stats, OOMKilled, devices,
# a bridge network with a published port, names on a user network, a named volume, kill -9 of
# berthd and restore). Correctness only: the guest is emulated, so no timings come from it.
#
#   scripts/test-kernels.sh [6.1] [5.10]     (default: both)
#
# 6.1 is Debian 12's kernel (what the v2vm script boots by default); 5.10 is Debian 11's, fetched
# with a private apt configuration (the system's sources are not touched). Guests and kernels are
# cached under $BERTH_V2VM_CACHE (default /var/lib/berth-v2vm), one state dir per kernel.
set -euo pipefail
cd "$(dirname "$0")/.."

V2VM=${BERTH_V2VM_SCRIPT:-$(cd .. && pwd)/shared/v2vm/run-in-v2-guest.sh}
# Not under /var/cache: the guest mounts a tmpfs there, and it must see the state dir.
CACHE=${BERTH_V2VM_CACHE:-/var/lib/berth-v2vm}
KERNELS=("$@")
[ ${#KERNELS[@]} -gt 0 ] || KERNELS=(6.1 5.10)

[ "$(id -u)" = 0 ] || { echo "test-kernels: needs root (QEMU guests, mounts); skipped"; exit 0; }
[ -x "$V2VM" ] || { echo "test-kernels: $V2VM is missing" >&2; exit 1; }

# Debian 11's kernel: the newest linux-image-5.10 from bullseye, unpacked into the guest's state
# dir as run-in-v2-guest.sh itself unpacks Debian 12's.
fetch_bullseye_kernel() {
    local dir=$1 apt=$1/apt
    [ -n "$(ls "$dir"/kernel/boot/vmlinuz-* 2>/dev/null)" ] && return 0
    mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/prefs.d"
    cat > "$apt/sources.list" <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
EOF
    local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
                -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt"
                -o Dir::Etc::Preferences=/dev/null -o "Dir::Etc::PreferencesParts=$apt/prefs.d"
                -o APT::Sandbox::User=root)
    apt-get "${opts[@]}" update -qq
    local pkg
    pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-5/{print $2; exit}')
    [ -n "$pkg" ] || { echo "test-kernels: no 5.10 kernel package in bullseye" >&2; return 1; }
    rm -rf "$dir/dl" "$dir/kernel.new"
    mkdir -p "$dir/dl"
    (cd "$dir/dl" && apt-get "${opts[@]}" download "$pkg")
    dpkg -x "$dir"/dl/*.deb "$dir/kernel.new"
    dpkg-deb -f "$dir"/dl/*.deb Package Version > "$dir/kernel.new/PACKAGE"
    depmod -a -b "$dir/kernel.new" "$(basename "$(ls -d "$dir"/kernel.new/lib/modules/*)")"
    mv "$dir/kernel.new" "$dir/kernel"
    rm -rf "$dir/dl"
}

# The test binaries, and which of their tests the guest runs ("-" = all), one per line. Built
# here first, so a build error stops the script instead of shrinking the plan.
plan=$(mktemp /tmp/berth-kernel-plan.XXXXXX)
trap 'rm -f "$plan"' EXIT
cargo build --workspace -q
selection=(-p berth-runtime -p berth-cgroups -p berth-store -p berthd)
cargo test --no-run -q "${selection[@]}"
executables() {
    cargo test --no-run --message-format=json "$@" \
        | jq -r 'select(.reason == "compiler-artifact" and .executable != null and .profile.test) | .executable'
}
one() {
    local exe
    exe=$(executables -p "$1" --test "$2")
    [ -n "$exe" ] || { echo "test-kernels: no test binary $1/$2" >&2; exit 1; }
    echo "$exe ${*:3}"
}
{
    for exe in $(executables -p berth-runtime --tests); do
        case "$exe" in */peers-*) ;; *) echo "$exe -" ;; esac
    done
    for exe in $(executables -p berth-cgroups -p berth-store --lib --tests); do echo "$exe -"; done
    one berthd cgroups -
    one berthd network user_network_names_tcp_udp_and_isolation \
        published_ports_from_host_and_containers_and_rules_go
    one berthd volumes named_volume_outlives_containers_and_a_daemon_crash
    one berthd docker_cli run_rm_prints_output_and_passes_exit_code containers_survive_a_daemon_crash
} > "$plan"
# berth-runtime's 13 suites, berth-cgroups' 3, berth-store's 2, berthd's 4.
[ "$(wc -l < "$plan")" -ge 20 ] || { echo "test-kernels: short plan:" >&2; cat "$plan" >&2; exit 1; }

status=0
for k in "${KERNELS[@]}"; do
    dir=$CACHE/$k
    mkdir -p "$dir"
    case "$k" in
        6.1) ;;
        5.10) fetch_bullseye_kernel "$dir" ;;
        *) echo "test-kernels: unknown kernel $k (6.1 or 5.10)" >&2; exit 1 ;;
    esac
    echo "== tests in a cgroup v2 guest with Linux $k"
    results=$(mktemp -d /tmp/berth-kernel-results.XXXXXX)
    V2VM_DIR=$dir V2VM_MEM=${BERTH_V2VM_MEM:-6G} V2VM_RWDIRS=$results \
        V2VM_ENV="BERTH_TEST_INIT" \
        "$V2VM" scripts/kernel-guest-tests.sh "$plan" "$results" || status=1
    # The guest's own summary; a guest that died before writing it failed.
    if [ -s "$results/summary" ]; then
        echo "linux-$k: $(cat "$results/summary")"
        grep -q '^0 passed' "$results/summary" && { echo "linux-$k: no test ran" >&2; status=1; }
    else
        echo "linux-$k: the guest wrote no summary" >&2
        status=1
    fi
    rm -rf "$results"
done
exit $status
