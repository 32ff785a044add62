use std::io;

use oci_spec::runtime::{
    Capability, LinuxDeviceType, LinuxNamespaceType, LinuxSeccompAction, Mount, PosixRlimitType,
    Process,
};

use super::*;
use crate::model::{ModelError, ProcMount, Seccomp};
use crate::spec::caps::to_oci;
use crate::spec::resources::{HostFileInfo, HostFileKind};
use crate::spec::{docker_user_mounts, CreateOptions, HostConfig, DEFAULT_CAPABILITIES};

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// A host with /dev/null, /dev/fuse, /dev/sda and /dev/pts/0 (which privileged must skip).
struct FakeDevices;

impl HostDevices for FakeDevices {
    fn stat(&self, path: &Path) -> io::Result<HostFileInfo> {
        let dev = |kind, major, minor| HostFileInfo {
            kind,
            mode: 0o666,
            uid: 0,
            gid: 0,
            major,
            minor,
        };
        Ok(match path.to_str().unwrap_or("") {
            "/dev" | "/dev/pts" => dev(HostFileKind::Directory, 0, 0),
            "/dev/null" => dev(HostFileKind::CharDevice, 1, 3),
            "/dev/fuse" => dev(HostFileKind::CharDevice, 10, 229),
            "/dev/sda" => dev(HostFileKind::BlockDevice, 8, 0),
            "/dev/pts/0" => dev(HostFileKind::CharDevice, 136, 0),
            "/etc/passwd" => dev(HostFileKind::Other, 0, 0),
            _ => return Err(io::ErrorKind::NotFound.into()),
        })
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(match path.to_str().unwrap_or("") {
            "/dev" => ["/dev/null", "/dev/fuse", "/dev/sda", "/dev/pts"]
                .map(PathBuf::from)
                .to_vec(),
            "/dev/pts" => vec![PathBuf::from("/dev/pts/0")],
            _ => return Err(io::ErrorKind::NotFound.into()),
        })
    }
}

fn ctx() -> SpecContext<'static> {
    SpecContext {
        id: ContainerId::new(ID).unwrap(),
        rootfs: "/var/lib/berth/rootfs/x".into(),
        user: ResolvedUser {
            uid: 0,
            gid: 0,
            additional_gids: vec![0, 0, 1, 2, 3, 4, 6, 10, 11, 20, 26, 27],
        },
        hosts_path: Some("/run/berth/x/hosts".into()),
        resolv_conf_path: Some("/run/berth/x/resolv.conf".into()),
        hostname_path: Some("/run/berth/x/hostname".into()),
        join: JoinNamespaces::default(),
        shm_path: None,
        init_path: Some("/usr/libexec/berth/docker-init".into()),
        init_by_default: false,
        host_hostname: "buildhost".into(),
        cgroup_v2: true,
        host_cpus: 4,
        seccomp_host: SeccompHost {
            arch: "amd64",
            kernel: Some((6, 1)),
        },
        devices: &FakeDevices,
        host_capabilities: None,
        linked_env: Vec::new(),
    }
}

fn alpine() -> ImageConfig {
    ImageConfig {
        env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
        cmd: Some(vec!["/bin/sh".into()]),
        ..Default::default()
    }
}

/// The spec builder as create and start run it: on the model of the same body.
fn build(
    opts: &CreateOptions,
    image: &ImageConfig,
    ctx: &SpecContext<'_>,
) -> Result<BuiltSpec, ModelError> {
    let model = ContainerSpec::from_docker(opts, "web")?;
    let user = docker_user_mounts(opts, image)?;
    Ok(build_spec(&model, image, ctx, user)?)
}

fn run(host: HostConfig) -> Result<BuiltSpec, ModelError> {
    build(
        &CreateOptions {
            image: "alpine".into(),
            host_config: host,
            ..Default::default()
        },
        &alpine(),
        &ctx(),
    )
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn mount_table(spec: &Spec) -> Vec<(String, String, String, Vec<String>)> {
    spec.mounts()
        .iter()
        .flatten()
        .map(|m| {
            (
                m.destination().display().to_string(),
                m.typ().clone().unwrap_or_default(),
                m.source()
                    .as_ref()
                    .map(|s| s.display().to_string())
                    .unwrap_or_default(),
                m.options().clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn find_mount<'s>(spec: &'s Spec, dest: &str) -> Option<&'s Mount> {
    spec.mounts()
        .iter()
        .flatten()
        .find(|m| m.destination() == Path::new(dest))
}

fn ns_types(spec: &Spec) -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
    linux(spec)
        .namespaces()
        .iter()
        .flatten()
        .map(|n| (n.typ(), n.path().clone()))
        .collect()
}

fn linux(spec: &Spec) -> &oci_spec::runtime::Linux {
    spec.linux().as_ref().unwrap()
}

fn process(spec: &Spec) -> &Process {
    spec.process().as_ref().unwrap()
}

fn allowed(spec: &Spec, syscall: &str) -> bool {
    linux(spec)
        .seccomp()
        .as_ref()
        .unwrap()
        .syscalls()
        .iter()
        .flatten()
        .any(|r| {
            r.action() == LinuxSeccompAction::ScmpActAllow
                && r.args().is_none()
                && r.names().iter().any(|n| n == syscall)
        })
}

/// `docker run alpine`: the shape of dockerd's config.json.
#[test]
fn plain_docker_run() {
    let b = run(HostConfig::default()).unwrap();
    let s = &b.spec;
    let p = process(s);
    assert_eq!(p.args().as_deref(), Some(&strs(&["/bin/sh"])[..]));
    assert_eq!(
        p.env().as_deref(),
        Some(
            &strs(&[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=0123456789ab"
            ])[..]
        )
    );
    assert_eq!(p.cwd(), Path::new("/"));
    assert_eq!(p.terminal(), Some(false));
    assert_eq!(p.user().additional_gids().as_ref().unwrap().len(), 12);
    assert_eq!(p.oom_score_adj(), Some(0));
    assert_eq!(p.rlimits(), &None);
    assert_eq!(p.no_new_privileges(), None);
    let caps = p.capabilities().as_ref().unwrap();
    let want = to_oci(&DEFAULT_CAPABILITIES);
    assert_eq!(caps.bounding().as_ref(), Some(&want));
    assert_eq!(caps.effective().as_ref(), Some(&want));
    assert_eq!(caps.permitted().as_ref(), Some(&want));
    assert_eq!(caps.inheritable(), &None);
    assert_eq!(s.hostname().as_deref(), Some("0123456789ab"));
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(false));

    let m = mount_table(s);
    let want: Vec<(&str, &str, &str, &[&str])> = vec![
        ("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        (
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        (
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        (
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        (
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        (
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        (
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"],
        ),
        (
            "/etc/resolv.conf",
            "bind",
            "/run/berth/x/resolv.conf",
            &["rbind", "rprivate"],
        ),
        (
            "/etc/hostname",
            "bind",
            "/run/berth/x/hostname",
            &["rbind", "rprivate"],
        ),
        (
            "/etc/hosts",
            "bind",
            "/run/berth/x/hosts",
            &["rbind", "rprivate"],
        ),
    ];
    let want: Vec<_> = want
        .into_iter()
        .map(|(d, t, s, o)| (d.to_string(), t.to_string(), s.to_string(), strs(o)))
        .collect();
    assert_eq!(m, want);

    use LinuxNamespaceType::*;
    assert_eq!(
        ns_types(s),
        [Mount, Network, Uts, Pid, Ipc, Cgroup]
            .map(|t| (t, None))
            .to_vec()
    );
    let l = linux(s);
    assert_eq!(
        l.cgroups_path().as_deref(),
        Some(Path::new(&format!("/berth/{ID}")))
    );
    assert_eq!(l.masked_paths().as_ref().unwrap().len(), 11);
    assert_eq!(l.readonly_paths().as_ref().unwrap().len(), 5);
    assert_eq!(l.devices(), &None);
    let sysctl = l.sysctl().as_ref().unwrap();
    assert_eq!(sysctl["net.ipv4.ping_group_range"], "0 2147483647");
    let res = l.resources().as_ref().unwrap();
    let rules = res.devices().as_ref().unwrap();
    assert_eq!(rules.len(), 8);
    assert!(!rules[0].allow() && rules[0].typ().is_none());
    assert_eq!(
        (rules[7].major(), rules[7].minor(), rules[7].allow()),
        (Some(10), Some(229), false)
    );
    assert_eq!(
        res.memory().as_ref().unwrap().disable_oom_killer(),
        Some(false)
    );
    assert_eq!(res.cpu(), &None);
    assert_eq!(res.pids(), &None);
    assert_eq!(res.block_io().as_ref().unwrap().weight(), Some(0));
    let seccomp = l.seccomp().as_ref().unwrap();
    assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert!(!allowed(s, "mount") && allowed(s, "read"));
    assert!(b.volume_requests.is_empty());
}

/// `docker run -it --read-only -v /srv:/data:ro -v cache:/cache --tmpfs /run:size=8m
///  -w /app -e A=1 --init --shm-size 1g --cgroup-parent /ci -h web alpine top`
#[test]
fn interactive_read_only_with_mounts_and_init() {
    let opts = CreateOptions {
        image: "alpine".into(),
        cmd: Some(strs(&["top"])),
        tty: true,
        open_stdin: true,
        env: strs(&["A=1"]),
        working_dir: "/app".into(),
        hostname: "web".into(),
        domainname: "example.org".into(),
        volumes: [("/var/lib/data".to_string(), Default::default())].into(),
        host_config: HostConfig {
            readonly_rootfs: true,
            binds: strs(&["/srv:/data:ro", "cache:/cache"]),
            tmpfs: [("/run".to_string(), "size=8m".to_string())].into(),
            init: Some(true),
            shm_size: 1 << 30,
            cgroup_parent: "/ci".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let b = build(&opts, &alpine(), &ctx()).unwrap();
    let s = &b.spec;
    let p = process(s);
    assert_eq!(
        p.args().as_deref(),
        Some(&strs(&["/sbin/docker-init", "--", "top"])[..])
    );
    assert_eq!(p.terminal(), Some(true));
    assert_eq!(p.cwd(), Path::new("/app"));
    assert_eq!(
        p.env().as_deref(),
        Some(
            &strs(&[
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=web",
                "TERM=xterm",
                "A=1"
            ])[..]
        )
    );
    assert_eq!(s.hostname().as_deref(), Some("web"));
    assert_eq!(s.domainname().as_deref(), Some("example.org"));
    assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
    let init = find_mount(s, "/sbin/docker-init").unwrap();
    assert_eq!(init.options().as_deref(), Some(&strs(&["bind", "ro"])[..]));
    assert_eq!(
        find_mount(s, "/dev/shm")
            .unwrap()
            .options()
            .as_ref()
            .unwrap()
            .last(),
        Some(&"size=1073741824".to_string())
    );
    assert_eq!(
        find_mount(s, "/data").unwrap().options().as_deref(),
        Some(&strs(&["rbind", "ro", "rprivate"])[..])
    );
    assert_eq!(
        find_mount(s, "/etc/hosts").unwrap().options().as_deref(),
        Some(&strs(&["rbind", "ro", "rprivate"])[..]),
        "read-only rootfs makes the generated files read-only"
    );
    assert_eq!(
        find_mount(s, "/run").unwrap().options().as_deref(),
        Some(&strs(&["noexec", "nosuid", "nodev", "rprivate", "size=8m"])[..])
    );
    assert!(find_mount(s, "/dev/mqueue")
        .unwrap()
        .options()
        .iter()
        .flatten()
        .all(|o| o != "ro"));
    assert_eq!(
        linux(s).cgroups_path().as_deref(),
        Some(Path::new(&format!("/ci/{ID}")))
    );
    let vols: Vec<(Option<&str>, &Path)> = b
        .volume_requests
        .iter()
        .map(|v| (v.name.as_deref(), v.destination.as_path()))
        .collect();
    assert_eq!(
        vols,
        [
            (Some("cache"), Path::new("/cache")),
            (None, Path::new("/var/lib/data"))
        ]
    );

    // The engine resolves volumes afterwards; they land among the user mounts by depth.
    let mut b = b;
    let reqs = b.volume_requests.clone();
    b.mount_volume(&reqs[1], Path::new("/var/lib/berth/volumes/anon/_data"));
    b.mount_volume(&reqs[0], Path::new("/var/lib/berth/volumes/cache/_data"));
    let dests: Vec<String> = mount_table(&b.spec).into_iter().map(|m| m.0).collect();
    let user_part = &dests[dests.iter().position(|d| d == "/sbin/docker-init").unwrap() + 1..];
    assert_eq!(
        user_part,
        strs(&[
            "/data",
            "/run",
            "/cache",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts",
            "/var/lib/data"
        ])
    );
    assert_eq!(
        find_mount(&b.spec, "/cache").unwrap().options().as_deref(),
        Some(&strs(&["rbind"])[..])
    );
}

#[test]
fn privileged() {
    let b = run(HostConfig {
        privileged: true,
        devices: vec![super::super::options::DeviceMapping {
            path_on_host: "/dev/fuse".into(),
            path_in_container: "/dev/myfuse".into(),
            cgroup_permissions: "r".into(),
        }],
        ..Default::default()
    })
    .unwrap();
    let s = &b.spec;
    let caps = process(s).capabilities().as_ref().unwrap();
    assert_eq!(caps.bounding().as_ref().unwrap().len(), 41);
    assert!(caps
        .effective()
        .as_ref()
        .unwrap()
        .contains(&Capability::SysAdmin));
    let l = linux(s);
    assert!(l.seccomp().is_none());
    assert!(l.masked_paths().is_none() && l.readonly_paths().is_none());
    assert!(find_mount(s, "/sys")
        .unwrap()
        .options()
        .iter()
        .flatten()
        .all(|o| o != "ro"));
    assert!(find_mount(s, "/sys/fs/cgroup")
        .unwrap()
        .options()
        .iter()
        .flatten()
        .all(|o| o != "ro"));
    let devs: Vec<String> = l
        .devices()
        .iter()
        .flatten()
        .map(|d| d.path().display().to_string())
        .collect();
    assert_eq!(devs, ["/dev/fuse", "/dev/null", "/dev/sda", "/dev/myfuse"]);
    let rules = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
    assert_eq!(rules.len(), 1);
    assert!(rules[0].allow() && rules[0].typ().is_none());
}

/// `docker run --privileged --security-opt systempaths=unconfined` is how the CLI sends it.
#[test]
fn masked_paths_override() {
    let b = run(HostConfig {
        masked_paths: Some(vec![]),
        readonly_paths: Some(vec!["/proc/sys".into()]),
        ..Default::default()
    })
    .unwrap();
    let l = linux(&b.spec);
    assert_eq!(l.masked_paths().as_deref(), Some(&[][..]));
    assert_eq!(
        l.readonly_paths().as_deref(),
        Some(&strs(&["/proc/sys"])[..])
    );
}

#[test]
fn host_namespaces() {
    let b = run(HostConfig {
        network_mode: "host".into(),
        pid_mode: "host".into(),
        ipc_mode: "host".into(),
        uts_mode: "host".into(),
        cgroupns_mode: "host".into(),
        init: Some(true),
        ..Default::default()
    })
    .unwrap();
    let s = &b.spec;
    assert_eq!(ns_types(s), [(LinuxNamespaceType::Mount, None)]);
    assert_eq!(s.hostname(), &None);
    assert!(
        process(s)
            .env()
            .iter()
            .flatten()
            .any(|e| e == "HOSTNAME=buildhost"),
        "host networking takes the host's name"
    );
    assert_eq!(
        process(s).args().as_deref(),
        Some(&strs(&["/bin/sh"])[..]),
        "no init in the host pid namespace"
    );
    let shm = find_mount(s, "/dev/shm").unwrap();
    assert_eq!(shm.source().as_deref(), Some(Path::new("/dev/shm")));
    assert_eq!(shm.typ().as_deref(), Some("bind"));
    assert!(
        linux(s).sysctl().is_none(),
        "no net sysctls in the host netns"
    );
}

#[test]
fn joined_namespaces() {
    let mut c = ctx();
    c.join = JoinNamespaces {
        net: Some("/proc/42/ns/net".into()),
        ipc: Some("/proc/42/ns/ipc".into()),
        pid: Some("/proc/42/ns/pid".into()),
        ..Default::default()
    };
    c.shm_path = Some("/var/lib/berth/containers/other/shm".into());
    let opts = CreateOptions {
        host_config: HostConfig {
            network_mode: "container:other".into(),
            ipc_mode: "container:other".into(),
            pid_mode: "container:other".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let b = build(&opts, &alpine(), &c).unwrap();
    let ns = ns_types(&b.spec);
    assert!(ns.contains(&(LinuxNamespaceType::Network, Some("/proc/42/ns/net".into()))));
    assert!(ns.contains(&(LinuxNamespaceType::Pid, Some("/proc/42/ns/pid".into()))));
    assert!(ns.contains(&(LinuxNamespaceType::Ipc, Some("/proc/42/ns/ipc".into()))));
    assert_eq!(
        find_mount(&b.spec, "/dev/shm").unwrap().source().as_deref(),
        Some(Path::new("/var/lib/berth/containers/other/shm"))
    );
    // Without the paths the engine forgot to resolve the other container.
    let err = build(&opts, &alpine(), &ctx()).unwrap_err();
    assert!(matches!(
        err,
        ModelError::Spec(SpecError::MissingNamespacePath { .. })
    ));
}

#[test]
fn ipc_none_has_no_shm() {
    let b = run(HostConfig {
        ipc_mode: "none".into(),
        ..Default::default()
    })
    .unwrap();
    assert!(find_mount(&b.spec, "/dev/shm").is_none());
    assert!(ns_types(&b.spec).contains(&(LinuxNamespaceType::Ipc, None)));
}

#[test]
fn capabilities_change_the_seccomp_profile() {
    let b = run(HostConfig {
        cap_add: strs(&["sys_admin"]),
        cap_drop: strs(&["CAP_NET_RAW"]),
        ..Default::default()
    })
    .unwrap();
    let caps = process(&b.spec).capabilities().as_ref().unwrap();
    let bounding = caps.bounding().as_ref().unwrap();
    assert!(bounding.contains(&Capability::SysAdmin) && !bounding.contains(&Capability::NetRaw));
    assert!(allowed(&b.spec, "mount") && allowed(&b.spec, "unshare"));
}

#[test]
fn security_opts() {
    let b = run(HostConfig {
        security_opt: strs(&[
            "seccomp=unconfined",
            "no-new-privileges",
            "apparmor=unconfined",
        ]),
        ..Default::default()
    })
    .unwrap();
    assert!(linux(&b.spec).seccomp().is_none());
    assert_eq!(process(&b.spec).no_new_privileges(), Some(true));

    let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let b = run(HostConfig {
        security_opt: vec![
            format!("seccomp={profile}"),
            "no-new-privileges:false".into(),
        ],
        ..Default::default()
    })
    .unwrap();
    let sc = linux(&b.spec).seccomp().as_ref().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(sc.syscalls().as_ref().unwrap().len(), 1);
    assert_eq!(process(&b.spec).no_new_privileges(), None);

    for bad in ["no-new-privileges=maybe", "bogus=1", "seccomp={"] {
        assert!(
            run(HostConfig {
                security_opt: strs(&[bad]),
                ..Default::default()
            })
            .is_err(),
            "{bad}"
        );
    }
}

/// What the CRI asks that Docker cannot: a host profile file and an unmasked /proc.
#[test]
fn localhost_seccomp_and_unmasked_proc() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("profile.json");
    std::fs::write(
        &file,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let opts = CreateOptions {
        image: "alpine".into(),
        ..Default::default()
    };
    let mut model = ContainerSpec::from_docker(&opts, "web").unwrap();
    model.security.seccomp = Seccomp::Localhost(file);
    model.security.proc_mount = ProcMount::Unmasked;
    let b = build_spec(&model, &alpine(), &ctx(), UserMounts::default()).unwrap();
    let sc = linux(&b.spec).seccomp().as_ref().unwrap();
    assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert!(linux(&b.spec).masked_paths().is_none());
    assert!(linux(&b.spec).readonly_paths().is_none());

    model.security.seccomp = Seccomp::Localhost(dir.path().join("missing.json"));
    let err = build_spec(&model, &alpine(), &ctx(), UserMounts::default()).unwrap_err();
    assert!(matches!(err, SpecError::ReadSeccompProfile { .. }), "{err}");
}

/// `docker run --memory 64m --cpus 1.5 --pids-limit 100 --ulimit nofile=1024:2048
///  --oom-score-adj 500 --sysctl net.core.somaxconn=1024`
#[test]
fn resources_and_limits() {
    let b = run(HostConfig {
        memory: 64 << 20,
        nano_cpus: 1_500_000_000,
        pids_limit: Some(100),
        ulimits: vec![super::super::options::Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 2048,
        }],
        oom_score_adj: 500,
        sysctls: [("net.core.somaxconn".to_string(), "1024".to_string())].into(),
        ..Default::default()
    })
    .unwrap();
    let res = linux(&b.spec).resources().as_ref().unwrap();
    let mem = res.memory().as_ref().unwrap();
    assert_eq!((mem.limit(), mem.swap()), (Some(64 << 20), Some(128 << 20)));
    let cpu = res.cpu().as_ref().unwrap();
    assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
    assert_eq!(res.pids().as_ref().unwrap().limit(), 100);
    let p = process(&b.spec);
    let r = &p.rlimits().as_ref().unwrap()[0];
    assert_eq!(
        (r.typ(), r.soft(), r.hard()),
        (PosixRlimitType::RlimitNofile, 1024, 2048)
    );
    assert_eq!(p.oom_score_adj(), Some(500));
    assert_eq!(
        linux(&b.spec).sysctl().as_ref().unwrap()["net.core.somaxconn"],
        "1024"
    );
}

/// `docker run --cpus 8` on a host with 4: the conversion takes it, the spec refuses it.
#[test]
fn cpus_beyond_the_host_are_refused() {
    let err = run(HostConfig {
        nano_cpus: 8_000_000_000,
        ..Default::default()
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            ModelError::Spec(SpecError::InvalidValue {
                option: "NanoCpus",
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn devices_and_cgroup_rules() {
    let b = run(HostConfig {
        devices: vec![super::super::options::DeviceMapping {
            path_on_host: "/dev/fuse".into(),
            path_in_container: String::new(),
            cgroup_permissions: "rw".into(),
        }],
        device_cgroup_rules: strs(&["c 188:* rwm"]),
        ..Default::default()
    })
    .unwrap();
    let l = linux(&b.spec);
    let d = &l.devices().as_ref().unwrap()[0];
    assert_eq!(
        (
            d.path().as_path(),
            d.typ(),
            d.major(),
            d.minor(),
            d.file_mode()
        ),
        (
            Path::new("/dev/fuse"),
            LinuxDeviceType::C,
            10,
            229,
            Some(0o666)
        )
    );
    let rules = l.resources().as_ref().unwrap().devices().as_ref().unwrap();
    let tail: Vec<_> = rules[8..]
        .iter()
        .map(|r| (r.major(), r.minor(), r.access().clone().unwrap()))
        .collect();
    assert_eq!(
        tail,
        [
            (Some(10), Some(229), "rw".to_string()),
            (Some(188), None, "rwm".to_string())
        ]
    );
    let missing = run(HostConfig {
        devices: vec![super::super::options::DeviceMapping {
            path_on_host: "/dev/nope".into(),
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(missing.kind(), berth_types::ErrorKind::NotFound);
    let not_dev = run(HostConfig {
        devices: vec![super::super::options::DeviceMapping {
            path_on_host: "/etc/passwd".into(),
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(
        not_dev,
        ModelError::Spec(SpecError::NotADevice(_))
    ));
}

#[test]
fn invalid_requests_name_the_option() {
    let cases: Vec<(HostConfig, &str)> = vec![
        (
            HostConfig {
                cap_add: strs(&["WIZARD"]),
                ..Default::default()
            },
            "unknown capability",
        ),
        (
            HostConfig {
                binds: strs(&["/a:b"]),
                ..Default::default()
            },
            "not an absolute path",
        ),
        (
            HostConfig {
                binds: strs(&["/a:/x", "/b:/x"]),
                ..Default::default()
            },
            "duplicate mount point",
        ),
        (
            HostConfig {
                memory: 64 << 20,
                memory_swap: 1 << 20,
                ..Default::default()
            },
            "MemorySwap",
        ),
        (
            HostConfig {
                oom_score_adj: 2000,
                ..Default::default()
            },
            "OomScoreAdj",
        ),
        (
            HostConfig {
                pid_mode: "bogus".into(),
                ..Default::default()
            },
            "PidMode",
        ),
        (
            HostConfig {
                restart_policy: super::super::options::RestartPolicy {
                    name: "always".into(),
                    maximum_retry_count: 3,
                },
                ..Default::default()
            },
            "MaximumRetryCount",
        ),
        (
            HostConfig {
                auto_remove: true,
                restart_policy: super::super::options::RestartPolicy {
                    name: "always".into(),
                    maximum_retry_count: 0,
                },
                ..Default::default()
            },
            "AutoRemove",
        ),
        (
            HostConfig {
                log_config: super::super::options::LogConfig {
                    driver: "json-file".into(),
                    config: [("max-size".to_string(), "lots".to_string())].into(),
                },
                ..Default::default()
            },
            "max-size",
        ),
        (
            HostConfig {
                cgroup_parent: "../escape".into(),
                ..Default::default()
            },
            "CgroupParent",
        ),
        (
            HostConfig {
                shm_size: -1,
                ..Default::default()
            },
            "ShmSize",
        ),
    ];
    for (host, needle) in cases {
        let err = run(host).unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
        assert_eq!(err.kind(), berth_types::ErrorKind::InvalidArgument);
    }
    let relative_wd = CreateOptions {
        working_dir: "app".into(),
        ..Default::default()
    };
    assert!(build(&relative_wd, &alpine(), &ctx())
        .unwrap_err()
        .to_string()
        .contains("WorkingDir"));
    let mut no_init = ctx();
    no_init.init_path = None;
    let init = CreateOptions {
        host_config: HostConfig {
            init: Some(true),
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        build(&init, &alpine(), &no_init),
        Err(ModelError::Spec(SpecError::InitUnavailable))
    ));
    assert!(matches!(
        build(&CreateOptions::default(), &ImageConfig::default(), &ctx()),
        Err(ModelError::Spec(SpecError::NoCommand))
    ));
}

/// `-v /host/dev:/dev` replaces the default /dev and everything dockerd mounts below it.
#[test]
fn user_dev_replaces_default_dev_mounts() {
    let b = run(HostConfig {
        binds: strs(&["/host/dev:/dev"]),
        ..Default::default()
    })
    .unwrap();
    let dests: Vec<String> = mount_table(&b.spec).into_iter().map(|m| m.0).collect();
    assert_eq!(
        dests,
        strs(&[
            "/proc",
            "/sys",
            "/sys/fs/cgroup",
            "/dev",
            "/etc/resolv.conf",
            "/etc/hostname",
            "/etc/hosts"
        ])
    );
}

#[test]
fn cgroup_v1_keeps_the_host_cgroup_namespace() {
    let mut c = ctx();
    c.cgroup_v2 = false;
    let b = build(&CreateOptions::default(), &alpine(), &c).unwrap();
    assert!(!ns_types(&b.spec)
        .iter()
        .any(|(t, _)| *t == LinuxNamespaceType::Cgroup));
}

/// The spec serializes to the config.json field names the runtime reads.
#[test]
fn serializes_like_config_json() {
    let b = run(HostConfig::default()).unwrap();
    let json = serde_json::to_value(&b.spec).unwrap();
    assert_eq!(json["process"]["user"]["uid"], 0);
    assert_eq!(json["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
    assert_eq!(json["linux"]["seccomp"]["defaultErrnoRet"], 1);
    assert_eq!(json["linux"]["namespaces"][0]["type"], "mount");
    assert_eq!(json["mounts"][2]["options"][4], "mode=0620");
    assert_eq!(json["root"]["path"], "/var/lib/berth/rootfs/x");
}

#[test]
fn block_io_limits_name_the_host_devices() {
    use crate::spec::{ThrottleDevice, WeightDevice};
    let throttle = |path: &str, rate| ThrottleDevice {
        path: path.into(),
        rate,
    };
    let b = run(HostConfig {
        blkio_weight: 300,
        blkio_weight_device: vec![WeightDevice {
            path: "/dev/sda".into(),
            weight: 200,
        }],
        blkio_device_read_bps: vec![throttle("/dev/sda", 1 << 20)],
        blkio_device_write_bps: vec![throttle("/dev/sda", 2 << 20)],
        blkio_device_read_iops: vec![throttle("/dev/sda", 100)],
        blkio_device_write_iops: vec![throttle("/dev/sda", 200)],
        ..Default::default()
    })
    .unwrap();
    let io = linux(&b.spec)
        .resources()
        .as_ref()
        .unwrap()
        .block_io()
        .clone()
        .unwrap();
    assert_eq!(io.weight(), Some(300));
    let w = &io.weight_device().as_ref().unwrap()[0];
    assert_eq!((w.major(), w.minor(), w.weight()), (8, 0, Some(200)));
    let rates = |list: &Option<Vec<oci_spec::runtime::LinuxThrottleDevice>>| {
        list.iter()
            .flatten()
            .map(|t| (t.major(), t.minor(), t.rate()))
            .collect::<Vec<_>>()
    };
    assert_eq!(rates(io.throttle_read_bps_device()), [(8, 0, 1 << 20)]);
    assert_eq!(rates(io.throttle_write_bps_device()), [(8, 0, 2 << 20)]);
    assert_eq!(rates(io.throttle_read_iops_device()), [(8, 0, 100)]);
    assert_eq!(rates(io.throttle_write_iops_device()), [(8, 0, 200)]);

    let refused = |h: HostConfig| run(h).unwrap_err().to_string();
    let char_dev = refused(HostConfig {
        blkio_device_read_bps: vec![throttle("/dev/null", 1)],
        ..Default::default()
    });
    assert!(
        char_dev.contains("/dev/null is not a block device"),
        "{char_dev}"
    );
    let missing = refused(HostConfig {
        blkio_device_write_iops: vec![throttle("/dev/nope", 1)],
        ..Default::default()
    });
    assert!(missing.contains("/dev/nope"), "{missing}");
    let weight = refused(HostConfig {
        blkio_weight_device: vec![WeightDevice {
            path: "/dev/sda".into(),
            weight: 5,
        }],
        ..Default::default()
    });
    assert!(weight.contains("BlkioWeightDevice"), "{weight}");
}

/// A pod's container as the CRI makes it: the pod's namespaces joined, its own mount namespace,
/// typed binds from the model.
#[test]
fn pod_container_joins_the_pods_namespaces_and_binds_from_the_model() {
    use crate::model::{
        IpcMode, MountKind, MountRequest, NetworkMode, Owner, PidMode, Propagation, UtsMode,
    };
    let mut model = ContainerSpec {
        owner: Owner::Pod("a".repeat(64).parse().unwrap()),
        ..Default::default()
    };
    model.network.mode = NetworkMode::Pod("a".repeat(64).parse().unwrap());
    model.namespaces.ipc = IpcMode::Pod;
    model.namespaces.uts = UtsMode::Pod;
    model.namespaces.pid = PidMode::Pod;
    model.namespaces.user = Some(crate::model::UserNamespace::default());
    model.storage.mounts.push(MountRequest {
        target: "/data".into(),
        readonly: true,
        kind: MountKind::Bind {
            source: "/srv/data".into(),
            propagation: Propagation::Rslave,
            recursive: true,
            recursive_readonly: false,
            create_host_path: true,
            idmap: None,
        },
    });
    let mapped = crate::model::IdMapping {
        container_id: 0,
        host_id: 100_000,
        size: 65536,
    };
    model.storage.mounts.push(MountRequest {
        target: "/mapped".into(),
        readonly: false,
        kind: MountKind::Bind {
            source: "/srv/mapped".into(),
            propagation: Propagation::Rprivate,
            recursive: true,
            recursive_readonly: false,
            create_host_path: true,
            idmap: Some(crate::model::UserNamespace {
                uid_mappings: vec![mapped],
                gid_mappings: vec![mapped],
            }),
        },
    });
    let mut c = ctx();
    c.join = JoinNamespaces {
        net: Some("/run/berth/pods/p/netns".into()),
        ipc: Some("/proc/7/ns/ipc".into()),
        pid: Some("/proc/7/ns/pid".into()),
        uts: Some("/proc/7/ns/uts".into()),
        user: Some("/proc/7/ns/user".into()),
    };
    let user = crate::spec::model_user_mounts(&model.storage, &[]).unwrap();
    let b = build_spec(&model, &alpine(), &c, user).unwrap();
    let ns = ns_types(&b.spec);
    for (kind, path) in [
        (LinuxNamespaceType::Network, "/run/berth/pods/p/netns"),
        (LinuxNamespaceType::Ipc, "/proc/7/ns/ipc"),
        (LinuxNamespaceType::Pid, "/proc/7/ns/pid"),
        (LinuxNamespaceType::Uts, "/proc/7/ns/uts"),
        (LinuxNamespaceType::User, "/proc/7/ns/user"),
    ] {
        assert!(
            ns.contains(&(kind, Some(path.into()))),
            "{kind:?} in {ns:?}"
        );
    }
    assert!(ns.contains(&(LinuxNamespaceType::Mount, None)));
    // Pause's user namespace has the mappings: a joining container gives none.
    let linux = b.spec.linux().as_ref().unwrap();
    assert_eq!(linux.uid_mappings(), &None);
    // The pod's UTS namespace has the pod's hostname already.
    assert_eq!(b.spec.hostname(), &None);
    let data = find_mount(&b.spec, "/data").unwrap();
    assert_eq!(data.source().as_deref(), Some(Path::new("/srv/data")));
    assert_eq!(
        data.options().clone().unwrap(),
        vec!["rbind".to_string(), "ro".into(), "rslave".into()]
    );
    // The CRI's id-mapped host path: the runtime-spec's mount mappings and `ridmap`.
    let m = find_mount(&b.spec, "/mapped").unwrap();
    assert_eq!(
        m.options().clone().unwrap(),
        vec!["rbind".to_string(), "rprivate".into(), "ridmap".into()]
    );
    let uid = m.uid_mappings().clone().unwrap();
    assert_eq!(
        (uid[0].container_id(), uid[0].host_id(), uid[0].size()),
        (0, 100_000, 65536)
    );
    assert_eq!(m.gid_mappings().as_ref().map(Vec::len), Some(1));
    assert_eq!(
        b.bind_sources,
        vec![
            (PathBuf::from("/srv/data"), true),
            (PathBuf::from("/srv/mapped"), true)
        ]
    );
    // Without the pod's paths the engine forgot to look the pod up.
    let err = build_spec(&model, &alpine(), &ctx(), Default::default()).unwrap_err();
    assert!(matches!(err, SpecError::MissingNamespacePath { .. }));
}

#[test]
fn recursive_read_only_bind_gets_rro_and_needs_ro_rbind_private() {
    use crate::model::{MountKind, MountRequest, Propagation, Storage};
    let storage = |readonly, recursive, propagation| Storage {
        mounts: vec![MountRequest {
            target: "/ro".into(),
            readonly,
            kind: MountKind::Bind {
                source: "/srv".into(),
                propagation,
                recursive,
                recursive_readonly: true,
                create_host_path: false,
                idmap: None,
            },
        }],
        ..Default::default()
    };
    let out =
        crate::spec::model_user_mounts(&storage(true, true, Propagation::Rprivate), &[]).unwrap();
    assert_eq!(
        out.mounts[0].options().clone().unwrap(),
        ["rbind", "ro", "rro", "rprivate"]
    );
    // A plain `ro` instead would leave the submounts writable: refused, naming the target.
    for (readonly, recursive, propagation, reason) in [
        (false, true, Propagation::Rprivate, "read-only"),
        (true, false, Propagation::Rprivate, "recursive"),
        (true, true, Propagation::Rslave, "private propagation"),
    ] {
        let err = crate::spec::model_user_mounts(&storage(readonly, recursive, propagation), &[])
            .unwrap_err();
        assert!(
            matches!(err, SpecError::InvalidValue { ref value, .. } if value == "/ro"),
            "{err}"
        );
        assert!(err.to_string().contains(reason), "{err}");
    }
}

/// An image volume is a read-only, exec-able bind of where the engine mounted the image; one
/// asked writable is refused, naming its target.
#[test]
fn image_mounts_bind_their_source_read_only() {
    use crate::model::{MountKind, MountRequest, Storage};
    let storage = |readonly| Storage {
        mounts: vec![MountRequest {
            target: "/mnt/image".into(),
            readonly,
            kind: MountKind::Image {
                reference: "busybox".into(),
                subpath: Some("etc".into()),
            },
        }],
        ..Default::default()
    };
    let sources = [std::path::PathBuf::from("/run/b/image/0/etc")];
    let out = crate::spec::model_user_mounts(&storage(true), &sources).unwrap();
    let m = &out.mounts[0];
    assert_eq!(m.destination(), std::path::Path::new("/mnt/image"));
    assert_eq!(m.source().as_deref(), Some(sources[0].as_path()));
    assert_eq!(m.options().clone().unwrap(), ["rbind", "ro", "rprivate"]);
    assert_eq!(out.bind_sources, [(sources[0].clone(), false)]);
    let err = crate::spec::model_user_mounts(&storage(false), &sources).unwrap_err();
    assert!(
        matches!(err, SpecError::InvalidValue { ref value, .. } if value == "/mnt/image"),
        "{err}"
    );
    // The engine failed to say where the image is: an error, not a bind of nothing.
    assert!(crate::spec::model_user_mounts(&storage(true), &[]).is_err());
}

/// The CRI's hugepage limits and raw cgroup v2 files reach the spec, and the live update
/// carries them with memory and CPU.
#[test]
fn hugepages_and_unified_are_in_the_spec_and_the_live_update() {
    let mut model = ContainerSpec::default();
    model.resources.hugepages.insert("2MB".into(), 4 << 20);
    model
        .resources
        .unified
        .insert("memory.high".into(), "100000000".into());
    model.resources.memory.limit = Some(256 << 20);
    model.resources.cpu.quota = Some(50_000);
    model.resources.cpu.period = Some(100_000);
    let b = build_spec(&model, &alpine(), &ctx(), Default::default()).unwrap();
    let res = linux(&b.spec).resources().clone().unwrap();
    let live = crate::spec::live_resources(&model.resources);
    for r in [&res, &live] {
        let huge = r.hugepage_limits().clone().unwrap();
        assert_eq!(
            (huge[0].page_size().as_str(), huge[0].limit()),
            ("2MB", 4 << 20)
        );
        assert_eq!(
            r.unified()
                .as_ref()
                .unwrap()
                .get("memory.high")
                .map(String::as_str),
            Some("100000000")
        );
        assert_eq!(r.memory().as_ref().unwrap().limit(), Some(256 << 20));
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(50_000));
    }
    // Devices and block I/O are not a live update's business.
    assert!(live.devices().is_none() && live.block_io().is_none());
}
