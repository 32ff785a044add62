//! Address arithmetic for networks: parsing what users type, overlap checks, picking a free
//! subnet from the address pools. Pure, apart from reading the host's routes.

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

/// The first host address of a subnet, Docker's default gateway (`::1` of an IPv6 one:
/// ipnet counts the subnet-router anycast address, `::`, among IPv6 hosts).
pub(crate) fn first_host(subnet: &IpNet) -> Option<IpAddr> {
    subnet.hosts().find(|a| *a != subnet.network())
}

/// The runs of addresses host-local may hand out in `subnet`: `span` (host-local's own
/// default without an `--ip-range`: past the network address, before the IPv4 broadcast one)
/// minus the `holes` (auxiliary addresses). host-local takes several ranges of one subnet in a
/// range set as long as they do not overlap, and has no other way to skip an address.
pub(crate) fn ranges_without(
    subnet: &IpNet,
    span: Option<&IpNet>,
    holes: &[IpAddr],
) -> Vec<(IpAddr, IpAddr)> {
    let num = |a: IpAddr| match a {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let addr = |n: u128| -> IpAddr {
        match subnet {
            IpNet::V4(_) => std::net::Ipv4Addr::from(n as u32).into(),
            IpNet::V6(_) => std::net::Ipv6Addr::from(n).into(),
        }
    };
    let (first, last) = match span {
        Some(r) => (num(r.network()), num(r.broadcast())),
        None => (num(subnet.network()), num(subnet.broadcast())),
    };
    // Neither the network address nor (IPv4) the broadcast one is a host's.
    let first = first.max(num(subnet.network()) + 1);
    let last = if subnet.addr().is_ipv4() {
        last.min(num(subnet.broadcast()).saturating_sub(1))
    } else {
        last
    };
    let mut holes: Vec<u128> = holes.iter().map(|h| num(*h)).collect();
    holes.sort_unstable();
    let mut out = Vec::new();
    let mut start = first;
    for h in holes.into_iter().filter(|h| (first..=last).contains(h)) {
        if h > start {
            out.push((addr(start), addr(h - 1)));
        }
        start = h + 1;
    }
    if start <= last {
        out.push((addr(start), addr(last)));
    }
    out
}

pub(crate) fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first subnet of `size` bits out of the `pools` of one address family (IPv6 when `v6`)
/// that overlaps nothing in `taken`.
pub(crate) fn allocate(pools: &[(IpNet, u8)], v6: bool, taken: &[IpNet]) -> Option<IpNet> {
    pools
        .iter()
        .filter(|(base, _)| base.addr().is_ipv6() == v6)
        .find_map(|(base, size)| {
            base.subnets(*size)
                .ok()?
                .find(|candidate| !taken.iter().any(|t| overlaps(candidate, t)))
        })
}

/// The host's routes other than the default ones, IPv4 and IPv6, so an allocated subnet does
/// not shadow a network the host reaches (another daemon's bridges among them).
pub(crate) fn host_routes() -> Vec<IpNet> {
    let v4 = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    let mut routes = parse_routes(&v4);
    routes.extend(parse_routes_v6(&v6));
    routes
}

/// `/proc/net/ipv6_route`: destination as 32 hex digits, then its prefix length in hex.
/// Host routes of the local table (/128) and multicast ones are left out: no pool is made
/// of them.
pub(crate) fn parse_routes_v6(text: &str) -> Vec<IpNet> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let dest = u128::from_str_radix(f.next()?, 16).ok()?;
            let prefix = u8::from_str_radix(f.next()?, 16).ok()?;
            let addr = std::net::Ipv6Addr::from(dest);
            if prefix == 0 || prefix == 128 || addr.is_multicast() {
                return None;
            }
            ipnet::Ipv6Net::new(addr, prefix).ok().map(IpNet::V6)
        })
        .collect()
}

/// The IPv6 pool used when none is configured, as recent Docker: a /48 of unique local
/// addresses (RFC 4193: `fd` + 40 bits) whose global id comes from the machine id, so it is
/// stable on a host and differs between hosts. Split into /64s.
pub(crate) fn default_ula_pool(machine_id: &str) -> (IpNet, u8) {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(machine_id.trim().as_bytes());
    let mut octets = [0u8; 16];
    octets[0] = 0xfd;
    octets[1..6].copy_from_slice(&digest[..5]);
    let base = ipnet::Ipv6Net::new(std::net::Ipv6Addr::from(octets), 48)
        .map(IpNet::V6)
        .unwrap_or_default();
    (base, 64)
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
