use std::path::Path;

use super::{mount_points, unescape};

#[test]
fn fields_unescape() {
    assert_eq!(unescape(r"/a\040b\011c\134d"), "/a b\tc\\d");
    assert_eq!(unescape(r"/trailing\"), "/trailing\\");
}

#[test]
fn the_root_and_proc_are_mount_points() {
    let points = mount_points().unwrap();
    assert!(points.iter().any(|p| p == Path::new("/")), "{points:?}");
    assert!(points.iter().any(|p| p == Path::new("/proc")), "{points:?}");
}
