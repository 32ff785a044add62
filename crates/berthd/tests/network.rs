//! Container networking through the docker CLI: network modes, user networks with name
//! resolution, isolation, internal networks, published ports, bad input, and no leaks across
//! removal and a daemon crash. Every daemon has its own bridge and subnets (testkit), traffic
//! stays between test containers and the host's loopback; masquerading is off.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, unique, Daemon};

/// A daemon with the busybox image; `None` when the test must be skipped.
fn daemon() -> Option<(Daemon, &'static str)> {
    if common::skip() {
        return None;
    }
    let d = Daemon::start();
    let image = d.busybox();
    Some((d, image))
}

fn inspect(d: &Daemon, format: &str, name: &str) -> String {
    d.docker(&["inspect", "-f", format, name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

fn full_id(d: &Daemon, name: &str) -> String {
    inspect(d, "{{.Id}}", name)
}

fn network_id(d: &Daemon, name: &str) -> String {
    d.docker(&["network", "inspect", "-f", "{{.Id}}", name])
        .ok()
        .stdout
        .trim()
        .to_string()
}

/// A detached container serving `reply` on TCP `port`, for ever.
fn serve(d: &Daemon, image: &str, args: &[&str], port: u16, reply: &str) -> String {
    // `-ll`: busybox nc keeps listening, so back-to-back clients are all served.
    let script = format!("nc -ll -p {port} -e echo {reply}");
    let mut all = vec!["run", "-d"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[image, "sh", "-c", &script]);
    d.docker(&all).ok().stdout.trim().to_string()
}

fn iptables_lines(needle: &str) -> usize {
    tables_lines("iptables-save", needle)
}

fn ip6tables_lines(needle: &str) -> usize {
    tables_lines("ip6tables-save", needle)
}

fn tables_lines(program: &str, needle: &str) -> usize {
    let out = Command::new(program).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// Ports of `bridge` (veths of containers attached to it).
fn veths_on(bridge: &str) -> usize {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Addresses host-local holds for a network of `d`.
fn ipam_entries(d: &Daemon, network_id: &str) -> usize {
    let dir = d.data_root().join("cni/networks").join(network_id);
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.parse::<std::net::IpAddr>().is_ok()
                })
                .count()
        })
        .unwrap_or(0)
}

/// What the server at 127.0.0.1:`port` says, retrying while it starts.
fn fetch(port: u16) -> String {
    fetch_at(([127, 0, 0, 1], port).into())
}

/// What the server at `addr` says, retrying while it starts.
fn fetch_at(addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).and_then(|mut s| {
            s.set_read_timeout(Some(Duration::from_secs(3)))?;
            let mut text = String::new();
            s.read_to_string(&mut text)?;
            Ok(text)
        });
        match got {
            Ok(text) if !text.is_empty() => return text,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            other => panic!("{addr}: {other:?}"),
        }
    }
}

/// Runs a one-shot client container and returns its output.
fn client(d: &Daemon, image: &str, network: &str, script: &str) -> common::Out {
    d.docker(&[
        "run",
        "--rm",
        "--network",
        network,
        image,
        "sh",
        "-c",
        script,
    ])
}

#[test]
fn default_bridge_and_the_other_modes() {
    let Some((d, image)) = daemon() else {
        return;
    };
    let a = unique("a");
    serve(&d, image, &["--name", &a], 80, "from-a");
    assert_eq!(inspect(&d, "{{.HostConfig.NetworkMode}}", &a), "bridge");
    let ip = inspect(&d, "{{.NetworkSettings.IPAddress}}", &a);
    let gw = inspect(&d, "{{.NetworkSettings.Gateway}}", &a);
    assert_eq!(gw, d.net.bip().trim_end_matches("/24"));
    assert!(ip.starts_with(gw.trim_end_matches(".1")), "{ip} vs {gw}");
    assert_eq!(
        inspect(&d, "{{.NetworkSettings.Networks.bridge.IPPrefixLen}}", &a),
        "24"
    );
    assert_eq!(
        inspect(&d, "{{.NetworkSettings.Networks.bridge.IPAddress}}", &a),
        ip
    );
    // Another container reaches it by address; the default bridge resolves no names.
    let out = client(&d, image, "bridge", &format!("nc {ip} 80 </dev/null")).ok();
    assert_eq!(out.stdout.trim(), "from-a");
    let out = client(
        &d,
        image,
        "bridge",
        &format!("grep -c {ip} /etc/hosts; nslookup {a}"),
    );
    assert_ne!(out.code, 0, "{out:?}");
    // none: loopback only, up.
    let out = client(&d, image, "none", "ip -o link; ip -o addr show lo").ok();
    assert_eq!(out.stdout.matches(": <").count(), 1, "{}", out.stdout);
    assert!(out.stdout.contains("127.0.0.1"), "{}", out.stdout);
    // host: the host's interfaces, among them this daemon's bridge.
    let out = client(&d, image, "host", "ip -o link").ok();
    assert!(out.stdout.contains(&d.net.bridge), "{}", out.stdout);
    // container:<name>: the other container's namespace and address.
    let out = client(&d, image, &format!("container:{a}"), "ip -o addr show eth0").ok();
    assert!(out.stdout.contains(&format!("{ip}/24")), "{}", out.stdout);
    let out = client(
        &d,
        image,
        &format!("container:{a}"),
        "nc 127.0.0.1 80 </dev/null",
    )
    .ok();
    assert_eq!(out.stdout.trim(), "from-a");
}

/// A UDP socket bound in the network namespace at `netns` (from a thread of its own, which
/// alone enters it), to be read from this one.
fn udp_socket_in(netns: &str, port: u16) -> UdpSocket {
    let ns = std::fs::File::open(netns).unwrap();
    std::thread::spawn(move || {
        // SAFETY: a valid namespace fd; only this short-lived thread changes namespace.
        assert_eq!(
            unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        UdpSocket::bind(("0.0.0.0", port)).unwrap()
    })
    .join()
    .unwrap()
}

#[test]
fn user_network_names_tcp_udp_and_isolation() {
    let Some((d, image)) = daemon() else {
        return;
    };
    let (n1, n2) = (unique("n1"), unique("n2"));
    d.docker(&["network", "create", &n1]).ok();
    d.docker(&["network", "create", "--label", "tier=back", &n2])
        .ok();
    let web = unique("web");
    serve(
        &d,
        image,
        &["--name", &web, "--network", &n1, "--network-alias", "www"],
        80,
        "hello",
    );
    let ip = inspect(
        &d,
        &format!("{{{{(index .NetworkSettings.Networks \"{n1}\").IPAddress}}}}"),
        &web,
    );
    // FORWARD lets the network's traffic through with two rules of its own, none per
    // container (no `firewall` plugin).
    let br1 = format!("br-{}", &network_id(&d, &n1)[..12]);
    let forward_rules = || {
        let out = Command::new("iptables-save").output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("-A BERTH-FORWARD") && l.contains(&br1))
            .count()
    };
    assert_eq!(forward_rules(), 2);
    assert_eq!(rules_naming_ip(&ip), 0);
    // The shared jump exists once, though the tests start daemons side by side.
    assert_eq!(iptables_lines("-A FORWARD -j BERTH-FORWARD"), 1);

    // TCP by name and by alias, from another container on the network.
    let out = client(
        &d,
        image,
        &n1,
        &format!("nc {web} 80 </dev/null; nc www 80 </dev/null"),
    )
    .ok();
    assert_eq!(out.stdout, "hello\nhello\n");
    let out = client(&d, image, &n1, "cat /etc/resolv.conf").ok();
    assert!(out.stdout.starts_with("nameserver "), "{}", out.stdout);

    // UDP by name: tftp's request to the server container's port 6969.
    let netns = inspect(&d, "{{.NetworkSettings.SandboxKey}}", &web);
    let sock = udp_socket_in(&netns, 6969);
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = client(
        &d,
        image,
        &n1,
        &format!("timeout 3 tftp -g -r udp-by-name {web} 6969"),
    );
    let mut buf = [0u8; 512];
    let (n, from) = sock.recv_from(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).contains("udp-by-name"));
    assert!(from
        .ip()
        .to_string()
        .starts_with(ip.rsplit_once('.').unwrap().0));

    // Not across networks: no name, no route through the host.
    let out = client(&d, image, &n2, &format!("nslookup {web}"));
    assert_ne!(out.code, 0, "{out:?}");
    let out = client(&d, image, &n2, &format!("nc -w 2 {ip} 80 </dev/null"));
    assert_eq!(out.stdout.trim(), "", "{out:?}");

    // connect / disconnect while running.
    let c = unique("c");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &c,
        "--network",
        &n2,
        image,
        "sleep",
        "300",
    ])
    .ok();
    d.docker(&["network", "connect", &n1, &c]).ok();
    let out = d
        .docker(&["exec", &c, "sh", "-c", &format!("nc {web} 80 </dev/null")])
        .ok();
    assert_eq!(out.stdout.trim(), "hello");
    let members = d
        .docker(&["network", "inspect", "-f", "{{len .Containers}}", &n1])
        .ok();
    assert_eq!(members.stdout.trim(), "2");
    d.docker(&["network", "disconnect", &n1, &c]).ok();
    let out = d.docker(&["exec", &c, "ip", "-o", "link"]).ok();
    assert!(!out.stdout.contains("eth1"), "{}", out.stdout);

    // In use, then gone.
    d.docker(&["network", "rm", &n1]).failed();
    d.docker(&["rm", "-f", &web, &c]).ok();
    let ls = d
        .docker(&["network", "ls", "--format", "{{.Name}}"])
        .ok()
        .stdout;
    assert!(
        ls.contains(&n1) && ls.contains("bridge") && ls.contains("none"),
        "{ls}"
    );
    let pruned = d
        .docker(&["network", "prune", "-f", "--filter", "label=tier=back"])
        .ok();
    assert!(pruned.stdout.contains(&n2), "{pruned:?}");
    d.docker(&["network", "rm", &n1]).ok();
    d.docker(&["network", "inspect", &n1]).failed();
    assert_eq!(forward_rules(), 0);
}

#[test]
fn internal_network_has_no_route_out() {
    let Some((d, image)) = daemon() else {
        return;
    };
    let net = unique("int");
    let subnet = d.net.subnet(3);
    d.docker(&[
        "network",
        "create",
        "--internal",
        "--subnet",
        &subnet,
        "--ip-range",
        &subnet,
        &net,
    ])
    .ok();
    let internal = d
        .docker(&["network", "inspect", "-f", "{{.Internal}}", &net])
        .ok();
    assert_eq!(internal.stdout.trim(), "true");
    let fixed = subnet.replace(".0/24", ".77");
    let out = d
        .docker(&[
            "run",
            "--rm",
            "--network",
            &net,
            "--ip",
            &fixed,
            image,
            "sh",
            "-c",
            "ip route; ip -o addr show eth0; ip route get 192.0.2.1",
        ])
        .failed();
    assert!(!out.stdout.contains("default"), "{}", out.stdout);
    assert!(
        out.stdout.contains(&format!("{fixed}/24")),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("unreachable"), "{out:?}");
}

#[test]
fn published_ports_from_host_and_containers_and_rules_go() {
    let Some((d, image)) = daemon() else {
        return;
    };
    let port = free_port();
    let web = unique("pub");
    serve(
        &d,
        image,
        &["--name", &web, "-p", &format!("127.0.0.1:{port}:80")],
        80,
        "published",
    );
    let id = full_id(&d, &web);
    assert_eq!(fetch(port), "published\n");
    let shown = d.docker(&["port", &web]).ok();
    assert_eq!(shown.stdout.trim(), format!("80/tcp -> 127.0.0.1:{port}"));
    assert!(iptables_lines(&id) > 0);

    // -P publishes EXPOSEd ports on a free port, reachable from other containers through the
    // gateway.
    let all = unique("all");
    serve(
        &d,
        image,
        &["--name", &all, "--expose", "8080", "-P"],
        8080,
        "any",
    );
    let shown = d.docker(&["port", &all, "8080/tcp"]).ok().stdout;
    let host_port: u16 = shown.trim().rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(fetch(host_port), "any\n");
    let gw = inspect(&d, "{{.NetworkSettings.Gateway}}", &all);
    let out = client(
        &d,
        image,
        "bridge",
        &format!("nc {gw} {host_port} </dev/null"),
    )
    .ok();
    assert_eq!(out.stdout.trim(), "any");

    // Ranges: the CLI sends one binding per port.
    let (p1, p2) = (free_port(), free_port());
    if p2 == p1 + 1 {
        let r = unique("range");
        d.docker(&[
            "run",
            "-d",
            "--name",
            &r,
            "-p",
            &format!("{p1}-{p2}:80-81"),
            image,
            "sleep",
            "60",
        ])
        .ok();
        assert_eq!(d.docker(&["port", &r]).ok().stdout.lines().count(), 2);
    }

    d.docker(&["rm", "-f", &web, &all]).ok();
    assert_eq!(iptables_lines(&id), 0, "rules of {id} left");
    assert_eq!(iptables_lines(&full_id_or(&d, &all)), 0);
}

/// `network create` with each set of flags fails, saying what is wrong.
fn refused_network_creates(d: &Daemon, cases: &[(&[&str], &str)]) {
    for (flags, says) in cases {
        let name = unique("bad");
        let mut args = vec!["network", "create"];
        args.extend_from_slice(flags);
        args.push(&name);
        let out = d.docker(&args).failed();
        assert!(out.stderr.contains(says), "{flags:?}: {out:?}");
    }
}

fn full_id_or(d: &Daemon, name: &str) -> String {
    let out = d.docker(&["inspect", "-f", "{{.Id}}", name]);
    if out.code == 0 {
        out.stdout.trim().to_string()
    } else {
        name.to_string()
    }
}

#[test]
fn bad_input_is_refused_and_nothing_is_half_made() {
    let Some((d, image)) = daemon() else {
        return;
    };
    let n1 = unique("ok");
    d.docker(&["network", "create", "--subnet", &d.net.subnet(4), &n1])
        .ok();
    let before = d.docker(&["network", "ls", "-q"]).ok().stdout;

    // (flags, what the error says); the CLI checks some gateways itself, naming the subnet too.
    let (s4, s5) = (d.net.subnet(4), d.net.subnet(5));
    let cases: [(&[&str], &str); 4] = [
        (&["--subnet", &s4], "overlaps"),
        (&["--subnet", "10.1.2.3/33"], "invalid subnet"),
        (&["--subnet", &s5, "--gateway", "10.0.0.1"], "subnet"),
        (&["--subnet", &s5, "--ip-range", "10.0.0.0/24"], "subnet"),
    ];
    refused_network_creates(&d, &cases);
    assert_eq!(d.docker(&["network", "ls", "-q"]).ok().stdout, before);

    let unknown = d
        .docker(&["run", "--rm", "--network", "no-such-net", image, "true"])
        .failed();
    assert!(
        unknown.stderr.contains("no-such-net not found"),
        "{unknown:?}"
    );
    let ip = d
        .docker(&["run", "--rm", "--ip", "10.9.9.9", image, "true"])
        .failed();
    assert!(ip.stderr.contains("user defined networks only"), "{ip:?}");

    // A port the host already listens on: refused, and the failed start leaves no namespace,
    // veth, address or rule.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let name = unique("busy");
    let busy = d
        .docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            &format!("127.0.0.1:{port}:80"),
            image,
            "sleep",
            "60",
        ])
        .failed();
    assert!(
        busy.stderr.contains("port is already allocated"),
        "{busy:?}"
    );
    let id = full_id(&d, &name);
    assert_eq!(iptables_lines(&id), 0);
    assert_eq!(veths_on(&d.net.bridge), 0);
    let bridge_id = network_id(&d, "bridge");
    assert_eq!(ipam_entries(&d, &bridge_id), 0);
    assert!(!d.exec_root().join("netns").join(&id).exists());
}

#[test]
fn crash_and_restart_leak_nothing() {
    let Some((mut d, image)) = daemon() else {
        return;
    };
    let net = unique("crash");
    d.docker(&["network", "create", &net]).ok();
    let net_id = network_id(&d, &net);
    let bridge_id = network_id(&d, "bridge");
    let stays = unique("stays");
    let port = free_port();
    serve(
        &d,
        image,
        &[
            "--name",
            &stays,
            "--network",
            &net,
            "-p",
            &format!("127.0.0.1:{port}:80"),
        ],
        80,
        "alive",
    );
    let goes = unique("goes");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &goes,
        "-p",
        "127.0.0.1::81",
        image,
        "sleep",
        "3",
    ])
    .ok();
    let (stays_id, goes_id) = (full_id(&d, &stays), full_id(&d, &goes));
    let net_bridge = format!("br-{}", &net_id[..12]);
    assert_eq!((veths_on(&net_bridge), veths_on(&d.net.bridge)), (1, 1));
    assert_eq!(
        (ipam_entries(&d, &net_id), ipam_entries(&d, &bridge_id)),
        (1, 1)
    );
    let rules_stays = iptables_lines(&stays_id);
    assert!(rules_stays > 0 && iptables_lines(&goes_id) > 0);

    d.kill9();
    // `goes` exits while berthd is away.
    std::thread::sleep(Duration::from_secs(4));
    d.spawn();

    // What runs is untouched and still served; what exited is gone from every table.
    assert_eq!(fetch(port), "alive\n");
    assert_eq!(iptables_lines(&stays_id), rules_stays);
    assert_eq!(iptables_lines(&goes_id), 0);
    assert_eq!((veths_on(&net_bridge), veths_on(&d.net.bridge)), (1, 0));
    assert_eq!(
        (ipam_entries(&d, &net_id), ipam_entries(&d, &bridge_id)),
        (1, 0)
    );
    assert!(!d.exec_root().join("netns").join(&goes_id).exists());
    // Its name still resolves after the restart.
    let out = client(&d, image, &net, &format!("nc {stays} 80 </dev/null")).ok();
    assert_eq!(out.stdout.trim(), "alive");

    d.docker(&["rm", "-f", &stays, &goes]).ok();
    assert_eq!(iptables_lines(&stays_id), 0);
    assert_eq!((veths_on(&net_bridge), ipam_entries(&d, &net_id)), (0, 0));
    assert_eq!(
        std::fs::read_dir(d.exec_root().join("netns"))
            .map(|r| r.count())
            .unwrap_or(0),
        0
    );
}

/// Lines of iptables-save and ip6tables-save naming `ip` (not as the prefix of a longer one).
fn rules_naming_ip(ip: &str) -> usize {
    ["iptables-save", "ip6tables-save"]
        .iter()
        .map(|program| {
            let out = Command::new(program).output().unwrap();
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| {
                    l.match_indices(ip).any(|(at, _)| {
                        let next = l[at + ip.len()..].chars().next();
                        !next.is_some_and(|c| c.is_ascii_digit())
                    })
                })
                .count()
        })
        .sum()
}

/// A plugin directory whose `bridge` and `portmap` run the real ones, except that
/// one of them stalls (before or after the real plugin) during ADD while `<dir>/stall` names
/// it as `<plugin>:<before|after>`; it touches `<dir>/stalled` then.
fn stalling_plugins() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let script = format!(
        r#"#!/bin/sh
me=$(basename "$0")
stall() {{
    [ "$CNI_COMMAND" = ADD ] && [ "$(cat {d}/stall 2>/dev/null)" = "$me:$1" ] || return 0
    touch {d}/stalled
    while [ -e {d}/stall ]; do sleep 0.05; done
}}
stall before
out=$(/usr/lib/cni/"$me"); rc=$?
stall after
printf '%s' "$out"
exit $rc
"#
    );
    for plugin in ["bridge", "portmap"] {
        let path = dir.path().join(plugin);
        std::fs::write(&path, &script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn kill_during_the_add_chain_leaks_nothing() {
    if common::skip() {
        return;
    }
    let plugins = stalling_plugins();
    let mut d = Daemon::start_with_args(
        common::Client::Docker,
        vec![
            "--cni-plugin-dir".into(),
            plugins.path().into(),
            "--cni-plugin-dir".into(),
            "/usr/lib/cni".into(),
        ],
    );
    let image = d.busybox();
    let bridge_id = network_id(&d, "bridge");
    let port = free_port();
    let published = format!("127.0.0.1:{port}:80");
    // Each point of `docker run -p`: the veth and address made, portmap's rules not yet
    // (and the plugin must not add them after the crash); every plugin done (portmap is the
    // last) but nothing recorded by berthd.
    for point in ["bridge:after", "portmap:before", "portmap:after"] {
        std::fs::write(plugins.path().join("stall"), point).unwrap();
        let name = unique("cut");
        let run = d
            .docker_cmd(&["run", "-d", "--name", &name, "-p", &published, image])
            .args(["sleep", "100"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stalled = plugins.path().join("stalled");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !stalled.exists() {
            assert!(Instant::now() < deadline, "{point}: no stall\n{}", d.log());
            std::thread::sleep(Duration::from_millis(20));
        }
        let (id, ip) = attachment_in_progress(&d, &bridge_id);
        assert_eq!(veths_on(&d.net.bridge), 1, "{point}");
        if point != "bridge:after" && point != "portmap:before" {
            assert!(iptables_lines(&id) > 0, "{point}: portmap has not run");
        }

        d.kill9();
        berth_testkit::wait_output(run).failed();
        d.spawn();
        // Only now may a plugin that outlived berthd go on: it must be gone.
        std::fs::remove_file(plugins.path().join("stall")).unwrap();
        std::fs::remove_file(&stalled).unwrap();
        std::thread::sleep(Duration::from_millis(500));

        assert_attachment_gone(&d, &bridge_id, &id, &ip, point);
        d.docker(&["rm", "-f", &name]).ok();
    }
    // The port and the address are free again.
    let name = unique("after");
    serve(&d, image, &["--name", &name, "-p", &published], 80, "after");
    assert_eq!(fetch(port), "after\n");
    d.docker(&["rm", "-f", &name]).ok();
}

/// The container id (its pinned namespace's name) and the address of the one attachment to
/// `bridge_id` under way in `d`.
fn attachment_in_progress(d: &Daemon, bridge_id: &str) -> (String, String) {
    let id = std::fs::read_dir(d.exec_root().join("netns"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next()
        .unwrap();
    let ipam = d.data_root().join("cni/networks").join(bridge_id);
    let ip = std::fs::read_dir(&ipam)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|f| {
            f.parse::<std::net::IpAddr>().is_ok()
                && std::fs::read_to_string(ipam.join(f)).is_ok_and(|t| t.starts_with(&id))
        })
        .unwrap();
    (id, ip)
}

/// Nothing of container `id`'s attachment at `ip` is left: no rule, veth, host-local
/// reservation, pinned namespace (nor its mount), or CNI cache entry.
fn assert_attachment_gone(d: &Daemon, bridge_id: &str, id: &str, ip: &str, point: &str) {
    assert_eq!(iptables_lines(id) + ip6tables_lines(id), 0, "{point}");
    assert_eq!(rules_naming_ip(ip), 0, "{point}: rules of {ip}");
    assert_eq!(veths_on(&d.net.bridge), 0, "{point}");
    assert_eq!(ipam_entries(d, bridge_id), 0, "{point}");
    assert!(!d.exec_root().join("netns").join(id).exists(), "{point}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(id), "{point}: netns mount left");
    let cached = std::fs::read_dir(d.data_root().join("cni/results"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(id))
        .count();
    assert_eq!(cached, 0, "{point}");
}

/// A runtime in front of the real one whose `start` waits while `<dir>/stall` exists,
/// touching `<dir>/stalled`: berthd has attached the container, not yet recorded in its state,
/// and started its shim.
fn stalling_runtime() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let real = berth_testkit::berthd().with_file_name("berth-runtime");
    // berthd runs `<runtime> --root <root> <verb> ...`.
    let script = format!(
        r#"#!/bin/sh
if [ "$3" = start ] && [ -e {d}/stall ]; then
    touch {d}/stalled
    while [ -e {d}/stall ]; do sleep 0.05; done
fi
exec {real} "$@"
"#,
        real = real.display()
    );
    let path = dir.path().join("runtime");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[test]
fn kill_between_the_attachment_and_the_recorded_start_leaks_nothing() {
    if common::skip() {
        return;
    }
    let runtime = stalling_runtime();
    let mut d = Daemon::start_with_args(
        common::Client::Docker,
        vec!["--runtime".into(), runtime.path().join("runtime").into()],
    );
    let image = d.busybox();
    let bridge_id = network_id(&d, "bridge");
    let port = free_port();
    let published = format!("127.0.0.1:{port}:80");
    std::fs::write(runtime.path().join("stall"), "").unwrap();
    let name = unique("unrecorded");
    let run = d
        .docker_cmd(&["run", "-d", "--name", &name, "-p", &published, image])
        .args(["sleep", "100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stalled = runtime.path().join("stalled");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !stalled.exists() {
        assert!(Instant::now() < deadline, "no stall\n{}", d.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let (id, ip) = attachment_in_progress(&d, &bridge_id);
    assert_eq!(veths_on(&d.net.bridge), 1);
    assert!(iptables_lines(&id) > 0, "portmap has not run");

    d.kill9();
    berth_testkit::wait_output(run).failed();
    d.spawn();
    // The stalled `start` may go on now: the restart discarded its container.
    std::fs::remove_file(runtime.path().join("stall")).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    assert_attachment_gone(&d, &bridge_id, &id, &ip, "unrecorded start");
    let status = d
        .docker(&["inspect", "-f", "{{.State.Status}}", &name])
        .ok()
        .text();
    assert_ne!(status, "running");
    d.docker(&["rm", "-f", &name]).ok();
    // The port and the address are free again.
    let name = unique("after");
    serve(&d, image, &["--name", &name, "-p", &published], 80, "after");
    assert_eq!(fetch(port), "after\n");
    d.docker(&["rm", "-f", &name]).ok();
}

/// The CNI bridge plugin turns on IPv6 forwarding for a network with an IPv6 gateway (as
/// dockerd does). Tests must not leave the host forwarding what it did not: the first IPv6
/// test remembers the setting, the last one to finish puts it back. Meanwhile nothing from the
/// tests' IPv6 pools may be forwarded anywhere but to those pools: no test packet leaves the
/// machine even if one were sent to an outside address.
struct Ipv6Forwarding;

static FORWARDING: std::sync::Mutex<(usize, String)> = std::sync::Mutex::new((0, String::new()));
const FORWARDING_SYSCTL: &str = "/proc/sys/net/ipv6/conf/all/forwarding";
const TEST_POOLS_V6: &str = "fd42:b7e5::/32";

/// Adds (`-I`) or deletes (`-D`) the rule dropping what the tests' pools would forward out of
/// the host's IPv6 uplinks (the devices of its default routes; bridged traffic between test
/// containers, neighbour discovery included, is not touched). False when there is nothing
/// (more) to do.
fn confine_v6(op: &str) -> bool {
    let routes = Command::new("ip")
        .args(["-6", "route", "show", "default"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
    let uplinks = routes.lines().filter_map(|l| {
        let mut words = l.split_whitespace();
        words.find(|w| *w == "dev").and(words.next())
    });
    let mut changed = false;
    for dev in uplinks {
        let rule = ["FORWARD", "-s", TEST_POOLS_V6, "-o", dev, "-j", "DROP"];
        changed |= Command::new("ip6tables")
            .args(["-w", op])
            .args(rule)
            .status()
            .is_ok_and(|s| s.success());
    }
    changed
}

impl Ipv6Forwarding {
    fn hold() -> Self {
        let mut f = FORWARDING.lock().unwrap_or_else(|e| e.into_inner());
        if f.0 == 0 {
            f.1 = std::fs::read_to_string(FORWARDING_SYSCTL).unwrap_or_default();
            confine_v6("-I");
        }
        f.0 += 1;
        Self
    }
}

impl Drop for Ipv6Forwarding {
    fn drop(&mut self) {
        let mut f = FORWARDING.lock().unwrap_or_else(|e| e.into_inner());
        f.0 -= 1;
        if f.0 == 0 {
            if !f.1.is_empty() {
                let _ = std::fs::write(FORWARDING_SYSCTL, f.1.trim());
            }
            while confine_v6("-D") {}
        }
    }
}

fn loopback6(port: u16) -> SocketAddr {
    (Ipv6Addr::LOCALHOST, port).into()
}

#[test]
fn ipv6_names_isolation_published_ports_and_no_leaks() {
    let Some((mut d, image)) = daemon() else {
        return;
    };
    let _forwarding = Ipv6Forwarding::hold();
    // `--ipv6` alone: a /64 from the daemon's IPv6 pool; the other network's is given.
    let (n1, n2) = (unique("six"), unique("six2"));
    d.docker(&["network", "create", "--ipv6", &n1]).ok();
    let given = d.net.subnet_v6(1);
    d.docker(&["network", "create", "--ipv6", "--subnet", &given, &n2])
        .ok();
    let ipam = d
        .docker(&[
            "network",
            "inspect",
            "-f",
            "{{.EnableIPv6}} {{json .IPAM.Config}}",
            &n1,
        ])
        .ok()
        .stdout;
    assert!(ipam.starts_with("true "), "{ipam}");
    assert!(
        ipam.contains("fd42:b7e5:") && ipam.contains("::1\""),
        "{ipam}"
    );
    let n1_bridge = format!("br-{}", &network_id(&d, &n1)[..12]);
    assert!(ip6tables_lines(&n1_bridge) > 0, "no ip6tables isolation");

    let web = unique("web6");
    let (p1, p2) = (free_port(), free_port());
    serve(
        &d,
        image,
        &[
            "--name",
            &web,
            "--network",
            &n1,
            "-p",
            &format!("[::1]:{p1}:80"),
            "-p",
            &format!("{p2}:80"),
        ],
        80,
        "over-six",
    );
    let web_id = full_id(&d, &web);
    let v6 = inspect(&d, "{{.NetworkSettings.GlobalIPv6Address}}", &web);
    let gw6 = inspect(&d, "{{.NetworkSettings.IPv6Gateway}}", &web);
    assert!(v6.starts_with("fd42:b7e5:"), "{v6}");
    assert!(gw6.ends_with("::1"), "{gw6}");
    assert_eq!(
        inspect(&d, "{{.NetworkSettings.GlobalIPv6PrefixLen}}", &web),
        "64"
    );

    // Usable at once (no DAD wait), by name over IPv6 (AAAA), TCP to the address.
    let out = client(
        &d,
        image,
        &n1,
        &format!(
            "ip -6 addr show eth0; nslookup -type=AAAA {web}; ping -6 -c 1 -W 3 {web}; \
             sleep 2 | nc {v6} 80"
        ),
    )
    .ok();
    assert!(!out.stdout.contains("tentative"), "{}", out.stdout);
    assert!(out.stdout.contains(&v6), "{}", out.stdout);
    assert!(out.stdout.contains("1 packets received"), "{}", out.stdout);
    assert!(
        out.stdout.trim_end().ends_with("over-six"),
        "{}",
        out.stdout
    );

    // Not across networks: no name, no IPv6 route through the host.
    let out = client(&d, image, &n2, &format!("nslookup -type=AAAA {web}"));
    assert_ne!(out.code, 0, "{out:?}");
    let out = client(&d, image, &n2, &format!("ping -6 -c 1 -W 2 {v6}"));
    assert_ne!(out.code, 0, "{out:?}");

    // Published on the IPv6 loopback: `[::1]:p1`, and the default binding there too.
    assert_eq!(fetch_at(loopback6(p1)), "over-six\n");
    assert_eq!(fetch_at(loopback6(p2)), "over-six\n");
    assert_eq!(fetch(p2), "over-six\n");
    // As dockerd: a binding without an address is listed on `0.0.0.0` and on `::` for a
    // container with an IPv6 address.
    let shown = d.docker(&["port", &web, "80/tcp"]).ok().stdout;
    let mut lines: Vec<&str> = shown.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            format!("0.0.0.0:{p2}"),
            format!("[::1]:{p1}"),
            format!("[::]:{p2}")
        ],
        "{shown}"
    );
    assert!(ip6tables_lines(&web_id) > 0);

    // kill -9 and a restart: the proxy comes back, nothing leaks.
    d.kill9();
    d.spawn();
    assert_eq!(fetch_at(loopback6(p1)), "over-six\n");
    assert!(ip6tables_lines(&n1_bridge) > 0);

    d.docker(&["rm", "-f", &web]).ok();
    assert_eq!(
        ip6tables_lines(&web_id),
        0,
        "portmap rules of {web_id} left"
    );
    assert!(TcpStream::connect_timeout(&loopback6(p1), Duration::from_secs(1)).is_err());
    d.docker(&["network", "rm", &n1, &n2]).ok();
    assert_eq!(ip6tables_lines(&n1_bridge), 0, "isolation rules left");
    assert_eq!(iptables_lines(&n1_bridge), 0);
}

#[test]
fn ipv6_bad_input_is_refused() {
    let Some((d, _)) = daemon() else {
        return;
    };
    let given = d.net.subnet_v6(2);
    let ok = unique("v6ok");
    d.docker(&["network", "create", "--ipv6", "--subnet", &given, &ok])
        .ok();
    let before = d.docker(&["network", "ls", "-q"]).ok().stdout;
    let cases: [(&[&str], &str); 3] = [
        (&["--ipv6", "--subnet", &given], "overlaps"),
        (&["--ipv6", "--subnet", "fd42::/129"], "invalid"),
        (&["--ipv6", "--subnet", "fd42::1/64"], "host bits"),
    ];
    refused_network_creates(&d, &cases);
    assert_eq!(d.docker(&["network", "ls", "-q"]).ok().stdout, before);
}

#[test]
fn dns_servers_are_the_embedded_resolvers_upstreams_on_user_networks() {
    let Some((d, image)) = daemon() else {
        return;
    };
    let net = unique("updns");
    d.docker(&["network", "create", &net]).ok();
    // A fake upstream: a UDP socket on port 53 inside a test container's namespace (busybox
    // nc has no UDP), which records the first datagram.
    let up = unique("upstream");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &up,
        "--network",
        &net,
        image,
        "sleep",
        "300",
    ])
    .ok();
    let up_ip = inspect(&d, "{{.NetworkSettings.IPAddress}}", &up);
    let sock = udp_socket_in(&inspect(&d, "{{.NetworkSettings.SandboxKey}}", &up), 53);
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let out = d.docker(&[
        "run",
        "--rm",
        "--network",
        &net,
        "--dns",
        &up_ip,
        image,
        "sh",
        "-c",
        "cat /etc/resolv.conf; timeout 4 nslookup example.test",
    ]);
    let servers: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("nameserver"))
        .collect();
    assert_eq!(servers.len(), 1, "{out:?}");
    assert!(!servers[0].contains(&up_ip), "{out:?}");
    // The embedded resolver forwarded the question to the container's --dns server.
    let mut buf = [0u8; 512];
    let (n, _) = sock.recv_from(&mut buf).unwrap();
    let query = String::from_utf8_lossy(&buf[..n]);
    assert!(
        query.contains("example") && query.contains("test"),
        "{query:?}"
    );
    // On the default bridge --dns servers go straight into resolv.conf.
    let out = d
        .docker(&[
            "run",
            "--rm",
            "--dns",
            "192.0.2.53",
            image,
            "cat",
            "/etc/resolv.conf",
        ])
        .ok();
    assert!(out.stdout.contains("nameserver 192.0.2.53\n"), "{out:?}");
}

/// `probe`'s output once it is `want`, retried a bounded number of times: a server container
/// just started may not listen yet.
fn settled(want: &str, probe: impl Fn() -> String) -> String {
    let mut got = probe();
    for _ in 0..20 {
        if got == want {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        got = probe();
    }
    got
}

/// Inside `container`: its link variables of `prefix`, sorted, and its /etc/hosts line of
/// `alias`, then a ping and a TCP request to the alias.
fn link_view(d: &Daemon, container: &str, prefix: &str, alias: &str) -> String {
    let script = format!(
        "env | grep ^{prefix}_ | sort; grep -w {alias} /etc/hosts; \
         ping -c 1 -W 3 {alias} >/dev/null && echo ping-ok; nc {alias} 80 </dev/null"
    );
    d.docker(&["exec", container, "sh", "-c", &script])
        .ok()
        .stdout
}

#[test]
fn legacy_links_on_the_default_bridge() {
    let Some((mut d, image)) = daemon() else {
        return;
    };
    let db = unique("db");
    serve(
        &d,
        image,
        &[
            "--name",
            &db,
            "--expose",
            "80",
            "--expose",
            "53/udp",
            "-e",
            "SECRET=s3",
        ],
        80,
        "from-db",
    );
    let ip = inspect(&d, "{{.NetworkSettings.IPAddress}}", &db);
    let hostname = inspect(&d, "{{.Config.Hostname}}", &db);
    let web = unique("web");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &web,
        "--link",
        &format!("{db}:data"),
        image,
        "sleep",
        "300",
    ])
    .ok();
    let want = format!(
        "DATA_ENV_SECRET=s3\nDATA_NAME=/{web}/data\n\
         DATA_PORT=tcp://{ip}:80\n\
         DATA_PORT_53_UDP=udp://{ip}:53\nDATA_PORT_53_UDP_ADDR={ip}\n\
         DATA_PORT_53_UDP_PORT=53\nDATA_PORT_53_UDP_PROTO=udp\n\
         DATA_PORT_80_TCP=tcp://{ip}:80\nDATA_PORT_80_TCP_ADDR={ip}\n\
         DATA_PORT_80_TCP_PORT=80\nDATA_PORT_80_TCP_PROTO=tcp\n\
         {ip}\tdata {hostname} {db}\nping-ok\nfrom-db\n"
    );
    assert_eq!(settled(&want, || link_view(&d, &web, "DATA", "data")), want);
    assert_eq!(
        inspect(&d, "{{json .HostConfig.Links}}", &web),
        format!("[\"/{db}:/{web}/data\"]")
    );

    // Kept across a restart of the container and of berthd.
    d.docker(&["restart", "-t", "1", &web]).ok();
    assert_eq!(link_view(&d, &web, "DATA", "data"), want);
    d.kill9();
    d.spawn();
    d.docker(&["restart", "-t", "1", &web]).ok();
    assert_eq!(link_view(&d, &web, "DATA", "data"), want);

    // The target must exist at create and run at start, as with dockerd.
    let missing = d
        .docker(&["run", "--rm", "--link", "no-such-db:x", image, "true"])
        .failed();
    assert!(
        missing
            .stderr
            .contains("could not get container for no-such-db"),
        "{missing:?}"
    );
    let stopped = unique("stopped");
    d.docker(&["create", "--name", &stopped, image, "true"])
        .ok();
    let linker = unique("linker");
    let out = d
        .docker(&[
            "run",
            "--name",
            &linker,
            "--link",
            &format!("{stopped}:x"),
            image,
            "true",
        ])
        .failed();
    assert!(
        out.stderr.contains(&format!(
            "Cannot link to a non running container: /{stopped} AS /{linker}/x"
        )),
        "{out:?}"
    );
    let host = d
        .docker(&[
            "run",
            "--rm",
            "--network",
            "host",
            "--link",
            &db,
            image,
            "true",
        ])
        .failed();
    assert!(host.stderr.contains("can't be used with links"), "{host:?}");
}

#[test]
fn links_on_a_user_network_are_aliases_of_the_linking_container() {
    let Some((mut d, image)) = daemon() else {
        return;
    };
    let net = unique("lnet");
    d.docker(&["network", "create", &net]).ok();
    let target = unique("target");
    serve(
        &d,
        image,
        &["--name", &target, "--network", &net],
        80,
        "linked",
    );
    let linker = unique("linker");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &linker,
        "--network",
        &net,
        "--link",
        &format!("{target}:front"),
        image,
        "sleep",
        "300",
    ])
    .ok();
    // A name only: no variables, no hosts entry.
    let view = "env | grep -c ^FRONT_; grep -c front /etc/hosts; nc front 80 </dev/null";
    let check = |d: &Daemon| d.docker(&["exec", &linker, "sh", "-c", view]).stdout;
    let want = "0\n0\nlinked\n";
    assert_eq!(settled(want, || check(&d)), want);
    assert_eq!(inspect(&d, "{{json .HostConfig.Links}}", &linker), "null");
    let links = format!("{{{{json (index .NetworkSettings.Networks \"{net}\").Links}}}}");
    assert_eq!(
        inspect(&d, &links, &linker),
        format!("[\"{target}:front\"]")
    );
    // Nobody else knows the alias.
    let out = client(&d, image, &net, "nslookup front");
    assert_ne!(out.code, 0, "{out:?}");

    // Kept across a restart of the container and of berthd.
    d.docker(&["restart", "-t", "1", &linker]).ok();
    assert_eq!(check(&d), want);
    d.kill9();
    d.spawn();
    assert_eq!(check(&d), want);
}

/// Echoes every datagram of `sock` to its sender until none came for 30 s (a test thread).
fn udp_echo(sock: UdpSocket) {
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(&buf[..n], from);
        }
    });
}

/// What comes back for `payload` sent to `to` over UDP, a few tries with a timeout each.
fn udp_round_trip(to: SocketAddr, payload: &str) -> Option<String> {
    let sock = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 512];
    for _ in 0..3 {
        sock.send_to(payload.as_bytes(), to).unwrap();
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    None
}

#[test]
fn udp_on_the_ipv6_loopback_is_proxied() {
    let Some((mut d, image)) = daemon() else {
        return;
    };
    let (p1, p2) = (free_port(), free_port());
    let echo = unique("echo");
    d.docker(&[
        "run",
        "-d",
        "--name",
        &echo,
        "-p",
        &format!("[::1]:{p1}:5353/udp"),
        "-p",
        &format!("{p2}:5353/udp"),
        image,
        "sleep",
        "300",
    ])
    .ok();
    // busybox has no UDP server: the echo is a test socket in the container's namespace.
    udp_echo(udp_socket_in(
        &inspect(&d, "{{.NetworkSettings.SandboxKey}}", &echo),
        5353,
    ));
    assert_eq!(udp_round_trip(loopback6(p1), "one").as_deref(), Some("one"));
    assert_eq!(udp_round_trip(loopback6(p2), "two").as_deref(), Some("two"));

    // Back after a crash of berthd; gone with the container.
    d.kill9();
    d.spawn();
    assert_eq!(
        udp_round_trip(loopback6(p1), "again").as_deref(),
        Some("again")
    );
    d.docker(&["rm", "-f", &echo]).ok();
    UdpSocket::bind(loopback6(p1)).expect("the proxy's port is free after rm");
}

/// As dockerd: a container that is not running still lists its networks in inspect (without
/// addresses; the network id from its first start on), and on a user network its aliases
/// include its short id (API < 1.45). compose
/// 1.29 reads both right after a create; without them it reconnected every container and
/// failed with "already connected".
#[test]
fn created_and_exited_containers_show_their_networks_with_the_short_id_alias() {
    let Some((d, image)) = daemon() else { return };
    let net = unique("net");
    d.docker(&["network", "create", &net]).ok();
    let name = unique("created");
    let id = d
        .docker(&[
            "create",
            "--name",
            &name,
            "--network",
            &net,
            "--network-alias",
            "svc",
            image,
            "true",
        ])
        .ok()
        .text();
    let networks = |d: &Daemon| {
        inspect(
            d,
            "{{range $n, $e := .NetworkSettings.Networks}}{{$n}} {{$e.NetworkID}} {{$e.Aliases}} [{{$e.IPAddress}}];{{end}}",
            &name,
        )
    };
    // As given at create (no network id yet: dockerd stores the request's endpoint as it is).
    assert_eq!(networks(&d), format!("{net}  [svc {}] [];", &id[..12]));
    // Running, it has an address there; exited, the network is listed, with its id, without one.
    d.docker(&["start", "-a", &name]).ok();
    let want = format!("{net} {} [svc {}] [];", network_id(&d, &net), &id[..12]);
    assert_eq!(networks(&d), want);
    // The default bridge has no such aliases.
    let other = unique("bridged");
    d.docker(&["create", "--name", &other, image, "true"]).ok();
    assert_eq!(
        inspect(
            &d,
            "{{range $n, $e := .NetworkSettings.Networks}}{{$n}} {{$e.Aliases}};{{end}}",
            &other
        ),
        "bridge [];"
    );
}

/// As dockerd: a container's ports (inspect's `NetworkSettings.Ports`, the list's `Ports`) are
/// there only while it runs; created or exited, it shows none, not its exposed ports.
#[test]
fn ports_show_only_while_running() {
    let Some((d, image)) = daemon() else { return };
    let name = unique("ports");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    d.docker(&[
        "create", "--name", &name, "-p", &publish, "--expose", "81", image, "sleep", "100",
    ])
    .ok();
    let view = |d: &Daemon| {
        let ports = inspect(d, "{{json .NetworkSettings.Ports}}", &name);
        let filter = format!("name={name}");
        let ps = d
            .docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Ports}}"])
            .ok();
        format!("{ports} | {}", ps.text())
    };
    assert_eq!(view(&d), "{} | ");
    d.docker(&["start", &name]).ok();
    let running = view(&d);
    assert!(running.contains(r#""81/tcp":null"#), "{running}");
    assert!(
        running.contains(&format!("127.0.0.1:{port}->80/tcp")),
        "{running}"
    );
    d.docker(&["stop", "-t", "0", &name]).ok();
    assert_eq!(view(&d), "{} | ");
}

/// As dockerd: `network disconnect` of a container's own network and a `network connect` put
/// it back on a network (compose 1.29 does both on every container it creates when it misses
/// the short id among the aliases); one created with `--network none` stays refused.
#[test]
fn disconnect_then_connect_puts_a_container_back_on_its_network() {
    let Some((d, image)) = daemon() else { return };
    let net = unique("net");
    d.docker(&["network", "create", &net]).ok();
    for running in [false, true] {
        let name = unique("back");
        d.docker(&[
            "create",
            "--name",
            &name,
            "--network",
            &net,
            image,
            "sleep",
            "100",
        ])
        .ok();
        if running {
            d.docker(&["start", &name]).ok();
        }
        d.docker(&["network", "disconnect", &net, &name]).ok();
        let nets = "{{range $n, $e := .NetworkSettings.Networks}}{{$n}};{{end}}";
        assert_eq!(inspect(&d, nets, &name), "");
        d.docker(&["network", "connect", "--alias", "again", &net, &name])
            .ok();
        if !running {
            d.docker(&["start", &name]).ok();
        }
        let template = format!(
            "{{{{with index .NetworkSettings.Networks \"{net}\"}}}}{{{{.Aliases}}}} {{{{.IPAddress}}}}{{{{end}}}}"
        );
        let got = inspect(&d, &template, &name);
        assert!(got.starts_with("[again "), "{got}");
        assert!(!got.ends_with(' '), "no address: {got}");
    }
    let none = unique("none");
    d.docker(&[
        "create",
        "--name",
        &none,
        "--network",
        "none",
        image,
        "true",
    ])
    .ok();
    d.docker(&["network", "connect", &net, &none]).failed();
}
