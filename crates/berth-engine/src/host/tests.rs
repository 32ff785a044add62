use super::{caps, kernel, memory};

#[test]
fn cap_bnd_is_read_as_hex() {
    let status = "Name:\tberthd\nCapEff:\t0000000000000000\nCapBnd:\t000001ffffffffff\n";
    assert_eq!(caps::parse_cap_bnd(status), Some(0x1ff_ffff_ffff));
    assert_eq!(caps::parse_cap_bnd("Name:\tx\n"), None);
}

#[test]
fn mem_total_is_read_in_kib() {
    let meminfo = "MemTotal:       16303912 kB\nMemFree:         1234 kB\n";
    assert_eq!(memory::parse_mem_total(meminfo), Some(16_303_912));
    assert_eq!(memory::parse_mem_total("MemFree: 1 kB\n"), None);
}

#[test]
fn kernel_release_gives_major_and_minor() {
    assert_eq!(kernel::parse_release("6.8.0-45-generic"), Some((6, 8)));
    assert_eq!(kernel::parse_release("5.15"), Some((5, 15)));
    assert_eq!(kernel::parse_release("unknown"), None);
}
