#!/usr/bin/env bash
# Builds an OCI bundle DIR (DIR/config.json + DIR/rootfs) around the static busybox, with the same
# rootfs layout the integration tests use (crates/berth-runtime/tests/common/mod.rs).
#
# usage: scripts/make-busybox-bundle.sh DIR [RUNTIME] [ARGS...]
#   RUNTIME  optional runc-compatible binary whose `spec` command writes config.json; without
#            it (or if its `spec` fails) a runc-spec-like config is written from a here-doc.
#   ARGS     process args (default: /bin/true).
# The config is non-interactive (terminal false) and keeps the default network namespace.
set -euo pipefail

dir=${1:?usage: $0 DIR [RUNTIME] [ARGS...]}
runtime=${2:-}
shift $(($# < 2 ? $# : 2))
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(/bin/true)

busybox=/bin/busybox
[ -x "$busybox" ] || { echo "need $busybox (apt-get install busybox-static)" >&2; exit 1; }

rootfs=$dir/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,proc,sys,dev,tmp,etc,root,mnt,run,var,home}
chmod 755 "$rootfs"
chmod 1777 "$rootfs/tmp"
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    # --list names busybox itself; linking it would replace the binary.
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
    > "$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$rootfs/etc/group"

# JSON array of the process args (busybox paths and plain words need no escaping beyond quotes).
json_args=$(printf '"%s",' "${args[@]//\"/\\\"}")
json_args="[${json_args%,}]"

rm -f "$dir/config.json"
if [ -n "$runtime" ] && command -v jq >/dev/null \
    && (cd "$dir" && "$runtime" spec >/dev/null 2>&1) && [ -s "$dir/config.json" ]; then
    # Reuse the runtime's own default; only make it non-interactive and set the args.
    jq --argjson args "$json_args" '.process.terminal = false | .process.args = $args' \
        "$dir/config.json" > "$dir/config.json.tmp"
    mv "$dir/config.json.tmp" "$dir/config.json"
else
    cat > "$dir/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $json_args,
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "berth",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [
      {"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
    ],
    "maskedPaths": [
      "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
    ],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON
fi
echo "bundle ready: $dir (args: ${args[*]})"
