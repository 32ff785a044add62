# Shared by scripts/critest.sh and scripts/bench-cri.sh (sourced): a CRI runtime, Berth or
# Debian's containerd 1.6 (the reference), in private namespaces with a stand-in registry.
#
# The sourcing script sets `repo` (the repository) and `self` (itself: the outer side runs
# `$self _inner ARGS...` inside the namespaces through ns_run, and that side calls ns_up, runs
# its job, then ns_down); `crictl` (scripts/build-cri-tools.sh crictl) must be set inside.
#
# Isolation, why and how. Each runtime runs in its own namespaces made by `unshare --mount
# --net --pid --fork`: the runtime, a private docker-registry serving the stand-in images, and
# the job, critest or the benchmark client (critest's HostNetwork/HostIpc/HostPID specs compare
# with "the host", which must be the runtime's host), all live inside.
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
# shellcheck shell=bash
# shellcheck disable=SC2317 # start_/stop_/check_<runtime> and trap handlers are called indirectly

cni_bin=/usr/lib/cni
# Inside the namespaces this address is free; every mirror points at it.
registry_addr=127.0.0.1:5000
# The upstream registries critest's images come from (public.ecr.aws: -benchmark only).
mirrored_hosts=(registry.k8s.io k8s.gcr.io gcr.io public.ecr.aws)

log() { echo "${0##*/}: $*" >&2; }
die() {
    log "$*"
    exit 1
}

# =============================================================================================
# Runtimes. Each has start_<rt> (sets $ep, its CRI endpoint, once serving) and stop_<rt>; both
# run inside the namespaces, in the runtime's directory $rd. No subshells: the runtime must be
# a child of this script.
# =============================================================================================

# The pods' network, the same for both: a bridge with a private range, no masquerade (and no
# uplink anyway), host-local IPAM with its state in the runtime's directory.
write_cni_conf() { # rd
    cat >"$1/net.d/10-critest.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "critest",
  "plugins": [
    { "type": "bridge", "bridge": "critest0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "dataDir": "$1/cni-ipam",
                "ranges": [[{ "subnet": "10.66.0.0/16" }]], "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
}

# ---- containerd (reference): Debian's containerd 1.6, as /work/shared/k8s/kubelet-standalone.sh
start_containerd() {
    local rd=$1 h
    mkdir -p "$rd"/{root,state,opt,runc,net.d,cni-ipam,certs.d}
    write_cni_conf "$rd"
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
#   --runtime FILE, --shim FILE     when BERTH_RUNTIME, BERTH_SHIM are set (default: next to berthd)
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
    local rd=$1 b h mirrors=() bins=()
    b=$(berthd_bin)
    [ -z "${BERTH_RUNTIME:-}" ] || bins+=(--runtime "$BERTH_RUNTIME")
    [ -z "${BERTH_SHIM:-}" ] || bins+=(--shim "$BERTH_SHIM")
    mkdir -p "$rd"/{data,exec,net.d,cni-ipam}
    write_cni_conf "$rd"
    for h in "${mirrored_hosts[@]}"; do mirrors+=("\"$h\" = [\"http://$registry_addr\"]"); done
    {
        echo "# written by scripts/lib/cri-namespaces.sh"
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
        --cni-conf-dir "$rd/net.d" --cni-bin-dir "$cni_bin" --pause-path "$BERTH_PAUSE" "${bins[@]}" \
        >"$rd/berthd.log" 2>&1 &
    echo $! >"$rd/runtime.pid"
    wait_socket "$rd/cri.sock" "$(cat "$rd/runtime.pid")" "$rd/berthd.log"
    ep=unix://$rd/cri.sock
}

stop_berth() {
    stop_pid "$1/runtime.pid"
}

# Outer-side checks: root and the tools every runtime needs (and the extra ones named).
check_host() { # tool...
    local t
    [ "$(id -u)" = 0 ] || die "needs root (namespaces, mounts, the runtimes)"
    for t in unshare ip mount curl python3 docker-registry timeout "$@"; do
        command -v "$t" >/dev/null || die "$t is needed and not installed"
    done
}

# The runtimes a comma-separated list names, in that order, into the array rts.
set_runtimes() { # list
    local rt
    IFS=, read -r -a rts <<<"$1"
    for rt in "${rts[@]}"; do
        case $rt in containerd | berth) ;; *) die "unknown runtime '$rt' (containerd, berth)" ;; esac
    done
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
    local b t v f
    b=$(berthd_bin) || die "berth: no berthd (set BERTHD, or cargo build --release -p berthd)"
    for t in runtime shim; do
        v=BERTH_${t^^}
        f=${!v:-$(dirname "$b")/berth-$t}
        [ -x "$f" ] || die "berth: no $f (cargo build --workspace, or set $v)"
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
# Inside the namespaces (the script is PID 1 there)
# =============================================================================================
ns_up() { # rt rd images: private mounts, the registry, the runtime ($ep), a pull through it
    local rt=$1 rd=$2 images=$3 d
    ep=
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

    # TERM from the outer trap (or ^C): stop the job, tear down in order, then the exit of this
    # PID 1 kills whatever is left in the pid namespace. Long steps run in the background under
    # `wait` (their pid in $job_pid), which a trapped signal interrupts (bash runs traps only
    # between commands).
    job_pid=
    # shellcheck disable=SC2064 # rt and rd as they are now
    trap "ns_interrupted $(printf '%q ' "$rt" "$rd")" TERM INT
    log "$rt: starting (logs in $rd)"
    "start_$rt" "$rd"

    # A pull through the mirror before the suite, so a broken mirror is one clear error, not
    # fifty failed specs. The image is removed again (image specs expect a clean store).
    "$crictl" --runtime-endpoint "$ep" --image-endpoint "$ep" --timeout 60s \
        pull registry.k8s.io/e2e-test-images/busybox:1.29-2 >"$rd/preflight.log" 2>&1 ||
        die "$rt: pulling registry.k8s.io/e2e-test-images/busybox:1.29-2 through the mirror failed: $(cat "$rd/preflight.log")"
    "$crictl" --runtime-endpoint "$ep" --image-endpoint "$ep" \
        rmi registry.k8s.io/e2e-test-images/busybox:1.29-2 >>"$rd/preflight.log" 2>&1 || true
}

ns_interrupted() { # rt rd
    log "$1: interrupted; stopping the job and the runtime"
    [ -z "$job_pid" ] || kill "$job_pid" 2>/dev/null || true
    ns_down "$1" "$2" "${ep:-}"
    exit 130
}

ns_down() { # rt rd endpoint: the pods left, then the runtime, then the registry
    if [ -n "$3" ]; then
        timeout 120 "$crictl" --runtime-endpoint "$3" --image-endpoint "$3" rmp -a -f >/dev/null 2>&1 || true
    fi
    "stop_$1" "$2" || true
    stop_pid "$2/registry.pid"
}

# =============================================================================================
# Outside
# =============================================================================================
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
ns_cleanup() { # the EXIT trap of the outer side
    local init
    if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
        # TERM to the namespace's init (unshare --fork ignores TERM itself): its trap stops
        # the job, removes the pods, stops the runtime. KILL after a grace period ends the pid
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
    [ -z "$rd" ] || {
        remove_store "$rd"
        cleanup_cgroups "$rd"
    }
}

# The runtime's image store and state: no use after the run (its mounts went with the mount
# namespace); the logs and reports stay.
remove_store() { # rd
    rm -rf "${1:?}"/{root,state,opt,runc,data,exec,fs,pods}
}

# Runs `$self _inner ARGS...` in new namespaces (see the top) with its output in
# RD/harness.log, then removes the runtime's store and the cgroups it left. Returns the inner side's status. Set `rd` and
# `trap ns_cleanup EXIT` first.
ns_run() { # rd args...
    local d=$1 rc=0
    shift
    # setsid: the namespace gets its own session, so a ^C reaches it only through our trap.
    setsid unshare --mount --propagation slave --net --pid --fork --mount-proc --kill-child=SIGTERM \
        "$self" _inner "$@" >"$d/harness.log" 2>&1 </dev/null &
    ns_pid=$!
    wait "$ns_pid" || rc=$?
    ns_pid=
    remove_store "$d"
    cleanup_cgroups "$d"
    return "$rc"
}
