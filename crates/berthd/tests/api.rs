//! The Docker Engine API as a typed client (bollard) and raw HTTP see it: version negotiation,
//! Docker's error bodies and status codes, 501 for what is not served, and the event stream.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use bollard::models::{ContainerConfig, ContainerCreateBody};
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, CreateContainerOptionsBuilder, EventsOptionsBuilder,
    RemoveContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use common::{bollard_client as client, unique, Daemon};
use futures_util::StreamExt;

/// A raw HTTP/1.1 request over the unix socket: (status, headers, body).
fn raw(d: &Daemon, method: &str, path: &str) -> (u16, String, String) {
    raw_json(d, method, path, "")
}

/// [`raw`] with a JSON body.
fn raw_json(d: &Daemon, method: &str, path: &str, body: &str) -> (u16, String, String) {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

#[test]
fn ping_and_version_negotiation() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let (status, head, body) = raw(&d, "GET", "/_ping");
    assert_eq!(status, 200);
    assert_eq!(body, "OK");
    assert!(head.to_lowercase().contains("api-version: 1.44"), "{head}");
    assert!(head.to_lowercase().contains("ostype: linux"), "{head}");
    let (status, head, _) = raw(&d, "HEAD", "/_ping");
    assert_eq!(status, 200, "{head}");
    assert_eq!(raw(&d, "GET", "/v1.24/version").0, 200);
    assert_eq!(raw(&d, "GET", "/v1.44/info").0, 200);
    let (status, _, body) = raw(&d, "GET", "/v1.12/version");
    assert_eq!(status, 400);
    assert!(body.contains("too old"), "{body}");
    let (status, _, body) = raw(&d, "GET", "/v1.99/version");
    assert_eq!(status, 400);
    assert!(body.contains("too new"), "{body}");
}

#[test]
fn errors_have_dockers_codes_and_bodies() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let (status, _, body) = raw(&d, "GET", "/v1.44/containers/nope/json");
    assert_eq!(status, 404);
    assert!(
        body.contains("\"message\":\"No such container: nope\""),
        "{body}"
    );
    let (status, _, body) = raw(&d, "GET", "/v1.44/images/nope:1/json");
    assert_eq!(status, 404);
    assert!(body.contains("No such image"), "{body}");
    // Never a silent success for what berthd does not serve.
    let (status, _, body) = raw(&d, "POST", "/v1.44/swarm/init");
    assert_eq!(status, 501);
    assert!(
        body.contains("does not implement POST /swarm/init"),
        "{body}"
    );
    let (status, _, body) = raw(&d, "GET", "/v1.44/containers/json?filters=notjson");
    assert_eq!(status, 400, "{body}");
}

#[test]
fn typed_client_lifecycle_and_events() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = client(&d);
        let version = docker.version().await.unwrap();
        assert_eq!(version.api_version.as_deref(), Some("1.44"));

        let since = chrono_now_secs();
        let name = unique("api");
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            cmd: Some(vec!["sh".into(), "-c".into(), "exit 4".into()]),
            labels: Some([("suite".to_string(), "api".to_string())].into()),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(CreateContainerOptionsBuilder::new().name(&name).build()),
                body,
            )
            .await
            .unwrap();
        let mut wait = docker.wait_container(
            &created.id,
            Some(
                WaitContainerOptionsBuilder::new()
                    .condition("next-exit")
                    .build(),
            ),
        );
        docker.start_container(&created.id, None).await.unwrap();
        // bollard reports a non-zero exit as an error carrying the code.
        match wait.next().await.unwrap() {
            Err(bollard::errors::Error::DockerContainerWaitError { code, .. }) => {
                assert_eq!(code, 4)
            }
            other => panic!("unexpected wait result {other:?}"),
        }
        let inspect = docker.inspect_container(&created.id, None).await.unwrap();
        let state = inspect.state.unwrap();
        assert_eq!(state.exit_code, Some(4));
        assert_eq!(inspect.name.as_deref(), Some(format!("/{name}").as_str()));

        // The event stream saw create, start and die, with Docker's attributes.
        let filters = std::collections::HashMap::from([("container", vec![created.id.as_str()])]);
        let options = EventsOptionsBuilder::new()
            .since(&since.to_string())
            .until(&(chrono_now_secs() + 1).to_string())
            .filters(&filters)
            .build();
        let events: Vec<_> = docker.events(Some(options)).collect().await;
        let actions: Vec<String> = events
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .filter_map(|e| e.action.clone())
            .collect();
        assert_eq!(actions, ["create", "start", "die"], "{events:?}");
        let die = events
            .iter()
            .filter_map(|e| e.as_ref().ok())
            .find(|e| e.action.as_deref() == Some("die"))
            .unwrap();
        let attrs = die.actor.as_ref().unwrap().attributes.as_ref().unwrap();
        assert_eq!(attrs.get("exitCode").map(String::as_str), Some("4"));
        assert_eq!(attrs.get("name"), Some(&name));
        assert_eq!(attrs.get("suite").map(String::as_str), Some("api"));

        docker
            .remove_container(
                &created.id,
                Some(RemoveContainerOptionsBuilder::new().force(true).build()),
            )
            .await
            .unwrap();
        let gone = docker.inspect_container(&created.id, None).await;
        assert!(matches!(
            gone,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            })
        ));
    });
}

/// A config in the body of `POST /commit` becomes the image's, completed from the container's.
#[test]
fn commit_applies_a_config_from_the_body() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("commitcfg");
    d.docker(&[
        "create", "--name", &name, "-w", "/tmp", "-e", "A=0", "-e", "C=3", image, "true",
    ])
    .ok();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let repo = unique("committed");
    rt.block_on(async {
        let config = ContainerConfig {
            cmd: Some(vec!["sh".into(), "-c".into(), "echo $A$B$C; pwd".into()]),
            env: Some(vec!["A=1".into(), "B=2".into()]),
            ..Default::default()
        };
        let options = CommitContainerOptionsBuilder::new()
            .container(&name)
            .repo(&repo)
            .tag("v1")
            .build();
        client(&d).commit_container(options, config).await.unwrap();
    });
    let out = d.docker(&["run", "--rm", &format!("{repo}:v1")]).ok();
    assert_eq!(out.stdout, "123\n/tmp\n");
}

fn chrono_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// An attach or exec start over a raw upgraded connection: sends `input`, returns everything
/// read until the daemon closes its side (or 15 s pass).
fn raw_attach(d: &Daemon, path: &str, body: &str, input: &[&[u8]]) -> Vec<u8> {
    let mut s = UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    for chunk in input {
        std::thread::sleep(std::time::Duration::from_millis(300));
        s.write_all(chunk).unwrap();
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

#[test]
fn detach_keys_end_only_the_client() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("detachkeys");
    d.docker(&["run", "-dit", "--name", &name, image, "sh"])
        .ok();
    let path =
        format!("/v1.44/containers/{name}/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a");
    let started = std::time::Instant::now();
    raw_attach(&d, &path, "", &[b"echo one > /tmp/m\n", b"\x01"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the daemon did not detach"
    );
    let state = d
        .docker(&["inspect", "-f", "{{.State.Status}}", &name])
        .ok();
    assert_eq!(state.stdout.trim(), "running");
    assert_eq!(
        d.docker(&["exec", &name, "cat", "/tmp/m"]).ok().stdout,
        "one\n"
    );
    // Its stdin is still open: a second client's input reaches the same shell.
    raw_attach(&d, &path, "", &[b"exit 6\n"]);
    assert_eq!(d.docker(&["wait", &name]).ok().stdout.trim(), "6");
    // Bad keys are refused before any upgrade.
    let bad = format!("/v1.44/containers/{name}/attach?stream=1&stdin=1&detachKeys=ctrl-1");
    assert_eq!(raw(&d, "POST", &bad).0, 400);
}

/// An exec's own `DetachKeys` end its terminal session; the process keeps running.
#[test]
fn exec_detach_keys_end_only_the_client() {
    if common::skip() {
        return;
    }
    let d = Daemon::start();
    let image = d.busybox();
    let name = unique("execdetach");
    d.docker(&["run", "-d", "--name", &name, image, "sleep", "60"])
        .ok();
    let create = |keys: &str| {
        let body = format!(
            r#"{{"Cmd":["sh"],"Tty":true,"AttachStdin":true,"AttachStdout":true,"DetachKeys":"{keys}"}}"#
        );
        raw_json(&d, "POST", &format!("/v1.44/containers/{name}/exec"), &body)
    };
    let (status, _, body) = create("ctrl-x,y");
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = std::time::Instant::now();
    raw_attach(
        &d,
        &format!("/v1.44/exec/{id}/start"),
        r#"{"Detach":false,"Tty":true}"#,
        &[b"echo two > /tmp/e\n", b"\x18y"],
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the daemon did not detach"
    );
    let (_, _, inspect) = raw(&d, "GET", &format!("/v1.44/exec/{id}/json"));
    let inspect: serde_json::Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspect["Running"], true, "{inspect}");
    assert_eq!(inspect["DetachKeys"], "ctrl-x,y", "{inspect}");
    assert_eq!(
        d.docker(&["exec", &name, "cat", "/tmp/e"]).ok().stdout,
        "two\n"
    );
    // Keys Docker cannot parse are refused when the exec is created.
    assert_eq!(create("ctrl-1").0, 400);
    d.docker(&["rm", "-f", &name]).ok();
}

/// A container whose process exits while it is removed, killed or stopped: each verb answers
/// at once. The exit is caused from the host (SIGKILL to the process) and requests of one verb
/// follow it every 2 ms, concurrently, until one finds the container stopped, so some of them
/// read the state just before berthd records the exit and write it just after. They used to
/// write back the "running" they had read, and wait 10 to 30 s for an exit already past.
#[test]
fn verbs_on_a_container_as_it_exits_answer_at_once() {
    if common::skip() {
        return;
    }
    const ROUNDS: usize = 3;
    const PER_ROUND: usize = 6;
    /// At most this many requests per container (every 2 ms: 120 ms, longer than recording
    /// an exit takes), so the daemon is loaded but not swamped.
    const REQUESTS: usize = 60;
    /// Slow on a loaded host, yet shorter than the waits the lost exit caused (10 to 30 s).
    const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(8);
    let d = Daemon::start();
    let image = d.busybox();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut failures = Vec::new();
    rt.block_on(async {
        let docker = client(&d);
        for round in 0..ROUNDS {
            let mut pending = Vec::new();
            for i in 0..PER_ROUND {
                let body = ContainerCreateBody {
                    image: Some(image.to_string()),
                    cmd: Some(vec!["sleep".into(), "1000".into()]),
                    host_config: Some(bollard::models::HostConfig {
                        network_mode: Some("none".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let id = docker.create_container(None, body).await.unwrap().id;
                docker.start_container(&id, None).await.unwrap();
                let state = docker.inspect_container(&id, None).await.unwrap().state;
                let pid = state.and_then(|s| s.pid).unwrap();
                pending.push(((round + i) % 3, id, pid as libc::pid_t));
            }
            let streams = pending.into_iter().map(|(verb, id, pid)| {
                let docker = docker.clone();
                async move {
                    // SAFETY: kill(2) of the container's process; no memory is involved.
                    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
                    let mut requests = Vec::new();
                    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                    for _ in 0..REQUESTS {
                        if stopped.load(std::sync::atomic::Ordering::SeqCst) {
                            break;
                        }
                        let (docker, id, stopped) = (docker.clone(), id.clone(), stopped.clone());
                        requests.push(tokio::spawn(async move {
                            let answer =
                                tokio::time::timeout(ANSWER_WITHIN, verb_on(&docker, verb, &id))
                                    .await;
                            if !matches!(answer, Ok(Ok(()))) {
                                stopped.store(true, std::sync::atomic::Ordering::SeqCst);
                            }
                            answer
                        }));
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    }
                    let mut failed = Vec::new();
                    for answer in futures_util::future::join_all(requests).await {
                        match answer.unwrap() {
                            Ok(Ok(())) => {}
                            // Stopped already: kill is 409, stop 304; removed already: 404,
                            // or 409 while another request removes it.
                            Ok(Err(bollard::errors::Error::DockerResponseServerError {
                                status_code: 304 | 404 | 409,
                                ..
                            })) => {}
                            other => failed.push(format!("round {round}, verb {verb}: {other:?}")),
                        }
                    }
                    (id, failed)
                }
            });
            for (id, failed) in futures_util::future::join_all(streams).await {
                failures.extend(failed);
                if failures.is_empty() {
                    match verb_on(&docker, 2, &id).await {
                        Ok(())
                        | Err(bollard::errors::Error::DockerResponseServerError {
                            status_code: 404,
                            ..
                        }) => {}
                        Err(e) => failures.push(format!("round {round}, rm -f after: {e}")),
                    }
                }
            }
            if !failures.is_empty() {
                // The daemon's clean-up would wait out the hung containers again.
                break;
            }
        }
    });
    failures.dedup();
    assert_eq!(failures, Vec::<String>::new());
}

/// 0: `docker kill`, 1: `docker stop`, 2: `docker rm -f`.
async fn verb_on(
    docker: &bollard::Docker,
    verb: usize,
    id: &str,
) -> Result<(), bollard::errors::Error> {
    match verb {
        0 => {
            docker
                .kill_container(id, None::<bollard::query_parameters::KillContainerOptions>)
                .await
        }
        1 => {
            docker
                .stop_container(id, None::<bollard::query_parameters::StopContainerOptions>)
                .await
        }
        _ => {
            docker
                .remove_container(
                    id,
                    Some(RemoveContainerOptionsBuilder::new().force(true).build()),
                )
                .await
        }
    }
}
