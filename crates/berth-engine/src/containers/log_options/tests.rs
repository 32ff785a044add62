use super::*;
use crate::model::FileLogOptions;

#[test]
fn file_drivers_rotate_as_asked_and_none_writes_nothing() {
    let file = FileLogOptions {
        max_size: Some(10 << 20),
        max_files: Some(3),
        ..Default::default()
    };
    let Ok(Some((o, LogFormat::JsonFile))) = shim_log(&LogSpec::Local(file), "/l".into()) else {
        panic!("no log options");
    };
    assert_eq!(
        (o.path, o.max_size, o.max_files),
        ("/l".into(), 10 << 20, 3)
    );
    let Ok(Some((o, LogFormat::JsonFile))) = shim_log(&LogSpec::default(), "/l".into()) else {
        panic!("no log options");
    };
    assert_eq!((o.max_size, o.max_files), (0, 1));
    assert!(matches!(shim_log(&LogSpec::None, "/l".into()), Ok(None)));
    let cri = LogSpec::Cri {
        path: "/var/log/pods/x.log".into(),
    };
    let Ok(Some((o, LogFormat::Cri))) = shim_log(&cri, "/l".into()) else {
        panic!("no CRI log options");
    };
    // The kubelet's path, never rotated by the shim.
    assert_eq!(
        (o.path, o.max_size, o.max_files),
        ("/var/log/pods/x.log".into(), 0, 1)
    );
}
