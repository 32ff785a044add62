//! Registry helpers of the end-to-end tests: a private `docker-registry` (plain, htpasswd, TLS
//! with a CA made here), skopeo, and an HTTP proxy that can answer, refuse or cut requests on
//! their way to the registry (faults, bearer-token challenges). Everything on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

pub use berth_testkit::free_port;
pub use berth_testkit::registry::{sh, Registry, RegistryOpts};

pub fn skip_registry() -> bool {
    if skip() {
        return true;
    }
    for tool in ["/usr/bin/docker-registry", "/usr/bin/skopeo"] {
        if !Path::new(tool).exists() {
            eprintln!("skipped: {tool} missing (apt-get install docker-registry skopeo)");
            return true;
        }
    }
    false
}

pub fn skopeo(args: &[&str]) -> Out {
    let mut cmd = Command::new("skopeo");
    cmd.args(args);
    run(cmd, None)
}

/// The manifest digest a registry serves for `image`, as skopeo computes it.
pub fn remote_digest(image: &str, tls: &[&str]) -> String {
    let mut args = vec!["inspect", "--format", "{{.Digest}}"];
    args.extend_from_slice(tls);
    let target = format!("docker://{image}");
    args.push(&target);
    skopeo(&args).ok().stdout.trim().to_string()
}

/// A realistic Debian image's rootfs as a gzip tar: `debootstrap --variant=minbase bookworm`
/// from the Debian mirror apt uses, cached in `/var/cache/berth-test/` (shared with
/// `scripts/bench-pull.sh`; the first run takes a minute or two).
pub fn debian_minbase_tar_gz() -> PathBuf {
    let cache = Path::new("/var/cache/berth-test");
    let tar = cache.join("debian-minbase.tar");
    let gz = cache.join("debian-minbase.tar.gz");
    if gz.exists() {
        return gz;
    }
    std::fs::create_dir_all(cache).unwrap_or_else(|e| panic!("{e}"));
    if !tar.exists() {
        let rootfs = tempfile::tempdir_in(cache).unwrap_or_else(|e| panic!("{e}"));
        sh(Command::new("debootstrap")
            .args(["--variant=minbase", "bookworm"])
            .arg(rootfs.path())
            .arg("http://deb.debian.org/debian"));
        let partial = cache.join(format!("debian-minbase.tar.{}", std::process::id()));
        sh(Command::new("tar")
            .args(["--numeric-owner", "-C"])
            .arg(rootfs.path())
            .arg("-cf")
            .arg(&partial)
            .arg("."));
        std::fs::rename(&partial, &tar).unwrap_or_else(|e| panic!("{e}"));
    }
    let partial = cache.join(format!("debian-minbase.tar.gz.{}", std::process::id()));
    let out = std::fs::File::create(&partial).unwrap_or_else(|e| panic!("{e}"));
    let st = Command::new("gzip")
        .arg("-c")
        .arg(&tar)
        .stdout(out)
        .status()
        .unwrap_or_else(|e| panic!("gzip: {e}"));
    assert!(st.success(), "gzip {}", tar.display());
    std::fs::rename(&partial, &gz).unwrap_or_else(|e| panic!("{e}"));
    gz
}

/// `RepoDigests` of a local image, as inspect's JSON list.
pub fn repo_digests(d: &Daemon, image: &str) -> String {
    let args = [
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        image,
    ];
    d.docker(&args).ok().stdout.trim().to_string()
}

pub fn pushed_digest(out: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.split_once(": digest: ")
                .map(|(_, r)| r.split(' ').next().unwrap_or_default().to_string())
        })
        .unwrap_or_else(|| panic!("no digest line in {out}"))
}

/// A request as the proxy saw it (header names lowercase).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the proxy does with a request.
pub enum Answer {
    /// Passed on to the upstream; the response is cut (connection dropped) after this many
    /// bytes.
    Forward { cut_after: Option<u64> },
    /// Answered by the proxy itself.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

impl Answer {
    pub fn forward() -> Self {
        Self::Forward { cut_after: None }
    }

    pub fn status(status: u16, body: &str) -> Self {
        Self::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }
}

type Rule = Arc<dyn Fn(&Request) -> Answer + Send + Sync>;

/// A request served, with the bytes of response sent back.
#[derive(Debug, Clone)]
pub struct Served {
    pub request: Request,
    pub bytes: u64,
}

/// An HTTP/1.1 proxy on 127.0.0.1 in front of an upstream registry, one thread per client
/// connection, each request forwarded on a fresh upstream connection. Stops on drop.
pub struct Proxy {
    pub port: u16,
    rule: Arc<Mutex<Rule>>,
    served: Arc<Mutex<Vec<Served>>>,
    stop: Arc<AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: u16, rule: impl Fn(&Request) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let rule: Arc<Mutex<Rule>> = Arc::new(Mutex::new(Arc::new(rule)));
        let served = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (rule, served, stop) = (rule.clone(), served.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let (rule, served) = (rule.clone(), served.clone());
                            std::thread::spawn(move || {
                                let _ = serve(client, upstream, &rule, &served);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        Self {
            port,
            rule,
            served,
            stop,
            accept: Some(accept),
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn set_rule(&self, rule: impl Fn(&Request) -> Answer + Send + Sync + 'static) {
        *self.rule.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(rule);
    }

    /// Takes the log of requests served so far.
    pub fn take_served(&self) -> Vec<Served> {
        std::mem::take(&mut *self.served.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

/// Serves the requests of one client connection until it closes, fails or is cut.
fn serve(
    client: TcpStream,
    upstream: u16,
    rule: &Mutex<Rule>,
    served: &Mutex<Vec<Served>>,
) -> std::io::Result<()> {
    // Every connection ends: idle clients are dropped after a while.
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = client.try_clone()?;
    let mut reader = BufReader::new(client);
    loop {
        let mut head = Vec::new();
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            head.extend_from_slice(line.as_bytes());
            let line = line.trim_end().to_string();
            if line.is_empty() {
                break;
            }
            lines.push(line);
        }
        let mut first = lines.first().map(|l| l.split(' ')).into_iter().flatten();
        let (method, path) = (
            first.next().unwrap_or_default().to_string(),
            first.next().unwrap_or_default().to_string(),
        );
        let headers: Vec<(String, String)> = lines
            .iter()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let request = Request {
            method,
            path,
            headers,
        };
        let length: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let answer = {
            let rule = rule.lock().unwrap_or_else(|e| e.into_inner()).clone();
            rule(&request)
        };
        let (bytes, keep) = match answer {
            Answer::Respond {
                status,
                headers,
                body,
            } => {
                let mut msg = format!(
                    "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (n, v) in headers {
                    msg.push_str(&format!("{n}: {v}\r\n"));
                }
                msg.push_str("\r\n");
                out.write_all(msg.as_bytes())?;
                out.write_all(&body)?;
                ((msg.len() + body.len()) as u64, true)
            }
            Answer::Forward { cut_after } => {
                let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
                up.set_read_timeout(Some(Duration::from_secs(30)))?;
                // One request per upstream connection: its end is the response's end.
                let head =
                    String::from_utf8_lossy(&head).replacen("\r\n", "\r\nConnection: close\r\n", 1);
                up.write_all(head.as_bytes())?;
                up.write_all(&body)?;
                let limit = cut_after.unwrap_or(u64::MAX);
                let mut sent = 0u64;
                let mut buf = vec![0; 64 * 1024];
                loop {
                    let n = up.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    let n = n.min(usize::try_from(limit - sent).unwrap_or(usize::MAX));
                    out.write_all(&buf[..n])?;
                    sent += n as u64;
                    if sent >= limit {
                        let _ = out.shutdown(std::net::Shutdown::Both);
                        break;
                    }
                }
                (sent, sent < limit)
            }
        };
        served
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Served { request, bytes });
        if !keep {
            return Ok(());
        }
    }
}

/// A one-layer image tarball: busybox and `mib` MiB of random (incompressible) data.
pub fn big_rootfs_tar(dir: &Path, mib: usize) -> PathBuf {
    let extra = dir.join("extra");
    std::fs::create_dir_all(&extra).unwrap_or_else(|e| panic!("{e}"));
    let mut data = vec![0u8; mib << 20];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut data))
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(extra.join("big.bin"), data).unwrap_or_else(|e| panic!("{e}"));
    let tar = dir.join("big.tar");
    sh(Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(berth_testkit::busybox_rootfs())
        .arg(".")
        .arg("-C")
        .arg(&extra)
        .arg("big.bin"));
    tar
}

/// Files in `dir` (none when it does not exist).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// Layer-sized blobs (over 100 kB) in a daemon's content store.
pub fn layer_blobs(d: &Daemon) -> Vec<PathBuf> {
    files_in(&d.data_root().join("content/blobs/sha256"))
        .into_iter()
        .filter(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0) > 100_000)
        .collect()
}

/// Snapshots of a daemon by kind (`active`, `committed`, `view`), from its snapshotter's db.
pub fn snapshots(d: &Daemon, kind: &str) -> Vec<String> {
    let db = rusqlite::Connection::open_with_flags(
        d.data_root().join("overlay/metadata.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut stmt = db
        .prepare("SELECT key FROM snapshots WHERE kind = ?1")
        .unwrap_or_else(|e| panic!("{e}"));
    stmt.query_map([kind], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{e}"))
}
