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

    // An entrypoint given in the request (even `[]` or `[""]`) means the image's Cmd was written
    // for a different program, so it is dropped unless the request gives a Cmd too.
    let given_entrypoint = opts.entrypoint.as_ref().filter(|e| !e.is_empty());
    let user_cmd = opts.cmd.clone().unwrap_or_default();
    let (mut entrypoint, cmd) = match given_entrypoint {
        Some(ep) => (ep.clone(), user_cmd),
        None => {
            let cmd = if user_cmd.is_empty() {
                image.cmd.clone().unwrap_or_default()
            } else {
                user_cmd
            };
            let ep = match &opts.entrypoint {
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

fn pick(given: &str, image: &str) -> String {
    if given.is_empty() { image } else { given }.to_string()
}

fn env_key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// Request env first, then each image entry whose key the request does not mention.
fn merge_env(given: &[String], image: &[String]) -> Vec<String> {
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
fn validate_healthcheck(h: &Healthcheck) -> Result<(), SpecError> {
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

/// The process environment: `PATH`, `HOSTNAME` and (with a tty) `TERM=xterm`, overridden by the
/// merged env. An entry without `=` unsets a default, as in Docker's `ReplaceOrAppendEnvValues`.
pub fn process_env(merged_env: &[String], hostname: &str, tty: bool) -> Vec<String> {
    let mut env: Vec<Option<String>> = vec![
        Some(format!("PATH={DEFAULT_PATH_ENV}")),
        Some(format!("HOSTNAME={hostname}")),
    ];
    if tty {
        env.push(Some("TERM=xterm".to_string()));
    }
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
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn image() -> ImageConfig {
        ImageConfig {
            env: v(&["PATH=/image/bin", "LANG=C.UTF-8"]),
            entrypoint: Some(v(&["/entry.sh"])),
            cmd: Some(v(&["serve", "--port", "80"])),
            working_dir: "/app".into(),
            user: "nobody".into(),
            labels: [("a".to_string(), "image".to_string())].into(),
            stop_signal: "SIGQUIT".into(),
            exposed_ports: [("80/tcp".to_string(), Default::default())].into(),
            volumes: [("/data".to_string(), Default::default())].into(),
            ..Default::default()
        }
    }

    #[test]
    fn entrypoint_and_cmd_rules() {
        // (request entrypoint, request cmd, image entrypoint, image cmd) -> args or no command
        type Row = (
            Option<&'static [&'static str]>,
            Option<&'static [&'static str]>,
            Option<&'static [&'static str]>,
            Option<&'static [&'static str]>,
            Option<&'static [&'static str]>,
        );
        let table: &[Row] = &[
            // docker run img -> image entrypoint + image cmd
            (None, None, Some(&["/e"]), Some(&["c"]), Some(&["/e", "c"])),
            // docker run img x -> image entrypoint + request cmd
            (
                None,
                Some(&["x"]),
                Some(&["/e"]),
                Some(&["c"]),
                Some(&["/e", "x"]),
            ),
            // --entrypoint /b: image cmd is dropped
            (
                Some(&["/b"]),
                None,
                Some(&["/e"]),
                Some(&["c"]),
                Some(&["/b"]),
            ),
            // --entrypoint /b x
            (
                Some(&["/b"]),
                Some(&["x"]),
                Some(&["/e"]),
                Some(&["c"]),
                Some(&["/b", "x"]),
            ),
            // --entrypoint "" with a cmd: just the cmd
            (
                Some(&[""]),
                Some(&["x"]),
                Some(&["/e"]),
                Some(&["c"]),
                Some(&["x"]),
            ),
            // --entrypoint "" without a cmd: nothing left (dockerd refuses too)
            (Some(&[""]), None, Some(&["/e"]), Some(&["c"]), None),
            // Entrypoint: [] clears the image entrypoint, keeps its cmd
            (Some(&[]), None, Some(&["/e"]), Some(&["c"]), Some(&["c"])),
            // image without entrypoint
            (None, None, None, Some(&["sh"]), Some(&["sh"])),
            // nothing anywhere
            (None, None, None, None, None),
            (None, Some(&[]), None, Some(&[]), None),
        ];
        let own = |s: Option<&[&str]>| s.map(v);
        for (i, (ep, cmd, iep, icmd, want)) in table.iter().enumerate() {
            let opts = CreateOptions {
                entrypoint: own(*ep),
                cmd: own(*cmd),
                ..Default::default()
            };
            let img = ImageConfig {
                entrypoint: own(*iep),
                cmd: own(*icmd),
                ..Default::default()
            };
            match (merge(&opts, &img), want) {
                (Ok(m), Some(want)) => assert_eq!(m.args(), v(want), "row {i}"),
                (Err(SpecError::NoCommand), None) => {}
                (got, _) => panic!("row {i}: unexpected {got:?}"),
            }
        }
    }

    #[test]
    fn request_overrides_image_and_unions_sets() {
        let opts = CreateOptions {
            env: v(&["PATH=/mine", "X=1"]),
            labels: [("a".to_string(), "mine".to_string())].into(),
            exposed_ports: [("443/tcp".to_string(), Default::default())].into(),
            volumes: [("/cache".to_string(), Default::default())].into(),
            ..Default::default()
        };
        let m = merge(&opts, &image()).unwrap();
        assert_eq!(m.env, v(&["PATH=/mine", "X=1", "LANG=C.UTF-8"]));
        assert_eq!(m.labels["a"], "mine");
        assert_eq!(m.exposed_ports.len(), 2);
        assert_eq!(m.volumes.len(), 2);
        assert_eq!(m.working_dir, "/app");
        assert_eq!(m.user, "nobody");
        assert_eq!(m.stop_signal, "SIGQUIT");

        let opts = CreateOptions {
            working_dir: "/w".into(),
            user: "1000:1000".into(),
            stop_signal: "SIGTERM".into(),
            ..Default::default()
        };
        let m = merge(&opts, &image()).unwrap();
        assert_eq!(
            (
                m.working_dir.as_str(),
                m.user.as_str(),
                m.stop_signal.as_str()
            ),
            ("/w", "1000:1000", "SIGTERM")
        );
    }

    #[test]
    fn healthcheck_merge_and_none() {
        let img = ImageConfig {
            cmd: Some(v(&["sh"])),
            healthcheck: Some(Healthcheck {
                test: v(&["CMD-SHELL", "curl -f localhost"]),
                interval: 30_000_000_000,
                retries: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        let opts = CreateOptions {
            healthcheck: Some(Healthcheck {
                interval: 5_000_000_000,
                ..Default::default()
            }),
            ..Default::default()
        };
        let h = merge(&opts, &img).unwrap().healthcheck.unwrap();
        assert_eq!(h.test, v(&["CMD-SHELL", "curl -f localhost"]));
        assert_eq!((h.interval, h.retries), (5_000_000_000, 3));

        let none = CreateOptions {
            healthcheck: Some(Healthcheck {
                test: v(&["NONE"]),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(merge(&none, &img).unwrap().healthcheck, None);

        let bad = CreateOptions {
            healthcheck: Some(Healthcheck {
                interval: 10,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(matches!(
            merge(&bad, &img),
            Err(SpecError::InvalidValue {
                option: "Healthcheck.Interval",
                ..
            })
        ));
    }

    #[test]
    fn process_env_defaults_and_overrides() {
        let table: &[(&[&str], &str, bool, &[&str])] = &[
            (
                &[],
                "abc",
                false,
                &[
                    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    "HOSTNAME=abc",
                ],
            ),
            (
                &["PATH=/x", "A=1"],
                "h",
                true,
                &["PATH=/x", "HOSTNAME=h", "TERM=xterm", "A=1"],
            ),
            // A bare key unsets a default; a bare unknown key is dropped.
            (&["HOSTNAME", "NOPE"], "h", false, &[DEFAULT_PATH_LINE]),
            (
                &["TERM=vt100"],
                "h",
                true,
                &[DEFAULT_PATH_LINE, "HOSTNAME=h", "TERM=vt100"],
            ),
        ];
        for (merged, host, tty, want) in table {
            assert_eq!(process_env(&v(merged), host, *tty), v(want), "{merged:?}");
        }
    }

    const DEFAULT_PATH_LINE: &str =
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}
