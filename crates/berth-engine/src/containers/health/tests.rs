use super::*;

fn result(code: i32) -> HealthResult {
    HealthResult {
        start: Utc::now(),
        end: Utc::now(),
        exit_code: code,
        output: String::new(),
    }
}

#[test]
fn results_drive_the_status_like_dockerd() {
    let mut h = Health::default();
    apply_result(&mut h, result(1), true, 2);
    assert_eq!((h.status, h.failing_streak), (HealthStatus::Starting, 0));
    apply_result(&mut h, result(1), false, 2);
    apply_result(&mut h, result(1), false, 2);
    assert_eq!((h.status, h.failing_streak), (HealthStatus::Unhealthy, 2));
    apply_result(&mut h, result(0), false, 2);
    assert_eq!((h.status, h.failing_streak), (HealthStatus::Healthy, 0));
    for _ in 0..10 {
        apply_result(&mut h, result(0), false, 2);
    }
    assert_eq!(h.log.len(), MAX_LOG_ENTRIES);
}

#[test]
fn probes_take_docker_defaults() {
    let p = Probe::new(&Healthcheck {
        test: vec!["CMD-SHELL".into(), "test -f /tmp/ok".into()],
        ..Default::default()
    })
    .unwrap_or_else(|| panic!("probe"));
    assert_eq!(p.cmd, ["/bin/sh", "-c", "test -f /tmp/ok"]);
    assert_eq!(p.interval, DEFAULT_INTERVAL);
    assert_eq!(p.retries, DEFAULT_RETRIES);
    assert!(Probe::new(&Healthcheck {
        test: vec!["NONE".into()],
        ..Default::default()
    })
    .is_none());
}
