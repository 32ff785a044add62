use super::*;

/// The argv and script of the Dockerfile's only instruction, a RUN, with `/bin/sh -c`.
fn run(dockerfile: &str) -> (Vec<String>, Option<Script>) {
    let parsed = berth_dockerfile::Dockerfile::parse("Dockerfile", dockerfile).unwrap();
    let instructions = parsed.instructions().unwrap();
    let InstructionKind::Run(run) = &instructions[0].kind else {
        panic!("not a RUN: {instructions:?}");
    };
    run_argv(&["/bin/sh".into(), "-c".into()], run).unwrap()
}

#[test]
fn a_lone_heredoc_is_the_shells_script() {
    let (argv, script) = run("RUN <<EOF\necho a\necho b\nEOF\n");
    assert_eq!(argv, ["/bin/sh", "-c", "echo a\necho b\n"]);
    assert!(script.is_none());
    let (argv, _) = run("RUN <<-\"EOF\"\n\techo a\nEOF\n");
    assert_eq!(argv, ["/bin/sh", "-c", "echo a\n"]);
}

#[test]
fn a_heredoc_with_a_shebang_is_a_file_the_shell_runs() {
    let (argv, script) = run("RUN <<EOT\n#!/usr/bin/env python3\nprint(1)\nEOT\n");
    assert_eq!(argv, ["/bin/sh", "-c", "/dev/pipes/EOT"]);
    let script = script.unwrap();
    assert_eq!(script.name, "EOT");
    assert_eq!(script.content, "#!/usr/bin/env python3\nprint(1)\n");
}

#[test]
fn heredocs_feeding_a_command_go_back_into_its_line() {
    let (argv, script) = run("RUN python3 <<EOF\nprint(1)\nEOF\n");
    assert_eq!(argv, ["/bin/sh", "-c", "python3 <<EOF\nprint(1)\nEOF"]);
    assert!(script.is_none());
    let (argv, _) = run("RUN cat <<A >a && cat <<'B' >b\n1\nA\n$x\nB\n");
    assert_eq!(
        argv,
        ["/bin/sh", "-c", "cat <<A >a && cat <<'B' >b\n1\nA\n$x\nB"]
    );
}

#[test]
fn lone_heredocs_are_recognised_with_their_quotes() {
    assert!(lone_heredoc("<<EOF", "EOF"));
    assert!(lone_heredoc(" <<-'EOF' ", "EOF"));
    assert!(lone_heredoc("<<\"EOF\"", "EOF"));
    assert!(!lone_heredoc("cat <<EOF", "EOF"));
    assert!(!lone_heredoc("<<EOF2", "EOF"));
}
