//! The error stream's payload: a `metav1.Status` as JSON (protocol v4 and later), or its
//! message as plain text (earlier versions), written as the kubelet writes them.

use serde::Serialize;

use super::Outcome;

/// The fields of `metav1.Status` the streaming protocols use, with Go's JSON names and
/// omissions (`metadata` is a struct, so Go's `omitempty` keeps it as `{}`).
#[derive(Debug, Serialize)]
struct Status {
    metadata: Metadata,
    status: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    message: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Details>,
    #[serde(skip_serializing_if = "is_zero")]
    code: i32,
}

#[derive(Debug, Serialize)]
struct Metadata {}

#[derive(Debug, Serialize)]
struct Details {
    causes: Vec<Cause>,
}

/// `metav1.StatusCause`: its `Type` field is named `reason` in JSON.
#[derive(Debug, Serialize)]
struct Cause {
    #[serde(skip_serializing_if = "str::is_empty")]
    reason: &'static str,
    message: String,
}

fn is_zero(code: &i32) -> bool {
    *code == 0
}

fn status(outcome: &Outcome) -> Status {
    let (status, message, reason, details, code) = match outcome {
        Outcome::Exited(0) => ("Success", String::new(), "", None, 0),
        Outcome::Exited(exit) => (
            "Failure",
            format!("command terminated with non-zero exit code: exit status {exit}"),
            "NonZeroExitCode",
            Some(Details {
                causes: vec![Cause {
                    reason: "ExitCode",
                    message: exit.to_string(),
                }],
            }),
            0,
        ),
        Outcome::Failed(error) => (
            "Failure",
            format!("Internal error occurred: {error}"),
            "InternalError",
            Some(Details {
                causes: vec![Cause {
                    reason: "",
                    message: error.clone(),
                }],
            }),
            500,
        ),
    };
    Status {
        metadata: Metadata {},
        status,
        message,
        reason,
        details,
        code,
    }
}

/// What v4 and v5 write on the error stream: always a status, `Success` included.
pub(crate) fn json(outcome: &Outcome) -> Vec<u8> {
    // Serialising these plain structs cannot fail; an empty payload would read as success.
    serde_json::to_vec(&status(outcome)).unwrap_or_default()
}

/// What v1–v3 write: the failure's message, nothing on success.
pub(crate) fn text(outcome: &Outcome) -> Vec<u8> {
    status(outcome).message.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_what_the_kubelet_writes() {
        assert_eq!(
            String::from_utf8(json(&Outcome::Exited(0))).expect("utf8"),
            r#"{"metadata":{},"status":"Success"}"#
        );
        assert_eq!(
            String::from_utf8(json(&Outcome::Exited(3))).expect("utf8"),
            r#"{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: exit status 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        );
        assert_eq!(
            String::from_utf8(json(&Outcome::Failed("no such container".into()))).expect("utf8"),
            r#"{"metadata":{},"status":"Failure","message":"Internal error occurred: no such container","reason":"InternalError","details":{"causes":[{"message":"no such container"}]},"code":500}"#
        );
        assert!(text(&Outcome::Exited(0)).is_empty());
        assert_eq!(
            text(&Outcome::Exited(2)),
            b"command terminated with non-zero exit code: exit status 2"
        );
    }
}
