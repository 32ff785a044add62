//! `berth pod ls/inspect/stop/rm` and `berth ps --namespace k8s.io`: Kubernetes pod sandboxes
//! and their containers through the CRI, printed as `crictl pods`, `inspectp`, `rmp` and `ps`
//! print them, with the list machinery (`--format`, `-q`, `--no-trunc`) of `berth ps`.

use anyhow::{bail, Result};
use berth_api_cri::proto::{
    Container, ContainerFilter, ContainerState, ContainerStateValue, ListContainersRequest,
    NamespaceMode, PodSandbox, PodSandboxFilter, PodSandboxState, PodSandboxStateValue,
    PodSandboxStatusRequest, PodSandboxStatusResponse, RemovePodSandboxRequest,
    StopPodSandboxRequest,
};
use serde_json::{json, Map, Value};

use super::{filters, for_each};
use crate::cli::{PodLsArgs, PodRmArgs, Pods, PsArgs};
use crate::client::Exit;
use crate::cri::{rpc, Cri};
use crate::output::{self, col, Column, ListStyle, Row};

const POD_COLUMNS: [Column; 7] = [
    col("ID", "POD ID", false),
    col("RunningFor", "CREATED", true),
    col("State", "STATE", false),
    col("Name", "NAME", false),
    col("Namespace", "NAMESPACE", true),
    col("Attempt", "ATTEMPT", false),
    col("Runtime", "RUNTIME", true),
];

const CONTAINER_COLUMNS: [Column; 7] = [
    col("ID", "CONTAINER ID", false),
    col("Image", "IMAGE", true),
    col("RunningFor", "CREATED", true),
    col("State", "STATE", false),
    col("Name", "NAME", false),
    col("Attempt", "ATTEMPT", false),
    col("PodID", "POD ID", false),
];

/// CRI times are nanoseconds since the epoch.
fn unix_secs(nanos: i64) -> i64 {
    nanos / 1_000_000_000
}

fn pod_state(state: i32) -> &'static str {
    match PodSandboxState::try_from(state) {
        Ok(PodSandboxState::SandboxReady) => "Ready",
        _ => "NotReady",
    }
}

fn container_state(state: i32) -> &'static str {
    match ContainerState::try_from(state) {
        Ok(ContainerState::ContainerCreated) => "Created",
        Ok(ContainerState::ContainerRunning) => "Running",
        Ok(ContainerState::ContainerExited) => "Exited",
        _ => "Unknown",
    }
}

/// One `pod ls` row; `{{json .}}` prints these fields.
pub fn pod_row(p: &PodSandbox, no_trunc: bool, now: i64) -> Row {
    let meta = p.metadata.clone().unwrap_or_default();
    let created = unix_secs(p.created_at);
    let runtime = if p.runtime_handler.is_empty() {
        "(default)".to_string()
    } else {
        p.runtime_handler.clone()
    };
    vec![
        ("ID", output::short_id(&p.id, no_trunc)),
        ("CreatedAt", output::created_at(created)),
        ("RunningFor", output::ago(created, now)),
        ("State", pod_state(p.state).to_string()),
        ("Name", meta.name),
        ("Namespace", meta.namespace),
        ("UID", meta.uid),
        ("Attempt", meta.attempt.to_string()),
        ("Runtime", runtime),
        ("Labels", output::labels_text(&p.labels)),
    ]
}

/// One `ps --namespace k8s.io` row; the image by name, or by id (shortened) when the
/// container was created from one.
pub fn container_row(c: &Container, no_trunc: bool, now: i64) -> Row {
    let meta = c.metadata.clone().unwrap_or_default();
    let created = unix_secs(c.created_at);
    let image = c
        .image
        .as_ref()
        .map(|i| i.image.clone())
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| c.image_ref.clone());
    let image = if image.starts_with("sha256:") {
        output::short_id(&image, no_trunc)
    } else {
        image
    };
    vec![
        ("ID", output::short_id(&c.id, no_trunc)),
        ("Image", image),
        ("CreatedAt", output::created_at(created)),
        ("RunningFor", output::ago(created, now)),
        ("State", container_state(c.state).to_string()),
        ("Name", meta.name),
        ("Attempt", meta.attempt.to_string()),
        ("PodID", output::short_id(&c.pod_sandbox_id, no_trunc)),
        ("Labels", output::labels_text(&c.labels)),
    ]
}

/// `--filter label=k=v` as a CRI label selector entry.
fn label(value: &str) -> Result<(String, String)> {
    match value.split_once('=') {
        Some((k, v)) => Ok((k.to_string(), v.to_string())),
        None => bail!("bad label filter {value:?} (expected label=key=value)"),
    }
}

/// `pod ls --filter`s as the CRI's ListPodSandbox filter.
pub fn pod_filter(flags: &[String]) -> Result<PodSandboxFilter> {
    let mut filter = PodSandboxFilter::default();
    for (key, values) in filters(flags)?.unwrap_or_default() {
        for value in values {
            match key.as_str() {
                "id" => filter.id = value,
                "label" => {
                    let (k, v) = label(&value)?;
                    filter.label_selector.insert(k, v);
                }
                "state" => {
                    let state = match value.to_ascii_lowercase().as_str() {
                        "ready" => PodSandboxState::SandboxReady,
                        "notready" => PodSandboxState::SandboxNotready,
                        _ => bail!("bad state filter {value:?} (expected ready or notready)"),
                    };
                    filter.state = Some(PodSandboxStateValue {
                        state: state.into(),
                    });
                }
                _ => bail!("invalid filter {key:?} (pod ls takes id, label and state)"),
            }
        }
    }
    Ok(filter)
}

/// `ps --namespace k8s.io --filter`s as the CRI's ListContainers filter plus the name
/// substrings the CRI cannot filter on (crictl matches names on its side too); without `all`
/// only running containers, as `crictl ps`.
pub fn container_filter(flags: &[String], all: bool) -> Result<(ContainerFilter, Vec<String>)> {
    let mut filter = ContainerFilter::default();
    let mut names = Vec::new();
    for (key, values) in filters(flags)?.unwrap_or_default() {
        for value in values {
            match key.as_str() {
                "label" => {
                    let (k, v) = label(&value)?;
                    filter.label_selector.insert(k, v);
                }
                "name" => names.push(value),
                _ => bail!("invalid filter {key:?} (ps --namespace k8s.io takes label and name)"),
            }
        }
    }
    if !all {
        filter.state = Some(ContainerStateValue {
            state: ContainerState::ContainerRunning.into(),
        });
    }
    Ok((filter, names))
}

pub async fn ls(cri: &Cri, a: PodLsArgs) -> Result<()> {
    let filter = pod_filter(&a.filter)?;
    let mut pods = cri.pods(filter).await?;
    // Newest first, as crictl.
    pods.sort_by_key(|p| std::cmp::Reverse(p.created_at));
    let now = output::now_unix();
    let rows: Vec<Row> = pods.iter().map(|p| pod_row(p, a.no_trunc, now)).collect();
    let style = ListStyle::new(a.format.format.as_deref(), a.quiet, a.no_trunc);
    output::print(&output::render_list(&rows, &POD_COLUMNS, &style, "ID"));
    Ok(())
}

pub async fn ps(cri: &Cri, a: PsArgs) -> Result<()> {
    if a.size {
        bail!("--size is not supported with --namespace k8s.io");
    }
    let limit = if a.latest { Some(1) } else { a.last };
    let (filter, names) = container_filter(&a.filter, a.all || limit.is_some())?;
    let mut list = cri
        .runtime
        .clone()
        .list_containers(ListContainersRequest {
            filter: Some(filter),
        })
        .await
        .map_err(rpc)?
        .into_inner()
        .containers;
    list.retain(|c| {
        let name = c.metadata.as_ref().map_or("", |m| m.name.as_str());
        names.iter().all(|n| name.contains(n.as_str()))
    });
    list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
    if let Some(n) = limit.and_then(|n| usize::try_from(n).ok()) {
        list.truncate(n);
    }
    let now = output::now_unix();
    let rows: Vec<Row> = list
        .iter()
        .map(|c| container_row(c, a.no_trunc, now))
        .collect();
    let style = ListStyle::new(a.format.format.as_deref(), a.quiet, a.no_trunc);
    output::print(&output::render_list(
        &rows,
        &CONTAINER_COLUMNS,
        &style,
        "ID",
    ));
    Ok(())
}

/// `crictl inspectp`'s object: the status in the protobuf JSON mapping, and each verbose
/// info entry (berthd's `info`) parsed as JSON beside it.
pub fn inspect_json(r: &PodSandboxStatusResponse) -> Value {
    let s = r.status.clone().unwrap_or_default();
    let meta = s.metadata.unwrap_or_default();
    let network = s.network.unwrap_or_default();
    let options = s
        .linux
        .and_then(|l| l.namespaces)
        .and_then(|n| n.options)
        .unwrap_or_default();
    let mode = |m: i32| NamespaceMode::try_from(m).map_or("", |m| m.as_str_name());
    let state = PodSandboxState::try_from(s.state).map_or("", |s| s.as_str_name());
    let created = chrono::DateTime::from_timestamp_nanos(s.created_at)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let mut out = Map::new();
    out.insert(
        "status".into(),
        json!({
            "id": s.id,
            "metadata": {
                "attempt": meta.attempt,
                "name": meta.name,
                "namespace": meta.namespace,
                "uid": meta.uid,
            },
            "state": state,
            "createdAt": created,
            "network": {
                "additionalIps": network.additional_ips.iter()
                    .map(|ip| json!({ "ip": ip.ip })).collect::<Vec<_>>(),
                "ip": network.ip,
            },
            "linux": {
                "namespaces": {
                    "options": {
                        "ipc": mode(options.ipc),
                        "network": mode(options.network),
                        "pid": mode(options.pid),
                        "targetId": options.target_id,
                    },
                },
            },
            "labels": s.labels,
            "annotations": s.annotations,
            "runtimeHandler": s.runtime_handler,
        }),
    );
    for (key, text) in &r.info {
        let value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()));
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

/// Prints the found pods as one JSON array, as `docker inspect` does, and fails (exit 1)
/// after naming each pod not found.
pub async fn inspect(cri: &Cri, a: Pods) -> Result<()> {
    let mut found = Vec::new();
    let mut failed = false;
    for name in &a.pods {
        match status(cri, name, true).await {
            Ok(r) => found.push(inspect_json(&r)),
            Err(e) => {
                eprintln!("{}", crate::client::describe(&e));
                failed = true;
            }
        }
    }
    println!("{}", output::json_pretty(&Value::Array(found)));
    if failed {
        return Err(Exit::code(1));
    }
    Ok(())
}

async fn status(cri: &Cri, name: &str, verbose: bool) -> Result<PodSandboxStatusResponse> {
    let pod_sandbox_id = cri.pod_id(name).await?;
    Ok(cri
        .runtime
        .clone()
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id,
            verbose,
        })
        .await
        .map_err(rpc)?
        .into_inner())
}

async fn stop_pod(cri: &Cri, id: &str) -> Result<()> {
    cri.runtime
        .clone()
        .stop_pod_sandbox(StopPodSandboxRequest {
            pod_sandbox_id: id.to_string(),
        })
        .await
        .map_err(rpc)?;
    Ok(())
}

pub async fn stop(cri: &Cri, a: Pods) -> Result<()> {
    for_each(&a.pods, |name| async move {
        let id = cri.pod_id(&name).await?;
        stop_pod(cri, &id).await?;
        Ok(Some(id))
    })
    .await
}

/// As `crictl rmp`: a ready pod is removed only with `-f`, which stops it first.
pub async fn rm(cri: &Cri, a: PodRmArgs) -> Result<()> {
    let force = a.force;
    for_each(&a.pods, |name| async move {
        let r = status(cri, &name, false).await?;
        let s = r.status.unwrap_or_default();
        if s.state == i32::from(PodSandboxState::SandboxReady) {
            if !force {
                bail!(
                    "pod sandbox {} is Ready: stop it first (berth pod stop) or use -f",
                    s.id
                );
            }
            stop_pod(cri, &s.id).await?;
        }
        cri.runtime
            .clone()
            .remove_pod_sandbox(RemovePodSandboxRequest {
                pod_sandbox_id: s.id.clone(),
            })
            .await
            .map_err(rpc)?;
        Ok(Some(s.id))
    })
    .await
}

#[cfg(test)]
mod tests;
