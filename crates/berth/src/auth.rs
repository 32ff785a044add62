//! Registry credentials in a Docker-compatible `config.json` (`{"auths":{"<server>":{"auth":
//! base64("user:password")}}}`, mode 0600): `berth login` writes `$BERTH_CONFIG/config.json`
//! (default `~/.berth/`); lookups also read `$DOCKER_CONFIG/config.json` (default `~/.docker/`),
//! so existing `docker login`s work. Other keys of the file are kept as they are.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use bollard::auth::DockerCredentials;
use serde_json::{json, Value};

/// Docker Hub's key in `auths`, as the docker CLI writes it.
const HUB_KEY: &str = "https://index.docker.io/v1/";

fn home() -> PathBuf {
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from)
}

fn file_in(var: &str, default_dir: &str) -> PathBuf {
    std::env::var_os(var)
        .map_or_else(|| home().join(default_dir), PathBuf::from)
        .join("config.json")
}

pub fn berth_config() -> PathBuf {
    file_in("BERTH_CONFIG", ".berth")
}

fn docker_config() -> PathBuf {
    file_in("DOCKER_CONFIG", ".docker")
}

/// The registry an image name points at, by Docker's rule: a first component with a `.` or
/// `:`, or `localhost`, is a registry; anything else is Docker Hub.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// `docker login`'s argument (a host, or a URL) as the registry name.
pub fn normalize_server(server: Option<&str>) -> String {
    let s = server.unwrap_or("docker.io");
    let host = s.split_once("://").map_or(s, |(_, r)| r);
    let host = host.split('/').next().unwrap_or_default();
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        h => h.into(),
    }
}

fn key_of(registry: &str) -> String {
    if registry == "docker.io" {
        HUB_KEY.to_string()
    } else {
        registry.to_string()
    }
}

fn read(path: &Path) -> Result<Value> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: invalid JSON", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

fn write(path: &Path, v: &Value) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("create {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(v)?)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replace {}", path.display()))
}

fn decode(entry: &Value, registry: &str) -> Option<DockerCredentials> {
    let auth = entry["auth"].as_str()?;
    let pair = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()?;
    let (user, password) = std::str::from_utf8(&pair).ok()?.split_once(':')?;
    Some(DockerCredentials {
        username: Some(user.to_string()),
        password: Some(password.to_string()),
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    })
}

/// Stored credentials for `registry`: Berth's file first, then Docker's.
pub fn lookup(registry: &str) -> Option<DockerCredentials> {
    let key = key_of(registry);
    [berth_config(), docker_config()].iter().find_map(|path| {
        let v = read(path).ok()?;
        let auths = v["auths"].as_object()?;
        auths
            .iter()
            .find(|(k, _)| *k == &key || normalize_server(Some(k)) == registry)
            .and_then(|(_, entry)| decode(entry, registry))
    })
}

/// Every stored login, keyed by registry name (`docker.io`, `host:port`, as the daemon looks
/// them up); Berth's file wins over Docker's. A build sends them all: the daemon pulls what the
/// Dockerfile names, which the CLI does not know.
pub fn all() -> BTreeMap<String, DockerCredentials> {
    let mut found = BTreeMap::new();
    for path in [berth_config(), docker_config()] {
        let Ok(v) = read(&path) else { continue };
        let Some(auths) = v["auths"].as_object() else {
            continue;
        };
        for (key, entry) in auths {
            let registry = normalize_server(Some(key));
            if let std::collections::btree_map::Entry::Vacant(slot) = found.entry(registry) {
                if let Some(creds) = decode(entry, slot.key()) {
                    slot.insert(creds);
                }
            }
        }
    }
    found
}

pub fn store(registry: &str, user: &str, password: &str) -> Result<PathBuf> {
    let path = berth_config();
    let mut v = read(&path)?;
    if !v["auths"].is_object() {
        v["auths"] = json!({});
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    v["auths"][key_of(registry)] = json!({ "auth": auth });
    write(&path, &v)?;
    Ok(path)
}

/// Removes the stored login; false when there was none.
pub fn erase(registry: &str) -> Result<bool> {
    let path = berth_config();
    let mut v = read(&path)?;
    let removed = v["auths"]
        .as_object_mut()
        .and_then(|a| a.remove(&key_of(registry)))
        .is_some();
    if removed {
        write(&path, &v)?;
    }
    Ok(removed)
}

/// The `X-Registry-Auth` header of `creds` (base64url JSON `AuthConfig`, as docker sends it).
pub fn header(creds: &DockerCredentials) -> Result<String> {
    let json = serde_json::to_vec(creds).context("encode registry credentials")?;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(json))
}

/// The `X-Registry-Config` header of a build: base64url JSON of registry → `AuthConfig`
/// (`e30=`, `{}`, with none), as docker sends it.
pub fn config_header(all: &BTreeMap<String, DockerCredentials>) -> Result<String> {
    let json = serde_json::to_vec(all).context("encode registry credentials")?;
    Ok(base64::engine::general_purpose::URL_SAFE.encode(json))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
