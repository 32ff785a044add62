use super::*;
use bollard::models::{ContainerSummaryStateEnum, PortSummary, PortSummaryTypeEnum};

#[test]
fn ps_rows_as_docker_prints_them() {
    let s = ContainerSummary {
        id: Some("4f1c2a9d8e7b6c5a4f1c2a9d8e7b6c5a4f1c2a9d8e7b6c5a4f1c2a9d8e7b6c5a".into()),
        names: Some(vec!["/web".into()]),
        image: Some("busybox:test".into()),
        command: Some("sh -c 'while true; do sleep 1; done'".into()),
        created: Some(1_700_000_000),
        state: Some(ContainerSummaryStateEnum::RUNNING),
        status: Some("Up 2 minutes".into()),
        ports: Some(vec![
            PortSummary {
                ip: Some("0.0.0.0".into()),
                private_port: 80,
                public_port: Some(8080),
                typ: Some(PortSummaryTypeEnum::TCP),
            },
            PortSummary {
                ip: None,
                private_port: 53,
                public_port: None,
                typ: Some(PortSummaryTypeEnum::UDP),
            },
        ]),
        ..Default::default()
    };
    let row = ps_row(&s, false, 1_700_000_150);
    let style = ListStyle {
        format: output::Format::Table,
        quiet: false,
        no_trunc: false,
        width: Some(100),
    };
    insta::assert_snapshot!(output::render_list(std::slice::from_ref(&row), &PS_COLUMNS, &style, "ID"), @r#"
        CONTAINER ID   IMAGE          COMMAND          CREATED         STATUS         PORTS            NAMES
        4f1c2a9d8e7b   busybox:test   "sh -c 'while…   2 minutes ago   Up 2 minutes   53/udp, 0.0.0…   web
        "#);
    insta::assert_snapshot!(output::row_json(&row), @r#"{"Command":"\"sh -c 'while true; …\"","CreatedAt":"2023-11-14 22:13:20 +0000 UTC","ID":"4f1c2a9d8e7b","Image":"busybox:test","Labels":"","LocalVolumes":"0","Mounts":"","Names":"web","Networks":"","Ports":"53/udp, 0.0.0.0:8080->80/tcp","RunningFor":"2 minutes ago","Size":"0B","State":"running","Status":"Up 2 minutes"}"#);
}
