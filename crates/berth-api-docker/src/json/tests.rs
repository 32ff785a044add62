#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use serde::Deserialize;

use super::from_slice;

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
struct Inner {
    start_period: i64,
    test: Vec<String>,
}

#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
struct Outer {
    detach_keys: String,
    tty: bool,
    health: Option<Inner>,
    list: Vec<Inner>,
    labels: BTreeMap<String, String>,
}

#[test]
fn keys_match_fields_whatever_their_case_at_every_depth() {
    let o: Outer = from_slice(
        br#"{"detachKeys":"ctrl-x","TTY":true,"health":{"startperiod":5,"TEST":["a"]},
            "list":[{"startPeriod":1}],"Labels":{"keepCase":"v"}}"#,
    )
    .unwrap();
    assert_eq!(o.detach_keys, "ctrl-x");
    assert!(o.tty);
    assert_eq!(o.health.unwrap().start_period, 5);
    assert_eq!(o.list[0].start_period, 1);
    // Map keys are data, not field names: kept as sent.
    assert_eq!(o.labels.get("keepCase").map(String::as_str), Some("v"));
}

#[test]
fn exact_names_win_over_case_folded_ones() {
    let o: Outer = from_slice(br#"{"tty":false,"Tty":true}"#).unwrap();
    assert!(o.tty);
}

#[test]
fn null_is_an_absent_field() {
    let o: Outer = from_slice(
        br#"{"DetachKeys":null,"Health":{"StartPeriod":null,"Test":null},"Labels":null}"#,
    )
    .unwrap();
    assert_eq!(o.health, Some(Inner::default()));
    assert_eq!(
        o,
        Outer {
            health: Some(Inner::default()),
            ..Outer::default()
        }
    );
}

#[test]
fn empty_body_is_an_empty_object_and_bad_json_is_an_error() {
    assert_eq!(from_slice::<Outer>(b"").unwrap(), Outer::default());
    assert!(from_slice::<Outer>(b"{").is_err());
    assert!(from_slice::<Outer>(br#"{"Tty":"yes"}"#).is_err());
}
