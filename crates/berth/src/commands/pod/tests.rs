use std::collections::HashMap;

use super::*;
use berth_api_cri::proto::{
    ContainerMetadata, ImageSpec, LinuxPodSandboxStatus, Namespace, NamespaceOption,
    PodSandboxMetadata, PodSandboxNetworkStatus, PodSandboxStatus,
};

const POD_ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const CTR_ID: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
/// 2023-11-14 22:13:20 UTC, in nanoseconds.
const CREATED: i64 = 1_700_000_000 * 1_000_000_000;

fn pod() -> PodSandbox {
    PodSandbox {
        id: POD_ID.into(),
        metadata: Some(PodSandboxMetadata {
            name: "web".into(),
            uid: "uid-1".into(),
            namespace: "default".into(),
            attempt: 2,
        }),
        state: PodSandboxState::SandboxReady.into(),
        created_at: CREATED,
        labels: HashMap::from([("app".into(), "web".into())]),
        ..Default::default()
    }
}

fn container(image: &str) -> Container {
    Container {
        id: CTR_ID.into(),
        pod_sandbox_id: POD_ID.into(),
        metadata: Some(ContainerMetadata {
            name: "nginx".into(),
            attempt: 1,
        }),
        image: Some(ImageSpec {
            image: image.into(),
            ..Default::default()
        }),
        image_ref: "sha256:feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface".into(),
        state: ContainerState::ContainerExited.into(),
        created_at: CREATED,
        ..Default::default()
    }
}

fn style(format: Option<&str>, quiet: bool, no_trunc: bool) -> ListStyle {
    ListStyle {
        format: output::Format::parse(format),
        quiet,
        no_trunc,
        width: None,
    }
}

#[test]
fn pod_rows_as_crictl_pods_prints_them() {
    let rows = vec![pod_row(&pod(), false, 1_700_000_150)];
    insta::assert_snapshot!(output::render_list(&rows, &POD_COLUMNS, &style(None, false, false), "ID"), @r"
    POD ID         CREATED         STATE   NAME   NAMESPACE   ATTEMPT   RUNTIME
    0f1e2d3c4b5a   2 minutes ago   Ready   web    default     2         (default)
    ");
    let full = vec![pod_row(&pod(), true, 1_700_000_150)];
    assert_eq!(
        output::render_list(&full, &POD_COLUMNS, &style(None, true, true), "ID"),
        format!("{POD_ID}\n")
    );
    insta::assert_snapshot!(output::render_list(&rows, &POD_COLUMNS, &style(Some("{{.Name}} {{.State}} {{.Labels}}"), false, false), "ID"), @"web Ready app=web");
}

#[test]
fn a_stopped_pod_is_not_ready_and_a_named_handler_shows() {
    let mut p = pod();
    p.state = PodSandboxState::SandboxNotready.into();
    p.runtime_handler = "runc".into();
    let row = pod_row(&p, false, 1_700_000_000);
    let json = output::row_json(&row);
    assert!(json.contains(r#""State":"NotReady""#), "{json}");
    assert!(json.contains(r#""Runtime":"runc""#), "{json}");
}

#[test]
fn container_rows_as_crictl_ps_prints_them() {
    let rows = vec![
        container_row(&container("busybox:test"), false, 1_700_003_600),
        container_row(&container(""), false, 1_700_003_600),
    ];
    insta::assert_snapshot!(output::render_list(&rows, &CONTAINER_COLUMNS, &style(None, false, false), "ID"), @r"
    CONTAINER ID   IMAGE          CREATED             STATE    NAME    ATTEMPT   POD ID
    a1b2c3d4e5f6   busybox:test   About an hour ago   Exited   nginx   1         0f1e2d3c4b5a
    a1b2c3d4e5f6   feedfacefeed   About an hour ago   Exited   nginx   1         0f1e2d3c4b5a
    ");
    let full = container_row(&container(""), true, 1_700_003_600);
    let json = output::row_json(&full);
    assert!(json.contains(&format!(r#""PodID":"{POD_ID}""#)), "{json}");
    assert!(json.contains(r#""Image":"sha256:feedface"#), "{json}");
}

#[test]
fn pod_filters_become_the_cri_filter() {
    let flags = ["label=app=web", "state=NotReady", "id=0f1e"].map(String::from);
    let f = pod_filter(&flags).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.id, "0f1e");
    assert_eq!(
        f.label_selector,
        HashMap::from([("app".to_string(), "web".to_string())])
    );
    assert_eq!(
        f.state.map(|s| s.state),
        Some(PodSandboxState::SandboxNotready.into())
    );
    for bad in ["state=running", "label=app", "name=web", "id"] {
        assert!(pod_filter(&[bad.to_string()]).is_err(), "{bad}");
    }
}

#[test]
fn container_filters_list_running_ones_unless_all() {
    let flags = ["label=tier=web", "name=ngi"].map(String::from);
    let (f, names) = container_filter(&flags, false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(names, ["ngi"]);
    assert_eq!(f.label_selector["tier"], "web");
    assert_eq!(
        f.state.map(|s| s.state),
        Some(ContainerState::ContainerRunning.into())
    );
    let (all, _) = container_filter(&[], true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.state, None);
    assert!(container_filter(&["status=exited".to_string()], true).is_err());
}

#[test]
fn inspect_prints_the_status_and_the_parsed_info() {
    let r = PodSandboxStatusResponse {
        status: Some(PodSandboxStatus {
            id: POD_ID.into(),
            metadata: pod().metadata,
            state: PodSandboxState::SandboxReady.into(),
            created_at: CREATED + 5,
            network: Some(PodSandboxNetworkStatus {
                ip: "10.88.0.2".into(),
                additional_ips: Vec::new(),
            }),
            linux: Some(LinuxPodSandboxStatus {
                namespaces: Some(Namespace {
                    options: Some(NamespaceOption {
                        pid: NamespaceMode::Container.into(),
                        ..Default::default()
                    }),
                }),
            }),
            ..Default::default()
        }),
        info: HashMap::from([("info".to_string(), r#"{"pid":42}"#.to_string())]),
        ..Default::default()
    };
    let v = inspect_json(&r);
    assert_eq!(v["status"]["id"], POD_ID);
    assert_eq!(v["status"]["state"], "SANDBOX_READY");
    assert_eq!(v["status"]["createdAt"], "2023-11-14T22:13:20.000000005Z");
    assert_eq!(v["status"]["network"]["ip"], "10.88.0.2");
    assert_eq!(
        v["status"]["linux"]["namespaces"]["options"]["pid"],
        "CONTAINER"
    );
    assert_eq!(
        v["status"]["linux"]["namespaces"]["options"]["network"],
        "POD"
    );
    assert_eq!(v["info"]["pid"], 42);
}
