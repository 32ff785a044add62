//! The real docker CLI against berthd: the basic container lifecycle.
#![allow(clippy::unwrap_used)]

mod common;

use common::{unique, Daemon};

#[test]
fn version_reports_berth_and_api_1_44() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let out = d
        .docker(&[
            "version",
            "--format",
            "{{.Server.APIVersion}} {{.Server.Platform.Name}}",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "1.44 Berth Engine");
}

#[test]
fn run_rm_prints_output_and_passes_exit_code() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let out = d.docker(&["run", "--rm", image, "echo", "hello"]).ok();
    assert_eq!(out.stdout, "hello\n");
    let out = d.docker(&["run", "--rm", image, "sh", "-c", "echo err >&2; exit 7"]);
    assert_eq!(out.code, 7, "{out:?}");
    assert_eq!(out.stderr, "err\n");
    // --rm left nothing.
    assert_eq!(d.docker(&["ps", "-aq"]).ok().stdout, "");
    assert_eq!(d.leaked_mounts(), Vec::<String>::new());
}

#[test]
fn berthd_runs_the_runtime_from_a_read_only_view_it_holds() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("view");
    d.docker(&["run", "-d", "--name", &name, image, "sleep", "1000"])
        .ok();
    // The container's shim got the runtime as berthd holds it: its view, by berthd's fd.
    let root = d.root.path().display().to_string();
    let runtime = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| {
            c.split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
        })
        .filter(|args| args.iter().any(|a| a.contains(&root)) && args[0].ends_with("berth-shim"))
        .find_map(|args| {
            let at = args.iter().position(|a| a == "--runtime")?;
            args.get(at + 1).cloned()
        })
        .expect("no shim of the container");
    let pid = d.pid().unwrap();
    assert!(
        runtime.starts_with(&format!("/proc/{pid}/fd/")),
        "{runtime}"
    );
    // A read-only overlay: what the runtime checks before it would re-execute itself.
    let path = std::ffi::CString::new(runtime.as_str()).unwrap();
    // SAFETY: statfs/statvfs fill plain structs for a NUL-terminated path.
    let (mut fs, mut vfs): (libc::statfs, libc::statvfs) = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statfs(path.as_ptr(), &mut fs) }, 0);
    assert_eq!(unsafe { libc::statvfs(path.as_ptr(), &mut vfs) }, 0);
    assert_eq!(fs.f_type, 0x794c_7630, "not overlayfs: {runtime}");
    assert_ne!(vfs.f_flag & libc::ST_RDONLY, 0, "writable: {runtime}");
    d.docker(&["rm", "-f", &name]).ok();
}

#[test]
fn detached_container_logs_stop_start_rm() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("web");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &name,
        image,
        "sh",
        "-c",
        "echo started; exec sleep 1000",
    ])
    .ok();
    let ps = d.docker(&["ps", "--format", "{{.Names}} {{.Status}}"]).ok();
    assert!(ps.stdout.contains(&format!("{name} Up")), "{ps:?}");
    // Logs arrive through the shim's json-file log.
    let mut logs = String::new();
    for _ in 0..50 {
        logs = d.docker(&["logs", &name]).ok().stdout;
        if !logs.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(logs, "started\n");
    d.docker(&["stop", "-t", "1", &name]).ok();
    let state = d
        .docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            &name,
        ])
        .ok();
    assert_eq!(state.stdout.trim(), "exited 137");
    d.docker(&["start", &name]).ok();
    assert_eq!(
        d.docker(&["inspect", "-f", "{{.State.Running}}", &name])
            .ok()
            .stdout
            .trim(),
        "true"
    );
    // A running container is not removed without -f.
    let refused = d.docker(&["rm", &name]).failed();
    assert!(
        refused.stderr.contains("cannot remove a running container"),
        "{refused:?}"
    );
    d.docker(&["rm", "-f", &name]).ok();
    assert!(d
        .docker(&["inspect", &name])
        .failed()
        .stderr
        .contains("No such"));
}

#[test]
fn stdin_reaches_the_container() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let out = d
        .docker_stdin(&["run", "-i", "--rm", image, "cat"], b"through stdin\n")
        .ok();
    assert_eq!(out.stdout, "through stdin\n");
}

#[test]
fn unknown_image_and_name_conflicts_are_clear_errors() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let out = d
        .docker(&["run", "--rm", "no-such-image:1", "true"])
        .failed();
    assert!(out.stderr.contains("no-such-image"), "{out:?}");
    assert_eq!(
        d.docker(&["ps", "-aq"]).ok().stdout,
        "",
        "nothing half-made"
    );
    let name = unique("dup");
    d.docker(&["create", "--name", &name, image]).ok();
    let out = d.docker(&["create", "--name", &name, image]).failed();
    assert!(out.stderr.contains("is already in use"), "{out:?}");
    let out = d
        .docker(&["run", "--rm", "--memory", "nonsense", image, "true"])
        .failed();
    assert!(!out.stderr.is_empty(), "{out:?}");
}

#[test]
fn containers_survive_a_daemon_crash() {
    if common::skip() {
        return;
    }
    let mut d = Daemon::start();
    let image = d.busybox();
    let name = unique("survivor");
    d.docker(&["run", "-d", "--name", &name, image, "sleep", "1000"])
        .ok();
    let pid = d
        .docker(&["inspect", "-f", "{{.State.Pid}}", &name])
        .ok()
        .text();
    d.kill9();
    assert!(
        std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "container died with berthd"
    );
    d.spawn();
    let state = d
        .docker(&["inspect", "-f", "{{.State.Status}} {{.State.Pid}}", &name])
        .ok();
    assert_eq!(state.stdout.trim(), format!("running {pid}"));
    // Still managed: stop works and records the exit.
    d.docker(&["stop", "-t", "0", &name]).ok();
    let state = d
        .docker(&["inspect", "-f", "{{.State.Status}}", &name])
        .ok();
    assert_eq!(state.stdout.trim(), "exited");
}

/// `docker run -it` then ctrl-p ctrl-q: the client detaches, the container keeps running with
/// its shell (stdin stays open), and a later `docker attach` reaches the same shell.
#[test]
fn detach_keys_leave_the_container_running() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("detach");
    let host = format!("unix://{}", d.socket.display());
    let line = format!("docker run -it --name {name} {image} sh");
    let mut script = std::process::Command::new("script")
        .env("DOCKER_HOST", &host)
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut input = script.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    std::io::Write::write_all(&mut input, b"echo before > /tmp/mark\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    std::io::Write::write_all(&mut input, b"\x10\x11").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while script.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the client did not detach"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(input);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let state = d
        .docker(&["inspect", "-f", "{{.State.Status}}", &name])
        .ok();
    assert_eq!(state.stdout.trim(), "running");
    // The shell still reads its stdin: typing through a new attach reaches it.
    let line = format!("docker attach {name}");
    let mut attach = std::process::Command::new("script")
        .env("DOCKER_HOST", &host)
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut input = attach.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    std::io::Write::write_all(&mut input, b"echo after >> /tmp/mark; exit 5\n").unwrap();
    let out = d.docker(&["wait", &name]).ok();
    assert_eq!(out.stdout.trim(), "5");
    let _ = attach.wait();
    let out = d.docker(&["cp", &format!("{name}:/tmp/mark"), "-"]).ok();
    assert!(
        out.stdout.contains("before") && out.stdout.contains("after"),
        "{out:?}"
    );
}

/// `docker import` of a truncated tarball or of garbage: a clear error naming the problem, and
/// no image, ingest or snapshot left behind.
#[test]
fn import_of_corrupt_tarballs_is_refused_and_leaves_nothing() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(common::busybox_tar()).unwrap();
    let truncated = dir.path().join("truncated.tar");
    std::fs::write(&truncated, &whole[..whole.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.tar");
    std::fs::write(
        &garbage,
        (0..5000u32)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for (file, tag) in [(&truncated, "bad:truncated"), (&garbage, "bad:garbage")] {
        let out = d.docker(&["import", file.to_str().unwrap(), tag]).failed();
        assert!(out.stderr.contains("corrupt or truncated layer"), "{out:?}");
        assert!(
            !out.stderr.contains('\u{1b}'),
            "raw control bytes reach the terminal: {out:?}"
        );
    }
    assert_eq!(d.docker(&["images", "-q"]).ok().stdout, "");
    let count = |p: std::path::PathBuf| std::fs::read_dir(p).map(|r| r.count()).unwrap_or(0);
    assert_eq!(
        count(d.data_root().join("content/ingest")),
        0,
        "partial ingests left"
    );
    assert_eq!(
        count(d.data_root().join("overlay/snapshots")),
        0,
        "half-made layers left"
    );
}

/// `docker restart` of a `--rm` container keeps it (its stop is not its end, as with dockerd);
/// a plain stop then removes it.
#[test]
fn restart_keeps_an_auto_remove_container() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("rmrestart");
    d.docker(&["run", "-d", "--rm", "--name", &name, image, "sleep", "1000"])
        .ok();
    d.docker(&["restart", "-t", "0", &name]).ok();
    // Give a wrongly scheduled removal the time to happen.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let state = d
        .docker(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            &name,
        ])
        .ok();
    assert!(state.stdout.starts_with("running"), "{state:?}");
    d.docker(&["stop", "-t", "0", &name]).ok();
    let mut gone = false;
    for _ in 0..50 {
        if d.docker(&["inspect", &name]).code != 0 {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(gone, "a stopped --rm container is removed");
}
