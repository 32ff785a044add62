use super::*;

#[test]
fn names_follow_docker_rules() {
    assert_eq!(validate("/web-1").unwrap(), "web-1");
    assert!(validate("a").is_err());
    assert!(validate("-a").is_err());
    assert!(validate("a/b").is_err());
    let name = generate(|_| false);
    assert!(validate(&name).is_ok(), "{name}");
    let mut calls = 0;
    let name = generate(|_| {
        calls += 1;
        calls < 3
    });
    assert!(validate(&name).is_ok());
}
