use super::*;

/// A body as `docker run -it --rm -v /srv:/data:ro --cpus 1.5 alpine sh` sends it (trimmed).
const DOCKER_BODY: &str = r#"{
    "Hostname": "", "Domainname": "", "User": "",
    "AttachStdin": true, "AttachStdout": true, "AttachStderr": true,
    "Tty": true, "OpenStdin": true, "StdinOnce": true,
    "Env": null, "Cmd": ["sh"], "Image": "alpine", "Volumes": {},
    "WorkingDir": "", "Entrypoint": null, "OnBuild": null, "Labels": {},
    "HostConfig": {
        "Binds": ["/srv:/data:ro"], "ContainerIDFile": "",
        "LogConfig": {"Type": "", "Config": {}}, "NetworkMode": "default",
        "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": true, "VolumeDriver": "", "VolumesFrom": null,
        "CapAdd": null, "CapDrop": null, "CgroupnsMode": "", "Dns": [], "DnsOptions": [],
        "DnsSearch": [], "ExtraHosts": null, "GroupAdd": null, "IpcMode": "",
        "Cgroup": "", "Links": null, "OomScoreAdj": 0, "PidMode": "", "Privileged": false,
        "PublishAllPorts": false, "ReadonlyRootfs": false, "SecurityOpt": null,
        "UTSMode": "", "UsernsMode": "", "ShmSize": 0, "ConsoleSize": [24, 80],
        "Isolation": "", "CpuShares": 0, "Memory": 0, "NanoCpus": 1500000000,
        "CgroupParent": "", "BlkioWeight": 0, "BlkioWeightDevice": [],
        "CpuPeriod": 0, "CpuQuota": 0, "CpusetCpus": "", "CpusetMems": "",
        "Devices": [], "DeviceCgroupRules": null, "DeviceRequests": null,
        "MemoryReservation": 0, "MemorySwap": 0, "MemorySwappiness": null,
        "OomKillDisable": null, "PidsLimit": null, "Ulimits": null,
        "MaskedPaths": null, "ReadonlyPaths": null
    },
    "NetworkingConfig": {"EndpointsConfig": {}}
}"#;

#[test]
fn deserializes_a_docker_create_body() {
    let o: CreateOptions = serde_json::from_str(DOCKER_BODY).unwrap();
    assert_eq!(o.image, "alpine");
    assert_eq!(o.cmd, Some(vec!["sh".to_string()]));
    assert_eq!(o.entrypoint, None);
    assert!(o.env.is_empty() && o.tty && o.open_stdin);
    assert_eq!(o.host_config.binds, ["/srv:/data:ro"]);
    assert_eq!(o.host_config.nano_cpus, 1_500_000_000);
    assert_eq!(o.host_config.restart_policy.name, "no");
    assert!(o.host_config.auto_remove);
    assert_eq!(o.host_config.masked_paths, None);
}

#[test]
fn round_trips_through_json_for_the_metadata_db() {
    let o: CreateOptions = serde_json::from_str(DOCKER_BODY).unwrap();
    let back: CreateOptions = serde_json::from_str(&serde_json::to_string(&o).unwrap()).unwrap();
    assert_eq!(o, back);
}

#[test]
fn entrypoint_distinguishes_absent_empty_and_blank() {
    let e = |json: &str| {
        serde_json::from_str::<CreateOptions>(json)
            .unwrap()
            .entrypoint
    };
    assert_eq!(e(r#"{}"#), None);
    assert_eq!(e(r#"{"Entrypoint": null}"#), None);
    assert_eq!(e(r#"{"Entrypoint": []}"#), Some(vec![]));
    assert_eq!(e(r#"{"Entrypoint": [""]}"#), Some(vec![String::new()]));
    assert_eq!(
        e(r#"{"Entrypoint": "/bin/sh"}"#),
        Some(vec!["/bin/sh".into()])
    );
}

#[test]
fn image_config_from_an_image_config_json() {
    let json = r#"{
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Cmd": ["nginx", "-g", "daemon off;"], "Entrypoint": ["/docker-entrypoint.sh"],
        "ExposedPorts": {"80/tcp": {}}, "StopSignal": "SIGQUIT", "ArgsEscaped": true,
        "Labels": {"maintainer": "NGINX"}, "Volumes": null, "WorkingDir": "",
        "OnBuild": null
    }"#;
    let i: ImageConfig = serde_json::from_str(json).unwrap();
    assert_eq!(i.stop_signal, "SIGQUIT");
    assert!(i.exposed_ports.contains_key("80/tcp"));
    assert_eq!(i.entrypoint, Some(vec!["/docker-entrypoint.sh".into()]));
    assert!(i.volumes.is_empty());
}
