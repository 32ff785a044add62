//! Build contexts against the real filesystem; the tests run as root (chown to other owners,
//! device numbers in checksums).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_types::Digest;
use tar::{EntryType, Header};

use super::*;

const LIMITS: Limits = Limits {
    max_bytes: 1 << 30,
    max_entries: 10_000,
};

/// Tar streams with any name, `..` and absolute ones included (the tar crate's builder
/// refuses those).
#[derive(Default)]
struct Tar(Vec<u8>);

struct Entry<'a> {
    kind: EntryType,
    name: &'a str,
    link: &'a str,
    data: &'a [u8],
    mode: u32,
    uid: u64,
    mtime: u64,
}

impl Default for Entry<'_> {
    fn default() -> Self {
        Self {
            kind: EntryType::Regular,
            name: "",
            link: "",
            data: b"",
            mode: 0o644,
            uid: 0,
            mtime: 1_700_000_000,
        }
    }
}

impl Tar {
    fn add(&mut self, e: Entry<'_>) -> &mut Self {
        if e.name.len() > 100 {
            self.raw(
                EntryType::GNULongName,
                "././@LongLink",
                "",
                &[e.name.as_bytes(), b"\0"].concat(),
                0,
                0,
                0,
            );
        }
        if e.link.len() > 100 {
            self.raw(
                EntryType::GNULongLink,
                "././@LongLink",
                "",
                &[e.link.as_bytes(), b"\0"].concat(),
                0,
                0,
                0,
            );
        }
        self.raw(e.kind, e.name, e.link, e.data, e.mode, e.uid, e.mtime)
    }

    #[allow(clippy::too_many_arguments)]
    fn raw(
        &mut self,
        kind: EntryType,
        name: &str,
        link: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        mtime: u64,
    ) -> &mut Self {
        let mut h = Header::new_gnu();
        let old = h.as_old_mut();
        let n = name.len().min(100);
        old.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        let l = link.len().min(100);
        old.linkname[..l].copy_from_slice(&link.as_bytes()[..l]);
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(mode);
        h.set_uid(uid);
        h.set_gid(uid);
        h.set_mtime(mtime);
        h.set_cksum();
        self.0.extend_from_slice(h.as_bytes());
        self.0.extend_from_slice(data);
        self.0.resize(self.0.len().next_multiple_of(512), 0);
        self
    }

    fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.add(Entry {
            name,
            data,
            ..Entry::default()
        })
    }

    fn dir(&mut self, name: &str) -> &mut Self {
        self.add(Entry {
            kind: EntryType::Directory,
            name,
            mode: 0o755,
            ..Entry::default()
        })
    }

    fn link(&mut self, kind: EntryType, name: &str, target: &str) -> &mut Self {
        self.add(Entry {
            kind,
            name,
            link: target,
            mode: 0o777,
            ..Entry::default()
        })
    }

    fn finish(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.0);
        out.extend_from_slice(&[0; 1024]);
        out
    }
}

/// A scratch directory with a sentinel beside the contexts that no test may touch.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("sentinel")).unwrap();
        fs::write(dir.path().join("sentinel/canary"), b"untouched").unwrap();
        Self { dir }
    }

    fn dest(&self) -> PathBuf {
        self.dir.path().join("ctx")
    }

    fn extract(&self, body: &[u8]) -> Result<BuildContext, ContextError> {
        self.extract_limited(body, LIMITS)
    }

    fn extract_limited(&self, body: &[u8], limits: Limits) -> Result<BuildContext, ContextError> {
        let r = extract(body, &self.dest(), limits);
        self.assert_untouched();
        if r.is_err() {
            assert!(
                !self.dest().exists(),
                "a failed extraction left {:?}",
                self.dest()
            );
        }
        r
    }

    fn assert_untouched(&self) {
        let names: Vec<_> = fs::read_dir(self.dir.path().join("sentinel"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["canary"]);
        assert_eq!(
            fs::read(self.dir.path().join("sentinel/canary")).unwrap(),
            b"untouched"
        );
    }
}

/// A context with one of everything the extractor keeps.
fn sample() -> Vec<u8> {
    let long = format!("{}/deep.txt", "d".repeat(120));
    Tar::default()
        .dir("src/")
        .add(Entry {
            name: "src/main.rs",
            data: b"fn main() {}\n",
            mode: 0o640,
            uid: 1234,
            mtime: 1_600_000_000,
            ..Entry::default()
        })
        .add(Entry {
            name: "run.sh",
            data: b"#!/bin/sh\n",
            mode: 0o4755,
            ..Entry::default()
        })
        .link(EntryType::Symlink, "src/lib.rs", "../main.rs")
        .link(EntryType::Symlink, "abs", "/etc/passwd")
        .link(EntryType::Link, "src/main-again.rs", "src/main.rs")
        .file(".wh.not-a-whiteout", b"kept")
        .file(&long, b"long name")
        .add(Entry {
            kind: EntryType::Fifo,
            name: "pipe",
            ..Entry::default()
        })
        .add(Entry {
            kind: EntryType::Directory,
            name: "./",
            mode: 0o750,
            ..Entry::default()
        })
        .file("Dockerfile", b"FROM scratch\n")
        .finish()
}

fn check_sample(ctx: &BuildContext) {
    let root = ctx.path();
    let main = fs::metadata(root.join("src/main.rs")).unwrap();
    assert_eq!(
        fs::read(root.join("src/main.rs")).unwrap(),
        b"fn main() {}\n"
    );
    assert_eq!(main.mode() & 0o7777, 0o640);
    assert_eq!((main.uid(), main.gid()), (1234, 1234));
    assert_eq!(main.mtime(), 1_600_000_000);
    assert_eq!(main.nlink(), 2);
    assert_eq!(
        fs::metadata(root.join("src/main-again.rs")).unwrap().ino(),
        main.ino()
    );
    assert_eq!(
        fs::metadata(root.join("run.sh")).unwrap().mode() & 0o7777,
        0o4755
    );
    // Symlinks are kept as written, never resolved.
    assert_eq!(
        fs::read_link(root.join("src/lib.rs")).unwrap(),
        Path::new("../main.rs")
    );
    assert_eq!(
        fs::read_link(root.join("abs")).unwrap(),
        Path::new("/etc/passwd")
    );
    assert_eq!(fs::read(root.join(".wh.not-a-whiteout")).unwrap(), b"kept");
    let long = root.join("d".repeat(120)).join("deep.txt");
    assert_eq!(fs::read(long).unwrap(), b"long name");
    assert!(fs::symlink_metadata(root.join("pipe"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(fs::metadata(root).unwrap().mode() & 0o7777, 0o750);
    assert_eq!(ctx.entries(), 11);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut bz = ::bzip2::write::BzEncoder::new(Vec::new(), ::bzip2::Compression::fast());
    bz.write_all(data).unwrap();
    bz.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut xz =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(1)).unwrap();
    xz.write_all(data).unwrap();
    xz.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ::zstd::encode_all(data, 1).unwrap()
}

#[test]
fn every_compression_gives_the_same_context() {
    let tar = sample();
    type Encoder = fn(&[u8]) -> Vec<u8>;
    let encoders: [(ContextFormat, Encoder); 5] = [
        (ContextFormat::Tar, <[u8]>::to_vec),
        (ContextFormat::Gzip, gzip),
        (ContextFormat::Bzip2, bzip2),
        (ContextFormat::Xz, xz),
        (ContextFormat::Zstd, zstd),
    ];
    let mut digests = Vec::new();
    for (format, encode) in encoders {
        let s = Scratch::new();
        let ctx = s.extract(&encode(&tar)).unwrap();
        assert_eq!(ctx.format(), format);
        assert_eq!(ctx.bytes(), tar.len() as u64, "{format:?}");
        check_sample(&ctx);
        digests.push(checksum(ctx.root(), Path::new(""), &ChecksumOptions::default()).unwrap());
        let path = ctx.path().to_path_buf();
        drop(ctx);
        assert!(!path.exists(), "dropping the context removes it");
    }
    // Fresh extractions of the same archive: same digest, whatever the inode numbers.
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
}

#[test]
fn concatenated_streams_are_read_whole() {
    // dockerd's decoders read every member of a multi-stream file; so must ours.
    let tar = sample();
    let (a, b) = tar.split_at(1024);
    for (body, format) in [
        ([bzip2(a), bzip2(b)].concat(), ContextFormat::Bzip2),
        ([xz(a), xz(b)].concat(), ContextFormat::Xz),
        ([gzip(a), gzip(b)].concat(), ContextFormat::Gzip),
    ] {
        let s = Scratch::new();
        let ctx = s.extract(&body).unwrap();
        assert_eq!(ctx.format(), format);
        check_sample(&ctx);
    }
}

#[test]
fn a_body_that_is_no_archive_is_the_dockerfile() {
    let short = b"FROM busybox\nRUN echo hi\n".to_vec();
    let long = format!("FROM busybox\n{}", "RUN true\n".repeat(200)).into_bytes();
    for body in [short, long, Vec::new()] {
        let s = Scratch::new();
        let ctx = s.extract(&body).unwrap();
        assert_eq!(ctx.format(), ContextFormat::Dockerfile);
        assert_eq!((ctx.entries(), ctx.bytes()), (1, body.len() as u64));
        let names: Vec<_> = fs::read_dir(ctx.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [BARE_DOCKERFILE]);
        let file = ctx.path().join(BARE_DOCKERFILE);
        assert_eq!(fs::read(&file).unwrap(), body);
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o7777, 0o644);
    }
    // An empty archive is an archive, though: an empty context.
    let s = Scratch::new();
    let ctx = s.extract(&Tar::default().finish()).unwrap();
    assert_eq!((ctx.format(), ctx.entries()), (ContextFormat::Tar, 0));
}

#[test]
fn escapes_are_refused_or_stay_inside() {
    for name in ["../x", "a/../../x", "./../sentinel/canary"] {
        let s = Scratch::new();
        let err = s
            .extract(
                &Tar::default()
                    .file("ok", b"1")
                    .file(name, b"pwned")
                    .finish(),
            )
            .unwrap_err();
        assert!(
            matches!(err, ContextError::Escapes { .. }),
            "{name}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            err.to_string(),
            format!("build context: entry {name:?} escapes the context")
        );
    }

    // Absolute names land inside, as dockerd puts them.
    let s = Scratch::new();
    let sentinel = s.dir.path().join("sentinel/canary");
    let ctx = s
        .extract(
            &Tar::default()
                .file(sentinel.to_str().unwrap(), b"pwned")
                .finish(),
        )
        .unwrap();
    let inside = ctx.path().join(sentinel.strip_prefix("/").unwrap());
    assert_eq!(fs::read(inside).unwrap(), b"pwned");

    // A symlink out, then a file written through it: the link is followed inside the context.
    let s = Scratch::new();
    let outside = s.dir.path().join("sentinel");
    let tar = Tar::default()
        .dir("sentinel/")
        .link(EntryType::Symlink, "root", "/")
        .link(EntryType::Symlink, "up", "../sentinel")
        .link(EntryType::Symlink, "abs", outside.to_str().unwrap())
        .file(&format!("root{}/x", outside.display()), b"pwned")
        .file("up/y", b"pwned")
        .file("abs/z", b"pwned")
        .finish();
    let ctx = s.extract(&tar).unwrap();
    let inner = ctx.path().join(outside.strip_prefix("/").unwrap());
    assert_eq!(fs::read(inner.join("x")).unwrap(), b"pwned");
    assert_eq!(fs::read(inner.join("z")).unwrap(), b"pwned");
    assert_eq!(fs::read(ctx.path().join("sentinel/y")).unwrap(), b"pwned");

    // Hardlinks only to what the archive made before.
    let s = Scratch::new();
    let err = s
        .extract(
            &Tar::default()
                .link(EntryType::Link, "h", "../sentinel/canary")
                .finish(),
        )
        .unwrap_err();
    assert!(matches!(err, ContextError::Escapes { .. }), "{err:?}");
    let err = s
        .extract(
            &Tar::default()
                .link(EntryType::Link, "h", sentinel.to_str().unwrap())
                .finish(),
        )
        .unwrap_err();
    assert!(
        matches!(err, ContextError::Entry { action, .. } if action.contains("hardlink")),
        "{err:?}"
    );
    let err = s
        .extract(
            &Tar::default()
                .link(EntryType::Symlink, "out", "../sentinel")
                .link(EntryType::Link, "h", "out/canary")
                .finish(),
        )
        .unwrap_err();
    assert!(matches!(err, ContextError::Entry { .. }), "{err:?}");
}

#[test]
fn limits_stop_big_and_crowded_contexts() {
    let s = Scratch::new();
    let tar = Tar::default()
        .file("a", b"1")
        .file("b", b"2")
        .file("c", b"3")
        .finish();
    let few = Limits {
        max_entries: 2,
        ..LIMITS
    };
    let err = s.extract_limited(&tar, few).unwrap_err();
    assert!(
        matches!(err, ContextError::TooManyEntries { limit: 2 }),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "build context: more than 2 entries");
    s.extract_limited(
        &tar,
        Limits {
            max_entries: 3,
            ..LIMITS
        },
    )
    .unwrap()
    .remove()
    .unwrap();

    // A big file is refused before its data is written; compressed or not.
    let big = Tar::default()
        .file("small", b"x")
        .file("big", &vec![0; 1 << 20])
        .finish();
    let small = Limits {
        max_bytes: 64 * 1024,
        ..LIMITS
    };
    for body in [big.clone(), gzip(&big), xz(&big)] {
        let err = s.extract_limited(&body, small).unwrap_err();
        assert_eq!(err.to_string(), "build context: exceeds 65536 bytes");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }
    // The whole uncompressed stream counts, not just file data: here, endless extension
    // headers that never come to an entry.
    let mut pax = Tar::default();
    for _ in 0..200 {
        pax.raw(EntryType::XHeader, "pax", "", b"", 0, 0, 0);
    }
    let err = s.extract_limited(&gzip(&pax.finish()), small).unwrap_err();
    assert!(matches!(err, ContextError::TooLarge { .. }), "{err:?}");
    // A bare Dockerfile too.
    let err = s.extract_limited(&vec![b'#'; 70_000], small).unwrap_err();
    assert!(matches!(err, ContextError::TooLarge { .. }), "{err:?}");
}

#[test]
fn sparse_files_count_at_their_full_length() {
    // An old GNU sparse entry: 512 bytes of data at offset 0 of a 1 GiB file.
    let mut h = Header::new_gnu();
    h.set_path("sparse").unwrap();
    h.set_entry_type(EntryType::GNUSparse);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(512);
    let gnu = h.as_gnu_mut().unwrap();
    gnu.sparse[0].offset = *b"00000000000\0";
    gnu.sparse[0].numbytes = *b"00000001000\0";
    gnu.realsize = *b"10000000000\0";
    h.set_cksum();
    let mut tar = h.as_bytes().to_vec();
    tar.extend_from_slice(&[7; 512]);
    tar.extend_from_slice(&[0; 1024]);
    let s = Scratch::new();
    let err = s
        .extract_limited(
            &tar,
            Limits {
                max_bytes: 1 << 20,
                ..LIMITS
            },
        )
        .unwrap_err();
    assert!(matches!(err, ContextError::TooLarge { .. }), "{err:?}");
    let ctx = s
        .extract_limited(
            &tar,
            Limits {
                max_bytes: 2 << 30,
                ..LIMITS
            },
        )
        .unwrap();
    assert_eq!(
        fs::metadata(ctx.path().join("sparse")).unwrap().len(),
        1 << 30
    );
}

#[test]
fn corruption_mid_stream_leaves_nothing_behind() {
    let mut tar = Tar::default();
    for i in 0..20 {
        tar.file(&format!("dir{i}/file"), &vec![b'x'; 3000]);
    }
    let mut tar = tar.finish();
    // Damage the header of the 11th file.
    let header = 10 * (512 + 3072);
    tar[header + 20] ^= 0xff;
    let s = Scratch::new();
    let err = s.extract(&tar).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("build context: corrupt tar: after entry \"dir9/file\"")
            && msg.contains("checksum"),
        "{msg}"
    );

    // Cut short inside a file, and in the compressed stream.
    let whole = sample();
    let err = s.extract(&whole[..2000]).unwrap_err();
    assert!(matches!(err, ContextError::Corrupt { .. }), "{err:?}");
    for body in [gzip(&whole), bzip2(&whole), xz(&whole), zstd(&whole)] {
        let err = s.extract(&body[..body.len() / 2]).unwrap_err();
        assert!(matches!(err, ContextError::Corrupt { .. }), "{err:?}");
    }
    // Formats with a checksum of the data (zstd's is optional) notice a flipped bit.
    for body in [gzip(&whole), bzip2(&whole), xz(&whole)] {
        let mut damaged = body.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0x55;
        s.extract(&damaged).unwrap_err();
    }
}

#[test]
fn the_destination_must_be_new() {
    let s = Scratch::new();
    fs::create_dir(s.dest()).unwrap();
    fs::write(s.dest().join("mine"), b"keep").unwrap();
    let err = extract(&sample()[..], &s.dest(), LIMITS).unwrap_err();
    assert!(
        matches!(&err, ContextError::Io { source, .. } if source.raw_os_error() == Some(libc::EEXIST)),
        "{err:?}"
    );
    assert_eq!(fs::read(s.dest().join("mine")).unwrap(), b"keep");
}

// ---- checksums ----

fn digest_of(ctx: &BuildContext, path: &str) -> Digest {
    checksum(ctx.root(), Path::new(path), &ChecksumOptions::default()).unwrap()
}

#[test]
fn checksum_is_stable_and_ignores_times() {
    let s = Scratch::new();
    let ctx = s.extract(&sample()).unwrap();
    let before = (
        digest_of(&ctx, "src"),
        digest_of(&ctx, ""),
        digest_of(&ctx, "run.sh"),
    );
    assert_eq!(digest_of(&ctx, "src"), before.0, "the same call twice");
    assert_eq!(digest_of(&ctx, "./src/"), before.0);
    assert_eq!(digest_of(&ctx, "src/../src"), before.0);
    let file = fs::File::options()
        .write(true)
        .open(ctx.path().join("src/main.rs"))
        .unwrap();
    file.set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    let dir = ctx.path().join("src");
    fs::File::open(&dir)
        .unwrap()
        .set_modified(std::time::SystemTime::UNIX_EPOCH)
        .unwrap();
    assert_eq!(
        (
            digest_of(&ctx, "src"),
            digest_of(&ctx, ""),
            digest_of(&ctx, "run.sh")
        ),
        before
    );
}

#[test]
fn checksum_changes_with_content_metadata_and_names() {
    let s = Scratch::new();
    let ctx = s.extract(&sample()).unwrap();
    let root = ctx.path();
    let mut seen = vec![digest_of(&ctx, "src")];
    let mut changed = |what: &str| {
        let d = digest_of(&ctx, "src");
        assert!(!seen.contains(&d), "{what} did not change the digest");
        seen.push(d);
    };
    // Both names of the hardlinked file see the new content.
    fs::write(root.join("src/main.rs"), b"fn main() { }\n").unwrap();
    changed("content");
    fs::set_permissions(root.join("src/main.rs"), fs::Permissions::from_mode(0o600)).unwrap();
    changed("mode");
    std::os::unix::fs::lchown(root.join("src/main.rs"), Some(1), Some(1)).unwrap();
    changed("owner");
    fs::rename(root.join("src/main-again.rs"), root.join("src/other.rs")).unwrap();
    changed("rename");
    fs::write(root.join("src/new.rs"), b"").unwrap();
    changed("new file");
    fs::create_dir(root.join("src/empty")).unwrap();
    changed("new directory");
    fs::remove_file(root.join("src/lib.rs")).unwrap();
    std::os::unix::fs::symlink("../other", root.join("src/lib.rs")).unwrap();
    changed("symlink target");
    fs::set_permissions(root.join("src"), fs::Permissions::from_mode(0o700)).unwrap();
    changed("directory mode");
    xattr_set(&root.join("src/new.rs"), "user.berth", b"1");
    changed("xattr");

    // Outside the path: no change.
    let src = digest_of(&ctx, "src");
    fs::write(root.join("run.sh"), b"changed").unwrap();
    assert_eq!(digest_of(&ctx, "src"), src);

    // The same bytes as a file of another mode or owner, or under another name in a
    // directory, differ; a lone file's digest does not depend on its own name.
    fs::write(root.join("a"), b"same").unwrap();
    fs::write(root.join("b"), b"same").unwrap();
    assert_eq!(digest_of(&ctx, "a"), digest_of(&ctx, "b"));
    fs::create_dir(root.join("da")).unwrap();
    fs::create_dir(root.join("db")).unwrap();
    fs::write(root.join("da/x"), b"same").unwrap();
    fs::write(root.join("db/y"), b"same").unwrap();
    assert_ne!(digest_of(&ctx, "da"), digest_of(&ctx, "db"));
}

fn xattr_set(path: &Path, key: &str, value: &[u8]) {
    let path = CString::new(path.as_os_str().as_bytes()).unwrap();
    let key = CString::new(key).unwrap();
    // SAFETY: NUL-terminated strings; the value pointer and length describe a slice.
    let ret = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            key.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(ret, 0, "{}", io::Error::last_os_error());
}

#[test]
fn checksum_symlinks_stay_inside_and_follow_only_when_asked() {
    let s = Scratch::new();
    let tar = Tar::default()
        .dir("real/")
        .file("real/f", b"data")
        .link(EntryType::Symlink, "link", "real")
        .link(EntryType::Symlink, "up", "../../../real")
        .link(EntryType::Symlink, "root", "/")
        .link(EntryType::Symlink, "loop", "loop")
        .add(Entry {
            kind: EntryType::Fifo,
            name: "real/pipe",
            ..Entry::default()
        })
        .finish();
    let ctx = s.extract(&tar).unwrap();
    let follow = ChecksumOptions {
        follow_final_symlink: true,
        ..ChecksumOptions::default()
    };
    let sum = |path: &str, opts: &ChecksumOptions<'_>| checksum(ctx.root(), Path::new(path), opts);
    let real = digest_of(&ctx, "real");
    assert_ne!(digest_of(&ctx, "link"), real, "the link itself");
    assert_eq!(sum("link", &follow).unwrap(), real);
    assert_eq!(
        digest_of(&ctx, "link/"),
        real,
        "a trailing slash means the directory"
    );
    // `..` above the root stays at the root.
    assert_eq!(sum("up", &follow).unwrap(), real);
    assert_eq!(digest_of(&ctx, "root/real"), real);
    assert_eq!(digest_of(&ctx, "link/f"), digest_of(&ctx, "real/f"));
    // The host's files are out of reach.
    let err = sum("root/etc/passwd", &follow).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = sum("loop", &follow).unwrap_err();
    assert!(err.to_string().contains("loop"), "{err}");
    digest_of(&ctx, "loop");
}

#[test]
fn checksum_selection() {
    let s = Scratch::new();
    let tar = Tar::default()
        .dir("src/")
        .file("src/keep.rs", b"1")
        .file("src/skip.log", b"2")
        .dir("src/logs/")
        .file("src/logs/a.log", b"3")
        .file("src/logs/keep.rs", b"4")
        .finish();
    let ctx = s.extract(&tar).unwrap();
    let root = ctx.path();
    // `*.log` left out, and `logs` looked into only for what an exception may bring back.
    let select = |p: &Path| {
        let p = p.to_str().unwrap();
        if p == "logs" {
            Selection::Descend
        } else if p.ends_with(".log") {
            Selection::Exclude
        } else {
            Selection::Include
        }
    };
    let opts = ChecksumOptions {
        select: Some(&select),
        ..ChecksumOptions::default()
    };
    let sum = || checksum(ctx.root(), Path::new("src"), &opts).unwrap();
    let first = sum();
    assert_ne!(first, digest_of(&ctx, "src"));
    fs::write(root.join("src/skip.log"), b"changed").unwrap();
    fs::write(root.join("src/logs/a.log"), b"changed").unwrap();
    assert_eq!(sum(), first, "excluded files do not count");
    fs::write(root.join("src/logs/keep.rs"), b"changed").unwrap();
    let second = sum();
    assert_ne!(
        second, first,
        "included files below a descended directory count"
    );
    // With nothing counted below it, a descended directory does not count either.
    fs::remove_file(root.join("src/logs/keep.rs")).unwrap();
    let without = sum();
    fs::set_permissions(root.join("src/logs"), fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(sum(), without);
    fs::remove_dir_all(root.join("src/logs")).unwrap();
    assert_eq!(sum(), without);
}
