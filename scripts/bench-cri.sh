#!/usr/bin/env bash
# CRI benchmark: Berth's CRI vs Debian's containerd 1.6 (its CRI plugin, runc), same host, same
# client, one run:
#
#   (a) one pod at a time, RUNS times: RunPodSandbox, CreateContainer, StartContainer,
#       StopContainer (timeout 0), RemoveContainer, StopPodSandbox, RemovePodSandbox of a pod with
#       one busybox `sleep` container; median and p90 of each call, of the pod start
#       (Run + Create + Start) and of the whole lifecycle; and again with host-network pods,
#       where no CNI plugin runs (the plugins are the same programs for both runtimes);
#   (b) PODS such lifecycles at once, ROUNDS times: wall time of each round;
#   (c) per-pod overhead: with IDLE_PODS pods running `sleep`, the PSS, USS and RSS of the per-pod
#       processes (Berth: pause + its berth-shim + the container's berth-shim; containerd: its
#       containerd-shim-runc-v2 + pause), and how much each daemon grew.
#
#   sudo scripts/bench-cri.sh                        # containerd, then berth
#   sudo scripts/bench-cri.sh --runtimes berth       # any comma-separated subset
#
# Env: RUNS (default 30), PODS (20), ROUNDS (3), IDLE_PODS (10), BERTH_BENCH_OUT (results and
# logs; default /tmp/berth-bench-cri.<UTC time>). Berth is the release build: berthd from
# `cargo build --release` (CARGO_TARGET_DIR is honoured), berth-runtime, berth-shim and
# berth-pause static from scripts/build-static.sh. The client is the `cri-bench` example of
# berth-api-cri (release): one HTTP/2 connection, the calls of a kubelet, samples as JSON.
#
# Each runtime runs in private namespaces with a private registry of stand-in images
# (scripts/lib/cri-namespaces.sh, shared with scripts/critest.sh), its stores on a fresh ext4
# (loop-mounted, 8 GB sparse, in the namespace only); the benchmark client runs inside too. Output ends with Markdown tables for docs/performance.md.
# shellcheck disable=SC2317 # trap handlers are called indirectly
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$repo/scripts/bench-cri.sh
# shellcheck source=scripts/lib/cri-namespaces.sh
. "$repo/scripts/lib/cri-namespaces.sh"
image=registry.k8s.io/e2e-test-images/busybox:1.29-2
# The pods' cgroup parent (the client's /berth-bench/pod<uid>), removed after each runtime.
cgroup_root=berth-bench

# =============================================================================================
# Inside the namespaces: `_inner CRICTL CLIENT RUNTIME RUNDIR IMAGES`
# =============================================================================================
bench() { # rundir name [--host-network] mode args...: the client as the job, its JSON in RUNDIR/NAME.json
    local rd=$1 name=$2
    shift 2
    "$client" --endpoint "$ep" --image "$image" --dir "$rd/pods" "$@" >"$rd/$name.json" &
    job_pid=$!
    if ! wait "$job_pid"; then
        job_pid=
        ns_down "$rt" "$rd" "$ep" # rt: inner's
        die "$rt: cri-bench $* failed (logs in $rd)"
    fi
    job_pid=
}

# The per-pod processes by name with their count, RSS, PSS and USS (private pages: what one more
# pod adds) in KiB, and the daemon's RSS.
measure() { # daemon-pid
    python3 - "$1" <<'EOF'
import json, os, sys
procs = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        comm = open(f"/proc/{pid}/comm").read().strip()
        if comm not in ("berth-shim", "containerd-shim", "pause"):
            continue
        rollup = dict(l.split(":", 1) for l in open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:])
    except OSError:
        continue
    kib = lambda k: int(rollup[k].split()[0])
    p = procs.setdefault(comm, [0, 0, 0, 0])
    p[0] += 1
    p[1] += kib("Rss")
    p[2] += kib("Pss")
    p[3] += kib("Private_Clean") + kib("Private_Dirty")
daemon = next(int(l.split()[1]) for l in open(f"/proc/{sys.argv[1]}/status") if l.startswith("VmRSS:"))
print(json.dumps({"procs": procs, "daemon_rss": daemon}))
EOF
}

# The runtime's stores on a fresh ext4 of their own, mounted in this mount namespace only (gone
# with it). This VM's root ext4 is aged and journal-less: there, allocating an inode scans long
# (ext4's find_inode_bit/recently_deleted were a third of berthd's CPU in a profile), a cost
# of that file system, not of the runtime, and no runtime's state lives on such a disk (/run is
# a tmpfs; /var/lib a normal file system).
fresh_fs() { # rd
    local img=$1/fs.img d
    truncate -s 8G "$img"
    mkfs.ext4 -q -F "$img"
    mkdir -p "$1/fs"
    mount -o loop "$img" "$1/fs"
    rm -f "$img" # the loop device holds it; its blocks return when the mount goes
    # Berth's (data, exec) and containerd's (root, state) stores, the other's left empty, and the
    # pods' log directories.
    for d in data exec root state pods; do
        mkdir -p "$1/fs/$d" "$1/$d"
        mount --bind "$1/fs/$d" "$1/$d"
    done
}

inner() {
    local rt=$1 rd=$2 images=$3 daemon
    fresh_fs "$rd"
    ns_up "$rt" "$rd" "$images"
    daemon=$(cat "$rd/runtime.pid")
    mkdir -p "$rd/pods"
    log "$rt: $RUNS lifecycles one at a time"
    bench "$rd" sequential sequential "$RUNS"
    log "$rt: $RUNS lifecycles of host-network pods one at a time"
    bench "$rd" sequential-hostnet --host-network sequential "$RUNS"
    log "$rt: $ROUNDS rounds of $PODS lifecycles at once"
    bench "$rd" concurrent concurrent "$PODS" "$ROUNDS"
    log "$rt: $IDLE_PODS idle pods"
    # The first measure has no pod: nothing per pod may run then, and the daemon's RSS after the
    # lifecycles above is the base its growth is counted from.
    measure "$daemon" >"$rd/idle-before.json"
    bench "$rd" up up "$IDLE_PODS"
    sleep 2
    measure "$daemon" >"$rd/idle-after.json"
    bench "$rd" down down
    find "$rd/pods" -mindepth 1 -delete # a mount point: its contents
    trap - TERM INT
    ns_down "$rt" "$rd" "$ep"
}

if [ "${1:-}" = _inner ]; then
    shift
    crictl=$1 client=$2
    shift 2
    inner "$@"
    exit 0
fi

# =============================================================================================
# Outside
# =============================================================================================
runtimes=containerd,berth
while [ $# -gt 0 ]; do
    case $1 in
    --runtimes)
        [ $# -ge 2 ] || die "--runtimes needs a list (containerd,berth)"
        runtimes=$2
        shift
        ;;
    -h | --help)
        sed -n '2,25p' "$self"
        exit 0
        ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done
set_runtimes "$runtimes"
export RUNS=${RUNS:-30} PODS=${PODS:-20} ROUNDS=${ROUNDS:-3} IDLE_PODS=${IDLE_PODS:-10}
for v in RUNS PODS ROUNDS IDLE_PODS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive number"
done

check_host cargo mkfs.ext4 truncate
target=${CARGO_TARGET_DIR:-$repo/target}
cargo build --manifest-path "$repo/Cargo.toml" --release -p berthd >&2
cargo build --manifest-path "$repo/Cargo.toml" --release -p berth-api-cri --no-default-features \
    --features client --example cri-bench >&2
client=$target/release/examples/cri-bench
{ read -r BERTH_RUNTIME && read -r BERTH_SHIM && read -r BERTH_PAUSE; } < <(
    "$repo/scripts/build-static.sh" berth-runtime berth-shim berth-pause
) || die "scripts/build-static.sh failed"
export BERTHD=$target/release/berthd BERTH_RUNTIME BERTH_SHIM BERTH_PAUSE
for rt in "${rts[@]}"; do "check_$rt"; done
crictl=$("$repo/scripts/build-cri-tools.sh" crictl) || die "scripts/build-cri-tools.sh crictl failed"
images=$("$repo/scripts/critest-images.sh") || die "scripts/critest-images.sh failed"

out=${BERTH_BENCH_OUT:-/tmp/berth-bench-cri.$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log "results and logs: $out"

# The pods' cgroups the runtimes leave: the per-pod parents (the kubelet removes those), and,
# after a killed runtime, containers' (removed by id by ns_run). Empty directories only.
remove_pod_cgroups() {
    local d
    find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d -name "$cgroup_root" 2>/dev/null |
        while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
}
trap 'ns_cleanup; remove_pod_cgroups' EXIT
trap 'exit 130' INT TERM

for rt in "${rts[@]}"; do
    rd=$out/$rt
    mkdir -p "$rd"
    t0=$(date +%s)
    ns_run "$rd" "$crictl" "$client" "$rt" "$rd" "$images" ||
        die "$rt: harness failed: $(tail -n 5 "$rd/harness.log")"
    remove_pod_cgroups
    log "$rt: done in $(($(date +%s) - t0)) s"
    # The teardown's write-back (the freed loop-mounted store among it) must not run into the
    # next runtime's measurements.
    sync
    sleep 5
done

python3 - "$out" "$RUNS" "$PODS" "$ROUNDS" "$IDLE_PODS" "${rts[@]}" <<'EOF'
import json, os, sys
out, runs, pods, rounds, idle = sys.argv[1], *map(int, sys.argv[2:6])
rts = sys.argv[6:]

def load(rt, name):
    with open(os.path.join(out, rt, name + ".json")) as f:
        return json.load(f)

def pct(xs, p):  # nearest rank
    xs = sorted(xs)
    return xs[max(0, -(-len(xs) * p // 100) - 1)]

def stats(xs):
    return pct(xs, 50), pct(xs, 90)

def lifecycle_cols(samples, ops):
    cols = {op: [s[i] for s in samples] for i, op in enumerate(ops)}
    cols["pod start (Run+Create+Start)"] = [sum(s[:3]) for s in samples]
    cols["lifecycle (all 7)"] = [sum(s) for s in samples]
    return cols

def cell(xs):
    m, p = stats(xs)
    return f"{m:.1f} / {p:.1f}"

def ratio(a, b):
    return f"{a / b:.2f}x" if a > 0 and b > 0 else "-"

res = {}
for rt in rts:
    seq, host, conc = load(rt, "sequential"), load(rt, "sequential-hostnet"), load(rt, "concurrent")
    res[rt] = {"seq": lifecycle_cols(seq["samples"], seq["ops"]),
               "host": lifecycle_cols(host["samples"], host["ops"]),
               "conc": conc, "before": load(rt, "idle-before"), "after": load(rt, "idle-after")}

base = rts[-1]  # berth when both ran
others = rts[:-1]
hdr = " | ".join(rts)
for key, what in (("seq", "pod network (CNI bridge + portmap)"), ("host", "host network (no CNI)")):
    print(f"\n### One pod at a time, {what} ({runs} lifecycles): median / p90, ms\n")
    print(f"| call | {hdr} |" + "".join(f" {o}/{base} |" for o in others))
    print("|---|" + "---|" * (len(rts) + len(others)))
    for op in res[base][key]:
        med = {rt: stats(res[rt][key][op])[0] for rt in rts}
        print(f"| {op} | " + " | ".join(cell(res[rt][key][op]) for rt in rts) + " |"
              + "".join(f" {ratio(med[o], med[base])} |" for o in others))

print(f"\n### {pods} pods at once ({rounds} rounds): wall time, ms\n")
print(f"| | {hdr} |" + "".join(f" {o}/{base} |" for o in others))
print("|---|" + "---|" * (len(rts) + len(others)))
walls = {rt: res[rt]["conc"]["walls"] for rt in rts}
print("| wall time per round, median | " + " | ".join(f"{stats(walls[rt])[0]:.0f}" for rt in rts) + " |"
      + "".join(f" {ratio(stats(walls[o])[0], stats(walls[base])[0])} |" for o in others))
print("| rounds | " + " | ".join(", ".join(f"{w:.0f}" for w in walls[rt]) for rt in rts) + " |" + " |" * len(others))
for name, i in (("pod start (Run+Create+Start) in a round", 3), ("lifecycle (all 7) in a round", 7)):
    per = {rt: [sum(s[:i]) for s in res[rt]["conc"]["samples"]] for rt in rts}
    print(f"| {name}, median / p90 | " + " | ".join(cell(per[rt]) for rt in rts) + " |"
          + "".join(f" {ratio(stats(per[o])[0], stats(per[base])[0])} |" for o in others))

print(f"\n### Per-pod overhead ({idle} idle pods, busybox sleep), KiB per pod\n")
print(f"| | {hdr} |" + "".join(f" {o}/{base} |" for o in others))
print("|---|" + "---|" * (len(rts) + len(others)))
per_pod = {}
for rt in rts:
    p = res[rt]["after"]["procs"]
    gone = res[rt]["before"]["procs"]
    if gone:
        print(f"warning: {rt}: per-pod processes before the idle pods: {gone}", file=sys.stderr)
    per_pod[rt] = {
        "procs": ", ".join(f"{v[0]} {c}" for c, v in sorted(p.items())),
        "pss": sum(v[2] for v in p.values()) / idle,
        "rss": sum(v[1] for v in p.values()) / idle,
        "uss": sum(v[3] for v in p.values()) / idle,
        "daemon": (res[rt]["after"]["daemon_rss"] - res[rt]["before"]["daemon_rss"]) / idle,
    }
print(f"| processes for {idle} pods | " + " | ".join(per_pod[rt]["procs"] for rt in rts) + " |" + " |" * len(others))
for key, name in (("pss", "PSS of those, per pod"), ("uss", "USS (private) of those, per pod"),
                  ("rss", "RSS of those, per pod"), ("daemon", "daemon RSS growth, per pod")):
    print(f"| {name} | " + " | ".join(f"{per_pod[rt][key]:.0f}" for rt in rts) + " |"
          + "".join(f" {ratio(per_pod[o][key], per_pod[base][key])} |" for o in others))

if base == "berth":
    print()
    for key, name in (("pss", f"PSS at {idle} pods"), ("uss", "USS"), ("rss", "RSS")):
        mib = per_pod["berth"][key] / 1024
        print(f"goal per-pod overhead < 2 MiB, pause + shims, {name}: {mib:.2f} MiB: "
              + ("met" if mib < 2 else "NOT met"))
    if "containerd" in rts:
        op = "pod start (Run+Create+Start)"
        for key, what in (("seq", "pod network"), ("host", "host network")):
            r = stats(res["containerd"][key][op])[0] / stats(res["berth"][key][op])[0]
            print(f"goal pod start >= 5x faster than containerd (median, one at a time, {what}): "
                  f"{r:.2f}x: " + ("met" if r >= 5 else "NOT met"))
EOF
