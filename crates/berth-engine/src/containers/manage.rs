//! `docker rename`, `docker update`, `docker top` and `docker stats`: operations on an existing
//! container that are not part of its lifecycle. Resource numbers come from the container's
//! cgroup through berth-cgroups (v1 and v2); live resource changes go through `runtime update`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::Container;
use crate::events::EventType;
use crate::model;
use crate::spec::options::RestartPolicy;
use crate::{Engine, Error, Result};

pub use berth_cgroups::{BlkioEntry, BlkioStats, Stats as CgroupStats};

/// dockerd's lower bound for a memory limit.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// `docker update`: Docker's `UpdateConfig` (its `Resources` plus `RestartPolicy`). Fields left
/// at zero (or null) keep their current value, as in dockerd.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateRequest {
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    #[serde(rename = "NanoCpus")]
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<i64>,
    pub cpu_period: Option<i64>,
    pub cpu_quota: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Set (non-null) means change it: 0 or -1 is unlimited.
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u16>,
    pub restart_policy: Option<RestartPolicy>,
}

/// `docker top`: ps's column titles and the rows of the container's processes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Top {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// One `docker stats` sample; the API shapes Docker's JSON from consecutive samples.
#[derive(Debug, Clone)]
pub struct StatsSample {
    pub read: DateTime<Utc>,
    /// `None` when the container is not running (Docker then reports zeros).
    pub cgroup: Option<CgroupStats>,
    /// Host CPU time in nanoseconds, from /proc/stat, as dockerd's `system_cpu_usage`.
    pub system_cpu_usage: u64,
    pub online_cpus: u32,
    /// Host memory in bytes: reported as the limit when the container has none, as dockerd.
    pub host_memory: u64,
    pub cgroup_v2: bool,
    /// The counters of its interfaces on its networks; empty for `none`, `host` and a
    /// container that is not running (dockerd then leaves `networks` out).
    pub networks: Vec<crate::networks::InterfaceStats>,
}

fn nonzero<T: Copy + Default + PartialEq>(v: Option<T>) -> Option<T> {
    v.filter(|v| *v != T::default())
}

/// Keeps the rows of `ps` output whose PID is in `pids`; the last column (the command) may
/// contain spaces, as in dockerd's `parsePSOutput`.
fn parse_ps(output: &str, pids: &[i32]) -> std::result::Result<Top, String> {
    let mut lines = output.lines().filter(|l| !l.trim().is_empty());
    let titles: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| "Couldn't find PID field in ps output".to_string())?;
    let mut processes = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(pid) = fields.get(pid_col).and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if !pids.contains(&pid) {
            continue;
        }
        let last = titles.len().saturating_sub(1).min(fields.len());
        let mut row: Vec<String> = fields[..last].iter().map(|f| f.to_string()).collect();
        row.push(fields[last..].join(" "));
        processes.push(row);
    }
    Ok(Top { titles, processes })
}

/// The OCI `linux.resources` object for what `req` changes, with the values of `r`, the
/// container's resources after the update.
fn resources_json(req: &UpdateRequest, r: &model::Resources) -> Value {
    let mut memory = Map::new();
    if nonzero(req.memory).is_some() || nonzero(req.memory_swap).is_some() {
        // Both: the runtime applies what it is given, and cgroup v2 sets swap apart from
        // memory (memory.swap.max = swap - memory), so one needs the other.
        if let Some(limit) = r.memory.limit {
            memory.insert("limit".into(), json!(limit));
        }
        // The model's `None` is unlimited, which the runtime spells -1.
        memory.insert("swap".into(), json!(r.memory.swap.unwrap_or(-1)));
    }
    if nonzero(req.memory_reservation).is_some() {
        memory.insert("reservation".into(), json!(r.memory.reservation));
    }
    let mut cpu = Map::new();
    if nonzero(req.cpu_shares).is_some() {
        cpu.insert("shares".into(), json!(r.cpu.shares));
    }
    // `--cpus` is a quota over a period in the model already.
    if nonzero(req.nano_cpus).is_some() || nonzero(req.cpu_period).is_some() {
        cpu.insert("period".into(), json!(r.cpu.period));
    }
    if nonzero(req.nano_cpus).is_some() || nonzero(req.cpu_quota).is_some() {
        cpu.insert("quota".into(), json!(r.cpu.quota));
    }
    if req.cpuset_cpus.as_deref().is_some_and(|c| !c.is_empty()) {
        cpu.insert("cpus".into(), json!(r.cpu.cpus));
    }
    if req.cpuset_mems.as_deref().is_some_and(|m| !m.is_empty()) {
        cpu.insert("mems".into(), json!(r.cpu.mems));
    }
    let mut res = Map::new();
    if !memory.is_empty() {
        res.insert("memory".into(), Value::Object(memory));
    }
    if !cpu.is_empty() {
        res.insert("cpu".into(), Value::Object(cpu));
    }
    if req.pids_limit.is_some() {
        res.insert(
            "pids".into(),
            json!({ "limit": r.pids_limit.unwrap_or(-1) }),
        );
    }
    if nonzero(req.blkio_weight).is_some() {
        res.insert("blockIO".into(), json!({ "weight": r.block_io.weight }));
    }
    Value::Object(res)
}

/// `c` with `req` applied to its Docker body and its model, with dockerd's checks
/// (`verifyContainerResources`, `UpdateContainer`); every check runs before anything is applied.
fn apply_update(c: &Container, req: &UpdateRequest) -> Result<Container> {
    let mut h = c.docker()?.host_config.clone();
    let mut restart = c.config.spec.restart;
    if let Some(m) = nonzero(req.memory) {
        if m < MIN_MEMORY {
            return Err(Error::BadUpdate(
                "Minimum memory limit allowed is 6MB".into(),
            ));
        }
        if h.memory_swap > 0 && m > h.memory_swap && nonzero(req.memory_swap).is_none() {
            return Err(Error::BadUpdate(
                "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time".into(),
            ));
        }
        h.memory = m;
    }
    if let Some(s) = nonzero(req.memory_swap) {
        if s > 0 && s < h.memory {
            return Err(Error::BadUpdate(
                "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
            ));
        }
        h.memory_swap = s;
    }
    if let Some(r) = nonzero(req.memory_reservation) {
        h.memory_reservation = r;
    }
    if let Some(n) = nonzero(req.nano_cpus) {
        if nonzero(req.cpu_period).is_some() || nonzero(req.cpu_quota).is_some() {
            return Err(Error::BadUpdate(
                "Conflicting options: Nano CPUs and CPU Period/Quota cannot both be set".into(),
            ));
        }
        let ncpu = i64::from(crate::host::online_cpus());
        if n < 0 || n > ncpu * 1_000_000_000 {
            return Err(Error::BadUpdate(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            )));
        }
        h.nano_cpus = n;
    }
    if let Some(s) = nonzero(req.cpu_shares) {
        h.cpu_shares = s;
    }
    if let Some(p) = nonzero(req.cpu_period) {
        h.cpu_period = p;
    }
    if let Some(q) = nonzero(req.cpu_quota) {
        h.cpu_quota = q;
    }
    if let Some(c) = req.cpuset_cpus.as_ref().filter(|c| !c.is_empty()) {
        h.cpuset_cpus = c.clone();
    }
    if let Some(m) = req.cpuset_mems.as_ref().filter(|m| !m.is_empty()) {
        h.cpuset_mems = m.clone();
    }
    if let Some(p) = req.pids_limit {
        h.pids_limit = (p > 0).then_some(p);
    }
    if let Some(w) = nonzero(req.blkio_weight) {
        h.blkio_weight = w;
    }
    if let Some(rp) = req.restart_policy.as_ref().filter(|rp| !rp.name.is_empty()) {
        restart = model::RestartPolicy::try_from(rp)?;
        if c.config.spec.auto_remove && restart != model::RestartPolicy::No {
            return Err(Error::BadUpdate(
                "Restart policy cannot be updated because AutoRemove is enabled for the container"
                    .into(),
            ));
        }
        // Inspect shows the body.
        h.restart_policy = rp.clone();
    }
    let mut updated = c.clone();
    // The model's resources through the conversion create used, so they keep its checks.
    updated.config.spec.resources = model::Resources::try_from(&h)?;
    updated.config.spec.restart = restart;
    updated.docker_mut()?.host_config = h;
    Ok(updated)
}

impl Engine {
    /// The container's cgroup, located from its bundle's `linux.cgroupsPath`.
    pub(crate) fn cgroup(&self, id: &str) -> Result<berth_cgroups::Manager> {
        let config_path = self.bundle_dir(id).join("config.json");
        let text = std::fs::read(&config_path).map_err(|source| Error::Io {
            action: "read",
            path: config_path.clone(),
            source,
        })?;
        let spec: oci_spec::runtime::Spec = serde_json::from_slice(&text).map_err(Error::Json)?;
        let path: Option<PathBuf> = spec.linux().as_ref().and_then(|l| l.cgroups_path().clone());
        let path = path.map(|p| p.to_string_lossy().into_owned());
        berth_cgroups::Manager::new(Path::new(crate::host::CGROUP_ROOT), path.as_deref(), id)
            .map_err(|source| Error::Cgroup {
                id: id.to_string(),
                source,
            })
    }

    /// `docker rename`.
    pub async fn rename_container(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        let c = self.container(name_or_id).await?;
        let new = super::names::validate(new_name)?;
        if new == c.name {
            return Err(Error::RenameToSameName(new));
        }
        let id = c.id.clone();
        let target = new.clone();
        self.with_store(move |store| {
            store
                .metadata
                .rename_container(&id, &target)
                .map_err(|e| match e {
                    berth_store::Error::ContainerNameTaken { name, id } => {
                        Error::NameInUse { name, id }
                    }
                    e => e.into(),
                })
        })
        .await?;
        let mut attrs = self.container_event_attrs(&c);
        attrs.insert("name".into(), new);
        attrs.insert("oldName".into(), format!("/{}", c.name));
        self.events()
            .publish(EventType::Container, "rename", &c.id, attrs);
        Ok(())
    }

    /// `docker update`: stores the new resources and restart policy, and applies the resources
    /// to a live container with `runtime update`. Returns dockerd's warnings (none).
    pub async fn update_container(
        &self,
        name_or_id: &str,
        req: UpdateRequest,
    ) -> Result<Vec<String>> {
        let c = self.container(name_or_id).await?;
        let entry = self.inner.containers.entry(&c.id, &c.state);
        let _op = entry.op.lock().await;
        let c = self.container(&c.id).await?;
        let updated = apply_update(&c, &req)?;
        let resources = resources_json(&req, &updated.config.spec.resources);
        if c.state.status.is_live() && resources.as_object().is_some_and(|o| !o.is_empty()) {
            self.runtime_update(&c.id, &resources).await?;
        }
        self.save_config(&c.id, &updated.config).await?;
        self.events().publish(
            EventType::Container,
            "update",
            &c.id,
            self.container_event_attrs(&c),
        );
        Ok(Vec::new())
    }

    /// `docker top`: host `ps` with `ps_args` (default `-ef`), rows limited to the
    /// container's cgroup, as dockerd does.
    pub async fn top_container(&self, name_or_id: &str, ps_args: &str) -> Result<Top> {
        let c = self.container(name_or_id).await?;
        if !c.state.status.is_live() {
            return Err(Error::NotRunning(c.id.clone()));
        }
        let engine = self.clone();
        let id = c.id.clone();
        let pids = tokio::task::spawn_blocking(move || {
            engine.cgroup(&id)?.pids().map_err(|source| Error::Cgroup {
                id: id.clone(),
                source,
            })
        })
        .await
        .map_err(Error::from_join)??;
        let args: Vec<&str> = if ps_args.trim().is_empty() {
            vec!["-ef"]
        } else {
            ps_args.split_whitespace().collect()
        };
        let out = tokio::process::Command::new("ps")
            .args(&args)
            .output()
            .await
            .map_err(|source| Error::Io {
                action: "run",
                path: PathBuf::from("ps"),
                source,
            })?;
        if !out.status.success() {
            return Err(Error::Ps {
                id: c.id.clone(),
                message: format!(
                    "ps {}: {}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        parse_ps(&String::from_utf8_lossy(&out.stdout), &pids).map_err(|message| Error::Ps {
            id: c.id.clone(),
            message,
        })
    }

    /// One `docker stats` sample of the container's cgroup (zeros when it is not running).
    pub async fn container_stats(&self, name_or_id: &str) -> Result<(Container, StatsSample)> {
        let c = self.container(name_or_id).await?;
        let engine = self.clone();
        let id = c.id.clone();
        let live = c.state.status.is_live();
        let net_source = self.network_stats_source(&c).await;
        let sample = tokio::task::spawn_blocking(move || -> Result<StatsSample> {
            let (cgroup, v2) = if live {
                let cg = engine.cgroup(&id)?;
                let v2 = cg.version() == berth_cgroups::CgroupVersion::V2;
                let stats = cg.stats().map_err(|source| Error::Cgroup {
                    id: id.clone(),
                    source,
                })?;
                (Some(stats), v2)
            } else {
                (None, false)
            };
            Ok(StatsSample {
                read: Utc::now(),
                cgroup,
                system_cpu_usage: crate::host::system_cpu_usage(),
                online_cpus: crate::host::online_cpus(),
                host_memory: crate::host::mem_total(),
                cgroup_v2: v2,
                networks: net_source.map(|n| n.read()).unwrap_or_default(),
            })
        })
        .await
        .map_err(Error::from_join)??;
        Ok((c, sample))
    }
}

#[cfg(test)]
mod tests;
