use serde_json::{json, Value};

use super::*;

/// A create body: `{"Image": "alpine", "HostConfig": host}` plus `top` fields.
fn body(top: Value, host: Value) -> CreateOptions {
    let mut b = json!({"Image": "alpine", "Cmd": ["sh"], "HostConfig": host});
    if let (Some(b), Some(top)) = (b.as_object_mut(), top.as_object()) {
        b.extend(top.clone());
    }
    serde_json::from_value(b).unwrap()
}

fn convert(top: Value, host: Value) -> Result<ContainerSpec, ModelError> {
    ContainerSpec::from_docker(&body(top, host), "web")
}

fn host(host: Value) -> ContainerSpec {
    convert(json!({}), host).unwrap()
}

/// `docker run -d --name web` with most of what the CLI can send, as it sends it.
const FULL_BODY: &str = r#"{
    "Hostname": "web1", "Domainname": "example.org", "User": "app:app",
    "AttachStdin": false, "AttachStdout": false, "AttachStderr": false,
    "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
    "Tty": true, "OpenStdin": true, "StdinOnce": false,
    "Env": ["MODE=prod", "DEBUG"], "Cmd": ["serve", "--port", "80"],
    "Healthcheck": {"Test": ["CMD-SHELL", "curl -f localhost"], "Interval": 30000000000,
                    "Timeout": 0, "StartPeriod": 0, "StartInterval": 0, "Retries": 3},
    "Image": "nginx:1.27", "Volumes": {"/cache": {}}, "WorkingDir": "/srv",
    "Entrypoint": ["/docker-entrypoint.sh"], "Labels": {"tier": "front"},
    "StopSignal": "SIGQUIT", "StopTimeout": 20,
    "HostConfig": {
        "Binds": ["/srv/www:/usr/share/nginx/html:ro", "logs:/var/log/nginx"],
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "10m", "max-file": "3",
                                                       "compress": "true"}},
        "NetworkMode": "backend",
        "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}],
                         "53/udp": [{"HostIp": "", "HostPort": "5300-5310"}]},
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5},
        "AutoRemove": false, "VolumeDriver": "", "VolumesFrom": ["data:ro"],
        "Mounts": [{"Type": "tmpfs", "Target": "/run/nginx",
                    "TmpfsOptions": {"SizeBytes": 67108864, "Mode": 1023}},
                   {"Type": "bind", "Source": "/etc/ssl", "Target": "/etc/ssl", "ReadOnly": true,
                    "BindOptions": {"Propagation": "rslave", "NonRecursive": true}}],
        "CapAdd": ["NET_ADMIN"], "CapDrop": ["mknod"], "CgroupnsMode": "private",
        "Dns": ["10.0.0.2"], "DnsOptions": ["ndots:2"], "DnsSearch": ["example.org"],
        "ExtraHosts": ["db:10.0.0.5", "gw=host-gateway"], "GroupAdd": ["audio"],
        "IpcMode": "shareable", "Cgroup": "", "Links": null, "OomScoreAdj": -500,
        "PidMode": "", "Privileged": false, "PublishAllPorts": true, "ReadonlyRootfs": true,
        "SecurityOpt": ["no-new-privileges", "apparmor=docker-nginx", "label=type:spc_t"],
        "Tmpfs": {"/tmp": "size=64m,exec"},
        "UTSMode": "", "UsernsMode": "", "ShmSize": 134217728, "ConsoleSize": [40, 120],
        "Sysctls": {"net.core.somaxconn": "1024"}, "Init": true,
        "Isolation": "", "CpuShares": 512, "Memory": 268435456, "NanoCpus": 1500000000,
        "CgroupParent": "/web", "BlkioWeight": 300,
        "BlkioWeightDevice": [{"Path": "/dev/sda", "Weight": 200}],
        "BlkioDeviceReadBps": [{"Path": "/dev/sda", "Rate": 1048576}],
        "CpuPeriod": 0, "CpuQuota": 0, "CpusetCpus": "0-1", "CpusetMems": "",
        "Devices": [{"PathOnHost": "/dev/fuse", "PathInContainer": "", "CgroupPermissions": ""}],
        "DeviceCgroupRules": ["c 10:229 rwm"], "DeviceRequests": null,
        "MemoryReservation": 134217728, "MemorySwap": -1, "MemorySwappiness": 0,
        "OomKillDisable": false, "PidsLimit": 200,
        "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 4096},
                    {"Name": "core", "Soft": -1, "Hard": -1}],
        "MaskedPaths": null, "ReadonlyPaths": null,
        "Annotations": {"io.example/owner": "team-a"}, "Runtime": "runc"
    },
    "NetworkingConfig": {"EndpointsConfig": {"backend": {
        "IPAMConfig": {"IPv4Address": "172.30.0.10", "IPv6Address": "", "LinkLocalIPs": null},
        "Aliases": ["www"], "MacAddress": "02:42:ac:1e:00:0a", "DriverOpts": null}}}
}"#;

#[test]
fn a_full_docker_body() {
    let opts: CreateOptions = serde_json::from_str(FULL_BODY).unwrap();
    let s = ContainerSpec::from_docker(&opts, "web").unwrap();

    assert_eq!(
        (s.format, &s.owner),
        (ContainerSpec::FORMAT, &Owner::Docker)
    );
    assert_eq!(s.image, "nginx:1.27");
    assert_eq!(s.labels["tier"], "front");
    assert_eq!(s.annotations["io.example/owner"], "team-a");
    assert_eq!(s.runtime.as_deref(), Some("runc"));

    let p = &s.process;
    assert_eq!(
        p.entrypoint,
        Some(vec!["/docker-entrypoint.sh".to_string()])
    );
    assert_eq!(p.cmd.as_deref().map(<[String]>::len), Some(3));
    assert_eq!(p.env, ["MODE=prod", "DEBUG"]);
    assert_eq!(p.working_dir, Some(PathBuf::from("/srv")));
    assert_eq!(p.user.as_deref(), Some("app:app"));
    assert!(p.tty && p.stdin && !p.stdin_once);
    assert_eq!(
        p.console_size,
        Some(ConsoleSize {
            height: 40,
            width: 120
        })
    );
    assert_eq!(
        (p.stop_signal.as_deref(), p.stop_timeout, p.init),
        (Some("SIGQUIT"), Some(20), Some(true))
    );
    let health = p.health.as_ref().unwrap();
    assert_eq!(health.test, HealthTest::Shell("curl -f localhost".into()));
    assert_eq!((health.interval_ns, health.retries), (30_000_000_000, 3));

    let n = &s.network;
    assert_eq!(n.mode, NetworkMode::Named("backend".into()));
    assert_eq!(n.hostname.as_deref(), Some("web1"));
    assert_eq!(n.domainname.as_deref(), Some("example.org"));
    let ep = &n.endpoints["backend"];
    assert_eq!(ep.ipv4_address, Some("172.30.0.10".parse().unwrap()));
    assert_eq!(
        (ep.ipv6_address, ep.aliases.as_slice()),
        (None, &["www".to_string()][..])
    );
    assert_eq!(ep.mac_address.as_deref(), Some("02:42:ac:1e:00:0a"));
    assert!(n.publish_all);
    let udp = Port {
        number: 53,
        protocol: Protocol::Udp,
    };
    assert!(n.exposed.contains(&udp));
    assert!(n.ports.contains(&PortMapping {
        container: udp,
        host_ip: None,
        host_ports: (5300, 5310),
    }));
    assert!(n.ports.contains(&PortMapping {
        container: Port {
            number: 80,
            protocol: Protocol::Tcp
        },
        host_ip: Some("127.0.0.1".parse().unwrap()),
        host_ports: (8080, 8080),
    }));
    assert_eq!(n.dns.servers, ["10.0.0.2"]);
    assert_eq!((n.dns.search.len(), n.dns.options.len()), (1, 1));
    assert_eq!(
        n.extra_hosts[1],
        HostEntry {
            hostname: "gw".into(),
            address: "host-gateway".into()
        }
    );

    assert_eq!(s.namespaces.ipc, IpcMode::Shareable);
    assert_eq!(s.namespaces.cgroup, Some(CgroupnsMode::Private));

    let st = &s.storage;
    let targets: Vec<&str> = st
        .mounts
        .iter()
        .map(|m| m.target.to_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        [
            "/usr/share/nginx/html",
            "/var/log/nginx",
            "/run/nginx",
            "/etc/ssl",
            "/tmp"
        ]
    );
    assert!(matches!(
        &st.mounts[3].kind,
        MountKind::Bind {
            propagation: Propagation::Rslave,
            recursive: false,
            create_host_path: false,
            idmap: None,
            ..
        }
    ));
    assert_eq!(st.anonymous_volumes, [PathBuf::from("/cache")]);
    assert_eq!(
        st.volumes_from,
        [VolumesFrom {
            container: "data".into(),
            readonly: Some(true)
        }]
    );
    assert_eq!(st.shm_size, Some(128 << 20));

    let r = &s.resources;
    assert_eq!(
        (r.cpu.shares, r.cpu.quota, r.cpu.period),
        (Some(512), Some(150_000), Some(100_000))
    );
    assert_eq!(r.cpu.cpus.as_deref(), Some("0-1"));
    assert_eq!(
        (r.memory.limit, r.memory.reservation, r.memory.swap),
        (Some(256 << 20), Some(128 << 20), None)
    );
    assert_eq!(r.memory.swappiness, Some(0));
    assert_eq!(r.pids_limit, Some(200));
    assert_eq!(r.block_io.weight, Some(300));
    assert_eq!(r.block_io.read_bps[0].rate, 1 << 20);
    assert_eq!(r.devices[0].access, "rwm");
    assert_eq!(r.device_rules[0].kind, DeviceKind::Char);
    assert_eq!(r.oom_score_adj, -500);
    assert_eq!(r.rlimits[1].soft, u64::MAX);
    assert_eq!(r.cgroup_parent.as_deref(), Some("/web"));

    let sec = &s.security;
    assert_eq!(sec.capabilities.add, ["CAP_NET_ADMIN"]);
    assert_eq!(sec.capabilities.drop, ["CAP_MKNOD"]);
    assert!(sec.no_new_privileges && sec.readonly_rootfs && !sec.privileged);
    assert_eq!(sec.apparmor, AppArmor::Profile("docker-nginx".into()));
    assert_eq!(
        sec.selinux,
        Selinux::Label(SelinuxLabel {
            kind: Some("spc_t".into()),
            ..Default::default()
        })
    );
    assert_eq!(sec.sysctls["net.core.somaxconn"], "1024");
    assert_eq!(sec.groups, ["audio"]);

    assert_eq!(
        s.restart,
        RestartPolicy::OnFailure {
            max_retries: Some(5)
        }
    );
    let LogSpec::JsonFile(log) = &s.log else {
        panic!("{:?}", s.log)
    };
    assert_eq!((log.max_size, log.max_files), (Some(10 << 20), Some(3)));
    assert_eq!(log.other["compress"], "true");

    // What step 5 stores: it must come back the same.
    let back: ContainerSpec = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(back, s);
}

#[test]
fn network_modes() {
    for (mode, want) in [
        ("", NetworkMode::Default),
        ("default", NetworkMode::Default),
        ("bridge", NetworkMode::Bridge),
        ("host", NetworkMode::Host),
        ("none", NetworkMode::None),
        ("container:db", NetworkMode::Container("db".into())),
        ("backend", NetworkMode::Named("backend".into())),
        // Not Berth's pod form from Docker: a network name no network can have.
        ("pod:p1", NetworkMode::Named("pod:p1".into())),
    ] {
        assert_eq!(
            host(json!({"NetworkMode": mode})).network.mode,
            want,
            "{mode}"
        );
    }
    assert!(
        convert(json!({"NetworkDisabled": true}), json!({}))
            .unwrap()
            .network
            .disabled
    );
}

#[test]
fn extra_hosts_without_an_address_are_left_out() {
    let n = host(json!({"ExtraHosts": ["nohost", "db:10.0.0.5"]})).network;
    assert_eq!(
        n.extra_hosts,
        [HostEntry {
            hostname: "db".into(),
            address: "10.0.0.5".into()
        }]
    );
}

#[test]
fn namespace_modes() {
    let ns =
        host(json!({"IpcMode": "container:db", "PidMode": "host", "UTSMode": "host"})).namespaces;
    assert_eq!(ns.ipc, IpcMode::Container("db".into()));
    assert_eq!(
        (ns.pid, ns.uts, ns.cgroup),
        (PidMode::Host, UtsMode::Host, None)
    );
    let ns = host(json!({"IpcMode": "none", "CgroupnsMode": "host"})).namespaces;
    assert_eq!(
        (ns.ipc, ns.cgroup),
        (IpcMode::None, Some(CgroupnsMode::Host))
    );
}

#[test]
fn restart_policies() {
    for (name, retries, want) in [
        ("", 0, RestartPolicy::No),
        ("no", 0, RestartPolicy::No),
        ("always", 0, RestartPolicy::Always),
        ("unless-stopped", 0, RestartPolicy::UnlessStopped),
        (
            "on-failure",
            0,
            RestartPolicy::OnFailure { max_retries: None },
        ),
        (
            "on-failure",
            7,
            RestartPolicy::OnFailure {
                max_retries: Some(7),
            },
        ),
    ] {
        let rp = json!({"RestartPolicy": {"Name": name, "MaximumRetryCount": retries}});
        assert_eq!(host(rp).restart, want, "{name}:{retries}");
    }
}

#[test]
fn log_drivers() {
    let log = |driver: &str, config: Value| {
        host(json!({"LogConfig": {"Type": driver, "Config": config}})).log
    };
    assert_eq!(
        log("", json!({})),
        LogSpec::JsonFile(FileLogOptions::default())
    );
    assert_eq!(log("none", json!({})), LogSpec::None);
    assert_eq!(
        log("local", json!({"max-size": "1g", "tag": "x"})),
        LogSpec::Local(FileLogOptions {
            max_size: Some(1 << 30),
            max_files: None,
            other: [("tag".to_string(), "x".to_string())].into(),
        })
    );
    // Docker's `units.RAMInBytes`, fractions included.
    assert_eq!(
        log("json-file", json!({"max-size": "1.5m", "max-file": "2"})),
        LogSpec::JsonFile(FileLogOptions {
            max_size: Some(3 << 19),
            max_files: Some(2),
            other: Default::default(),
        })
    );
}

#[test]
fn mounts() {
    let st = host(json!({
        "Binds": ["/srv:/data:ro,rshared", "cache:/cache:nocopy", "/anon"],
        "Mounts": [
            {"Type": "volume", "Source": "db", "Target": "/db",
             "VolumeOptions": {"Labels": {"a": "b"},
                               "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs"}}}},
            {"Type": "bind", "Source": "/etc/x", "Target": "/x",
             "BindOptions": {"CreateMountpoint": true}},
            {"Type": "tmpfs", "Target": "/t", "ReadOnly": true, "TmpfsOptions": {"Mode": 448}}
        ],
        "Tmpfs": {"/run": "size=64m,mode=1777,uid=1000,rw,size=50%"}
    }))
    .storage;
    let kinds: Vec<&MountKind> = st.mounts.iter().map(|m| &m.kind).collect();
    assert!(st.mounts[0].readonly);
    assert_eq!(
        kinds[0],
        &MountKind::Bind {
            source: "/srv".into(),
            propagation: Propagation::Rshared,
            recursive: true,
            recursive_readonly: false,
            create_host_path: true,
            idmap: None,
        }
    );
    assert!(
        matches!(kinds[1], MountKind::Volume { name: Some(n), nocopy: true, .. } if n == "cache")
    );
    assert!(matches!(kinds[2], MountKind::Volume { name: None, .. }));
    let MountKind::Volume { driver, labels, .. } = kinds[3] else {
        panic!("{:?}", kinds[3])
    };
    assert_eq!(driver.as_ref().map(|d| d.name.as_str()), Some("local"));
    assert_eq!(labels["a"], "b");
    assert!(matches!(
        kinds[4],
        MountKind::Bind {
            create_host_path: true,
            idmap: None,
            ..
        }
    ));
    assert!(st.mounts[5].readonly);
    assert_eq!(
        kinds[5],
        &MountKind::Tmpfs {
            size: None,
            mode: Some(0o700),
            options: vec![]
        }
    );
    assert!(!st.mounts[6].readonly);
    assert_eq!(
        kinds[6],
        &MountKind::Tmpfs {
            size: Some(64 << 20),
            mode: Some(0o1777),
            // A percentage is the kernel's to read.
            options: vec!["uid=1000".into(), "size=50%".into()],
        }
    );
}

#[test]
fn resources() {
    let r = host(json!({
        "CpuPeriod": 50000, "CpuQuota": 25000, "CpusetMems": "0",
        "Memory": 67108864, "MemorySwap": 0, "OomKillDisable": true, "PidsLimit": 0,
        "BlkioDeviceWriteIOps": [{"Path": "/dev/sdb", "Rate": 100}],
        "Devices": [{"PathOnHost": "/dev/sdc", "PathInContainer": "/dev/xvdc",
                     "CgroupPermissions": "r"}],
        "DeviceCgroupRules": ["a *:* m", "b 8:* rw"]
    }))
    .resources;
    assert_eq!((r.cpu.quota, r.cpu.period), (Some(25_000), Some(50_000)));
    assert_eq!(r.cpu.mems.as_deref(), Some("0"));
    // Docker's default swap: twice the limit, counted with the memory.
    assert_eq!(r.memory.swap, Some(128 << 20));
    assert!(r.memory.disable_oom_killer);
    assert_eq!(r.pids_limit, Some(-1));
    assert_eq!(r.block_io.write_iops[0].path, PathBuf::from("/dev/sdb"));
    assert_eq!(
        r.devices[0],
        DeviceRequest {
            host_path: "/dev/sdc".into(),
            container_path: Some("/dev/xvdc".into()),
            access: "r".into(),
        }
    );
    assert_eq!(
        r.device_rules,
        [
            DeviceRule {
                allow: true,
                kind: DeviceKind::All,
                major: None,
                minor: None,
                access: "m".into()
            },
            DeviceRule {
                allow: true,
                kind: DeviceKind::Block,
                major: Some(8),
                minor: None,
                access: "rw".into()
            },
        ]
    );
    assert_eq!(host(json!({})).resources, Resources::default());
}

#[test]
fn security() {
    let s = host(json!({
        "Privileged": true, "CapAdd": ["all"],
        "SecurityOpt": ["seccomp=unconfined", "apparmor=unconfined", "writable-cgroups=true",
                        "label=disable", "no-new-privileges=false"],
        "MaskedPaths": [], "ReadonlyPaths": []
    }))
    .security;
    assert!(s.privileged && s.writable_cgroups && !s.no_new_privileges);
    assert_eq!(s.capabilities.add, ["ALL"]);
    assert_eq!(
        (s.seccomp, s.apparmor, s.selinux),
        (Seccomp::Unconfined, AppArmor::Unconfined, Selinux::Disabled)
    );
    assert_eq!(s.masked_paths, Some(vec![]));

    let profile = r#"{"defaultAction": "SCMP_ACT_ALLOW"}"#;
    let s = host(
        json!({"SecurityOpt": [format!("seccomp={profile}"), "label=user:u",
                                         "label=level:s0"]}),
    )
    .security;
    assert_eq!(s.seccomp, Seccomp::Inline(profile.into()));
    assert_eq!(
        s.selinux,
        Selinux::Label(SelinuxLabel {
            user: Some("u".into()),
            level: Some("s0".into()),
            ..Default::default()
        })
    );
    assert_eq!(host(json!({})).security, Security::default());
}

#[test]
fn health_checks() {
    for (test, want) in [
        (json!([]), HealthTest::Inherit),
        (json!(["NONE"]), HealthTest::Disabled),
        (
            json!(["CMD", "pg_isready", "-q"]),
            HealthTest::Exec(vec!["pg_isready".into(), "-q".into()]),
        ),
        (
            json!(["CMD-SHELL", "exit 0"]),
            HealthTest::Shell("exit 0".into()),
        ),
    ] {
        let s = convert(json!({"Healthcheck": {"Test": test}}), json!({})).unwrap();
        assert_eq!(s.process.health.unwrap().test, want);
    }
}

/// Bad bodies fail with the message the engine gives them today (dockerd's where it has one).
#[test]
fn bad_bodies_keep_their_messages() {
    let cases: &[(Value, Value, &str)] = &[
        (
            json!({}),
            json!({"IpcMode": "shared"}),
            r#"invalid IpcMode "shared": unknown mode"#,
        ),
        (
            json!({}),
            json!({"IpcMode": "pod"}),
            r#"invalid IpcMode "pod": unknown mode"#,
        ),
        (
            json!({}),
            json!({"PidMode": "target:x"}),
            r#"invalid PidMode "target:x": unknown mode"#,
        ),
        (
            json!({}),
            json!({"UTSMode": "container:x"}),
            r#"invalid UTSMode "container:x": unknown mode"#,
        ),
        (
            json!({}),
            json!({"CgroupnsMode": "shared"}),
            r#"invalid CgroupnsMode "shared": unknown mode"#,
        ),
        (
            json!({}),
            json!({"NetworkMode": "container:"}),
            r#"invalid NetworkMode "container:": unknown mode"#,
        ),
        (
            json!({}),
            json!({"RestartPolicy": {"Name": "sometimes"}}),
            r#"invalid RestartPolicy.Name "sometimes": unknown restart policy"#,
        ),
        (
            json!({}),
            json!({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -1}}),
            r#"invalid RestartPolicy.MaximumRetryCount "-1": must not be negative"#,
        ),
        (
            json!({}),
            json!({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}),
            r#"invalid RestartPolicy.MaximumRetryCount "3": can only be used with restart policy 'on-failure'"#,
        ),
        (
            json!({}),
            json!({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5_000_000_000_i64}}),
            r#"invalid RestartPolicy.MaximumRetryCount "5000000000": too large"#,
        ),
        (
            json!({}),
            json!({"AutoRemove": true, "RestartPolicy": {"Name": "always"}}),
            "conflicting options: can't create 'AutoRemove' container with restart policy",
        ),
        (
            json!({}),
            json!({"LogConfig": {"Type": "syslog"}}),
            "logger: no log driver named 'syslog' is registered",
        ),
        (
            json!({}),
            json!({"LogConfig": {"Type": "json-file", "Config": {"max-size": "big"}}}),
            "invalid log option max-size=big",
        ),
        (
            json!({}),
            json!({"Mounts": [{"Type": "bind", "Source": "/a", "Target": "/x",
                               "BindOptions": {"Propagation": "sideways"}}]}),
            r#"invalid mount config for type "bind": invalid propagation mode (target "/x")"#,
        ),
        (
            json!({}),
            json!({"Mounts": [{"Type": "npipe", "Target": "/x"}]}),
            r#"invalid mount config for type "npipe": mount type unknown (target "/x")"#,
        ),
        (
            json!({}),
            json!({"Mounts": [{"Type": "volume", "Source": "vol", "Target": "/x",
                               "VolumeOptions": {"Subpath": "a"}}]}),
            r#"invalid mount config for type "volume": volume subpath is not supported (target "/x")"#,
        ),
        (
            json!({}),
            json!({"Mounts": [{"Type": "tmpfs", "Target": "/x", "TmpfsOptions": {"SizeBytes": -1}}]}),
            r#"invalid mount config for type "tmpfs": invalid tmpfs size (target "/x")"#,
        ),
        (
            json!({}),
            json!({"Binds": ["/a:/b:rshared,rslave"]}),
            r#"invalid volume specification "/a:/b:rshared,rslave": invalid mode"#,
        ),
        (
            json!({}),
            json!({"Tmpfs": {"/t": "size=1m,bogus"}}),
            r#"invalid tmpfs option "bogus" for /t"#,
        ),
        (
            json!({}),
            json!({"Tmpfs": {"t": ""}}),
            r#"invalid mount config: Tmpfs "t" is not an absolute path"#,
        ),
        (
            json!({}),
            json!({"Binds": ["/a:/x"], "Tmpfs": {"/x": ""}}),
            "duplicate mount point: /x",
        ),
        (
            json!({"Volumes": {"data": {}}}),
            json!({}),
            r#"invalid mount config: Volumes "data" is not an absolute path"#,
        ),
        (
            json!({}),
            json!({"VolumesFrom": ["c:rx"]}),
            r#"invalid VolumesFrom "c:rx": invalid mode: want ro or rw"#,
        ),
        (
            json!({}),
            json!({"ShmSize": -1}),
            r#"invalid ShmSize "-1": can not be less than 0"#,
        ),
        (
            json!({}),
            json!({"Memory": 1000}),
            r#"invalid Memory "1000": minimum memory limit allowed is 6MB"#,
        ),
        (
            json!({}),
            json!({"NanoCpus": 1000000000, "CpuPeriod": 100000}),
            "conflicting options: Nano CPUs and CPU Period cannot both be set",
        ),
        (
            json!({}),
            json!({"OomScoreAdj": 2000}),
            r#"invalid OomScoreAdj "2000": range is [-1000, 1000]"#,
        ),
        (
            json!({}),
            json!({"Ulimits": [{"Name": "bogus", "Soft": 1, "Hard": 1}]}),
            r#"invalid ulimit "bogus": unknown resource"#,
        ),
        (
            json!({}),
            json!({"DeviceCgroupRules": ["x 1:3 rwm"]}),
            r#"invalid DeviceCgroupRules "x 1:3 rwm": type must be a, b or c"#,
        ),
        (
            json!({}),
            json!({"CapAdd": ["bogus"]}),
            r#"unknown capability: "CAP_BOGUS""#,
        ),
        (
            json!({}),
            json!({"SecurityOpt": ["bogus"]}),
            r#"invalid --security-opt "bogus""#,
        ),
        (
            json!({}),
            json!({"PortBindings": {"80/icmp": [{"HostPort": "80"}]}}),
            r#"container web: invalid port specification "80/icmp": protocol must be tcp or udp"#,
        ),
        (
            json!({"ExposedPorts": {"0/tcp": {}}}),
            json!({}),
            r#"container web: invalid port specification "0/tcp": container port must be 1-65535"#,
        ),
        (
            json!({}),
            json!({"Links": ["a:b:c"]}),
            r#"invalid link "a:b:c": want name or name:alias"#,
        ),
        (
            json!({"NetworkingConfig": {"EndpointsConfig": {"backend": {"IPAMConfig": {"IPv4Address": "1.2.3"}}}}}),
            json!({}),
            r#"container web: invalid address "1.2.3" for network backend: not an IP address"#,
        ),
        (
            json!({"Healthcheck": {"Test": ["CMD", "true"], "Interval": 5}}),
            json!({}),
            r#"invalid Healthcheck.Interval "5": must be 0 or at least 1ms"#,
        ),
        (
            json!({"Healthcheck": {"Test": ["RUN", "true"]}}),
            json!({}),
            r#"invalid Healthcheck.Test "RUN": must start with NONE, CMD or CMD-SHELL"#,
        ),
    ];
    for (top, host, message) in cases {
        let err = convert(top.clone(), host.clone()).unwrap_err();
        assert_eq!(err.to_string(), *message, "{top} {host}");
        assert_eq!(
            err.kind(),
            berth_types::ErrorKind::InvalidArgument,
            "{message}"
        );
    }
    let err = convert(json!({}), json!({"SecurityOpt": ["seccomp={"]})).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("decoding seccomp profile failed"),
        "{err}"
    );
}
