use serde_json::json;

use super::merge_unset;

#[test]
fn unset_fields_come_from_the_container_as_dockerd_merges() {
    let container = json!({
        "User": "nobody", "WorkingDir": "/srv", "StopSignal": "SIGINT",
        "Env": ["PATH=/bin", "A=0"], "Labels": {"x": "1", "y": "1"},
        "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}},
        "Cmd": ["serve"], "Entrypoint": ["/init"], "Hostname": "c1",
    });
    let mut user = json!({"Env": ["A=1"], "Labels": {"y": "2"}, "Cmd": ["other"]});
    merge_unset(&mut user, &container);
    assert_eq!(user["User"], "nobody");
    assert_eq!(user["WorkingDir"], "/srv");
    assert_eq!(user["StopSignal"], "SIGINT");
    assert_eq!(user["Env"], json!(["A=1", "PATH=/bin"]));
    assert_eq!(user["Labels"], json!({"x": "1", "y": "2"}));
    assert_eq!(user["ExposedPorts"], json!({"80/tcp": {}}));
    assert_eq!(user["Volumes"], json!({"/data": {}}));
    // The caller's Cmd stays; the Entrypoint it left unset is inherited.
    assert_eq!(user["Cmd"], json!(["other"]));
    assert_eq!(user["Entrypoint"], json!(["/init"]));
    // Not part of dockerd's merge: whatever the caller sent (here nothing).
    assert!(user.get("Hostname").is_none());
}

#[test]
fn a_given_entrypoint_drops_the_container_cmd() {
    let container = json!({"Cmd": ["serve"], "Entrypoint": ["/init"]});
    let mut user = json!({"Entrypoint": ["/bin/sh"]});
    merge_unset(&mut user, &container);
    assert_eq!(user["Entrypoint"], json!(["/bin/sh"]));
    assert!(user.get("Cmd").is_none());
}
