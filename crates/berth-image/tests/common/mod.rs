//! Helpers shared by the integration tests: a raw tar writer that, unlike the tar crate's
//! builder, happily writes `..` names and other hostile input, and a sentinel directory that
//! must never change.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

/// Builds tar streams entry by entry, with any name.
#[derive(Default)]
pub struct RawTar {
    pub buf: Vec<u8>,
}

fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(len.to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn block_pad(buf: &mut Vec<u8>) {
    let pad = (512 - buf.len() % 512) % 512;
    buf.extend(std::iter::repeat_n(0u8, pad));
}

pub struct Spec<'a> {
    pub kind: EntryType,
    pub name: &'a [u8],
    pub link: &'a [u8],
    pub data: &'a [u8],
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub dev: (u32, u32),
    pub xattrs: &'a [(&'a str, &'a [u8])],
}

impl Default for Spec<'_> {
    fn default() -> Self {
        Self {
            kind: EntryType::Regular,
            name: b"",
            link: b"",
            data: b"",
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
            dev: (0, 0),
            xattrs: &[],
        }
    }
}

impl RawTar {
    pub fn add(&mut self, s: Spec<'_>) -> &mut Self {
        let mut pax = Vec::new();
        if s.name.len() > 100 {
            pax_record(&mut pax, b"path", s.name);
        }
        if s.link.len() > 100 {
            pax_record(&mut pax, b"linkpath", s.link);
        }
        for (k, v) in s.xattrs {
            pax_record(&mut pax, format!("SCHILY.xattr.{k}").as_bytes(), v);
        }
        if !pax.is_empty() {
            let mut h = Header::new_ustar();
            h.set_entry_type(EntryType::XHeader);
            h.set_size(pax.len() as u64);
            h.as_ustar_mut().unwrap().name[..9].copy_from_slice(b"PaxHeader");
            h.set_cksum();
            self.buf.extend_from_slice(h.as_bytes());
            self.buf.extend_from_slice(&pax);
            block_pad(&mut self.buf);
        }
        let mut h = Header::new_ustar();
        h.set_entry_type(s.kind);
        h.set_mode(s.mode);
        h.set_uid(s.uid);
        h.set_gid(s.gid);
        h.set_mtime(s.mtime);
        h.set_size(s.data.len() as u64);
        h.set_device_major(s.dev.0).unwrap();
        h.set_device_minor(s.dev.1).unwrap();
        let u = h.as_ustar_mut().unwrap();
        let n = s.name.len().min(100);
        u.name[..n].copy_from_slice(&s.name[..n]);
        let n = s.link.len().min(100);
        u.linkname[..n].copy_from_slice(&s.link[..n]);
        h.set_cksum();
        self.buf.extend_from_slice(h.as_bytes());
        self.buf.extend_from_slice(s.data);
        block_pad(&mut self.buf);
        self
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.add(Spec {
            name: name.as_bytes(),
            data,
            ..Spec::default()
        })
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.add(Spec {
            kind: EntryType::Directory,
            name: name.as_bytes(),
            mode: 0o755,
            ..Spec::default()
        })
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.add(Spec {
            kind: EntryType::Symlink,
            name: name.as_bytes(),
            link: target.as_bytes(),
            mode: 0o777,
            ..Spec::default()
        })
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.add(Spec {
            kind: EntryType::Link,
            name: name.as_bytes(),
            link: target.as_bytes(),
            ..Spec::default()
        })
    }

    /// The finished stream, with the two zero blocks that end an archive.
    pub fn finish(&self) -> Vec<u8> {
        let mut out = self.buf.clone();
        out.extend(std::iter::repeat_n(0u8, 1024));
        out
    }
}

/// A temp dir holding `dest` (unpack here) and `sentinel/canary` (must never change).
pub struct Arena {
    pub tmp: tempfile::TempDir,
    pub dest: PathBuf,
    pub sentinel: PathBuf,
}

impl Arena {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dest = tmp.path().join("dest");
        let sentinel = tmp.path().join("sentinel");
        fs::create_dir(&dest).unwrap();
        fs::create_dir(&sentinel).unwrap();
        fs::write(sentinel.join("canary"), b"safe").unwrap();
        Self {
            tmp,
            dest,
            sentinel,
        }
    }

    /// Absolute path of the sentinel as a string, for hostile names and link targets.
    pub fn sentinel_str(&self) -> String {
        self.sentinel.to_str().unwrap().to_string()
    }

    /// Panics if anything outside `dest` changed: the temp dir holds only `dest` and `sentinel`,
    /// the sentinel only `canary`, unchanged and not hard-linked from anywhere.
    pub fn assert_untouched(&self, context: &str) {
        let mut top: Vec<_> = fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        top.sort();
        assert_eq!(
            top,
            ["dest", "sentinel"],
            "{context}: files appeared beside dest"
        );
        let inside: Vec<_> = fs::read_dir(&self.sentinel)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(inside, ["canary"], "{context}: sentinel gained files");
        let canary = self.sentinel.join("canary");
        let md = fs::symlink_metadata(&canary).unwrap();
        assert!(md.is_file(), "{context}: canary replaced");
        assert_eq!(
            md.nlink(),
            1,
            "{context}: canary hard-linked from somewhere"
        );
        assert_eq!(md.mode() & 0o7777, 0o644, "{context}: canary mode changed");
        assert_eq!(
            fs::read(&canary).unwrap(),
            b"safe",
            "{context}: canary written"
        );
        // The tempdir itself and the sentinel dir must not have been chmod/chowned either.
        assert_eq!(fs::symlink_metadata(&self.sentinel).unwrap().uid(), 0);
    }
}

/// Everything about a tree that a layer should preserve, keyed by path relative to `root`.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), PathBuf> = BTreeMap::new();
    walk(root, root, &mut out, &mut inodes);
    out
}

fn walk(
    root: &Path,
    dir: &Path,
    out: &mut BTreeMap<PathBuf, String>,
    inodes: &mut BTreeMap<(u64, u64), PathBuf>,
) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let md = fs::symlink_metadata(&path).unwrap();
        let rel = path.strip_prefix(root).unwrap().to_path_buf();
        let ft = md.file_type();
        let mut desc = format!(
            "mode={:o} uid={} gid={} mtime={}",
            md.mode(),
            md.uid(),
            md.gid(),
            md.mtime()
        );
        if ft.is_file() {
            if md.nlink() > 1 {
                if let Some(first) = inodes.get(&(md.dev(), md.ino())) {
                    desc.push_str(&format!(" hardlink-of={}", first.display()));
                } else {
                    inodes.insert((md.dev(), md.ino()), rel.clone());
                }
            }
            desc.push_str(&format!(" data={:?}", fs::read(&path).unwrap()));
        } else if ft.is_symlink() {
            desc.push_str(&format!(" -> {:?}", fs::read_link(&path).unwrap()));
        } else if !ft.is_dir() {
            desc.push_str(&format!(" rdev={}", md.rdev()));
        }
        desc.push_str(&format!(" xattrs={:?}", xattrs(&path)));
        out.insert(rel, desc);
        if ft.is_dir() {
            walk(root, &path, out, inodes);
        }
    }
}

/// All xattrs of `path` (not following symlinks), sorted, SELinux labels left out.
pub fn xattrs(path: &Path) -> Vec<(String, Vec<u8>)> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let mut list = vec![0u8; 4096];
    // SAFETY: valid path and buffer.
    let n = unsafe { libc::llistxattr(c.as_ptr(), list.as_mut_ptr().cast(), list.len()) };
    assert!(n >= 0, "llistxattr {}", path.display());
    list.truncate(n as usize);
    let mut out = Vec::new();
    for key in list.split(|b| *b == 0).filter(|k| !k.is_empty()) {
        if key == b"security.selinux" {
            continue;
        }
        let k = std::ffi::CString::new(key).unwrap();
        let mut val = vec![0u8; 4096];
        // SAFETY: valid strings and buffer.
        let n =
            unsafe { libc::lgetxattr(c.as_ptr(), k.as_ptr(), val.as_mut_ptr().cast(), val.len()) };
        assert!(n >= 0);
        val.truncate(n as usize);
        out.push((String::from_utf8_lossy(key).into_owned(), val));
    }
    out.sort();
    out
}

pub fn set_xattr(path: &Path, key: &str, value: &[u8]) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let k = std::ffi::CString::new(key).unwrap();
    // SAFETY: valid strings and buffer.
    let r = unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            k.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "lsetxattr {key} on {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

pub fn mknod(path: &Path, kind: libc::mode_t, mode: libc::mode_t, major: u32, minor: u32) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid path.
    let r = unsafe { libc::mknod(c.as_ptr(), kind | mode, libc::makedev(major, minor)) };
    assert_eq!(
        r,
        0,
        "mknod {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
}

pub fn is_root() -> bool {
    // SAFETY: plain syscall.
    unsafe { libc::geteuid() == 0 }
}
