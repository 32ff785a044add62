use super::*;

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn image() -> ImageConfig {
    ImageConfig {
        env: v(&["PATH=/image/bin", "LANG=C.UTF-8"]),
        entrypoint: Some(v(&["/entry.sh"])),
        cmd: Some(v(&["serve", "--port", "80"])),
        working_dir: "/app".into(),
        user: "nobody".into(),
        labels: [("a".to_string(), "image".to_string())].into(),
        stop_signal: "SIGQUIT".into(),
        exposed_ports: [("80/tcp".to_string(), Default::default())].into(),
        volumes: [("/data".to_string(), Default::default())].into(),
        ..Default::default()
    }
}

#[test]
fn entrypoint_and_cmd_rules() {
    // (request entrypoint, request cmd, image entrypoint, image cmd) -> args or no command
    type Row = (
        Option<&'static [&'static str]>,
        Option<&'static [&'static str]>,
        Option<&'static [&'static str]>,
        Option<&'static [&'static str]>,
        Option<&'static [&'static str]>,
    );
    let table: &[Row] = &[
        // docker run img -> image entrypoint + image cmd
        (None, None, Some(&["/e"]), Some(&["c"]), Some(&["/e", "c"])),
        // docker run img x -> image entrypoint + request cmd
        (
            None,
            Some(&["x"]),
            Some(&["/e"]),
            Some(&["c"]),
            Some(&["/e", "x"]),
        ),
        // --entrypoint /b: image cmd is dropped
        (
            Some(&["/b"]),
            None,
            Some(&["/e"]),
            Some(&["c"]),
            Some(&["/b"]),
        ),
        // --entrypoint /b x
        (
            Some(&["/b"]),
            Some(&["x"]),
            Some(&["/e"]),
            Some(&["c"]),
            Some(&["/b", "x"]),
        ),
        // --entrypoint "" with a cmd: just the cmd
        (
            Some(&[""]),
            Some(&["x"]),
            Some(&["/e"]),
            Some(&["c"]),
            Some(&["x"]),
        ),
        // --entrypoint "" without a cmd: nothing left (dockerd refuses too)
        (Some(&[""]), None, Some(&["/e"]), Some(&["c"]), None),
        // Entrypoint: [] clears the image entrypoint, keeps its cmd
        (Some(&[]), None, Some(&["/e"]), Some(&["c"]), Some(&["c"])),
        // image without entrypoint
        (None, None, None, Some(&["sh"]), Some(&["sh"])),
        // nothing anywhere
        (None, None, None, None, None),
        (None, Some(&[]), None, Some(&[]), None),
    ];
    let own = |s: Option<&[&str]>| s.map(v);
    for (i, (ep, cmd, iep, icmd, want)) in table.iter().enumerate() {
        let opts = CreateOptions {
            entrypoint: own(*ep),
            cmd: own(*cmd),
            ..Default::default()
        };
        let img = ImageConfig {
            entrypoint: own(*iep),
            cmd: own(*icmd),
            ..Default::default()
        };
        match (merge(&opts, &img), want) {
            (Ok(m), Some(want)) => assert_eq!(m.args(), v(want), "row {i}"),
            (Err(SpecError::NoCommand), None) => {}
            (got, _) => panic!("row {i}: unexpected {got:?}"),
        }
    }
}

#[test]
fn request_overrides_image_and_unions_sets() {
    let opts = CreateOptions {
        env: v(&["PATH=/mine", "X=1"]),
        labels: [("a".to_string(), "mine".to_string())].into(),
        exposed_ports: [("443/tcp".to_string(), Default::default())].into(),
        volumes: [("/cache".to_string(), Default::default())].into(),
        ..Default::default()
    };
    let m = merge(&opts, &image()).unwrap();
    assert_eq!(m.env, v(&["PATH=/mine", "X=1", "LANG=C.UTF-8"]));
    assert_eq!(m.labels["a"], "mine");
    assert_eq!(m.exposed_ports.len(), 2);
    assert_eq!(m.volumes.len(), 2);
    assert_eq!(m.working_dir, "/app");
    assert_eq!(m.user, "nobody");
    assert_eq!(m.stop_signal, "SIGQUIT");

    let opts = CreateOptions {
        working_dir: "/w".into(),
        user: "1000:1000".into(),
        stop_signal: "SIGTERM".into(),
        ..Default::default()
    };
    let m = merge(&opts, &image()).unwrap();
    assert_eq!(
        (
            m.working_dir.as_str(),
            m.user.as_str(),
            m.stop_signal.as_str()
        ),
        ("/w", "1000:1000", "SIGTERM")
    );
}

#[test]
fn healthcheck_merge_and_none() {
    let img = ImageConfig {
        cmd: Some(v(&["sh"])),
        healthcheck: Some(Healthcheck {
            test: v(&["CMD-SHELL", "curl -f localhost"]),
            interval: 30_000_000_000,
            retries: 3,
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateOptions {
        healthcheck: Some(Healthcheck {
            interval: 5_000_000_000,
            ..Default::default()
        }),
        ..Default::default()
    };
    let h = merge(&opts, &img).unwrap().healthcheck.unwrap();
    assert_eq!(h.test, v(&["CMD-SHELL", "curl -f localhost"]));
    assert_eq!((h.interval, h.retries), (5_000_000_000, 3));

    let none = CreateOptions {
        healthcheck: Some(Healthcheck {
            test: v(&["NONE"]),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(merge(&none, &img).unwrap().healthcheck, None);

    let bad = CreateOptions {
        healthcheck: Some(Healthcheck {
            interval: 10,
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(matches!(
        merge(&bad, &img),
        Err(SpecError::InvalidValue {
            option: "Healthcheck.Interval",
            ..
        })
    ));
}

#[test]
fn process_env_defaults_and_overrides() {
    let table: &[(&[&str], &str, bool, &[&str])] = &[
        (
            &[],
            "abc",
            false,
            &[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=abc",
            ],
        ),
        (
            &["PATH=/x", "A=1"],
            "h",
            true,
            &["PATH=/x", "HOSTNAME=h", "TERM=xterm", "A=1"],
        ),
        // A bare key unsets a default; a bare unknown key is dropped.
        (&["HOSTNAME", "NOPE"], "h", false, &[DEFAULT_PATH_LINE]),
        (
            &["TERM=vt100"],
            "h",
            true,
            &[DEFAULT_PATH_LINE, "HOSTNAME=h", "TERM=vt100"],
        ),
    ];
    for (merged, host, tty, want) in table {
        assert_eq!(
            process_env(&v(merged), host, *tty, &[]),
            v(want),
            "{merged:?}"
        );
    }
}

#[test]
fn link_variables_come_after_the_defaults_and_yield_to_the_containers_own() {
    let linked = v(&["DB_PORT=tcp://10.0.0.2:5432", "DB_NAME=/web/db"]);
    let env = process_env(&v(&["DB_NAME=mine", "A=1"]), "h", false, &linked);
    assert_eq!(
        env,
        v(&[
            DEFAULT_PATH_LINE,
            "HOSTNAME=h",
            "DB_PORT=tcp://10.0.0.2:5432",
            "DB_NAME=mine",
            "A=1"
        ])
    );
}

const DEFAULT_PATH_LINE: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
