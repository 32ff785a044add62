//! The engine's resource features on whatever cgroup layout the host has (v1, hybrid or pure
//! v2): every value is read back from the container's cgroup files on the host, so the same
//! test proves the v1 and the v2 paths (scripts/test-kernels.sh runs it in cgroup v2 guests).
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use berth_testkit::{cgroup_v2_host, eventually, process_cgroup_file};
use common::{unique, Daemon};

fn pid_of(d: &Daemon, name: &str) -> String {
    d.docker(&["inspect", "-f", "{{.State.Pid}}", name])
        .ok()
        .text()
}

/// Reads a cgroup file of container `name`: `v1` in `controller`'s hierarchy, or `v2`.
fn read(d: &Daemon, name: &str, controller: &str, v1: &str, v2: &str) -> String {
    let path = process_cgroup_file(&pid_of(d, name), controller, v1, v2);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_string()
}

/// A loop device over a small file, for the per-device I/O limits; detached on drop.
struct LoopDevice {
    dev: String,
    _file: tempfile::NamedTempFile,
}

impl LoopDevice {
    fn new() -> Self {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(1 << 20).unwrap();
        let out = common::run(
            {
                let mut c = std::process::Command::new("losetup");
                c.args(["--find", "--show"]).arg(file.path());
                c
            },
            None,
        )
        .ok();
        Self {
            dev: out.text(),
            _file: file,
        }
    }

    /// `major:minor`, as cgroup files name devices.
    fn number(&self) -> String {
        let rdev = std::os::unix::fs::MetadataExt::rdev(&std::fs::metadata(&self.dev).unwrap());
        format!("{}:{}", libc::major(rdev), libc::minor(rdev))
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["-d", &self.dev])
            .status();
    }
}

#[test]
fn resources_reach_the_cgroup_files_and_update_changes_them() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let disk = LoopDevice::new();
    let name = unique("limits");
    let bps = format!("{}:1mb", disk.dev);
    let run = d
        .docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--memory",
            "64m",
            "--memory-swap",
            "96m",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "--pids-limit",
            "42",
            "--device-read-bps",
            &bps,
            "--blkio-weight",
            "300",
            image,
            "sleep",
            "1000",
        ])
        .ok();
    let created = run.stderr.clone();
    let r = |controller: &str, v1: &str, v2: &str| read(&d, &name, controller, v1, v2);
    assert_eq!(
        r("memory", "memory.limit_in_bytes", "memory.max"),
        (64u64 << 20).to_string()
    );
    // v1 limits memory+swap together, v2 swap alone.
    let swap = r("memory", "memory.memsw.limit_in_bytes", "memory.swap.max");
    let want = if cgroup_v2_host() {
        32u64 << 20
    } else {
        96 << 20
    };
    assert_eq!(swap, want.to_string());
    let quota = r("cpu", "cpu.cfs_quota_us", "cpu.max");
    assert!(quota == "50000" || quota == "50000 100000", "{quota}");
    // runc's conversion of shares to weight: 1 + (512 - 2) * 9999 / 262142.
    let shares = r("cpu", "cpu.shares", "cpu.weight");
    assert!(shares == "512" || shares == "20", "{shares}");
    assert_eq!(r("cpuset", "cpuset.cpus", "cpuset.cpus"), "0");
    assert_eq!(r("pids", "pids.max", "pids.max"), "42");
    let io = r("blkio", "blkio.throttle.read_bps_device", "io.max");
    assert!(
        io.lines().any(|l| l == format!("{} 1048576", disk.number())
            || l.starts_with(&format!("{} rbps=1048576 ", disk.number()))),
        "{io}"
    );
    // A proportional I/O weight where the kernel has one (BFQ, or io.cost on v2: scaled as
    // runc, 1 + (300 - 10) * 9999 / 990); elsewhere dropped with dockerd's warning.
    let weight = [
        "blkio.weight",
        "blkio.bfq.weight",
        "io.bfq.weight",
        "io.weight",
    ]
    .iter()
    .map(|f| process_cgroup_file(&pid_of(&d, &name), "blkio", f, f))
    .find(|p| p.exists());
    match weight {
        Some(file) => {
            let w = std::fs::read_to_string(&file).unwrap();
            assert!(
                w.contains("300") || w.contains("2930"),
                "{}: {w}",
                file.display()
            );
        }
        None => assert!(created.contains("Weight discarded"), "{created}"),
    }

    d.docker(&[
        "update",
        "--memory",
        "128m",
        "--memory-swap",
        "256m",
        "--cpus",
        "1",
        "--pids-limit",
        "50",
        &name,
    ])
    .ok();
    assert_eq!(
        r("memory", "memory.limit_in_bytes", "memory.max"),
        (128u64 << 20).to_string()
    );
    let quota = r("cpu", "cpu.cfs_quota_us", "cpu.max");
    assert!(quota == "100000" || quota == "100000 100000", "{quota}");
    assert_eq!(r("pids", "pids.max", "pids.max"), "50");
    // A swap change alone keeps the memory limit (v2 needs both to compute memory.swap.max).
    d.docker(&["update", "--memory-swap", "384m", &name]).ok();
    let swap = r("memory", "memory.memsw.limit_in_bytes", "memory.swap.max");
    let want = if cgroup_v2_host() {
        256u64 << 20
    } else {
        384 << 20
    };
    assert_eq!(swap, want.to_string());
    assert_eq!(
        r("memory", "memory.limit_in_bytes", "memory.max"),
        (128u64 << 20).to_string()
    );
}

#[test]
fn devices_are_filtered_by_the_device_cgroup() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    // A device given with --device opens; one made with mknod does not (Docker's rules allow
    // mknod of any device but access to the listed ones only).
    let script = "head -c 4 /dev/extra-zero | wc -c; mknod /dev/mem2 c 1 1 && \
                  (head -c 1 /dev/mem2 >/dev/null 2>&1 && echo opened || echo denied)";
    let out = d
        .docker(&[
            "run",
            "--rm",
            "--device",
            "/dev/zero:/dev/extra-zero",
            image,
            "sh",
            "-c",
            script,
        ])
        .ok();
    assert_eq!(out.stdout, "4\ndenied\n", "{out:?}");
}

#[test]
fn pause_freezes_the_cgroup_and_unpause_thaws_it() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("paused");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        image,
        "sh",
        "-c",
        "while :; do date +%s%N > /tmp/tick; sleep 0.1; done",
    ])
    .ok();
    let frozen = || {
        let state = read(&d, &name, "freezer", "freezer.state", "cgroup.events");
        state == "FROZEN" || state.lines().any(|l| l == "frozen 1")
    };
    let tick = || d.docker(&["exec", &name, "cat", "/tmp/tick"]);
    d.docker(&["pause", &name]).ok();
    assert!(frozen());
    let status = d
        .docker(&["inspect", "-f", "{{.State.Status}}", &name])
        .ok();
    assert_eq!(status.text(), "paused");
    let out = tick().failed();
    assert!(out.stderr.contains("is paused"), "{out:?}");
    d.docker(&["unpause", &name]).ok();
    assert!(!frozen());
    let first = tick().ok().text();
    assert!(
        eventually(Duration::from_secs(10), || tick().text() != first),
        "the loop did not go on after unpause"
    );
}

#[test]
fn stats_report_memory_cpu_and_pids() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("stats");
    // 24 MiB of tmpfs pages are charged to the container's memory cgroup; two sleepers make
    // three processes with the shell.
    let script = "head -c 25165824 /dev/zero > /dev/shm/fill; i=0; \
                  while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 1000 & sleep 1000 & wait";
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--shm-size",
        "64m",
        image,
        "sh",
        "-c",
        script,
    ])
    .ok();
    let stats = || {
        d.docker(&[
            "stats",
            "--no-stream",
            "--format",
            "{{.MemUsage}}|{{.PIDs}}|{{.CPUPerc}}",
            &name,
        ])
        .ok()
        .text()
    };
    let mut last = String::new();
    let settled = eventually(Duration::from_secs(30), || {
        last = stats();
        last.split('|').nth(1) == Some("3")
    });
    assert!(settled, "{last}");
    let usage = last.split(" / ").next().unwrap();
    let mib: f64 = if let Some(m) = usage.strip_suffix("MiB") {
        m.parse().unwrap()
    } else if let Some(g) = usage.strip_suffix("GiB") {
        g.parse::<f64>().unwrap() * 1024.0
    } else {
        panic!("memory usage under a MiB: {last}")
    };
    assert!(mib >= 24.0, "{last}");
    // The raw API numbers: CPU time was spent, and the limit is the host's without --memory.
    let raw = d
        .docker(&["stats", "--no-stream", "--format", "{{json .}}", &name])
        .ok()
        .text();
    assert!(raw.contains("\"PIDs\":\"3\""), "{raw}");
    let cpu = process_cgroup_file(&pid_of(&d, &name), "cpuacct", "cpuacct.usage", "cpu.stat");
    let cpu = std::fs::read_to_string(cpu).unwrap();
    // v1: nanoseconds alone; v2: `usage_usec N` first.
    let first = cpu.lines().next().unwrap_or_default();
    let used: u64 = first.trim_start_matches("usage_usec ").parse().unwrap();
    assert!(used > 0, "{cpu}");
}

#[test]
fn oom_killed_container_is_reported() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("oom");
    // `tail` keeps everything since the last newline, and /dev/zero has none.
    let out = d.docker(&[
        "run",
        "--name",
        &name,
        "--memory",
        "16m",
        "--memory-swap",
        "16m",
        image,
        "tail",
        "/dev/zero",
    ]);
    assert_eq!(out.code, 137, "{out:?}");
    let state = d
        .docker(&[
            "inspect",
            "-f",
            "{{.State.OOMKilled}} {{.State.ExitCode}}",
            &name,
        ])
        .ok();
    assert_eq!(state.text(), "true 137");
    // A container killed by a plain SIGKILL was not OOM-killed.
    let other = unique("killed");
    d.docker(&[
        "run", "-d", "--name", &other, "--memory", "16m", image, "sleep", "100",
    ])
    .ok();
    d.docker(&["kill", &other]).ok();
    d.docker(&["wait", &other]).ok();
    let state = d
        .docker(&["inspect", "-f", "{{.State.OOMKilled}}", &other])
        .ok();
    assert_eq!(state.text(), "false");
}

#[test]
fn info_reports_the_hosts_cgroup_version() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let info = d
        .docker(&["info", "--format", "{{.CgroupVersion}} {{.CgroupDriver}}"])
        .ok();
    let want = if cgroup_v2_host() { "2" } else { "1" };
    assert_eq!(info.text(), format!("{want} cgroupfs"));
}
