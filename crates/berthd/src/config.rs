//! Command-line flags (dockerd's names) and the TOML config file; flags win.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use berth_engine::EngineConfig;
use serde::Deserialize;

pub const DEFAULT_SOCKET: &str = "unix:///run/berth/berth.sock";
/// Where the kubelet and crictl find a CRI runtime's socket by convention (`/run/<runtime>/`).
pub const DEFAULT_CRI_SOCKET: &str = "unix:///run/berth/cri.sock";
/// The CRI streaming server's address: a free loopback port, as containerd's default
/// (`stream_server_address = "127.0.0.1"`, port 0); its URLs carry the port chosen.
pub const DEFAULT_CRI_STREAM_ADDRESS: &str = "127.0.0.1:0";

#[derive(clap::Parser, Debug)]
#[command(name = "berthd", version, about = "The Berth container engine daemon")]
pub struct Args {
    /// Root of persistent state (images, containers, volumes)
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Root of runtime state (bundles, shim sockets)
    #[arg(long)]
    pub exec_root: Option<PathBuf>,
    /// Socket(s) to listen on (unix:///path); repeatable
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Socket of the Kubernetes CRI (gRPC), unix:///path; empty: no CRI
    #[arg(long, value_name = "URL")]
    pub cri_socket: Option<String>,
    /// TCP address of the CRI streaming server (exec, attach, port-forward), host:port
    /// (default 127.0.0.1:0, a free loopback port); empty: none
    #[arg(long, value_name = "ADDR")]
    pub cri_stream_address: Option<String>,
    /// CNI configuration directory of Kubernetes pods (default /etc/cni/net.d)
    #[arg(long)]
    pub cni_conf_dir: Option<PathBuf>,
    /// CNI plugin directory of Kubernetes pods (default /opt/cni/bin)
    #[arg(long)]
    pub cni_bin_dir: Option<PathBuf>,
    /// TOML configuration file
    #[arg(long, default_value = "/etc/berth/berthd.toml")]
    pub config_file: PathBuf,
    /// OCI runtime binary (berth-runtime, runc, crun)
    #[arg(long)]
    pub runtime: Option<PathBuf>,
    /// Per-container monitor binary
    #[arg(long)]
    pub shim: Option<PathBuf>,
    /// Static init binary for `--init` containers (default: berth-init next to berthd)
    #[arg(long)]
    pub init_path: Option<PathBuf>,
    /// Static pause binary of pod sandboxes (default: berth-pause next to berthd)
    #[arg(long)]
    pub pause_path: Option<PathBuf>,
    /// Write the daemon's pid here
    #[arg(short = 'p', long)]
    pub pidfile: Option<PathBuf>,
    /// Registry reached over plain HTTP (host[:port] or CIDR); repeatable. Loopback always is.
    #[arg(long = "insecure-registry")]
    pub insecure_registries: Vec<String>,
    /// Docker Hub mirror URL, tried before Docker Hub; repeatable
    #[arg(long = "registry-mirror")]
    pub registry_mirrors: Vec<String>,
    /// Registry never contacted (e.g. docker.io, to pull only through mirrors); repeatable
    #[arg(long = "block-registry")]
    pub blocked_registries: Vec<String>,
    /// Host bridge of the default `bridge` network (default berth0)
    #[arg(short = 'b', long)]
    pub bridge: Option<String>,
    /// The default bridge's address and prefix (default 172.29.0.1/16)
    #[arg(long)]
    pub bip: Option<String>,
    /// Where user networks get subnets: base=CIDR,size=PREFIXLEN; repeatable
    #[arg(long = "default-address-pool")]
    pub default_address_pools: Vec<String>,
    /// IPv6 on the default bridge as well (needs --fixed-cidr-v6)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub ipv6: Option<bool>,
    /// The default bridge's IPv6 subnet, as fd00:1::/64
    #[arg(long)]
    pub fixed_cidr_v6: Option<String>,
    /// Masquerade traffic from networks to the outside (default true)
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub ip_masq: Option<bool>,
    /// Directory of CNI plugins; repeatable (default /usr/lib/cni, /opt/cni/bin)
    #[arg(long = "cni-plugin-dir")]
    pub cni_plugin_dirs: Vec<PathBuf>,
    /// Size limit of the image build cache in bytes; a build ending above it drops the least
    /// recently used steps (default 20 GiB)
    #[arg(long, value_name = "BYTES")]
    pub build_cache_size: Option<u64>,
    /// tracing filter: error, warn, info, debug, trace (or a full directive list)
    #[arg(short = 'l', long, default_value = "info")]
    pub log_level: String,
}

/// The config file: every key optional, named as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    data_root: Option<PathBuf>,
    exec_root: Option<PathBuf>,
    hosts: Option<Vec<String>>,
    cri_socket: Option<String>,
    cri_stream_address: Option<String>,
    cni_conf_dir: Option<PathBuf>,
    cni_bin_dir: Option<PathBuf>,
    runtime: Option<PathBuf>,
    shim: Option<PathBuf>,
    init_path: Option<PathBuf>,
    pause_path: Option<PathBuf>,
    pidfile: Option<PathBuf>,
    insecure_registries: Option<Vec<String>>,
    registry_mirrors: Option<Vec<String>>,
    /// No flag: a map does not fit one (dockerd has neither).
    registry_mirrors_by_host: Option<BTreeMap<String, Vec<String>>>,
    blocked_registries: Option<Vec<String>>,
    bridge: Option<String>,
    bip: Option<String>,
    default_address_pools: Option<Vec<String>>,
    ip_masq: Option<bool>,
    ipv6: Option<bool>,
    fixed_cidr_v6: Option<String>,
    cni_plugin_dirs: Option<Vec<PathBuf>>,
    build_cache_size: Option<u64>,
}

#[derive(Debug)]
pub struct Settings {
    pub engine: EngineConfig,
    pub hosts: Vec<String>,
    /// The CRI's socket (`unix://` URL), `None` when off.
    pub cri_socket: Option<String>,
    /// The CRI streaming server's address, `None` when off.
    pub cri_stream_address: Option<SocketAddr>,
    pub pidfile: Option<PathBuf>,
}

/// A binary next to berthd wins over one on PATH, so a build tree runs as a unit.
fn sibling(name: &str) -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(name)))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(name))
}

impl Settings {
    pub fn load(args: &Args) -> Result<Self> {
        let file: File = match std::fs::read_to_string(&args.config_file) {
            Ok(text) => toml::from_str(&text).with_context(|| {
                format!("{}: invalid configuration", args.config_file.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => File::default(),
            Err(e) => {
                return Err(e).with_context(|| format!("read {}", args.config_file.display()))
            }
        };
        let data_root = args
            .data_root
            .clone()
            .or(file.data_root)
            .unwrap_or_else(|| PathBuf::from("/var/lib/berth"));
        let exec_root = args
            .exec_root
            .clone()
            .or(file.exec_root)
            .unwrap_or_else(|| PathBuf::from("/run/berth"));
        let mut hosts = if args.hosts.is_empty() {
            file.hosts.unwrap_or_default()
        } else {
            args.hosts.clone()
        };
        if hosts.is_empty() {
            hosts.push(DEFAULT_SOCKET.to_string());
        }
        for h in &hosts {
            if !h.starts_with("unix://") {
                bail!(
                    "-H {h}: only unix:// sockets are supported (the API is root-only by design)"
                );
            }
        }
        let cri_socket = args
            .cri_socket
            .clone()
            .or(file.cri_socket)
            .unwrap_or_else(|| DEFAULT_CRI_SOCKET.to_string());
        let cri_socket = (!cri_socket.is_empty()).then_some(cri_socket);
        if let Some(url) = &cri_socket {
            if !url.starts_with("unix://") {
                bail!("--cri-socket {url}: only unix:// sockets are supported");
            }
        }
        let stream_address = args
            .cri_stream_address
            .clone()
            .or(file.cri_stream_address)
            .unwrap_or_else(|| DEFAULT_CRI_STREAM_ADDRESS.to_string());
        let cri_stream_address = if stream_address.is_empty() {
            None
        } else {
            Some(stream_address.parse::<SocketAddr>().with_context(|| {
                format!("--cri-stream-address {stream_address}: not an IP address and port")
            })?)
        };
        let mut engine = EngineConfig::new(data_root, exec_root);
        if let Some(bytes) = args.build_cache_size.or(file.build_cache_size) {
            engine.build_cache_max_bytes = bytes;
        }
        if let Some(dir) = args.cni_conf_dir.clone().or(file.cni_conf_dir) {
            engine.pods.cni_conf_dir = dir;
        }
        if let Some(dir) = args.cni_bin_dir.clone().or(file.cni_bin_dir) {
            engine.pods.cni_bin_dir = dir;
        }
        engine.runtime = args
            .runtime
            .clone()
            .or(file.runtime)
            .unwrap_or_else(|| sibling("berth-runtime"));
        engine.shim = args
            .shim
            .clone()
            .or(file.shim)
            .unwrap_or_else(|| sibling("berth-shim"));
        // Both run in roots holding nothing but themselves: only static binaries will do.
        let static_binary =
            |flag: Option<PathBuf>, key: Option<PathBuf>, name: &str, off: &str| match flag
                .or(key)
                .or_else(|| Some(sibling(name)).filter(|p| p.is_absolute()))
            {
                Some(path) if needs_interpreter(&path) => {
                    tracing::warn!(
                        path = %path.display(),
                        "{name} is dynamically linked and would not run without its libraries; \
                         {off} (build it with scripts/build-static.sh {name})"
                    );
                    None
                }
                other => other,
            };
        engine.init = static_binary(
            args.init_path.clone(),
            file.init_path,
            "berth-init",
            "--init is disabled",
        );
        engine.pause = static_binary(
            args.pause_path.clone(),
            file.pause_path,
            "berth-pause",
            "pod sandboxes cannot run",
        );
        // Flags add to the file's lists, as dockerd merges them.
        engine.registry = berth_engine::RegistryConfig {
            insecure_registries: file
                .insecure_registries
                .unwrap_or_default()
                .into_iter()
                .chain(args.insecure_registries.iter().cloned())
                .collect(),
            mirrors: file
                .registry_mirrors
                .unwrap_or_default()
                .into_iter()
                .chain(args.registry_mirrors.iter().cloned())
                .collect(),
            mirrors_by_host: file.registry_mirrors_by_host.unwrap_or_default(),
            blocked_registries: file
                .blocked_registries
                .unwrap_or_default()
                .into_iter()
                .chain(args.blocked_registries.iter().cloned())
                .collect(),
            // `<config dir>/certs.d/<host:port>/*.crt`, as /etc/docker/certs.d.
            certs_dir: Some(
                args.config_file
                    .parent()
                    .unwrap_or(Path::new("/"))
                    .join("certs.d"),
            ),
        };
        engine.registry.validate()?;
        let net = &mut engine.network;
        if let Some(b) = args.bridge.clone().or(file.bridge) {
            net.bridge = b;
        }
        if let Some(bip) = args.bip.clone().or(file.bip) {
            net.bip = bip;
        }
        let pools = if args.default_address_pools.is_empty() {
            file.default_address_pools.unwrap_or_default()
        } else {
            args.default_address_pools.clone()
        };
        if !pools.is_empty() {
            net.address_pools = pools.iter().map(|p| parse_pool(p)).collect::<Result<_>>()?;
        }
        if let Some(m) = args.ip_masq.or(file.ip_masq) {
            net.ip_masq = m;
        }
        if let Some(v6) = args.ipv6.or(file.ipv6) {
            net.ipv6 = v6;
        }
        net.fixed_cidr_v6 = args.fixed_cidr_v6.clone().or(file.fixed_cidr_v6);
        let dirs = if args.cni_plugin_dirs.is_empty() {
            file.cni_plugin_dirs.unwrap_or_default()
        } else {
            args.cni_plugin_dirs.clone()
        };
        if !dirs.is_empty() {
            net.cni_plugin_dirs = dirs;
        }
        Ok(Self {
            engine,
            hosts,
            cri_socket,
            cri_stream_address,
            pidfile: args.pidfile.clone().or(file.pidfile),
        })
    }
}

/// dockerd's `--default-address-pool base=10.10.0.0/16,size=24`.
fn parse_pool(spec: &str) -> Result<(String, u8)> {
    let (mut base, mut size) = (None, None);
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("base", v)) => base = Some(v.to_string()),
            Some(("size", v)) => {
                size = Some(
                    v.parse::<u8>()
                        .with_context(|| format!("--default-address-pool {spec}: bad size"))?,
                )
            }
            _ => bail!("--default-address-pool {spec}: want base=CIDR,size=N"),
        }
    }
    match (base, size) {
        (Some(b), Some(s)) => Ok((b, s)),
        _ => bail!("--default-address-pool {spec}: want base=CIDR,size=N"),
    }
}

/// Whether an ELF executable names a program interpreter (PT_INTERP), i.e. is dynamically
/// linked. Unreadable or non-ELF files count as needing one, so they are not used as init.
fn needs_interpreter(path: &Path) -> bool {
    const PT_INTERP: u32 = 3;
    let Ok(data) = std::fs::read(path) else {
        return true;
    };
    let u16_at = |o: usize| data.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        data.get(o..o + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let u64_at = |o: usize| {
        data.get(o..o + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    // 64-bit little-endian ELF only: the architectures berthd runs on.
    if data.get(..6) != Some(&[0x7f, b'E', b'L', b'F', 2, 1][..]) {
        return true;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return true;
    };
    (0..usize::from(phnum)).any(|i| {
        let at = usize::try_from(phoff)
            .unwrap_or(usize::MAX)
            .saturating_add(i * usize::from(phentsize));
        u32_at(at).is_none_or(|t| t == PT_INTERP)
    })
}

/// The pid file, removed when berthd exits. A live pid in it means another berthd owns this
/// root: refuse rather than run two daemons on one store.
pub struct PidFile(PathBuf);

impl PidFile {
    pub fn create(path: &Path) -> Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                // SAFETY: signal 0 only checks that the process exists.
                if pid != std::process::id() as i32 && unsafe { libc::kill(pid, 0) } == 0 {
                    bail!("{}: berthd is already running as pid {pid}", path.display());
                }
            }
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("write {}", path.display()))?;
        Ok(Self(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(toml: &str, flags: &[&str]) -> Result<Settings> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("berthd.toml");
        std::fs::write(&file, toml)?;
        let file = file.display().to_string();
        let args = Args::parse_from(
            ["berthd", "--config-file", file.as_str()]
                .iter()
                .chain(flags),
        );
        Settings::load(&args)
    }

    #[test]
    fn cri_socket_default_flag_file_and_off() -> Result<()> {
        let default = settings("", &[])?;
        assert_eq!(default.cri_socket.as_deref(), Some(DEFAULT_CRI_SOCKET));
        assert_eq!(
            default.engine.pods.cni_conf_dir,
            Path::new("/etc/cni/net.d")
        );
        assert_eq!(default.engine.pods.cni_bin_dir, Path::new("/opt/cni/bin"));
        let file = settings(
            "cri-socket = \"unix:///tmp/file.sock\"\ncni-conf-dir = \"/c\"\ncni-bin-dir = \"/b\"\n",
            &[],
        )?;
        assert_eq!(file.cri_socket.as_deref(), Some("unix:///tmp/file.sock"));
        assert_eq!(file.engine.pods.cni_conf_dir, Path::new("/c"));
        assert_eq!(file.engine.pods.cni_bin_dir, Path::new("/b"));
        let flag = settings(
            "cri-socket = \"unix:///tmp/file.sock\"\n",
            &["--cri-socket", "unix:///tmp/flag.sock"],
        )?;
        assert_eq!(flag.cri_socket.as_deref(), Some("unix:///tmp/flag.sock"));
        assert_eq!(settings("cri-socket = \"\"\n", &[])?.cri_socket, None);
        assert_eq!(settings("", &["--cri-socket", ""])?.cri_socket, None);
        let tcp = settings("", &["--cri-socket", "tcp://127.0.0.1:1"])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            tcp.as_deref(),
            Some("--cri-socket tcp://127.0.0.1:1: only unix:// sockets are supported")
        );
        Ok(())
    }

    #[test]
    fn cri_stream_address_default_flag_file_and_off() -> Result<()> {
        let loopback = |port: u16| Some(SocketAddr::from(([127, 0, 0, 1], port)));
        assert_eq!(settings("", &[])?.cri_stream_address, loopback(0));
        let file = settings("cri-stream-address = \"127.0.0.1:10010\"\n", &[])?;
        assert_eq!(file.cri_stream_address, loopback(10010));
        let flag = settings(
            "cri-stream-address = \"127.0.0.1:10010\"\n",
            &["--cri-stream-address", "[::1]:7"],
        )?;
        assert_eq!(
            flag.cri_stream_address,
            Some(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 7)))
        );
        assert_eq!(
            settings("", &["--cri-stream-address", ""])?.cri_stream_address,
            None
        );
        let bad = settings("", &["--cri-stream-address", "localhost:1"])
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            bad.as_deref(),
            Some("--cri-stream-address localhost:1: not an IP address and port")
        );
        Ok(())
    }
}
