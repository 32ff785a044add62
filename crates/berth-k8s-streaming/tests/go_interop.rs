//! Interop with the Go client code that crictl, critest and the kubelet's callers use
//! (client-go remotecommand and portforward over moby/spdystream and gorilla/websocket):
//! a hyper server with this crate's entry points on a loopback port, driven by a small Go
//! program built from the vendored cri-tools snapshot (scripts/build-go-streaming-client.sh).
//!
//! Without a Go toolchain (and no way to install one) these tests fail, unless
//! BERTH_SKIP_GO_INTEROP is set, in which case they are skipped with a note.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use berth_k8s_streaming::{
    port_forward, remote_command, CommandIo, Outcome, PortForward, ServerConfig, StreamOptions,
    Upgrade,
};
use hyper::body::Incoming;
use hyper::Request;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The client binary, built once per test run (or `None`: skipped).
fn go_client() -> Option<PathBuf> {
    static CLIENT: OnceLock<Result<PathBuf, (bool, String)>> = OnceLock::new();
    let built = CLIENT.get_or_init(|| {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../scripts/build-go-streaming-client.sh");
        let output = Command::new("bash")
            .arg(&script)
            .output()
            .map_err(|e| (false, format!("running {}: {e}", script.display())))?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        match output.status.code() {
            Some(0) => Ok(PathBuf::from(
                String::from_utf8_lossy(&output.stdout).trim(),
            )),
            Some(3) => Err((true, stderr)),
            _ => Err((false, stderr)),
        }
    });
    match built {
        Ok(path) => Some(path.clone()),
        Err((true, why)) if std::env::var_os("BERTH_SKIP_GO_INTEROP").is_some() => {
            eprintln!("skipped: no Go toolchain for the interop client ({why})");
            None
        }
        Err((_, why)) => panic!(
            "building the Go interop client failed (set BERTH_SKIP_GO_INTEROP to skip when no Go toolchain can be had):\n{why}"
        ),
    }
}

#[derive(Debug, Deserialize, PartialEq)]
struct ExecResult {
    stdout: String,
    stderr: String,
    exit_code: i32,
    error: String,
}

#[derive(Debug, Deserialize)]
struct ForwardResult {
    echoes: Vec<String>,
    /// Not in the JSON: the forwarder logs errors through klog, on stderr.
    #[serde(skip)]
    log: String,
}

/// The client's stdout (its JSON) and stderr.
async fn run_client(client: &PathBuf, args: &[&str]) -> (Vec<u8>, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(client)
            .args(args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the Go client finished in time")
    .expect("the Go client ran");
    assert!(
        output.status.success(),
        "Go client {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.stdout, log)
}

async fn exec(client: &PathBuf, url: &str, args: &[&str]) -> ExecResult {
    let mut all = vec!["exec", "-url", url];
    all.extend_from_slice(args);
    serde_json::from_slice(&run_client(client, &all).await.0).expect("exec JSON")
}

async fn forward(client: &PathBuf, url: &str, args: &[&str]) -> ForwardResult {
    let mut all = vec!["portforward", "-url", url];
    all.extend_from_slice(args);
    let (json, log) = run_client(client, &all).await;
    let mut result: ForwardResult = serde_json::from_slice(&json).expect("port-forward JSON");
    result.log = log;
    result
}

/// stdin back on stdout, its length on stderr, exit code 3.
async fn echo(mut io: CommandIo) -> Outcome {
    let mut input = Vec::new();
    if let Some(mut stdin) = io.stdin.take() {
        let _ = stdin.read_to_end(&mut input).await;
    }
    if let Some(mut stdout) = io.stdout.take() {
        let _ = stdout.write_all(&input).await;
    }
    if let Some(mut stderr) = io.stderr.take() {
        let _ = stderr
            .write_all(format!("{} bytes\n", input.len()).as_bytes())
            .await;
    }
    Outcome::Exited(3)
}

/// Reads a large stdin, writes 1 MiB to stdout.
async fn big(mut io: CommandIo) -> Outcome {
    let mut count = 0usize;
    if let Some(mut stdin) = io.stdin.take() {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = stdin.read(&mut buf).await {
            if n == 0 {
                break;
            }
            count += n;
        }
    }
    if let Some(mut stdout) = io.stdout.take() {
        let _ = stdout.write_all(&vec![b'x'; 1 << 20]).await;
    }
    if let Some(mut stderr) = io.stderr.take() {
        let _ = stderr
            .write_all(format!("{count} bytes\n").as_bytes())
            .await;
    }
    Outcome::Exited(0)
}

/// Reports two terminal sizes, then echoes stdin.
async fn tty(mut io: CommandIo) -> Outcome {
    let Some(mut stdout) = io.stdout.take() else {
        return Outcome::Failed("no stdout".into());
    };
    let Some(mut resize) = io.resize.take() else {
        return Outcome::Failed("no resize channel".into());
    };
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(10), resize.recv()).await {
            Ok(Some(size)) => {
                let line = format!("{}x{}\n", size.width, size.height);
                let _ = stdout.write_all(line.as_bytes()).await;
            }
            _ => return Outcome::Failed("no resize event".into()),
        }
    }
    let mut input = Vec::new();
    if let Some(mut stdin) = io.stdin.take() {
        let _ = stdin.read_to_end(&mut input).await;
    }
    let _ = stdout.write_all(&input).await;
    Outcome::Exited(0)
}

struct Loopback;

impl PortForward for Loopback {
    type Conn = TcpStream;
    async fn connect(&self, port: u16) -> std::io::Result<TcpStream> {
        TcpStream::connect(("127.0.0.1", port)).await
    }
}

fn opts(stdin: bool, stdout: bool, stderr: bool, tty: bool) -> StreamOptions {
    StreamOptions {
        stdin,
        stdout,
        stderr,
        tty,
    }
}

async fn route(req: Request<Incoming>) -> Upgrade {
    let config = ServerConfig {
        stream_creation_timeout: Duration::from_secs(10),
        ..ServerConfig::default()
    };
    match req.uri().path() {
        "/exec/echo" => remote_command(req, opts(true, true, true, false), echo, &config),
        "/exec/big" => remote_command(req, opts(true, true, true, false), big, &config),
        "/exec/tty" => remote_command(req, opts(true, true, false, true), tty, &config),
        "/exec/fail" => remote_command(
            req,
            opts(false, true, true, false),
            |_io| async { Outcome::Failed("no such container".into()) },
            &config,
        ),
        "/portforward/loopback" => port_forward(req, Loopback, &config),
        _ => common::not_found(),
    }
}

/// A streaming server on a loopback port; returns its base URL.
async fn server() -> String {
    format!("http://{}", common::server(route).await)
}

/// A TCP echo server on a loopback port.
async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    port
}

const TRANSPORTS: [&str; 2] = ["spdy", "websocket"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_carries_stdin_stdout_stderr_and_the_exit_code() {
    let Some(client) = go_client() else { return };
    let base = server().await;
    for transport in TRANSPORTS {
        let url = format!("{base}/exec/echo");
        let got = exec(&client, &url, &["-transport", transport, "-stdin", "hello"]).await;
        assert_eq!(
            got,
            ExecResult {
                stdout: "hello".into(),
                stderr: "5 bytes\n".into(),
                exit_code: 3,
                error: String::new(),
            },
            "{transport}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_moves_megabytes_both_ways() {
    let Some(client) = go_client() else { return };
    let base = server().await;
    for transport in TRANSPORTS {
        let url = format!("{base}/exec/big");
        let got = exec(
            &client,
            &url,
            &["-transport", transport, "-stdin-size", "3145728"],
        )
        .await;
        assert_eq!(got.error, "", "{transport}");
        assert_eq!(got.exit_code, 0, "{transport}");
        assert_eq!(got.stderr, "3145728 bytes\n", "{transport}");
        assert_eq!(got.stdout.len(), 1 << 20, "{transport}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_gets_resize_events() {
    let Some(client) = go_client() else { return };
    let base = server().await;
    for transport in TRANSPORTS {
        let url = format!("{base}/exec/tty");
        let got = exec(
            &client,
            &url,
            &[
                "-transport",
                transport,
                "-tty",
                "-resize",
                "80x24,100x40",
                "-stdin",
                "typed",
            ],
        )
        .await;
        assert_eq!(got.error, "", "{transport}");
        assert_eq!(got.stdout, "80x24\n100x40\ntyped", "{transport}");
        assert_eq!(got.exit_code, 0, "{transport}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reaches_the_client_as_an_internal_error() {
    let Some(client) = go_client() else { return };
    let base = server().await;
    for transport in TRANSPORTS {
        let url = format!("{base}/exec/fail");
        let got = exec(&client, &url, &["-transport", transport, "-no-stdin"]).await;
        assert_eq!(
            got.error, "Internal error occurred: no such container",
            "{transport}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_forward_reaches_a_tcp_port_and_reports_refusals() {
    let Some(client) = go_client() else { return };
    let base = server().await;
    let echo_port = echo_server().await;
    // A port nothing listens on.
    let closed_port = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("addr").port()
    };
    for transport in TRANSPORTS {
        let url = format!("{base}/portforward/loopback");
        let port = echo_port.to_string();
        let got = forward(
            &client,
            &url,
            &["-transport", transport, "-port", &port, "-connections", "3"],
        )
        .await;
        assert_eq!(got.echoes, ["ping 0", "ping 1", "ping 2"], "{transport}");
        assert!(!got.log.contains("error"), "{transport}: {}", got.log);

        let port = closed_port.to_string();
        let got = forward(&client, &url, &["-transport", transport, "-port", &port]).await;
        assert_eq!(got.echoes, [""], "{transport}");
        assert!(
            got.log
                .contains(&format!("error forwarding port {closed_port}")),
            "{transport}: {}",
            got.log
        );
    }
}
