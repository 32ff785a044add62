//! remotecommand and portforward through the HTTP entry points, with scripted SPDY and
//! WebSocket clients: what must hold without the Go client too, and the paths it does not
//! take (older protocol versions, clients without `requestID`, streams that never come, bad
//! headers, base64 channels).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use berth_k8s_streaming::spdy::{Frame, RstStatus};
use berth_k8s_streaming::{
    port_forward, remote_command, CommandIo, Outcome, PortForward, ServerConfig, StreamOptions,
    Upgrade,
};
use berth_testkit::spdy::Client;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

/// Exits 3 after writing "out" on stdout.
async fn exit_three(mut io: CommandIo) -> Outcome {
    if let Some(mut stdout) = io.stdout.take() {
        let _ = stdout.write_all(b"out").await;
    }
    Outcome::Exited(3)
}

/// stdin back on stdout, exit code 2.
async fn echo(mut io: CommandIo) -> Outcome {
    let mut input = Vec::new();
    if let Some(mut stdin) = io.stdin.take() {
        let _ = stdin.read_to_end(&mut input).await;
    }
    if let Some(mut stdout) = io.stdout.take() {
        let _ = stdout.write_all(&input).await;
    }
    Outcome::Exited(2)
}

/// Connects every port to an in-memory echo.
struct Echo;

impl PortForward for Echo {
    type Conn = DuplexStream;
    async fn connect(&self, port: u16) -> std::io::Result<DuplexStream> {
        if port == 1 {
            return Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        }
        let (ours, theirs) = tokio::io::duplex(4096);
        tokio::spawn(async move {
            let (mut r, mut w) = tokio::io::split(theirs);
            let _ = tokio::io::copy(&mut r, &mut w).await;
            let _ = w.shutdown().await;
        });
        Ok(ours)
    }
}

async fn route(req: Request<Incoming>) -> Upgrade {
    let config = ServerConfig {
        stream_creation_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let stdout_only = StreamOptions {
        stdout: true,
        ..StreamOptions::default()
    };
    match req.uri().path() {
        "/exec" => remote_command(req, stdout_only, exit_three, &config),
        "/exec/echo" => {
            let opts = StreamOptions {
                stdin: true,
                ..stdout_only
            };
            remote_command(req, opts, echo, &config)
        }
        "/portforward" => port_forward(req, Echo, &config),
        _ => common::not_found(),
    }
}

#[tokio::test]
async fn v2_gets_the_exit_as_text_on_the_error_stream() {
    let addr = common::server(route).await;
    let (mut client, head) = Client::connect(addr, "/exec", "v2.channel.k8s.io").await;
    assert!(
        head.contains("x-stream-protocol-version: v2.channel.k8s.io"),
        "{head}"
    );
    let error = client.open(&[("streamType", "error")], false).await;
    // A stream the request did not ask for is refused.
    let stdin = client.open(&[("streamType", "stdin")], false).await;
    assert_eq!(
        client.recv_on(stdin).await,
        Frame::RstStream {
            stream_id: stdin,
            status: RstStatus::RefusedStream
        }
    );
    let stdout = client.open(&[("streamType", "stdout")], false).await;
    assert_eq!(client.read_stream(stdout).await, b"out");
    assert_eq!(
        client.read_stream(error).await,
        b"command terminated with non-zero exit code: exit status 3"
    );
}

#[tokio::test]
async fn missing_streams_time_out_with_goaway() {
    let addr = common::server(route).await;
    let (mut client, _) = Client::connect(addr, "/exec", "v4.channel.k8s.io").await;
    client.open(&[("streamType", "error")], false).await;
    assert!(matches!(client.recv().await, Frame::GoAway { .. }));
}

#[tokio::test]
async fn port_forward_pairs_by_request_id_or_by_stream_id() {
    let addr = common::server(route).await;
    let (mut client, head) = Client::connect(addr, "/portforward", "portforward.k8s.io").await;
    assert!(
        head.contains("x-stream-protocol-version: portforward.k8s.io"),
        "{head}"
    );

    // With requestID, the data stream first.
    let data = client
        .open(
            &[("streamType", "data"), ("port", "80"), ("requestID", "7")],
            false,
        )
        .await;
    let error = client
        .open(
            &[("streamType", "error"), ("port", "80"), ("requestID", "7")],
            true,
        )
        .await;
    client
        .send(Frame::Data {
            stream_id: data,
            fin: true,
            data: Bytes::from_static(b"one"),
        })
        .await;
    assert_eq!(client.read_stream(data).await, b"one");
    assert_eq!(client.read_stream(error).await, b"");

    // Without requestID: the error stream, then the data stream with the next id.
    let error = client
        .open(&[("streamType", "error"), ("port", "80")], true)
        .await;
    let data = client
        .open(&[("streamType", "data"), ("port", "80")], false)
        .await;
    assert_eq!(data, error + 2);
    client
        .send(Frame::Data {
            stream_id: data,
            fin: true,
            data: Bytes::from_static(b"two"),
        })
        .await;
    assert_eq!(client.read_stream(data).await, b"two");
}

#[tokio::test]
async fn port_forward_errors_go_to_the_error_stream() {
    let addr = common::server(route).await;
    let (mut client, _) = Client::connect(addr, "/portforward", "portforward.k8s.io").await;
    for (port, id, message) in [
        ("1", "1", "error forwarding port 1: connection refused"),
        ("http", "2", "invalid port header \"http\""),
    ] {
        let error = client
            .open(
                &[("streamType", "error"), ("port", port), ("requestID", id)],
                true,
            )
            .await;
        client
            .open(
                &[("streamType", "data"), ("port", port), ("requestID", id)],
                false,
            )
            .await;
        let got = String::from_utf8(client.read_stream(error).await).expect("text");
        assert!(got.starts_with(message), "{got}");
    }
    // A pair that never completes.
    let error = client
        .open(
            &[("streamType", "error"), ("port", "80"), ("requestID", "3")],
            true,
        )
        .await;
    let got = String::from_utf8(client.read_stream(error).await).expect("text");
    assert_eq!(got, "timed out waiting for the other stream of request 3");
}

/// Messages from the server until its close, and the close code.
async fn ws_exec(
    addr: SocketAddr,
    path: &str,
    protocol: &str,
    send: Vec<Message>,
) -> (Vec<Message>, Option<CloseCode>) {
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        protocol.parse().expect("header value"),
    );
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut ws, response) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("handshake");
    assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
    for message in send {
        ws.send(message).await.expect("send");
    }
    let mut got = Vec::new();
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("valid");
        match message {
            Message::Close(frame) => return (got, frame.map(|f| f.code)),
            other => got.push(other),
        }
    }
}

#[tokio::test]
async fn websocket_v5_closes_stdin_by_message_and_ends_with_a_normal_close() {
    let addr = common::server(route).await;
    let (got, code) = ws_exec(
        addr,
        "/exec/echo",
        "v5.channel.k8s.io",
        vec![
            Message::Binary(Bytes::from_static(b"\x00abc")),
            Message::Binary(Bytes::from_static(b"\xff\x00")),
        ],
    )
    .await;
    let status = br#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 2","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"2"}]}}"#;
    let expected = vec![
        Message::Binary(Bytes::from_static(b"\x01")),
        Message::Binary(Bytes::from_static(b"\x01abc")),
        Message::Binary(Bytes::from([b"\x03".as_slice(), status].concat())),
    ];
    assert_eq!(got, expected);
    assert_eq!(code, Some(CloseCode::Normal));
}

#[tokio::test]
async fn websocket_base64_channels_are_text() {
    let addr = common::server(route).await;
    let (got, code) = ws_exec(addr, "/exec", "v4.base64.channel.k8s.io", vec![]).await;
    assert_eq!(got[0], Message::Text("1".into()));
    assert_eq!(got[1], Message::Text("1b3V0".into()), "base64 of \"out\"");
    let Message::Text(status) = &got[2] else {
        panic!("not text: {got:?}");
    };
    assert!(status.starts_with('3'), "{status}");
    assert_eq!(got.len(), 3);
    assert_eq!(code, Some(CloseCode::Normal));
}
