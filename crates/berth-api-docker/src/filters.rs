//! Docker's `filters` query parameter: JSON `{"key": ["value", ...]}` (or the older
//! `{"key": {"value": true}}`). A key that is absent accepts everything.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ApiError;

#[derive(Debug, Clone, Default)]
pub struct Filters(BTreeMap<String, BTreeSet<String>>);

impl Filters {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(Self::default());
        };
        let bad = |e: String| ApiError::BadRequest(format!("invalid filter {raw:?}: {e}"));
        let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| bad(e.to_string()))?;
        let object = value
            .as_object()
            .ok_or_else(|| bad("expected a JSON object".into()))?;
        let mut out = BTreeMap::new();
        for (key, values) in object {
            let set: BTreeSet<String> = match values {
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(format!("values of {key:?} must be strings")))?,
                serde_json::Value::Object(map) => map
                    .iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(false))
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => return Err(bad(format!("values of {key:?} must be a list"))),
            };
            out.insert(key.clone(), set);
        }
        Ok(Self(out))
    }

    pub fn values(&self, key: &str) -> Option<&BTreeSet<String>> {
        self.0.get(key)
    }

    /// Keys must be among `known`, as dockerd refuses unknown filters.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(ApiError::BadRequest(format!("invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    pub fn accepts(&self, key: &str, value: &str) -> bool {
        self.0.get(key).is_none_or(|set| set.contains(value))
    }

    /// True when any of `values` matches (ids match by prefix too, as Docker's name/id filters).
    pub fn accepts_any(&self, key: &str, values: &[Option<&str>]) -> bool {
        self.0.get(key).is_none_or(|set| {
            set.iter().any(|wanted| {
                values
                    .iter()
                    .flatten()
                    .any(|v| v == wanted || (wanted.len() >= 3 && v.starts_with(wanted.as_str())))
            })
        })
    }

    /// `label=key` and `label=key=value` filters, all of which must hold.
    pub fn accepts_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.get("label").is_none_or(|set| {
            set.iter().all(|f| match f.split_once('=') {
                Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
                None => labels.contains_key(f),
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
