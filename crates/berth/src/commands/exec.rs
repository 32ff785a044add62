//! `exec` and `attach`: interactive sessions on a running container.

use anyhow::Result;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::query_parameters::{AttachContainerOptions, WaitContainerOptions};
use futures_util::StreamExt;

use crate::cli::{AttachArgs, ExecArgs};
use crate::client::{self, describe, Client, Exit};
use crate::stream::{self, Ended, ResizeTarget};
use crate::tty;

/// docker's exec statuses for a command that could not run: 127 not found, 126 otherwise.
fn exec_error_code(message: &str) -> i32 {
    match client::start_error_code(message) {
        125 => 126,
        code => code,
    }
}

pub async fn exec(c: &Client, a: ExecArgs) -> Result<()> {
    let keys =
        tty::parse_detach_keys(a.detach_keys.as_deref().unwrap_or(tty::DEFAULT_DETACH_KEYS))?;
    let stdin = a.interactive && !a.detach;
    let config = ExecConfig {
        attach_stdin: Some(stdin),
        attach_stdout: Some(!a.detach),
        attach_stderr: Some(!a.detach),
        tty: Some(a.tty),
        env: Some(super::run::env_list(&a.env, &a.env_file)?).filter(|e| !e.is_empty()),
        cmd: Some(a.command.clone()),
        user: a.user.clone(),
        working_dir: a.workdir.clone(),
        privileged: Some(a.privileged),
        detach_keys: a.detach_keys.clone(),
        console_size: if a.tty {
            tty::size(libc::STDOUT_FILENO).map(|(h, w)| vec![usize::from(h), usize::from(w)])
        } else {
            None
        },
    };
    let created = c.api.create_exec(&a.container, config).await?;
    let opts = StartExecOptions {
        detach: a.detach,
        tty: a.tty,
        output_capacity: None,
    };
    let raw = if a.tty && stdin && tty::is_terminal(libc::STDIN_FILENO) {
        Some(tty::RawMode::enable()?)
    } else {
        None
    };
    let started = match c.api.start_exec(&created.id, Some(opts)).await {
        Ok(s) => s,
        Err(e) => {
            drop(raw);
            let e = anyhow::Error::new(e);
            if client::status_of(&e).is_some_and(|s| s < 500) {
                return Err(e);
            }
            let code = exec_error_code(&describe(&e));
            return Err(client::exit_with(e, code));
        }
    };
    let StartExecResults::Attached { output, input } = started else {
        return Ok(());
    };
    let resize = a
        .tty
        .then(|| stream::forward_resizes(c.clone(), ResizeTarget::Exec(created.id.clone())));
    let ended = stream::session(output, stdin.then_some(input), a.tty.then_some(keys)).await;
    drop(raw);
    if let Some(r) = resize {
        r.abort();
    }
    if ended? == Ended::Detached {
        return Ok(());
    }
    let info = c.api.inspect_exec(&created.id).await?;
    match info.exit_code.unwrap_or(0) {
        0 => Ok(()),
        code => Err(Exit::code(i32::try_from(code).unwrap_or(126))),
    }
}

pub async fn attach(c: &Client, a: AttachArgs) -> Result<()> {
    let keys =
        tty::parse_detach_keys(a.detach_keys.as_deref().unwrap_or(tty::DEFAULT_DETACH_KEYS))?;
    let info = c.api.inspect_container(&a.container, None).await?;
    let state = info.state.clone().unwrap_or_default();
    if state.running != Some(true) {
        return Err(Exit::with(
            1,
            "You cannot attach to a stopped container, start it first",
        ));
    }
    if state.paused == Some(true) {
        return Err(Exit::with(
            1,
            "You cannot attach to a paused container, unpause it first",
        ));
    }
    let config = info.config.unwrap_or_default();
    let is_tty = config.tty.unwrap_or(false);
    let stdin = !a.no_stdin && config.open_stdin.unwrap_or(false);
    let id = info.id.unwrap_or_else(|| a.container.clone());
    let attached = c
        .api
        .attach_container(
            &id,
            Some(AttachContainerOptions {
                stream: true,
                stdin,
                stdout: true,
                stderr: true,
                logs: false,
                detach_keys: None,
            }),
        )
        .await?;
    let raw = if is_tty && stdin && tty::is_terminal(libc::STDIN_FILENO) {
        Some(tty::RawMode::enable()?)
    } else {
        None
    };
    let resize =
        is_tty.then(|| stream::forward_resizes(c.clone(), ResizeTarget::Container(id.clone())));
    let proxy = (!is_tty && a.sig_proxy).then(|| stream::proxy_signals(c.clone(), id.clone()));
    let ended = stream::session(
        attached.output,
        stdin.then_some(attached.input),
        (is_tty && stdin).then_some(keys),
    )
    .await;
    drop(raw);
    for t in [resize, proxy].into_iter().flatten() {
        t.abort();
    }
    if ended? == Ended::Detached {
        eprintln!("read escape sequence");
        return Ok(());
    }
    let opts = WaitContainerOptions {
        condition: "not-running".into(),
    };
    let code = match c.api.wait_container(&id, Some(opts)).next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => code,
        _ => 0,
    };
    match code {
        0 => Ok(()),
        code => Err(Exit::code(i32::try_from(code).unwrap_or(1))),
    }
}
