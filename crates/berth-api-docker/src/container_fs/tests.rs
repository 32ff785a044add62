use super::*;

#[test]
fn file_modes_use_go_bits() {
    assert_eq!(go_file_mode(S_IFDIR | 0o755), (1 << 31) | 0o755);
    assert_eq!(go_file_mode(0o100_644), 0o644);
    assert_eq!(go_file_mode(S_IFLNK | 0o777), (1 << 27) | 0o777);
    assert_eq!(go_file_mode(0o100_000 | S_ISUID | 0o755), (1 << 23) | 0o755);
}
