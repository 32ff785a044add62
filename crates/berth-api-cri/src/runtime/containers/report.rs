//! The engine's pod containers as the CRI reports them (ListContainers, ContainerStatus), and
//! ListContainers' filter as the engine's, after containerd's `container_list.go` and
//! `container_status.go`.

use berth_engine::containers::Status;
use berth_engine::model::{LogSpec, MountKind, MountRequest, Propagation, Resources};
use berth_engine::pods::{ImageMount, PodContainer, PodContainerFilter};
use chrono::{DateTime, Utc};

use crate::proto::{
    self, ContainerFilter, ContainerMetadata, ContainerResources, ContainerState, ImageSpec,
    LinuxContainerResources, MountPropagation,
};

/// The CRI's state of an engine status. A paused container still has its process (containerd
/// reports it running); a restarting one has exited; a dead or half-removed one is unknown.
pub(in crate::runtime) fn state(status: Status) -> ContainerState {
    match status {
        Status::Created => ContainerState::ContainerCreated,
        Status::Running | Status::Paused => ContainerState::ContainerRunning,
        Status::Exited | Status::Restarting => ContainerState::ContainerExited,
        Status::Removing | Status::Dead => ContainerState::ContainerUnknown,
    }
}

/// ListContainers' entry. `image_ref` and `image_id` are both the image's config digest, as
/// containerd answers without looking the image up.
pub(in crate::runtime) fn container(pc: &PodContainer) -> proto::Container {
    let c = &pc.container;
    proto::Container {
        id: c.id.clone(),
        pod_sandbox_id: pc.pod_id.clone(),
        metadata: Some(metadata(pc)),
        image: Some(image(pc)),
        image_ref: c.image_id.to_string(),
        state: state(c.state.status).into(),
        created_at: nanos(Some(c.created)),
        labels: c.config.spec.labels.clone().into_iter().collect(),
        annotations: c.config.spec.annotations.clone().into_iter().collect(),
        image_id: c.image_id.to_string(),
    }
}

/// ContainerStatus' status. Times are those the state has reached (containerd shows no start
/// time before a start, no finish time before an exit); the reason is containerd's, once exited.
pub(in crate::runtime) fn container_status(pc: &PodContainer) -> proto::ContainerStatus {
    let c = &pc.container;
    let spec = &c.config.spec;
    let state = state(c.state.status);
    let (started_at, finished_at) = match state {
        ContainerState::ContainerCreated => (0, 0),
        ContainerState::ContainerRunning => (nanos(c.state.started_at), 0),
        ContainerState::ContainerExited | ContainerState::ContainerUnknown => {
            (nanos(c.state.started_at), nanos(c.state.finished_at))
        }
    };
    let reason = match state {
        ContainerState::ContainerExited if c.state.oom_killed => "OOMKilled",
        ContainerState::ContainerExited if c.state.exit_code == 0 => "Completed",
        ContainerState::ContainerExited => "Error",
        _ => "",
    };
    proto::ContainerStatus {
        id: c.id.clone(),
        metadata: Some(metadata(pc)),
        state: state.into(),
        created_at: nanos(Some(c.created)),
        started_at,
        finished_at,
        exit_code: c.state.exit_code,
        image: Some(image(pc)),
        image_ref: c.image_id.to_string(),
        reason: reason.to_string(),
        message: c.state.error.clone(),
        labels: spec.labels.clone().into_iter().collect(),
        annotations: spec.annotations.clone().into_iter().collect(),
        mounts: spec
            .storage
            .mounts
            .iter()
            .filter_map(|m| mount(m, &c.config.image_mounts))
            .collect(),
        log_path: match &spec.log {
            LogSpec::Cri { path } => path.to_string_lossy().into_owned(),
            _ => String::new(),
        },
        resources: Some(ContainerResources {
            linux: Some(resources(&spec.resources)),
            windows: None,
        }),
        image_id: c.image_id.to_string(),
        stop_signal: stop_signal(spec.process.stop_signal.as_deref()).into(),
        // Known once started: the ids are resolved in the image's /etc files at start.
        user: c.state.user.as_ref().map(|u| proto::ContainerUser {
            linux: Some(proto::LinuxContainerUser {
                uid: i64::from(u.uid),
                gid: i64::from(u.gid),
                supplemental_groups: u.additional_gids.iter().copied().map(i64::from).collect(),
            }),
        }),
    }
}

/// ListContainers' filter. The engine filters on one status, so each CRI state is its main
/// engine status: a paused, restarting or removing container is not matched by state.
pub(in crate::runtime) fn container_filter(f: Option<ContainerFilter>) -> PodContainerFilter {
    let Some(f) = f else {
        return PodContainerFilter::default();
    };
    let nonempty = |s: String| (!s.is_empty()).then_some(s);
    PodContainerFilter {
        id: nonempty(f.id),
        pod_id: nonempty(f.pod_sandbox_id),
        status: f.state.map(|s| match ContainerState::try_from(s.state) {
            Ok(ContainerState::ContainerCreated) => Status::Created,
            Ok(ContainerState::ContainerRunning) => Status::Running,
            Ok(ContainerState::ContainerExited) => Status::Exited,
            // An unknown value matches what UNKNOWN matches rather than every container.
            Ok(ContainerState::ContainerUnknown) | Err(_) => Status::Dead,
        }),
        labels: f.label_selector.into_iter().collect(),
    }
}

pub(in crate::runtime) fn metadata(pc: &PodContainer) -> ContainerMetadata {
    ContainerMetadata {
        name: pc.metadata.name.clone(),
        attempt: pc.metadata.attempt,
    }
}

/// The image as CreateContainer named it.
fn image(pc: &PodContainer) -> ImageSpec {
    ImageSpec {
        image: pc.container.config.spec.image.clone(),
        ..ImageSpec::default()
    }
}

/// Nanoseconds since the epoch; 0 for unset (the CRI's "not specified").
fn nanos(t: Option<DateTime<Utc>>) -> i64 {
    t.and_then(|t| t.timestamp_nanos_opt()).unwrap_or_default()
}

/// A CRI mount echoed from the spec: host paths and image volumes, the kinds CreateContainer
/// makes; an image volume's `image_ref` is the id of the image it mounts (KEP 5365), as the
/// create resolved it.
fn mount(m: &MountRequest, images: &[ImageMount]) -> Option<proto::Mount> {
    let container_path = m.target.to_string_lossy().into_owned();
    match &m.kind {
        MountKind::Bind {
            source,
            propagation,
            recursive_readonly,
            ..
        } => Some(proto::Mount {
            container_path,
            host_path: source.to_string_lossy().into_owned(),
            readonly: m.readonly,
            propagation: match propagation {
                Propagation::Private | Propagation::Rprivate => {
                    MountPropagation::PropagationPrivate
                }
                Propagation::Slave | Propagation::Rslave => {
                    MountPropagation::PropagationHostToContainer
                }
                Propagation::Shared | Propagation::Rshared => {
                    MountPropagation::PropagationBidirectional
                }
            }
            .into(),
            recursive_read_only: *recursive_readonly,
            ..proto::Mount::default()
        }),
        MountKind::Image { reference, subpath } => Some(proto::Mount {
            container_path,
            readonly: m.readonly,
            image: Some(ImageSpec {
                image: reference.clone(),
                image_ref: images
                    .iter()
                    .find(|i| i.target == m.target)
                    .map(|i| i.image_id.to_string())
                    .unwrap_or_default(),
                ..ImageSpec::default()
            }),
            image_sub_path: subpath
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default(),
            ..proto::Mount::default()
        }),
        MountKind::Volume { .. } | MountKind::Tmpfs { .. } => None,
    }
}

/// The model's limits in the CRI's terms, unset as 0.
fn resources(r: &Resources) -> LinuxContainerResources {
    let signed = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok()).unwrap_or(0);
    LinuxContainerResources {
        cpu_period: signed(r.cpu.period),
        cpu_quota: r.cpu.quota.unwrap_or(0),
        cpu_shares: signed(r.cpu.shares),
        memory_limit_in_bytes: r.memory.limit.unwrap_or(0),
        oom_score_adj: r.oom_score_adj.into(),
        cpuset_cpus: r.cpu.cpus.clone().unwrap_or_default(),
        cpuset_mems: r.cpu.mems.clone().unwrap_or_default(),
        hugepage_limits: r
            .hugepages
            .iter()
            .map(|(page_size, &limit)| proto::HugepageLimit {
                page_size: page_size.clone(),
                limit,
            })
            .collect(),
        unified: r.unified.clone().into_iter().collect(),
        memory_swap_limit_in_bytes: r.memory.swap.unwrap_or(0),
    }
}

/// The stop signal CreateContainer asked for, by the name it was stored under
/// (`SIGRTMIN+1` is `SIGRTMINPLUS1`); none asked, or a form the CRI has no name for, is the
/// runtime's default (the record does not keep the image's STOPSIGNAL).
fn stop_signal(name: Option<&str>) -> proto::Signal {
    let Some(name) = name else {
        return proto::Signal::RuntimeDefault;
    };
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    proto::Signal::from_str_name(&full.replacen('+', "PLUS", 1).replacen('-', "MINUS", 1))
        .unwrap_or(proto::Signal::RuntimeDefault)
}
