//! Container records of older formats, rewritten in the current one when the engine opens
//! (before restore reads them), all in one transaction.
//!
//! Format 1 (engines before the model) kept Docker's create body as `options` next to what
//! create resolved; format 2 keeps the engine's [`ContainerSpec`] converted from that body, and
//! the body itself as the Docker API's [`Extension`], so inspect shows what it showed.

use berth_store::metadata;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::Extension;
use crate::model::ContainerSpec;
use crate::spec::CreateOptions;
use crate::{Error, Result};

/// A format 1 record: the body, and the resolved fields that format 2 keeps unchanged.
#[derive(Deserialize)]
struct Format1 {
    options: CreateOptions,
    #[serde(flatten)]
    resolved: Map<String, Value>,
}

/// The config JSON of `c` in [`ContainerSpec::FORMAT`].
pub(crate) fn upgrade(c: &metadata::Container) -> Result<String> {
    let corrupt = |source| Error::CorruptRecord {
        id: c.id.to_string(),
        source,
    };
    let Format1 {
        options,
        mut resolved,
    } = serde_json::from_str(&c.config).map_err(corrupt)?;
    let spec = ContainerSpec::from_docker(&options, &c.name)?;
    resolved.insert(
        "spec".into(),
        serde_json::to_value(&spec).map_err(Error::Json)?,
    );
    let extension = Extension::DockerCreate(Box::new(options));
    resolved.insert(
        "extension".into(),
        serde_json::to_value(&extension).map_err(Error::Json)?,
    );
    serde_json::to_string(&resolved).map_err(Error::Json)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
