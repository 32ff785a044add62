use super::*;

fn digest(seed: &str) -> Digest {
    Digest::sha256_from_bytes(&Sha256::digest(seed.as_bytes()).into())
}

#[test]
fn keys_change_with_the_parent_the_config_and_the_extras_only() {
    let config = RunConfig {
        cmd: Some(vec!["/bin/sh".into(), "-c".into(), "make".into()]),
        env: vec!["PATH=/bin".into()],
        ..RunConfig::default()
    };
    let base = key(&digest("a"), &config, &"none");
    assert_eq!(base, key(&digest("a"), &config.clone(), &"none"));
    assert_ne!(base, key(&digest("b"), &config, &"none"));
    assert_ne!(base, key(&digest("a"), &config, &"host"));
    let mut env = config.clone();
    env.env.push("A=1".into());
    assert_ne!(base, key(&digest("a"), &env, &"none"));
    let mut cmd = config;
    cmd.cmd = Some(vec!["/bin/sh".into(), "-c".into(), "make install".into()]);
    assert_ne!(base, key(&digest("a"), &cmd, &"none"));
}
