#!/usr/bin/env bash
# Guest side of scripts/test-kernels.sh: runs the test binaries of PLAN ("<executable> -|<test>…"
# per line) inside the cgroup v2 guest, writes "N passed, N failed" to RESULTS/summary and the
# output of each failing binary to RESULTS/.
#
#   kernel-guest-tests.sh PLAN RESULTS
set -uo pipefail
plan=$1 results=$2

[ "${V2VM_GUEST:-}" = 1 ] || { echo "kernel-guest-tests: run me through scripts/test-kernels.sh" >&2; exit 2; }
echo "guest: $(uname -r), cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"

# Test data on ext4 (what users' /var/lib is; tmpfs cannot be idmapped before 6.3), in a loop
# file on a tmpfs of its own: the guest's / is the host's, read-only.
work=/tmp/berth-guest
mkdir -p "$work"
mount -t tmpfs -o size=5g tmpfs "$work"
modprobe loop 2>/dev/null
truncate -s 4900M "$work/disk.img"
mkfs.ext4 -q -F "$work/disk.img"
mkdir -p "$work/tmp"
mount -o loop "$work/disk.img" "$work/tmp"
export TMPDIR=$work/tmp
# berthd and the CNI plugins expect these; the guest's /var and /run are private overlays.
mkdir -p /run/netns /var/lib/cni
export RUST_BACKTRACE=0

# The binaries run from ext4 too, as installed ones do: overlayfs cannot stack on the host's 9p
# share, and the runtime re-executes itself from an overlay view of its own directory. The
# harnesses find the daemons next to the test binary (target/debug/deps/..), the runtime tests
# through BERTH_TEST_RUNTIME.
target=$TMPDIR/target/debug
mkdir -p "$target/deps"
host_target=$(dirname "$(dirname "$(head -1 "$plan" | cut -d' ' -f1)")")
for bin in berthd berth berth-runtime berth-shim berth-init; do
    cp "$host_target/$bin" "$target/" 2>/dev/null
done
export BERTH_TEST_RUNTIME=$target/berth-runtime

passed=0 failed=0
while read -r exe filters; do
    [ -n "$exe" ] || continue
    name=$(basename "$exe")
    cp "$exe" "$target/deps/$name" && exe=$target/deps/$name
    args=()
    [ "$filters" = - ] || { read -r -a args <<< "$filters"; args+=(--exact); }
    out=$results/$name.log
    start=$SECONDS
    (cd "$TMPDIR" && "$exe" "${args[@]}" --test-threads 2) > "$out" 2>&1
    rc=$?
    line=$(grep '^test result:' "$out" | tail -1)
    p=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<< "$line")
    f=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<< "$line")
    if [ -z "$p" ]; then p=0; f=$((${f:-0} + 1)); fi
    [ $rc = 0 ] || [ "${f:-0}" -gt 0 ] || f=1
    passed=$((passed + p)) failed=$((failed + ${f:-0}))
    echo "$name: $line ($((SECONDS - start)) s)"
    if [ $rc = 0 ]; then
        rm -f "$out"
    else
        grep -E '^test .* FAILED|panicked at' -A3 "$out" | head -40
    fi
done < "$plan"

umount "$work/tmp" "$work"
echo "$passed passed, $failed failed" > "$results/summary"
[ $failed = 0 ]
