#![allow(clippy::unwrap_used)]

use super::*;

/// A standard query for `name` of type `qtype`, id 0x1234, RD set.
fn query(name: &str, qtype: u16) -> Vec<u8> {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// Resolvers with `(network, container, name, address)` records.
fn resolvers(records: &[(&str, &str, &str, &str)]) -> Resolvers {
    let r = Resolvers::default();
    for (net, container, name, addr) in records {
        r.register(
            net,
            container,
            &[name.to_string()],
            vec![addr.parse().unwrap()],
            &[],
            Vec::new(),
        );
    }
    r
}

#[test]
fn questions_parse() {
    let q = query("Web.Example", TYPE_A);
    let parsed = parse_question(&q).unwrap();
    assert_eq!(parsed.name, "web.example");
    assert_eq!(parsed.qtype, TYPE_A);
    assert_eq!(parsed.end, q.len());
    assert!(parse_question(&q[..q.len() - 1]).is_none());
    assert!(parse_question(&[0; 5]).is_none());
}

#[tokio::test]
async fn answers_names_of_the_network_only() {
    let r = resolvers(&[("net2", "c2", "db", "10.2.0.2")]);
    r.register(
        "net1",
        "c1",
        &["Web".into(), "alias".into()],
        vec!["10.1.0.2".parse().unwrap()],
        &[],
        Vec::new(),
    );

    let peer: IpAddr = "10.1.0.9".parse().unwrap();
    let q = query("web", TYPE_A);
    let a = answer(&q, &r.table, "net1", peer).await.unwrap();
    assert_eq!(&a[..2], &[0x12, 0x34]);
    assert_eq!(a[3] & 0x0f, 0, "NOERROR");
    assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1, "one answer");
    assert_eq!(&a[a.len() - 4..], &[10, 1, 0, 2]);

    // Known name, no IPv6 address: NOERROR without answers.
    let a = answer(&query("alias", TYPE_AAAA), &r.table, "net1", peer)
        .await
        .unwrap();
    assert_eq!((a[3] & 0x0f, a[7]), (0, 0));

    // Another network's container is unknown here.
    let a = answer(&query("db", TYPE_A), &r.table, "net1", peer)
        .await
        .unwrap();
    assert_eq!(a[3] & 0x0f, RCODE_NXDOMAIN);

    r.unregister("net1", "c1");
    let a = answer(&query("web", TYPE_A), &r.table, "net1", peer)
        .await
        .unwrap();
    assert_eq!(a[3] & 0x0f, RCODE_NXDOMAIN);
}

#[tokio::test]
async fn a_container_on_two_networks_resolves_names_of_both() {
    let r = resolvers(&[
        ("net1", "c1", "web", "10.1.0.2"),
        ("net2", "c2", "db", "10.2.0.2"),
        ("net2", "both", "both", "10.2.0.3"),
        ("net1", "both", "both", "10.1.0.3"),
    ]);
    // Asking net2's server from its net2 address, for a name only on net1.
    let a = answer(
        &query("web", TYPE_A),
        &r.table,
        "net2",
        "10.2.0.3".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(&a[a.len() - 4..], &[10, 1, 0, 2]);
}

#[tokio::test]
async fn other_names_go_to_the_askers_own_servers() {
    // A fake upstream on loopback that answers with its own marker (rcode 5, REFUSED).
    let upstream = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = upstream.local_addr().unwrap().port();
    let served = tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let (n, from) = upstream.recv_from(&mut buf).await.unwrap();
        let mut reply = buf[..n].to_vec();
        reply[2] |= 0x80;
        reply[3] = 0x85;
        upstream.send_to(&reply, from).await.unwrap();
        buf[..n].to_vec()
    });
    let servers = [SocketAddr::new("127.0.0.1".parse().unwrap(), port)];
    let q = query("example.test", TYPE_A);
    let a = forward(&q, &servers).await.unwrap();
    assert_eq!(a[3] & 0x0f, 5);
    assert_eq!(served.await.unwrap(), q);

    // The table says whose servers: the asker's `--dns`, none for an unknown asker.
    let r = Resolvers::default();
    let dns: IpAddr = "10.1.0.53".parse().unwrap();
    r.register(
        "net1",
        "c1",
        &["c1".into()],
        vec!["10.1.0.2".parse().unwrap()],
        &[dns],
        Vec::new(),
    );
    let asker: IpAddr = "10.1.0.2".parse().unwrap();
    assert_eq!(
        lookup(&r.table, "net1", "example.test", asker),
        Err(vec![dns])
    );
    assert_eq!(
        lookup(
            &r.table,
            "net1",
            "example.test",
            "10.1.0.9".parse().unwrap()
        ),
        Err(vec![])
    );
    assert_eq!(lookup(&r.table, "net1", "c1", asker), Ok(vec![asker]));
}

#[test]
fn link_aliases_resolve_for_the_linking_container_alone() {
    let r = resolvers(&[("net1", "web", "web", "10.1.0.2")]);
    r.register(
        "net1",
        "client",
        &["client".into()],
        vec!["10.1.0.3".parse().unwrap()],
        &[],
        vec![("front".into(), "web".into())],
    );
    let web: IpAddr = "10.1.0.2".parse().unwrap();
    let by = |peer: &str| lookup(&r.table, "net1", "front", peer.parse().unwrap());
    assert_eq!(by("10.1.0.3"), Ok(vec![web]));
    assert!(
        by("10.1.0.2").is_err(),
        "another container knows no such alias"
    );
}
