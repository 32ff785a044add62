//! `build` (and `image build`): the context (a directory walked into a tar as it is sent, with
//! `.dockerignore` applied here, or stdin), docker's query parameters, Berth's secret and ssh
//! extension, and the daemon's classic-builder stream shown as steps with timings on a
//! terminal, or as docker prints it (docs/cli.md, "build").

mod context;
mod display;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use futures_util::StreamExt;

use crate::auth;
use crate::cli::{BuildArgs, ProgressMode};
use crate::client::{Client, Exit};
use context::{BuildContext, ExtraFile};
use display::{Display, Line};

/// Where a secret travels in the context tar; the daemon takes this directory out of the
/// context before anything reads it (Berth's extension, docs/cli.md).
pub const SECRETS_DIR: &str = ".berth-build-secrets";

pub async fn build(c: &Client, a: BuildArgs) -> Result<()> {
    if let Some(path) = &a.iidfile {
        // As docker: a stale id must not survive a failed build.
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("remove {}", path.display()));
            }
            _ => {}
        }
    }
    let secrets = a
        .secret
        .iter()
        .map(|s| secret(s, |k| std::env::var(k).ok()))
        .collect::<Result<Vec<_>>>()?;
    let ids: Vec<String> = secrets.iter().map(|(id, _)| id.clone()).collect();
    if let Some(dup) = ids
        .iter()
        .enumerate()
        .find(|(i, id)| ids[..*i].contains(id))
    {
        bail!("--secret: id {} given twice", dup.1);
    }
    let ssh = ssh_sockets(&a.ssh, std::env::var("SSH_AUTH_SOCK").ok())?;
    let mut ctx = tokio::task::spawn_blocking({
        let (context, file) = (a.context.clone(), a.file.clone());
        move || BuildContext::resolve(&context, file.as_deref())
    })
    .await
    .context("context task")??;
    ctx.extra
        .extend(secrets.into_iter().map(|(id, data)| ExtraFile {
            name: format!("{SECRETS_DIR}/{id}"),
            mode: 0o400,
            data,
        }));
    let query = query(&a, ctx.dockerfile.as_deref(), &ids, &ssh, |k| {
        std::env::var(k).ok()
    })?;
    let headers = vec![
        ("Content-Type", "application/x-tar".to_string()),
        ("X-Registry-Config", auth::config_header(&auth::all())?),
    ];
    let (body, producer, sent) = ctx.into_body();
    let lines = match c
        .request_lines(
            hyper::Method::POST,
            &format!("/build?{query}"),
            &headers,
            body,
        )
        .await
    {
        Ok(lines) => lines,
        // A context that could not be read explains the failed request best; a producer that
        // only lost its reader (the daemon answered early) does not.
        Err(e) => {
            return match producer.await.context("context task")? {
                Err(p) if !is_broken_pipe(&p) => Err(p),
                _ => Err(e),
            }
        }
    };
    let mut display = Display::new(display_mode(&a), sent);
    let mut lines = std::pin::pin!(lines);
    let mut image = None;
    while let Some(raw) = lines.next().await {
        let raw = raw?;
        if raw.trim_ascii().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_slice(&raw).context("invalid JSON from the daemon")?;
        if let Some(error) = line.error() {
            display.fail();
            return Err(Exit::with(error.code.unwrap_or(1), error.message));
        }
        if let Some(id) = line.image_id() {
            image = Some(id);
        }
        display.show(&line);
    }
    producer.await.context("context task")??;
    let image = display.finish().or(image);
    let Some(image) = image else {
        bail!("the daemon's stream ended without an image id");
    };
    if let Some(path) = &a.iidfile {
        std::fs::write(path, &image).with_context(|| format!("write {}", path.display()))?;
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `-q` wins; `auto` draws the steps when both stdout and stderr are terminals.
fn display_mode(a: &BuildArgs) -> display::Mode {
    let terminal = || {
        crate::tty::is_terminal(libc::STDOUT_FILENO) && crate::tty::is_terminal(libc::STDERR_FILENO)
    };
    match (a.quiet, a.progress) {
        (true, _) => display::Mode::Quiet,
        (false, ProgressMode::Auto) if terminal() => display::Mode::Live,
        (false, _) => display::Mode::Plain,
    }
}

/// `--secret id=ID[,src=PATH|,env=VAR][,type=file|env]` as buildx reads it: with neither
/// `src` nor `env`, the variable named ID if set, else the file named ID. Returns the id and
/// the content.
fn secret(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<(String, Vec<u8>)> {
    let (mut id, mut src, mut var, mut kind) = (None, None, None, None);
    for field in spec.split(',') {
        let Some((key, value)) = field.split_once('=') else {
            bail!("--secret {spec}: {field:?} is not KEY=VALUE");
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "id" => id = Some(value.to_string()),
            "src" | "source" => src = Some(value.to_string()),
            "env" => var = Some(value.to_string()),
            "type" if matches!(value, "file" | "env") => kind = Some(value.to_string()),
            "type" => bail!("--secret {spec}: unsupported secret type {value:?}"),
            other => bail!("--secret {spec}: unexpected key {other:?}"),
        }
    }
    if kind.as_deref() == Some("env") && var.is_none() {
        var = src.take();
    }
    let Some(id) = id.filter(|id| !id.is_empty()) else {
        bail!("--secret {spec}: an id is required (id=ID)");
    };
    // The id becomes a file name in the context tar.
    if id == "." || id == ".." || id.contains(['/', '\0']) {
        bail!("--secret {spec}: invalid id {id:?}");
    }
    let read =
        |path: &str| std::fs::read(path).with_context(|| format!("--secret {spec}: read {path}"));
    let data = match (src, var) {
        (Some(path), _) => read(&path)?,
        (None, Some(var)) => env(&var)
            .with_context(|| format!("--secret {spec}: environment variable {var} is not set"))?
            .into_bytes(),
        (None, None) => match env(&id) {
            Some(value) => value.into_bytes(),
            None => read(&id)?,
        },
    };
    Ok((id, data))
}

/// `--ssh default|ID[=SOCKET]`: id → absolute agent socket path (`default` without a path is
/// `$SSH_AUTH_SOCK`). Key files (buildx's `ID=KEY[,KEY]`) are not supported.
fn ssh_sockets(specs: &[String], auth_sock: Option<String>) -> Result<BTreeMap<String, PathBuf>> {
    let mut sockets = BTreeMap::new();
    for spec in specs {
        let (id, path) = match spec.split_once('=') {
            Some((id, path)) => (id, Some(path.to_string())),
            None => (spec.as_str(), None),
        };
        if id.is_empty() {
            bail!("--ssh {spec}: an id is required");
        }
        let path = match path.or_else(|| auth_sock.clone()) {
            Some(p) if !p.is_empty() && !p.contains(',') => PathBuf::from(p),
            Some(_) => bail!("--ssh {spec}: only one agent socket per id is supported"),
            None => bail!("--ssh {spec}: no socket given and SSH_AUTH_SOCK is not set"),
        };
        let path = std::path::absolute(&path)
            .with_context(|| format!("--ssh {spec}: {}", path.display()))?;
        if sockets.insert(id.to_string(), path).is_some() {
            bail!("--ssh {spec}: id {id} given twice");
        }
    }
    Ok(sockets)
}

/// `--label`/`--build-arg` style `K=V` (a bare `K` has the empty value).
fn key_value(kv: &str) -> (String, String) {
    match kv.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => (kv.to_string(), String::new()),
    }
}

fn bytes_flag(flag: &str, value: &str) -> Result<String> {
    if value.trim() == "-1" {
        return Ok("-1".into());
    }
    crate::output::parse_ram(value)
        .map(|n| n.to_string())
        .with_context(|| format!("invalid argument {value:?} for {flag}: invalid size"))
}

/// The query of `POST /build`, as the docker CLI sends it (keys sorted, only what differs from
/// the default), plus Berth's `secrets` and `ssh`.
fn query(
    a: &BuildArgs,
    dockerfile: Option<&str>,
    secrets: &[String],
    ssh: &BTreeMap<String, PathBuf>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<String> {
    let mut q: Vec<(&str, String)> = Vec::new();
    let mut json = |key, value: serde_json::Value| q.push((key, value.to_string()));
    if !a.build_arg.is_empty() {
        // `--build-arg NAME` takes NAME from the environment, null when it is unset.
        let args: BTreeMap<String, Option<String>> = a
            .build_arg
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (kv.to_string(), env(kv)),
            })
            .collect();
        json("buildargs", serde_json::json!(args));
    }
    if !a.cache_from.is_empty() {
        json("cachefrom", serde_json::json!(a.cache_from));
    }
    if !a.label.is_empty() {
        let labels: BTreeMap<String, String> = a.label.iter().map(|l| key_value(l)).collect();
        json("labels", serde_json::json!(labels));
    }
    if !secrets.is_empty() {
        json("secrets", serde_json::json!(secrets));
    }
    if !ssh.is_empty() {
        json("ssh", serde_json::json!(ssh));
    }
    let flag = |on: bool| on.then(|| "1".to_string());
    let optional = [
        ("cpusetcpus", a.cpuset_cpus.clone()),
        ("cpushares", a.cpu_shares.map(|s| s.to_string())),
        ("dockerfile", dockerfile.map(str::to_string)),
        ("forcerm", flag(a.force_rm)),
        (
            "memory",
            a.memory
                .as_deref()
                .map(|m| bytes_flag("--memory", m))
                .transpose()?,
        ),
        (
            "memswap",
            a.memory_swap
                .as_deref()
                .map(|m| bytes_flag("--memory-swap", m))
                .transpose()?,
        ),
        ("networkmode", a.network.clone()),
        ("nocache", flag(a.no_cache)),
        ("platform", a.platform.clone()),
        ("pull", flag(a.pull)),
        ("q", flag(a.quiet)),
        ("rm", (!a.rm).then(|| "0".to_string())),
        (
            "shmsize",
            a.shm_size
                .as_deref()
                .map(|s| bytes_flag("--shm-size", s))
                .transpose()?,
        ),
        ("target", a.target.clone()),
        ("version", Some("1".to_string())),
    ];
    q.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    for host in &a.add_host {
        q.push(("extrahosts", extra_host(host)?));
    }
    q.extend(a.tag.iter().map(|t| ("t", t.clone())));
    // docker's url.Values encoding: sorted by key, repeated keys in the order given.
    q.sort_by_key(|(k, _)| *k);
    serde_html_form::to_string(&q).context("encode the build query")
}

/// `--add-host host:ip` (or docker's newer `host=ip`) as the API's `host:ip`.
fn extra_host(spec: &str) -> Result<String> {
    let (host, ip) = spec
        .split_once('=')
        .or_else(|| spec.split_once(':'))
        .with_context(|| format!("invalid argument {spec:?} for --add-host: not host:ip"))?;
    if host.is_empty() || ip.is_empty() {
        bail!("invalid argument {spec:?} for --add-host: not host:ip");
    }
    Ok(format!("{host}:{ip}"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
