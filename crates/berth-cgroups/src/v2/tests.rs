use std::collections::HashMap;
use std::fs;

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxResourcesBuilder,
    LinuxThrottleDeviceBuilder,
};
use tempfile::TempDir;

use super::*;

/// A fake unified tree: root with controllers, and the container directory "ctr".
struct Fake {
    tmp: TempDir,
    manager: V2Manager,
}

impl Fake {
    fn new(files: &[&str]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join("cgroup.controllers"),
            "cpu io memory pids\n",
        )
        .unwrap();
        fs::write(tmp.path().join("cgroup.subtree_control"), "memory\n").unwrap();
        let path = CgroupPath::parse(None, "ctr").unwrap();
        let manager = V2Manager::new(tmp.path(), &path).unwrap();
        fs::create_dir(tmp.path().join("ctr")).unwrap();
        for f in files {
            fs::write(tmp.path().join("ctr").join(f), "").unwrap();
        }
        Self { tmp, manager }
    }

    fn read(&self, file: &str) -> String {
        fs::read_to_string(self.tmp.path().join("ctr").join(file)).unwrap()
    }

    fn write(&self, file: &str, content: &str) {
        fs::write(self.tmp.path().join("ctr").join(file), content).unwrap();
    }
}

#[test]
fn detect_accepts_fake_tree() {
    let fake = Fake::new(&[]);
    assert_eq!(
        crate::detect(fake.tmp.path()).unwrap(),
        crate::CgroupVersion::V2
    );
    let m = crate::Manager::new(fake.tmp.path(), Some("/a/b"), "x").unwrap();
    assert_eq!(m.paths(), [fake.tmp.path().join("a/b")]);
    assert!(m.cgroup_dir_fd().is_none());
}

#[test]
fn create_enables_missing_controllers_in_ancestors() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
    fs::write(tmp.path().join("cgroup.subtree_control"), "memory\n").unwrap();
    let path = CgroupPath::parse(Some("/a"), "x").unwrap();
    let m = V2Manager::new(tmp.path(), &path).unwrap();
    m.create().unwrap();
    assert!(tmp.path().join("a").is_dir());
    assert_eq!(
        fs::read_to_string(tmp.path().join("cgroup.subtree_control")).unwrap(),
        "+cpu +pids"
    );
    // Already enabled: nothing is written.
    fs::write(
        tmp.path().join("cgroup.subtree_control"),
        "cpu memory pids\n",
    )
    .unwrap();
    m.create().unwrap();
    assert_eq!(
        fs::read_to_string(tmp.path().join("cgroup.subtree_control")).unwrap(),
        "cpu memory pids\n"
    );
    assert!(m.dir_fd().is_some());
}

#[test]
fn cpu_memory_pids_io_values() {
    let fake = Fake::new(&[
        "cpu.weight",
        "cpu.max",
        "memory.max",
        "memory.low",
        "memory.swap.max",
        "pids.max",
        "io.weight",
        "io.max",
    ]);
    let r = LinuxResourcesBuilder::default()
        .cpu(
            LinuxCpuBuilder::default()
                .shares(1024u64)
                .quota(-1i64)
                .period(100_000u64)
                .build()
                .unwrap(),
        )
        .memory(
            LinuxMemoryBuilder::default()
                .limit(100i64 << 20)
                .swap(300i64 << 20)
                .reservation(-1i64)
                .swappiness(60u64)
                .build()
                .unwrap(),
        )
        .pids(
            oci_spec::runtime::LinuxPidsBuilder::default()
                .limit(64i64)
                .build()
                .unwrap(),
        )
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(500u16)
                .throttle_read_bps_device(vec![LinuxThrottleDeviceBuilder::default()
                    .major(8)
                    .minor(0)
                    .rate(1000u64)
                    .build()
                    .unwrap()])
                .throttle_write_iops_device(vec![LinuxThrottleDeviceBuilder::default()
                    .major(8)
                    .minor(0)
                    .rate(50u64)
                    .build()
                    .unwrap()])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    fake.manager.apply(&r).unwrap();
    assert_eq!(fake.read("cpu.weight"), "39");
    assert_eq!(fake.read("cpu.max"), "max 100000");
    assert_eq!(fake.read("memory.max"), "104857600");
    assert_eq!(fake.read("memory.swap.max"), "209715200");
    assert_eq!(fake.read("memory.low"), "max");
    assert_eq!(fake.read("pids.max"), "64");
    assert_eq!(fake.read("io.weight"), "4950");
    assert_eq!(fake.read("io.max"), "8:0 rbps=10008:0 wiops=50");
}

#[test]
fn period_alone_keeps_quota() {
    let fake = Fake::new(&[]);
    fake.write("cpu.max", "50000 100000\n");
    let r = LinuxResourcesBuilder::default()
        .cpu(
            LinuxCpuBuilder::default()
                .period(20_000u64)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    fake.manager.apply(&r).unwrap();
    assert_eq!(fake.read("cpu.max"), "50000 20000");
}

#[test]
fn realtime_and_net_are_refused() {
    let fake = Fake::new(&[]);
    let rt = LinuxResourcesBuilder::default()
        .cpu(
            LinuxCpuBuilder::default()
                .realtime_runtime(1000i64)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(matches!(
        fake.manager.apply(&rt),
        Err(Error::UnsupportedOnV2 {
            controller: "cpu",
            ..
        })
    ));
    let net = LinuxResourcesBuilder::default()
        .network(
            oci_spec::runtime::LinuxNetworkBuilder::default()
                .class_id(1u32)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(matches!(
        fake.manager.apply(&net),
        Err(Error::UnsupportedOnV2 {
            controller: "net_cls",
            ..
        })
    ));
}

#[test]
fn unified_keys_are_checked() {
    let fake = Fake::new(&["memory.high"]);
    let apply = |k: &str| {
        let r = LinuxResourcesBuilder::default()
            .unified(HashMap::from([(k.to_owned(), "123".to_owned())]))
            .build()
            .unwrap();
        fake.manager.apply(&r)
    };
    apply("memory.high").unwrap();
    assert_eq!(fake.read("memory.high"), "123");
    assert!(matches!(
        apply("../cgroup.procs"),
        Err(Error::InvalidUnifiedKey { .. })
    ));
    assert!(matches!(
        apply("memory.nonexistent"),
        Err(Error::UnifiedKeyMissing { key, .. }) if key == "memory.nonexistent"
    ));
}

#[test]
fn freeze_waits_for_events() {
    let fake = Fake::new(&["cgroup.freeze"]);
    // The fake kernel reports "frozen" at once.
    fake.write("cgroup.events", "populated 1\nfrozen 1\n");
    fake.manager.freeze().unwrap();
    assert_eq!(fake.read("cgroup.freeze"), "1");
    assert!(fake.manager.is_frozen().unwrap());
    fake.manager.thaw().unwrap();
    assert_eq!(fake.read("cgroup.freeze"), "0");
}

#[test]
fn stats_and_oom_from_fake_files() {
    let fake = Fake::new(&[]);
    fake.write(
        "cpu.stat",
        "usage_usec 10\nuser_usec 6\nsystem_usec 4\nnr_periods 5\nnr_throttled 1\nthrottled_usec 2\n",
    );
    fake.write("memory.current", "4096\n");
    fake.write("memory.max", "max\n");
    fake.write("memory.stat", "anon 1\nfile 2\n");
    fake.write("memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 3\n");
    fake.write(
        "io.stat",
        "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n",
    );
    fake.write("hugetlb.2MB.current", "0\n");
    fake.write("hugetlb.2MB.rsvd.current", "0\n");
    let stats = fake.manager.stats().unwrap();
    let cpu = stats.cpu.unwrap();
    assert_eq!(
        (cpu.usage.total, cpu.usage.user, cpu.usage.kernel),
        (10_000, 6000, 4000)
    );
    assert_eq!(
        cpu.throttling,
        Some(Throttling {
            periods: 5,
            throttled_periods: 1,
            throttled_time: 2000
        })
    );
    let mem = stats.memory.unwrap();
    assert_eq!(
        (mem.usage.usage, mem.usage.limit, mem.usage.failcnt),
        (4096, u64::MAX, 7)
    );
    assert_eq!(mem.cache, 2);
    assert_eq!(stats.pids, None);
    let io = stats.blkio.unwrap();
    assert_eq!(io.io_service_bytes_recursive.len(), 3);
    assert_eq!(io.io_serviced_recursive[1].op, "Write");
    assert_eq!(io.io_serviced_recursive[1].value, 4);
    assert_eq!(stats.hugetlb.keys().collect::<Vec<_>>(), ["2MB"]);
    assert_eq!(fake.manager.oom_kill_count().unwrap(), 3);
}

/// CLONE_INTO_CGROUP skips the cpuset attach on some kernels: a cgroup with fewer CPUs or
/// memory nodes than the root gets no directory fd, so the caller writes cgroup.procs.
#[test]
fn clone_into_cgroup_only_without_a_narrower_cpuset() {
    let fake = Fake::new(&[]);
    assert!(fake.manager.dir_fd().is_some(), "no cpuset files: clone3");
    let root = |file: &str, v: &str| fs::write(fake.tmp.path().join(file), v).unwrap();
    root("cpuset.cpus.effective", "0-1\n");
    root("cpuset.mems.effective", "0\n");
    fake.write("cpuset.cpus.effective", "0-1\n");
    fake.write("cpuset.mems.effective", "0\n");
    assert!(fake.manager.dir_fd().is_some(), "same cpuset as the root");
    fake.write("cpuset.cpus.effective", "0\n");
    assert!(fake.manager.dir_fd().is_none(), "narrower CPUs");
    fake.write("cpuset.cpus.effective", "0-1\n");
    root("cpuset.mems.effective", "0-1\n");
    assert!(fake.manager.dir_fd().is_none(), "narrower memory nodes");
}

/// Exec goes to the container's cgroup unless the container delegated its controllers to
/// children; then to the init's cgroup, and only one below the container's.
#[test]
fn exec_joins_the_inits_cgroup_only_below_a_delegating_container_cgroup() {
    let dir = |m: &V2Manager| m.path().to_path_buf();
    let fake = Fake::new(&[]);
    let init = "0::/ctr/init.scope\n";
    let own = dir(&fake.manager);
    let same = |init: &str| {
        let path = CgroupPath::parse(None, "ctr").unwrap();
        dir(&V2Manager::new(fake.tmp.path(), &path)
            .unwrap()
            .for_exec(init))
    };
    assert_eq!(same(init), own, "no subtree_control file");
    fake.write("cgroup.subtree_control", "\n");
    assert_eq!(same(init), own, "nothing delegated");
    fake.write("cgroup.subtree_control", "pids memory\n");
    assert_eq!(same(init), own.join("init.scope"));
    assert_eq!(
        same("0::/elsewhere\n"),
        own,
        "not below the container's cgroup"
    );
    assert_eq!(same("0::/ctr\n"), own);
}
