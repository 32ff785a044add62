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
