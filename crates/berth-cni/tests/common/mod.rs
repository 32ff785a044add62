//! A private network per test: its own namespaces, bridge, host-local state and cache, all
//! removed on drop. Traffic stays between the test's namespaces and the host's loopback;
//! nothing forwards or masquerades to the outside (`ipMasq` is off).
// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::io::Read;
use std::net::{IpAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use berth_cni::{Cni, NetworkConfigList, Origin};
use serde_json::{json, Value};

pub const PLUGIN_DIR: &str = "/usr/lib/cni";

/// Root, the Debian plugins, `ip` and busybox (for ping and nc) are needed.
pub fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tools = [
        Path::new(PLUGIN_DIR).join("bridge"),
        "/usr/sbin/ip".into(),
        "/usr/bin/busybox".into(),
    ];
    let missing: Vec<_> = tools.iter().filter(|p| !p.exists()).collect();
    if !root || !missing.is_empty() {
        eprintln!("skipping: needs root and {missing:?}");
        return false;
    }
    true
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process and call, at most `4 + 6 + 3` bytes after `prefix`.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 1_000_000)
}

pub fn run(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A named network namespace (`ip netns add`), deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Self {
        let name = unique("berthcni-");
        run(&["ip", "netns", "add", &name]);
        run(&["ip", "-n", &name, "link", "set", "lo", "up"]);
        Self { name }
    }

    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()
            .unwrap()
    }

    /// `busybox nc -l` on `port` that answers `reply` to one connection.
    pub fn serve_once(&self, port: u16, reply: &str) -> Server {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.name, "busybox", "nc", "-l", "-p"])
            .arg(port.to_string())
            .args(["-e", "/bin/echo", reply])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Server(child)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A listener started by [`Netns::serve_once`], killed on drop if nobody connected.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Connects to `addr:port` from the host, retrying while the listener starts, and returns
/// what it says.
pub fn fetch(addr: IpAddr, port: u16) -> std::io::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpStream::connect_timeout(&(addr, port).into(), Duration::from_secs(2)) {
            Ok(mut stream) => {
                stream.set_read_timeout(Some(Duration::from_secs(5)))?;
                let mut text = String::new();
                stream.read_to_string(&mut text)?;
                return Ok(text);
            }
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A bridge network of its own: bridge + host-local (private dataDir) + portmap + firewall
/// + tuning, on `10.231.<subnet>.0/24`.
pub struct TestNet {
    pub list: NetworkConfigList,
    pub bridge: String,
    pub data_dir: PathBuf,
    pub cni: Cni,
    tmp: tempfile::TempDir,
}

impl TestNet {
    pub fn new(subnet: u8) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let bridge = unique("bcni");
        let data_dir = tmp.path().join("ipam");
        let list = json!({
            "cniVersion": "1.0.0",
            "name": unique("berthtest"),
            "plugins": [
                {
                    "type": "bridge",
                    "capabilities": {"ips": true},
                    "bridge": bridge,
                    "isGateway": true,
                    "ipMasq": false,
                    "hairpinMode": true,
                    "ipam": {
                        "type": "host-local",
                        "dataDir": data_dir,
                        "ranges": [[{"subnet": format!("10.231.{subnet}.0/24")}]]
                    }
                },
                {"type": "portmap", "capabilities": {"portMappings": true}, "snat": true},
                {"type": "firewall", "backend": "iptables"},
                {"type": "tuning", "capabilities": {"mac": true}, "mtu": 1400}
            ]
        });
        let list =
            NetworkConfigList::from_slice(list.to_string().as_bytes(), Origin::Memory).unwrap();
        let cni = Cni::new(vec![PLUGIN_DIR.into()], &tmp.path().join("cache"));
        Self {
            list,
            bridge,
            data_dir,
            cni,
            tmp,
        }
    }

    /// host-local's reservation file of `ip`.
    pub fn ipam_file(&self, ip: IpAddr) -> PathBuf {
        self.data_dir.join(&self.list.name).join(ip.to_string())
    }

    pub fn cache_dir(&self) -> &Path {
        self.tmp.path()
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        // DEL whatever a failed test left attached (veths, iptables rules), then the bridge,
        // which the bridge plugin never removes.
        let _ = self.cni.gc(&self.list, &[]);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .stderr(Stdio::null())
            .status();
    }
}

/// `iptables-save` lines mentioning `needle` (a container id or address).
pub fn iptables_lines(needle: &str) -> usize {
    run(&["iptables-save"])
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

pub fn json_of(args: &[&str]) -> Value {
    serde_json::from_str(&run(args)).unwrap()
}
