//! A scripted SPDY/3.1 client of the Kubernetes streaming protocols, frame by frame: what the
//! streaming server's own tests and berthd's CRI streaming tests drive it with.

use std::net::SocketAddr;
use std::time::Duration;

use berth_k8s_streaming::spdy::frame::{FrameDecoder, FrameEncoder};
pub use berth_k8s_streaming::spdy::{Frame, Headers, RstStatus};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio_util::codec::{FramedRead, FramedWrite};

/// How long a frame may take.
const WAIT: Duration = Duration::from_secs(5);

/// `http://host:port/path` as the address and path [`Client::connect`] takes (the CRI's
/// Exec, Attach and PortForward answer such URLs).
pub fn split_url(url: &str) -> (SocketAddr, String) {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("not an http:// URL: {url}"));
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let addr = host
        .parse()
        .unwrap_or_else(|e| panic!("{host} in {url}: {e}"));
    (addr, path.to_string())
}

/// One SPDY session upgraded from HTTP/1.1; panics (fails the test) on anything unexpected.
pub struct Client {
    rx: FramedRead<OwnedReadHalf, FrameDecoder>,
    tx: FramedWrite<OwnedWriteHalf, FrameEncoder>,
    next_id: u32,
    /// Frames read while looking for another stream's.
    stashed: Vec<Frame>,
}

impl Client {
    /// Upgrades `path` to SPDY offering `protocol`; returns the 101's headers too.
    pub async fn connect(addr: SocketAddr, path: &str, protocol: &str) -> (Client, String) {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: {protocol}\r\nContent-Length: 0\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.expect("request");
        // Byte by byte up to the blank line: nothing may be read past the response.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            head.push(tcp.read_u8().await.expect("response"));
        }
        let head = String::from_utf8(head).expect("ASCII head");
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let (r, w) = tcp.into_split();
        let client = Client {
            rx: FramedRead::new(r, FrameDecoder::new()),
            tx: FramedWrite::new(w, FrameEncoder::new().expect("encoder")),
            next_id: 1,
            stashed: Vec::new(),
        };
        (client, head.to_ascii_lowercase())
    }

    pub async fn send(&mut self, frame: Frame) {
        self.tx.send(frame).await.expect("send");
    }

    /// Opens a stream and waits for its reply; returns its id.
    pub async fn open(&mut self, headers: &[(&str, &str)], fin: bool) -> u32 {
        let id = self.next_id;
        self.next_id += 2;
        self.send(Frame::SynStream {
            stream_id: id,
            associated_to: 0,
            priority: 0,
            fin,
            unidirectional: false,
            headers: headers.iter().copied().collect(),
        })
        .await;
        assert_eq!(
            self.recv_on(id).await,
            Frame::SynReply {
                stream_id: id,
                fin: false,
                headers: Headers::new()
            }
        );
        id
    }

    /// The next frame of stream `id`; those of other streams are kept for later.
    pub async fn recv_on(&mut self, id: u32) -> Frame {
        let of_stream = |f: &Frame| match f {
            Frame::SynReply { stream_id, .. }
            | Frame::Data { stream_id, .. }
            | Frame::RstStream { stream_id, .. } => *stream_id == id,
            _ => false,
        };
        if let Some(i) = self.stashed.iter().position(of_stream) {
            return self.stashed.remove(i);
        }
        loop {
            let frame = self.recv().await;
            if of_stream(&frame) {
                return frame;
            }
            self.stashed.push(frame);
        }
    }

    pub async fn recv(&mut self) -> Frame {
        tokio::time::timeout(WAIT, self.rx.next())
            .await
            .expect("a frame in time")
            .expect("connection open")
            .expect("a valid frame")
    }

    /// Everything on `id` up to its FIN.
    pub async fn read_stream(&mut self, id: u32) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            if let Frame::Data { fin, data, .. } = self.recv_on(id).await {
                all.extend_from_slice(&data);
                if fin {
                    return all;
                }
            }
        }
    }
}
