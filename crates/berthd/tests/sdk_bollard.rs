//! berthd driven by bollard (the Rust Docker client) on the API details issue 12 names: what a
//! typed client reads back (LogConfig, Runtime, StopTimeout, networks in stats), how it decodes
//! streams (exec framing chosen by the start request, attach logs without a stream, load errors
//! in the stream), and the answers of a daemon with no swarm. The Python SDK covers the same
//! ground in sdk_python.rs.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, RestartPolicy, RestartPolicyNameEnum};
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, CommitContainerOptionsBuilder, CreateContainerOptionsBuilder,
    ImportImageOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
    StatsOptionsBuilder,
};
use bollard::Docker;
use common::{bollard_client as client, unique, Daemon};
use futures_util::{StreamExt, TryStreamExt};

/// Runs `body` with bollard on a fresh daemon and its busybox image (unless skipped).
fn on_daemon<F, Fut>(body: F)
where
    F: FnOnce(Docker, &'static str) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body(client(&d), image));
}

/// Creates (named, if `name`) and starts a container; returns its id.
async fn run(
    docker: &Docker,
    image: &str,
    name: Option<&str>,
    cmd: &[&str],
    host: Option<HostConfig>,
) -> String {
    let body = ContainerCreateBody {
        image: Some(image.into()),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        host_config: host,
        ..Default::default()
    };
    let options = name.map(|n| CreateContainerOptionsBuilder::new().name(n).build());
    let id = docker.create_container(options, body).await.unwrap().id;
    docker.start_container(&id, None).await.unwrap();
    id
}

fn status_of(e: &bollard::errors::Error) -> u16 {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => *status_code,
        other => panic!("not a server error: {other:?}"),
    }
}

#[test]
fn containers_as_a_typed_client_reads_them() {
    on_daemon(|docker, image| async move {
        let body = ContainerCreateBody {
            image: Some(image.into()),
            cmd: Some(vec!["true".into()]),
            stop_timeout: Some(3),
            ..Default::default()
        };
        let id = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await
            .unwrap()
            .id;
        let c = docker
            .inspect_container(&id, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let host = c.host_config.unwrap();
        assert_eq!(host.log_config.unwrap().typ.as_deref(), Some("json-file"));
        assert_eq!(host.runtime.as_deref(), Some("berth"));
        assert_eq!(c.config.unwrap().stop_timeout, Some(3));

        // An unknown log driver is refused at create with dockerd's text.
        let bad = ContainerCreateBody {
            image: Some(image.into()),
            host_config: Some(HostConfig {
                log_config: Some(bollard::models::HostConfigLogConfig {
                    typ: Some("nosuch".into()),
                    config: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                bad,
            )
            .await
            .unwrap_err();
        assert_eq!(status_of(&e), 400);
        assert!(
            e.to_string()
                .contains("logger: no log driver named 'nosuch' is registered"),
            "{e}"
        );

        // SIGKILL returns after the exit: the remove right after it finds nothing running.
        for _ in 0..3 {
            let id = run(&docker, image, None, &["sleep", "1000"], None).await;
            docker
                .kill_container(&id, None::<bollard::query_parameters::KillContainerOptions>)
                .await
                .unwrap();
            docker
                .remove_container(
                    &id,
                    None::<bollard::query_parameters::RemoveContainerOptions>,
                )
                .await
                .unwrap();
        }

        // Commit right as the container exits: a failed pause does not fail the commit.
        for i in 0..5 {
            let id = run(&docker, image, None, &["sh", "-c", "echo x > /f"], None).await;
            let repo = unique("bollard-commit");
            docker
                .commit_container(
                    CommitContainerOptionsBuilder::new()
                        .container(&id)
                        .repo(&repo)
                        .tag(&i.to_string())
                        .pause(true)
                        .build(),
                    bollard::models::ContainerConfig::default(),
                )
                .await
                .unwrap();
        }

        // diff: the init layer's paths are not changes.
        let id = run(&docker, image, None, &["touch", "/made"], None).await;
        let mut wait =
            docker.wait_container(&id, None::<bollard::query_parameters::WaitContainerOptions>);
        while wait.next().await.is_some() {}
        let changes: Vec<String> = docker
            .container_changes(&id)
            .await
            .unwrap()
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(changes, ["/made"]);

        // The restart back-off is `restarting`, and a plain remove is a 409.
        let policy = HostConfig {
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::ALWAYS),
                maximum_retry_count: None,
            }),
            ..Default::default()
        };
        let id = run(&docker, image, None, &["sh", "-c", "exit 2"], Some(policy)).await;
        let mut seen = false;
        for _ in 0..600 {
            let s = docker
                .inspect_container(&id, None::<InspectContainerOptions>)
                .await
                .unwrap()
                .state
                .unwrap();
            if s.restarting == Some(true) {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(seen, "never saw the container restarting");
        let e = docker
            .remove_container(
                &id,
                None::<bollard::query_parameters::RemoveContainerOptions>,
            )
            .await
            .unwrap_err();
        assert_eq!(status_of(&e), 409, "{e}");
        docker
            .remove_container(
                &id,
                Some(RemoveContainerOptionsBuilder::new().force(true).build()),
            )
            .await
            .unwrap();
    });
}

#[test]
fn streams_framed_as_the_request_asks() {
    on_daemon(|docker, image| async move {
        let id = run(
            &docker,
            image,
            None,
            &["sh", "-c", "echo one; sleep 1000"],
            None,
        )
        .await;
        // Exec created with a tty but started without: frames of stdout.
        for (create_tty, start_tty) in [(true, false), (false, true)] {
            let exec = docker
                .create_exec(
                    &id,
                    CreateExecOptions {
                        cmd: Some(vec!["echo", "hi"]),
                        attach_stdout: Some(true),
                        attach_stderr: Some(true),
                        tty: Some(create_tty),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .id;
            let StartExecResults::Attached { output, .. } = docker
                .start_exec(
                    &exec,
                    Some(StartExecOptions {
                        tty: start_tty,
                        ..Default::default()
                    }),
                )
                .await
                .unwrap()
            else {
                panic!("detached")
            };
            let out: Vec<LogOutput> = output.try_collect().await.unwrap();
            let all: Vec<u8> = out.iter().flat_map(|o| o.as_ref().to_vec()).collect();
            assert!(String::from_utf8_lossy(&all).starts_with("hi"), "{out:?}");
            if start_tty {
                assert!(matches!(out[0], LogOutput::Console { .. }), "{out:?}");
            } else {
                assert!(matches!(out[0], LogOutput::StdOut { .. }), "{out:?}");
            }
        }

        // Attach with logs and no stream: what was written, then the end.
        let output = docker
            .attach_container(
                &id,
                Some(
                    AttachContainerOptionsBuilder::new()
                        .stdout(true)
                        .logs(true)
                        .stream(false)
                        .build(),
                ),
            )
            .await
            .unwrap()
            .output;
        let logs: Vec<LogOutput> =
            tokio::time::timeout(Duration::from_secs(20), output.try_collect())
                .await
                .expect("attach without a stream did not end")
                .unwrap();
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0].as_ref(), b"one\n");

        // Stats: per-interface counters of the container's network namespace.
        let stats = docker
            .stats(&id, Some(StatsOptionsBuilder::new().stream(false).build()))
            .next()
            .await
            .unwrap()
            .unwrap();
        let eth0 = stats.networks.unwrap().remove("eth0").unwrap();
        assert!(
            eth0.rx_packets.is_some() && eth0.tx_bytes.is_some(),
            "{eth0:?}"
        );

        // A load that fails is reported in the stream (bollard turns it into its error).
        let results: Vec<_> = docker
            .import_image(
                ImportImageOptionsBuilder::new().build(),
                bollard::body_full(bytes::Bytes::from_static(b"not a tar archive")),
                None,
            )
            .collect()
            .await;
        assert!(
            matches!(
                results.last(),
                Some(Err(bollard::errors::Error::DockerStreamError { .. }))
            ),
            "{results:?}"
        );
    });
}

#[test]
fn links_volumes_swarm_and_plugins() {
    on_daemon(|docker, image| async move {
        let target = unique("bl-db");
        run(&docker, image, Some(&target), &["sleep", "1000"], None).await;
        let app = unique("bl-app");
        let links = HostConfig {
            links: Some(vec![format!("{target}:db")]),
            ..Default::default()
        };
        run(&docker, image, Some(&app), &["sleep", "1000"], Some(links)).await;
        docker
            .remove_container(
                &format!("{app}/db"),
                Some(RemoveContainerOptionsBuilder::new().link(true).build()),
            )
            .await
            .unwrap();
        let links = docker
            .inspect_container(&app, None::<InspectContainerOptions>)
            .await
            .unwrap()
            .host_config
            .unwrap()
            .links;
        assert!(links.unwrap_or_default().is_empty());

        // An unnamed volume is anonymous: labelled, and pruned without `all`.
        let v = docker
            .create_volume(bollard::models::VolumeCreateRequest::default())
            .await
            .unwrap();
        assert_eq!(
            v.labels
                .get("com.docker.volume.anonymous")
                .map(String::as_str),
            Some("")
        );
        let pruned = docker
            .prune_volumes(None::<bollard::query_parameters::PruneVolumesOptions>)
            .await
            .unwrap();
        assert_eq!(pruned.volumes_deleted, Some(vec![v.name]));

        // No swarm: 503s with dockerd's texts.
        let e = docker.inspect_swarm().await.unwrap_err();
        assert_eq!(status_of(&e), 503);
        assert!(e.to_string().contains("not a swarm manager"), "{e}");
        let e = docker
            .leave_swarm(None::<bollard::query_parameters::LeaveSwarmOptions>)
            .await
            .unwrap_err();
        assert_eq!(status_of(&e), 503);
        assert!(e.to_string().contains("not part of a swarm"), "{e}");
        let e = docker
            .list_services(None::<bollard::query_parameters::ListServicesOptions>)
            .await
            .unwrap_err();
        assert_eq!(status_of(&e), 503);
    });
}
