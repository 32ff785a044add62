#![allow(clippy::unwrap_used)]

use super::*;

/// Sends `text` to `to` from `sock` and returns the reply.
async fn ask(sock: &tokio::net::UdpSocket, to: SocketAddr, text: &str) -> String {
    sock.send_to(text.as_bytes(), to).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), sock.recv(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn udp_relay_keeps_clients_apart() {
    // An echo "container" that prefixes what it got with the relay socket's port.
    let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let to = server.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        while let Ok((n, from)) = server.recv_from(&mut buf).await {
            let reply = format!("{}:{}", from.port(), String::from_utf8_lossy(&buf[..n]));
            let _ = server.send_to(reply.as_bytes(), from).await;
        }
    });
    let relay = udp_socket("127.0.0.1:0".parse().unwrap()).unwrap();
    let front = relay.local_addr().unwrap();
    let task = tokio::spawn(proxy_udp(relay, to));

    let a = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let b = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (a1, b1, a2) = (
        ask(&a, front, "x").await,
        ask(&b, front, "y").await,
        ask(&a, front, "z").await,
    );
    let port = |s: &str| s.split_once(':').unwrap().0.to_string();
    assert!(a1.ends_with(":x") && b1.ends_with(":y") && a2.ends_with(":z"));
    // One upstream socket per client, kept between its datagrams.
    assert_eq!(port(&a1), port(&a2));
    assert_ne!(port(&a1), port(&b1));

    // Stopping the relay frees its port at once.
    task.abort();
    let _ = task.await;
    udp_socket(front).unwrap();
}

#[test]
fn publish_all_adds_the_exposed_ports_without_a_mapping() {
    use crate::model::{Networking, Port, PortMapping, Protocol};
    let port = |number, protocol| Port { number, protocol };
    let network = Networking {
        ports: vec![PortMapping {
            container: port(80, Protocol::Tcp),
            host_ip: None,
            host_ports: (8080, 8080),
        }],
        exposed: vec![port(80, Protocol::Tcp), port(53, Protocol::Udp)],
        publish_all: true,
        ..Default::default()
    };
    let got: Vec<(u16, String, (u16, u16))> = requests(&network)
        .into_iter()
        .map(|r| (r.container_port, r.protocol, r.host_ports))
        .collect();
    assert_eq!(
        got,
        [(80, "tcp".into(), (8080, 8080)), (53, "udp".into(), (0, 0))]
    );
    let quiet = Networking {
        publish_all: false,
        ..network
    };
    assert_eq!(requests(&quiet).len(), 1);
}
