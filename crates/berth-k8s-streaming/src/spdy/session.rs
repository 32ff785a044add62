//! A server SPDY/3.1 session over any byte stream: accepts the streams the client opens,
//! replies to each, carries data both ways, answers PING, honours RST_STREAM, GOAWAY and
//! half-close, and keeps the flow-control windows of section 2.6.8.
//!
//! One task drives the connection (`Session::new` returns its future): a read loop that
//! dispatches frames into per-stream queues and a write loop that owns the encoder. Streams
//! talk to it through a bounded frame queue and a small shared state behind a mutex that is
//! never held across an await.
//!
//! Flow control. We always advertise 64 KiB windows and send WINDOW_UPDATE as the application
//! consumes data, and we track the windows the peer grants us. Enforcing them is a choice
//! (`SessionConfig::enforce_flow_control`), off by default: moby/spdystream, the SPDY of every
//! Kubernetes client and of the kubelet, neither sends WINDOW_UPDATE nor looks at windows, so a
//! sender that waits for the peer's window stalls after 64 KiB and a receiver that resets
//! overrunning streams breaks any stdin larger than a window. Without enforcement a stream
//! whose application does not read stops the read loop once the stream has 1 MiB buffered:
//! TCP back-pressure, which is what spdystream peers understand.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::frame::{
    CodecError, Frame, FrameDecoder, FrameEncoder, GoAwayStatus, Headers, RstStatus,
    DEFAULT_WINDOW, MAX_DATA_FRAME, MAX_WINDOW, SETTINGS_INITIAL_WINDOW_SIZE,
};

/// Largest data frame we send: the peer's 64 KiB window holds two.
const SEND_CHUNK: usize = 32 * 1024;
/// Bytes buffered per stream before the read loop waits for the application.
const STREAM_BUFFER: usize = MAX_DATA_FRAME;
/// Frames queued for the write loop before writers wait.
const OUT_QUEUE: usize = 64;
/// Control frames (replies, PING answers, WINDOW_UPDATE, RST_STREAM) the read loop may have
/// waiting for the socket. They never wait for room, so that a peer that does not read cannot
/// stall our reading; a peer that keeps sending without reading hits this bound instead.
const MAX_PENDING_CONTROL: usize = 4096;

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Streams the peer may have open at once; more are refused with RST_STREAM.
    pub max_streams: usize,
    /// Hold sends to the peer's windows and reset streams that overrun ours (see the module
    /// documentation for why this is off by default).
    pub enforce_flow_control: bool,
    /// After our GOAWAY, how long we keep draining the peer, so that closing the socket with
    /// unread bytes does not become a TCP reset that discards our last frames at the peer.
    pub linger: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_streams: 100,
            enforce_flow_control: false,
            linger: Duration::from_secs(5),
        }
    }
}

/// Why a session ended other than by a clean close.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("peer broke the SPDY protocol: {0}")]
    Protocol(String),
}

/// Why a stream operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("stream {id} was reset ({status:?})")]
    Reset { id: u32, status: RstStatus },
    #[error("stream {id}: the SPDY session has ended")]
    SessionClosed { id: u32 },
    #[error("stream {id}: our side is already closed")]
    LocalClosed { id: u32 },
}

enum Outbound {
    Frame(Frame),
    /// Send GOAWAY with this status, flush, shut the write side down.
    GoAway(GoAwayStatus),
}

enum Inbound {
    Data(Bytes),
    Fin,
    Reset(RstStatus),
}

struct StreamEntry {
    inbound: Option<mpsc::UnboundedSender<Inbound>>,
    /// The reset status, kept by the writer too: it outlives the entry.
    reset_code: Arc<AtomicU32>,
    buffer: Arc<Semaphore>,
    send_window: i64,
    recv_window: i64,
    local_fin: bool,
    remote_fin: bool,
    reset: Option<RstStatus>,
}

impl StreamEntry {
    fn mark_reset(&mut self, status: RstStatus) {
        self.reset = Some(status);
        self.reset_code.store(status.code(), Ordering::Relaxed);
        if let Some(tx) = self.inbound.take() {
            let _ = tx.send(Inbound::Reset(status));
        }
    }
}

struct State {
    streams: HashMap<u32, StreamEntry>,
    initial_send_window: i64,
    session_send_window: i64,
    session_recv_window: i64,
    session_unacked: u32,
    last_stream_id: u32,
    going_away: bool,
    ended: bool,
}

struct Shared {
    config: SessionConfig,
    state: Mutex<State>,
    out: mpsc::Sender<Outbound>,
    control: mpsc::UnboundedSender<Frame>,
    control_pending: AtomicUsize,
    window_opened: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves consistent-enough counters; the
        // session must still be able to shut down.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a control frame ahead of data; never waits (see `MAX_PENDING_CONTROL`).
    fn send_control(&self, frame: Frame) -> Result<(), SessionError> {
        if self.control_pending.fetch_add(1, Ordering::Relaxed) >= MAX_PENDING_CONTROL {
            self.control_pending.fetch_sub(1, Ordering::Relaxed);
            return Err(SessionError::Protocol(format!(
                "the peer does not read: {MAX_PENDING_CONTROL} control frames wait to be sent"
            )));
        }
        // An error means the driver is gone; the frame has nowhere to go.
        let _ = self.control.send(frame);
        Ok(())
    }

    fn forget_if_done(state: &mut State, id: u32) {
        let done = state
            .streams
            .get(&id)
            .is_some_and(|s| s.reset.is_some() || (s.local_fin && s.remote_fin));
        if done {
            state.streams.remove(&id);
        }
    }
}

/// The application's end of a session: the streams the client opens.
pub struct Session {
    shared: Arc<Shared>,
    incoming: mpsc::Receiver<Stream>,
}

impl Session {
    /// Starts a server session on `io`. The future drives the connection and must be polled
    /// (spawned) for anything to happen; it ends when the peer disconnects or after `close`.
    pub fn new<T>(
        io: T,
        config: SessionConfig,
    ) -> Result<
        (
            Session,
            impl Future<Output = Result<(), SessionError>> + Send,
        ),
        SessionError,
    >
    where
        T: AsyncRead + AsyncWrite + Send + 'static,
    {
        let encoder = FrameEncoder::new()?;
        let (out_tx, out_rx) = mpsc::channel(OUT_QUEUE);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (incoming_tx, incoming) = mpsc::channel(config.max_streams.max(1));
        let shared = Arc::new(Shared {
            config,
            state: Mutex::new(State {
                streams: HashMap::new(),
                initial_send_window: i64::from(DEFAULT_WINDOW),
                session_send_window: i64::from(DEFAULT_WINDOW),
                session_recv_window: i64::from(DEFAULT_WINDOW),
                session_unacked: 0,
                last_stream_id: 0,
                going_away: false,
                ended: false,
            }),
            out: out_tx,
            control: control_tx,
            control_pending: AtomicUsize::new(0),
            window_opened: Notify::new(),
        });
        let queues = Queues {
            out: out_rx,
            control: control_rx,
        };
        let driver = drive(io, encoder, shared.clone(), queues, incoming_tx);
        Ok((Session { shared, incoming }, driver))
    }

    /// The next stream the client opened (already replied to), or `None` once the session
    /// has ended or the client sent GOAWAY.
    pub async fn accept(&mut self) -> Option<Stream> {
        self.incoming.recv().await
    }

    /// A handle that can end the session from elsewhere.
    pub fn closer(&self) -> SessionCloser {
        SessionCloser {
            shared: self.shared.clone(),
        }
    }

    /// Sends GOAWAY after everything queued so far and closes our side of the connection.
    pub async fn close(&self) {
        self.closer().close().await;
    }
}

/// Ends a session (GOAWAY, then the write side is shut down).
#[derive(Clone)]
pub struct SessionCloser {
    shared: Arc<Shared>,
}

impl SessionCloser {
    pub async fn close(&self) {
        self.shared.state().going_away = true;
        // An error means the driver is gone: the session is closed already.
        let _ = self
            .shared
            .out
            .send(Outbound::GoAway(GoAwayStatus::Ok))
            .await;
    }
}

/// A stream the client opened.
pub struct Stream {
    id: u32,
    headers: Headers,
    reader: StreamReader,
    writer: StreamWriter,
}

impl Stream {
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The headers of the client's SYN_STREAM.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    pub fn split(self) -> (StreamReader, StreamWriter) {
        (self.reader, self.writer)
    }
}

/// What the client sends on a stream.
pub struct StreamReader {
    id: u32,
    shared: Arc<Shared>,
    rx: mpsc::UnboundedReceiver<Inbound>,
    buffer: Arc<Semaphore>,
    unacked: u32,
    finished: bool,
}

impl StreamReader {
    /// The next chunk, or `None` once the client half-closed the stream.
    pub async fn read(&mut self) -> Result<Option<Bytes>, StreamError> {
        if self.finished {
            return Ok(None);
        }
        match self.rx.recv().await {
            Some(Inbound::Data(data)) => {
                self.consumed(data.len());
                Ok(Some(data))
            }
            Some(Inbound::Fin) => {
                self.finished = true;
                Ok(None)
            }
            Some(Inbound::Reset(status)) => Err(StreamError::Reset {
                id: self.id,
                status,
            }),
            None => Err(StreamError::SessionClosed { id: self.id }),
        }
    }

    /// Gives the bytes back to the buffer and the windows; acknowledges in half-window steps
    /// so that a busy stream costs one WINDOW_UPDATE per 32 KiB, not one per frame.
    fn consumed(&mut self, len: usize) {
        let Ok(len32) = u32::try_from(len) else {
            return;
        };
        self.buffer.add_permits(len);
        self.unacked += len32;
        let threshold = DEFAULT_WINDOW / 2;
        let mut frames = Vec::new();
        {
            let mut state = self.shared.state();
            if self.unacked >= threshold {
                if let Some(entry) = state.streams.get_mut(&self.id) {
                    entry.recv_window += i64::from(self.unacked);
                    if !entry.remote_fin {
                        frames.push(Frame::WindowUpdate {
                            stream_id: self.id,
                            delta: self.unacked,
                        });
                    }
                }
                self.unacked = 0;
            }
            state.session_unacked += len32;
            if state.session_unacked >= threshold {
                state.session_recv_window += i64::from(state.session_unacked);
                frames.push(Frame::WindowUpdate {
                    stream_id: 0,
                    delta: state.session_unacked,
                });
                state.session_unacked = 0;
            }
        }
        for frame in frames {
            // A flooded session is being torn down by the read loop already.
            let _ = self.shared.send_control(frame);
        }
    }
}

/// Our half of a stream.
pub struct StreamWriter {
    id: u32,
    shared: Arc<Shared>,
    reset_code: Arc<AtomicU32>,
}

impl StreamWriter {
    /// Sends `data` in frames of at most 32 KiB, within the peer's windows when enforced.
    pub async fn write(&self, mut data: Bytes) -> Result<(), StreamError> {
        while !data.is_empty() {
            let n = self.reserve(data.len().min(SEND_CHUNK)).await?;
            let chunk = data.split_to(n);
            self.send(Frame::Data {
                stream_id: self.id,
                fin: false,
                data: chunk,
            })
            .await?;
        }
        Ok(())
    }

    /// Half-closes our side (an empty data frame with FIN).
    pub async fn close(&self) -> Result<(), StreamError> {
        {
            let mut state = self.shared.state();
            let entry = self.entry(&mut state)?;
            entry.local_fin = true;
            Shared::forget_if_done(&mut state, self.id);
        }
        self.send(Frame::Data {
            stream_id: self.id,
            fin: true,
            data: Bytes::new(),
        })
        .await
    }

    /// Abandons the stream in both directions.
    pub async fn reset(&self, status: RstStatus) -> Result<(), StreamError> {
        {
            let mut state = self.shared.state();
            let entry = self.entry(&mut state)?;
            entry.mark_reset(status);
            Shared::forget_if_done(&mut state, self.id);
        }
        self.shared.window_opened.notify_waiters();
        self.send(Frame::RstStream {
            stream_id: self.id,
            status,
        })
        .await
    }

    fn entry<'a>(&self, state: &'a mut State) -> Result<&'a mut StreamEntry, StreamError> {
        if state.ended {
            return Err(StreamError::SessionClosed { id: self.id });
        }
        let Some(entry) = state.streams.get_mut(&self.id) else {
            return Err(match self.reset_code.load(Ordering::Relaxed) {
                0 => StreamError::LocalClosed { id: self.id },
                code => StreamError::Reset {
                    id: self.id,
                    status: RstStatus::from_code(code),
                },
            });
        };
        if let Some(status) = entry.reset {
            return Err(StreamError::Reset {
                id: self.id,
                status,
            });
        }
        if entry.local_fin {
            return Err(StreamError::LocalClosed { id: self.id });
        }
        Ok(entry)
    }

    /// Takes up to `want` bytes of send window, waiting for WINDOW_UPDATE when enforced.
    async fn reserve(&self, want: usize) -> Result<usize, StreamError> {
        loop {
            let opened = self.shared.window_opened.notified();
            {
                let mut state = self.shared.state();
                let enforce = self.shared.config.enforce_flow_control;
                let session_window = state.session_send_window;
                let entry = self.entry(&mut state)?;
                let available = entry.send_window.min(session_window);
                let n = if enforce {
                    usize::try_from(available).unwrap_or(0).min(want)
                } else {
                    want
                };
                if n > 0 {
                    entry.send_window -= n as i64;
                    state.session_send_window -= n as i64;
                    return Ok(n);
                }
            }
            opened.await;
        }
    }

    async fn send(&self, frame: Frame) -> Result<(), StreamError> {
        self.shared
            .out
            .send(Outbound::Frame(frame))
            .await
            .map_err(|_| StreamError::SessionClosed { id: self.id })
    }
}

/// What the write loop sends: control frames first, then the streams' frames in order.
struct Queues {
    out: mpsc::Receiver<Outbound>,
    control: mpsc::UnboundedReceiver<Frame>,
}

impl Queues {
    async fn next(&mut self, shared: &Shared) -> Option<Outbound> {
        tokio::select! {
            biased;
            Some(frame) = self.control.recv() => {
                shared.control_pending.fetch_sub(1, Ordering::Relaxed);
                Some(Outbound::Frame(frame))
            }
            item = self.out.recv() => item,
        }
    }

    fn try_next(&mut self, shared: &Shared) -> Option<Outbound> {
        match self.control.try_recv() {
            Ok(frame) => {
                shared.control_pending.fetch_sub(1, Ordering::Relaxed);
                Some(Outbound::Frame(frame))
            }
            Err(_) => self.out.try_recv().ok(),
        }
    }
}

async fn drive<T>(
    io: T,
    encoder: FrameEncoder,
    shared: Arc<Shared>,
    mut queues: Queues,
    incoming: mpsc::Sender<Stream>,
) -> Result<(), SessionError>
where
    T: AsyncRead + AsyncWrite + Send + 'static,
{
    let (r, w) = tokio::io::split(io);
    let mut frames_in = FramedRead::new(r, FrameDecoder::new());
    let mut frames_out = FramedWrite::new(w, encoder);

    let write_loop = async {
        while let Some(item) = queues.next(&shared).await {
            let mut closing = false;
            let mut next = Some(item);
            // Batch what is queued into one flush.
            while let Some(item) = next.take() {
                match item {
                    Outbound::Frame(frame) => frames_out.feed(frame).await?,
                    Outbound::GoAway(status) => {
                        let last_good_stream_id = shared.state().last_stream_id;
                        frames_out
                            .feed(Frame::GoAway {
                                last_good_stream_id,
                                status,
                            })
                            .await?;
                        closing = true;
                        break;
                    }
                }
                next = queues.try_next(&shared);
            }
            frames_out.flush().await?;
            if closing {
                frames_out.close().await?;
                return Ok::<bool, CodecError>(true);
            }
        }
        Ok(false)
    };

    let mut reader = Reader {
        shared: shared.clone(),
        incoming: Some(incoming),
    };
    let read_loop = async {
        while let Some(frame) = frames_in.next().await {
            reader.handle(frame?).await?;
        }
        Ok::<(), SessionError>(())
    };

    tokio::pin!(write_loop, read_loop);
    let result = tokio::select! {
        written = &mut write_loop => match written {
            // We closed: drain the peer for a while (see `linger`), ignoring what it says.
            Ok(true) => {
                let _ = tokio::time::timeout(shared.config.linger, &mut read_loop).await;
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(e) => Err(e.into()),
        },
        read = &mut read_loop => {
            // The peer hears why before we hang up (briefly: it may not be reading).
            if read.is_err() {
                let status = Outbound::GoAway(GoAwayStatus::ProtocolError);
                if shared.out.try_send(status).is_ok() {
                    let _ = tokio::time::timeout(Duration::from_secs(1), &mut write_loop).await;
                }
            }
            read
        }
    };
    end_session(&shared);
    result
}

/// Wakes everything waiting on a session that is gone.
fn end_session(shared: &Shared) {
    let mut state = shared.state();
    state.ended = true;
    // Dropping the senders makes blocked readers see the end.
    state.streams.clear();
    drop(state);
    shared.window_opened.notify_waiters();
}

struct Reader {
    shared: Arc<Shared>,
    incoming: Option<mpsc::Sender<Stream>>,
}

impl Reader {
    async fn handle(&mut self, frame: Frame) -> Result<(), SessionError> {
        match frame {
            Frame::SynStream {
                stream_id,
                fin,
                unidirectional,
                headers,
                ..
            } => self.open(stream_id, fin, unidirectional, headers).await,
            Frame::Data {
                stream_id,
                fin,
                data,
            } => self.data(stream_id, fin, data).await,
            Frame::Headers { stream_id, fin, .. } => {
                // Kubernetes sends no HEADERS; only the FIN they may carry matters.
                if fin {
                    self.remote_fin(stream_id);
                }
                Ok(())
            }
            Frame::RstStream { stream_id, status } => {
                let mut state = self.shared.state();
                if let Some(entry) = state.streams.get_mut(&stream_id) {
                    entry.mark_reset(status);
                    Shared::forget_if_done(&mut state, stream_id);
                }
                drop(state);
                self.shared.window_opened.notify_waiters();
                Ok(())
            }
            Frame::Settings { entries, .. } => {
                for (_, id, value) in entries {
                    if id == SETTINGS_INITIAL_WINDOW_SIZE {
                        self.initial_window(value)?;
                    }
                }
                Ok(())
            }
            Frame::Ping { id } => {
                // Odd ids are the client's (section 2.6.5); even ones would answer ours, and
                // we send none.
                if id & 1 == 1 {
                    self.shared.send_control(Frame::Ping { id })?;
                }
                Ok(())
            }
            Frame::GoAway { .. } => {
                // No new streams will come; the open ones carry on.
                self.incoming = None;
                Ok(())
            }
            Frame::WindowUpdate { stream_id, delta } => self.window_update(stream_id, delta),
            Frame::SynReply { stream_id, .. } => {
                // We open no streams, so nothing can be replied to.
                self.rst(stream_id, RstStatus::ProtocolError)
            }
        }
    }

    fn rst(&self, stream_id: u32, status: RstStatus) -> Result<(), SessionError> {
        self.shared
            .send_control(Frame::RstStream { stream_id, status })
    }

    async fn open(
        &mut self,
        id: u32,
        fin: bool,
        unidirectional: bool,
        headers: Headers,
    ) -> Result<(), SessionError> {
        let (tx, rx) = mpsc::unbounded_channel();
        let buffer = Arc::new(Semaphore::new(STREAM_BUFFER));
        let reset_code = Arc::new(AtomicU32::new(0));
        {
            let mut state = self.shared.state();
            if id & 1 == 0 || id <= state.last_stream_id {
                return Err(SessionError::Protocol(format!(
                    "SYN_STREAM {id} after {} (client stream ids are odd and increasing)",
                    state.last_stream_id
                )));
            }
            state.last_stream_id = id;
            let accepting = self.incoming.is_some() && !state.going_away;
            if !accepting || state.streams.len() >= self.shared.config.max_streams {
                drop(state);
                return self.rst(id, RstStatus::RefusedStream);
            }
            let initial = state.initial_send_window;
            state.streams.insert(
                id,
                StreamEntry {
                    inbound: Some(tx.clone()),
                    reset_code: reset_code.clone(),
                    buffer: buffer.clone(),
                    send_window: initial,
                    recv_window: i64::from(DEFAULT_WINDOW),
                    local_fin: unidirectional,
                    remote_fin: false,
                    reset: None,
                },
            );
        }
        // The Kubernetes servers reply to every stream as it arrives, before looking at it.
        self.shared.send_control(Frame::SynReply {
            stream_id: id,
            fin: unidirectional,
            headers: Headers::new(),
        })?;
        if fin {
            self.remote_fin(id);
        }
        let stream = Stream {
            id,
            headers,
            reader: StreamReader {
                id,
                shared: self.shared.clone(),
                rx,
                buffer,
                unacked: 0,
                finished: false,
            },
            writer: StreamWriter {
                id,
                shared: self.shared.clone(),
                reset_code,
            },
        };
        let delivered = match &self.incoming {
            Some(incoming) => incoming.send(stream).await.is_ok(),
            None => false,
        };
        if !delivered {
            self.forget(id, RstStatus::RefusedStream)?;
        }
        Ok(())
    }

    /// Drops a stream the application will never see, telling the peer.
    fn forget(&self, id: u32, status: RstStatus) -> Result<(), SessionError> {
        if let Some(mut entry) = self.shared.state().streams.remove(&id) {
            entry.mark_reset(status);
        }
        self.shared.window_opened.notify_waiters();
        self.rst(id, status)
    }

    fn remote_fin(&self, id: u32) {
        let mut state = self.shared.state();
        if let Some(entry) = state.streams.get_mut(&id) {
            entry.remote_fin = true;
            if let Some(tx) = entry.inbound.take() {
                let _ = tx.send(Inbound::Fin);
            }
            Shared::forget_if_done(&mut state, id);
        }
    }

    async fn data(&mut self, id: u32, fin: bool, data: Bytes) -> Result<(), SessionError> {
        let len = data.len();
        let enforce = self.shared.config.enforce_flow_control;
        let target = {
            let mut state = self.shared.state();
            state.session_recv_window -= len as i64;
            // The stream is judged first: an overrun stream is reset and its bytes given back,
            // so only a peer overrunning through several streams fails the whole session.
            let target = match state.streams.get_mut(&id) {
                None => Err(RstStatus::InvalidStream),
                Some(entry) if entry.remote_fin => Err(RstStatus::StreamAlreadyClosed),
                Some(entry) => {
                    entry.recv_window -= len as i64;
                    if enforce && entry.recv_window < 0 {
                        Err(RstStatus::FlowControlError)
                    } else {
                        Ok((entry.inbound.clone(), entry.buffer.clone()))
                    }
                }
            };
            if target.is_ok() && enforce && state.session_recv_window < 0 {
                return Err(SessionError::Protocol(format!(
                    "data frame of {len} bytes overruns the session window"
                )));
            }
            target
        };
        let (inbound, buffer) = match target {
            Ok(target) => target,
            Err(status) => {
                // The bytes are gone either way; give the session window back.
                self.release_session_window(len)?;
                return if status == RstStatus::FlowControlError {
                    self.forget(id, status)
                } else {
                    self.rst(id, status)
                };
            }
        };
        match inbound {
            Some(tx) if len > 0 => {
                // Back-pressure: wait for the application to drain this stream's buffer.
                let permits = u32::try_from(len).unwrap_or(u32::MAX);
                match buffer.acquire_many(permits).await {
                    Ok(permit) => permit.forget(),
                    Err(_) => return Ok(()),
                }
                if tx.send(Inbound::Data(data)).is_err() {
                    // The application dropped its reader: discard, keep the windows open.
                    buffer.add_permits(len);
                    self.release_session_window(len)?;
                }
            }
            Some(_) => {}
            // Our reader is gone (reset): discard.
            None => self.release_session_window(len)?,
        }
        if fin {
            self.remote_fin(id);
        }
        Ok(())
    }

    fn release_session_window(&self, len: usize) -> Result<(), SessionError> {
        let delta = {
            let mut state = self.shared.state();
            state.session_unacked += u32::try_from(len).unwrap_or(u32::MAX);
            if state.session_unacked < DEFAULT_WINDOW / 2 {
                return Ok(());
            }
            state.session_recv_window += i64::from(state.session_unacked);
            std::mem::take(&mut state.session_unacked)
        };
        self.shared.send_control(Frame::WindowUpdate {
            stream_id: 0,
            delta,
        })
    }

    fn window_update(&mut self, id: u32, delta: u32) -> Result<(), SessionError> {
        let delta = i64::from(delta);
        let mut state = self.shared.state();
        if id == 0 {
            state.session_send_window += delta;
            if state.session_send_window > MAX_WINDOW {
                return Err(SessionError::Protocol(format!(
                    "WINDOW_UPDATE of {delta} takes the session window past 2^31-1"
                )));
            }
        } else if let Some(entry) = state.streams.get_mut(&id) {
            entry.send_window += delta;
            if entry.send_window > MAX_WINDOW {
                drop(state);
                return self.forget(id, RstStatus::FlowControlError);
            }
        }
        drop(state);
        self.shared.window_opened.notify_waiters();
        Ok(())
    }

    fn initial_window(&mut self, value: u32) -> Result<(), SessionError> {
        let value = i64::from(value);
        if value > MAX_WINDOW {
            return Err(SessionError::Protocol(format!(
                "SETTINGS initial window {value} is past 2^31-1"
            )));
        }
        let mut state = self.shared.state();
        // Section 2.6.8: a new initial window shifts every open stream's window.
        let shift = value - state.initial_send_window;
        state.initial_send_window = value;
        for entry in state.streams.values_mut() {
            entry.send_window += shift;
        }
        drop(state);
        self.shared.window_opened.notify_waiters();
        Ok(())
    }
}
