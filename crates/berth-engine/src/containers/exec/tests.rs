#![allow(clippy::unwrap_used)]
use std::path::Path;

use super::*;

#[test]
fn exec_process_merges_env_and_overrides() {
    let mut base = Process::default();
    base.set_env(Some(vec![
        "PATH=/bin".into(),
        "TERM=xterm".into(),
        "A=0".into(),
    ]));
    base.set_cwd("/".into());
    let cfg = ExecConfig {
        cmd: vec!["id".into()],
        env: vec!["A=1".into(), "B=2".into()],
        working_dir: "/tmp".into(),
        privileged: true,
        ..Default::default()
    };
    let user = crate::spec::ResolvedUser {
        uid: 65534,
        gid: 65534,
        additional_gids: vec![],
    };
    let p = exec_process(&base, &cfg, Some(user), None);
    assert_eq!(p.args().as_deref(), Some(&["id".to_string()][..]));
    assert_eq!(
        p.env().as_deref().unwrap(),
        &["PATH=/bin".to_string(), "A=1".into(), "B=2".into()]
    );
    assert_eq!(p.cwd(), Path::new("/tmp"));
    assert_eq!(p.user().uid(), 65534);
    assert_eq!(p.terminal(), Some(false));
    let caps = p.capabilities().as_ref().unwrap();
    let expected = crate::host::bounding_set().map_or(crate::spec::ALL_CAPABILITIES.len(), |b| {
        (0..crate::spec::ALL_CAPABILITIES.len())
            .filter(|bit| b & (1u64 << bit) != 0)
            .count()
    });
    assert_eq!(caps.bounding().as_ref().unwrap().len(), expected);
}

fn frame(stream: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![stream, 0, 0, 0];
    f.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    f.extend_from_slice(data);
    f
}

#[tokio::test]
async fn framed_output_splits_into_stdout_and_stderr() {
    let wire = [frame(1, b"out"), frame(2, b"err"), frame(1, b"")].concat();
    let mut reader = OutputReader::new(&wire[..], false);
    assert_eq!(
        reader.next().await.unwrap(),
        Some((OutputKind::Stdout, b"out".to_vec()))
    );
    assert_eq!(
        reader.next().await.unwrap(),
        Some((OutputKind::Stderr, b"err".to_vec()))
    );
    assert_eq!(
        reader.next().await.unwrap(),
        Some((OutputKind::Stdout, Vec::new()))
    );
    assert_eq!(reader.next().await.unwrap(), None);
}

#[tokio::test]
async fn a_frame_cut_short_is_an_error_not_a_short_chunk() {
    let mut wire = frame(1, b"abcdef");
    wire.truncate(10);
    let mut reader = OutputReader::new(&wire[..], false);
    assert!(reader.next().await.is_err());
}

#[tokio::test]
async fn terminal_output_is_raw_stdout() {
    let wire = b"\x01\x00 not a header".to_vec();
    let mut reader = OutputReader::new(&wire[..], true);
    assert_eq!(
        reader.next().await.unwrap(),
        Some((OutputKind::Stdout, wire.clone()))
    );
    assert_eq!(reader.next().await.unwrap(), None);
}

#[test]
fn capped_output_keeps_the_first_bytes_only() {
    let mut c = output::Capped::new(5);
    c.push(b"abc");
    c.push(b"defgh");
    c.push(b"ij");
    assert_eq!(c.bytes, b"abcde");
}
