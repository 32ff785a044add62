//! One file per command group; `dispatch` routes a parsed command line to it.

mod build;
mod container;
mod exec;
mod image;
mod inspect;
mod network;
mod pod;
mod ports;
mod registry;
mod run;
mod system;
mod transfer;
mod volume;

use std::collections::HashMap;

use anyhow::{bail, Result};

use crate::cli::{
    Cli, Command, ContainerCommand, ImageCommand, ManifestCommand, Namespace, NetworkCommand,
    PodCommand, SystemCommand, VolumeCommand,
};
use crate::client::{self, Client, Exit};
use crate::cri::Cri;

pub async fn dispatch(cli: Cli) -> Result<()> {
    // The commands on the CRI socket never need the Docker API's.
    let command = match cli.command {
        Command::Completion(args) => return system::completion(args.shell),
        Command::Pod(sub) => {
            let cri = Cri::connect(&cli.cri_socket).await?;
            return match sub {
                PodCommand::Ls(a) => pod::ls(&cri, a).await,
                PodCommand::Inspect(a) => pod::inspect(&cri, a).await,
                PodCommand::Stop(a) => pod::stop(&cri, a).await,
                PodCommand::Rm(a) => pod::rm(&cri, a).await,
            };
        }
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a))
            if a.namespace == Namespace::K8s =>
        {
            return pod::ps(&Cri::connect(&cli.cri_socket).await?, a).await;
        }
        command => command,
    };
    let c = Client::connect(&client::resolve_host(cli.host.as_deref()))?;
    match command {
        Command::Run(a) => run::run(&c, a).await,
        Command::Create(a) => run::create(&c, a).await,
        Command::Start(a) => run::start(&c, a).await,
        Command::Stop(a) => container::stop(&c, a).await,
        Command::Kill(a) => container::kill(&c, a).await,
        Command::Restart(a) => container::restart(&c, a).await,
        Command::Pause(a) => container::pause(&c, a, true).await,
        Command::Unpause(a) => container::pause(&c, a, false).await,
        Command::Rm(a) => container::rm(&c, a).await,
        Command::Ps(a) => container::ps(&c, a).await,
        Command::Logs(a) => container::logs(&c, a).await,
        Command::Exec(a) => exec::exec(&c, a).await,
        Command::Attach(a) => exec::attach(&c, a).await,
        Command::Wait(a) => container::wait(&c, a).await,
        Command::Top(a) => container::top(&c, a).await,
        Command::Stats(a) => container::stats(&c, a).await,
        Command::Inspect(a) => inspect::inspect(&c, a, None).await,
        Command::Rename(a) => container::rename(&c, a).await,
        Command::Update(a) => container::update(&c, a).await,
        Command::Cp(a) => transfer::cp(&c, a).await,
        Command::Diff(a) => container::diff(&c, a).await,
        Command::Port(a) => ports::port(&c, a).await,
        Command::Events(a) => system::events(&c, a).await,
        Command::Build(a) => build::build(&c, a).await,
        Command::Images(a) => image::images(&c, a).await,
        Command::Rmi(a) => image::rmi(&c, a).await,
        Command::Tag(a) => image::tag(&c, a).await,
        Command::Save(a) => transfer::save(&c, a).await,
        Command::Load(a) => transfer::load(&c, a).await,
        Command::Import(a) => transfer::import(&c, a).await,
        Command::Pull(a) => registry::pull(&c, a).await,
        Command::Push(a) => registry::push(&c, a).await,
        Command::Login(a) => registry::login(&c, a).await,
        Command::Logout(a) => registry::logout(a),
        Command::Manifest(ManifestCommand::Inspect(a)) => registry::manifest_inspect(&c, a).await,
        Command::Export(a) => transfer::export(&c, a).await,
        Command::Commit(a) => image::commit(&c, a).await,
        Command::History(a) => image::history(&c, a).await,
        Command::Volume(sub) => match sub {
            VolumeCommand::Create(a) => volume::create(&c, a).await,
            VolumeCommand::Ls(a) => volume::ls(&c, a).await,
            VolumeCommand::Inspect(a) => inspect::inspect(&c, a, Some("volume")).await,
            VolumeCommand::Rm(a) => volume::rm(&c, a).await,
            VolumeCommand::Prune(a) => volume::prune(&c, a).await,
        },
        Command::Network(sub) => match sub {
            NetworkCommand::Create(a) => network::create(&c, a).await,
            NetworkCommand::Ls(a) => network::ls(&c, a).await,
            NetworkCommand::Inspect(a) => inspect::inspect(&c, a, Some("network")).await,
            NetworkCommand::Rm(a) => network::rm(&c, a).await,
            NetworkCommand::Prune(a) => network::prune(&c, a).await,
            NetworkCommand::Connect(a) => network::connect(&c, a).await,
            NetworkCommand::Disconnect(a) => network::disconnect(&c, a).await,
        },
        Command::Image(sub) => match sub {
            ImageCommand::Build(a) => build::build(&c, *a).await,
            ImageCommand::Inspect(a) => inspect::inspect(&c, a, Some("image")).await,
            ImageCommand::Rm(a) => image::rmi(&c, a).await,
            ImageCommand::Prune(a) => image::prune(&c, a).await,
            ImageCommand::History(a) => image::history(&c, a).await,
            ImageCommand::Tag(a) => image::tag(&c, a).await,
            ImageCommand::Save(a) => transfer::save(&c, a).await,
            ImageCommand::Load(a) => transfer::load(&c, a).await,
            ImageCommand::Import(a) => transfer::import(&c, a).await,
            ImageCommand::Ls(a) => image::images(&c, a).await,
        },
        Command::Container(sub) => match sub {
            ContainerCommand::Prune(a) => container::prune(&c, a).await,
            ContainerCommand::Ls(a) => container::ps(&c, a).await,
            ContainerCommand::Inspect(a) => inspect::inspect(&c, a, Some("container")).await,
            ContainerCommand::Rm(a) => container::rm(&c, a).await,
            ContainerCommand::Start(a) => run::start(&c, a).await,
            ContainerCommand::Stop(a) => container::stop(&c, a).await,
            ContainerCommand::Logs(a) => container::logs(&c, a).await,
        },
        Command::System(sub) => match sub {
            SystemCommand::Df(a) => system::df(&c, a).await,
            SystemCommand::Prune(a) => system::prune(&c, a).await,
            SystemCommand::Info(a) => system::info(&c, a).await,
            SystemCommand::Events(a) => system::events(&c, a).await,
        },
        Command::Info(a) => system::info(&c, a).await,
        Command::Version(a) => system::version(&c, a).await,
        // Answered above, before connecting to the Docker API.
        Command::Completion(_) | Command::Pod(_) => Ok(()),
    }
}

/// `--filter key=value` flags as the API's filter map.
/// Asks before a prune (unless `-f`) and returns its filters; `-a` adds `all_filter`
/// (`dangling=false` for images, `all=true` for volumes).
pub fn prune_filters(
    a: &crate::cli::ImagePruneArgs,
    warning: &str,
    all_filter: &str,
) -> Result<Option<HashMap<String, Vec<String>>>> {
    container::confirm(a.prune.force, warning)?;
    let mut flags = a.prune.filter.clone();
    if a.all {
        flags.push(all_filter.into());
    }
    filters(&flags)
}

/// A prune's report as Docker prints it: the `title` block when something went, then the
/// reclaimed space.
pub fn print_pruned(title: &str, deleted: &[String], reclaimed: i64) {
    if !deleted.is_empty() {
        println!("{title}:");
        for d in deleted {
            println!("{d}");
        }
        println!();
    }
    print_reclaimed(reclaimed);
}

pub fn print_reclaimed(bytes: i64) {
    println!(
        "Total reclaimed space: {}",
        crate::output::human_size(bytes as f64)
    );
}

pub fn filters(flags: &[String]) -> Result<Option<HashMap<String, Vec<String>>>> {
    if flags.is_empty() {
        return Ok(None);
    }
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for f in flags {
        let Some((k, v)) = f.split_once('=') else {
            bail!("bad format of filter (expected name=value): {f}");
        };
        map.entry(k.trim().to_lowercase())
            .or_default()
            .push(v.to_string());
    }
    Ok(Some(map))
}

/// Runs `op` on every name, printing each success line and each error as docker does, and
/// fails (exit 1) if any failed.
pub async fn for_each<F, Fut>(names: &[String], mut op: F) -> Result<()>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<String>>>,
{
    let mut failed = false;
    for name in names {
        match op(name.clone()).await {
            Ok(Some(line)) => println!("{line}"),
            Ok(None) => {}
            Err(e) => {
                eprintln!("{}", client::describe(&e));
                failed = true;
            }
        }
    }
    if failed {
        return Err(Exit::code(1));
    }
    Ok(())
}
