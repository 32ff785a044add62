//! What CNI plugins do not do for a network: isolation from the other networks (Docker's two
//! stage `DOCKER-ISOLATION` chains), letting its traffic through `FORWARD`, and deleting the
//! bridge at `network rm`.
//!
//! The isolation rules hang off `CNI-ADMIN`, the chain the CNI `firewall` plugin consults
//! before its per-container ACCEPT rules (containers of older daemons still have them), so
//! isolation wins over them whatever order the chains were made in. Stage 1 sends traffic
//! leaving a Berth bridge for elsewhere to stage 2, which drops it if it is headed into
//! another Berth bridge; an internal network drops everything crossing its bridge.
//!
//! `BERTH-FORWARD`, jumped to from `FORWARD` after `CNI-ADMIN`, accepts what leaves the bridge
//! and the replies to it, which matters when `FORWARD`'s policy is DROP (as dockerd sets it).
//! That is what the `firewall` plugin did with two rules per container address and a process
//! and several iptables runs per ADD and per DEL; two rules per network do it once (as
//! Docker's per-bridge rules). The chains are shared by every daemon on the host and never
//! removed; a network's rules are. The rules match bridges, not addresses, so a network with
//! IPv6 gets the same ones from `ip6tables` (Docker's chains exist in both too).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::process::Command;

use nix::fcntl::{Flock, FlockArg};

use super::{Network, NetworkError};

/// Where the daemons of a host take turns changing these rules.
const HOST_LOCK: &str = "/run/berth-firewall.lock";

const STAGE1: &str = "BERTH-ISOLATION-1";
const STAGE2: &str = "BERTH-ISOLATION-2";
const ADMIN: &str = "CNI-ADMIN";
const ACCEPT: &str = "BERTH-FORWARD";

fn run(net: &Network, program: &str, args: &[&str]) -> Result<bool, NetworkError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| NetworkError::Host {
            network: net.name.clone(),
            action: format!("run {program}"),
            message: e.to_string(),
        })?;
    Ok(out.status.success())
}

/// The tables a network's rules go in: `iptables`, and `ip6tables` when it has IPv6.
fn programs(net: &Network) -> &'static [&'static str] {
    if net.enable_ipv6 {
        &["iptables", "ip6tables"]
    } else {
        &["iptables"]
    }
}

/// `iptables -w` or `ip6tables -w` (waits for the xtables lock, which plugins take too).
fn iptables(net: &Network, program: &str, args: &[&str]) -> Result<bool, NetworkError> {
    let mut all = vec!["-w", "-t", "filter"];
    all.extend_from_slice(args);
    run(net, program, &all)
}

/// Appends `rule` to `chain` unless it is there.
fn ensure(net: &Network, program: &str, chain: &str, rule: &[&str]) -> Result<(), NetworkError> {
    let check: Vec<&str> = ["-C", chain].iter().chain(rule).copied().collect();
    if iptables(net, program, &check)? {
        return Ok(());
    }
    let add: Vec<&str> = ["-A", chain].iter().chain(rule).copied().collect();
    if iptables(net, program, &add)? {
        Ok(())
    } else {
        Err(NetworkError::Host {
            network: net.name.clone(),
            action: format!("{program} {}", add.join(" ")),
            message: "failed".into(),
        })
    }
}

fn rules(net: &Network) -> Vec<(&'static str, Vec<&str>)> {
    let br = net.bridge.as_str();
    let mut rules = if net.internal {
        vec![
            (STAGE1, vec!["-i", br, "!", "-o", br, "-j", "DROP"]),
            (STAGE1, vec!["-o", br, "!", "-i", br, "-j", "DROP"]),
        ]
    } else {
        vec![
            (STAGE1, vec!["-i", br, "!", "-o", br, "-j", STAGE2]),
            (STAGE2, vec!["-o", br, "-j", "DROP"]),
        ]
    };
    // What the isolation let pass: from the bridge, and replies into it.
    rules.push((ACCEPT, vec!["-i", br, "-j", "ACCEPT"]));
    rules.push((
        ACCEPT,
        vec![
            "-o",
            br,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-j",
            "ACCEPT",
        ],
    ));
    rules
}

/// The host-wide lock of rule changes: `ensure`'s check and append are two iptables runs,
/// and daemons starting together (the test suites start several) would each append the
/// shared `FORWARD` jumps.
fn host_lock(net: &Network) -> Result<Flock<File>, NetworkError> {
    let failed = |message: String| NetworkError::Host {
        network: net.name.clone(),
        action: format!("lock {HOST_LOCK}"),
        message,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(HOST_LOCK)
        .map_err(|e| failed(e.to_string()))?;
    Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, e)| failed(e.to_string()))
}

/// Puts the network's isolation rules in place (idempotent).
pub(crate) fn isolate(net: &Network) -> Result<(), NetworkError> {
    let _lock = host_lock(net)?;
    for program in programs(net) {
        for chain in [STAGE1, STAGE2, ADMIN, ACCEPT] {
            // Fails when the chain exists, which is what we want.
            iptables(net, program, &["-N", chain])?;
        }
        ensure(net, program, ADMIN, &["-j", STAGE1])?;
        // Without the CNI firewall plugin's chains on this host, FORWARD reaches ours
        // directly; the isolation first.
        ensure(net, program, "FORWARD", &["-j", ADMIN])?;
        ensure(net, program, "FORWARD", &["-j", ACCEPT])?;
        for (chain, rule) in rules(net) {
            ensure(net, program, chain, &rule)?;
        }
    }
    Ok(())
}

/// Removes the network's isolation rules (idempotent). Both tables are swept whatever the
/// network says, so rules of a definition that changed (the default bridge's `--ipv6`) go too.
pub(crate) fn unisolate(net: &Network) -> Result<(), NetworkError> {
    let _lock = host_lock(net)?;
    for program in ["iptables", "ip6tables"] {
        for (chain, rule) in rules(net) {
            let del: Vec<&str> = ["-D", chain].iter().chain(&rule).copied().collect();
            while iptables(net, program, &del)? {}
        }
    }
    Ok(())
}

/// `ip link del` of the network's bridge; one that is not there is fine.
pub(crate) fn delete_bridge(net: &Network) -> Result<(), NetworkError> {
    let exists = std::path::Path::new("/sys/class/net")
        .join(&net.bridge)
        .exists();
    if exists && !run(net, "ip", &["link", "del", &net.bridge])? {
        return Err(NetworkError::Host {
            network: net.name.clone(),
            action: format!("ip link del {}", net.bridge),
            message: "failed".into(),
        });
    }
    Ok(())
}
