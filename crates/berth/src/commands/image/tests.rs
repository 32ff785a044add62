use super::*;

#[test]
fn references_split_like_docker() {
    assert_eq!(split_reference("busybox"), ("busybox".into(), None));
    assert_eq!(
        split_reference("busybox:1.36"),
        ("busybox".into(), Some("1.36".into()))
    );
    assert_eq!(
        split_reference("localhost:5000/app"),
        ("localhost:5000/app".into(), None)
    );
    assert_eq!(
        split_reference("localhost:5000/app:v1"),
        ("localhost:5000/app".into(), Some("v1".into()))
    );
}

#[test]
fn images_table() {
    let img = ImageSummary {
        id: "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741".into(),
        repo_tags: vec!["busybox:test".into(), "busybox:latest".into()],
        created: 1_700_000_000,
        size: 4_261_550,
        containers: 2,
        ..Default::default()
    };
    let rows = image_rows(&[img], false, 1_700_000_000 + 3 * 86400);
    let style = ListStyle {
        format: output::Format::Table,
        quiet: false,
        no_trunc: false,
        width: None,
    };
    insta::assert_snapshot!(output::render_list(&rows, &IMAGE_COLUMNS, &style, "ID"), @r"
        REPOSITORY   TAG      IMAGE ID       CREATED      SIZE
        busybox      test     3f57d9401f8d   3 days ago   4.26MB
        busybox      latest   3f57d9401f8d   3 days ago   4.26MB
        ");
}
