use oci_spec::runtime::{LinuxHugepageLimitBuilder, LinuxRdmaBuilder};

use super::*;

#[test]
fn cpu_weight_matches_runc() {
    assert_eq!(cpu_weight(2), 1);
    assert_eq!(cpu_weight(1024), 39);
    assert_eq!(cpu_weight(262_144), 10_000);
    assert_eq!(cpu_weight(0), 1);
    assert_eq!(cpu_weight(1 << 40), 10_000);
}

#[test]
fn io_weight_matches_runc() {
    assert_eq!(io_weight(10), 1);
    assert_eq!(io_weight(500), 4950);
    assert_eq!(io_weight(1000), 10_000);
}

#[test]
fn swap_conversion() {
    assert_eq!(v2_swap(-1, None).unwrap(), -1);
    assert_eq!(v2_swap(300, Some(100)).unwrap(), 200);
    assert_eq!(v2_swap(100, Some(100)).unwrap(), 0);
    assert!(matches!(
        v2_swap(50, Some(100)),
        Err(Error::SwapBelowMemory { .. })
    ));
    assert!(matches!(v2_swap(50, None), Err(Error::SwapWithoutMemory)));
    assert!(matches!(
        v2_swap(50, Some(-1)),
        Err(Error::SwapWithoutMemory)
    ));
}

#[test]
fn limits() {
    assert_eq!(pids_max(0), "max");
    assert_eq!(pids_max(-1), "max");
    assert_eq!(pids_max(42), "42");
    assert_eq!(v2_limit(-1), "max");
    assert_eq!(v2_limit(4096), "4096");
    assert_eq!(set(Some(0i64)), None);
    assert_eq!(set(Some(-1i64)), Some(-1));
}

#[test]
fn page_sizes() {
    let limit = |s: &str| {
        LinuxHugepageLimitBuilder::default()
            .page_size(s)
            .limit(1)
            .build()
            .unwrap()
    };
    assert_eq!(page_size(&limit("2MB")).unwrap(), "2MB");
    assert_eq!(page_size(&limit("1GB")).unwrap(), "1GB");
    for bad in ["", "MB", "2", "2MB/../x", "2mb"] {
        assert!(page_size(&limit(bad)).is_err(), "{bad}");
    }
}

#[test]
fn rdma() {
    let rdma = HashMap::from([
        (
            "mlx5_0".to_owned(),
            LinuxRdmaBuilder::default()
                .hca_handles(2u32)
                .hca_objects(2000u32)
                .build()
                .unwrap(),
        ),
        ("empty".to_owned(), LinuxRdma::default()),
    ]);
    assert_eq!(
        rdma_lines(&rdma).unwrap(),
        ["mlx5_0 hca_handle=2 hca_object=2000"]
    );
    let bad = HashMap::from([("a b".to_owned(), LinuxRdma::default())]);
    assert!(rdma_lines(&bad).is_err());
}
