//! The daemon's side: spawn a shim, learn whether the runtime created the container, then talk to
//! the shim over its state directory. Blocking std I/O only; berthd calls it from a blocking task.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use crate::protocol::{
    self, AttachMode, ControlRequest, ExitRecord, LogFormat, ProtocolError, StartupReport, Stream,
};

/// Why talking to a shim failed. Each variant names the step.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot run shim {path}: {source}")]
    Spawn { path: PathBuf, source: io::Error },
    /// The shim refused its arguments (or could not detach) before it forked away.
    #[error("shim exited with {status}: {stderr}")]
    ShimFailed { status: ExitStatus, stderr: String },
    #[error("reading the shim's startup report: {0}")]
    SyncRead(io::Error),
    #[error("reading the attach stream: {0}")]
    AttachRead(io::Error),
    #[error("the shim exited without reporting whether the container was created")]
    NoReport,
    /// The runtime (or the shim, before it started the runtime) failed; its own words.
    #[error("creating the container failed: {0}")]
    Create(String),
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// The shim answered a control request with `error TEXT`.
    #[error("shim refused {request}: {reason}")]
    Refused {
        request: ControlRequest,
        reason: String,
    },
    #[error("shim closed the control connection")]
    Closed,
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ClientError {
    let path = path.to_path_buf();
    move |source| ClientError::Io {
        action,
        path,
        source,
    }
}

/// Where the container's log goes and, for json-file, how it rotates.
#[derive(Debug, Clone)]
pub struct LogOptions {
    pub path: PathBuf,
    /// Rotate once the file reaches this many bytes; 0 never rotates (Docker's `max-size`).
    /// Must be 0 with [`LogFormat::Cri`]: the kubelet rotates those files.
    pub max_size: u64,
    /// Files kept including the current one (Docker's `max-file`); 1 truncates in place.
    /// Must be 1 with [`LogFormat::Cri`].
    pub max_files: u32,
}

/// Everything a shim is started with: one field per command-line flag (see docs/shim.md).
#[derive(Debug, Clone)]
pub struct ShimCommand {
    /// The `berth-shim` binary.
    pub shim: PathBuf,
    pub id: String,
    pub bundle: PathBuf,
    /// Private directory of this shim: pid file, sockets, exit file. Should be mode 0700.
    pub state_dir: PathBuf,
    /// runc-compatible runtime binary.
    pub runtime: PathBuf,
    pub runtime_root: Option<PathBuf>,
    pub log: Option<LogOptions>,
    /// The format of `log`: json-file (the default) or the kubelet's CRI format.
    pub log_format: LogFormat,
    /// Give the process a pty (the bundle's `process.terminal` must agree).
    pub terminal: bool,
    /// Keep a stdin for attach clients to write to.
    pub stdin: bool,
    /// Run `runtime exec --process FILE` in an existing container instead of `create`.
    pub exec_process: Option<PathBuf>,
    /// Exec mode: run the process only after the first attach client connected; use
    /// [`ShimCommand::spawn_attached`], which connects while waiting for the report.
    pub wait_attach: bool,
    /// Container mode: the process runs when the shim reports (`runtime run --detach`), for a
    /// caller with nothing to do between create and start.
    pub start: bool,
}

/// A shim that reported success: the runtime created the process and the shim watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub shim_pid: i32,
    /// Host pid of the container init (or exec process).
    pub pid: i32,
}

impl ShimCommand {
    pub fn new(
        shim: impl Into<PathBuf>,
        id: impl Into<String>,
        bundle: impl Into<PathBuf>,
        state_dir: impl Into<PathBuf>,
        runtime: impl Into<PathBuf>,
    ) -> Self {
        Self {
            shim: shim.into(),
            id: id.into(),
            bundle: bundle.into(),
            state_dir: state_dir.into(),
            runtime: runtime.into(),
            runtime_root: None,
            log: None,
            log_format: LogFormat::JsonFile,
            terminal: false,
            stdin: false,
            exec_process: None,
            wait_attach: false,
            start: false,
        }
    }

    /// The shim's arguments, without `--sync-fd` (for logging, or for running it by other means).
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut flag = |name: &str, value: &Path| {
            a.push(name.into());
            a.push(value.into());
        };
        flag("--id", Path::new(&self.id));
        flag("--bundle", &self.bundle);
        flag("--state-dir", &self.state_dir);
        flag("--runtime", &self.runtime);
        if let Some(root) = &self.runtime_root {
            flag("--runtime-root", root);
        }
        if let Some(log) = &self.log {
            flag("--log-path", &log.path);
            // Only when asked for, so json-file command lines stay as they were.
            if self.log_format != LogFormat::JsonFile {
                flag("--log-format", Path::new(self.log_format.name()));
            }
            flag("--log-max-size", Path::new(&log.max_size.to_string()));
            flag("--log-max-files", Path::new(&log.max_files.to_string()));
        }
        if let Some(process) = &self.exec_process {
            flag("--exec-process", process);
        }
        if self.terminal {
            a.push("--terminal".into());
        }
        if self.stdin {
            a.push("--stdin".into());
        }
        if self.wait_attach {
            a.push("--wait-attach".into());
        }
        if self.start {
            a.push("--start".into());
        }
        a
    }

    /// Starts the shim and blocks until it reports. On `Ok` the process exists in the runtime's
    /// `created` state (call `runtime start`), or is running (exec mode, or `start`).
    ///
    /// The shim detaches itself (double fork, new session), so the child this spawns exits at
    /// once and is reaped here; the shim is then a child of the nearest subreaper or init. If
    /// berthd is itself a subreaper it inherits shims and must reap them.
    pub fn spawn(&self) -> Result<Started, ClientError> {
        self.spawn_inner(None).map(|(started, _)| started)
    }

    /// Like [`ShimCommand::spawn`], and connects to the attach socket as soon as the shim
    /// listens, while it still waits for the report. With `wait_attach` the shim runs the exec
    /// only after this connection exists, so the client sees all of the process's output.
    pub fn spawn_attached(&self, mode: AttachMode) -> Result<(Started, UnixStream), ClientError> {
        let (started, sock) = self.spawn_inner(Some(mode))?;
        match sock {
            Some(sock) => Ok((started, sock)),
            // The shim reported before we got in (it timed out waiting, or was not asked to).
            None => Ok((started, attach(&self.state_dir, mode)?)),
        }
    }

    fn spawn_inner(
        &self,
        attach_mode: Option<AttachMode>,
    ) -> Result<(Started, Option<UnixStream>), ClientError> {
        let (mut reader, writer) =
            io::pipe().map_err(io_err("create sync pipe for", &self.shim))?;
        let mut cmd = Command::new(&self.shim);
        // The pipe is the shim's stdout: no pre-exec hook to place it, so the spawn is a
        // posix_spawn (vfork), not a fork copying the daemon's page tables.
        cmd.args(self.args())
            .arg("--sync-fd")
            .arg("1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped());
        // Returns once the first shim process exits, right after its fork; the daemonized shim
        // has pointed its stderr at /dev/null by then, so reading stderr to EOF cannot hang.
        let out = cmd.output().map_err(|source| ClientError::Spawn {
            path: self.shim.clone(),
            source,
        })?;
        // Our copy of the write end goes with the command: EOF then comes from the shim.
        drop(cmd);
        if !out.status.success() {
            return Err(ClientError::ShimFailed {
                status: out.status,
                stderr: String::from_utf8_lossy(&out.stderr).trim_end().to_owned(),
            });
        }
        let sock = match attach_mode {
            Some(mode) => attach_while_starting(&self.state_dir, mode, &reader),
            None => None,
        };
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .map_err(ClientError::SyncRead)?;
        if text.is_empty() {
            return Err(ClientError::NoReport);
        }
        match StartupReport::parse(&text)? {
            StartupReport::Failed(msg) => Err(ClientError::Create(msg)),
            StartupReport::Ok { pid, shim_pid } => Ok((Started { shim_pid, pid }, sock)),
        }
    }
}

/// How long [`ShimCommand::spawn_attached`] tries to reach the attach socket.
const ATTACH_WHILE_STARTING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Connects to the attach socket once it exists; gives up when the shim writes its report
/// first (startup failed, or it did not wait) or after a timeout.
fn attach_while_starting(
    state_dir: &Path,
    mode: AttachMode,
    report: &io::PipeReader,
) -> Option<UnixStream> {
    let deadline = std::time::Instant::now() + ATTACH_WHILE_STARTING_TIMEOUT;
    while std::time::Instant::now() < deadline {
        if let Ok(sock) = attach(state_dir, mode) {
            return Some(sock);
        }
        let mut pfd = libc::pollfd {
            fd: report.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: pfd is one valid pollfd for the duration of the call.
        if unsafe { libc::poll(&mut pfd, 1, 5) } != 0 {
            // Report written (or the pipe closed): the shim is past the point of waiting.
            return None;
        }
    }
    None
}

/// Connects to the attach socket. Without a tty, read the stream with [`read_frame`]; with a
/// tty it is the raw terminal output. Write stdin to the stream; `shutdown(Write)` ends it.
pub fn attach(state_dir: &Path, mode: AttachMode) -> Result<UnixStream, ClientError> {
    let path = state_dir.join(protocol::ATTACH_SOCKET);
    let mut sock = UnixStream::connect(&path).map_err(io_err("connect to", &path))?;
    sock.write_all(&[mode.as_byte()])
        .map_err(io_err("send attach mode to", &path))?;
    Ok(sock)
}

/// One chunk of non-tty attach output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub stream: Stream,
    pub data: Vec<u8>,
}

/// Reads the next frame; `None` at EOF (the shim exited or dropped this client as too slow).
pub fn read_frame(r: &mut impl Read) -> Result<Option<Frame>, ClientError> {
    let mut header = [0u8; protocol::FRAME_HEADER_LEN];
    match r.read_exact(&mut header) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(ClientError::AttachRead(e)),
    }
    let (stream, len) = protocol::parse_frame_header(header)?;
    let mut data = vec![0u8; len as usize];
    r.read_exact(&mut data).map_err(ClientError::AttachRead)?;
    Ok(Some(Frame { stream, data }))
}

/// A connection to the control socket. Keep it open: EOF on it means the shim exited, after
/// which [`read_exit`] has the status.
pub struct Control {
    path: PathBuf,
    writer: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Control {
    pub fn connect(state_dir: &Path) -> Result<Self, ClientError> {
        let path = state_dir.join(protocol::CONTROL_SOCKET);
        let writer = UnixStream::connect(&path).map_err(io_err("connect to", &path))?;
        let reader = BufReader::new(writer.try_clone().map_err(io_err("clone", &path))?);
        Ok(Self {
            path,
            writer,
            reader,
        })
    }

    /// Sends one request and waits for its answer.
    pub fn request(&mut self, request: ControlRequest) -> Result<(), ClientError> {
        self.writer
            .write_all(format!("{request}\n").as_bytes())
            .map_err(io_err("write to", &self.path))?;
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .map_err(io_err("read from", &self.path))?;
        if n == 0 {
            return Err(ClientError::Closed);
        }
        match line.trim_end().strip_prefix("error ") {
            None => Ok(()),
            Some(reason) => Err(ClientError::Refused {
                request,
                reason: reason.to_owned(),
            }),
        }
    }

    pub fn resize(&mut self, rows: u16, cols: u16) -> Result<(), ClientError> {
        self.request(ControlRequest::Resize { rows, cols })
    }

    pub fn reopen_log(&mut self) -> Result<(), ClientError> {
        self.request(ControlRequest::ReopenLog)
    }

    pub fn close_stdin(&mut self) -> Result<(), ClientError> {
        self.request(ControlRequest::CloseStdin)
    }

    /// Blocks until the shim closes the connection, i.e. until it has written the exit file
    /// and is exiting (or died).
    pub fn wait_closed(&mut self) -> Result<(), ClientError> {
        let mut sink = Vec::new();
        self.reader
            .read_to_end(&mut sink)
            .map_err(io_err("read from", &self.path))?;
        Ok(())
    }
}

/// The exit record, or `None` while the process runs (or if the shim died without one).
pub fn read_exit(state_dir: &Path) -> Result<Option<ExitRecord>, ClientError> {
    let path = state_dir.join(protocol::EXIT_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(ExitRecord::parse(&text)?)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err("read", &path)(e)),
    }
}
