#![allow(clippy::unwrap_used)]
use std::io::Write as _;

use super::*;
use crate::output::{Cut, Fill, Output};

use Tag::{Full as F, Partial as P};

/// Feeds `chunks` through a pipe into an `Output` (one read per chunk, as the shim reads) and
/// returns the entries cut, with the eof flush at the end.
fn cut_all(chunks: &[&[u8]]) -> Vec<(Vec<u8>, Tag)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
    let mut w = std::fs::File::from(w);
    let mut out = Output::new(Stream::Stdout, r, Cut::Cri);
    let mut got = Vec::new();
    for chunk in chunks {
        w.write_all(chunk).unwrap();
        while let Fill::Data { .. } = out.fill() {
            out.split_cri(false, |c, t| got.push((c.to_vec(), t)));
        }
    }
    drop(w);
    assert!(matches!(out.fill(), Fill::Closed));
    out.split_cri(true, |c, t| got.push((c.to_vec(), t)));
    got
}

fn e(content: &[u8], tag: Tag) -> (Vec<u8>, Tag) {
    (content.to_vec(), tag)
}

#[test]
fn full_lines_drop_the_newline_and_empty_lines_stay() {
    assert_eq!(
        cut_all(&[b"a\n\nbb", b"b\n"]),
        vec![e(b"a", F), e(b"", F), e(b"bbb", F)]
    );
}

#[test]
fn crlf_ends_a_line_and_a_lone_cr_is_content() {
    // The `\r` of a `\r\n` split across two reads is still dropped (containerd unreads it).
    assert_eq!(
        cut_all(&[b"one\r\ntwo\r", b"\nthree\rx\n\r\n"]),
        vec![e(b"one", F), e(b"two", F), e(b"three\rx", F), e(b"", F)]
    );
    assert_eq!(cut_all(&[b"end\r"]), vec![e(b"end\r", P)]);
}

#[test]
fn unterminated_output_at_eof_is_partial() {
    assert_eq!(cut_all(&[b"x\ntail"]), vec![e(b"x", F), e(b"tail", P)]);
    assert_eq!(cut_all(&[b""]), vec![]);
}

#[test]
fn long_lines_are_cut_at_16k_of_content() {
    let tags = |got: Vec<(Vec<u8>, Tag)>| -> Vec<(usize, Tag)> {
        got.into_iter().map(|(c, t)| (c.len(), t)).collect()
    };
    let a = |n| vec![b'a'; n];
    // Exactly LINE_MAX of content is one full line, with `\n` or `\r\n`, even when the end
    // arrives in a later read.
    assert_eq!(tags(cut_all(&[&a(LINE_MAX), b"\n"])), vec![(LINE_MAX, F)]);
    assert_eq!(
        tags(cut_all(&[&a(LINE_MAX), b"\r", b"\n"])),
        vec![(LINE_MAX, F)]
    );
    // One byte more is a partial and a full line; a `\r` not followed by `\n` counts.
    assert_eq!(
        tags(cut_all(&[&a(LINE_MAX + 1), b"\n"])),
        vec![(LINE_MAX, P), (1, F)]
    );
    assert_eq!(cut_all(&[&a(LINE_MAX), b"\r", b"b\n"])[1..], [e(b"\rb", F)]);
    assert_eq!(
        tags(cut_all(&[&a(40_000), b"\nend\n"])),
        vec![
            (LINE_MAX, P),
            (LINE_MAX, P),
            (40_000 - 2 * LINE_MAX, F),
            (3, F)
        ]
    );
    // At EOF: whole pieces, then the rest, all partial.
    assert_eq!(
        tags(cut_all(&[&a(LINE_MAX + 5)])),
        vec![(LINE_MAX, P), (5, P)]
    );
    assert_eq!(cut_all(&[&a(LINE_MAX), b"\r"])[1..], [e(b"\r", P)]);
}

#[test]
fn utf8_split_across_reads_is_kept_as_bytes() {
    let euro = "€".as_bytes();
    assert_eq!(cut_all(&[&euro[..1], &euro[1..], b"\n"]), vec![e(euro, F)]);
    // Invalid UTF-8 is not replaced: the kubelet passes bytes through.
    assert_eq!(cut_all(&[b"\xff\xfe\n"]), vec![e(b"\xff\xfe", F)]);
}

#[test]
fn entries_are_containerds_lines() {
    let mut out = Vec::new();
    let t = Timestamp::from_parts(1_700_000_000, 5);
    encode_entry(&mut out, t, Stream::Stdout, F, b"hello world");
    encode_entry(&mut out, t, Stream::Stderr, P, b"");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "2023-11-14T22:13:20.000000005Z stdout F hello world\n\
         2023-11-14T22:13:20.000000005Z stderr P \n"
    );
}

/// One entry read back with the rules of cri-client's `parseCRILog` (what the kubelet and
/// `crictl logs` run): TIME up to the first space, STREAM `stdout`/`stderr`, TAG up to the next
/// space (only its first `:`-separated part counts), and the rest is the content, which keeps
/// its trailing `\n` on an `F` line and loses it on a `P` line.
fn parse_like_kubelet(line: &[u8]) -> (String, String, Vec<u8>) {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let time = String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
    let stream = String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
    let tag = parts.next().unwrap();
    let mut log = parts.next().unwrap().to_vec();
    assert!(
        stream == "stdout" || stream == "stderr",
        "stream {stream:?}"
    );
    assert!(is_rfc3339_nano(&time), "time {time:?}");
    if tag.split(|&b| b == b':').next() == Some(b"P") && log.last() == Some(&b'\n') {
        log.pop();
    }
    (time, stream, log)
}

/// The shape Go's `time.Parse("2006-01-02T15:04:05.999999999Z07:00")` accepts from us: a UTC
/// `Z` and 1 to 9 fraction digits without trailing zeros, or none.
fn is_rfc3339_nano(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let frac = &t[19..t.len() - 1];
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && t.ends_with('Z')
        && (frac.is_empty()
            || (frac.len() >= 2
                && frac.len() <= 10
                && frac.starts_with('.')
                && frac[1..].bytes().all(|c| c.is_ascii_digit())
                && !frac.ends_with('0')))
}

#[test]
fn the_kubelet_reassembles_interleaved_streams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    let mut log = CriLog::open(&path).unwrap();
    let (r1, w1) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
    let (r2, w2) = nix::unistd::pipe2(nix::fcntl::OFlag::O_NONBLOCK).unwrap();
    let mut outs = [
        (
            Output::new(Stream::Stdout, r1, Cut::Cri),
            std::fs::File::from(w1),
        ),
        (
            Output::new(Stream::Stderr, r2, Cut::Cri),
            std::fs::File::from(w2),
        ),
    ];
    // stdout's line is still open while stderr logs whole lines around it.
    let long = vec![b'o'; LINE_MAX + 10];
    let script: [(usize, &[u8]); 5] = [
        (0, b"out-start "),
        (1, b"err 1\n"),
        (0, &long),
        (1, b"err 2\r\n"),
        (0, b" out-end\nno newline"),
    ];
    for (i, bytes) in script {
        let (out, w) = &mut outs[i];
        let stream = out.stream;
        w.write_all(bytes).unwrap();
        while let Fill::Data { .. } = out.fill() {
            out.split_cri(false, |c, t| log.write(stream, c, t).unwrap());
        }
    }
    for (out, _) in &mut outs {
        let stream = out.stream;
        out.split_cri(true, |c, t| log.write(stream, c, t).unwrap());
    }
    let text = std::fs::read(&path).unwrap();
    assert!(text.ends_with(b"\n"));
    let mut joined: [Vec<u8>; 2] = Default::default();
    let mut stderr_lines = Vec::new();
    for line in text.split_inclusive(|&b| b == b'\n') {
        let (_, stream, content) = parse_like_kubelet(line);
        if stream == "stderr" {
            stderr_lines.push(content.clone());
        }
        joined[usize::from(stream == "stderr")].extend_from_slice(&content);
    }
    let mut want_out = b"out-start ".to_vec();
    want_out.extend_from_slice(&long);
    want_out.extend_from_slice(b" out-end\nno newline");
    assert_eq!(joined[0], want_out);
    assert_eq!(stderr_lines, [b"err 1\n".to_vec(), b"err 2\n".to_vec()]);
    // Created 0640 (less the umask), as containerd creates CRI logs.
    let mode = std::fs::metadata(&path).unwrap().permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o137, 0);
}

#[test]
fn reopen_continues_in_a_new_file_at_the_same_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("0.log");
    let rotated = dir.path().join("0.log.20240101-000000");
    let mut log = CriLog::open(&path).unwrap();
    log.write(Stream::Stdout, b"before", F).unwrap();
    std::fs::rename(&path, &rotated).unwrap();
    // Until the kubelet asks, entries still go to the renamed file, whole.
    log.write(Stream::Stdout, b"between", F).unwrap();
    log.reopen().unwrap();
    log.write(Stream::Stderr, b"after", F).unwrap();
    let lines = |p: &Path| -> Vec<(String, Vec<u8>)> {
        let text = std::fs::read(p).unwrap();
        text.split_inclusive(|&b| b == b'\n')
            .map(|l| {
                let (_, s, c) = parse_like_kubelet(l);
                (s, c)
            })
            .collect()
    };
    assert_eq!(
        lines(&rotated),
        [
            ("stdout".to_owned(), b"before\n".to_vec()),
            ("stdout".to_owned(), b"between\n".to_vec())
        ]
    );
    assert_eq!(lines(&path), [("stderr".to_owned(), b"after\n".to_vec())]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions();
    assert_eq!(mode(&path), mode(&rotated));
}
