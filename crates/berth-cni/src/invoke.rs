//! Running one plugin binary: the spec's environment, the config on stdin, the answer on
//! stdout, and a deadline after which the plugin and everything it started are killed.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Command, InvokeError, PluginError};
use crate::spawn;

/// How long to wait for the pipes to close once the plugin's process group was killed; a
/// process that left the group (setsid) could hold them open forever.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// How much of a plugin's stderr goes into an error message.
const MAX_ERROR_OUTPUT: usize = 4096;

/// The environment of the per-attachment commands (ADD, DEL, CHECK).
pub(crate) struct AttachmentEnv<'a> {
    pub container_id: &'a str,
    /// Empty `CNI_NETNS` when absent, which the spec allows for DEL.
    pub netns: Option<&'a Path>,
    pub ifname: &'a str,
    /// `CNI_ARGS`: `K=V` pairs joined with `;`.
    pub args: String,
}

/// Finds and runs plugins.
#[derive(Debug, Clone)]
pub(crate) struct Invoker {
    pub dirs: Vec<PathBuf>,
    pub timeout: Duration,
}

enum Event {
    Exited(std::io::Result<ExitStatus>),
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
}

impl Invoker {
    /// The executable file `plugin` in the first plugin directory holding one.
    pub(crate) fn find(&self, plugin: &str) -> Result<PathBuf, InvokeError> {
        self.dirs
            .iter()
            .map(|dir| dir.join(plugin))
            .find(|path| {
                std::fs::metadata(path)
                    .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
            })
            .ok_or_else(|| InvokeError::NotFound {
                plugin: plugin.to_owned(),
                dirs: self.dirs.clone(),
            })
    }

    /// Runs `path` for `command` and returns its stdout when it succeeds.
    pub(crate) fn exec(
        &self,
        path: &Path,
        command: Command,
        attachment: Option<&AttachmentEnv<'_>>,
        stdin: Vec<u8>,
    ) -> Result<Vec<u8>, InvokeError> {
        // The plugin inherits our environment (it needs PATH for iptables and the like), but
        // never a CNI_* variable of ours: only the ones of this call.
        let mut env: Vec<Vec<u8>> = std::env::vars_os()
            .filter(|(key, _)| !key.as_encoded_bytes().starts_with(b"CNI_"))
            .map(|(key, value)| pair(key.as_encoded_bytes(), value.as_encoded_bytes()))
            .collect();
        env.push(pair(b"CNI_COMMAND", command.as_str().as_bytes()));
        env.push(pair(b"CNI_PATH", self.cni_path().as_encoded_bytes()));
        if let Some(a) = attachment {
            let netns = a.netns.unwrap_or(Path::new(""));
            env.push(pair(b"CNI_CONTAINERID", a.container_id.as_bytes()));
            env.push(pair(b"CNI_NETNS", netns.as_os_str().as_encoded_bytes()));
            env.push(pair(b"CNI_IFNAME", a.ifname.as_bytes()));
            env.push(pair(b"CNI_ARGS", a.args.as_bytes()));
        }
        // The plugin dies with the thread that runs it (which waits for it): a caller killed
        // in the middle of an ADD must not leave the plugin adding after a restarted caller
        // has swept the attachment from the cache. A group of its own, so a timeout kills the
        // IPAM plugin or iptables it runs as well.
        let child = spawn::spawn(path, &env).map_err(|source| InvokeError::Spawn {
            path: path.to_owned(),
            source,
        })?;
        let pgid = child.pid;

        let (tx, rx) = mpsc::channel();
        spawn_reader(child.stdout, tx.clone(), Event::Stdout);
        spawn_reader(child.stderr, tx.clone(), Event::Stderr);
        let mut input = child.stdin;
        thread::spawn(move || {
            // A plugin may exit without reading its config (VERSION does); the broken pipe is
            // not an error of ours, its exit status tells what happened.
            let _ = input.write_all(&stdin);
            drop(input);
            let _ = tx.send(Event::Exited(spawn::wait(pgid)));
        });

        let outcome = collect(&rx, pgid, self.timeout);
        if outcome.killed {
            return Err(InvokeError::Timeout {
                path: path.to_owned(),
                timeout: self.timeout,
            });
        }
        let status = outcome.status.map_err(|source| InvokeError::Spawn {
            path: path.to_owned(),
            source,
        })?;
        if status.success() {
            return Ok(outcome.stdout);
        }
        if let Ok(error) = serde_json::from_slice::<PluginError>(&outcome.stdout) {
            return Err(InvokeError::Plugin {
                path: path.to_owned(),
                error,
            });
        }
        // No error object: whatever the plugin said is the best explanation there is.
        let said = if outcome.stderr.is_empty() {
            outcome.stdout
        } else {
            outcome.stderr
        };
        Err(InvokeError::Failed {
            path: path.to_owned(),
            status,
            output: truncate(String::from_utf8_lossy(&said).trim()),
        })
    }

    /// `CNI_PATH`: the plugin directories, for plugins that run others (IPAM).
    fn cni_path(&self) -> OsString {
        let mut joined = OsString::new();
        for (i, dir) in self.dirs.iter().enumerate() {
            if i > 0 {
                joined.push(":");
            }
            joined.push(dir);
        }
        joined
    }
}

fn spawn_reader<R: Read + Send + 'static>(
    mut pipe: R,
    tx: mpsc::Sender<Event>,
    event: fn(Vec<u8>) -> Event,
) {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error ends the output like EOF; what was read is kept.
        let _ = pipe.read_to_end(&mut buf);
        let _ = tx.send(event(buf));
    });
}

struct Outcome {
    status: std::io::Result<ExitStatus>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    killed: bool,
}

/// Waits for the exit and both pipes until the deadline, then kills the process group and
/// waits a little longer.
fn collect(rx: &mpsc::Receiver<Event>, pgid: libc::pid_t, timeout: Duration) -> Outcome {
    let mut status = None;
    let mut stdout = None;
    let mut stderr = None;
    let mut killed = false;
    let mut deadline = Instant::now() + timeout;
    while status.is_none() || stdout.is_none() || stderr.is_none() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Event::Exited(s)) => status = Some(s),
            Ok(Event::Stdout(b)) => stdout = Some(b),
            Ok(Event::Stderr(b)) => stderr = Some(b),
            Err(mpsc::RecvTimeoutError::Timeout) if !killed => {
                // SAFETY: kill(2) with a negative pid signals our child's process group, which
                // exists until its last member is reaped; ESRCH (already gone) is harmless.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                killed = true;
                deadline = Instant::now() + KILL_GRACE;
            }
            // Grace exhausted: the reader threads are left to finish on their own.
            Err(_) => break,
        }
    }
    Outcome {
        status: status.unwrap_or_else(|| Err(std::io::Error::from(std::io::ErrorKind::TimedOut))),
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
        killed,
    }
}

/// An environment entry, `KEY=VALUE`.
fn pair(key: &[u8], value: &[u8]) -> Vec<u8> {
    [key, b"=", value].concat()
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_OUTPUT) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
