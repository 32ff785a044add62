//! The `/etc/hosts` and `/etc/resolv.conf` a container gets, written under its data dir.

use std::net::IpAddr;

use crate::model::HostEntry;

/// `/etc/resolv.conf` for a container: on a user network `first` alone (the network's DNS
/// server, which forwards to the `--dns` servers or the host's, as Docker's embedded
/// resolver); elsewhere `--dns` or the host's servers minus loopback ones that would point
/// into the container's own network namespace, Google's servers if none is left, as Docker.
pub(crate) fn resolv_conf(
    first: &[IpAddr],
    dns: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let host = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut out = String::new();
    let mut servers: Vec<String> = dns.to_vec();
    if servers.is_empty() {
        servers = host
            .lines()
            .filter_map(|l| l.strip_prefix("nameserver"))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.starts_with("127.") && s != "::1")
            .collect();
    }
    if servers.is_empty() && first.is_empty() {
        servers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    let search_line = if search.is_empty() {
        host.lines()
            .find(|l| l.starts_with("search "))
            .map(str::to_string)
    } else {
        Some(format!("search {}", search.join(" ")))
    };
    if let Some(s) = search_line {
        out.push_str(&s);
        out.push('\n');
    }
    let servers: Vec<String> = if first.is_empty() {
        servers
    } else {
        first.iter().map(IpAddr::to_string).collect()
    };
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// `/etc/hosts`: localhost, `--add-host` entries, the targets of legacy links, and the
/// container's hostname on each of its addresses (127.0.1.1 without one, as with `--network
/// none`), in dockerd's order.
pub(crate) fn hosts_file(
    hostname: &str,
    extra: &[HostEntry],
    links: &[(IpAddr, String)],
    addrs: &[IpAddr],
) -> String {
    let mut s = String::from(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
    );
    for e in extra {
        s.push_str(&format!("{}\t{}\n", e.address, e.hostname));
    }
    for (ip, names) in links {
        s.push_str(&format!("{ip}\t{names}\n"));
    }
    if addrs.is_empty() {
        s.push_str(&format!("127.0.1.1\t{hostname}\n"));
    }
    for a in addrs {
        s.push_str(&format!("{a}\t{hostname}\n"));
    }
    s
}

#[cfg(test)]
mod tests;
