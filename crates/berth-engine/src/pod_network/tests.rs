use super::*;

#[test]
fn a_missing_or_empty_directory_is_not_ready_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("net.d");
    let PodNetworkStatus::NotReady { message } = status_of(&missing) else {
        panic!("ready without a directory");
    };
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    std::fs::create_dir(&missing).unwrap();
    std::fs::write(missing.join("README"), "not a configuration").unwrap();
    let PodNetworkStatus::NotReady { message } = status_of(&missing) else {
        panic!("ready without a configuration");
    };
    assert_eq!(
        message,
        format!("no network configuration found in {}", missing.display())
    );
}

#[test]
fn the_first_configuration_by_name_is_the_pods_network() {
    let dir = tempfile::tempdir().unwrap();
    for (file, name) in [("20-b.conflist", "second"), ("10-a.conflist", "first")] {
        std::fs::write(
            dir.path().join(file),
            format!(r#"{{"cniVersion":"1.0.0","name":"{name}","plugins":[{{"type":"bridge"}}]}}"#),
        )
        .unwrap();
    }
    assert_eq!(
        status_of(dir.path()),
        PodNetworkStatus::Ready {
            network: "first".into()
        }
    );
}

#[test]
fn a_broken_configuration_is_not_ready_and_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("10-bad.conf"), "{").unwrap();
    let PodNetworkStatus::NotReady { message } = status_of(dir.path()) else {
        panic!("ready with a broken configuration");
    };
    assert!(message.contains("10-bad.conf"), "{message}");
}
