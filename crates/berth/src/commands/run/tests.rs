use super::*;
use clap::Parser;

/// The options of `berth create ARGS...`.
pub fn create_options(args: &[&str]) -> ContainerOptions {
    let cli =
        crate::cli::Cli::try_parse_from(["berth", "create"].iter().chain(args.iter()).copied());
    let Ok(crate::cli::Cli {
        command: crate::cli::Command::Create(a),
        ..
    }) = cli
    else {
        panic!("parse failed: {cli:?}")
    };
    a.options
}

fn body(args: &[&str]) -> serde_json::Value {
    let b = container_body(&create_options(args), false).unwrap_or_else(|e| panic!("{e:#}"));
    serde_json::to_value(b).unwrap_or_default()
}

#[test]
fn flags_become_the_create_body() {
    let b = body(&[
        "--name",
        "web",
        "-e",
        "A=1",
        "-l",
        "team=x",
        "-w",
        "/srv",
        "-u",
        "1000:1000",
        "--memory",
        "64m",
        "--cpus",
        "1.5",
        "--pids-limit",
        "100",
        "--ulimit",
        "nofile=1024:2048",
        "--device",
        "/dev/fuse",
        "--restart",
        "on-failure:3",
        "--tmpfs",
        "/run:size=1m",
        "--read-only",
        "--init",
        "--cap-drop",
        "ALL",
        "--health-cmd",
        "true",
        "--health-interval",
        "5s",
        "--log-opt",
        "max-size=1m",
        "busybox",
        "sleep",
        "1",
    ]);
    insta::assert_snapshot!(crate::output::json_pretty(&b), @r#"
    {
      "AttachStderr": false,
      "AttachStdin": false,
      "AttachStdout": false,
      "Cmd": [
        "sleep",
        "1"
      ],
      "Env": [
        "A=1"
      ],
      "Healthcheck": {
        "Interval": 5000000000,
        "Test": [
          "CMD-SHELL",
          "true"
        ]
      },
      "HostConfig": {
        "CapDrop": [
          "ALL"
        ],
        "Devices": [
          {
            "CgroupPermissions": "rwm",
            "PathInContainer": "/dev/fuse",
            "PathOnHost": "/dev/fuse"
          }
        ],
        "Init": true,
        "LogConfig": {
          "Config": {
            "max-size": "1m"
          }
        },
        "Memory": 67108864,
        "NanoCpus": 1500000000,
        "PidsLimit": 100,
        "ReadonlyRootfs": true,
        "RestartPolicy": {
          "MaximumRetryCount": 3,
          "Name": "on-failure"
        },
        "Tmpfs": {
          "/run": "size=1m"
        },
        "Ulimits": [
          {
            "Hard": 2048,
            "Name": "nofile",
            "Soft": 1024
          }
        ]
      },
      "Image": "busybox",
      "Labels": {
        "team": "x"
      },
      "OpenStdin": false,
      "StdinOnce": false,
      "Tty": false,
      "User": "1000:1000",
      "WorkingDir": "/srv"
    }
    "#);
}

#[test]
fn flag_parsing_errors() {
    assert!(restart_policy("always:3").is_err());
    assert!(restart_policy("sometimes").is_err());
    assert!(ulimit("nofile").is_err());
    let d = device("/dev/sda:/dev/xvda:r");
    assert_eq!(d.path_in_container.as_deref(), Some("/dev/xvda"));
    assert_eq!(d.cgroup_permissions.as_deref(), Some("r"));
    let d = device("/dev/sda:rw");
    assert_eq!(d.path_in_container.as_deref(), Some("/dev/sda"));
}

#[test]
fn mounts_and_volumes_from_become_the_create_body() {
    let b = body(&[
        "--mount",
        "type=bind,src=/srv,dst=/data,readonly,bind-propagation=rshared",
        "--mount",
        "dst=/cache,volume-nocopy,volume-opt=type=tmpfs,volume-label=a=b",
        "--mount",
        "type=tmpfs,target=/t,tmpfs-size=1m,tmpfs-mode=700",
        "--volumes-from",
        "other:ro",
        "busybox",
    ]);
    let h = &b["HostConfig"];
    assert_eq!(
        h["Mounts"][0],
        serde_json::json!({"Type": "bind", "Source": "/srv", "Target": "/data", "ReadOnly": true,
            "BindOptions": {"Propagation": "rshared"}})
    );
    assert_eq!(h["Mounts"][1]["Type"], "volume");
    assert_eq!(h["Mounts"][1]["VolumeOptions"]["NoCopy"], true);
    assert_eq!(
        h["Mounts"][1]["VolumeOptions"]["DriverConfig"]["Options"]["type"],
        "tmpfs"
    );
    assert_eq!(h["Mounts"][1]["VolumeOptions"]["Labels"]["a"], "b");
    assert_eq!(
        h["Mounts"][2]["TmpfsOptions"],
        serde_json::json!({"SizeBytes": 1048576, "Mode": 448})
    );
    assert_eq!(h["VolumesFrom"], serde_json::json!(["other:ro"]));
    assert!(parse_mount("type=bind,bogus=1").is_err());
    assert!(parse_mount("type=nfs").is_err());
}
