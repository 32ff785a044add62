#![allow(clippy::unwrap_used)]
use super::*;

#[test]
fn ps_rows_are_filtered_and_commands_keep_spaces() {
    let out = "UID PID PPID C STIME TTY TIME CMD\n\
               root 1 0 0 10:00 ? 00:00:01 /sbin/init splash\n\
               root 42 1 0 10:01 ? 00:00:00 sleep 1000\n";
    let top = parse_ps(out, &[42]).unwrap();
    assert_eq!(top.titles.len(), 8);
    assert_eq!(top.processes.len(), 1);
    assert_eq!(top.processes[0][1], "42");
    assert_eq!(top.processes[0][7], "sleep 1000");
    assert!(parse_ps("USER CMD\nroot x\n", &[1]).is_err());
}

#[test]
fn update_resources_only_name_what_changed() {
    let req = UpdateRequest {
        memory: Some(64 << 20),
        nano_cpus: Some(500_000_000),
        ..Default::default()
    };
    let c = super::super::docker_container(crate::spec::CreateOptions::default());
    let updated = apply_update(&c, &req).unwrap();
    // Memory and swap go together (v2 needs both); Docker's default swap is twice the memory.
    let v = resources_json(&req, &updated.config.spec.resources);
    assert_eq!(v["memory"]["limit"], json!(64 << 20));
    assert_eq!(v["memory"]["swap"], json!(128 << 20));
    assert_eq!(v["cpu"]["quota"], json!(50_000));
    assert_eq!(v["cpu"]["period"], json!(100_000));
    assert!(v["cpu"].get("shares").is_none());
    assert!(v.get("pids").is_none());

    // Unlimited swap and pids, from the model's `None`.
    let req = UpdateRequest {
        memory_swap: Some(-1),
        pids_limit: Some(0),
        ..Default::default()
    };
    let updated = apply_update(&updated, &req).unwrap();
    let v = resources_json(&req, &updated.config.spec.resources);
    assert_eq!(v["memory"]["limit"], json!(64 << 20));
    assert_eq!(v["memory"]["swap"], json!(-1));
    assert_eq!(v["pids"]["limit"], json!(-1));
    assert!(v.get("cpu").is_none());
}

fn policy(name: &str, retries: i64) -> Option<RestartPolicy> {
    Some(RestartPolicy {
        name: name.into(),
        maximum_retry_count: retries,
    })
}

#[test]
fn update_sets_the_restart_policy_in_the_model_and_the_body() {
    let c = super::super::docker_container(crate::spec::CreateOptions::default());
    let req = UpdateRequest {
        restart_policy: policy("on-failure", 3),
        ..Default::default()
    };
    let updated = apply_update(&c, &req).unwrap();
    assert_eq!(
        updated.config.spec.restart,
        model::RestartPolicy::OnFailure {
            max_retries: Some(3)
        }
    );
    assert_eq!(
        updated.docker().unwrap().host_config.restart_policy.name,
        "on-failure"
    );
    // An empty name keeps the policy, as in dockerd.
    let kept = apply_update(&updated, &UpdateRequest::default()).unwrap();
    assert_eq!(kept.config.spec.restart, updated.config.spec.restart);
}

#[test]
fn update_refuses_bad_restart_policies() {
    let c = super::super::docker_container(crate::spec::CreateOptions::default());
    let bad = UpdateRequest {
        memory: Some(64 << 20),
        restart_policy: policy("sometimes", 0),
        ..Default::default()
    };
    let err = apply_update(&c, &bad).unwrap_err();
    assert!(err.to_string().contains("unknown restart policy"), "{err}");

    let mut opts = crate::spec::CreateOptions::default();
    opts.host_config.auto_remove = true;
    let rm = super::super::docker_container(opts);
    let err = apply_update(
        &rm,
        &UpdateRequest {
            restart_policy: policy("always", 0),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("AutoRemove"), "{err}");
    let no = UpdateRequest {
        restart_policy: policy("no", 0),
        ..Default::default()
    };
    assert_eq!(
        apply_update(&rm, &no).unwrap().config.spec.restart,
        model::RestartPolicy::No
    );
}
