//! Address arithmetic for networks: parsing what users type, overlap checks, picking a free
//! subnet from the address pools. Pure, apart from reading the host's IPv4 routes.

use std::net::IpAddr;

use ipnet::IpNet;

use super::NetworkError;

fn bad(network: &str, what: &'static str, value: &str, reason: impl ToString) -> NetworkError {
    NetworkError::BadAddress {
        network: network.to_string(),
        what,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// A subnet as given to `--subnet`/`--ip-range`: a CIDR whose host bits are zero.
pub(crate) fn parse_subnet(
    network: &str,
    what: &'static str,
    value: &str,
) -> Result<IpNet, NetworkError> {
    let net: IpNet = value
        .parse()
        .map_err(|_| bad(network, what, value, "not a CIDR address"))?;
    if net.trunc() != net {
        return Err(bad(
            network,
            what,
            value,
            format!("host bits are set; did you mean {}?", net.trunc()),
        ));
    }
    Ok(net)
}

/// An address that must lie inside `subnet` and be usable by a host (not the network address
/// nor, for IPv4, the broadcast address).
pub(crate) fn parse_host_in(
    network: &str,
    what: &'static str,
    value: &str,
    subnet: &IpNet,
) -> Result<IpAddr, NetworkError> {
    let addr: IpAddr = value
        .parse()
        .map_err(|_| bad(network, what, value, "not an IP address"))?;
    if !subnet.contains(&addr) {
        return Err(bad(network, what, value, format!("not in subnet {subnet}")));
    }
    if addr == subnet.network() || (subnet.addr().is_ipv4() && addr == subnet.broadcast()) {
        return Err(bad(
            network,
            what,
            value,
            "the network or broadcast address",
        ));
    }
    Ok(addr)
}

/// The first host address of a subnet, Docker's default gateway.
pub(crate) fn first_host(subnet: &IpNet) -> Option<IpAddr> {
    subnet.hosts().next()
}

pub(crate) fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first subnet of `size` bits out of `pools` that overlaps nothing in `taken`.
pub(crate) fn allocate(pools: &[(IpNet, u8)], taken: &[IpNet]) -> Option<IpNet> {
    pools.iter().find_map(|(base, size)| {
        base.subnets(*size)
            .ok()?
            .find(|candidate| !taken.iter().any(|t| overlaps(candidate, t)))
    })
}

/// The host's IPv4 routes other than the default one (`/proc/net/route`: little-endian hex
/// destination and mask), so an allocated subnet does not shadow a network the host reaches.
pub(crate) fn host_routes() -> Vec<IpNet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_routes(&text)
}

pub(crate) fn parse_routes(text: &str) -> Vec<IpNet> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            if mask == 0 {
                return None;
            }
            let addr = std::net::Ipv4Addr::from(u32::from_be(dest));
            let prefix = u32::from_be(mask).leading_ones() as u8;
            ipnet::Ipv4Net::new(addr, prefix).ok().map(IpNet::V4)
        })
        .collect()
}
