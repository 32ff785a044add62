//! Docker's rules for combining a create request with the image config (moby `daemon/commit.go`
//! `merge` and `mergeAndVerifyConfig`), and for the process environment
//! (`Container.CreateDaemonEnvironment`).

use std::collections::BTreeMap;

use super::error::{invalid, SpecError};
use super::options::{CreateOptions, EmptySet, Healthcheck, ImageConfig};

/// The `PATH` every Linux container gets unless the image or the request sets one.
pub const DEFAULT_PATH_ENV: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The container config after merging: what `docker inspect` shows under `Config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergedConfig {
    /// Request env, then image env for keys the request does not set.
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// Empty means "/" at run time.
    pub working_dir: String,
    pub user: String,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: String,
    /// `None` when there is none or it is disabled with `["NONE"]`.
    pub healthcheck: Option<Healthcheck>,
    pub exposed_ports: EmptySet,
    pub volumes: EmptySet,
}

impl MergedConfig {
    /// The process arguments: entrypoint then cmd.
    pub fn args(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

/// Merges the request over the image defaults; fails when no command results.
pub fn merge(opts: &CreateOptions, image: &ImageConfig) -> Result<MergedConfig, SpecError> {
    let env = merge_env(&opts.env, &image.env);
    let (entrypoint, cmd) = command(opts.entrypoint.as_ref(), opts.cmd.as_ref(), image)?;

    let mut labels = image.labels.clone();
    labels.extend(opts.labels.clone());
    let mut exposed_ports = image.exposed_ports.clone();
    exposed_ports.extend(opts.exposed_ports.clone());
    let mut volumes = opts.volumes.clone();
    volumes.extend(image.volumes.clone());

    let healthcheck = merge_healthcheck(opts.healthcheck.as_ref(), image.healthcheck.as_ref())?;

    Ok(MergedConfig {
        env,
        entrypoint,
        cmd,
        working_dir: pick(&opts.working_dir, &image.working_dir),
        user: pick(&opts.user, &image.user),
        labels,
        stop_signal: pick(&opts.stop_signal, &image.stop_signal),
        healthcheck,
        exposed_ports,
        volumes,
    })
}

/// The entrypoint and command from the request's over the image's; fails when none results.
pub(crate) fn command(
    entrypoint: Option<&Vec<String>>,
    cmd: Option<&Vec<String>>,
    image: &ImageConfig,
) -> Result<(Vec<String>, Vec<String>), SpecError> {
    // An entrypoint given in the request (even `[]` or `[""]`) means the image's Cmd was written
    // for a different program, so it is dropped unless the request gives a Cmd too.
    let given_entrypoint = entrypoint.filter(|e| !e.is_empty());
    let user_cmd = cmd.cloned().unwrap_or_default();
    let (mut entrypoint, cmd) = match given_entrypoint {
        Some(ep) => (ep.clone(), user_cmd),
        None => {
            let cmd = if user_cmd.is_empty() {
                image.cmd.clone().unwrap_or_default()
            } else {
                user_cmd
            };
            let ep = match entrypoint {
                // `Entrypoint: []` clears the image's entrypoint but keeps its Cmd.
                Some(_) => Vec::new(),
                None => image.entrypoint.clone().unwrap_or_default(),
            };
            (ep, cmd)
        }
    };
    // `--entrypoint ""` arrives as `[""]`: no entrypoint at all.
    if entrypoint.len() == 1 && entrypoint[0].is_empty() {
        entrypoint.clear();
    }
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(SpecError::NoCommand);
    }
    Ok((entrypoint, cmd))
}

fn pick(given: &str, image: &str) -> String {
    if given.is_empty() { image } else { given }.to_string()
}

fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Request env first, then each image entry whose key the request does not mention.
pub(crate) fn merge_env(given: &[String], image: &[String]) -> Vec<String> {
    let mut env = given.to_vec();
    for entry in image {
        let key = env_key(entry);
        if !given.iter().any(|g| env_key(g) == key) {
            env.push(entry.clone());
        }
    }
    env
}

/// Fields left at zero in the request come from the image; `["NONE"]` turns the check off.
fn merge_healthcheck(
    given: Option<&Healthcheck>,
    image: Option<&Healthcheck>,
) -> Result<Option<Healthcheck>, SpecError> {
    let merged = match (given, image) {
        (None, None) => return Ok(None),
        (Some(g), None) => g.clone(),
        (None, Some(i)) => i.clone(),
        (Some(g), Some(i)) => {
            let or = |g: i64, i: i64| if g == 0 { i } else { g };
            Healthcheck {
                test: if g.test.is_empty() {
                    i.test.clone()
                } else {
                    g.test.clone()
                },
                interval: or(g.interval, i.interval),
                timeout: or(g.timeout, i.timeout),
                start_period: or(g.start_period, i.start_period),
                start_interval: or(g.start_interval, i.start_interval),
                retries: or(g.retries, i.retries),
            }
        }
    };
    validate_healthcheck(&merged)?;
    if merged.test.is_empty() || merged.test[0] == "NONE" {
        return Ok(None);
    }
    Ok(Some(merged))
}

/// dockerd's checks (`daemon/container.go` `validateHealthCheck`): durations are 0 or >= 1ms.
pub(crate) fn validate_healthcheck(h: &Healthcheck) -> Result<(), SpecError> {
    const MIN: i64 = 1_000_000;
    for (option, value) in [
        ("Healthcheck.Interval", h.interval),
        ("Healthcheck.Timeout", h.timeout),
        ("Healthcheck.StartPeriod", h.start_period),
        ("Healthcheck.StartInterval", h.start_interval),
    ] {
        if value != 0 && value < MIN {
            return Err(invalid(option, value, "must be 0 or at least 1ms"));
        }
    }
    if h.retries < 0 {
        return Err(invalid(
            "Healthcheck.Retries",
            h.retries,
            "must not be negative",
        ));
    }
    if let Some(kind) = h.test.first() {
        if !matches!(kind.as_str(), "NONE" | "CMD" | "CMD-SHELL") {
            return Err(invalid(
                "Healthcheck.Test",
                kind,
                "must start with NONE, CMD or CMD-SHELL",
            ));
        }
    }
    Ok(())
}

/// The process environment: `PATH`, `HOSTNAME`, (with a tty) `TERM=xterm` and the variables of
/// legacy links, overridden by the merged env. An entry without `=` unsets a default, as in
/// Docker's `ReplaceOrAppendEnvValues`.
pub fn process_env(
    merged_env: &[String],
    hostname: &str,
    tty: bool,
    linked: &[String],
) -> Vec<String> {
    let mut env: Vec<Option<String>> = vec![
        Some(format!("PATH={DEFAULT_PATH_ENV}")),
        Some(format!("HOSTNAME={hostname}")),
    ];
    if tty {
        env.push(Some("TERM=xterm".to_string()));
    }
    env.extend(linked.iter().cloned().map(Some));
    let defaults = env.len();
    for entry in merged_env {
        let slot = env[..defaults]
            .iter()
            .position(|d| d.as_deref().is_some_and(|d| env_key(d) == env_key(entry)));
        match (entry.contains('='), slot) {
            (true, Some(i)) => env[i] = Some(entry.clone()),
            (true, None) => env.push(Some(entry.clone())),
            (false, Some(i)) => env[i] = None,
            (false, None) => {}
        }
    }
    env.into_iter().flatten().collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
