#![allow(clippy::unwrap_used)]

use super::*;

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn parse_takes_name_alias_and_the_inspect_form() {
    let ok = |s: &str| parse(s).unwrap();
    assert_eq!(ok("db"), ("db".into(), "db".into()));
    assert_eq!(ok("db:data"), ("db".into(), "data".into()));
    assert_eq!(ok("/db:/web/data"), ("db".into(), "data".into()));
    for bad in ["", "a:b:c", ":x", "x:"] {
        assert!(
            matches!(parse(bad), Err(NetworkError::BadLink { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn env_vars_are_dockers() {
    let ip: IpAddr = "10.0.0.2".parse().unwrap();
    let ports = vec![
        (53, "udp".to_string()),
        (81, "tcp".to_string()),
        (80, "tcp".to_string()),
        (90, "tcp".to_string()),
    ];
    let env = env_vars(
        "/web/my-db",
        ip,
        &v(&["PATH=/bin", "HOME=/root", "PASSWORD=x=y"]),
        &ports,
    );
    let want = v(&[
        "MY_DB_PORT=tcp://10.0.0.2:80",
        "MY_DB_PORT_80_TCP=tcp://10.0.0.2:80",
        "MY_DB_PORT_80_TCP_ADDR=10.0.0.2",
        "MY_DB_PORT_80_TCP_PORT=80",
        "MY_DB_PORT_80_TCP_PROTO=tcp",
        "MY_DB_PORT_81_TCP=tcp://10.0.0.2:81",
        "MY_DB_PORT_81_TCP_ADDR=10.0.0.2",
        "MY_DB_PORT_81_TCP_PORT=81",
        "MY_DB_PORT_81_TCP_PROTO=tcp",
        "MY_DB_PORT_80_TCP_START=tcp://10.0.0.2:80",
        "MY_DB_PORT_80_TCP_PORT_START=80",
        "MY_DB_PORT_80_TCP_END=tcp://10.0.0.2:81",
        "MY_DB_PORT_80_TCP_PORT_END=81",
        "MY_DB_PORT_90_TCP=tcp://10.0.0.2:90",
        "MY_DB_PORT_90_TCP_ADDR=10.0.0.2",
        "MY_DB_PORT_90_TCP_PORT=90",
        "MY_DB_PORT_90_TCP_PROTO=tcp",
        "MY_DB_PORT_53_UDP=udp://10.0.0.2:53",
        "MY_DB_PORT_53_UDP_ADDR=10.0.0.2",
        "MY_DB_PORT_53_UDP_PORT=53",
        "MY_DB_PORT_53_UDP_PROTO=udp",
        "MY_DB_NAME=/web/my-db",
        "MY_DB_ENV_PASSWORD=x=y",
    ]);
    assert_eq!(env, want);
    assert_eq!(env_vars("/a/b", ip, &[], &[]), v(&["B_NAME=/a/b"]));
}

#[test]
fn host_names_skip_the_name_when_it_is_the_alias() {
    assert_eq!(host_names("db", "5d2c0e1f0a1b", "db"), "db 5d2c0e1f0a1b");
    assert_eq!(host_names("data", "h", "db"), "data h db");
}

#[test]
fn dns_aliases_map_alias_to_target() {
    assert_eq!(
        dns_aliases(&v(&["Web:Front", "db"])),
        vec![
            ("front".to_string(), "web".to_string()),
            ("db".to_string(), "db".to_string())
        ]
    );
}
