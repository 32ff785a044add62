//! ExecSync, Exec, Attach and PortForward through the CRI and the streaming server, with the
//! scripted SPDY client of berth-testkit. PortForward reaches a listener the test opens in a
//! pod's network namespace; ExecSync, Exec and Attach run in a pod's busybox container.

mod cri;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use berth_testkit::spdy::{split_url, Client as Spdy, Frame};
use berth_testkit::{free_port, skip_unless, unique, Client, Daemon};
use bytes::Bytes;
use cri::*;

/// A listener on the loopback of the network namespace at `netns` (a pod's), made by a thread
/// that joined it (the socket keeps it); it answers each connection's bytes with `pong:` and them, then
/// closes.
fn listen_in_netns(netns: &Path) -> u16 {
    let netns = netns.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ns = std::fs::File::open(&netns).unwrap_or_else(|e| panic!("{}: {e}", netns.display()));
        // SAFETY: setns on a namespace fd we own, on this test thread only (it ends with the
        // listener).
        let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        tx.send(port).unwrap_or_else(|e| panic!("{e}"));
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut got = Vec::new();
            let _ = conn.read_to_end(&mut got);
            let _ = conn.write_all(&[b"pong:".as_slice(), &got].concat());
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("listener in the pod: {e}"))
}

/// The status line a plain (not upgrading) request to `url` gets.
fn status_line(url: &str) -> String {
    let (addr, path) = split_url(url);
    let mut tcp = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

/// Forwards one connection to `port` over `session`: sends `data` and half-closes, returns
/// what came back on the data stream and on the error stream.
async fn forward_once(
    session: &mut Spdy,
    port: u16,
    request_id: &str,
    data: &[u8],
) -> (Vec<u8>, String) {
    let port = port.to_string();
    let headers = |kind| {
        [
            ("streamType", kind),
            ("port", port.as_str()),
            ("requestID", request_id),
        ]
    };
    let error = session.open(&headers("error"), true).await;
    let stream = session.open(&headers("data"), false).await;
    session
        .send(Frame::Data {
            stream_id: stream,
            fin: true,
            data: Bytes::copy_from_slice(data),
        })
        .await;
    let back = session.read_stream(stream).await;
    let error =
        String::from_utf8(session.read_stream(error).await).unwrap_or_else(|e| panic!("{e}"));
    (back, error)
}

async fn port_forward(c: &mut Cri, pod: &str) -> Result<String, Status> {
    c.runtime
        .port_forward(PortForwardRequest {
            pod_sandbox_id: pod.into(),
            port: Vec::new(),
        })
        .await
        .map(|r| r.into_inner().url)
}

#[tokio::test]
async fn port_forward_reaches_localhost_in_the_pods_network_namespace() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _pods = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let (id, _) = run_ready(&mut c, &d, &pod_config(&net, free_port())).await;
    let port = listen_in_netns(&netns_path(&d, &id));

    let url = port_forward(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (addr, path) = split_url(&url);
    let (mut session, _) = Spdy::connect(addr, &path, "portforward.k8s.io").await;
    let (back, error) = forward_once(&mut session, port, "0", b"ping").await;
    assert_eq!(back, b"pong:ping");
    assert_eq!(error, "");
    // Two connections on one session, as `kubectl port-forward` makes them.
    let (back, _) = forward_once(&mut session, port, "1", b"again").await;
    assert_eq!(back, b"pong:again");
    // Nothing listens there in the pod (the port is the host's free one): the error stream
    // says so.
    let (back, error) = forward_once(&mut session, free_port(), "2", b"x").await;
    assert!(back.is_empty(), "{back:?}");
    assert!(error.contains("error forwarding port"), "{error}");
    assert!(
        error.contains("Connection refused") || error.contains("connection refused"),
        "{error}"
    );

    // A URL is good once.
    assert!(status_line(&url).contains(" 404 "), "{}", status_line(&url));
    let made = Instant::now();
    let fresh = port_forward(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(fresh, url);
    assert!(made.elapsed() < Duration::from_secs(5));
    assert!(status_line(&fresh.replace("/portforward/", "/exec/")).contains(" 404 "));

    // A pod that is not ready forwards nothing; one that does not exist is NotFound.
    stop(&mut c, &id).await;
    assert_code(
        port_forward(&mut c, &id).await,
        Code::FailedPrecondition,
        "not ready",
    );
    assert_code(
        port_forward(&mut c, &unique("nopod")).await,
        Code::NotFound,
        "",
    );
}

#[tokio::test]
async fn port_forward_of_a_host_network_pod_reaches_the_hosts_localhost() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _pods = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let mut config = pod_config(&net, free_port());
    if let Some(linux) = config.linux.as_mut() {
        linux.security_context = Some(LinuxSandboxSecurityContext {
            namespace_options: Some(NamespaceOption {
                network: NamespaceMode::Node.into(),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let (id, _) = run_ready(&mut c, &d, &config).await;
    let port = listen_in_netns(Path::new("/proc/self/ns/net"));
    let url = port_forward(&mut c, &id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (addr, path) = split_url(&url);
    let (mut session, _) = Spdy::connect(addr, &path, "portforward.k8s.io").await;
    let (back, error) = forward_once(&mut session, port, "0", b"host").await;
    assert_eq!(
        (back.as_slice(), error.as_str()),
        (b"pong:host".as_slice(), "")
    );
}

#[tokio::test]
async fn streaming_rpcs_refuse_unknown_containers_and_bad_streams() {
    if skip_unless(Client::Berth) {
        return;
    }
    let d = Daemon::start_for(Client::Berth);
    let mut c = connect(&d.cri_socket).await;
    let missing = unique("nocontainer");
    assert_code(
        c.runtime
            .exec_sync(ExecSyncRequest {
                container_id: missing.clone(),
                cmd: vec!["true".into()],
                timeout: 0,
            })
            .await,
        Code::NotFound,
        &missing,
    );
    let exec = |cmd: &[&str], stdin, stdout, stderr, tty| ExecRequest {
        container_id: missing.clone(),
        cmd: cmd.iter().map(|s| s.to_string()).collect(),
        tty,
        stdin,
        stdout,
        stderr,
    };
    assert_code(
        c.runtime
            .exec(exec(&["sh"], true, true, false, false))
            .await,
        Code::NotFound,
        &missing,
    );
    assert_code(
        c.runtime
            .attach(AttachRequest {
                container_id: missing.clone(),
                stdin: true,
                tty: false,
                stdout: true,
                stderr: false,
            })
            .await,
        Code::NotFound,
        &missing,
    );
}

/// The streaming server is off with an empty address: the RPCs say so.
#[tokio::test]
async fn without_a_streaming_server_port_forward_is_unavailable() {
    if skip_unless(Client::Berth) {
        return;
    }
    let d = Daemon::start_with_args(
        Client::Berth,
        vec!["--cri-stream-address".into(), "".into()],
    );
    let mut c = connect(&d.cri_socket).await;
    assert_code(
        port_forward(&mut c, &unique("pod")).await,
        Code::Unavailable,
        "--cri-stream-address",
    );
}

// ---- Exec in a pod's container. ----

/// A running pod container of busybox with `cmd`, its working directory `/tmp` and
/// `FOO=bar` in its environment; panics when the CRI cannot make one.
async fn run_container(
    c: &mut Cri,
    d: &Daemon,
    pod: &str,
    config: &PodSandboxConfig,
    cmd: &[&str],
    stdin: bool,
    tty: bool,
) -> String {
    let image = d.busybox();
    let created = c
        .runtime
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.into(),
            config: Some(ContainerConfig {
                metadata: Some(ContainerMetadata {
                    name: unique("c"),
                    attempt: 0,
                }),
                image: spec(image),
                command: cmd.iter().map(|s| s.to_string()).collect(),
                working_dir: "/tmp".into(),
                envs: vec![KeyValue {
                    key: "FOO".into(),
                    value: "bar".into(),
                }],
                stdin,
                tty,
                ..Default::default()
            }),
            sandbox_config: Some(config.clone()),
        })
        .await
        .unwrap_or_else(|e| panic!("CreateContainer: {e}\n{}", d.log()))
        .into_inner()
        .container_id;
    c.runtime
        .start_container(StartContainerRequest {
            container_id: created.clone(),
        })
        .await
        .unwrap_or_else(|e| panic!("StartContainer: {e}\n{}", d.log()));
    created
}

#[tokio::test]
async fn exec_sync_keeps_outputs_apart_and_times_out() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _pods = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let config = pod_config(&net, free_port());
    let (pod, _) = run_ready(&mut c, &d, &config).await;
    let id = run_container(&mut c, &d, &pod, &config, &["sleep", "600"], false, false).await;

    let out = exec_sync(
        &mut c,
        &id,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
        0,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice(), out.exit_code),
        (b"out\n".as_slice(), b"err\n".as_slice(), 3)
    );
    // The container's process spec: its working directory and environment.
    let out = exec_sync(&mut c, &id, &["sh", "-c", "pwd; echo $FOO"], 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.stdout, b"/tmp\nbar\n");

    let started = Instant::now();
    assert_code(
        exec_sync(&mut c, &id, &["sleep", "31"], 1).await,
        Code::DeadlineExceeded,
        "timeout 1s exceeded",
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    // The timed-out process was killed.
    let mut killed = false;
    for _ in 0..50 {
        let ps = exec_sync(&mut c, &id, &["ps", "-o", "args"], 10).await;
        if ps.is_ok_and(|r| !String::from_utf8_lossy(&r.stdout).contains("sleep 31")) {
            killed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(killed, "the timed-out exec is still running");
}

#[tokio::test]
async fn exec_sync_output_is_capped_at_16_mib_per_stream() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _pods = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let config = pod_config(&net, free_port());
    let (pod, _) = run_ready(&mut c, &d, &config).await;
    let id = run_container(&mut c, &d, &pod, &config, &["sleep", "600"], false, false).await;
    // 16 MiB of each output at most, as containerd; the client must accept a large answer.
    c.runtime = c.runtime.clone().max_decoding_message_size(64 << 20);
    let out = exec_sync(
        &mut c,
        &id,
        &[
            "sh",
            "-c",
            "head -c 17000000 /dev/zero; head -c 10 /dev/zero >&2",
        ],
        60,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (out.stdout.len(), out.stderr.len(), out.exit_code),
        (16 << 20, 10, 0)
    );
}

#[tokio::test]
async fn exec_streams_stdin_stdout_stderr_and_the_exit_code() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _pods = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let config = pod_config(&net, free_port());
    let (pod, _) = run_ready(&mut c, &d, &config).await;
    let id = run_container(&mut c, &d, &pod, &config, &["sleep", "600"], false, false).await;

    assert_code(
        c.runtime
            .exec(ExecRequest {
                container_id: id.clone(),
                cmd: vec!["sh".into()],
                tty: true,
                stdin: false,
                stdout: true,
                stderr: true,
            })
            .await,
        Code::InvalidArgument,
        "tty and stderr cannot both be true",
    );
    let url = c
        .runtime
        .exec(ExecRequest {
            container_id: id.clone(),
            cmd: ["sh", "-c", "cat; echo err >&2; exit 5"]
                .map(String::from)
                .to_vec(),
            tty: false,
            stdin: true,
            stdout: true,
            stderr: true,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .url;
    let (addr, path) = split_url(&url);
    let (mut s, _) = Spdy::connect(addr, &path, "v4.channel.k8s.io").await;
    let error = s.open(&[("streamType", "error")], false).await;
    let stdin = s.open(&[("streamType", "stdin")], false).await;
    let stdout = s.open(&[("streamType", "stdout")], false).await;
    let stderr = s.open(&[("streamType", "stderr")], false).await;
    s.send(Frame::Data {
        stream_id: stdin,
        fin: true,
        data: Bytes::from_static(b"hello"),
    })
    .await;
    assert_eq!(s.read_stream(stdout).await, b"hello");
    assert_eq!(s.read_stream(stderr).await, b"err\n");
    let status = String::from_utf8(s.read_stream(error).await).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.contains("NonZeroExitCode") && status.contains("\"5\""),
        "{status}"
    );
}

#[tokio::test]
async fn exec_and_attach_refuse_a_container_that_is_not_running() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _pods = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let config = pod_config(&net, free_port());
    let (pod, _) = run_ready(&mut c, &d, &config).await;
    let id = run_container(&mut c, &d, &pod, &config, &["true"], false, false).await;
    let mut exited = false;
    for _ in 0..50 {
        let r = exec_sync(&mut c, &id, &["true"], 0).await;
        if r.is_err_and(|e| e.code() == Code::FailedPrecondition) {
            exited = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        exited,
        "ExecSync on an exited container is not FailedPrecondition"
    );
    assert_code(
        exec_sync(&mut c, &id, &["true"], 0).await,
        Code::FailedPrecondition,
        "CONTAINER_EXITED",
    );
    assert_code(
        c.runtime
            .attach(AttachRequest {
                container_id: id.clone(),
                stdin: false,
                tty: false,
                stdout: true,
                stderr: true,
            })
            .await,
        Code::FailedPrecondition,
        "CONTAINER_EXITED",
    );
}

#[tokio::test]
async fn attach_streams_the_containers_own_process() {
    let Some((d, net)) = daemon("bridge", None) else {
        return;
    };
    let _pods = RemovePods(d.cri_socket.clone());
    let mut c = connect(&d.cri_socket).await;
    let config = pod_config(&net, free_port());
    let (pod, _) = run_ready(&mut c, &d, &config).await;
    let id = run_container(&mut c, &d, &pod, &config, &["cat"], true, false).await;
    let url = c
        .runtime
        .attach(AttachRequest {
            container_id: id.clone(),
            stdin: true,
            tty: false,
            stdout: true,
            stderr: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_inner()
        .url;
    assert!(url.contains("/attach/"), "{url}");
    let (addr, path) = split_url(&url);
    let (mut s, _) = Spdy::connect(addr, &path, "v4.channel.k8s.io").await;
    s.open(&[("streamType", "error")], false).await;
    let stdin = s.open(&[("streamType", "stdin")], false).await;
    let stdout = s.open(&[("streamType", "stdout")], false).await;
    s.send(Frame::Data {
        stream_id: stdin,
        fin: false,
        data: Bytes::from_static(b"through cat\n"),
    })
    .await;
    let mut echoed = Vec::new();
    while echoed.len() < b"through cat\n".len() {
        match s.recv_on(stdout).await {
            Frame::Data { data, .. } => echoed.extend_from_slice(&data),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(echoed, b"through cat\n");
}
