//! The `berth` CLI on the CRI socket: `pod ls` (table, `-q`, `--no-trunc`, filters, format),
//! `pod inspect` (crictl inspectp's JSON, an unknown pod an error), `pod stop`, `pod rm` (a
//! ready pod refused without `-f`), `ps --namespace k8s.io` listing the pods' containers that
//! `berth ps` does not, and the error when the CRI socket is not there.

mod cri;

use berth_testkit::{unique, Daemon, Out};
use cri::*;

fn lines(out: Out) -> Vec<String> {
    let mut l: Vec<String> = out.ok().stdout.lines().map(str::to_string).collect();
    l.sort();
    l
}

/// The table's column headers (cells are 3 or more spaces apart, headers have one).
#[track_caller]
fn assert_header(table: &str, expected: &[&str]) {
    let header = table.lines().next().unwrap_or_default();
    let cells: Vec<&str> = header
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells, expected, "{table}");
}

/// `berth pod ls -q --no-trunc` with these filters.
fn pod_ids(d: &Daemon, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["pod", "ls", "-q", "--no-trunc"];
    for f in filters {
        args.extend(["--filter", f]);
    }
    lines(d.berth(&args))
}

#[tokio::test]
async fn pods_and_their_containers_are_listed_inspected_and_removed_by_berth() {
    let Some((d, net, _cleanup, mut c, pod_id, sandbox)) = ready_pod("busybox:cli").await else {
        return;
    };
    let pod_name = sandbox.metadata.clone().unwrap_or_default().name;

    // The pod, as crictl pods shows it.
    let table = d.berth(&["pod", "ls"]).ok().stdout;
    assert_header(
        &table,
        &[
            "POD ID",
            "CREATED",
            "STATE",
            "NAME",
            "NAMESPACE",
            "ATTEMPT",
            "RUNTIME",
        ],
    );
    let row = table.lines().nth(1).unwrap_or_default();
    for cell in [&pod_id[..12], "Ready", &pod_name, "berth-test", "(default)"] {
        assert!(row.contains(cell), "{cell} not in {row:?}");
    }
    assert_eq!(d.berth(&["pod", "ls", "-q"]).ok().text(), pod_id[..12]);
    assert_eq!(pod_ids(&d, &["state=ready"]), [pod_id.as_str()]);
    assert_eq!(pod_ids(&d, &["state=notready"]), Vec::<String>::new());
    let label = format!("label=app={pod_name}");
    assert_eq!(
        pod_ids(&d, &[&label, &format!("id={}", &pod_id[..8])]),
        [pod_id.as_str()]
    );
    assert_eq!(pod_ids(&d, &["label=app=other"]), Vec::<String>::new());
    let format = d.berth(&["pod", "ls", "--format", "{{.Name}} {{.State}}"]);
    assert_eq!(format.ok().text(), format!("{pod_name} Ready"));

    // Its containers: only through the CRI, the created one only with -a.
    let name = unique("ctr");
    let running = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config(&name, "busybox:cli", "exec sleep 1000"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    start(&mut c, &running)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let idle = create(
        &mut c,
        &pod_id,
        &sandbox,
        container_config(&unique("idle"), "busybox:cli", "true"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", d.log()));
    let table = d.berth(&["ps", "--namespace", "k8s.io", "-a"]).ok().stdout;
    assert_header(
        &table,
        &[
            "CONTAINER ID",
            "IMAGE",
            "CREATED",
            "STATE",
            "NAME",
            "ATTEMPT",
            "POD ID",
        ],
    );
    let row = table
        .lines()
        .find(|l| l.starts_with(&running[..12]))
        .unwrap_or_else(|| panic!("{running} not in {table}"));
    for cell in ["busybox:cli", "Running", &name, &pod_id[..12]] {
        assert!(row.contains(cell), "{cell} not in {row:?}");
    }
    assert!(
        table.contains(&idle[..12]) && table.contains("Created"),
        "{table}"
    );
    let mut both = vec![running.clone(), idle.clone()];
    both.sort();
    assert_eq!(
        lines(d.berth(&["ps", "--namespace", "k8s.io", "-aq", "--no-trunc"])),
        both
    );
    assert_eq!(
        d.berth(&["ps", "--namespace", "k8s.io", "-q"]).ok().text(),
        running[..12]
    );
    let by_name = d.berth(&[
        "container",
        "ls",
        "--namespace",
        "k8s.io",
        "-aq",
        "--filter",
        &format!("name={name}"),
    ]);
    assert_eq!(by_name.ok().text(), running[..12]);
    let by_label = format!("label=tier={name}");
    let format = d.berth(&[
        "ps",
        "--namespace",
        "k8s.io",
        "-a",
        "--filter",
        &by_label,
        "--format",
        "{{.Name}} {{.PodID}}",
    ]);
    assert_eq!(format.ok().text(), format!("{name} {}", &pod_id[..12]));
    assert_eq!(
        d.berth(&["ps", "-aq"]).ok().text(),
        "",
        "the Docker API lists pods' containers"
    );
    let other = d.berth(&["ps", "--namespace", "default"]).failed();
    assert!(
        other.stderr.contains("moby") && other.stderr.contains("k8s.io"),
        "{other:?}"
    );

    // crictl inspectp's JSON, by a prefix; an unknown pod named in the error.
    let inspect = d.berth(&["pod", "inspect", &pod_id[..10]]).ok().stdout;
    let v: serde_json::Value =
        serde_json::from_str(&inspect).unwrap_or_else(|e| panic!("{e}: {inspect}"));
    assert_eq!(v[0]["status"]["id"], pod_id.as_str(), "{v}");
    assert_eq!(v[0]["status"]["state"], "SANDBOX_READY", "{v}");
    assert_eq!(v[0]["status"]["metadata"]["name"], pod_name.as_str(), "{v}");
    assert!(v[0]["info"]["pid"].as_i64().is_some_and(|p| p > 0), "{v}");
    let missing = unique("nopod");
    let out = d.berth(&["pod", "inspect", &missing]).failed();
    assert!(out.stderr.contains(&missing), "{out:?}");
    assert_eq!(out.text(), "[]");

    // A ready pod is removed only with -f; then nothing is left.
    let out = d.berth(&["pod", "rm", &pod_id]).failed();
    assert!(
        out.stderr.contains("-f") && out.stderr.contains(&pod_id),
        "{out:?}"
    );
    assert_eq!(pod_ids(&d, &[]), [pod_id.as_str()]);
    assert_eq!(
        d.berth(&["pod", "rm", "-f", &pod_id[..12]]).ok().text(),
        pod_id
    );
    assert_eq!(d.berth(&["pod", "ls", "-q"]).ok().text(), "");
    assert_eq!(
        d.berth(&["ps", "--namespace", "k8s.io", "-aq"]).ok().text(),
        ""
    );
    let out = d.berth(&["pod", "rm", &pod_id]).failed();
    assert!(out.stderr.contains(&pod_id), "{out:?}");

    // A stopped pod is NotReady and goes without -f.
    let (second, _) = pod(&d, &net, &mut c).await;
    assert_eq!(d.berth(&["pod", "stop", &second]).ok().text(), second);
    assert_eq!(pod_ids(&d, &["state=notready"]), [second.as_str()]);
    let table = d.berth(&["pod", "ls"]).ok().stdout;
    assert!(table.contains("NotReady"), "{table}");
    assert_eq!(d.berth(&["pod", "rm", &second]).ok().text(), second);
    assert_eq!(pod_ids(&d, &[]), Vec::<String>::new());

    // No CRI there: the error names the socket.
    let socket = format!("unix://{}", d.root.path().join("no-cri.sock").display());
    let out = d.berth(&["--cri-socket", &socket, "pod", "ls"]).failed();
    assert!(
        out.stderr.contains(&socket) && out.stderr.contains("is berthd running with the CRI on?"),
        "{out:?}"
    );
}
