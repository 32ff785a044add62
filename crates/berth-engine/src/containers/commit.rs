//! `docker commit`: the container's writable layer (its snapshot's upper directory) becomes a
//! new image layer on top of the image's layers, stored like any other layer (blob in the
//! content store, committed snapshot under its chain id), with a config that carries the
//! container's settings and a history entry.

use std::io::{BufWriter, Seek, Write};

use berth_types::{Digest, Reference};
use serde_json::{json, Value};

use super::{io_err, runtime, Status};
use crate::events::EventType;
use crate::images::import::{apply_changes, record_image, store_layer_checked, Expected};
use crate::{Engine, Error, Result};

/// Options of `docker commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `repo[:tag]` for the new image; none leaves it untagged.
    pub reference: Option<String>,
    pub comment: String,
    pub author: String,
    /// Freeze a running container while its layer is written (Docker's default).
    pub pause: bool,
    /// Dockerfile instructions applied to the new config (`--change`).
    pub changes: Vec<String>,
    /// A container config (`Cmd`, `Env`, …) from the API body: it becomes the new image's
    /// config, with what it leaves unset taken from the container, as dockerd merges.
    pub config: Option<serde_json::Map<String, Value>>,
}

/// `Value` of a list, `null` when empty (Docker's `Entrypoint: null`).
fn list_or_null(v: &[String]) -> Value {
    if v.is_empty() {
        Value::Null
    } else {
        json!(v)
    }
}

impl Engine {
    /// `docker commit`; returns the new image id.
    pub async fn commit_container(&self, name_or_id: &str, opts: CommitOptions) -> Result<Digest> {
        let tag = opts
            .reference
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(|r| r.parse::<Reference>().map(Reference::with_default_tag))
            .transpose()?;
        if let Some(t) = &tag {
            if t.digest().is_some() {
                return Err(Error::TagWithDigest(t.to_string()));
            }
        }
        // Bad `changes` are the client's 400 before anything is paused or written.
        apply_changes(&mut json!({}), &opts.changes)?;
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let _gc = self.inner.gc_lock.read().await;
        // As dockerd, a pause that fails does not stop the commit: the container may be
        // exiting right now (its exit not yet recorded), and a stopped one needs no pause.
        let pause = opts.pause
            && c.state.status == Status::Running
            && match runtime::run(self.runtime().pause(&c.id)).await {
                Ok(_) => true,
                Err(e) => {
                    tracing::debug!(container = %c.id, error = %e, "pause for commit");
                    false
                }
            };
        let tmp = self
            .config()
            .data_root
            .join("tmp")
            .join(format!("commit-{}.tar", crate::random_hex(8)));
        let container = c.clone();
        let result = self
            .with_store(move |store| {
                let record = store.metadata.get_container(&container.id)?;
                let image = store.metadata.get_image(&container.image_id)?;
                let upper = store.snapshots.upper_dir(&record.snapshot_key)?;
                if let Some(dir) = tmp.parent() {
                    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
                }
                let written = (|| -> Result<_> {
                    let file = std::fs::File::options()
                        .read(true)
                        .write(true)
                        .create_new(true)
                        .open(&tmp)
                        .map_err(io_err("create", &tmp))?;
                    let mut out = BufWriter::new(file);
                    // As dockerd's commit, which leaves out the init layer.
                    let digest = berth_image::write_layer_from_dir_without(
                        &upper,
                        &mut out,
                        &super::fs::init_layer_paths(),
                    )?;
                    let mut file = out
                        .into_inner()
                        .map_err(|e| io_err("write", &tmp)(e.into_error()))?;
                    file.flush().map_err(io_err("write", &tmp))?;
                    file.rewind().map_err(io_err("rewind", &tmp))?;
                    Ok((digest, file))
                })();
                // The open file stays readable after the name is gone.
                let _ = std::fs::remove_file(&tmp);
                let (digest, file) = written?;
                let parent = image.layers.last().map(|l| l.chain_id.clone());
                let ingest = format!("commit-{}", crate::random_hex(16));
                let name = format!("layer of container {}", container.id);
                let expected = Expected {
                    name: &name,
                    diff_id: Some(&digest.diff_id),
                    blob: None,
                };
                let (layer, new) =
                    store_layer_checked(store, file, parent.as_ref(), &ingest, &expected)?;
                let chain = layer.chain_id.clone();
                let recorded = new_config(&container, &image.config, &layer.diff_id, &opts)
                    .and_then(|config| {
                        let mut layers = image.layers.clone();
                        layers.push(layer);
                        record_image(store, &config, layers, tag.as_ref())
                    });
                if recorded.is_err() && new {
                    // No image refers to the new layer: do not leave its snapshot behind.
                    let _ = store.snapshots.remove(chain.as_str());
                }
                recorded
            })
            .await;
        if pause {
            if let Err(e) = runtime::run(self.runtime().resume(&c.id)).await {
                tracing::error!(container = %c.id, error = %e, "resume after commit");
            }
        }
        let id = result?;
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert("imageID".into(), id.to_string());
        self.events()
            .publish(EventType::Container, "commit", &c.id, attrs);
        Ok(id)
    }
}

/// The image config of a commit: the base image's, with the container's settings as its
/// `config` (then `changes`), the new layer appended to `rootfs` and a history entry.
fn new_config(
    c: &super::Container,
    image_config: &str,
    diff_id: &Digest,
    opts: &CommitOptions,
) -> Result<Value> {
    let mut config: Value = serde_json::from_str(image_config).map_err(Error::Json)?;
    if !config.is_object() {
        config = json!({});
    }
    let merged = crate::spec::merge(c.docker()?, &super::create::image_config(image_config)?)?;
    let mut cc = match config.get("config") {
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    };
    cc["Hostname"] = json!(c.config.hostname);
    cc["Env"] = json!(merged.env);
    cc["Cmd"] = list_or_null(&merged.cmd);
    cc["Entrypoint"] = list_or_null(&merged.entrypoint);
    cc["WorkingDir"] = json!(merged.working_dir);
    cc["User"] = json!(merged.user);
    cc["Labels"] = json!(merged.labels);
    if !merged.stop_signal.is_empty() {
        cc["StopSignal"] = json!(merged.stop_signal);
    }
    if !merged.exposed_ports.is_empty() {
        cc["ExposedPorts"] = json!(merged.exposed_ports);
    }
    if !merged.volumes.is_empty() {
        cc["Volumes"] = json!(merged.volumes);
    }
    cc["Tty"] = json!(c.config.spec.process.tty);
    cc["OpenStdin"] = json!(c.config.spec.process.stdin);
    let cc = match &opts.config {
        Some(given) => {
            let mut user = Value::Object(given.clone());
            apply_changes(&mut user, &opts.changes)?;
            merge_unset(&mut user, &cc);
            user
        }
        None => {
            apply_changes(&mut cc, &opts.changes)?;
            cc
        }
    };
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    config["config"] = cc;
    config["container"] = json!(c.id);
    config["created"] = json!(now);
    config["author"] = json!(opts.author);
    config["comment"] = json!(opts.comment);
    if !config["rootfs"].is_object() {
        config["rootfs"] = json!({"type": "layers", "diff_ids": []});
    }
    match config["rootfs"]["diff_ids"].as_array_mut() {
        Some(ids) => ids.push(json!(diff_id)),
        None => config["rootfs"]["diff_ids"] = json!([diff_id]),
    }
    let created_by = std::iter::once(c.config.path.as_str())
        .chain(c.config.args.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ");
    let mut entry = json!({"created": now, "created_by": created_by});
    if !opts.author.is_empty() {
        entry["author"] = json!(opts.author);
    }
    if !opts.comment.is_empty() {
        entry["comment"] = json!(opts.comment);
    }
    match config["history"].as_array_mut() {
        Some(h) => h.push(entry),
        None => config["history"] = json!([entry]),
    }
    Ok(config)
}

/// dockerd's `merge` for commit: fields the API caller left unset come from the container;
/// `Env`, `Labels`, `ExposedPorts` and `Volumes` gain the container's entries they lack. A
/// caller's `Entrypoint` means the container's `Cmd` is not inherited.
fn merge_unset(user: &mut Value, container: &Value) {
    let is_unset = |v: Option<&Value>| match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.is_empty(),
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(_) => false,
    };
    for key in ["User", "WorkingDir", "StopSignal", "Healthcheck"] {
        if is_unset(user.get(key)) {
            if let Some(v) = container.get(key) {
                user[key] = v.clone();
            }
        }
    }
    for key in ["Labels", "ExposedPorts", "Volumes"] {
        if let Some(Value::Object(from)) = container.get(key) {
            if !matches!(user.get(key), Some(Value::Object(_))) {
                user[key] = json!({});
            }
            if let Some(Value::Object(to)) = user.get_mut(key) {
                for (k, v) in from {
                    to.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    let env_key = |e: &Value| {
        e.as_str()
            .map(|s| s.split('=').next().unwrap_or(s).to_string())
    };
    if let Some(Value::Array(from)) = container.get("Env") {
        if !matches!(user.get("Env"), Some(Value::Array(_))) {
            user["Env"] = json!([]);
        }
        if let Some(Value::Array(to)) = user.get_mut("Env") {
            let have: std::collections::HashSet<String> = to.iter().filter_map(env_key).collect();
            to.extend(
                from.iter()
                    .filter(|e| env_key(e).is_some_and(|k| !have.contains(&k)))
                    .cloned(),
            );
        }
    }
    if is_unset(user.get("Entrypoint")) {
        if is_unset(user.get("Cmd")) {
            user["Cmd"] = container.get("Cmd").cloned().unwrap_or(Value::Null);
        }
        if matches!(user.get("Entrypoint"), None | Some(Value::Null)) {
            user["Entrypoint"] = container.get("Entrypoint").cloned().unwrap_or(Value::Null);
        }
    }
}

#[cfg(test)]
mod tests;
