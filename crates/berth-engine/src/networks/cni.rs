//! A network's CNI configuration list, built from its definition whenever it is needed (the
//! definition is what the database keeps, so a list never goes stale).
//!
//! `bridge` (+ `host-local` keeping its reservations under the daemon's data root), then
//! `portmap`, `tuning`. ADD leaves out `portmap` for a container that publishes nothing and
//! `tuning` without a MAC address: each plugin is a process, and `docker run` waits for all
//! of them. `firewall` is no longer added (per-network rules do its work, `firewall.rs`), but
//! the attachments of older daemons were made with it. DEL of an attachment uses the list it
//! was added with ([`Plugins`] is kept in the container's state); GC after a crash uses the
//! full list, whose extra plugins delete nothing they did not make.

use std::path::Path;

use berth_cni::{NetworkConfigList, Origin};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{subnet, Network, NetworkError};

/// The optional plugins an attachment was added with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plugins {
    pub portmap: bool,
    pub tuning: bool,
    /// Records made before per-network rules replaced the plugin lack the field: those
    /// attachments have its per-address rules, which only its DEL removes.
    #[serde(default = "made_by_older_daemons")]
    pub firewall: bool,
}

fn made_by_older_daemons() -> bool {
    true
}

impl Plugins {
    pub(crate) const ALL: Self = Self {
        portmap: true,
        tuning: true,
        firewall: true,
    };
}

/// The CNI network name of a Berth network: its id (stable across daemons' renames, valid as a
/// CNI name and a file name).
pub(crate) fn cni_name(net: &Network) -> String {
    net.id.clone()
}

pub(crate) fn conflist(
    net: &Network,
    ipam_dir: &Path,
    plugins: Plugins,
) -> Result<NetworkConfigList, NetworkError> {
    let ranges: Vec<Value> = net
        .subnets
        .iter()
        .map(|s| {
            let r = json!({"subnet": s.subnet.to_string(), "gateway": s.gateway.to_string()});
            if s.ip_range.is_none() && s.aux_addresses.is_empty() {
                return json!([r]);
            }
            // host-local hands out rangeStart..=rangeEnd of each range of the set, and skips
            // the gateway itself; auxiliary addresses are cut out of the ranges.
            let holes: Vec<_> = s.aux_addresses.values().copied().collect();
            let set: Vec<Value> = subnet::ranges_without(&s.subnet, s.ip_range.as_ref(), &holes)
                .into_iter()
                .map(|(start, end)| {
                    let mut r = r.clone();
                    r["rangeStart"] = json!(start.to_string());
                    r["rangeEnd"] = json!(end.to_string());
                    r
                })
                .collect();
            json!(set)
        })
        .collect();
    // Internal networks get no default route: nothing leaves the subnet.
    let routes: Vec<Value> = if net.internal {
        Vec::new()
    } else {
        net.subnets
            .iter()
            .map(|s| json!({"dst": if s.subnet.addr().is_ipv4() { "0.0.0.0/0" } else { "::/0" }}))
            .collect()
    };
    let mut bridge = json!({
        "type": "bridge",
        "bridge": net.bridge,
        "isGateway": true,
        "ipMasq": net.ip_masq && !net.internal,
        "hairpinMode": true,
        "capabilities": {"ips": true},
        "ipam": {
            "type": "host-local",
            "dataDir": ipam_dir,
            "ranges": ranges,
            "routes": routes,
        },
    });
    if let Some(mtu) = net.mtu {
        bridge["mtu"] = json!(mtu);
    }
    let mut list = vec![bridge];
    if plugins.portmap {
        list.push(json!({
            "type": "portmap",
            "capabilities": {"portMappings": true},
            // Its DNAT cannot serve `::1` (IPv6 has no route_localnet): berthd's proxy does.
            "conditionsV6": ["!", "-d", "::1"],
        }));
    }
    if plugins.firewall {
        list.push(json!({"type": "firewall"}));
    }
    if plugins.tuning {
        list.push(json!({"type": "tuning", "capabilities": {"mac": true}}));
    }
    let doc = json!({
        "cniVersion": "1.0.0",
        "name": cni_name(net),
        // portmap 1.1.1's CHECK looks for ip6tables chains it never made (networking.md).
        "disableCheck": true,
        "plugins": list,
    });
    let bytes = serde_json::to_vec(&doc).map_err(|source| NetworkError::Corrupt {
        network: net.name.clone(),
        source,
    })?;
    NetworkConfigList::from_slice(&bytes, Origin::Memory).map_err(|source| NetworkError::Config {
        network: net.name.clone(),
        source,
    })
}
