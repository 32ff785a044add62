//! The local terminal: raw mode (always restored: on drop, on error return and from the panic
//! hook, since release builds abort on panic), window size, and docker's detach keys.

use std::os::fd::BorrowedFd;
use std::sync::Mutex;

use anyhow::{bail, Context, Result};
use nix::sys::termios::{self, SetArg, Termios};

/// The settings to put back, whoever restores first.
static SAVED: Mutex<Option<(i32, Termios)>> = Mutex::new(None);

pub fn is_terminal(fd: i32) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(fd) == 1 }
}

/// Rows and columns of the terminal on `fd`.
pub fn size(fd: i32) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we pass.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Raw mode on stdin while alive.
#[derive(Debug)]
pub struct RawMode(());

impl RawMode {
    pub fn enable() -> Result<Self> {
        let fd = libc::STDIN_FILENO;
        // SAFETY: stdin stays open for the life of the process.
        let stdin = unsafe { BorrowedFd::borrow_raw(fd) };
        let original = termios::tcgetattr(stdin).context("read terminal settings")?;
        let mut raw = original.clone();
        termios::cfmakeraw(&mut raw);
        if let Ok(mut saved) = SAVED.lock() {
            saved.get_or_insert((fd, original));
        }
        termios::tcsetattr(stdin, SetArg::TCSANOW, &raw).context("set terminal raw mode")?;
        Ok(Self(()))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Puts the terminal back as it was before raw mode, if it was changed.
pub fn restore_terminal() {
    let saved = SAVED.lock().ok().and_then(|mut s| s.take());
    if let Some((fd, original)) = saved {
        // SAFETY: the descriptor saved is stdin, open for the life of the process.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let _ = termios::tcsetattr(borrowed, SetArg::TCSANOW, &original);
    }
}

/// Restores the terminal before the default panic message (and abort) happens.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

/// docker's default detach sequence.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// Parses docker's detach-keys syntax: comma-separated `ctrl-<c>` or single characters.
pub fn parse_detach_keys(spec: &str) -> Result<Vec<u8>> {
    let mut keys = Vec::new();
    for key in spec.split(',') {
        let key = key.trim();
        if let Some(c) = key.strip_prefix("ctrl-") {
            let b = match c.as_bytes() {
                [b] if b.is_ascii_alphabetic() => b.to_ascii_lowercase() - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => bail!("invalid detach keys {spec:?}: unknown key {key:?}"),
            };
            keys.push(b);
        } else if key.len() == 1 {
            keys.push(key.as_bytes()[0]);
        } else {
            bail!("invalid detach keys {spec:?}: unknown key {key:?}");
        }
    }
    if keys.is_empty() {
        bail!("invalid detach keys {spec:?}");
    }
    Ok(keys)
}

/// Watches the stdin byte stream for the detach sequence. Bytes that may start the sequence
/// are held back; if the sequence breaks they are passed on, as docker's escape proxy does.
#[derive(Debug)]
pub struct DetachFilter {
    keys: Vec<u8>,
    matched: usize,
}

/// What to do with a chunk of stdin.
#[derive(Debug, PartialEq, Eq)]
pub enum Filtered {
    Forward(Vec<u8>),
    /// The sequence was typed: stop, after forwarding these bytes (typed before it).
    Detach(Vec<u8>),
}

impl DetachFilter {
    pub fn new(keys: Vec<u8>) -> Self {
        Self { keys, matched: 0 }
    }

    pub fn feed(&mut self, input: &[u8]) -> Filtered {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    self.matched = 0;
                    return Filtered::Detach(out);
                }
            } else {
                out.extend_from_slice(&self.keys[..self.matched]);
                self.matched = 0;
                if b == self.keys[0] {
                    self.matched = 1;
                } else {
                    out.push(b);
                }
            }
        }
        Filtered::Forward(out)
    }
}

#[cfg(test)]
mod tests;
