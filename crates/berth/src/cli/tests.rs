use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("berth").chain(args.iter().copied()))
}

#[test]
fn clap_definitions_are_consistent() {
    <Cli as clap::CommandFactory>::command().debug_assert();
}

#[test]
fn run_stops_parsing_flags_at_the_image() {
    let Ok(cli) = parse(&["run", "--rm", "-h", "box", "busybox", "ls", "-l", "-d"]) else {
        panic!("parse failed")
    };
    let Command::Run(run) = cli.command else {
        panic!("not run")
    };
    assert!(run.options.rm && !run.detach);
    assert_eq!(run.options.hostname.as_deref(), Some("box"));
    assert_eq!(run.options.image, "busybox");
    assert_eq!(run.options.command, ["ls", "-l", "-d"]);
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let Err(e) = parse(&["ps", "--bogus"]) else {
        panic!("should fail")
    };
    assert!(e.use_stderr());
}

#[test]
fn pod_commands_and_the_cri_socket() {
    let Ok(cli) = parse(&[
        "--cri-socket",
        "unix:///tmp/c.sock",
        "pod",
        "rm",
        "-f",
        "ab",
        "cd",
    ]) else {
        panic!("parse failed")
    };
    assert_eq!(cli.cri_socket, "unix:///tmp/c.sock");
    let Command::Pod(PodCommand::Rm(rm)) = cli.command else {
        panic!("not pod rm")
    };
    assert!(rm.force);
    assert_eq!(rm.pods, ["ab", "cd"]);
    let Ok(cli) = parse(&["pod", "ps", "-q", "--filter", "state=ready", "--no-trunc"]) else {
        panic!("parse failed")
    };
    let Command::Pod(PodCommand::Ls(ls)) = cli.command else {
        panic!("not pod ls")
    };
    assert!(ls.quiet && ls.no_trunc);
    assert_eq!(ls.filter, ["state=ready"]);
    assert!(parse(&["pod", "rm"]).is_err(), "rm needs a pod");
    assert!(parse(&["pod", "inspect"]).is_err(), "inspect needs a pod");
}

#[test]
fn ps_namespace_is_moby_or_k8s_io() {
    let Ok(cli) = parse(&["ps", "-a"]) else {
        panic!("parse failed")
    };
    let Command::Ps(ps) = cli.command else {
        panic!("not ps")
    };
    assert_eq!(ps.namespace, Namespace::Moby);
    let Ok(cli) = parse(&["container", "ls", "--namespace", "k8s.io", "-n", "2"]) else {
        panic!("parse failed")
    };
    let Command::Container(ContainerCommand::Ls(ls)) = cli.command else {
        panic!("not container ls")
    };
    assert_eq!((ls.namespace, ls.last), (Namespace::K8s, Some(2)));
    let Err(e) = parse(&["ps", "--namespace", "default"]) else {
        panic!("should fail")
    };
    let message = e.to_string();
    assert!(
        message.contains("moby") && message.contains("k8s.io"),
        "{message}"
    );
}
