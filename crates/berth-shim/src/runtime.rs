//! Running `runtime create` (`run --detach` with `--start`, or `exec --detach`) with the container's stdio wired to the
//! shim, then collecting what the runtime left: the pid file and, with a terminal, the pty master.

use std::fs;
use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use berth_runtime_client::{CreateArgs, ExecArgs, Runtime};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::unistd::pipe2;

use crate::args::Args;
use crate::error::{io_err, sys, ShimError};
use crate::state::StateDir;
use berth_shim::protocol::CONTAINER_PID_FILE;

/// Where the runtime sends the pty master; exists only during startup.
const CONSOLE_SOCKET: &str = "console.sock";

/// The shim's ends of the container's stdio.
pub enum Io {
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    Pty(OwnedFd),
}

/// A process the runtime created and that is now our child (we are its subreaper).
pub struct Created {
    pub pid: i32,
    pub io: Io,
}

/// Runs the runtime and waits for it. In pipe mode the runtime's own stderr is the container's
/// stderr pipe (as with runc under containerd), so on failure its message is what sits in that
/// pipe; with a terminal the runtime's stdout and stderr go to a private pipe.
pub fn create(args: &Args, state: &mut StateDir) -> Result<Created, ShimError> {
    let pid_file = state.track(CONTAINER_PID_FILE)?;
    let console = if args.terminal {
        let path = state.track(CONSOLE_SOCKET)?;
        let listener = UnixListener::bind(&path).map_err(io_err("listen on", &path))?;
        Some((path, listener))
    } else {
        None
    };
    let console_socket = console.as_ref().map(|(path, _)| path.as_path());
    let mut runtime_cmd = match &args.exec_process {
        Some(process) => runtime(args).exec(&ExecArgs {
            id: &args.id,
            process,
            pid_file: &pid_file,
            console_socket,
        }),
        None => {
            let create = CreateArgs {
                id: &args.id,
                bundle: &args.bundle,
                pid_file: &pid_file,
                console_socket,
            };
            if args.start {
                runtime(args).run_detached(&create)
            } else {
                runtime(args).create(&create)
            }
        }
    };
    let verb = runtime_cmd.verb();
    let cmd = runtime_cmd.command_mut();

    let (err_read, err_write) = pipe()?;
    let plan = match console {
        Some((path, listener)) => {
            let copy = err_write
                .try_clone()
                .map_err(io_err("dup runtime output pipe", state.dir()))?;
            cmd.stdin(Stdio::null()).stdout(copy).stderr(err_write);
            Plan::Pty { path, listener }
        }
        None => {
            let stdin = if args.stdin {
                let (r, w) = pipe()?;
                cmd.stdin(r);
                nonblocking(&w)?;
                Some(w)
            } else {
                cmd.stdin(Stdio::null());
                None
            };
            let (r, w) = pipe()?;
            cmd.stdout(w).stderr(err_write);
            Plan::Pipes { stdin, stdout: r }
        }
    };
    nonblocking(&err_read)?;
    let status = cmd.status().map_err(|source| ShimError::RuntimeSpawn {
        path: args.runtime.clone(),
        source,
    });
    // The Command holds our copies of the child's pipe ends; they must close or EOF never comes.
    drop(runtime_cmd);
    let status = status?;
    if !status.success() {
        return Err(ShimError::Runtime {
            runtime: args.runtime.clone(),
            verb,
            status,
            output: read_available(&err_read),
        });
    }

    let created = read_pid(&pid_file).and_then(|pid| {
        let io = match plan {
            Plan::Pty { path, listener } => Io::Pty(receive_pty(&path, &listener)?),
            Plan::Pipes { stdin, stdout } => {
                nonblocking(&stdout)?;
                Io::Pipes {
                    stdin,
                    stdout,
                    stderr: err_read,
                }
            }
        };
        Ok(Created { pid, io })
    });
    if created.is_err() && args.exec_process.is_none() {
        // The container exists but we cannot watch it, and nobody else knows about it yet.
        force_delete(args);
    }
    let _ = fs::remove_file(state.path(CONSOLE_SOCKET));
    created
}

/// How the container's stdio is wired while the runtime runs.
enum Plan {
    Pty {
        path: PathBuf,
        listener: UnixListener,
    },
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
    },
}

fn runtime(args: &Args) -> Runtime {
    Runtime {
        path: args.runtime.clone(),
        root: args.runtime_root.clone(),
    }
}

fn force_delete(args: &Args) {
    let _ = runtime(args).delete(&args.id, true).run();
}

fn pipe() -> Result<(OwnedFd, OwnedFd), ShimError> {
    pipe2(OFlag::O_CLOEXEC).map_err(sys("create pipe"))
}

pub fn nonblocking(fd: &OwnedFd) -> Result<(), ShimError> {
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(sys("get fd flags"))?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(fd, FcntlArg::F_SETFL(flags)).map_err(sys("set O_NONBLOCK"))?;
    Ok(())
}

/// What the runtime wrote, without waiting for writers that may still hold the pipe.
fn read_available(fd: &OwnedFd) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    // The pipe holds at most 64 KiB; stop there rather than trust a chatty writer.
    while out.len() < 64 * 1024 {
        match nix::unistd::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&out).trim().to_owned()
}

fn read_pid(path: &Path) -> Result<i32, ShimError> {
    let content = fs::read_to_string(path).map_err(io_err("read pid file", path))?;
    content
        .trim()
        .parse()
        .ok()
        .filter(|&pid: &i32| pid > 0)
        .ok_or_else(|| ShimError::PidFile {
            path: path.to_path_buf(),
            content,
        })
}

/// Takes the pty master the container sent over the console socket. The runtime has exited, so
/// the connection and its message are already queued: never block here.
fn receive_pty(path: &Path, listener: &UnixListener) -> Result<OwnedFd, ShimError> {
    let no_pty = || ShimError::NoPty(path.to_path_buf());
    listener
        .set_nonblocking(true)
        .map_err(io_err("set O_NONBLOCK on", path))?;
    let (conn, _) = listener.accept().map_err(|_| no_pty())?;
    let mut buf = [0u8; 4096];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
    )
    .map_err(sys("receive pty master"))?;
    let mut received = Vec::new();
    for cmsg in msg.cmsgs().map_err(sys("read control message"))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: the kernel just installed these fds for us; nothing else owns them.
            received.extend(
                fds.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    // Anything beyond the first fd is closed when `received` drops.
    let master = received.into_iter().next().ok_or_else(no_pty)?;
    nonblocking(&master)?;
    Ok(master)
}
