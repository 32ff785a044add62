//! The client against Debian's containernetworking-plugins (1.1.1, CNI 1.0) in
//! /usr/lib/cni: a bridge network with host-local, portmap, firewall and tuning, in network
//! namespaces the tests create (root; skipped otherwise).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;

use berth_cni::{CapabilityArgs, GcAttachment, PortMapping, Protocol, RuntimeConf};
use common::{can_run, fetch, iptables_lines, json_of, run, unique, Netns, TestNet};

fn attachment(ns: &Netns, container: &str) -> RuntimeConf {
    RuntimeConf::new(container, ns.path(), "eth0")
}

/// The address ADD gave the container.
fn container_ip(result: &berth_cni::CniResult) -> IpAddr {
    result.ips[0].address.addr
}

#[test]
fn add_check_del_round_trip() {
    if !can_run() {
        return;
    }
    let net = TestNet::new(11);
    let ns = Netns::new();
    let id = unique("ctr");
    let rt = RuntimeConf {
        capability_args: CapabilityArgs {
            port_mappings: vec![PortMapping {
                host_port: 31011,
                container_port: 8080,
                protocol: Protocol::Tcp,
                host_ip: None,
            }],
            mac: Some("02:42:0a:e7:0b:99".into()),
            ..Default::default()
        },
        ..attachment(&ns, &id)
    };
    assert_eq!(iptables_lines(&id), 0);

    let result = net.cni.add(&net.list, &rt).unwrap();
    let ip = container_ip(&result);
    assert_eq!(result.ips[0].address.prefix_len, 24);
    assert!(ip.to_string().starts_with("10.231.11."), "{result:?}");
    assert_eq!(result.ips[0].gateway, Some("10.231.11.1".parse().unwrap()));

    // The container side: eth0 with the address, tuning's MAC and MTU.
    let links = json_of(&["ip", "-n", &ns.name, "-j", "addr", "show", "dev", "eth0"]);
    let eth0 = &links[0];
    assert_eq!(eth0["address"], "02:42:0a:e7:0b:99");
    assert_eq!(eth0["mtu"], 1400);
    let addrs: Vec<_> = eth0["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["local"].as_str().unwrap().to_owned())
        .collect();
    assert!(addrs.contains(&ip.to_string()), "{addrs:?}");

    // The host side: the veth is a port of the bridge; host-local holds the address.
    let veth = result
        .interfaces
        .iter()
        .find(|i| i.sandbox.is_none() && i.name != net.bridge)
        .unwrap()
        .name
        .clone();
    let ports = run(&["ip", "-o", "link", "show", "master", &net.bridge]);
    assert!(ports.contains(&format!("{veth}@")), "{ports}");
    assert!(net.ipam_file(ip).exists());
    // portmap (DNAT chain named after the container) and firewall (per-address rules).
    assert!(iptables_lines(&id) > 0);
    let rules_for_ip = iptables_lines(&format!("{ip}/32"));
    assert!(rules_for_ip > 0);

    // portmap 1.1.1 also checks ip6tables chains it never made for IPv4-only containers with
    // published ports (containernetworking/plugins#819, fixed in later releases); the other
    // plugins' CHECKs pass, and gc_removes_a_leaked_attachment checks an unpublished one.
    match net.cni.check(&net.list, &rt) {
        Err(e) if e.to_string().contains("plugin portmap") && e.to_string().contains("ipv6") => {
            eprintln!("known portmap CHECK bug: {e}")
        }
        other => other.unwrap(),
    }
    let without_portmap = berth_cni::NetworkConfigList {
        plugins: net
            .list
            .plugins
            .iter()
            .filter(|p| p.plugin_type != "portmap")
            .cloned()
            .collect(),
        ..net.list.clone()
    };
    net.cni.check(&without_portmap, &rt).unwrap();

    net.cni.del(&net.list, &rt).unwrap();
    assert!(
        !run(&["ip", "-o", "link", "show"]).contains(&format!("{veth}@")),
        "veth {veth} left behind"
    );
    assert!(!net.ipam_file(ip).exists());
    assert_eq!(iptables_lines(&id), 0);
    assert_eq!(iptables_lines(&format!("{ip}/32")), 0);
    assert!(net.cni.cached_attachments().unwrap().is_empty());

    // DEL is idempotent: again, and once more after the namespace is gone.
    net.cni.del(&net.list, &rt).unwrap();
    drop(ns);
    net.cni.del(&net.list, &rt).unwrap();
}

#[test]
fn namespaces_talk_over_the_bridge() {
    if !can_run() {
        return;
    }
    let net = TestNet::new(12);
    let (a, b) = (Netns::new(), Netns::new());
    let ip_a = container_ip(
        &net.cni
            .add(&net.list, &attachment(&a, &unique("ctr")))
            .unwrap(),
    );
    let ip_b = container_ip(
        &net.cni
            .add(&net.list, &attachment(&b, &unique("ctr")))
            .unwrap(),
    );
    assert_ne!(ip_a, ip_b);

    let ping = a.exec(&["busybox", "ping", "-c", "1", "-W", "3", &ip_b.to_string()]);
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stdout)
    );

    let _server = b.serve_once(7000, "hello-from-b");
    let mut said = String::new();
    for _ in 0..50 {
        let out = a.exec(&["busybox", "nc", "-w", "3", &ip_b.to_string(), "7000"]);
        said = String::from_utf8_lossy(&out.stdout).into_owned();
        if !said.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(said.trim(), "hello-from-b");
}

#[test]
fn published_port_reaches_the_container() {
    if !can_run() {
        return;
    }
    let net = TestNet::new(13);
    let ns = Netns::new();
    let rt = RuntimeConf {
        capability_args: CapabilityArgs {
            port_mappings: vec![PortMapping {
                host_port: 31013,
                container_port: 8080,
                protocol: Protocol::Tcp,
                host_ip: None,
            }],
            ..Default::default()
        },
        ..attachment(&ns, &unique("ctr"))
    };
    let result = net.cni.add(&net.list, &rt).unwrap();
    let gateway = result.ips[0].gateway.unwrap();

    // Through the host's address on the bridge: DNAT in nat OUTPUT.
    let _server = ns.serve_once(8080, "via-bridge");
    assert_eq!(fetch(gateway, 31013).unwrap().trim(), "via-bridge");

    // Through 127.0.0.1: portmap sets route_localnet on the bridge and masquerades
    // localhost-sourced connections to it (its `snat`), so this works on this kernel too.
    let _server = ns.serve_once(8080, "via-localhost");
    assert_eq!(
        fetch("127.0.0.1".parse().unwrap(), 31013).unwrap().trim(),
        "via-localhost"
    );
    let sysctl = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", net.bridge);
    assert_eq!(std::fs::read_to_string(sysctl).unwrap().trim(), "1");
}

#[test]
fn gc_removes_a_leaked_attachment() {
    if !can_run() {
        return;
    }
    let net = TestNet::new(14);
    let (kept_ns, leaked_ns) = (Netns::new(), Netns::new());
    let (kept, leaked) = (unique("ctr"), unique("ctr"));
    net.cni
        .add(&net.list, &attachment(&kept_ns, &kept))
        .unwrap();
    let leaked_ip = container_ip(
        &net.cni
            .add(&net.list, &attachment(&leaked_ns, &leaked))
            .unwrap(),
    );
    assert!(net.ipam_file(leaked_ip).exists());

    // The container is gone (its namespace with it) without a DEL: a daemon crash.
    drop(leaked_ns);
    let valid = [GcAttachment {
        container_id: kept.clone(),
        ifname: "eth0".into(),
    }];
    net.cni.gc(&net.list, &valid).unwrap();

    assert!(!net.ipam_file(leaked_ip).exists());
    assert_eq!(iptables_lines(&leaked), 0);
    let left: Vec<_> = net
        .cni
        .cached_attachments()
        .unwrap()
        .into_iter()
        .map(|a| a.container_id)
        .collect();
    assert_eq!(left, std::slice::from_ref(&kept));
    // The kept one still checks out.
    net.cni
        .check(&net.list, &attachment(&kept_ns, &kept))
        .unwrap();
}

#[test]
fn cache_survives_a_new_client() {
    if !can_run() {
        return;
    }
    let net = TestNet::new(15);
    let ns = Netns::new();
    let rt = attachment(&ns, &unique("ctr"));
    let added = net.cni.add(&net.list, &rt).unwrap();

    // A restarted daemon: a new client over the same cache directory.
    let restarted = berth_cni::Cni::new(
        vec![common::PLUGIN_DIR.into()],
        &net.cache_dir().join("cache"),
    );
    assert_eq!(
        restarted.cached_result(&net.list, &rt).unwrap(),
        Some(added.clone())
    );
    restarted.check(&net.list, &rt).unwrap();
    restarted.del(&net.list, &rt).unwrap();
    assert!(!net.ipam_file(container_ip(&added)).exists());
}

#[test]
fn requested_address_is_given() {
    if !can_run() {
        return;
    }
    let net = TestNet::new(16);
    let ns = Netns::new();
    let rt = RuntimeConf {
        capability_args: CapabilityArgs {
            ips: vec!["10.231.16.77/24".into()],
            ..Default::default()
        },
        ..attachment(&ns, &unique("ctr"))
    };
    // bridge declares `ips` and hands its config, runtimeConfig included, to host-local.
    let result = net.cni.add(&net.list, &rt).unwrap();
    assert_eq!(result.ips[0].address.to_string(), "10.231.16.77/24");
    assert!(net.ipam_file(container_ip(&result)).exists());
    net.cni.del(&net.list, &rt).unwrap();
}
