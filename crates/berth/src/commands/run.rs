//! `run`, `create`, `start`: flags -> the create body, and the attach / start / wait dance
//! docker does for a foreground container.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use bollard::models::{
    ContainerCreateBody, DeviceMapping, HealthConfig, HostConfig, HostConfigLogConfig, Mount,
    MountBindOptions, MountTmpfsOptions, MountType, MountVolumeOptions,
    MountVolumeOptionsDriverConfig, ResourcesUlimits, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    AttachContainerOptions, CreateContainerOptions, CreateImageOptions, RemoveContainerOptions,
    WaitContainerOptions,
};
use futures_util::StreamExt;

use crate::cli::{ContainerOptions, CreateArgs, RunArgs, StartArgs};
use crate::client::{self, describe, exit_with, Client, Exit};
use crate::output::{parse_duration, parse_ram};
use crate::progress::{JsonProgress, Message};
use crate::stream::{self, Ended, ResizeTarget};
use crate::tty;

/// `KEY=VALUE` as is; a bare `KEY` takes the value from berth's own environment (and is left
/// out if unset), as docker does for `-e` and `--env-file`.
fn env_entry(raw: &str) -> Option<String> {
    if raw.contains('=') {
        Some(raw.to_string())
    } else {
        std::env::var(raw).ok().map(|v| format!("{raw}={v}"))
    }
}

fn read_env_files(files: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let mut env = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).with_context(|| format!("open {}", f.display()))?;
        for line in text.lines() {
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            env.extend(env_entry(line));
        }
    }
    Ok(env)
}

pub fn env_list(env: &[String], files: &[std::path::PathBuf]) -> Result<Vec<String>> {
    let mut all = read_env_files(files)?;
    all.extend(env.iter().filter_map(|e| env_entry(e)));
    Ok(all)
}

fn key_values(items: &[String]) -> HashMap<String, String> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (kv.to_string(), String::new()),
        })
        .collect()
}

fn ram(flag: &str, value: &str) -> Result<i64> {
    if value == "-1" {
        return Ok(-1);
    }
    parse_ram(value).with_context(|| format!("invalid {flag} value {value:?}"))
}

/// One `--mount` in the docker CLI's CSV syntax (`type=volume` unless given; `readonly` alone
/// means true).
pub fn parse_mount(spec: &str) -> Result<Mount> {
    let mut m = Mount {
        typ: Some(MountType::VOLUME),
        ..Default::default()
    };
    let (mut bind, mut volume, mut tmpfs) = (
        MountBindOptions::default(),
        MountVolumeOptions::default(),
        MountTmpfsOptions::default(),
    );
    let (mut has_bind, mut has_volume, mut has_tmpfs) = (false, false, false);
    let flag = |v: Option<&str>| -> Result<bool> {
        match v {
            None | Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(other) => bail!("invalid value {other:?} in --mount {spec:?}"),
        }
    };
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v)),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let val =
            || value.with_context(|| format!("invalid field {field:?}: must be a key=value pair"));
        match key.as_str() {
            "type" => {
                m.typ = Some(
                    val()?
                        .parse()
                        .map_err(|()| anyhow::anyhow!("invalid mount type in {spec:?}"))?,
                )
            }
            "source" | "src" => m.source = Some(val()?.to_string()),
            "target" | "destination" | "dst" => m.target = Some(val()?.to_string()),
            "readonly" | "ro" => m.read_only = Some(flag(value)?),
            "consistency" => m.consistency = Some(val()?.to_string()),
            "bind-propagation" => {
                has_bind = true;
                bind.propagation = Some(
                    val()?
                        .parse()
                        .map_err(|_| anyhow::anyhow!("invalid bind-propagation in {spec:?}"))?,
                );
            }
            "bind-nonrecursive" => {
                has_bind = true;
                bind.non_recursive = Some(flag(value)?);
            }
            "volume-nocopy" => {
                has_volume = true;
                volume.no_copy = Some(flag(value)?);
            }
            "volume-driver" => {
                has_volume = true;
                volume
                    .driver_config
                    .get_or_insert_with(MountVolumeOptionsDriverConfig::default)
                    .name = Some(val()?.to_string());
            }
            "volume-opt" | "volume-label" => {
                has_volume = true;
                let (k, v) = val()?.split_once('=').unwrap_or((val()?, ""));
                let map = if key == "volume-opt" {
                    volume
                        .driver_config
                        .get_or_insert_with(MountVolumeOptionsDriverConfig::default)
                        .options
                        .get_or_insert_with(HashMap::new)
                } else {
                    volume.labels.get_or_insert_with(HashMap::new)
                };
                map.insert(k.to_string(), v.to_string());
            }
            "tmpfs-size" => {
                has_tmpfs = true;
                tmpfs.size_bytes = Some(ram("tmpfs-size", val()?)?);
            }
            "tmpfs-mode" => {
                has_tmpfs = true;
                tmpfs.mode = Some(
                    i64::from_str_radix(val()?, 8)
                        .with_context(|| format!("invalid tmpfs-mode in {spec:?}"))?,
                );
            }
            _ => bail!("unexpected key {key:?} in --mount {spec:?}"),
        }
    }
    m.bind_options = has_bind.then_some(bind);
    m.volume_options = has_volume.then_some(volume);
    m.tmpfs_options = has_tmpfs.then_some(tmpfs);
    Ok(m)
}

fn nanos(flag: &str, value: &Option<String>) -> Result<Option<i64>> {
    value
        .as_deref()
        .map(|v| {
            parse_duration(v)
                .map(|d| d.as_nanos() as i64)
                .with_context(|| format!("invalid {flag} duration {v:?}"))
        })
        .transpose()
}

/// `--restart no|always|unless-stopped|on-failure[:N]`.
pub fn restart_policy(spec: &str) -> Result<RestartPolicy> {
    let (name, count) = match spec.split_once(':') {
        Some((n, c)) => (
            n,
            Some(
                c.parse::<i64>()
                    .with_context(|| format!("invalid restart policy {spec:?}"))?,
            ),
        ),
        None => (spec, None),
    };
    let name = match name {
        "" | "no" => RestartPolicyNameEnum::NO,
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        other => bail!("invalid restart policy {other:?}"),
    };
    if count.is_some() && name != RestartPolicyNameEnum::ON_FAILURE {
        bail!("invalid restart policy {spec:?}: a retry count is only valid with on-failure");
    }
    Ok(RestartPolicy {
        name: Some(name),
        maximum_retry_count: count,
    })
}

/// `--ulimit name=soft[:hard]`.
fn ulimit(spec: &str) -> Result<ResourcesUlimits> {
    let bad = || format!("invalid ulimit {spec:?} (expected name=soft[:hard])");
    let (name, limits) = spec.split_once('=').with_context(bad)?;
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    Ok(ResourcesUlimits {
        name: Some(name.to_string()),
        soft: Some(soft.parse().with_context(bad)?),
        hard: Some(hard.parse().with_context(bad)?),
    })
}

/// `--device host[:container][:perms]`.
fn device(spec: &str) -> DeviceMapping {
    let parts: Vec<&str> = spec.split(':').collect();
    let is_perms = |s: &str| !s.is_empty() && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
    let (host, container, perms) = match parts.as_slice() {
        [h] => (*h, *h, "rwm"),
        [h, p] if is_perms(p) => (*h, *h, *p),
        [h, c] => (*h, *c, "rwm"),
        [h, c, p, ..] => (*h, *c, *p),
        [] => (spec, spec, "rwm"),
    };
    DeviceMapping {
        path_on_host: Some(host.to_string()),
        path_in_container: Some(container.to_string()),
        cgroup_permissions: Some(perms.to_string()),
    }
}

fn healthcheck(o: &ContainerOptions) -> Result<Option<HealthConfig>> {
    if o.no_healthcheck {
        return Ok(Some(HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }));
    }
    let any = o.health_cmd.is_some()
        || o.health_interval.is_some()
        || o.health_retries.is_some()
        || o.health_timeout.is_some()
        || o.health_start_period.is_some();
    if !any {
        return Ok(None);
    }
    Ok(Some(HealthConfig {
        test: o
            .health_cmd
            .as_ref()
            .map(|c| vec!["CMD-SHELL".to_string(), c.clone()]),
        interval: nanos("--health-interval", &o.health_interval)?,
        timeout: nanos("--health-timeout", &o.health_timeout)?,
        start_period: nanos("--health-start-period", &o.health_start_period)?,
        retries: o.health_retries,
        start_interval: None,
    }))
}

/// The create body for `o`; `attached` is run's foreground mode (streams attached).
pub fn container_body(o: &ContainerOptions, attached: bool) -> Result<ContainerCreateBody> {
    let none_if_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
    let tmpfs: HashMap<String, String> = o
        .tmpfs
        .iter()
        .map(|t| match t.split_once(':') {
            Some((p, opts)) => (p.to_string(), opts.to_string()),
            None => (t.clone(), String::new()),
        })
        .collect();
    let host_config = HostConfig {
        binds: none_if_empty(o.volume.clone()),
        mounts: (!o.mount.is_empty())
            .then(|| {
                o.mount
                    .iter()
                    .map(|m| parse_mount(m))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?,
        volumes_from: none_if_empty(o.volumes_from.clone()),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        readonly_rootfs: o.read_only.then_some(true),
        privileged: o.privileged.then_some(true),
        cap_add: none_if_empty(o.cap_add.clone()),
        cap_drop: none_if_empty(o.cap_drop.clone()),
        security_opt: none_if_empty(o.security_opt.clone()),
        init: o.init.then_some(true),
        memory: o
            .memory
            .as_deref()
            .map(|m| ram("--memory", m))
            .transpose()?,
        memory_swap: o
            .memory_swap
            .as_deref()
            .map(|m| ram("--memory-swap", m))
            .transpose()?,
        nano_cpus: o.cpus.map(|c| (c * 1e9) as i64),
        cpu_shares: o.cpu_shares,
        cpuset_cpus: o.cpuset_cpus.clone(),
        pids_limit: o.pids_limit,
        ulimits: (!o.ulimit.is_empty())
            .then(|| {
                o.ulimit
                    .iter()
                    .map(|u| ulimit(u))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?,
        devices: (!o.device.is_empty()).then(|| o.device.iter().map(|d| device(d)).collect()),
        restart_policy: o.restart.as_deref().map(restart_policy).transpose()?,
        auto_remove: o.rm.then_some(true),
        log_config: (o.log_driver.is_some() || !o.log_opt.is_empty()).then(|| {
            HostConfigLogConfig {
                typ: o.log_driver.clone(),
                config: (!o.log_opt.is_empty()).then(|| key_values(&o.log_opt)),
            }
        }),
        ..Default::default()
    };
    let stdin = o.interactive && attached;
    let mut body = ContainerCreateBody {
        image: Some(o.image.clone()),
        cmd: none_if_empty(o.command.clone()),
        entrypoint: o.entrypoint.as_ref().map(|e| vec![e.clone()]),
        env: none_if_empty(env_list(&o.env, &o.env_file)?),
        working_dir: o.workdir.clone(),
        user: o.user.clone(),
        hostname: o.hostname.clone(),
        labels: (!o.label.is_empty()).then(|| key_values(&o.label)),
        tty: Some(o.tty),
        open_stdin: Some(o.interactive),
        stdin_once: Some(stdin),
        attach_stdin: Some(stdin),
        attach_stdout: Some(attached),
        attach_stderr: Some(attached),
        stop_signal: o.stop_signal.clone(),
        stop_timeout: o.stop_timeout,
        healthcheck: healthcheck(o)?,
        host_config: Some(host_config),
        ..Default::default()
    };
    super::network::apply_container_flags(o, &mut body)?;
    Ok(body)
}

/// Pulls `image` (with progress), as docker does when create finds no such image.
async fn pull(c: &Client, image: &str) -> Result<()> {
    let opts = CreateImageOptions {
        from_image: Some(image.to_string()),
        ..Default::default()
    };
    let mut stream = c.api.create_image(Some(opts), None, None);
    let mut progress = JsonProgress::new(false);
    while let Some(m) = stream.next().await {
        if let Err(e) = progress.update(&Message::from(m?)) {
            bail!("{e}");
        }
    }
    progress.finish();
    Ok(())
}

/// Creates the container, pulling a missing image first; returns its id.
async fn create_container(
    c: &Client,
    o: &ContainerOptions,
    body: ContainerCreateBody,
) -> Result<String> {
    let opts = || CreateContainerOptions {
        name: o.name.clone(),
        ..Default::default()
    };
    match c.api.create_container(Some(opts()), body.clone()).await {
        Ok(r) => Ok(r.id),
        Err(e) => {
            let e = anyhow::Error::new(e);
            let missing = client::status_of(&e) == Some(404)
                && client::daemon_message(&e).is_some_and(|m| m.to_lowercase().contains("image"));
            if !missing {
                return Err(e);
            }
            eprintln!("Unable to find image '{}' locally", o.image);
            pull(c, &o.image).await?;
            Ok(c.api.create_container(Some(opts()), body).await?.id)
        }
    }
}

pub async fn create(c: &Client, a: CreateArgs) -> Result<()> {
    let body = container_body(&a.options, false).map_err(|e| Exit::with(125, format!("{e:#}")))?;
    let id = create_container(c, &a.options, body)
        .await
        .map_err(|e| exit_with(e, 125))?;
    println!("{id}");
    Ok(())
}

/// Waits for the container to exit (registered before it starts, as docker does) and yields
/// its exit status.
fn spawn_wait(c: &Client, id: &str, condition: &str) -> tokio::task::JoinHandle<Result<i64>> {
    let api = c.api.clone();
    let id = id.to_string();
    let opts = WaitContainerOptions {
        condition: condition.to_string(),
    };
    tokio::spawn(async move {
        let mut s = api.wait_container(&id, Some(opts));
        match s.next().await {
            Some(Ok(r)) => Ok(r.status_code),
            // bollard reports a non-zero exit as an error carrying the code.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(e)) => Err(e.into()),
            None => bail!("wait ended without a status"),
        }
    })
}

/// The exit status once the output closed: the waiter's answer, or (should the wait have
/// missed the exit) the state inspect reports.
async fn exit_status(
    c: &Client,
    id: &str,
    mut waiter: tokio::task::JoinHandle<Result<i64>>,
) -> Result<i64> {
    for _ in 0..100 {
        tokio::select! {
            r = &mut waiter => return r.context("wait task")?,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        match c.api.inspect_container(id, None).await {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                if state.running != Some(true) {
                    return Ok(state.exit_code.unwrap_or(0));
                }
            }
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    waiter.await.context("wait task")?
}

fn detach_keys(spec: Option<&str>) -> Result<Vec<u8>> {
    tty::parse_detach_keys(spec.unwrap_or(tty::DEFAULT_DETACH_KEYS))
}

/// Attaches (before start, so no output is lost), starts, streams until exit or detach, and
/// returns the container's exit status (None when detached).
struct Foreground<'a> {
    c: &'a Client,
    id: &'a str,
    tty: bool,
    stdin: bool,
    sig_proxy: bool,
    detach_keys: Option<&'a str>,
    wait_condition: &'a str,
    /// `run --rm`: remove the container if it cannot start.
    remove_on_start_failure: bool,
}

impl Foreground<'_> {
    async fn run(&self) -> Result<Option<i64>> {
        let keys = detach_keys(self.detach_keys).map_err(|e| Exit::with(125, format!("{e:#}")))?;
        let attach = self
            .c
            .api
            .attach_container(
                self.id,
                Some(AttachContainerOptions {
                    stream: true,
                    stdin: self.stdin,
                    stdout: true,
                    stderr: true,
                    logs: false,
                    detach_keys: None,
                }),
            )
            .await
            .map_err(|e| exit_with(e.into(), 125))?;
        let waiter = spawn_wait(self.c, self.id, self.wait_condition);
        let raw = if self.tty && self.stdin && tty::is_terminal(libc::STDIN_FILENO) {
            Some(tty::RawMode::enable()?)
        } else {
            None
        };
        let proxy = (!self.tty && self.sig_proxy)
            .then(|| stream::proxy_signals(self.c.clone(), self.id.to_string()));
        if let Err(e) = self.c.api.start_container(self.id, None).await {
            drop(raw);
            waiter.abort();
            if let Some(p) = proxy {
                p.abort();
            }
            let e = anyhow::Error::new(e);
            let code = client::start_error_code(&describe(&e));
            if self.remove_on_start_failure {
                let opts = RemoveContainerOptions {
                    force: true,
                    ..Default::default()
                };
                let _ = self.c.api.remove_container(self.id, Some(opts)).await;
            }
            return Err(exit_with(e, code));
        }
        let resize = self.tty.then(|| {
            stream::forward_resizes(self.c.clone(), ResizeTarget::Container(self.id.to_string()))
        });
        let ended = stream::session(
            attach.output,
            self.stdin.then_some(attach.input),
            self.tty.then_some(keys),
        )
        .await;
        drop(raw);
        for task in [resize, proxy].into_iter().flatten() {
            task.abort();
        }
        if ended? == Ended::Detached {
            waiter.abort();
            return Ok(None);
        }
        exit_status(self.c, self.id, waiter).await.map(Some)
    }
}

fn exit_code(status: i64) -> Result<()> {
    match status {
        0 => Ok(()),
        s => Err(Exit::code(i32::try_from(s).unwrap_or(125))),
    }
}

pub async fn run(c: &Client, a: RunArgs) -> Result<()> {
    let o = &a.options;
    let body = container_body(o, !a.detach).map_err(|e| Exit::with(125, format!("{e:#}")))?;
    let id = create_container(c, o, body)
        .await
        .map_err(|e| exit_with(e, 125))?;
    if a.detach {
        if let Err(e) = c.api.start_container(&id, None).await {
            let e = anyhow::Error::new(e);
            let code = client::start_error_code(&describe(&e));
            return Err(exit_with(e, code));
        }
        println!("{id}");
        return Ok(());
    }
    let fg = Foreground {
        c,
        id: &id,
        tty: o.tty,
        stdin: o.interactive,
        sig_proxy: a.sig_proxy,
        detach_keys: a.detach_keys.as_deref(),
        wait_condition: if o.rm { "removed" } else { "next-exit" },
        remove_on_start_failure: o.rm,
    };
    match fg.run().await? {
        Some(status) => exit_code(status),
        None => Ok(()),
    }
}

pub async fn start(c: &Client, a: StartArgs) -> Result<()> {
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            return Err(Exit::with(
                1,
                "Error: you cannot start and attach multiple containers at once",
            ));
        }
        let id = &a.containers[0];
        let info = c.api.inspect_container(id, None).await?;
        let config = info.config.unwrap_or_default();
        let fg = Foreground {
            c,
            id,
            tty: config.tty.unwrap_or(false),
            stdin: a.interactive && config.open_stdin.unwrap_or(false),
            sig_proxy: true,
            detach_keys: a.detach_keys.as_deref(),
            wait_condition: "next-exit",
            remove_on_start_failure: false,
        };
        return match fg.run().await? {
            Some(status) => exit_code(status),
            None => Ok(()),
        };
    }
    super::for_each(&a.containers, |name| async move {
        c.api.start_container(&name, None).await?;
        Ok(Some(name))
    })
    .await
}

#[cfg(test)]
pub(super) mod tests;
