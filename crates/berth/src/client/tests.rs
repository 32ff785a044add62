use super::*;

#[test]
fn host_resolution_and_messages() {
    assert_eq!(resolve_host(None), DEFAULT_HOST);
    assert_eq!(resolve_host(Some("")), DEFAULT_HOST);
    assert_eq!(
        resolve_host(Some("unix:///tmp/x.sock")),
        "unix:///tmp/x.sock"
    );
    let e = anyhow::Error::new(ApiError::DockerResponseServerError {
        status_code: 404,
        message: "No such container: nope".into(),
    });
    assert_eq!(
        describe(&e),
        "Error response from daemon: No such container: nope"
    );
    assert_eq!(status_of(&e), Some(404));
    let e = anyhow::Error::new(ApiError::DockerStreamError {
        error: "invalid image archive: it has neither manifest.json nor index.json\n".into(),
    });
    assert_eq!(
        describe(&e),
        "invalid image archive: it has neither manifest.json nor index.json"
    );
    assert_eq!(
        start_error_code("exec: \"nope\": executable file not found in $PATH"),
        127
    );
    assert_eq!(start_error_code("exec /etc: permission denied"), 126);
    assert_eq!(start_error_code("cgroup trouble"), 125);
    assert!(Client::connect("tcp://1.2.3.4:2375").is_err());
}
