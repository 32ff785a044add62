use super::*;

#[test]
fn write_never_creates_files() {
    let tmp = tempfile::tempdir().unwrap();
    let ctl = Ctl::new(tmp.path(), "pids");
    assert!(matches!(
        ctl.write("pids.max", "10"),
        Err(Error::FileMissing {
            controller: "pids",
            ..
        })
    ));
    assert!(!tmp.path().join("pids.max").exists());
    ctl.write_if_exists("pids.max", "10").unwrap();
}

#[test]
fn write_each_issues_one_write_per_value() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("io.max"), "old").unwrap();
    Ctl::new(tmp.path(), "io")
        .write_each("io.max", ["8:0 rbps=1\n", "8:16 wbps=2\n"])
        .unwrap();
    assert_eq!(
        fs::read_to_string(tmp.path().join("io.max")).unwrap(),
        "8:0 rbps=1\n8:16 wbps=2\n"
    );
}

#[test]
fn keyed_values() {
    let p = Path::new("memory.events");
    let content = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n";
    assert_eq!(keyed_value(p, content, "oom_kill").unwrap(), Some(2));
    assert_eq!(keyed_value(p, content, "oom").unwrap(), Some(1));
    assert_eq!(keyed_value(p, content, "missing").unwrap(), None);
    assert!(keyed_value(p, "oom x", "oom").is_err());
}

#[test]
fn remove_is_recursive_and_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    fs::create_dir_all(dir.join("sub/subsub")).unwrap();
    remove_cgroup(&dir).unwrap();
    assert!(!dir.exists());
    remove_cgroup(&dir).unwrap();
}
