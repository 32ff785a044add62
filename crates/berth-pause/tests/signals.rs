//! The sandbox process's contract: it stays up through anything but SIGTERM/SIGINT, which end it
//! with status 0, and reaps what is reparented to it.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

fn spawn() -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_berth-pause"))
        .spawn()
        .expect("spawn berth-pause");
    // Let it block its signals before the test sends any.
    std::thread::sleep(Duration::from_millis(100));
    child
}

fn signal(child: &Child, sig: Signal) {
    let pid = i32::try_from(child.id()).expect("pid fits");
    kill(Pid::from_raw(pid), sig).expect("kill");
}

fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[test]
fn sigterm_and_sigint_end_it_with_status_0() {
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        let mut child = spawn();
        signal(&child, sig);
        let status = exit_within(&mut child, Duration::from_secs(5)).expect("exited");
        assert_eq!(status.code(), Some(0), "{sig}");
    }
}

#[test]
fn other_signals_leave_it_running() {
    let mut child = spawn();
    for sig in [
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGPIPE,
        Signal::SIGCHLD,
    ] {
        signal(&child, sig);
    }
    assert!(exit_within(&mut child, Duration::from_millis(300)).is_none());
    signal(&child, Signal::SIGTERM);
    assert!(exit_within(&mut child, Duration::from_secs(5)).is_some());
}

/// Children of `pid` (from /proc), with their state letter.
fn children(pid: u32) -> Vec<(u32, char)> {
    let list =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    list.split_whitespace()
        .filter_map(|c| {
            let stat = std::fs::read_to_string(format!("/proc/{c}/stat")).ok()?;
            let state = stat.rsplit_once(") ")?.1.chars().next()?;
            Some((c.parse().ok()?, state))
        })
        .collect()
}

#[test]
fn as_a_pid_namespace_init_it_reaps_orphans() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: a PID namespace needs root");
        return;
    }
    let mut unshare = KillOnDrop(
        Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--kill-child",
                env!("CARGO_BIN_EXE_berth-pause"),
            ])
            .spawn()
            .expect("spawn unshare"),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let pause = loop {
        if let Some(&(pid, _)) = children(unshare.0.id()).first() {
            break pid;
        }
        assert!(Instant::now() < deadline, "no pause process under unshare");
        std::thread::sleep(Duration::from_millis(10));
    };
    std::thread::sleep(Duration::from_millis(100));
    // The shell exits at once: its `sleep` is reparented to the namespace's init, pause.
    let status = Command::new("nsenter")
        .args([
            "-t",
            &pause.to_string(),
            "-p",
            "--",
            "sh",
            "-c",
            "sleep 0.2 & exit 0",
        ])
        .status()
        .expect("nsenter");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = children(pause);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "not reaped: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(Pid::from_raw(pause as i32), Signal::SIGTERM).expect("kill");
    assert!(unshare.0.wait().expect("wait").success());
}

/// A failed assertion must not leave the namespace behind: unshare's --kill-child takes pause
/// with it.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
