//! Helpers for the host tests: a guard that removes the test cgroup even when an assertion
//! fails, and a child that reports whether it may open /dev/zero once it is in the cgroup.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use berth_cgroups::Manager;

/// Whether the host tests can run; prints why not when they cannot.
pub fn can_run() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: cgroup host tests need root");
        return false;
    }
    true
}

/// A cgroupsPath no other test (or test run) uses.
pub fn unique_path() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "/berth-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Kills the child and removes the cgroup on drop, so nothing is left behind on failure.
pub struct Guard {
    pub manager: Manager,
    pub child: Option<Child>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.manager.thaw();
        if let Err(e) = self.manager.remove() {
            eprintln!("cleanup failed: {e}");
        }
    }
}

/// A shell that waits for a line on stdin, then reports whether /dev/zero (c 1:5) and
/// /dev/null (c 1:3) can be opened, then sleeps.
pub fn spawn_probe() -> Child {
    Command::new("sh")
        .arg("-c")
        .arg(
            "read _; \
             if head -c1 /dev/zero >/dev/null 2>&1; then echo zero-ok; else echo zero-denied; fi; \
             if echo x >/dev/null; then echo null-ok; else echo null-denied; fi; \
             exec sleep 30",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Lets the probe run and returns its two report lines.
pub fn run_probe(child: &mut Child) -> (String, String) {
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let zero = lines.next().unwrap().unwrap();
    let null = lines.next().unwrap().unwrap();
    (zero, null)
}
