use super::*;

#[test]
fn paths_split_like_docker_cp() {
    assert_eq!(
        split(Path::new("/etc/passwd")),
        (vec![&b"etc"[..], b"passwd"], false)
    );
    assert_eq!(split(Path::new("/etc/.")), (vec![&b"etc"[..]], true));
    assert_eq!(split(Path::new("/")), (vec![], true));
    assert_eq!(base_name(Path::new("/etc/")), "etc");
    assert_eq!(base_name(Path::new("/")), "/");
}
