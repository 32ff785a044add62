use super::*;

#[test]
fn accepts_runc_style_ids() {
    assert!(ContainerId::new("abc-123_x.y+z").is_ok());
}

#[test]
fn refuses_path_tricks_and_empty() {
    assert_eq!(ContainerId::new(""), Err(InvalidId::Empty));
    assert!(matches!(
        ContainerId::new(".."),
        Err(InvalidId::BadCharacters(_))
    ));
    assert!(matches!(
        ContainerId::new("a/b"),
        Err(InvalidId::BadCharacters(_))
    ));
    assert!(matches!(
        ContainerId::new(&"x".repeat(1025)),
        Err(InvalidId::TooLong(_))
    ));
}
