use anyhow::{bail, Context, Result};
use berth_oci::{Console, ExecOptions, StateRoot};
use oci_spec::runtime::{Capabilities, Process};

use crate::cli::ExecArgs;

/// The process to exec: `--process` as given, or the container's process with the flags applied (as runc).
fn build_process(root: &StateRoot, args: &ExecArgs) -> Result<Process> {
    if let Some(path) = &args.process {
        let data =
            std::fs::read(path).with_context(|| format!("read process file {}", path.display()))?;
        return serde_json::from_slice(&data)
            .with_context(|| format!("{}: invalid process JSON", path.display()));
    }
    if args.command.is_empty() {
        bail!("exec needs a command or --process");
    }
    let spec = root.load(&args.id)?.spec()?;
    let mut p = spec.process().clone().unwrap_or_default();
    p.set_args(Some(args.command.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(args.env.iter().cloned());
    p.set_env(Some(env));
    p.set_terminal(Some(args.tty));
    if let Some(cwd) = &args.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(user) = &args.user {
        let (uid, gid) = user.split_once(':').unwrap_or((user, ""));
        p.user_mut().set_uid(
            uid.parse()
                .with_context(|| format!("--user {user:?}: uid must be numeric"))?,
        );
        if !gid.is_empty() {
            p.user_mut().set_gid(
                gid.parse()
                    .with_context(|| format!("--user {user:?}: gid must be numeric"))?,
            );
        }
    }
    if !args.additional_gids.is_empty() {
        p.user_mut()
            .set_additional_gids(Some(args.additional_gids.clone()));
    }
    if !args.caps.is_empty() {
        let extra: Capabilities = serde_json::from_value(serde_json::json!(args.caps))
            .context("--cap: unknown capability")?;
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let add = |s: &Option<Capabilities>| -> Option<Capabilities> {
            Some(
                s.clone()
                    .unwrap_or_default()
                    .union(&extra)
                    .copied()
                    .collect(),
            )
        };
        caps.set_bounding(add(caps.bounding()));
        caps.set_effective(add(caps.effective()));
        caps.set_permitted(add(caps.permitted()));
        p.set_capabilities(Some(caps));
    }
    if args.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(label) = &args.process_label {
        p.set_selinux_label(Some(label.clone()));
    }
    if let Some(profile) = &args.apparmor {
        p.set_apparmor_profile(Some(profile.clone()));
    }
    Ok(p)
}

pub fn exec(root: &StateRoot, args: &ExecArgs) -> Result<i32> {
    let process = build_process(root, args)?;
    let console = match &args.console_socket {
        Some(p) => Console::Socket(p.clone()),
        None if !args.detach => Console::Caller,
        None => Console::None,
    };
    let execed = berth_oci::exec(
        root,
        ExecOptions {
            id: args.id.clone(),
            process,
            console,
            pid_file: args.pid_file.clone(),
            preserve_fds: args.preserve_fds,
        },
    )?;
    if args.detach {
        return Ok(0);
    }
    Ok(berth_oci::supervise(execed.pid, execed.pty_master)?)
}
