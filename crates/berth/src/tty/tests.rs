use super::*;

#[test]
fn detach_keys_parse() {
    assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").ok(), Some(vec![16, 17]));
    assert_eq!(parse_detach_keys("ctrl-a,x").ok(), Some(vec![1, b'x']));
    assert!(parse_detach_keys("ctrl-").is_err());
    assert!(parse_detach_keys("shift-a").is_err());
}

#[test]
fn detach_filter_holds_and_releases_prefixes() {
    let mut f = DetachFilter::new(vec![16, 17]);
    assert_eq!(f.feed(b"ab"), Filtered::Forward(b"ab".to_vec()));
    // A lone ctrl-p is held back...
    assert_eq!(f.feed(&[16]), Filtered::Forward(vec![]));
    // ...and released when the next key is not ctrl-q.
    assert_eq!(f.feed(b"x"), Filtered::Forward(vec![16, b'x']));
    // ctrl-p ctrl-p ctrl-q: the first ctrl-p goes through, then detach.
    assert_eq!(
        f.feed(&[b'z', 16, 16, 17, b'y']),
        Filtered::Detach(vec![b'z', 16])
    );
    // Split across reads.
    assert_eq!(f.feed(&[16]), Filtered::Forward(vec![]));
    assert_eq!(f.feed(&[17]), Filtered::Detach(vec![]));
}
