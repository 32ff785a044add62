use super::*;

fn query(q: &str) -> BuildQuery {
    serde_html_form::from_str(q).unwrap_or_else(|e| panic!("{q}: {e}"))
}

#[test]
fn booleans_are_dockerds() {
    for t in ["1", "true", "yes", "notabool", "True"] {
        assert!(bool_value(t), "{t}");
    }
    for f in ["", "0", "no", "false", "none", "FALSE"] {
        assert!(!bool_value(f), "{f}");
    }
}

#[test]
fn the_query_becomes_the_engines_options() {
    let q = query(
        "t=a:1&t=b&dockerfile=sub/Dockerfile&buildargs=%7B%22A%22%3A%221%22%2C%22B%22%3Anull%7D\
         &labels=%7B%22k%22%3A%22v%22%7D&target=builder&nocache=1&pull=0&forcerm=1\
         &networkmode=none&shmsize=1048576&memory=67108864&cpushares=512&extrahosts=h%3A10.0.0.1\
         &ulimits=%5B%7B%22Name%22%3A%22nofile%22%2C%22Hard%22%3A2048%2C%22Soft%22%3A1024%7D%5D",
    );
    let o = options(q, &HeaderMap::new()).unwrap();
    assert_eq!(o.tags, ["a:1", "b"]);
    assert_eq!(o.dockerfile, "sub/Dockerfile");
    assert_eq!(o.build_args.get("A"), Some(&Some("1".to_string())));
    assert_eq!(o.build_args.get("B"), Some(&None));
    assert_eq!(o.labels.get("k").map(String::as_str), Some("v"));
    assert_eq!(o.target.as_deref(), Some("builder"));
    assert!(o.no_cache && !o.pull);
    assert_eq!(o.remove, RemoveContainers::Always);
    assert_eq!(o.network, BuildNetwork::None);
    assert_eq!(o.shm_size, Some(1 << 20));
    assert_eq!(o.memory.limit, Some(64 << 20));
    assert_eq!(o.cpu.shares, Some(512));
    assert_eq!(o.extra_hosts[0].hostname, "h");
    assert_eq!((o.ulimits[0].soft, o.ulimits[0].hard), (1024, 2048));
    // `rm` is on unless turned off.
    assert_eq!(
        options(query(""), &HeaderMap::new()).unwrap().remove,
        RemoveContainers::OnSuccess
    );
    assert_eq!(
        options(query("rm=0"), &HeaderMap::new()).unwrap().remove,
        RemoveContainers::Never
    );
}

#[test]
fn what_dockerd_refuses_is_refused_before_the_body_is_read() {
    for (q, text) in [
        ("buildargs=notjson", "error reading build args"),
        ("labels=%5B", "error reading labels"),
        ("squash=1", "experimental"),
        ("version=3", "invalid version"),
        ("isolation=hyperv", "Unsupported isolation"),
        (
            "remote=http%3A%2F%2F127.0.0.1%2Fctx.tar",
            "remote build contexts",
        ),
        ("shmsize=abc", "not an integer"),
        ("securityopt=seccomp%3Dunconfined", "security options"),
    ] {
        match options(query(q), &HeaderMap::new()) {
            Err(ApiError::BadRequest(m)) => assert!(m.contains(text), "{q}: {m}"),
            other => panic!("{q}: {other:?}"),
        }
    }
}

#[test]
fn events_are_written_as_dockerds_stream() {
    let id: berth_types::Digest = format!("sha256:{}", "ab".repeat(32)).parse().unwrap();
    let step = BuildEvent::Step {
        number: 2,
        total: 3,
        instruction: "RUN echo a > b && c".into(),
    };
    let text: Vec<u8> = event_lines(&step)
        .iter()
        .chain(&event_lines(&BuildEvent::Output {
            stderr: true,
            data: b"oops\n".to_vec(),
        }))
        .chain(&event_lines(&BuildEvent::StepDone { image: id.clone() }))
        .chain(&event_lines(&BuildEvent::StageDone { image: id }))
        .flat_map(|l| line(l).to_vec())
        .collect();
    assert_eq!(
        String::from_utf8(text).unwrap(),
        "{\"stream\":\"Step 2/3 : RUN echo a \\u003e b \\u0026\\u0026 c\"}\r\n\
         {\"stream\":\"\\n\"}\r\n\
         {\"stream\":\"\\u001b[91moops\\n\\u001b[0m\"}\r\n\
         {\"stream\":\" ---\\u003e abababababab\\n\"}\r\n\
         {\"aux\":{\"ID\":\"sha256:abababababababababababababababababababababababababababababababab\"}}\r\n"
    );
}

#[test]
fn secrets_and_ssh_agents_come_as_json() {
    let q = query(
        "secrets=%5B%22token%22%2C%22npm%22%5D&ssh=%7B%22default%22%3A%22%2Frun%2Fagent.sock%22%7D",
    );
    let o = options(q, &HeaderMap::new()).unwrap();
    assert_eq!(o.secrets, ["token", "npm"]);
    assert_eq!(
        o.ssh.get("default").map(|p| p.display().to_string()),
        Some("/run/agent.sock".into())
    );
    // The socket is the daemon host's: a relative path means nothing there.
    let q = query("ssh=%7B%22default%22%3A%22agent.sock%22%7D");
    assert!(options(q, &HeaderMap::new()).is_err());
}
