//! End-to-end: `berth` against a private berthd. Needs root and the workspace binaries
//! (`cargo build --workspace`).

mod common;

use std::time::{Duration, Instant};

use berth_testkit::registry::{Registry, RegistryOpts};
use common::{unique, Daemon};

#[test]
fn run_rm_echo_and_exit_codes() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    let out = d
        .berth(&["run", "--rm", image, "echo", "hello", "world"])
        .ok();
    assert_eq!(out.stdout, "hello world\n");
    // stderr frames go to stderr, and the container's status becomes berth's.
    let out = d.berth(&["run", "--rm", image, "sh", "-c", "echo oops >&2; exit 3"]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stderr, "oops\n");
    // --rm removed them both.
    assert_eq!(d.berth(&["ps", "-aq"]).ok().stdout, "");
    // stdin is passed through with -i and closed at EOF.
    let out = d
        .berth_stdin(&["run", "--rm", "-i", image, "cat"], b"piped\n")
        .ok();
    assert_eq!(out.stdout, "piped\n");
    // Flags after the image belong to the command.
    let out = d
        .berth(&[
            "run", "--rm", "-e", "A=1", image, "sh", "-c", "echo $A", "-x",
        ])
        .ok();
    assert_eq!(out.stdout, "1\n");
}

fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn detached_lifecycle_ps_logs_inspect_stop_rm() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    let name = unique("web");
    let out = d
        .berth(&[
            "run",
            "-d",
            "--name",
            &name,
            "-l",
            "tier=web",
            image,
            "sh",
            "-c",
            "echo ready; while true; do sleep 1; done",
        ])
        .ok();
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out:?}");

    let ps = d.berth(&["ps"]).ok().stdout;
    let mut lines = ps.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("CONTAINER ID   IMAGE"), "{ps}");
    let row = lines.next().unwrap_or_default();
    assert!(row.starts_with(&id[..12]) && row.ends_with(&name), "{ps}");
    assert_eq!(d.berth(&["ps", "-q"]).ok().stdout.trim(), &id[..12]);
    assert_eq!(
        d.berth(&["ps", "-q", "--no-trunc"]).ok().stdout.trim(),
        id.as_str()
    );

    // --format json: one object per line, docker's field names.
    let json = d.berth(&["ps", "--format", "json"]).ok().stdout;
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap_or_default();
    assert_eq!(v["Names"], name.as_str());
    assert_eq!(v["State"], "running");
    assert_eq!(v["Labels"], "tier=web");
    let filtered = d
        .berth(&["ps", "-q", "--filter", "label=tier=db"])
        .ok()
        .stdout;
    assert_eq!(filtered, "");

    wait_for("logs", || d.berth(&["logs", &name]).stdout == "ready\n");
    let logs = d.berth(&["logs", "-t", "--tail", "1", &name]).ok().stdout;
    assert!(logs.ends_with(" ready\n") && logs.contains('T'), "{logs}");

    let inspect = d.berth(&["inspect", "--format", "json", &name]).ok().stdout;
    let v: serde_json::Value = serde_json::from_str(inspect.trim()).unwrap_or_default();
    assert_eq!(v["Id"], id.as_str());
    assert_eq!(v["State"]["Running"], true);
    assert_eq!(v["Config"]["Labels"]["tier"], "web");
    // Default: an indented JSON array, as docker inspect prints.
    let all = d.berth(&["inspect", &name]).ok().stdout;
    let arr: Vec<serde_json::Value> = serde_json::from_str(&all).unwrap_or_default();
    assert_eq!(arr.len(), 1);
    let status = d
        .berth(&["inspect", "--format", "{{.State.Status}} {{.Name}}", &name])
        .ok()
        .stdout;
    assert_eq!(status, format!("running /{name}\n"));

    assert_eq!(
        d.berth(&["stop", "-t", "1", &name]).ok().stdout.trim(),
        name
    );
    let after = d.berth(&["ps", "-a", "--format", "{{.State}}"]).ok().stdout;
    assert_eq!(after, "exited\n");
    assert_eq!(d.berth(&["ps", "-q"]).ok().stdout, "");
    assert_eq!(d.berth(&["wait", &name]).ok().stdout, "137\n");
    assert_eq!(d.berth(&["rm", &name]).ok().stdout.trim(), name);
    assert_eq!(d.berth(&["ps", "-aq"]).ok().stdout, "");
}

#[test]
fn images_tag_rmi() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    let out = d.berth(&["images"]).ok().stdout;
    assert!(out.starts_with("REPOSITORY   TAG    IMAGE ID"), "{out}");
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("busybox      test   ")),
        "{out}"
    );

    d.berth(&["tag", image, "mybox:v1"]).ok();
    let json = d.berth(&["images", "--format", "json"]).ok().stdout;
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_default())
        .collect();
    assert_eq!(rows.len(), 2, "{json}");
    assert!(rows
        .iter()
        .any(|r| r["Repository"] == "mybox" && r["Tag"] == "v1"));
    // -q: one id per image, not per tag.
    let ids = d.berth(&["images", "-q"]).ok().stdout;
    assert_eq!(ids.lines().count(), 1, "{ids}");
    assert_eq!(
        d.berth(&["images", "-q", "mybox"])
            .ok()
            .stdout
            .lines()
            .count(),
        1
    );
    let inspect = d
        .berth(&[
            "image",
            "inspect",
            "--format",
            "{{json .Config.Cmd}}",
            image,
        ])
        .ok()
        .stdout;
    assert_eq!(inspect, "[\"sh\"]\n");
    let rmi = d.berth(&["rmi", "mybox:v1"]).ok().stdout;
    assert_eq!(rmi, "Untagged: mybox:v1\n");
    let missing = d.berth(&["rmi", "mybox:v1"]).failed();
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.starts_with("Error response from daemon: "),
        "{missing:?}"
    );
    let history = d.berth(&["history", image]).ok().stdout;
    assert!(history.starts_with("IMAGE "), "{history}");
}

#[test]
fn error_paths_are_clear_and_exit_like_docker() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    // Unknown image: docker's 125, with the daemon's message.
    let out = d
        .berth(&["run", "--rm", "no-such-image:v9", "true"])
        .failed();
    assert_eq!(out.code, 125, "{out:?}");
    assert!(
        out.stderr
            .contains("Unable to find image 'no-such-image:v9' locally"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("Error response from daemon: "),
        "{out:?}"
    );
    // A command that does not exist: 127.
    let out = d.berth(&["run", "--rm", image, "no-such-command"]).failed();
    assert_eq!(out.code, 127, "{out:?}");
    assert!(out.stderr.contains("executable file not found"), "{out:?}");
    // Unknown container: exit 1, docker's wording.
    let out = d.berth(&["rm", "no-such-container"]).failed();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("Error response from daemon: No such container: no-such-container"),
        "{out:?}"
    );
    let out = d.berth(&["inspect", "no-such-thing"]).failed();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("No such object: no-such-thing"),
        "{out:?}"
    );
    // Usage errors: clap's message, exit 125.
    let out = d.berth(&["ps", "--bogus"]).failed();
    assert_eq!(out.code, 125);
    assert!(out.stderr.contains("--bogus"), "{out:?}");
    // No daemon there.
    let mut cmd = d.berth_cmd(&["ps"]);
    cmd.env("BERTH_HOST", "unix:///nonexistent/berth.sock");
    let out = common::run(cmd, None).failed();
    assert!(
        out.stderr.contains("Cannot connect to the Berth daemon"),
        "{out:?}"
    );
    // -H wins over BERTH_HOST.
    let mut cmd = d.berth_cmd(&["-H", &d.host(), "ps", "-q"]);
    cmd.env("BERTH_HOST", "unix:///nonexistent/berth.sock");
    common::run(cmd, None).ok();
}

#[test]
fn interactive_tty_resize_exit_code_and_detach() {
    if common::skip() {
        return;
    }
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: no script(1)");
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    // run -it: raw terminal, the window size reaches the container, exit status comes back.
    let out = d.berth_tty(
        &format!("run -it --rm {image} sh"),
        &[None, Some(b"stty size; exit 5\r"), None],
    );
    assert_eq!(out.code, 5, "{out:?}");
    assert!(out.stdout.contains("30 100"), "{out:?}");

    // attach + ctrl-p ctrl-q detaches and leaves the container running.
    let name = unique("shell");
    d.berth(&["run", "-dit", "--name", &name, image, "sh"]).ok();
    let out = d.berth_tty(
        &format!("attach {name}"),
        &[
            None,
            Some(b"echo attached-$((6*7))\r"),
            None,
            Some(b"\x10\x11"),
            None,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("attached-42"), "{out:?}");
    let state = d
        .berth(&["inspect", "--format", "{{.State.Status}}", &name])
        .ok()
        .stdout;
    assert_eq!(state, "running\n");
    // The terminal was restored: a second session works the same.
    let out = d.berth_tty(&format!("attach {name}"), &[None, Some(b"exit 7\r"), None]);
    assert_eq!(out.code, 7, "{out:?}");
}

#[test]
fn unimplemented_endpoints_report_the_daemon_message() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    let name = unique("idle");
    d.berth(&["run", "-d", "--name", &name, image, "sleep", "60"])
        .ok();
    // Whatever berthd does not serve yet answers 501; berth shows its message and fails.
    for args in [vec!["top", name.as_str()], vec!["system", "df"]] {
        let out = d.berth(&args);
        if out.code == 0 {
            continue; // served by now
        }
        assert!(
            out.stderr.starts_with("Error response from daemon: "),
            "{out:?}"
        );
    }
    let tar = d.root.path().join("saved.tar");
    let out = d.berth(&["save", "-o", &tar.display().to_string(), image]);
    if out.code != 0 {
        assert!(
            out.stderr.starts_with("Error response from daemon: "),
            "{out:?}"
        );
    }
    // A root filesystem tar is no image archive: the daemon says so in the load's stream, and
    // berth prints that message, as docker does.
    let out = d
        .berth(&["load", "-i", &common::busybox_tar().display().to_string()])
        .failed();
    assert_eq!(
        out.stderr,
        "invalid image archive: it has neither manifest.json nor index.json\n"
    );
}

#[test]
fn signals_are_proxied_to_a_foreground_container() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    let mut cmd = d.berth_cmd(&[
        "run",
        "--rm",
        image,
        "sh",
        "-c",
        "trap 'echo got-term; exit 9' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn berth: {e}"));
    let mut stdout =
        std::io::BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap_or_default();
    assert_eq!(line, "ready\n");
    // SAFETY: SIGTERM to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap_or_default();
    let status = child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    assert_eq!(rest, "got-term\n");
    assert_eq!(status.code(), Some(9));
}

/// Shell completions are generated without a daemon and name the commands.
#[test]
fn completion_scripts_are_generated() {
    for (shell, marker) in [
        ("bash", "_berth"),
        ("zsh", "#compdef berth"),
        ("fish", "complete -c berth"),
    ] {
        let mut cmd = std::process::Command::new(common::berth());
        cmd.args(["completion", shell]);
        let out = common::run(cmd, None);
        assert_eq!(out.code, 0, "{shell}: {out:?}");
        assert!(out.stdout.contains(marker), "{shell}: no {marker:?}");
        for word in [
            "run",
            "images",
            "network",
            "disconnect",
            "publish-all",
            "port",
        ] {
            assert!(out.stdout.contains(word), "{shell}: no {word:?}");
        }
    }
}

#[test]
fn volume_verbs_and_run_mounts() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    let vol = unique("bv");
    let out = d
        .berth(&[
            "volume",
            "create",
            "--label",
            "team=x",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            &vol,
        ])
        .ok();
    assert_eq!(out.stdout.trim(), vol);
    let out = d.berth(&["volume", "ls", "--format", "json"]).ok();
    let row: serde_json::Value =
        serde_json::from_str(out.stdout.lines().next().unwrap_or("{}")).unwrap_or_default();
    assert_eq!(row["Name"], vol.as_str(), "{out:?}");
    assert_eq!(row["Driver"], "local");
    assert_eq!(row["Labels"], "team=x");
    let out = d
        .berth(&["volume", "inspect", "--format", "{{.Options.type}}", &vol])
        .ok();
    assert_eq!(out.stdout.trim(), "tmpfs");
    let out = d
        .berth(&[
            "run",
            "--rm",
            "--mount",
            &format!("src={vol},dst=/v"),
            image,
            "sh",
            "-c",
            "grep -c ' /v tmpfs' /proc/mounts",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "1");
    let c = d
        .berth(&["create", "-v", &format!("{vol}:/v"), image])
        .ok()
        .text();
    let out = d
        .berth(&[
            "run",
            "--rm",
            "--volumes-from",
            &c,
            image,
            "sh",
            "-c",
            "grep -c ' /v ' /proc/mounts",
        ])
        .ok();
    assert_eq!(out.stdout.trim(), "1");
    d.berth(&["volume", "rm", &vol]).failed();
    d.berth(&["rm", &c]).ok();
    let out = d.berth(&["volume", "prune", "-a", "-f"]).ok();
    assert!(out.stdout.contains(&vol), "{out:?}");
    d.berth(&["volume", "rm", "-f", &vol]).ok();
    assert_eq!(d.berth(&["volume", "ls", "-q"]).ok().stdout, "");
}

/// What a server on 127.0.0.1:`port` says, retrying (for 10 s at most) while it starts.
fn fetch_local(port: u16) -> String {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = std::net::TcpStream::connect_timeout(
            &([127, 0, 0, 1], port).into(),
            Duration::from_secs(2),
        )
        .and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        });
        match got {
            Ok(text) if !text.is_empty() => return text,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("127.0.0.1:{port}: {other:?}"),
        }
    }
}

/// A user network of the test's own subnet: names between containers, a port published on
/// 127.0.0.1, connect/disconnect, then removal. Traffic stays on that network and loopback.
#[test]
fn network_verbs_names_and_published_ports() {
    if common::skip() {
        return;
    }
    let d = Daemon::start_for(common::Client::Berth);
    let image = d.busybox();
    let (net, subnet) = (unique("bnet"), d.net.subnet(1));
    let gateway = subnet.replace(".0/24", ".1");
    let id = d
        .berth(&[
            "network",
            "create",
            "--subnet",
            &subnet,
            "--gateway",
            &gateway,
            "--label",
            "t=1",
            &net,
        ])
        .ok()
        .text();
    assert_eq!(id.len(), 64, "{id}");
    let ls = d
        .berth(&["network", "ls", "-q", "--filter", &format!("name={net}")])
        .ok();
    assert_eq!(ls.stdout, format!("{}\n", &id[..12]));
    let table = d.berth(&["network", "ls"]).ok().stdout;
    assert!(table.starts_with("NETWORK ID     NAME"), "{table}");
    assert!(table.contains(&format!("{}   {net}", &id[..12])), "{table}");
    let info = d
        .berth(&["network", "inspect", "--format", "json", &net])
        .ok();
    let info: serde_json::Value = serde_json::from_str(info.stdout.trim()).unwrap_or_default();
    assert_eq!(
        info["IPAM"]["Config"][0]["Subnet"],
        subnet.as_str(),
        "{info}"
    );
    assert_eq!(info["Labels"]["t"], "1");

    // A server on the network, published on a free port of 127.0.0.1.
    let srv = unique("srv");
    d.berth(&[
        "run",
        "-d",
        "--name",
        &srv,
        "--network",
        &net,
        "--network-alias",
        "web",
        "-p",
        "127.0.0.1::8080",
        image,
        "sh",
        "-c",
        "nc -ll -p 8080 -e echo hello",
    ])
    .ok();
    let host = d.berth(&["port", &srv, "8080"]).ok().text();
    let port: u16 = host
        .strip_prefix("127.0.0.1:")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("port: {host:?}"));
    assert_eq!(
        d.berth(&["port", &srv]).ok().stdout,
        format!("8080/tcp -> 127.0.0.1:{port}\n")
    );
    assert_eq!(d.berth(&["port", &srv, "9/udp"]).code, 1);
    assert_eq!(fetch_local(port), "hello\n");
    let ps = d
        .berth(&[
            "ps",
            "--filter",
            &format!("name={srv}"),
            "--format",
            "{{.Ports}}",
        ])
        .ok();
    assert_eq!(ps.stdout, format!("127.0.0.1:{port}->8080/tcp\n"));
    let template = format!("{{{{.NetworkSettings.Networks.{net}.IPAddress}}}}");
    let ip = d
        .berth(&["inspect", "--format", &template, &srv])
        .ok()
        .stdout;
    assert!(ip.starts_with(&subnet.replace(".0/24", ".")), "{ip}");

    // Names: the container's, its alias, and one added by `network connect`.
    let other = unique("other");
    d.berth(&["run", "-d", "--name", &other, image, "sleep", "60"])
        .ok();
    d.berth(&["network", "connect", "--alias", "extra", &net, &other])
        .ok();
    let script = format!(
        "nslookup {srv} {gateway} && ping -c1 -W2 web && ping -c1 -W2 extra && nc web 8080"
    );
    let out = d
        .berth(&["run", "--rm", "--network", &net, image, "sh", "-c", &script])
        .ok();
    assert!(out.stdout.ends_with("hello\n"), "{out:?}");
    d.berth(&["network", "disconnect", &net, &other]).ok();
    let out = d.berth(&[
        "run",
        "--rm",
        "--network",
        &net,
        image,
        "ping",
        "-c1",
        "-W2",
        "extra",
    ]);
    assert_ne!(out.code, 0, "{out:?}");

    // In use, the network stays; after rm it goes. prune takes unused networks only.
    d.berth(&["network", "rm", &net]).failed();
    d.berth(&["rm", "-f", &srv, &other]).ok();
    assert_eq!(
        d.berth(&["network", "rm", &net]).ok().stdout,
        format!("{net}\n")
    );
    let spare = unique("spare");
    d.berth(&["network", "create", &spare]).ok();
    let out = d.berth(&["network", "prune", "-f"]).ok();
    assert_eq!(out.stdout, format!("Deleted Networks:\n{spare}\n\n"));
    let left = d
        .berth(&["network", "ls", "--format", "{{.Name}}"])
        .ok()
        .stdout;
    assert!(!left.contains(&net) && !left.contains(&spare), "{left}");
}

/// `berth pull` prints as docker does: the layers, then `Digest:` and `Status:`, then the fully
/// qualified reference on stdout, on a terminal (bars) as in plain output.
#[test]
fn pull_prints_layers_then_digest_status_and_the_reference() {
    if common::skip() {
        return;
    }
    if !std::path::Path::new("/usr/bin/docker-registry").exists() {
        eprintln!("skipped: apt-get install docker-registry");
        return;
    }
    let reg = Registry::start(RegistryOpts::default());
    let d = Daemon::start_for(common::Client::Berth);
    let image = format!("{}/bb:v1", reg.host());
    let busybox = d.busybox();
    d.berth(&["tag", busybox, &image]).ok();
    d.berth(&["push", &image]).ok();
    // Nothing local, so every layer is downloaded.
    d.berth(&["rmi", &image, busybox]).ok();

    let plain = d.berth(&["pull", &image]).ok();
    assert_eq!(plain.stdout, format!("{image}\n"));
    let lines: Vec<&str> = plain.stderr.lines().collect();
    let n = lines.len();
    assert!(n >= 3, "{plain:?}");
    assert!(lines[n - 2].starts_with("Digest: sha256:"), "{plain:?}");
    assert_eq!(
        lines[n - 1],
        format!("Status: Downloaded newer image for {image}")
    );
    assert!(
        lines[..n - 2]
            .iter()
            .any(|l| l.ends_with(": Pull complete")),
        "{plain:?}"
    );

    let again = d.berth(&["pull", &image]).ok();
    assert_eq!(again.stdout, format!("{image}\n"));
    assert!(
        again
            .stderr
            .ends_with(&format!("Status: Image is up to date for {image}\n")),
        "{again:?}"
    );

    // On a terminal the bars are redrawn in place: what counts is where each text last shows.
    d.berth(&["rmi", &image]).ok();
    let tty = d.berth_tty(&format!("pull {image}"), &[]);
    assert_eq!(tty.code, 0, "{tty:?}");
    let last = |text: &str| {
        tty.stdout
            .rfind(text)
            .unwrap_or_else(|| panic!("no {text:?} in {:?}", tty.stdout))
    };
    let order = [
        last("Pull complete"),
        last("Digest: sha256:"),
        last("Status: Downloaded newer image for"),
        // The pty turns the final "\n" into "\r\n".
        last(&format!("{image}\r\n")),
    ];
    assert!(order.is_sorted(), "{order:?} in {:?}", tty.stdout);
}
