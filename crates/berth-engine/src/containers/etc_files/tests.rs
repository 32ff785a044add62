#![allow(clippy::unwrap_used)]

use super::*;

fn entry(hostname: &str, address: &str) -> HostEntry {
    HostEntry {
        hostname: hostname.into(),
        address: address.into(),
    }
}

#[test]
fn hosts_has_localhost_extra_and_self() {
    let h = hosts_file("abc", &[entry("db", "10.0.0.2")], &[], &[]);
    assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
    assert!(h.contains("10.0.0.2\tdb\n"));
    assert!(h.ends_with("127.0.1.1\tabc\n"));
}

#[test]
fn hosts_names_the_container_on_its_addresses() {
    let addrs: Vec<IpAddr> = vec!["10.1.0.2".parse().unwrap(), "fd00::2".parse().unwrap()];
    let links = vec![("10.1.0.3".parse().unwrap(), "db 5d2c0e1f db-1".to_string())];
    let h = hosts_file("abc", &[entry("v6", "fd00::9")], &links, &addrs);
    assert!(
        h.contains("fd00::9\tv6\n10.1.0.3\tdb 5d2c0e1f db-1\n"),
        "{h}"
    );
    assert!(h.contains("10.1.0.2\tabc\nfd00::2\tabc\n"), "{h}");
    assert!(!h.contains("127.0.1.1"));
}

#[test]
fn resolv_conf_lists_the_network_server_alone_and_dns_elsewhere() {
    // On a user network `--dns` servers are the embedded server's upstreams, not lines here.
    let gw: Vec<IpAddr> = vec!["10.1.0.1".parse().unwrap()];
    let r = resolv_conf(&gw, &["9.9.9.9".into()], &["x.test".into()], &[]);
    assert_eq!(r, "search x.test\nnameserver 10.1.0.1\n");
    let r = resolv_conf(&[], &["9.9.9.9".into()], &["x.test".into()], &[]);
    assert_eq!(r, "search x.test\nnameserver 9.9.9.9\n");
}
