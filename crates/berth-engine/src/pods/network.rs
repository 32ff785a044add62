//! A pod's CNI attachment: interface `eth0` in its pinned namespace, on the network the pods'
//! configuration directory names, with the capability arguments the kubelet's runtimes pass
//! (containerd's): `portMappings` for host ports, `dns`, and `ipRanges` from the pod CIDRs.
//! Sync: runs on the blocking pool.

use std::net::IpAddr;
use std::path::Path;

use berth_cni::{CapabilityArgs, Cni, DnsCapability, IpRange, NetworkConfigList, RuntimeConf};

use super::{PodError, PodSpec};

const IFNAME: &str = "eth0";

/// The attachment's arguments: containerd's `CNI_ARGS` (the Kubernetes names plugins such as
/// Calico read) and capability arguments.
pub(super) fn runtime_conf(
    id: &str,
    spec: &PodSpec,
    netns: &Path,
    pod_cidrs: &[ipnet::IpNet],
) -> RuntimeConf {
    let mut rt = RuntimeConf::new(id, netns, IFNAME);
    rt.args = [
        ("IgnoreUnknown", "1"),
        ("K8S_POD_NAMESPACE", spec.namespace.as_str()),
        ("K8S_POD_NAME", spec.name.as_str()),
        ("K8S_POD_INFRA_CONTAINER_ID", id),
        ("K8S_POD_UID", spec.uid.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    rt.capability_args = CapabilityArgs {
        port_mappings: spec
            .port_mappings
            .iter()
            .filter(|p| p.host_port > 0)
            .map(|p| berth_cni::PortMapping {
                host_port: p.host_port,
                container_port: p.container_port,
                protocol: p.protocol,
                host_ip: p.host_ip,
            })
            .collect(),
        // One range set per CIDR: host-local allocates one address from each (dual stack).
        ip_ranges: pod_cidrs
            .iter()
            .map(|cidr| {
                vec![IpRange {
                    subnet: berth_cni::IpNet {
                        addr: cidr.network(),
                        prefix_len: cidr.prefix_len(),
                    },
                    range_start: None,
                    range_end: None,
                    gateway: None,
                }]
            })
            .collect(),
        dns: spec.dns.as_ref().map(|d| DnsCapability {
            servers: d.servers.clone(),
            searches: d.searches.clone(),
            options: d.options.clone(),
        }),
        ..CapabilityArgs::default()
    };
    rt
}

/// CNI ADD; the addresses of the pod's interface, IPv4 first.
pub(super) fn attach(
    cni: &Cni,
    list: &NetworkConfigList,
    rt: &RuntimeConf,
) -> Result<Vec<IpAddr>, PodError> {
    let result = cni.add(list, rt).map_err(|source| PodError::Cni {
        pod: rt.container_id.clone(),
        source,
    })?;
    let ours = |i: Option<usize>| {
        i.and_then(|i| result.interfaces.get(i))
            .is_none_or(|iface| iface.name == IFNAME && iface.sandbox.is_some())
    };
    let mut ips: Vec<IpAddr> = result
        .ips
        .iter()
        .filter(|ip| ours(ip.interface))
        .map(|ip| ip.address.addr)
        .collect();
    ips.sort_by_key(|ip| !ip.is_ipv4());
    Ok(ips)
}

/// CNI DEL of the pod's attachment, with the arguments it was added with when the cache has
/// them (portmap needs the ports), else with the bare identity (an ADD that never ran, or
/// whose entry a previous DEL already removed: plugins treat that DEL as a no-op).
pub(super) fn detach(
    cni: &Cni,
    list: &NetworkConfigList,
    id: &str,
    netns: Option<&Path>,
) -> Result<(), PodError> {
    let cni_error = |source| PodError::Cni {
        pod: id.to_string(),
        source,
    };
    let cached = cni
        .cached_attachments()
        .map_err(cni_error)?
        .into_iter()
        .find(|a| a.network == list.name && a.container_id == id && a.ifname == IFNAME);
    let rt = match cached {
        Some(a) => a.runtime_conf(),
        None => RuntimeConf {
            container_id: id.to_string(),
            netns: netns.filter(|p| p.exists()).map(Path::to_path_buf),
            ifname: IFNAME.to_string(),
            ..RuntimeConf::default()
        },
    };
    cni.del(list, &rt).map_err(cni_error)
}
