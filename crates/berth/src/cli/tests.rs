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
