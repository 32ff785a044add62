use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;

#[test]
fn stat_reads_the_own_process() {
    let st = stat(std::process::id() as i32).unwrap();
    assert!(st.is_live(), "{st:?}");
    assert!(st.start_time > 0);
}

#[test]
fn stat_parses_a_command_name_with_parentheses_and_refuses_a_truncated_line() {
    let line = "42 (a) b) (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 777 0 0";
    assert_eq!(
        parse_stat(line),
        Some(ProcStat {
            state: 'S',
            start_time: 777
        })
    );
    assert_eq!(parse_stat("42 (sleep) S 1 42"), None);
    assert_eq!(parse_stat("42 sleep"), None);
    assert!(!parse_stat(&line.replace(") S ", ") Z ")).unwrap().is_live());
}

fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn a_pidfd_signals_its_process_and_sees_it_exit_before_it_is_reaped() {
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = child.id() as i32;
    let start = stat(pid).unwrap().start_time;
    let fd = PidFd::open_started(pid, start).unwrap().unwrap();
    let exited = || {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut pfd, 1, 0) == 1 }
    };
    assert!(!exited());
    // SAFETY: SIGKILL to the child this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    // Readable once it exited, a zombie here: nobody has reaped it yet.
    assert!(wait_until(exited));
    assert!(!stat(pid).unwrap().is_live());
    assert!(PidFd::open_started(pid, start).unwrap().is_none());
    child.wait().unwrap();
    assert!(PidFd::open_started(pid, start).unwrap().is_none());
}

#[test]
fn open_started_refuses_another_start_time_and_no_pid() {
    let me = std::process::id() as i32;
    let start = stat(me).unwrap().start_time;
    assert!(PidFd::open_started(me, start).unwrap().is_some());
    assert!(PidFd::open_started(me, start + 1).unwrap().is_none());
    assert!(PidFd::open_started(0, start).unwrap().is_none());
}
