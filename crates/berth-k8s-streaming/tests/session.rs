//! The SPDY server session against a scripted client over an in-memory pipe.

use std::time::Duration;

use berth_k8s_streaming::spdy::frame::{FrameDecoder, FrameEncoder};
use berth_k8s_streaming::spdy::{
    Frame, GoAwayStatus, Headers, RstStatus, Session, SessionConfig, SessionError, StreamError,
    StreamReader,
};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{DuplexStream, ReadHalf, WriteHalf};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};

const WAIT: Duration = Duration::from_secs(5);

struct Client {
    rx: FramedRead<ReadHalf<DuplexStream>, FrameDecoder>,
    tx: FramedWrite<WriteHalf<DuplexStream>, FrameEncoder>,
}

impl Client {
    async fn send(&mut self, frame: Frame) {
        self.tx.send(frame).await.expect("client send");
    }

    async fn recv(&mut self) -> Frame {
        tokio::time::timeout(WAIT, self.rx.next())
            .await
            .expect("a frame in time")
            .expect("connection open")
            .expect("a valid frame")
    }

    /// The next frame that is not a WINDOW_UPDATE.
    async fn recv_skipping_updates(&mut self) -> Frame {
        loop {
            match self.recv().await {
                Frame::WindowUpdate { .. } => continue,
                other => return other,
            }
        }
    }

    async fn open(&mut self, id: u32, stream_type: &str) {
        let headers: Headers = [("streamType", stream_type)].into_iter().collect();
        self.send(Frame::SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            fin: false,
            unidirectional: false,
            headers,
        })
        .await;
    }

    async fn data(&mut self, id: u32, data: &[u8], fin: bool) {
        self.send(Frame::Data {
            stream_id: id,
            fin,
            data: Bytes::copy_from_slice(data),
        })
        .await;
    }
}

fn start(config: SessionConfig) -> (Client, Session, JoinHandle<Result<(), SessionError>>) {
    start_with_pipe(config, 1 << 20)
}

fn start_with_pipe(
    config: SessionConfig,
    pipe: usize,
) -> (Client, Session, JoinHandle<Result<(), SessionError>>) {
    let (client_io, server_io) = tokio::io::duplex(pipe);
    let (session, driver) = Session::new(server_io, config).expect("session");
    let driver = tokio::spawn(driver);
    let (r, w) = tokio::io::split(client_io);
    let client = Client {
        rx: FramedRead::new(r, FrameDecoder::new()),
        tx: FramedWrite::new(w, FrameEncoder::new().expect("encoder")),
    };
    (client, session, driver)
}

async fn read_all(reader: &mut StreamReader) -> Vec<u8> {
    let mut all = Vec::new();
    while let Some(chunk) = reader.read().await.expect("read") {
        all.extend_from_slice(&chunk);
    }
    all
}

async fn accept(session: &mut Session) -> berth_k8s_streaming::spdy::Stream {
    tokio::time::timeout(WAIT, session.accept())
        .await
        .expect("a stream in time")
        .expect("a stream")
}

#[tokio::test]
async fn streams_are_replied_and_carry_data_both_ways_with_half_close() {
    let (mut client, mut session, driver) = start(SessionConfig::default());
    client.open(1, "stdin").await;
    let stream = accept(&mut session).await;
    assert_eq!(stream.id(), 1);
    assert_eq!(stream.headers().get("streamtype"), Some("stdin"));
    assert_eq!(
        client.recv().await,
        Frame::SynReply {
            stream_id: 1,
            fin: false,
            headers: Headers::new()
        }
    );

    client.data(1, b"hello ", false).await;
    client.data(1, b"world", true).await;
    let (mut reader, writer) = stream.split();
    assert_eq!(read_all(&mut reader).await, b"hello world");
    assert_eq!(reader.read().await, Ok(None), "EOF stays EOF");

    // Our half is still open after theirs closed.
    writer
        .write(Bytes::from_static(b"back"))
        .await
        .expect("write");
    writer.close().await.expect("close");
    assert_eq!(
        client.recv().await,
        Frame::Data {
            stream_id: 1,
            fin: false,
            data: Bytes::from_static(b"back")
        }
    );
    assert_eq!(
        client.recv().await,
        Frame::Data {
            stream_id: 1,
            fin: true,
            data: Bytes::new()
        }
    );
    assert!(matches!(
        writer.write(Bytes::from_static(b"late")).await,
        Err(StreamError::LocalClosed { id: 1 })
    ));

    session.close().await;
    assert_eq!(
        client.recv().await,
        Frame::GoAway {
            last_good_stream_id: 1,
            status: GoAwayStatus::Ok
        }
    );
    drop(client);
    driver.await.expect("join").expect("clean end");
}

#[tokio::test]
async fn pings_from_the_client_are_echoed() {
    let (mut client, _session, _driver) = start(SessionConfig::default());
    client.send(Frame::Ping { id: 7 }).await;
    assert_eq!(client.recv().await, Frame::Ping { id: 7 });
    // An even id would answer a ping of ours: not echoed (the next frame is the reply to 1).
    client.send(Frame::Ping { id: 8 }).await;
    client.open(1, "error").await;
    assert!(matches!(
        client.recv().await,
        Frame::SynReply { stream_id: 1, .. }
    ));
}

#[tokio::test]
async fn consumed_data_is_acknowledged_with_window_updates() {
    let (mut client, mut session, _driver) = start(SessionConfig::default());
    client.open(1, "stdin").await;
    let (mut reader, _writer) = accept(&mut session).await.split();
    client.recv().await; // SYN_REPLY
    client.data(1, &[0u8; 40_000], false).await;
    let got = reader.read().await.expect("read").expect("data");
    assert_eq!(got.len(), 40_000);
    let mut updates = vec![client.recv().await, client.recv().await];
    updates.sort_by_key(|f| match f {
        Frame::WindowUpdate { stream_id, .. } => *stream_id,
        _ => u32::MAX,
    });
    assert_eq!(
        updates,
        vec![
            Frame::WindowUpdate {
                stream_id: 0,
                delta: 40_000
            },
            Frame::WindowUpdate {
                stream_id: 1,
                delta: 40_000
            },
        ]
    );
}

#[tokio::test]
async fn without_enforcement_sends_ignore_the_peer_window_as_spdystream_does() {
    let (mut client, mut session, _driver) = start(SessionConfig::default());
    client.open(1, "stdout").await;
    let (_reader, writer) = accept(&mut session).await.split();
    client.recv().await;
    let payload = Bytes::from(vec![7u8; 200 * 1024]);
    tokio::time::timeout(WAIT, writer.write(payload))
        .await
        .expect("no stall without WINDOW_UPDATE")
        .expect("write");
    let mut total = 0;
    while total < 200 * 1024 {
        match client.recv().await {
            Frame::Data { data, .. } => {
                assert!(data.len() <= 32 * 1024);
                total += data.len();
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn enforced_flow_control_holds_sends_to_the_peer_window() {
    let config = SessionConfig {
        enforce_flow_control: true,
        ..SessionConfig::default()
    };
    let (mut client, mut session, _driver) = start(config);
    client.open(1, "stdout").await;
    let (_reader, writer) = accept(&mut session).await.split();
    client.recv().await;
    let write = tokio::spawn(async move {
        writer
            .write(Bytes::from(vec![1u8; 100 * 1024]))
            .await
            .map(|_| writer)
    });
    let mut total = 0;
    while total < 64 * 1024 {
        match client.recv().await {
            Frame::Data { data, .. } => total += data.len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(total, 64 * 1024, "exactly one window");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), client.rx.next())
            .await
            .is_err(),
        "nothing more before WINDOW_UPDATE"
    );
    // The stream window alone is not enough: the session window is exhausted too.
    client
        .send(Frame::WindowUpdate {
            stream_id: 1,
            delta: 64 * 1024,
        })
        .await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), client.rx.next())
            .await
            .is_err()
    );
    client
        .send(Frame::WindowUpdate {
            stream_id: 0,
            delta: 64 * 1024,
        })
        .await;
    while total < 100 * 1024 {
        match client.recv().await {
            Frame::Data { data, .. } => total += data.len(),
            other => panic!("unexpected {other:?}"),
        }
    }
    tokio::time::timeout(WAIT, write)
        .await
        .expect("write done")
        .expect("join")
        .expect("write");
}

#[tokio::test]
async fn enforced_flow_control_resets_a_stream_that_overruns_our_window() {
    let config = SessionConfig {
        enforce_flow_control: true,
        ..SessionConfig::default()
    };
    let (mut client, mut session, _driver) = start(config);
    client.open(1, "stdin").await;
    let (mut reader, _writer) = accept(&mut session).await.split();
    client.recv().await;
    client.data(1, &[0u8; 65536], false).await;
    client.data(1, b"x", false).await;
    assert_eq!(
        client.recv_skipping_updates().await,
        Frame::RstStream {
            stream_id: 1,
            status: RstStatus::FlowControlError
        }
    );
    assert_eq!(
        reader
            .read()
            .await
            .expect("the window's worth")
            .map(|b| b.len()),
        Some(65536)
    );
}

#[tokio::test]
async fn a_reset_from_the_client_reaches_both_halves() {
    let (mut client, mut session, _driver) = start(SessionConfig::default());
    client.open(1, "stdin").await;
    let (mut reader, writer) = accept(&mut session).await.split();
    client.recv().await;
    client
        .send(Frame::RstStream {
            stream_id: 1,
            status: RstStatus::Cancel,
        })
        .await;
    let reset = StreamError::Reset {
        id: 1,
        status: RstStatus::Cancel,
    };
    assert_eq!(reader.read().await, Err(reset.clone()));
    assert_eq!(writer.write(Bytes::from_static(b"x")).await, Err(reset));
    // Data for the forgotten stream is answered, not crashed on.
    client.data(1, b"late", false).await;
    assert_eq!(
        client.recv().await,
        Frame::RstStream {
            stream_id: 1,
            status: RstStatus::InvalidStream
        }
    );
}

#[tokio::test]
async fn streams_past_the_limit_are_refused() {
    let config = SessionConfig {
        max_streams: 2,
        ..SessionConfig::default()
    };
    let (mut client, mut session, _driver) = start(config);
    for id in [1, 3, 5] {
        client.open(id, "data").await;
    }
    let _a = accept(&mut session).await;
    let _b = accept(&mut session).await;
    let mut frames = vec![
        client.recv().await,
        client.recv().await,
        client.recv().await,
    ];
    frames.retain(|f| matches!(f, Frame::RstStream { .. }));
    assert_eq!(
        frames,
        vec![Frame::RstStream {
            stream_id: 5,
            status: RstStatus::RefusedStream
        }]
    );
}

#[tokio::test]
async fn a_window_update_past_two_to_the_31_resets_the_stream() {
    let (mut client, mut session, _driver) = start(SessionConfig {
        enforce_flow_control: true,
        ..SessionConfig::default()
    });
    client.open(1, "data").await;
    let (_reader, writer) = accept(&mut session).await.split();
    client.recv().await;
    client
        .send(Frame::WindowUpdate {
            stream_id: 1,
            delta: 0x7fff_ffff,
        })
        .await;
    assert_eq!(
        client.recv().await,
        Frame::RstStream {
            stream_id: 1,
            status: RstStatus::FlowControlError
        }
    );
    assert!(writer.write(Bytes::from_static(b"x")).await.is_err());
}

#[tokio::test]
async fn protocol_errors_end_the_session_with_goaway() {
    let (mut client, mut session, driver) = start(SessionConfig::default());
    client.open(3, "error").await;
    let _stream = accept(&mut session).await;
    client.recv().await;
    // Stream ids must grow.
    client.open(1, "stdin").await;
    assert_eq!(
        client.recv().await,
        Frame::GoAway {
            last_good_stream_id: 3,
            status: GoAwayStatus::ProtocolError
        }
    );
    let err = driver.await.expect("join").expect_err("protocol error");
    assert!(err.to_string().contains("odd and increasing"), "{err}");
    assert!(session.accept().await.is_none());
}

#[tokio::test]
async fn garbage_ends_the_session_and_wakes_readers() {
    let (mut client, mut session, driver) = start(SessionConfig::default());
    client.open(1, "stdin").await;
    let (mut reader, _writer) = accept(&mut session).await.split();
    client.recv().await;
    use tokio::io::AsyncWriteExt;
    client
        .tx
        .get_mut()
        .write_all(&[0x80, 0x02, 0, 1, 0, 0, 0, 0])
        .await
        .expect("write");
    let err = driver.await.expect("join").expect_err("codec error");
    assert!(err.to_string().contains("version 2"), "{err}");
    assert_eq!(
        reader.read().await,
        Err(StreamError::SessionClosed { id: 1 })
    );
}

#[tokio::test]
async fn after_the_client_goaway_no_stream_is_accepted() {
    let (mut client, mut session, _driver) = start(SessionConfig::default());
    client
        .send(Frame::GoAway {
            last_good_stream_id: 0,
            status: GoAwayStatus::Ok,
        })
        .await;
    assert!(tokio::time::timeout(WAIT, session.accept())
        .await
        .expect("in time")
        .is_none());
}

#[tokio::test]
async fn a_client_that_pings_without_reading_is_cut_off() {
    let (mut client, _session, driver) = start_with_pipe(SessionConfig::default(), 4096);
    let flood = async {
        for id in 0..20_000u32 {
            if client
                .tx
                .feed(Frame::Ping { id: 2 * id + 1 })
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = client.tx.flush().await;
    };
    let (_, ended) = tokio::join!(flood, tokio::time::timeout(WAIT, driver));
    let err = ended
        .expect("the session ends in time")
        .expect("join")
        .expect_err("flood");
    assert!(err.to_string().contains("does not read"), "{err}");
}
