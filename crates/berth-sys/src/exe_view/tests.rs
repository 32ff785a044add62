use std::os::fd::AsRawFd;

use super::*;

#[test]
fn a_view_shows_the_directory_read_only_and_lives_only_as_its_fd() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: mounting needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prog"), b"#!/bin/sh\n").unwrap();
    let view = read_only_view(dir.path(), scratch.path()).unwrap();
    let path = format!("/proc/self/fd/{}/prog", view.as_raw_fd());
    assert_eq!(std::fs::read(&path).unwrap(), b"#!/bin/sh\n");
    let err = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
    let vfs = nix::sys::statvfs::statvfs(path.as_str()).unwrap();
    assert!(vfs.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY));
    // Nothing in the mount table: the view is no one's to see but the fd's holder.
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !table.contains(&dir.path().display().to_string()),
        "{table}"
    );
}
