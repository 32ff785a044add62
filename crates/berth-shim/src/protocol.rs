//! Wire and file formats shared by the shim and berthd. All of them are plain text or fixed
//! binary headers so the shim needs no serialization crate, and a human can read every file in a
//! state directory with `cat`.

use std::fmt;

/// `<state-dir>/shim.pid`: pid of the shim process (decimal, newline).
pub const SHIM_PID_FILE: &str = "shim.pid";
/// `<state-dir>/container.pid`: the runtime's `--pid-file` (pid of the monitored process).
pub const CONTAINER_PID_FILE: &str = "container.pid";
/// `<state-dir>/attach`: SOCK_STREAM socket streaming output and accepting stdin.
pub const ATTACH_SOCKET: &str = "attach";
/// `<state-dir>/ctl`: SOCK_STREAM socket taking [`ControlRequest`] lines.
pub const CONTROL_SOCKET: &str = "ctl";
/// `<state-dir>/exit`: the [`ExitRecord`], written atomically once the process is gone.
pub const EXIT_FILE: &str = "exit";

/// Everything a peer can send that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("attach frame names stream {0}, expected 1 (stdout) or 2 (stderr)")]
    FrameStream(u8),
    #[error("attach mode byte {0:#04x} is not 'o', 'i' or 'I'")]
    AttachMode(u8),
    #[error("unknown control command {0:?}")]
    UnknownCommand(String),
    #[error("control command {command:?}: bad argument {value:?}")]
    BadArgument {
        command: &'static str,
        value: String,
    },
    #[error("shim startup report {0:?} is neither `ok PID` nor `error TEXT`")]
    Startup(String),
    #[error("exit record line {0:?} is malformed")]
    ExitLine(String),
    #[error("exit record lacks {0}")]
    ExitField(&'static str),
}

/// Output stream of a container, numbered as in Docker's attach framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout = 1,
    Stderr = 2,
}

impl Stream {
    /// The `stream` value of Docker's json-file log lines.
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The container log's format (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Docker's json-file driver, rotated by the shim (`--log-max-size`, `--log-max-files`).
    #[default]
    JsonFile,
    /// The Kubernetes CRI format (`TIME STREAM F|P CONTENT` lines) the kubelet and `crictl logs`
    /// read; the kubelet rotates it itself and then asks for `reopen-log`.
    Cri,
}

impl LogFormat {
    /// The `--log-format` value.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::JsonFile => "json-file",
            LogFormat::Cri => "cri",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "json-file" => Some(LogFormat::JsonFile),
            "cri" => Some(LogFormat::Cri),
            _ => None,
        }
    }
}

/// Length of Docker's multiplexing header: `[stream, 0, 0, 0, len as u32 big-endian]`.
pub const FRAME_HEADER_LEN: usize = 8;

/// The header that precedes `len` bytes of `stream` on a non-tty attach connection.
pub fn frame_header(stream: Stream, len: u32) -> [u8; FRAME_HEADER_LEN] {
    let l = len.to_be_bytes();
    [stream as u8, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// Inverse of [`frame_header`]: the stream and payload length.
pub fn parse_frame_header(h: [u8; FRAME_HEADER_LEN]) -> Result<(Stream, u32), ProtocolError> {
    let stream = match h[0] {
        1 => Stream::Stdout,
        2 => Stream::Stderr,
        other => return Err(ProtocolError::FrameStream(other)),
    };
    Ok((stream, u32::from_be_bytes([h[4], h[5], h[6], h[7]])))
}

/// First byte an attach client sends: what it will do with the connection. A byte, not a
/// handshake, so a client is usable with one `write` and the shim keeps no per-client parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttachMode {
    /// Receive output only; anything sent later is discarded.
    Output,
    /// Also write to the container's stdin; closing the connection leaves stdin open
    /// (`docker attach` to a container created without `StdinOnce`).
    Stdin,
    /// Like `Stdin`, and shutting down the write side closes the container's stdin
    /// (Docker's `StdinOnce`, what `docker run -i` uses so `cat` sees EOF).
    StdinOnce,
}

impl AttachMode {
    pub fn as_byte(self) -> u8 {
        match self {
            AttachMode::Output => b'o',
            AttachMode::Stdin => b'i',
            AttachMode::StdinOnce => b'I',
        }
    }

    pub fn from_byte(b: u8) -> Result<Self, ProtocolError> {
        match b {
            b'o' => Ok(AttachMode::Output),
            b'i' => Ok(AttachMode::Stdin),
            b'I' => Ok(AttachMode::StdinOnce),
            other => Err(ProtocolError::AttachMode(other)),
        }
    }

    /// Whether bytes from this client go to the container's stdin.
    pub fn writes_stdin(self) -> bool {
        !matches!(self, AttachMode::Output)
    }
}

/// One line on the control socket. The shim answers every line with `ok` or `error TEXT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlRequest {
    /// `resize ROWS COLS`: set the pty window size (tty containers only).
    Resize { rows: u16, cols: u16 },
    /// `reopen-log`: reopen the log file, after something outside moved or truncated it.
    ReopenLog,
    /// `close-stdin`: close the container's stdin once pending input is written.
    CloseStdin,
}

impl ControlRequest {
    /// Parses one line without its newline.
    pub fn parse(line: &str) -> Result<Self, ProtocolError> {
        let mut words = line.split_ascii_whitespace();
        match words.next().unwrap_or("") {
            "resize" => {
                let mut dim = || {
                    let w = words.next().unwrap_or("");
                    w.parse::<u16>().map_err(|_| ProtocolError::BadArgument {
                        command: "resize",
                        value: w.to_owned(),
                    })
                };
                let rows = dim()?;
                let cols = dim()?;
                Ok(ControlRequest::Resize { rows, cols })
            }
            "reopen-log" => Ok(ControlRequest::ReopenLog),
            "close-stdin" => Ok(ControlRequest::CloseStdin),
            _ => Err(ProtocolError::UnknownCommand(line.to_owned())),
        }
    }
}

impl fmt::Display for ControlRequest {
    /// The wire form, without the newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ControlRequest::Resize { rows, cols } => write!(f, "resize {rows} {cols}"),
            ControlRequest::ReopenLog => f.write_str("reopen-log"),
            ControlRequest::CloseStdin => f.write_str("close-stdin"),
        }
    }
}

/// What the shim writes on `--sync-fd` before closing it: `ok PID SHIM_PID` or `error TEXT` (the
/// text may span lines and runs to EOF). The shim's own pid travels here rather than only in
/// `shim.pid` because a short-lived process may be gone, and the file removed, by the time the
/// spawner looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupReport {
    /// The runtime created the process: its host pid, and the pid of the shim watching it.
    Ok { pid: i32, shim_pid: i32 },
    /// The runtime (or the shim) failed; what it said.
    Failed(String),
}

impl StartupReport {
    pub fn encode(&self) -> String {
        match self {
            StartupReport::Ok { pid, shim_pid } => format!("ok {pid} {shim_pid}\n"),
            StartupReport::Failed(text) => format!("error {text}"),
        }
    }

    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        if let Some(pids) = text.strip_prefix("ok ") {
            let bad = || ProtocolError::Startup(text.to_owned());
            let mut words = pids.split_ascii_whitespace().map(str::parse::<i32>);
            return match (words.next(), words.next(), words.next()) {
                (Some(Ok(pid)), Some(Ok(shim_pid)), None) => {
                    Ok(StartupReport::Ok { pid, shim_pid })
                }
                _ => Err(bad()),
            };
        }
        match text.strip_prefix("error ") {
            Some(msg) => Ok(StartupReport::Failed(msg.trim_end().to_owned())),
            None => Err(ProtocolError::Startup(text.to_owned())),
        }
    }
}

/// Contents of the exit file: `key=value` lines, unknown keys ignored so fields can be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    /// Exit status, or 128 + signal number when a signal killed the process (as Docker reports).
    pub code: i32,
    /// The signal that killed the process, if one did.
    pub signal: Option<i32>,
    /// When the shim reaped the process, RFC 3339 with nanoseconds, UTC.
    pub finished_at: String,
    /// The container's memory cgroup counted an OOM kill (init processes only; a hint, as in
    /// Docker: the victim may have been another process of the container).
    pub oom_killed: bool,
}

impl ExitRecord {
    pub fn encode(&self) -> String {
        let mut s = format!("code={}\n", self.code);
        if let Some(sig) = self.signal {
            s.push_str(&format!("signal={sig}\n"));
        }
        s.push_str(&format!(
            "finished_at={}\noom_killed={}\n",
            self.finished_at, self.oom_killed
        ));
        s
    }

    pub fn parse(text: &str) -> Result<Self, ProtocolError> {
        let (mut code, mut signal, mut finished_at, mut oom_killed) = (None, None, None, false);
        for line in text.lines().filter(|l| !l.is_empty()) {
            let bad = || ProtocolError::ExitLine(line.to_owned());
            let (key, value) = line.split_once('=').ok_or_else(bad)?;
            match key {
                "code" => code = Some(value.parse().map_err(|_| bad())?),
                "signal" => signal = Some(value.parse().map_err(|_| bad())?),
                "finished_at" => finished_at = Some(value.to_owned()),
                "oom_killed" => oom_killed = value == "true",
                _ => {}
            }
        }
        Ok(ExitRecord {
            code: code.ok_or(ProtocolError::ExitField("code"))?,
            signal,
            finished_at: finished_at.ok_or(ProtocolError::ExitField("finished_at"))?,
            oom_killed,
        })
    }
}

#[cfg(test)]
mod tests;
