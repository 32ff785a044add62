//! Reading extended attributes of a path without following a final symlink.

use std::ffi::{CStr, CString};
use std::io;

/// Names of the xattrs of `path` (`llistxattr`).
pub fn list(path: &CStr) -> io::Result<Vec<CString>> {
    // SAFETY: NUL-terminated path; the buffer pointer and length describe our own Vec.
    let names = read_sized(|buf| unsafe {
        libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    })?;
    Ok(names
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .filter_map(|n| CString::new(n).ok())
        .collect())
}

/// Value of xattr `key` on `path` (`lgetxattr`), `None` if it is not set.
pub fn get(path: &CStr, key: &CStr) -> io::Result<Option<Vec<u8>>> {
    // SAFETY: NUL-terminated strings; the buffer pointer and length describe our own Vec.
    match read_sized(|buf| unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            key.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    }) {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.raw_os_error() == Some(libc::ENODATA) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a size-then-fill xattr syscall result into a buffer, growing it if the value changed
/// size between the two calls.
fn read_sized(mut call: impl FnMut(&mut [u8]) -> isize) -> io::Result<Vec<u8>> {
    loop {
        let size = call(&mut []);
        if size < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; size.unsigned_abs()];
        let got = call(&mut buf);
        if got >= 0 {
            buf.truncate(got.unsigned_abs());
            return Ok(buf);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ERANGE) {
            return Err(err);
        }
    }
}
