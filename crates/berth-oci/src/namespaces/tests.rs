use super::*;
use oci_spec::runtime::LinuxNamespaceBuilder;

fn ns(t: LinuxNamespaceType, path: Option<&str>) -> LinuxNamespace {
    let b = LinuxNamespaceBuilder::default().typ(t);
    match path {
        Some(p) => b.path(p).build().unwrap(),
        None => b.build().unwrap(),
    }
}

#[test]
fn common_case_is_one_clone() {
    use LinuxNamespaceType::*;
    let p = plan(&[
        ns(Pid, None),
        ns(Network, None),
        ns(Mount, None),
        ns(Cgroup, None),
    ]);
    assert_eq!(
        p.clone_flags,
        CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS
    );
    assert!(p.new_cgroup && !p.second_fork && p.has_mount);
}

#[test]
fn no_namespaces_inherit_all_with_one_plain_fork() {
    let p = plan(&[]);
    assert!(p.clone_flags.is_empty() && p.unshare_flags.is_empty() && p.joins.is_empty());
    assert!(!p.has_mount && !p.has_user && !p.new_pid && !p.new_cgroup && !p.second_fork);
}

#[test]
fn joined_pid_or_time_needs_a_second_fork() {
    use LinuxNamespaceType::*;
    let p = plan(&[ns(Pid, Some("/proc/1/ns/pid")), ns(Mount, None)]);
    assert!(p.second_fork);
    assert_eq!(p.joins, vec![(Pid, PathBuf::from("/proc/1/ns/pid"))]);
    let p = plan(&[ns(Pid, None), ns(Time, None), ns(Mount, None)]);
    assert!(p.second_fork && p.new_time);
    assert_eq!(p.clone_flags, CloneFlags::CLONE_NEWNS);
    assert_eq!(p.unshare_flags, CloneFlags::CLONE_NEWPID);
}

#[test]
fn joined_user_comes_first_and_owns_new_namespaces() {
    use LinuxNamespaceType::*;
    let p = plan(&[
        ns(Network, Some("/n")),
        ns(User, Some("/u")),
        ns(Mount, None),
    ]);
    assert_eq!(p.joins[0].0, User);
    assert!(p.clone_flags.is_empty());
    assert_eq!(p.unshare_flags, CloneFlags::CLONE_NEWNS);
}
