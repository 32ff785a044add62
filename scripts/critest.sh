#!/usr/bin/env bash
# CRI conformance: runs critest (kubernetes-sigs/cri-tools) against Berth's CRI server and,
# optionally, against Debian's containerd 1.6 as the reference, and ends with one line per
# runtime (Berth's last):
#
#   <runtime>: N passed, N failed, N skipped
#
#   scripts/critest.sh                        # berth only (what CI runs)
#   scripts/critest.sh --with-containerd      # containerd (reference) first, then berth
#   scripts/critest.sh --runtimes containerd  # any comma-separated subset, in that order
#   scripts/critest.sh ... -- -ginkgo.focus 'Streaming'    # extra critest flags
#   scripts/critest.sh --websocket ...        # + a pass of the Streaming specs over WebSocket
#
# Env: BERTH_CRITEST_REFERENCE=1 (= --with-containerd), BERTH_CRITEST_OUT (logs; default
# /tmp/berth-critest.<UTC time>), BERTH_CRITEST_PARALLEL (critest -parallel; default 2 = the
# cores CI has; 1 runs without the ginkgo CLI), BERTHD (default target/{release,debug}/berthd),
# BERTH_PAUSE (the static pause of pod sandboxes; default: scripts/build-static.sh berth-pause),
# BERTH_CRITEST_WEBSOCKET=1 (= --websocket).
#
# Isolation, why and how. Each runtime runs in its own namespaces made by `unshare --mount
# --net --pid --fork`: the runtime, a private docker-registry serving the stand-in images, and
# critest itself (its HostNetwork/HostIpc/HostPID specs compare with "the host", which must be
# the runtime's host) all live inside.
#  * network: a new network namespace has only loopback, so pod traffic (bridge, veths,
#    portmap's iptables rules) stays in it and nothing can be routed off the machine; the
#    registry listens on 127.0.0.1:5000 there, free by construction;
#  * mounts: propagation slave, so every mount the runtime makes stays private, and tmpfs
#    over /run/containerd (containerd 1.6 shims always use /run/containerd/s), /run/netns
#    (containerd 1.6 pins pod netns there) and /var/lib/cni (libcni's cache): the host's
#    system containerd and CNI state are never seen nor touched;
#  * pids: the namespace's init is this script; when it exits the kernel kills whatever is
#    left (shims, containers), so an interrupted run leaves no process behind.
# What stays on the host: the log directory and the image cache (scripts/critest-images.sh).
# Container cgroups (outside any namespace) are removed by the runtime, or by the harness
# (by container id) when the runtime was killed.
# shellcheck disable=SC2317 # start_/stop_/check_<runtime> and trap handlers are called indirectly
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
self=$repo/scripts/critest.sh
cni_bin=/usr/lib/cni
# Inside the namespaces this address is free; every mirror points at it.
registry_addr=127.0.0.1:5000
# The upstream registries critest's images come from (public.ecr.aws: -benchmark only).
mirrored_hosts=(registry.k8s.io k8s.gcr.io gcr.io public.ecr.aws)
# The one spec no stand-in can pass: it pulls a fixed upstream manifest digest.
digest_spec='public image with digest should be pulled and removed'

log() { echo "critest.sh: $*" >&2; }
die() {
    log "$*"
    exit 1
}

# =============================================================================================
# Runtimes. Each has start_<rt> (sets $ep, its CRI endpoint, once serving) and stop_<rt>; both
# run inside the namespaces, in the runtime's directory $rd. No subshells: the runtime must be
# a child of this script.
# =============================================================================================

# ---- containerd (reference): Debian's containerd 1.6, as /work/shared/k8s/kubelet-standalone.sh
start_containerd() {
    local rd=$1 h
    mkdir -p "$rd"/{root,state,opt,runc,net.d,cni-ipam,certs.d}
    # Pod network: a bridge with a private range, no masquerade (and no uplink anyway).
    cat >"$rd/net.d/10-critest.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "critest",
  "plugins": [
    { "type": "bridge", "bridge": "critest0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$rd/cni-ipam",
                "ranges": [[{ "subnet": "10.66.0.0/16" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
    # Mirrors: containerd 1.6's hosts directory, one hosts.toml per upstream name.
    for h in "${mirrored_hosts[@]}"; do
        mkdir -p "$rd/certs.d/$h"
        cat >"$rd/certs.d/$h/hosts.toml" <<EOF
server = "https://$h"
[host."http://$registry_addr"]
  capabilities = ["pull", "resolve"]
EOF
    done
    cat >"$rd/config.toml" <<EOF
version = 2
root = "$rd/root"
state = "$rd/state"
[grpc]
  address = "$rd/containerd.sock"
[ttrpc]
  address = "$rd/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$rd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  # Not pause:3.9: the image specs pull and remove that one.
  sandbox_image = "registry.k8s.io/berth-critest/sandbox-pause:1"
  # This VM lacks CAP_SYS_RESOURCE: a negative oom_score_adj is refused.
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
      Root = "$rd/runc"
      SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$cni_bin"
    conf_dir = "$rd/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$rd/certs.d"
EOF
    containerd --config "$rd/config.toml" >"$rd/containerd.log" 2>&1 &
    echo $! >"$rd/runtime.pid"
    wait_socket "$rd/containerd.sock" "$(cat "$rd/runtime.pid")" "$rd/containerd.log"
    ep=unix://$rd/containerd.sock
}

stop_containerd() {
    stop_pid "$1/runtime.pid"
}

# ---- berth ---------------------------------------------------------------------------------
# berthd with its own roots and Docker bridge, plus the CRI flags (docs/cri.md):
#   --cri-socket unix://PATH        CRI gRPC socket (runtime.v1 and v1alpha2)
#   --cni-conf-dir DIR              pod network config (first file by name, as libcni)
#   --cni-bin-dir DIR               CNI plugins
#   --pause-path FILE               the static berth-pause
# and in berthd.toml:
#   registry-mirrors-by-host = { "registry.k8s.io" = ["http://127.0.0.1:5000"], ... }
#   blocked-registries = [...]      upstreams never contacted, a miss fails fast
berthd_bin() {
    local b
    for b in "${BERTHD:-}" "$repo/target/release/berthd" "$repo/target/debug/berthd"; do
        [ -n "$b" ] && [ -x "$b" ] && echo "$b" && return 0
    done
    return 1
}

start_berth() {
    local rd=$1 b h mirrors=()
    b=$(berthd_bin)
    mkdir -p "$rd"/{data,exec,net.d,cni-ipam}
    cat >"$rd/net.d/10-critest.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "critest",
  "plugins": [
    { "type": "bridge", "bridge": "critest0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$rd/cni-ipam",
                "ranges": [[{ "subnet": "10.66.0.0/16" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
    for h in "${mirrored_hosts[@]}"; do mirrors+=("\"$h\" = [\"http://$registry_addr\"]"); done
    {
        echo "# written by scripts/critest.sh"
        echo "registry-mirrors-by-host = { $(
            IFS=,
            echo "${mirrors[*]}"
        ) }"
        printf 'blocked-registries = [%s]\n' "$(printf '"%s",' "${mirrored_hosts[@]}" | sed 's/,$//')"
    } >"$rd/berthd.toml"
    "$b" --data-root "$rd/data" --exec-root "$rd/exec" -H "unix://$rd/berth.sock" \
        --config-file "$rd/berthd.toml" \
        --bridge critestb0 --bip 10.67.0.1/16 --ip-masq=false \
        --cri-socket "unix://$rd/cri.sock" \
        --cni-conf-dir "$rd/net.d" --cni-bin-dir "$cni_bin" --pause-path "$BERTH_PAUSE" \
        >"$rd/berthd.log" 2>&1 &
    echo $! >"$rd/runtime.pid"
    wait_socket "$rd/cri.sock" "$(cat "$rd/runtime.pid")" "$rd/berthd.log"
    ep=unix://$rd/cri.sock
}

stop_berth() {
    stop_pid "$1/runtime.pid"
}

# Outer-side prerequisites per runtime: fail before anything starts.
check_containerd() {
    local t
    for t in containerd runc iptables; do
        command -v "$t" >/dev/null || die "containerd reference: $t is not installed"
    done
    for t in bridge host-local loopback portmap; do
        [ -x "$cni_bin/$t" ] || die "containerd reference: no CNI plugin $cni_bin/$t (package containernetworking-plugins)"
    done
}

check_berth() {
    local b t
    b=$(berthd_bin) || die "berth: no berthd (set BERTHD, or cargo build --release -p berthd)"
    for t in berth-runtime berth-shim; do
        [ -x "$(dirname "$b")/$t" ] || die "berth: no $t next to $b (cargo build --workspace)"
    done
    for t in bridge host-local loopback portmap; do
        [ -x "$cni_bin/$t" ] || die "berth: no CNI plugin $cni_bin/$t (package containernetworking-plugins)"
    done
    # Exported: the namespaces' side (start_berth) runs in a new process of this script.
    BERTH_PAUSE=${BERTH_PAUSE:-$("$repo/scripts/build-static.sh" berth-pause)} ||
        die "berth: scripts/build-static.sh berth-pause failed"
    [ -x "$BERTH_PAUSE" ] || die "berth: no pause binary $BERTH_PAUSE"
    export BERTH_PAUSE
}

# =============================================================================================
# Helpers (inside)
# =============================================================================================
wait_socket() { # socket pid logfile
    local i
    for i in $(seq 1 120); do
        [ -S "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || die "$(basename "$3" .log) exited at start; last lines of $3:
$(tail -n 20 "$3")"
        sleep 0.25
    done
    die "no socket $1 after 30 s (log: $3)"
}

stop_pid() { # pidfile: TERM, 15 s grace, KILL
    local p i
    [ -f "$1" ] || return 0
    p=$(cat "$1")
    kill "$p" 2>/dev/null || return 0
    for i in $(seq 1 60); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.25
    done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    rm -f "$1"
}

# =============================================================================================
# Inside the namespaces: `_inner RUNTIME RUNDIR IMAGES` (this script is PID 1 there)
# =============================================================================================
inner() {
    local rt=$1 rd=$2 images=$3 rc=0 d
    ep=
    shift 3
    # Private mounts, so the host's /run/containerd, /run/netns, /var/lib/cni stay untouched.
    # (A missing mount point is created on the host: an empty directory, nothing else.)
    for d in /run/containerd /run/netns /var/lib/cni; do
        mkdir -p "$d"
        mount -t tmpfs -o mode=0755 tmpfs "$d"
    done
    ip link set lo up

    # The stand-in registry, read-only over the image cache.
    cat >"$rd/registry.yml" <<EOF
version: 0.1
log: { level: warn, accesslog: { disabled: true } }
storage:
  filesystem: { rootdirectory: $images/registry }
  maintenance: { readonly: { enabled: true }, uploadpurging: { enabled: false } }
http: { addr: $registry_addr }
EOF
    docker-registry serve "$rd/registry.yml" >"$rd/registry.log" 2>&1 &
    echo $! >"$rd/registry.pid"
    local i
    for i in $(seq 1 100); do
        curl -sf "http://$registry_addr/v2/" >/dev/null 2>&1 && break
        kill -0 "$(cat "$rd/registry.pid")" 2>/dev/null || die "docker-registry exited: $(cat "$rd/registry.log")"
        [ "$i" -lt 100 ] || die "docker-registry does not answer on $registry_addr (log: $rd/registry.log)"
        sleep 0.1
    done

    # TERM from the outer trap (or ^C): stop critest, tear down in order, then the exit of this
    # PID 1 kills whatever is left in the pid namespace. Long steps run in the background under
    # `wait`, which a trapped signal interrupts (bash runs traps only between commands).
    suite_pid=
    trap 'inner_interrupted "$rt" "$rd" "${ep:-}"' TERM INT
    log "$rt: starting (logs in $rd)"
    "start_$rt" "$rd"

    # A pull through the mirror before the suite, so a broken mirror is one clear error, not
    # fifty failed specs. The image is removed again (image specs expect a clean store).
    "$crictl" --runtime-endpoint "$ep" --image-endpoint "$ep" --timeout 60s \
        pull registry.k8s.io/e2e-test-images/busybox:1.29-2 >"$rd/preflight.log" 2>&1 ||
        die "$rt: pulling registry.k8s.io/e2e-test-images/busybox:1.29-2 through the mirror failed: $(cat "$rd/preflight.log")"
    "$crictl" --runtime-endpoint "$ep" --image-endpoint "$ep" \
        rmi registry.k8s.io/e2e-test-images/busybox:1.29-2 >>"$rd/preflight.log" 2>&1 || true

    local args=(-runtime-endpoint "$ep" -image-endpoint "$ep"
        -ginkgo.skip "$digest_spec"
        -ginkgo.json-report "$rd/report.json" -ginkgo.junit-report "$rd/junit.xml"
        -ginkgo.no-color -ginkgo.v -ginkgo.timeout 2h)
    [ "$parallel" -gt 1 ] && args+=(-parallel "$parallel")
    log "$rt: critest ${args[*]} $*"
    # critest writes temp files (seccomp profiles, log dirs) under TMPDIR: keep them here.
    mkdir -p "$rd/tmp"
    (cd "$rd" && TMPDIR=$rd/tmp PATH=$(dirname "$critest"):$PATH \
        exec nice -n "${BERTH_CRITEST_NICE:-10}" "$critest" "${args[@]}" "$@") >"$rd/critest.log" 2>&1 &
    suite_pid=$!
    wait "$suite_pid" || rc=$?
    echo "$rc" >"$rd/critest.rc"
    # critest's streaming specs speak SPDY unless told otherwise; Berth serves both, so the
    # WebSocket side (v5.channel.k8s.io, SPDY-over-WebSocket port-forward) gets its own pass.
    if [ "${BERTH_CRITEST_WEBSOCKET:-0}" = 1 ]; then
        rc=0
        log "$rt: critest, Streaming specs over WebSocket"
        (cd "$rd" && TMPDIR=$rd/tmp exec nice -n "${BERTH_CRITEST_NICE:-10}" "$critest" \
            -runtime-endpoint "$ep" -image-endpoint "$ep" -ginkgo.focus 'Streaming' \
            -websocket-exec -websocket-attach -websocket-portforward \
            -ginkgo.json-report "$rd/report-websocket.json" -ginkgo.junit-report "$rd/junit-websocket.xml" \
            -ginkgo.no-color -ginkgo.v) >"$rd/critest-websocket.log" 2>&1 &
        suite_pid=$!
        wait "$suite_pid" || rc=$?
        echo "$rc" >"$rd/critest-websocket.rc"
    fi
    trap - TERM INT
    inner_cleanup "$rt" "$rd" "$ep"
}

inner_interrupted() { # rt rd endpoint
    log "$1: interrupted; stopping critest and the runtime"
    [ -z "$suite_pid" ] || kill "$suite_pid" 2>/dev/null || true
    inner_cleanup "$@"
    exit 130
}

inner_cleanup() { # rt rd endpoint: what the suite left, then the runtime, then the registry
    if [ -n "$3" ]; then
        timeout 120 "$crictl" --runtime-endpoint "$3" --image-endpoint "$3" rmp -a -f >/dev/null 2>&1 || true
    fi
    "stop_$1" "$2" || true
    stop_pid "$2/registry.pid"
}

# ---- report: ginkgo's JSON report -> the summary line and the lists -------------------------
summarize() { # runtime report.json summary.txt
    python3 - "$@" <<'EOF'
import json, sys
rt, path, out = sys.argv[1:4]
try:
    suites = json.load(open(path))
except (OSError, ValueError) as e:
    print(f"{rt}: no report ({e})")
    sys.exit(0)
passed, failed, skipped = [], [], []
for suite in suites:
    for s in suite.get("SpecReports") or []:
        if s.get("LeafNodeType") != "It":
            continue
        name = " ".join((s.get("ContainerHierarchyTexts") or []) + [s.get("LeafNodeText", "")])
        # First line of the failure; "Unexpected error:" and the like say more on the next.
        lines = [l.strip() for l in ((s.get("Failure") or {}).get("Message") or "").splitlines() if l.strip()]
        msg = lines[0] if lines else ""
        if msg.endswith(":") and len(lines) > 1:
            msg += " " + (lines[2] if lines[1].startswith("<") and len(lines) > 2 else lines[1])
        msg = msg[:240]
        st = s.get("State")
        if st == "passed":
            passed.append(name)
        elif st in ("skipped", "pending"):
            skipped.append((name, msg or "filtered out (-ginkgo.skip / benchmark)"))
        else:
            failed.append((name, f"[{st}] {msg}"))
line = f"{rt}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped"
with open(out + ".failed", "w") as f:
    f.writelines(n + "\n" for n, _ in sorted(failed))
with open(out + ".passed", "w") as f:
    f.writelines(n + "\n" for n in sorted(passed))
with open(out, "w") as f:
    f.write(line + "\n\nFAILED\n")
    for n, m in sorted(failed):
        f.write(f"- {n}\n    {m}\n")
    f.write("\nSKIPPED\n")
    for n, m in sorted(skipped):
        f.write(f"- {n}\n    {m}\n")
print(line)
EOF
}

# ---- the bar Berth's run must meet -------------------------------------------------------
# At least as many specs pass as passed when the bar was last raised (112; containerd 1.6
# passes 91 here, docs/critest.md), so a spec that stops passing, or becomes skipped, is a
# regression; and nothing fails but the specs scripts/critest-known-failures.txt names, each
# with why; a listed spec that passes fails the gate too, so the list only ever shrinks.
known_failures=$repo/scripts/critest-known-failures.txt
min_passed=${BERTH_CRITEST_MIN_PASSED:-112}
gate() { # summary.txt
    python3 - "$1" "$known_failures" "$min_passed" <<'EOF'
import sys
summary, known_path, min_passed = sys.argv[1], sys.argv[2], int(sys.argv[3])
def names(path):
    try:
        return {l.strip() for l in open(path) if l.strip() and not l.startswith("#")}
    except OSError:
        return set()
failed, passed = names(summary + ".failed"), names(summary + ".passed")
known = names(known_path)
ok = True
for n in sorted(failed - known):
    print(f"critest.sh: gate: failed, not a known failure: {n}", file=sys.stderr)
    ok = False
for n in sorted(known & passed):
    print(f"critest.sh: gate: passes now, remove it from {known_path}: {n}", file=sys.stderr)
    ok = False
if len(passed) < min_passed:
    print(f"critest.sh: gate: {len(passed)} specs passed, the bar is {min_passed}", file=sys.stderr)
    ok = False
sys.exit(0 if ok else 1)
EOF
}

# =============================================================================================
# Outside
# =============================================================================================
if [ "${1:-}" = _inner ]; then
    shift
    crictl=$1 critest=$2 parallel=$3
    shift 3
    inner "$@"
    exit 0
fi

runtimes=berth
[ "${BERTH_CRITEST_REFERENCE:-0}" = 1 ] && runtimes=containerd,berth
extra=()
while [ $# -gt 0 ]; do
    case $1 in
    --with-containerd) runtimes=containerd,berth ;;
    --websocket) export BERTH_CRITEST_WEBSOCKET=1 ;;
    --runtimes)
        [ $# -ge 2 ] || die "--runtimes needs a list (containerd,berth)"
        runtimes=$2
        shift
        ;;
    --)
        shift
        extra=("$@")
        break
        ;;
    -h | --help)
        sed -n '2,17p' "$self"
        exit 0
        ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done
IFS=, read -r -a rts <<<"$runtimes"
for rt in "${rts[@]}"; do
    case $rt in containerd | berth) ;; *) die "unknown runtime '$rt' (containerd, berth)" ;; esac
done

[ "$(id -u)" = 0 ] || die "needs root (namespaces, mounts, the runtimes)"
for t in unshare ip mount curl python3 docker-registry timeout; do
    command -v "$t" >/dev/null || die "$t is needed and not installed"
done
for rt in "${rts[@]}"; do "check_$rt"; done
parallel=${BERTH_CRITEST_PARALLEL:-2}
[[ $parallel =~ ^[1-9][0-9]*$ ]] || die "BERTH_CRITEST_PARALLEL must be a positive number"
crictl=$("$repo/scripts/build-cri-tools.sh" crictl) || die "scripts/build-cri-tools.sh crictl failed"
critest=$("$repo/scripts/build-cri-tools.sh" critest) || die "scripts/build-cri-tools.sh critest failed"
# critest -parallel N execs `ginkgo` from PATH; it is built next to critest (same vendor/).
if [ "$parallel" -gt 1 ]; then
    ginkgo=$(NICE=10 "$repo/scripts/build-cri-tools.sh" ginkgo) || die "scripts/build-cri-tools.sh ginkgo failed"
    [ "$(dirname "$ginkgo")" = "$(dirname "$critest")" ] || die "ginkgo is not next to critest"
fi
images=$("$repo/scripts/critest-images.sh") || die "scripts/critest-images.sh failed"

out=${BERTH_CRITEST_OUT:-/tmp/berth-critest.$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log "logs: $out"

# Container cgroups a killed runtime could not remove. critest asks for the cgroup parent
# /test.slice when RuntimeConfig does not say cgroupfs; containerd 1.6 then names them
# "test.slice:cri-containerd:<id>" and runc (cgroupfs) puts them under its own cgroup in every
# hierarchy. Only directories named after ids from this run's runtime log are removed, and only
# when empty (rmdir), so another run's cgroups are safe.
cleanup_cgroups() { # rundir
    local ids
    ids=$(cat "$1"/containerd.log "$1"/berthd.log 2>/dev/null | grep -oE '[0-9a-f]{64}' | sort -u) || true
    [ -n "$ids" ] || return 0
    find /sys/fs/cgroup -maxdepth 6 -type d -name '*[0-9a-f]' 2>/dev/null |
        awk -v ids="$ids" 'BEGIN { n = split(ids, a, "\n"); for (i = 1; i <= n; i++) want[a[i]] = 1 }
            { k = $0; sub(/.*[\/:-]/, "", k); if (k in want) print }' |
        sort -r | while read -r d; do rmdir "$d" 2>/dev/null || true; done
}

ns_pid=
rd=
cleanup() {
    local init
    if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
        # TERM to the namespace's init (unshare --fork ignores TERM itself): its trap stops
        # critest, removes the pods, stops the runtime. KILL after a grace period ends the pid
        # namespace and everything in it.
        init=$(cat "/proc/$ns_pid/task/$ns_pid/children" 2>/dev/null || true)
        init=${init%% *}
        [ -z "$init" ] || kill "$init" 2>/dev/null || true
        for _ in $(seq 1 120); do
            kill -0 "$ns_pid" 2>/dev/null || break
            sleep 0.5
        done
        [ -z "$init" ] || kill -9 "$init" 2>/dev/null || true
        kill -9 "$ns_pid" 2>/dev/null || true
    fi
    [ -z "$rd" ] || cleanup_cgroups "$rd"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

started=$(date +%s)
lines=()
ws_lines=()
status=0
for rt in "${rts[@]}"; do
    rd=$out/$rt
    mkdir -p "$rd"
    t0=$(date +%s)
    # setsid: the namespace gets its own session, so a ^C reaches it only through our trap.
    setsid unshare --mount --propagation slave --net --pid --fork --mount-proc --kill-child=SIGTERM \
        "$self" _inner "$crictl" "$critest" "$parallel" "$rt" "$rd" "$images" "${extra[@]}" \
        >"$rd/harness.log" 2>&1 </dev/null &
    ns_pid=$!
    wait "$ns_pid" || { log "$rt: harness failed: $(tail -n 5 "$rd/harness.log")"; status=1; }
    ns_pid=
    # The runtime's image store and state are no use after the run (its mounts went with the
    # mount namespace); the logs and reports stay.
    rm -rf "${rd:?}"/{root,state,opt,runc,data,exec}
    cleanup_cgroups "$rd"
    log "$rt: done in $(($(date +%s) - t0)) s (critest exit $(cat "$rd/critest.rc" 2>/dev/null || echo none))"
    line=$(summarize "$rt" "$rd/report.json" "$rd/summary.txt")
    lines+=("$line")
    if [ "$rt" = berth ]; then
        gate "$rd/summary.txt" || status=1
    else
        [ "$(cat "$rd/critest.rc" 2>/dev/null || echo 1)" = 0 ] || status=1
    fi
    if [ "${BERTH_CRITEST_WEBSOCKET:-0}" = 1 ]; then
        ws_lines+=("$(summarize "$rt (websocket streaming)" "$rd/report-websocket.json" "$rd/summary-websocket.txt")")
        [ "$(cat "$rd/critest-websocket.rc" 2>/dev/null || echo 1)" = 0 ] || status=1
    fi
done

log "total $(($(date +%s) - started)) s; logs in $out (<runtime>/critest.log, summary.txt, report.json, junit.xml, runtime and registry logs)"
# The WebSocket passes first: the last lines are the main one per runtime, Berth's last.
for l in "${ws_lines[@]}" "${lines[@]}"; do echo "$l"; done
exit "$status"
