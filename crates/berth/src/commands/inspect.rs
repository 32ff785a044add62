//! `inspect`: containers, images, networks, then volumes (or only `--type`), printed as the daemon's JSON. The
//! raw object is shown (as `docker inspect` does), not bollard's typed model of it.

use anyhow::Result;
use serde_json::Value;

use crate::cli::InspectArgs;
use crate::client::{self, Client, Exit};
use crate::output::{self, fill_value, Format};

/// What `inspect` tries, in order, when no `--type` is given (as docker).
const KINDS: [&str; 4] = ["container", "image", "network", "volume"];

async fn lookup(c: &Client, name: &str, kind: Option<&str>, size: bool) -> Result<Value> {
    let get = |kind: &str| {
        let path = match kind {
            "container" if size => format!("/containers/{name}/json?size=1"),
            "container" => format!("/containers/{name}/json"),
            "image" => format!("/images/{name}/json"),
            "network" => format!("/networks/{name}"),
            _ => format!("/volumes/{name}"),
        };
        async move { c.get_json(&path).await }
    };
    match kind {
        Some(k) if KINDS.contains(&k) => get(k).await,
        Some(other) => Err(Exit::with(
            125,
            format!("\"{other}\" is not a valid value for --type"),
        )),
        None => {
            for k in KINDS {
                match get(k).await {
                    Err(e) if client::status_of(&e) == Some(404) => continue,
                    other => return other,
                }
            }
            Err(Exit::with(1, format!("Error: No such object: {name}")))
        }
    }
}

pub async fn inspect(c: &Client, a: InspectArgs, kind: Option<&str>) -> Result<()> {
    let kind = a.kind.as_deref().or(kind);
    let format = Format::parse(a.format.format.as_deref());
    let mut found = Vec::new();
    let mut failed = false;
    for name in &a.names {
        match lookup(c, name, kind, a.size).await {
            Ok(v) => found.push(v),
            Err(e) => {
                failed = true;
                match e.downcast_ref::<Exit>() {
                    Some(exit) if exit.code != 1 => return Err(e),
                    Some(exit) => eprintln!("{exit}"),
                    None if client::status_of(&e) == Some(404) => {
                        eprintln!("Error: No such {}: {name}", kind.unwrap_or("object"));
                    }
                    None => eprintln!("{}", client::describe(&e)),
                }
            }
        }
    }
    let text = match &format {
        Format::Table => format!("{}\n", output::json_pretty(&Value::Array(found))),
        Format::Json => found.iter().map(|v| format!("{v}\n")).collect(),
        Format::Template(t) | Format::TableTemplate(t) => found
            .iter()
            .map(|v| format!("{}\n", fill_value(t, v)))
            .collect(),
    };
    output::print(&text);
    if failed {
        return Err(Exit::code(1));
    }
    Ok(())
}
