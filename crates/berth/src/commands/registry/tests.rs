use super::*;

#[test]
fn pulled_names_are_printed_fully_qualified() {
    assert_eq!(
        full_reference("busybox"),
        "docker.io/library/busybox:latest"
    );
    assert_eq!(full_reference("user/app:1"), "docker.io/user/app:1");
    assert_eq!(
        full_reference("127.0.0.1:5000/busybox"),
        "127.0.0.1:5000/busybox:latest"
    );
    let digest = format!("sha256:{}", "a".repeat(64));
    assert_eq!(
        full_reference(&format!("busybox@{digest}")),
        format!("docker.io/library/busybox@{digest}")
    );
}
