//! One module per verb. Each returns the process exit code.

mod create;
mod events;
mod exec;
mod features;
mod list;
mod ps;
mod run;
mod spec;
mod update;

use anyhow::{bail, Result};
use berth_oci::StateRoot;

use crate::cli::{Cli, Command};
use crate::log::warn;

pub fn run(cli: &Cli) -> Result<i32> {
    if cli.systemd_cgroup {
        bail!("--systemd-cgroup is not supported: berth-runtime manages cgroups through cgroupfs; drop the flag (e.g. containerd SystemdCgroup = false, podman --cgroup-manager=cgroupfs)");
    }
    let root = StateRoot(cli.root.clone());
    match &cli.command {
        Command::Create(args) => create::create(&root, args),
        Command::Start { id } => {
            berth_oci::start(&root, id)?.iter().for_each(|w| warn(w));
            Ok(0)
        }
        Command::Run {
            create,
            detach,
            keep,
        } => run::run(&root, create, *detach, *keep),
        Command::State { id } => {
            let c = root.load(id)?;
            println!("{}", serde_json::to_string_pretty(&c.oci_state())?);
            Ok(0)
        }
        Command::Kill { id, signal, all } => {
            berth_oci::kill(&root, id, berth_oci::parse_signal(signal)?, *all)?;
            Ok(0)
        }
        Command::Delete { id, force } => {
            berth_oci::delete(&root, id, *force)?
                .iter()
                .for_each(|w| warn(w));
            Ok(0)
        }
        Command::Exec(args) => exec::exec(&root, args),
        Command::Ps {
            id,
            format,
            ps_args,
        } => ps::ps(&root, id, *format, ps_args),
        Command::Pause { id } => berth_oci::pause(&root, id).map(|_| 0).map_err(Into::into),
        Command::Resume { id } => berth_oci::resume(&root, id).map(|_| 0).map_err(Into::into),
        Command::List { format, quiet } => list::list(&root, *format, *quiet),
        Command::Spec { bundle, rootless } => spec::spec(bundle.as_deref(), *rootless),
        Command::Features => features::features(),
        Command::Update(args) => update::update(&root, args),
        Command::Events {
            id,
            stats,
            interval,
        } => events::events(&root, id, *stats, interval),
    }
}
