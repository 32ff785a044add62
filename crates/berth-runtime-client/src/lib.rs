//! A typed client of an OCI runtime's command line, as go-runc is for containerd's shims: each
//! verb builds a [`std::process::Command`] with runc's argument order, so berthd and berth-shim
//! never assemble argv themselves. Who runs which verb is in docs/ARCHITECTURE.md.
//!
//! Callers either [`RuntimeCommand::run`] it here (blocking: the shim), or take it apart with
//! [`RuntimeCommand::into_parts`], run the `Command` elsewhere (berthd: through
//! `tokio::process::Command::from`, off the blocking pool) and hand the output back to
//! [`Checker::check`].

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output};

/// An OCI runtime binary and the state root it keeps its containers under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// A path, or a name looked up in `PATH`.
    pub path: PathBuf,
    /// `--root`; the runtime's own default without it.
    pub root: Option<PathBuf>,
}

/// `create`: the container's process, stopped before the user's program until `start`.
#[derive(Debug, Clone, Copy)]
pub struct CreateArgs<'a> {
    pub id: &'a str,
    pub bundle: &'a Path,
    pub pid_file: &'a Path,
    /// Where the runtime sends the pty master (the process gets a terminal).
    pub console_socket: Option<&'a Path>,
}

/// `exec --detach`: one more process in a running container, described by a `process.json`.
#[derive(Debug, Clone, Copy)]
pub struct ExecArgs<'a> {
    pub id: &'a str,
    pub process: &'a Path,
    pub pid_file: &'a Path,
    pub console_socket: Option<&'a Path>,
}

impl Runtime {
    pub fn create(&self, args: &CreateArgs<'_>) -> RuntimeCommand {
        let mut cmd = self.verb("create", args.id);
        cmd.command.arg("--bundle").arg(args.bundle);
        cmd.command.arg("--pid-file").arg(args.pid_file);
        cmd.console_socket(args.console_socket).id_last()
    }

    /// `run --detach`: `create` and `start` in one runtime process, for a caller with nothing
    /// to do between the two.
    pub fn run_detached(&self, args: &CreateArgs<'_>) -> RuntimeCommand {
        let mut cmd = self.verb("run", args.id);
        cmd.command.arg("--bundle").arg(args.bundle);
        cmd.command.arg("--pid-file").arg(args.pid_file);
        cmd.command.arg("--detach");
        cmd.console_socket(args.console_socket).id_last()
    }

    pub fn exec(&self, args: &ExecArgs<'_>) -> RuntimeCommand {
        let mut cmd = self.verb("exec", args.id);
        cmd.command
            .arg("--process")
            .arg(args.process)
            .arg("--detach");
        cmd.command.arg("--pid-file").arg(args.pid_file);
        cmd.console_socket(args.console_socket).id_last()
    }

    /// Lets a created container run its program.
    pub fn start(&self, id: &str) -> RuntimeCommand {
        self.verb("start", id).id_last()
    }

    /// `signal` as the runtime takes it: `SIGTERM`, `TERM` or `15`. `all`: every process of
    /// the container, not only its init.
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> RuntimeCommand {
        let mut cmd = self.verb("kill", id);
        if all {
            cmd.command.arg("--all");
        }
        let mut cmd = cmd.id_last();
        cmd.command.arg(signal);
        cmd
    }

    /// `force`: kill a container that still runs rather than refuse.
    pub fn delete(&self, id: &str, force: bool) -> RuntimeCommand {
        let mut cmd = self.verb("delete", id);
        if force {
            cmd.command.arg("--force");
        }
        cmd.id_last()
    }

    pub fn pause(&self, id: &str) -> RuntimeCommand {
        self.verb("pause", id).id_last()
    }

    pub fn resume(&self, id: &str) -> RuntimeCommand {
        self.verb("resume", id).id_last()
    }

    /// New limits from `resources`, a file holding the spec's `linux.resources` object.
    pub fn update(&self, id: &str, resources: &Path) -> RuntimeCommand {
        let mut cmd = self.verb("update", id);
        cmd.command.arg("--resources").arg(resources);
        cmd.id_last()
    }

    /// `<path> [--root R] <verb>`; the verb's options and the id follow.
    fn verb(&self, verb: &'static str, id: &str) -> RuntimeCommand {
        let mut command = Command::new(&self.path);
        if let Some(root) = &self.root {
            command.arg("--root").arg(root);
        }
        command.arg(verb);
        RuntimeCommand {
            command,
            checker: Checker {
                path: self.path.clone(),
                verb,
                id: id.to_string(),
            },
        }
    }
}

/// One runtime invocation, ready to run; [`RuntimeCommand::command_mut`] wires its stdio.
#[derive(Debug)]
pub struct RuntimeCommand {
    command: Command,
    checker: Checker,
}

impl RuntimeCommand {
    pub fn verb(&self) -> &'static str {
        self.checker.verb
    }

    pub fn command_mut(&mut self) -> &mut Command {
        &mut self.command
    }

    /// Runs it to completion (blocking), capturing its output.
    pub fn run(mut self) -> Result<Output, RuntimeError> {
        let output = self.command.output();
        self.checker.check(output)
    }

    /// The command, to run elsewhere, and what judges its output.
    pub fn into_parts(self) -> (Command, Checker) {
        (self.command, self.checker)
    }

    fn console_socket(mut self, socket: Option<&Path>) -> Self {
        if let Some(socket) = socket {
            self.command.arg("--console-socket").arg(socket);
        }
        self
    }

    /// runc takes the id after the verb's options.
    fn id_last(mut self) -> Self {
        self.command.arg(&self.checker.id);
        self
    }
}

/// Turns the outcome of one runtime invocation into its typed result.
#[derive(Debug)]
pub struct Checker {
    path: PathBuf,
    verb: &'static str,
    id: String,
}

impl Checker {
    /// A non-zero exit is an error carrying the runtime's stderr (its message).
    pub fn check(self, output: io::Result<Output>) -> Result<Output, RuntimeError> {
        let output = output.map_err(|source| RuntimeError::Spawn {
            path: self.path,
            verb: self.verb,
            id: self.id.clone(),
            source,
        })?;
        if output.status.success() {
            return Ok(output);
        }
        Err(RuntimeError::Failed {
            verb: self.verb,
            id: self.id,
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        })
    }
}

/// Why a runtime invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("container {id}: run {path} {verb}: {source}", path = path.display())]
    Spawn {
        path: PathBuf,
        verb: &'static str,
        id: String,
        source: io::Error,
    },
    /// `stderr` is the runtime's own message.
    #[error("container {id}: runtime {verb} failed: {stderr}")]
    Failed {
        verb: &'static str,
        id: String,
        status: ExitStatus,
        stderr: String,
    },
}

#[cfg(test)]
mod tests;
