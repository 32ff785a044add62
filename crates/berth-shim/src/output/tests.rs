#![allow(clippy::unwrap_used)]
use super::*;
use std::io::Write;

/// Feeds `chunks` through a pipe and returns the logged (line, newline) pairs.
fn split_all(chunks: &[&[u8]]) -> Vec<(Vec<u8>, bool)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
    let mut w = std::fs::File::from(w);
    let mut out = Output::new(Stream::Stdout, r, Cut::Docker);
    let mut logged = Vec::new();
    for chunk in chunks {
        w.write_all(chunk).unwrap();
        while let Fill::Data { .. } = out.fill() {
            out.split(false, |l, nl, _| logged.push((l.to_vec(), nl)));
        }
    }
    drop(w);
    assert!(matches!(out.fill(), Fill::Closed));
    out.split(true, |l, nl, _| logged.push((l.to_vec(), nl)));
    logged
}

#[test]
fn splits_lines_and_keeps_partial_at_eof() {
    let got = split_all(&[b"a\nbb", b"b\n\nc"]);
    let want: Vec<(Vec<u8>, bool)> = vec![
        (b"a".to_vec(), true),
        (b"bbb".to_vec(), true),
        (b"".to_vec(), true),
        (b"c".to_vec(), false),
    ];
    assert_eq!(got, want);
}

#[test]
fn long_lines_become_16k_partials() {
    let long = vec![b'x'; 40_000];
    let got = split_all(&[&long, b"\nend\n"]);
    let lens: Vec<(usize, bool)> = got.iter().map(|(l, nl)| (l.len(), *nl)).collect();
    assert_eq!(
        lens,
        vec![(16_384, false), (16_384, false), (7_232, true), (3, true)]
    );
}

#[test]
fn partial_pieces_share_the_first_timestamp() {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
    let mut w = std::fs::File::from(w);
    let mut out = Output::new(Stream::Stdout, r, Cut::Docker);
    let mut times = Vec::new();
    w.write_all(&vec![b'y'; LINE_MAX]).unwrap();
    while let Fill::Data { .. } = out.fill() {
        out.split(false, |_, _, t| times.push(t));
    }
    std::thread::sleep(std::time::Duration::from_millis(2));
    w.write_all(b"tail\nnext\n").unwrap();
    while let Fill::Data { .. } = out.fill() {
        out.split(false, |_, _, t| times.push(t));
    }
    assert_eq!(times.len(), 3);
    assert_eq!(times[0], times[1]);
    assert_ne!(times[1], times[2]);
}
