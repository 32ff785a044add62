//! Manifest formats: Docker v2.2 manifests and manifest lists, OCI manifests and indexes; the
//! platform an index entry is chosen for.

use berth_types::Digest;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Media types Berth reads and writes.
pub mod media {
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    pub const DOCKER_FOREIGN_LAYER: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Prefix of the OCI non-distributable layer types (`+gzip`, `+zstd` or plain).
    pub const OCI_NONDISTRIBUTABLE_PREFIX: &str =
        "application/vnd.oci.image.layer.nondistributable.v1.tar";

    /// The `Accept` list of a manifest request.
    pub const ACCEPTED: &[&str] = &[DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX];
}

/// `os[/arch[/variant]]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform this binary runs on, in Go's names as registries use them.
    pub fn host() -> Self {
        let architecture = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Self {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: None,
        }
    }

    /// `--platform`: `linux/amd64`, `linux/arm64/v8`, or an empty string for the host.
    pub fn parse(s: &str) -> Result<Self> {
        if s.trim().is_empty() {
            return Ok(Self::host());
        }
        let mut parts = s.trim().split('/');
        let os = parts.next().filter(|p| !p.is_empty());
        let arch = parts.next();
        let variant = parts.next();
        match (os, parts.next()) {
            (Some(os), None) => Ok(Self {
                os: os.to_ascii_lowercase(),
                architecture: arch.map_or_else(
                    || Self::host().architecture,
                    |a| normalize_arch(&a.to_ascii_lowercase()),
                ),
                variant: variant.map(str::to_string),
            }),
            _ => Err(Error::BadPlatform(s.to_string())),
        }
    }

    fn matches(&self, entry: &Platform) -> bool {
        let default_variant = |p: &Platform| match (p.architecture.as_str(), &p.variant) {
            ("arm64", None) => Some("v8".to_string()),
            (_, v) => v.clone(),
        };
        self.os == entry.os
            && self.architecture == normalize_arch(&entry.architecture)
            && (self.variant.is_none() || default_variant(self) == default_variant(entry))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

fn normalize_arch(a: &str) -> String {
    match a {
        "x86_64" | "x86-64" => "amd64".into(),
        "aarch64" => "arm64".into(),
        other => other.into(),
    }
}

/// A content descriptor as manifests carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// Foreign (Windows base) and non-distributable layers live elsewhere; Docker skips them.
    pub fn is_foreign(&self) -> bool {
        self.media_type == media::DOCKER_FOREIGN_LAYER
            || self
                .media_type
                .starts_with(media::OCI_NONDISTRIBUTABLE_PREFIX)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
}

/// A parsed manifest: either one image or a list of per-platform images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Manifest {
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
    Index {
        media_type: String,
        manifests: Vec<Descriptor>,
    },
}

impl Manifest {
    pub fn parse(reference: &str, bytes: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::BadManifest {
            reference: reference.to_string(),
            reason,
        };
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if raw.schema_version != Some(2) {
            return Err(Error::UnsupportedManifest {
                reference: reference.to_string(),
                media_type: format!(
                    "schemaVersion {}",
                    raw.schema_version
                        .map_or("missing".into(), |v| v.to_string())
                ),
            });
        }
        // OCI allows omitting mediaType: the shape tells.
        let media_type = raw.media_type.unwrap_or_else(|| {
            if raw.manifests.is_some() {
                media::OCI_INDEX
            } else {
                media::OCI_MANIFEST
            }
            .to_string()
        });
        match media_type.as_str() {
            media::DOCKER_LIST | media::OCI_INDEX => Ok(Self::Index {
                manifests: raw
                    .manifests
                    .ok_or_else(|| bad("index without manifests".into()))?,
                media_type,
            }),
            media::DOCKER_MANIFEST | media::OCI_MANIFEST => Ok(Self::Image {
                config: raw
                    .config
                    .ok_or_else(|| bad("manifest without config".into()))?,
                layers: raw.layers.unwrap_or_default(),
                media_type,
            }),
            _ => Err(Error::UnsupportedManifest {
                reference: reference.to_string(),
                media_type,
            }),
        }
    }

    /// The index entry for `platform` (the first match, as containerd and Docker).
    pub fn select(&self, reference: &str, platform: &Platform) -> Result<Option<&Descriptor>> {
        match self {
            Self::Image { .. } => Ok(None),
            Self::Index { manifests, .. } => manifests
                .iter()
                .filter(|d| {
                    media::ACCEPTED.contains(&d.media_type.as_str()) || d.media_type.is_empty()
                })
                .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
                .map(Some)
                .ok_or_else(|| Error::NoMatchingPlatform {
                    reference: reference.to_string(),
                    platform: platform.to_string(),
                }),
        }
    }
}

/// The image manifest a reference resolved to.
#[derive(Debug, Clone)]
pub struct ResolvedManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    /// The index it was selected from, when the reference named one.
    pub index_digest: Option<Digest>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
