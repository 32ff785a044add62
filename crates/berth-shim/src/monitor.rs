//! The shim's single-threaded event loop: one `poll(2)` over the signalfd, the container's
//! output, its stdin, both listening sockets and every client. Nothing in it blocks, so the
//! container's output is always read and a slow client only ever hurts itself.

use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_shim::protocol::{
    AttachMode, ControlRequest, ExitRecord, Stream, ATTACH_SOCKET, CONTROL_SOCKET, EXIT_FILE,
    SHIM_PID_FILE,
};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use crate::clients::{AttachClient, ControlClient, StdinSink, StdinState};
use crate::error::{sys, ShimError};
use crate::logfile::LogFile;
use crate::oom::OomWatch;
use crate::output::{Cut, Fill, Output};
use crate::runtime::{Created, Io};
use crate::state::StateDir;
use crate::timefmt::Timestamp;

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

/// After the process exits, read at most this much more per stream: an orphan of an exec'd
/// process may keep the pipe open and writing, and must not keep the shim alive.
const DRAIN_MAX: usize = 1024 * 1024;
/// The largest read of output (an [`Output`]'s buffer): what a client needs room for.
const READ_MAX: usize = crate::crilog::BUF_LEN;
/// How long attach clients get to take the last output before the shim exits.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// Size of the buffer for client input (stdin data and control lines).
const INPUT_CHUNK: usize = 4096;

/// Blocks the signals the shim handles so they queue on a signalfd. Must run before the
/// runtime is spawned: an unblocked SIGCHLD with the default disposition is simply discarded.
///
/// SIGTERM, SIGINT, SIGHUP and SIGQUIT are taken and ignored: the shim ends when its process
/// does, never because someone signalled the daemon's group or session, since the container's
/// output pipes die with it. Only SIGKILL stops a shim early. The runtime is started with an
/// empty signal mask (std's `Command` resets it), so none of this reaches the container.
pub fn take_signals() -> Result<SignalFd, ShimError> {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGCHLD,
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGQUIT,
    ] {
        mask.add(s);
    }
    mask.thread_block().map_err(sys("block signals"))?;
    SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(sys("create signalfd"))
}

/// What each entry of the poll set stands for.
#[derive(Debug, Clone, Copy)]
enum Token {
    Output(usize),
    Stdin,
    AttachListener,
    ControlListener,
    Attach(usize),
    Control(usize),
    Signal,
}

/// How the process ended.
#[derive(Debug, Clone, Copy)]
struct Exit {
    code: i32,
    signal: Option<i32>,
    at: Timestamp,
}

/// Result of reading one output stream once.
enum Pumped {
    Data(usize),
    Empty,
    Closed,
}

pub struct Monitor {
    pid: i32,
    state_dir: PathBuf,
    signals: SignalFd,
    /// stdout (or the pty) and stderr; `None` once closed.
    outputs: [Option<Output>; 2],
    /// The pty master, for resizing; `None` without a terminal.
    pty: Option<OwnedFd>,
    stdin: Option<StdinSink>,
    log: Option<LogFile>,
    attach_listener: UnixListener,
    control_listener: UnixListener,
    attach: Vec<AttachClient>,
    control: Vec<ControlClient>,
    oom: Option<OomWatch>,
    exit: Option<Exit>,
    poll_fds: Vec<libc::pollfd>,
    tokens: Vec<Token>,
    input: Box<[u8]>,
    /// An exec attached from its start (`--wait-attach`): its clients are its output's only
    /// consumers (no log), so a slow client slows the process (its output is not read while a
    /// client's buffer is full) instead of being dropped and losing the output.
    backpressure: bool,
}

/// Everything startup produced, handed to the loop.
pub struct Parts {
    pub created: Created,
    pub stdin: bool,
    pub state_dir: PathBuf,
    pub signals: SignalFd,
    pub log: Option<LogFile>,
    pub attach_listener: UnixListener,
    pub control_listener: UnixListener,
    pub oom: Option<OomWatch>,
    /// An attach client accepted before the process ran (`--wait-attach`).
    pub early_attach: Option<std::os::unix::net::UnixStream>,
    /// See [`Monitor::backpressure`].
    pub backpressure: bool,
}

impl Monitor {
    pub fn new(p: Parts) -> Result<Self, ShimError> {
        let dup = |fd: &OwnedFd| fd.try_clone().map_err(ShimError::DupPty);
        let cut = p.log.as_ref().map_or(Cut::Docker, LogFile::cut);
        let (outputs, stdin, pty) = match p.created.io {
            Io::Pipes {
                stdin,
                stdout,
                stderr,
            } => (
                [
                    Some(Output::new(Stream::Stdout, stdout, cut)),
                    Some(Output::new(Stream::Stderr, stderr, cut)),
                ],
                stdin.map(StdinSink::new),
                None,
            ),
            // A tty has one output stream, logged and attached as stdout, as Docker does.
            Io::Pty(master) => {
                let stdin = if p.stdin {
                    Some(StdinSink::new(dup(&master)?))
                } else {
                    None
                };
                let pty = Some(dup(&master)?);
                (
                    [Some(Output::new(Stream::Stdout, master, cut)), None],
                    stdin,
                    pty,
                )
            }
        };
        let attach = p
            .early_attach
            .and_then(|sock| AttachClient::new(sock).ok())
            .into_iter()
            .collect();
        let backpressure = p.backpressure && p.log.is_none();
        Ok(Self {
            pid: p.created.pid,
            state_dir: p.state_dir,
            signals: p.signals,
            outputs,
            pty,
            stdin,
            log: p.log,
            attach_listener: p.attach_listener,
            control_listener: p.control_listener,
            attach,
            control: Vec::new(),
            oom: p.oom,
            exit: None,
            poll_fds: Vec::new(),
            tokens: Vec::new(),
            input: vec![0u8; INPUT_CHUNK].into_boxed_slice(),
            backpressure,
        })
    }

    /// Under back-pressure, whether a client has no room for another read of output.
    fn output_blocked(&self) -> bool {
        self.backpressure && self.attach.iter().any(|c| c.is_full(READ_MAX))
    }

    /// Waits up to `left` (at least 1 ms) for the prepared `poll_fds`, then gives each
    /// attach client what it can take.
    fn poll_and_flush(&mut self, left: Duration) {
        let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: poll_fds is a valid, exclusively borrowed array of poll_fds.len() entries.
        unsafe {
            libc::poll(
                self.poll_fds.as_mut_ptr(),
                self.poll_fds.len() as libc::nfds_t,
                ms.max(1),
            )
        };
        for c in &mut self.attach {
            c.flush();
        }
    }

    /// Under back-pressure after the exit: waits until every client has room for another read
    /// (false when one still has none after [`FLUSH_TIMEOUT`]: the drain stops there).
    fn wait_for_room(&mut self) -> bool {
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        while self.output_blocked() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.poll_fds.clear();
            self.poll_fds
                .extend(
                    self.attach
                        .iter()
                        .filter(|c| c.is_full(READ_MAX))
                        .map(|c| libc::pollfd {
                            fd: c.sock().as_raw_fd(),
                            events: libc::POLLOUT,
                            revents: 0,
                        }),
                );
            self.poll_and_flush(left);
        }
        true
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Serves until the process exits, then records the exit and cleans up.
    pub fn run(mut self) -> Result<(), ShimError> {
        // It may have exited before the signalfd saw anything we read.
        self.reap();
        let exit = loop {
            if let Some(exit) = self.exit {
                break exit;
            }
            self.poll_once()?;
            self.attach.retain(|c| !c.dead);
            self.control.retain(|c| !c.dead);
        };
        self.finish(exit)
    }

    fn poll_once(&mut self) -> Result<(), ShimError> {
        let blocked = self.output_blocked();
        self.poll_fds.clear();
        self.tokens.clear();
        let mut add = |fd: RawFd, events: libc::c_short, token: Token| {
            self.poll_fds.push(libc::pollfd {
                fd,
                events,
                revents: 0,
            });
            self.tokens.push(token);
        };
        // New attach clients before output: a client the daemon connected before starting the
        // process is registered before that process's first bytes are forwarded.
        add(
            self.attach_listener.as_raw_fd(),
            libc::POLLIN,
            Token::AttachListener,
        );
        add(
            self.control_listener.as_raw_fd(),
            libc::POLLIN,
            Token::ControlListener,
        );
        // Output before the signal fd: within one wakeup, data is read before the exit is noticed.
        for (i, out) in self.outputs.iter().enumerate() {
            if let (Some(out), false) = (out, blocked) {
                add(out.fd().as_raw_fd(), libc::POLLIN, Token::Output(i));
            }
        }
        if let Some(s) = self.stdin.as_ref().filter(|s| s.has_pending()) {
            add(s.fd.as_raw_fd(), libc::POLLOUT, Token::Stdin);
        }
        // Client input is taken only when stdin can absorb it: backpressure reaches the client
        // through its socket instead of growing our buffer.
        let stdin_ready = self.stdin.as_ref().is_none_or(StdinSink::ready);
        for (i, c) in self.attach.iter().enumerate() {
            let mut events = 0;
            let wants_stdin = c.mode.is_none_or(AttachMode::writes_stdin);
            if c.input_open && (stdin_ready || !wants_stdin || c.mode.is_none()) {
                events |= libc::POLLIN;
            }
            if c.has_output() {
                events |= libc::POLLOUT;
            }
            add(c.sock().as_raw_fd(), events, Token::Attach(i));
        }
        for (i, c) in self.control.iter().enumerate() {
            add(c.sock().as_raw_fd(), libc::POLLIN, Token::Control(i));
        }
        add(
            self.signals.as_fd().as_raw_fd(),
            libc::POLLIN,
            Token::Signal,
        );

        // SAFETY: poll_fds is a valid, exclusively borrowed array of poll_fds.len() entries.
        let n = unsafe {
            libc::poll(
                self.poll_fds.as_mut_ptr(),
                self.poll_fds.len() as libc::nfds_t,
                -1,
            )
        };
        if n < 0 {
            return match Errno::last() {
                Errno::EINTR => Ok(()),
                e => Err(sys("poll")(e)),
            };
        }
        for j in 0..self.tokens.len() {
            let revents = self.poll_fds[j].revents;
            if revents != 0 {
                self.dispatch(self.tokens[j], revents);
            }
        }
        Ok(())
    }

    fn dispatch(&mut self, token: Token, revents: libc::c_short) {
        match token {
            Token::Output(i) => {
                if let Some(out) = self.outputs[i].as_mut() {
                    let framed = self.pty.is_none();
                    if let Pumped::Closed = pump(out, &mut self.attach, self.log.as_mut(), framed) {
                        self.outputs[i] = None;
                    }
                }
            }
            Token::Stdin => {
                if let Some(s) = self.stdin.as_mut() {
                    if s.flush() == StdinState::Done {
                        self.stdin = None;
                    }
                }
            }
            Token::AttachListener => self.accept_attach_clients(),
            Token::ControlListener => {
                while let Ok((sock, _)) = self.control_listener.accept() {
                    if let Ok(c) = ControlClient::new(sock) {
                        self.control.push(c);
                    }
                }
            }
            Token::Attach(i) => self.on_attach(i, revents),
            Token::Control(i) => {
                let lines = self.control[i].read_lines(&mut self.input);
                for line in lines {
                    let result = self.execute(&line);
                    self.control[i].answer(result);
                }
            }
            Token::Signal => {
                // Every queued signal is consumed; only SIGCHLD means anything.
                while let Ok(Some(_)) = self.signals.read_signal() {}
                self.reap();
            }
        }
    }

    fn on_attach(&mut self, i: usize, revents: libc::c_short) {
        let c = &mut self.attach[i];
        if revents & libc::POLLOUT != 0 {
            c.flush();
        }
        let readable = revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
        if !(readable && c.input_open) {
            if revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                c.dead = true;
            }
            return;
        }
        let Some(n) = c.read(&mut self.input) else {
            return;
        };
        if n == 0 {
            c.input_open = false;
            // As dockerd: a tty's input is not closed when a client leaves (it ends a session
            // with ^D instead), so a client that detached can attach again and keep typing.
            if c.mode == Some(AttachMode::StdinOnce) && self.pty.is_none() {
                close_stdin(&mut self.stdin);
            }
            return;
        }
        let mut data = &self.input[..n];
        if c.mode.is_none() {
            match AttachMode::from_byte(data[0]) {
                Ok(mode) => c.mode = Some(mode),
                Err(_) => {
                    c.dead = true;
                    return;
                }
            }
            data = &data[1..];
        }
        let to_stdin = c.mode.is_some_and(AttachMode::writes_stdin);
        if let (true, false, Some(s)) = (to_stdin, data.is_empty(), self.stdin.as_mut()) {
            if s.write(data) == StdinState::Done {
                self.stdin = None;
            }
        }
    }

    /// Carries out one control request.
    fn execute(&mut self, line: &str) -> Result<(), String> {
        match ControlRequest::parse(line).map_err(|e| e.to_string())? {
            ControlRequest::Resize { rows, cols } => {
                let pty = self.pty.as_ref().ok_or("the container has no terminal")?;
                let ws = libc::winsize {
                    ws_row: rows,
                    ws_col: cols,
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                // SAFETY: ws is a valid winsize for the duration of the call.
                unsafe { set_winsize(pty.as_raw_fd(), &ws) }
                    .map(drop)
                    .map_err(|e| format!("set window size: {e}"))
            }
            ControlRequest::ReopenLog => self
                .log
                .as_mut()
                .ok_or("the shim has no log file")?
                .reopen()
                .map_err(|e| e.to_string()),
            ControlRequest::CloseStdin => {
                close_stdin(&mut self.stdin);
                Ok(())
            }
        }
    }

    /// Reaps every exited child: the monitored process, and anything else reparented to us.
    fn reap(&mut self) {
        loop {
            let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(Errno::ECHILD) => return,
                Err(Errno::EINTR) => continue,
                Err(_) => return,
                Ok(status) => status,
            };
            let (code, signal) = match status {
                WaitStatus::Exited(_, code) => (code, None),
                WaitStatus::Signaled(_, sig, _) => (128 + sig as i32, Some(sig as i32)),
                _ => continue,
            };
            if status.pid().is_some_and(|p| p.as_raw() == self.pid) {
                self.exit = Some(Exit {
                    code,
                    signal,
                    at: Timestamp::now(),
                });
            }
        }
    }

    fn accept_attach_clients(&mut self) {
        while let Ok((sock, _)) = self.attach_listener.accept() {
            if let Ok(c) = AttachClient::new(sock) {
                self.attach.push(c);
            }
        }
    }

    /// Drains output, writes the exit file, gives clients a moment to take the rest, cleans up.
    fn finish(mut self, exit: Exit) -> Result<(), ShimError> {
        // A client still in the listen backlog connected before the exit (the daemon connects
        // early attachers before it starts the process): it gets the output too.
        self.accept_attach_clients();
        let framed = self.pty.is_none();
        for i in 0..self.outputs.len() {
            let mut budget = DRAIN_MAX;
            loop {
                if self.backpressure && !self.wait_for_room() {
                    break;
                }
                let Some(out) = self.outputs[i].as_mut() else {
                    break;
                };
                match pump(out, &mut self.attach, self.log.as_mut(), framed) {
                    Pumped::Data(n) if n < budget => budget -= n,
                    Pumped::Closed => break,
                    Pumped::Data(_) | Pumped::Empty => {
                        // Writers outlive the process: log the incomplete line as at EOF.
                        log_lines(out, self.log.as_mut(), true);
                        break;
                    }
                }
            }
        }
        let record = ExitRecord {
            code: exit.code,
            signal: exit.signal,
            finished_at: exit.at.to_rfc3339_nano(),
            oom_killed: self.oom.as_ref().is_some_and(OomWatch::oom_killed),
        };
        let written = StateDir::write_atomic(&self.state_dir, EXIT_FILE, &record.encode());
        // Closing a unix socket with unread bytes in it (a fast exec's client may not have had
        // its mode byte read yet) makes the peer's reads fail with ECONNRESET, which would cost
        // the client the output still queued for it. The process is gone; its input is moot.
        for c in &mut self.attach {
            while c.input_open && !c.dead {
                match c.read(&mut self.input) {
                    Some(0) => c.input_open = false,
                    Some(_) => {}
                    None => break,
                }
            }
        }
        self.flush_clients();
        for name in [ATTACH_SOCKET, CONTROL_SOCKET, SHIM_PID_FILE] {
            let _ = std::fs::remove_file(self.state_dir.join(name));
        }
        // Dropping self closes every client: control connections see EOF, the daemon's cue to
        // read the exit file.
        written
    }

    fn flush_clients(&mut self) {
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        loop {
            self.attach.retain(|c| !c.dead && c.has_output());
            let left = deadline.saturating_duration_since(Instant::now());
            if self.attach.is_empty() || left.is_zero() {
                return;
            }
            self.poll_fds.clear();
            self.poll_fds
                .extend(self.attach.iter().map(|c| libc::pollfd {
                    fd: c.sock().as_raw_fd(),
                    events: libc::POLLOUT,
                    revents: 0,
                }));
            self.poll_and_flush(left);
        }
    }
}

/// Reads one chunk of output, copies it to every attach client and logs complete lines.
fn pump(
    out: &mut Output,
    attach: &mut [AttachClient],
    log: Option<&mut LogFile>,
    framed: bool,
) -> Pumped {
    match out.fill() {
        Fill::Data { start } => {
            let data = &out.buffered()[start..];
            let frame = framed.then_some(out.stream);
            for c in attach.iter_mut().filter(|c| !c.dead) {
                c.send(frame, data);
            }
            let n = data.len();
            log_lines(out, log, false);
            Pumped::Data(n)
        }
        Fill::Empty => Pumped::Empty,
        Fill::Closed => {
            log_lines(out, log, true);
            Pumped::Closed
        }
    }
}

fn log_lines(out: &mut Output, log: Option<&mut LogFile>, eof: bool) {
    match log {
        Some(log) => log.write_lines(out, eof),
        None => out.discard(),
    }
}

/// Closes stdin once pending input is written (stdin-once EOF or `close-stdin`).
fn close_stdin(stdin: &mut Option<StdinSink>) {
    if let Some(s) = stdin.as_mut() {
        s.closing = true;
        if s.flush() == StdinState::Done {
            *stdin = None;
        }
    }
}
