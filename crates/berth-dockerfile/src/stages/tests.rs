use std::collections::BTreeMap;

use super::*;

fn stages(text: &str) -> Stages {
    Dockerfile::parse("Dockerfile", text)
        .unwrap()
        .stages()
        .unwrap()
}

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn graph(text: &str, build_args: &[(&str, &str)]) -> StageGraph {
    stages(text)
        .resolve(&args(build_args), &BTreeMap::new())
        .unwrap()
}

fn stages_err(text: &str) -> String {
    Dockerfile::parse("Dockerfile", text)
        .unwrap()
        .stages()
        .unwrap_err()
        .to_string()
}

fn resolve_err(text: &str) -> String {
    stages(text)
        .resolve(&args(&[]), &BTreeMap::new())
        .unwrap_err()
        .to_string()
}

fn image(name: &str) -> Base {
    Base::Image(name.to_string())
}

/// The reference's `FROM` example: `base` is shared, `build` is not a stage but an image.
#[test]
fn reference_multi_stage() {
    let text = "FROM ubuntu AS base\nRUN apt-get update\n\nFROM base AS dev\nRUN apt-get install -y dev-tooling\n\nFROM base AS prod\nCOPY --from=build /app /app\n";
    let all = stages(text);
    assert_eq!(all.stages().len(), 3);
    assert_eq!(all.stages()[2].sources, [Source::Image("build".into())]);
    assert_eq!(all.find("PROD"), Some(2));
    let g = graph(text, &[]);
    let bases: Vec<&Base> = g.stages.iter().map(|s| &s.base).collect();
    assert_eq!(bases, [&image("ubuntu"), &Base::Stage(0), &Base::Stage(0)]);
    assert_eq!(g.needed(None).unwrap(), [0, 2]);
    assert_eq!(g.needed(Some("dev")).unwrap(), [0, 1]);
    assert_eq!(g.needed(Some("base")).unwrap(), [0]);
    assert_eq!(
        g.needed(Some("test")).unwrap_err().to_string(),
        "Dockerfile: target stage \"test\" could not be found"
    );
}

/// The reference's "Understand how ARG and FROM interact".
#[test]
fn global_args_in_from() {
    let text = "ARG  CODE_VERSION=latest\nFROM base:${CODE_VERSION}\nCMD  /code/run-app\n\nFROM extras:${CODE_VERSION}\nCMD  /code/run-extras\n";
    let all = stages(text);
    assert_eq!(all.global_args().len(), 1);
    let g = all.resolve(&args(&[]), &BTreeMap::new()).unwrap();
    assert_eq!(g.stages[0].base, image("base:latest"));
    assert_eq!(g.stages[1].base, image("extras:latest"));
    assert_eq!(
        g.stages[0].used_args.iter().collect::<Vec<_>>(),
        ["CODE_VERSION"]
    );
    let g = all
        .resolve(&args(&[("CODE_VERSION", "1.2")]), &BTreeMap::new())
        .unwrap();
    assert_eq!(g.stages[1].base, image("extras:1.2"));
    assert_eq!(
        g.global_args.get("CODE_VERSION").map(String::as_str),
        Some("1.2")
    );

    // A build argument without a global ARG is not visible to FROM.
    let g = graph("FROM busybox:$V\n", &[("V", "1")]);
    assert_eq!(g.stages[0].base, image("busybox:"));
    // Defaults see the global ARGs before them; an ARG with no value is not set.
    let g = graph("ARG A=1\nARG B=${A}2 C\nFROM x:$B${C:-3}\n", &[]);
    assert_eq!(g.stages[0].base, image("x:123"));
    assert!(!g.global_args.contains_key("C"));
    assert_eq!(
        resolve_err("ARG X\nFROM $X\n"),
        "Dockerfile line 2: FROM: base name ($X) should not be blank"
    );
    assert_eq!(
        resolve_err("ARG X=${Y:?no}\nFROM a\n"),
        "Dockerfile line 1: ARG: failed to process \"${Y:?no}\": Y: no"
    );
}

#[test]
fn platform_args_in_from() {
    let text = "FROM --platform=$BUILDPLATFORM golang AS build\nFROM --platform=${TARGETPLATFORM} alpine\nFROM scratch\n";
    let build = Platform::parse("linux/amd64").unwrap();
    let target = Platform::parse("linux/arm64").unwrap();
    let predefined = crate::platform::predefined_args(&build, &target);
    let g = stages(text).resolve(&args(&[]), &predefined).unwrap();
    assert_eq!(g.stages[0].platform, Some(build));
    assert_eq!(g.stages[1].platform, Some(target));
    assert_eq!(
        g.stages[0].used_args.iter().collect::<Vec<_>>(),
        ["BUILDPLATFORM"]
    );
    assert_eq!(g.stages[2].base, Base::Scratch);
    // Build arguments override predefined ones.
    let g = stages(text)
        .resolve(&args(&[("BUILDPLATFORM", "linux/s390x")]), &predefined)
        .unwrap();
    assert_eq!(
        g.stages[0]
            .platform
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("linux/s390x")
    );
    assert!(resolve_err("FROM --platform=linux/*/x a\n")
        .starts_with("Dockerfile line 1: FROM: failed to parse platform"));
    assert_eq!(
        resolve_err("FROM --platform=$NOPE a\n"),
        "Dockerfile line 1: FROM: empty platform value from expression $NOPE"
    );
}

#[test]
fn stage_names_are_case_insensitive_and_unique() {
    let text =
        "FROM alpine AS Builder\nRUN make\nFROM BUILDER AS app\nCOPY --from=builder /out /\n";
    let g = graph(text, &[]);
    assert_eq!(g.stages[1].base, Base::Stage(0));
    assert_eq!(g.stages[1].deps, [0]);
    assert_eq!(g.needed(Some("BuIlDeR")).unwrap(), [0]);
    assert_eq!(
        stages_err("FROM a AS x\nFROM b AS y\nFROM c AS X\n"),
        "Dockerfile line 3: FROM: x stage name already used"
    );
}

#[test]
fn from_refers_only_to_earlier_stages() {
    let g = graph("FROM b AS a\nFROM alpine AS b\nFROM foo AS foo\n", &[]);
    assert_eq!(g.stages[0].base, image("b"));
    assert_eq!(g.stages[2].base, image("foo"));
}

#[test]
fn copy_from_index_name_and_image() {
    let text = "FROM a\nFROM b\nCOPY --from=0 /x /x\nCOPY --from=nginx:latest /etc/nginx/nginx.conf /nginx.conf\nCOPY --from=0 /y /y\n";
    let all = stages(text);
    assert_eq!(
        all.stages()[1].sources,
        [Source::Stage(0), Source::Image("nginx:latest".into())]
    );
    for (from, index) in [("1", 1), ("5", 1), ("-1", 1), ("0", 0)] {
        let text = format!(
            "FROM a\n{}COPY --from={from} /x /x\n",
            "FROM b\n".repeat(index)
        );
        assert_eq!(
            stages_err(&text),
            format!(
                "Dockerfile line {}: COPY: invalid stage index {from}",
                index + 2
            )
        );
    }
    assert!(stages_err("FROM a AS x\nFROM b\nCOPY --from=$X /a /b\n")
        .contains("variable expansion is not supported for --from"));
}

#[test]
fn run_mount_from_stage() {
    let text = "FROM golang AS build\nRUN go build -o /out/app\nFROM alpine AS tools\nFROM alpine\nRUN --mount=type=bind,from=build,source=/out,target=/in --mount=type=cache,target=/c --mount=from=busybox,target=/bb cp /in/app /app\n";
    let all = stages(text);
    assert_eq!(all.stages()[1].sources, []);
    assert_eq!(all.stages()[1].instructions.len(), 0);
    assert_eq!(
        all.stages()[2].sources,
        [Source::Stage(0), Source::Image("busybox".into())]
    );
    let g = all.resolve(&args(&[]), &BTreeMap::new()).unwrap();
    assert_eq!(g.needed(None).unwrap(), [0, 2]);
}

#[test]
fn needed_orders_dependencies_first() {
    // Stage 0 copies from a later stage by name, as BuildKit allows.
    let text = "FROM a AS first\nCOPY --from=second /x /x\nFROM b AS second\nFROM c AS unused\nFROM first AS last\n";
    let g = graph(text, &[]);
    assert_eq!(g.stages[0].deps, [1]);
    assert_eq!(g.needed(None).unwrap(), [1, 0, 3]);
    assert_eq!(g.needed(Some("unused")).unwrap(), [2]);
}

#[test]
fn circular_dependencies() {
    assert_eq!(
        resolve_err("FROM a AS x\nCOPY --from=y /a /a\nFROM b AS y\nCOPY --from=x /b /b\n"),
        "Dockerfile: circular dependency detected on stage: x"
    );
    assert_eq!(
        resolve_err("FROM a\nFROM b AS self\nCOPY --from=self /a /a\n"),
        "Dockerfile: circular dependency detected on stage: self"
    );
    assert_eq!(
        resolve_err(
            "FROM a\nRUN --mount=from=stage-x true\nFROM b AS stage-x\nCOPY --from=0 /a /a\n"
        ),
        "Dockerfile: circular dependency detected on stage: stage-0"
    );
}

#[test]
fn instructions_before_from() {
    assert_eq!(
        stages_err("ARG A\nRUN echo\nFROM a\n"),
        "Dockerfile line 2: RUN: no build stage in current context"
    );
    assert_eq!(
        stages_err("ARG A\n"),
        "Dockerfile: dockerfile contains no stages to build"
    );
    let all = stages("# syntax=docker/dockerfile:1\nARG VERSION=latest\nFROM busybox:$VERSION\nARG VERSION\nRUN echo $VERSION > image_version\n");
    assert_eq!(all.global_args().len(), 1);
    assert_eq!(all.stages()[0].instructions.len(), 2);
}
