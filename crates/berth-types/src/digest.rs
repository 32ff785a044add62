use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Why a digest string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidDigest {
    #[error("digest {0:?} has no algorithm prefix (expected sha256:<64 hex>)")]
    MissingAlgorithm(String),
    #[error("digest {0:?} uses an unsupported algorithm (only sha256 and sha512 are supported)")]
    UnsupportedAlgorithm(String),
    #[error(
        "digest {0:?} has a malformed hex part (lowercase hex of the algorithm's length expected)"
    )]
    BadHex(String),
}

/// A validated content digest (`sha256:<64 lowercase hex>` or `sha512:<128 hex>`).
/// Validation makes the hex part safe to use as a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// Builds a sha256 digest from raw hash bytes.
    pub fn sha256_from_bytes(bytes: &[u8; 32]) -> Self {
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Self(s)
    }

    pub fn algorithm(&self) -> &str {
        self.0.split_once(':').map(|(a, _)| a).unwrap_or_default()
    }

    pub fn hex(&self) -> &str {
        self.0.split_once(':').map(|(_, h)| h).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex characters, as Docker prints ids.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl FromStr for Digest {
    type Err = InvalidDigest;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, hex) = s
            .split_once(':')
            .ok_or_else(|| InvalidDigest::MissingAlgorithm(s.to_string()))?;
        let len = match alg {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(InvalidDigest::UnsupportedAlgorithm(s.to_string())),
        };
        let lower_hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if hex.len() != len || !hex.chars().all(lower_hex) {
            return Err(InvalidDigest::BadHex(s.to_string()));
        }
        Ok(Self(s.to_string()))
    }
}

impl TryFrom<String> for Digest {
    type Error = InvalidDigest;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> Self {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
