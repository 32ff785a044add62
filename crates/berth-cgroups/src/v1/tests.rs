use std::fs;

use oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceType, LinuxMemoryBuilder, LinuxPidsBuilder,
    LinuxResourcesBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
};
use tempfile::TempDir;

use super::*;
use crate::devices::tests::oci;

const MOUNTINFO: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 /docker/x /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio
37 31 0:33 / /mnt/again rw - cgroup cgroup rw,net_cls,net_prio
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/my\\040dir rw - cgroup cgroup rw,pids
";

#[test]
fn mountinfo_finds_each_hierarchy_once() {
    let mounts = parse_mountinfo(MOUNTINFO, Path::new("/sys/fs/cgroup"));
    let summary: Vec<_> = mounts
        .iter()
        .map(|m| (m.controllers.clone(), m.mountpoint.clone(), m.root.clone()))
        .collect();
    let p = |s: &str| PathBuf::from(s);
    assert_eq!(
        summary,
        [
            (
                vec![Controller::Cpu],
                p("/sys/fs/cgroup/cpu"),
                "/".to_owned()
            ),
            (
                vec![Controller::Cpuacct],
                p("/sys/fs/cgroup/cpuacct"),
                "/".to_owned()
            ),
            (
                vec![Controller::Memory],
                p("/sys/fs/cgroup/memory"),
                "/docker/x".to_owned()
            ),
            (
                vec![Controller::NetCls, Controller::NetPrio],
                p("/sys/fs/cgroup/net_cls,net_prio"),
                "/".to_owned()
            ),
            (
                vec![Controller::Systemd],
                p("/sys/fs/cgroup/systemd"),
                "/".to_owned()
            ),
            (
                vec![Controller::Pids],
                p("/sys/fs/cgroup/my dir"),
                "/".to_owned()
            ),
        ]
    );
    assert!(parse_mountinfo(MOUNTINFO, Path::new("/elsewhere")).is_empty());
}

#[test]
fn relative_paths_follow_own_cgroup_minus_mount_root() {
    let mounts = parse_mountinfo(MOUNTINFO, Path::new("/sys/fs/cgroup"));
    let own = OwnCgroups::from_content(
        "1:cpu:/user\n2:cpuacct:/user\n3:memory:/docker/x/inner\n4:net_cls,net_prio:/\n\
         5:name=systemd:/s\n6:pids:/p\n0::/\n",
    );
    let path = CgroupPath::parse(Some("ctr"), "id").unwrap();
    let m = V1Manager::with_mounts(mounts, &path, Some(&own)).unwrap();
    let p = |s: &str| PathBuf::from(s);
    assert_eq!(
        m.paths(),
        [
            p("/sys/fs/cgroup/cpu/user/ctr"),
            p("/sys/fs/cgroup/cpuacct/user/ctr"),
            p("/sys/fs/cgroup/memory/inner/ctr"),
            p("/sys/fs/cgroup/net_cls,net_prio/ctr"),
            p("/sys/fs/cgroup/systemd/s/ctr"),
            p("/sys/fs/cgroup/my dir/p/ctr"),
        ]
    );
}

/// A fake v1 tree with the given controllers, each in its own hierarchy.
struct Fake {
    tmp: TempDir,
    manager: V1Manager,
}

impl Fake {
    fn new(controllers: &[Controller]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mounts = controllers
            .iter()
            .map(|&c| {
                let mountpoint = tmp.path().join(c.name());
                fs::create_dir(&mountpoint).unwrap();
                Mount {
                    controllers: vec![c],
                    mountpoint,
                    root: "/".to_owned(),
                }
            })
            .collect();
        let path = CgroupPath::parse(None, "ctr").unwrap();
        let manager = V1Manager::with_mounts(mounts, &path, None).unwrap();
        Self { tmp, manager }
    }

    fn file(&self, c: Controller, name: &str) -> PathBuf {
        self.tmp.path().join(c.name()).join("ctr").join(name)
    }

    /// Creates the container dirs and the (empty) files a kernel would provide.
    fn with_files(self, files: &[(Controller, &str, &str)]) -> Self {
        for h in &self.manager.hierarchies {
            fs::create_dir_all(&h.dir).unwrap();
        }
        for (c, name, content) in files {
            fs::write(self.file(*c, name), content).unwrap();
        }
        self
    }

    fn read(&self, c: Controller, name: &str) -> String {
        fs::read_to_string(self.file(c, name)).unwrap()
    }
}

#[test]
fn create_copies_cpuset_from_parent() {
    let fake = Fake::new(&[Controller::Cpuset, Controller::Pids]);
    let root = fake.tmp.path().join("cpuset");
    fs::write(root.join("cpuset.cpus"), "0-3\n").unwrap();
    fs::write(root.join("cpuset.mems"), "0\n").unwrap();
    // mkdir on a fake tree creates no files, so pre-create the existing level's.
    let dir = root.join("ctr");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("cpuset.cpus"), "\n").unwrap();
    fs::write(dir.join("cpuset.mems"), "1\n").unwrap();
    fake.manager.create().unwrap();
    assert_eq!(fake.read(Controller::Cpuset, "cpuset.cpus"), "0-3");
    assert_eq!(fake.read(Controller::Cpuset, "cpuset.mems"), "1\n");
    assert!(fake.tmp.path().join("pids/ctr").is_dir());
}

#[test]
fn apply_writes_only_what_is_set() {
    let fake = Fake::new(&[Controller::Cpu, Controller::Pids, Controller::Memory]).with_files(&[
        (Controller::Cpu, "cpu.shares", ""),
        (Controller::Cpu, "cpu.cfs_quota_us", ""),
        (Controller::Cpu, "cpu.cfs_period_us", ""),
        (Controller::Pids, "pids.max", ""),
        (
            Controller::Memory,
            "memory.limit_in_bytes",
            "9223372036854771712\n",
        ),
        (
            Controller::Memory,
            "memory.memsw.limit_in_bytes",
            "9223372036854771712\n",
        ),
        (Controller::Memory, "memory.swappiness", ""),
    ]);
    let r = LinuxResourcesBuilder::default()
        .cpu(
            LinuxCpuBuilder::default()
                .shares(512u64)
                .quota(50_000i64)
                .period(100_000u64)
                .build()
                .unwrap(),
        )
        .pids(LinuxPidsBuilder::default().limit(0i64).build().unwrap())
        .memory(
            LinuxMemoryBuilder::default()
                .limit(1i64 << 20)
                .swap(2i64 << 20)
                .swappiness(10u64)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    fake.manager.apply(&r).unwrap();
    assert_eq!(fake.read(Controller::Cpu, "cpu.shares"), "512");
    assert_eq!(fake.read(Controller::Cpu, "cpu.cfs_quota_us"), "50000");
    assert_eq!(fake.read(Controller::Cpu, "cpu.cfs_period_us"), "100000");
    assert_eq!(fake.read(Controller::Pids, "pids.max"), "max");
    assert_eq!(
        fake.read(Controller::Memory, "memory.limit_in_bytes"),
        "1048576"
    );
    assert_eq!(
        fake.read(Controller::Memory, "memory.memsw.limit_in_bytes"),
        "2097152"
    );
    assert_eq!(fake.read(Controller::Memory, "memory.swappiness"), "10");
}

#[test]
fn swap_without_memsw_is_a_clear_error() {
    let fake = Fake::new(&[Controller::Memory]).with_files(&[(
        Controller::Memory,
        "memory.limit_in_bytes",
        "100\n",
    )]);
    let r = LinuxResourcesBuilder::default()
        .memory(
            LinuxMemoryBuilder::default()
                .swap(1i64 << 20)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert!(matches!(
        fake.manager.apply(&r),
        Err(Error::SwapAccountingDisabled { .. })
    ));
}

#[test]
fn unmounted_controllers_only_fail_when_requested() {
    let fake = Fake::new(&[Controller::Pids]).with_files(&[(Controller::Pids, "pids.max", "")]);
    let cpu_without_values = LinuxResourcesBuilder::default()
        .cpu(LinuxCpuBuilder::default().build().unwrap())
        .hugepage_limits(vec![])
        .build()
        .unwrap();
    fake.manager.apply(&cpu_without_values).unwrap();
    let hugetlb = LinuxResourcesBuilder::default()
        .hugepage_limits(vec![oci_spec::runtime::LinuxHugepageLimitBuilder::default(
        )
        .page_size("2MB")
        .limit(1i64 << 21)
        .build()
        .unwrap()])
        .build()
        .unwrap();
    assert!(matches!(
        fake.manager.apply(&hugetlb),
        Err(Error::ControllerUnavailable {
            controller: "hugetlb"
        })
    ));
    let unified = LinuxResourcesBuilder::default()
        .unified(std::collections::HashMap::from([(
            "memory.high".to_owned(),
            "1".to_owned(),
        )]))
        .build()
        .unwrap();
    assert!(matches!(
        fake.manager.apply(&unified),
        Err(Error::UnifiedOnV1)
    ));
}

#[test]
fn devices_are_written_in_order() {
    let fake = Fake::new(&[Controller::Devices]).with_files(&[
        (Controller::Devices, "devices.allow", ""),
        (Controller::Devices, "devices.deny", ""),
    ]);
    let r = LinuxResourcesBuilder::default()
        .devices(vec![
            oci(false, LinuxDeviceType::A, None, None, "rwm"),
            oci(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
            oci(true, LinuxDeviceType::A, Some(5), None, "r"),
            oci(false, LinuxDeviceType::C, Some(1), Some(3), "w"),
        ])
        .build()
        .unwrap();
    fake.manager.apply(&r).unwrap();
    assert_eq!(fake.read(Controller::Devices, "devices.deny"), "ac 1:3 w");
    assert_eq!(
        fake.read(Controller::Devices, "devices.allow"),
        "c 1:3 rwmb 5:* rc 5:* r"
    );
}

#[test]
fn blkio_uses_bfq_files_without_cfq() {
    let fake = Fake::new(&[Controller::Blkio]).with_files(&[
        (Controller::Blkio, "blkio.bfq.weight", ""),
        (Controller::Blkio, "blkio.bfq.weight_device", ""),
        (Controller::Blkio, "blkio.throttle.read_bps_device", ""),
    ]);
    let r = LinuxResourcesBuilder::default()
        .block_io(
            LinuxBlockIoBuilder::default()
                .weight(300u16)
                .weight_device(vec![LinuxWeightDeviceBuilder::default()
                    .major(8)
                    .minor(0)
                    .weight(200u16)
                    .build()
                    .unwrap()])
                .throttle_read_bps_device(vec![
                    LinuxThrottleDeviceBuilder::default()
                        .major(8)
                        .minor(0)
                        .rate(1000u64)
                        .build()
                        .unwrap(),
                    LinuxThrottleDeviceBuilder::default()
                        .major(8)
                        .minor(16)
                        .rate(2000u64)
                        .build()
                        .unwrap(),
                ])
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    fake.manager.apply(&r).unwrap();
    assert_eq!(fake.read(Controller::Blkio, "blkio.bfq.weight"), "300");
    assert_eq!(
        fake.read(Controller::Blkio, "blkio.bfq.weight_device"),
        "8:0 200"
    );
    assert_eq!(
        fake.read(Controller::Blkio, "blkio.throttle.read_bps_device"),
        "8:0 10008:16 2000"
    );
}

#[test]
fn stats_from_fake_files() {
    let fake =
        Fake::new(&[Controller::Cpuacct, Controller::Memory, Controller::Pids]).with_files(&[
            (Controller::Cpuacct, "cpuacct.usage", "300\n"),
            (Controller::Cpuacct, "cpuacct.usage_percpu", "100 200 \n"),
            (Controller::Cpuacct, "cpuacct.stat", "user 2\nsystem 1\n"),
            (Controller::Memory, "memory.usage_in_bytes", "4096\n"),
            (Controller::Memory, "memory.limit_in_bytes", "8192\n"),
            (Controller::Memory, "memory.max_usage_in_bytes", "5000\n"),
            (Controller::Memory, "memory.failcnt", "3\n"),
            (Controller::Memory, "memory.stat", "cache 10\nrss 20\n"),
            (
                Controller::Memory,
                "memory.oom_control",
                "oom_kill_disable 0\nunder_oom 0\n",
            ),
            (Controller::Pids, "pids.current", "2\n"),
            (Controller::Pids, "pids.max", "max\n"),
        ]);
    let stats = fake.manager.stats().unwrap();
    let cpu = stats.cpu.unwrap();
    assert_eq!(cpu.usage.total, 300);
    assert_eq!(cpu.usage.percpu, [100, 200]);
    assert_eq!((cpu.usage.user, cpu.usage.kernel), (20_000_000, 10_000_000));
    assert_eq!(cpu.throttling, None);
    let mem = stats.memory.unwrap();
    assert_eq!(
        mem.usage,
        MemoryEntry {
            limit: 8192,
            usage: 4096,
            max: 5000,
            failcnt: 3
        }
    );
    assert_eq!(mem.swap, None);
    assert_eq!(mem.cache, 10);
    assert_eq!(mem.raw.get("rss"), Some(&20));
    assert_eq!(
        stats.pids,
        Some(PidsStats {
            current: 2,
            limit: 0
        })
    );
    assert_eq!(stats.blkio, None);
    // No oom_kill line (old kernel): failcnt > 0 counts as one.
    assert_eq!(fake.manager.oom_kill_count().unwrap(), 1);
}

#[test]
fn self_placement_writes_zero_to_every_tasks_file() {
    let fake = Fake::new(&[Controller::Cpu, Controller::Pids]).with_files(&[
        (Controller::Cpu, "tasks", ""),
        (Controller::Pids, "tasks", ""),
    ]);
    let placement = crate::SelfPlacement(fake.manager.tasks_writers().unwrap());
    placement.join().unwrap();
    assert_eq!(fake.read(Controller::Cpu, "tasks"), "0");
    assert_eq!(fake.read(Controller::Pids, "tasks"), "0");
}

#[test]
fn self_placement_names_a_missing_tasks_file() {
    let fake = Fake::new(&[Controller::Cpu]).with_files(&[]);
    match fake.manager.tasks_writers() {
        Err(Error::FileMissing { path, .. }) => assert!(path.ends_with("ctr/tasks")),
        Err(other) => panic!("expected FileMissing, got {other:?}"),
        Ok(_) => panic!("expected FileMissing"),
    }
}
