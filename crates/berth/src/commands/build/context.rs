//! The build context as the docker CLI sends it: a directory walked into a tar while the
//! request goes out (never whole in memory), `.dockerignore` applied here before a file is
//! read, names without `./`, uid/gid 0, symlinks as symlinks; a Dockerfile from outside the
//! context or stdin added as `.dockerfile.<random hex>`; stdin sent as it is when it holds an
//! archive, wrapped as the one file `Dockerfile` when it does not. Extra files (the injected
//! Dockerfile, secrets) go at the end.

use std::fs::Metadata;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use berth_dockerfile::ignore::{
    ignore_file, IgnoreFile, IgnorePatterns, ParentMatches, DOCKERIGNORE,
};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::client::RequestBody;

/// Bytes per body chunk, and chunks in flight: what the walk may run ahead of the socket.
const CHUNK: usize = 256 * 1024;
const CHUNKS_IN_FLIGHT: usize = 4;

/// An archive's first block: enough to tell a tar (its header checksum) or a compressed file
/// (its magic) from a Dockerfile.
const HEAD: usize = 512;

/// A file added to the context tar after the walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraFile {
    pub name: String,
    pub mode: u32,
    pub data: Vec<u8>,
}

enum Source {
    /// A directory, with the patterns that leave files out and, when a Dockerfile was
    /// injected, the text sent in place of the root `.dockerignore`.
    Dir {
        root: PathBuf,
        ignore: IgnorePatterns,
        dockerignore: Option<Vec<u8>>,
    },
    /// An archive on stdin: its first bytes (already read), then the rest.
    Archive {
        head: Vec<u8>,
        rest: Box<dyn Read + Send>,
    },
    /// Nothing but the extra files (a Dockerfile on stdin).
    Empty,
}

pub struct BuildContext {
    source: Source,
    /// The `dockerfile` query parameter; an archive on stdin sends none unless `-f` names one.
    pub dockerfile: Option<String>,
    pub extra: Vec<ExtraFile>,
}

impl BuildContext {
    /// Reads what decides the tar (the Dockerfile's place, the ignore file, stdin's first
    /// block) and fails early on a missing context or Dockerfile, as the docker CLI does.
    pub fn resolve(context: &str, file: Option<&str>) -> Result<Self> {
        if context == "-" {
            return Self::from_stdin(io::stdin(), file);
        }
        Self::from_dir(context, file, || read_all(io::stdin().lock()))
    }

    pub(super) fn from_stdin(
        mut stdin: impl Read + Send + 'static,
        file: Option<&str>,
    ) -> Result<Self> {
        if file == Some("-") {
            bail!("invalid argument: can't use stdin for both build context and dockerfile");
        }
        let mut head = Vec::with_capacity(HEAD);
        (&mut stdin)
            .take(HEAD as u64)
            .read_to_end(&mut head)
            .context("read the context from stdin")?;
        if is_archive(&head) {
            return Ok(Self {
                source: Source::Archive {
                    head,
                    rest: Box::new(stdin),
                },
                dockerfile: file.map(str::to_string),
                extra: Vec::new(),
            });
        }
        head.extend(read_all(stdin)?);
        Ok(Self {
            source: Source::Empty,
            dockerfile: Some("Dockerfile".into()),
            extra: vec![ExtraFile {
                name: "Dockerfile".into(),
                mode: 0o644,
                data: head,
            }],
        })
    }

    pub(super) fn from_dir(
        context: &str,
        file: Option<&str>,
        stdin_dockerfile: impl FnOnce() -> Result<Vec<u8>>,
    ) -> Result<Self> {
        let root = Path::new(context)
            .canonicalize()
            .with_context(|| format!("unable to prepare context: path {context:?} not found"))?;
        if !root.is_dir() {
            bail!("unable to prepare context: context must be a directory: {context}");
        }
        // `-f` is relative to the current directory, not to the context (as docker).
        let given = match file {
            Some("-") => None,
            Some(f) => Some(PathBuf::from(f)),
            None => Some(default_dockerfile(&root)),
        };
        let (inside, outside_text) = match &given {
            None => (None, Some(stdin_dockerfile()?)),
            Some(path) => {
                let real = path.canonicalize().with_context(|| {
                    format!("Cannot locate specified Dockerfile: {}", path.display())
                })?;
                match real.strip_prefix(&root) {
                    Ok(rel) => (Some(slash_path(rel)?), None),
                    Err(_) => (
                        None,
                        Some(
                            std::fs::read(&real)
                                .with_context(|| format!("read {}", real.display()))?,
                        ),
                    ),
                }
            }
        };
        let root_ignore = root.join(DOCKERIGNORE);
        let root_text = read_optional(&root_ignore)?;
        // BuildKit's rule: `<Dockerfile>.dockerignore` beside the Dockerfile wins.
        let chosen = match &given {
            Some(path) => ignore_file(&path.to_string_lossy(), |p| Path::new(p).is_file()),
            None => IgnoreFile::ContextRoot,
        };
        let (ignore_path, ignore_text) = match chosen {
            IgnoreFile::BesideDockerfile(p) => {
                let text = read_optional(Path::new(&p))?;
                (PathBuf::from(p), text)
            }
            IgnoreFile::ContextRoot => (root_ignore, root_text.clone()),
        };
        let mut ignore = match ignore_text {
            Some(text) => IgnorePatterns::parse(&String::from_utf8_lossy(&text))
                .with_context(|| format!("{}", ignore_path.display()))?,
            None => IgnorePatterns::default(),
        };
        ignore.keep_build_files(inside.as_deref());
        let mut extra = Vec::new();
        let mut dockerignore = None;
        let dockerfile = match (inside, outside_text) {
            (Some(rel), _) => rel,
            (None, text) => {
                let name = format!(".dockerfile.{}", random_hex(10)?);
                extra.push(ExtraFile {
                    name: name.clone(),
                    mode: 0o600,
                    data: text.unwrap_or_default(),
                });
                // As the docker CLI: the ignore file names the injected Dockerfile, so a daemon
                // that applies it (dockerd) leaves it out of `COPY .`.
                match root_text {
                    Some(mut text) => {
                        text.extend_from_slice(format!("\n{name}\n").as_bytes());
                        dockerignore = Some(text);
                    }
                    None => extra.push(ExtraFile {
                        name: DOCKERIGNORE.into(),
                        mode: 0o600,
                        data: format!("{DOCKERIGNORE}\n{name}\n").into_bytes(),
                    }),
                }
                name
            }
        };
        Ok(Self {
            source: Source::Dir {
                root,
                ignore,
                dockerignore,
            },
            dockerfile: Some(dockerfile),
            extra,
        })
    }

    /// The request body, the task writing it (its error is the context's), and the count of
    /// bytes handed to the body so far.
    pub fn into_body(
        self,
    ) -> (
        RequestBody,
        tokio::task::JoinHandle<Result<()>>,
        Arc<AtomicU64>,
    ) {
        use http_body_util::BodyExt;
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHUNKS_IN_FLIGHT);
        let sent = Arc::new(AtomicU64::new(0));
        let writer = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
            sent: sent.clone(),
        };
        let producer = tokio::task::spawn_blocking(move || {
            let result = self.write(writer);
            if let Err(e) = &result {
                // An error frame aborts the request: a cut tar could pass for a whole one.
                let _ = tx.blocking_send(Err(io::Error::other(format!("{e:#}"))));
            }
            result
        });
        let frames = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|chunk| (chunk.map(hyper::body::Frame::data), rx))
        });
        (
            http_body_util::StreamBody::new(frames).boxed_unsync(),
            producer,
            sent,
        )
    }

    /// Writes the whole tar.
    pub(super) fn write(self, mut out: impl Write) -> Result<()> {
        let dir = match self.source {
            Source::Archive { head, rest } => {
                let mut input = io::Cursor::new(head).chain(rest);
                if self.extra.is_empty() {
                    // Sent as it is, compressed or not.
                    io::copy(&mut input, &mut out).context("read the context from stdin")?;
                    out.flush()?;
                    return Ok(());
                }
                copy_entries(input, &mut out)?;
                None
            }
            Source::Dir {
                root,
                ignore,
                dockerignore,
            } => Some((root, ignore, dockerignore)),
            Source::Empty => None,
        };
        let mut tar = tar::Builder::new(out);
        if let Some((root, ignore, dockerignore)) = dir {
            write_dir(&mut tar, &root, &ignore, dockerignore.as_deref())?;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for f in &self.extra {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(f.mode);
            h.set_mtime(now);
            h.set_uid(0);
            h.set_gid(0);
            h.set_size(f.data.len() as u64);
            tar.append_data(&mut h, &f.name, f.data.as_slice())
                .with_context(|| format!("add {} to the context", f.name))?;
        }
        tar.into_inner()?.flush()?;
        Ok(())
    }
}

/// Walks `root` depth-first in name order (Go's `filepath.Walk`, as the docker CLI), asking
/// the patterns top-down and entering an excluded directory only when an exception may
/// re-include something below it.
fn write_dir<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    ignore: &IgnorePatterns,
    dockerignore: Option<&[u8]>,
) -> Result<()> {
    let mut stack = Vec::new();
    push_children(&mut stack, root, Path::new(""), &ParentMatches::default())?;
    while let Some((rel, parent)) = stack.pop() {
        let path = root.join(&rel);
        let name = slash_path(&rel)?;
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("error checking context: {}", path.display()))?;
        let (excluded, matches) = ignore.matches_in_walk(&name, &parent);
        let kind = meta.file_type();
        if kind.is_dir() {
            if !excluded {
                append_dir(tar, &meta, &name)?;
            }
            if !excluded || ignore.descend_into_excluded(&name) {
                push_children(&mut stack, &path, &rel, &matches)?;
            }
            continue;
        }
        if excluded {
            continue;
        }
        let context = || format!("add {} to the context", path.display());
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).with_context(context)?;
            let mut h = header(&meta, tar::EntryType::Symlink, 0);
            tar.append_link(&mut h, &name, &target)
                .with_context(context)?;
        } else if kind.is_file() {
            match dockerignore.filter(|_| name == DOCKERIGNORE) {
                Some(text) => {
                    let mut h = header(&meta, tar::EntryType::Regular, text.len() as u64);
                    tar.append_data(&mut h, &name, text).with_context(context)?;
                }
                None => {
                    let file = std::fs::File::open(&path).with_context(context)?;
                    let mut h = header(&meta, tar::EntryType::Regular, meta.len());
                    // A file growing while it is read must not overrun its header's size.
                    tar.append_data(&mut h, &name, file.take(meta.len()))
                        .with_context(context)?;
                }
            }
        }
        // Sockets, fifos and devices are left out: a build has no use for them and reading a
        // fifo would block.
    }
    Ok(())
}

/// Pushes `dir`'s entries so that they pop in name order.
fn push_children(
    stack: &mut Vec<(PathBuf, ParentMatches)>,
    dir: &Path,
    rel: &Path,
    matches: &ParentMatches,
) -> Result<()> {
    let mut names = std::fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|e| e.map(|e| e.file_name()))
                .collect::<io::Result<Vec<_>>>()
        })
        .with_context(|| format!("error checking context: {}", dir.display()))?;
    names.sort();
    stack.extend(
        names
            .into_iter()
            .rev()
            .map(|n| (rel.join(n), matches.clone())),
    );
    Ok(())
}

/// The default Dockerfile of a context directory: `Dockerfile`, else `dockerfile`, as the
/// docker CLI looks.
fn default_dockerfile(dir: &Path) -> PathBuf {
    let upper = dir.join("Dockerfile");
    let lower = dir.join("dockerfile");
    if !upper.exists() && lower.exists() {
        lower
    } else {
        upper
    }
}

/// A header as the docker CLI writes it: permission bits, mtime, owner 0, no user names.
fn header(meta: &Metadata, kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(meta.mode() & 0o7777);
    h.set_mtime(u64::try_from(meta.mtime()).unwrap_or(0));
    h.set_uid(0);
    h.set_gid(0);
    h.set_size(size);
    h
}

/// A directory entry named `dir/`, as Go's tar writer names it (the tar crate drops the
/// slash; a name too long for the header goes through its long-name entry without one).
fn append_dir<W: Write>(tar: &mut tar::Builder<W>, meta: &Metadata, name: &str) -> Result<()> {
    let mut h = header(meta, tar::EntryType::Directory, 0);
    let context = || format!("add {name}/ to the context");
    if h.set_path(name).is_err() {
        return tar
            .append_data(&mut h, name, io::empty())
            .with_context(context);
    }
    let field = &mut h.as_old_mut().name;
    if let Some(end) = field.iter().position(|&b| b == 0) {
        field[end] = b'/';
    }
    h.set_cksum();
    tar.append(&h, io::empty()).with_context(context)
}

/// Copies an uncompressed tar's entries byte for byte (headers, long-name and PAX entries
/// included) without its end-of-archive blocks, so that more entries can follow.
fn copy_entries(input: impl Read, out: &mut impl Write) -> Result<()> {
    let mut archive = tar::Archive::new(input);
    let entries = archive
        .entries()
        .context("--secret needs an uncompressed tar archive on stdin")?;
    for entry in entries.raw(true) {
        let mut entry = entry.context("--secret needs an uncompressed tar archive on stdin")?;
        out.write_all(entry.header().as_bytes())?;
        let size = io::copy(&mut entry, out).context("read the context from stdin")?;
        let padding = (512 - size % 512) % 512;
        out.write_all(&[0; 512][..padding as usize])?;
    }
    Ok(())
}

/// Whether stdin's first block is an archive: a compressed stream's magic, or a tar header
/// with a valid checksum (what Go's tar reader accepts as a first header).
pub(super) fn is_archive(head: &[u8]) -> bool {
    const MAGIC: [&[u8]; 4] = [
        b"\x1f\x8b\x08",
        b"BZh",
        b"\xfd7zXZ\x00",
        b"\x28\xb5\x2f\xfd",
    ];
    if MAGIC.iter().any(|m| head.starts_with(m)) {
        return true;
    }
    let Some(block) = head.get(..512) else {
        return false;
    };
    let Some(stored) = std::str::from_utf8(&block[148..156])
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c == ' '))
        .and_then(|s| u32::from_str_radix(s, 8).ok())
    else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    block.iter().any(|&b| b != 0) && sum == stored
}

/// A relative path as a tar name: `/`-separated, UTF-8 (the patterns are text).
fn slash_path(rel: &Path) -> Result<String> {
    let parts = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_str()
                .with_context(|| format!("{}: the name is not UTF-8", rel.display()))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(parts.join("/"))
}

fn read_all(mut r: impl Read) -> Result<Vec<u8>> {
    let mut data = Vec::new();
    r.read_to_end(&mut data).context("read stdin")?;
    Ok(data)
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(data) => Ok(Some(data)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0; bytes];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .context("read /dev/urandom")?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The body's sink: fills a chunk, then hands it to the request (waiting while the socket
/// is behind, which bounds memory).
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
    sent: Arc<AtomicU64>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        let len = chunk.len() as u64;
        self.tx
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        self.sent.fetch_add(len, Ordering::Relaxed);
        Ok(())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
