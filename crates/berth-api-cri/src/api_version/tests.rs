use super::*;

fn rewritten(path: &str) -> (String, Option<ApiVersion>) {
    let request = Request::builder()
        .uri(format!("http://localhost{path}"))
        .body(())
        .unwrap_or_else(|e| panic!("{e}"));
    let out = rewrite(request);
    (
        out.uri().path().to_string(),
        out.extensions().get::<ApiVersion>().copied(),
    )
}

#[test]
fn v1alpha2_paths_become_v1_and_are_marked() {
    assert_eq!(
        rewritten("/runtime.v1alpha2.RuntimeService/Version"),
        (
            "/runtime.v1.RuntimeService/Version".into(),
            Some(ApiVersion::V1alpha2)
        )
    );
    assert_eq!(
        rewritten("/runtime.v1alpha2.ImageService/ListImages"),
        (
            "/runtime.v1.ImageService/ListImages".into(),
            Some(ApiVersion::V1alpha2)
        )
    );
}

#[test]
fn other_paths_are_left_alone() {
    for path in [
        "/runtime.v1.RuntimeService/Version",
        "/runtime.v1alpha2.OtherService/Version",
        "/runtime.v1alpha3.RuntimeService/Version",
        "/grpc.health.v1.Health/Check",
    ] {
        assert_eq!(rewritten(path), (path.to_string(), None), "{path}");
    }
}
