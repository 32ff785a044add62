//! `docker stats`' `networks`: the counters of a container's interfaces on its networks, read
//! from `/proc/<pid>/net/dev` of its init. That file shows its reader the network namespace of
//! the process named, so no thread of berthd enters the namespace (`setns` is per thread and
//! has no place on a tokio worker).

use crate::containers::Container;
use crate::Engine;

/// One interface's counters, as dockerd's `NetworkStats` (errors included: dockerd reports
/// them as 0 on Linux, the kernel's numbers are more useful and the client only adds them up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InterfaceStats {
    /// Inside the container: `eth0`, `eth1`, ...
    pub name: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// The interfaces of `/proc/net/dev` text: after two header lines, `name: ` then receive
/// bytes, packets, errs, drop, fifo, frame, compressed, multicast and transmit bytes,
/// packets, errs, drop, ... Lines that do not parse are skipped.
pub(crate) fn parse_net_dev(text: &str) -> Vec<InterfaceStats> {
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let (name, counters) = line.split_once(':')?;
            let n: Vec<u64> = counters
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            (n.len() >= 12).then(|| InterfaceStats {
                name: name.trim().to_string(),
                rx_bytes: n[0],
                rx_packets: n[1],
                rx_errors: n[2],
                rx_dropped: n[3],
                tx_bytes: n[8],
                tx_packets: n[9],
                tx_errors: n[10],
                tx_dropped: n[11],
            })
        })
        .collect()
}

/// Whose namespace to read, and which of its interfaces are the networks' (loopback and
/// anything the container made itself are not, as with dockerd).
#[derive(Debug, Clone)]
pub(crate) struct StatsSource {
    pid: i32,
    interfaces: Vec<String>,
}

impl StatsSource {
    /// The counters (blocking: reads /proc). Empty when the process is gone.
    pub(crate) fn read(&self) -> Vec<InterfaceStats> {
        let text = std::fs::read_to_string(format!("/proc/{}/net/dev", self.pid));
        let mut all = parse_net_dev(&text.unwrap_or_default());
        all.retain(|i| self.interfaces.contains(&i.name));
        all
    }
}

/// How far `container:` modes are followed: a loop of them cannot be made (the peer must run
/// at start), this only bounds a corrupt record.
const MAX_JOINS: usize = 8;

impl Engine {
    /// Where `c`'s network counters come from: its own attachments, or for `container:` modes
    /// those of the container owning the namespace. `None` without any (`none`, `host`, not
    /// running), where dockerd leaves `networks` out.
    pub(crate) async fn network_stats_source(&self, c: &Container) -> Option<StatsSource> {
        let mut owner = c.clone();
        for _ in 0..MAX_JOINS {
            let Some(peer) = owner.config.spec.network.mode.joined_container() else {
                break;
            };
            owner = self.container(peer).await.ok()?;
        }
        if !c.state.status.is_live() || !owner.state.status.is_live() {
            return None;
        }
        let interfaces: Vec<String> = owner
            .state
            .networks
            .iter()
            .map(|e| e.ifname.clone())
            .collect();
        (!interfaces.is_empty()).then_some(StatsSource {
            pid: owner.state.pid,
            interfaces,
        })
    }
}
