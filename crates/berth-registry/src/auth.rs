//! Credentials as the Docker API carries them: the `X-Registry-Auth` header of pull and push
//! (base64url of an `AuthConfig` JSON) and the body of `POST /auth`.

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Docker's `AuthConfig`. Only the fields that can authenticate are kept.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct Credentials {
    #[serde(default, deserialize_with = "string_or_null")]
    pub username: String,
    #[serde(default, deserialize_with = "string_or_null")]
    pub password: String,
    /// base64 of `user:password`, as config.json stores it.
    #[serde(default, deserialize_with = "string_or_null")]
    pub auth: String,
    #[serde(default, deserialize_with = "string_or_null", rename = "serveraddress")]
    pub server_address: String,
    /// A bearer token to send as is.
    #[serde(default, deserialize_with = "string_or_null", rename = "registrytoken")]
    pub registry_token: String,
}

/// Clients send absent fields as `null` (bollard) or leave them out (docker).
fn string_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

impl std::fmt::Debug for Credentials {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("server_address", &self.server_address)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Decodes an `X-Registry-Auth` header. Docker encodes with base64url; older clients sent
    /// standard base64, with or without padding, so all are accepted.
    pub fn from_header(value: &str) -> Result<Self> {
        let value = value.trim();
        if value.is_empty() || value == "e30=" || value == "e30" {
            return Ok(Self::default());
        }
        let trimmed = value.trim_end_matches('=');
        let json = [
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ]
        .iter()
        .find_map(|e| e.decode(trimmed).ok())
        .ok_or(Error::BadAuthHeader("not base64"))?;
        serde_json::from_slice(&json).map_err(|_| Error::BadAuthHeader("not an AuthConfig JSON"))
    }

    /// The header value for these credentials.
    pub fn to_header(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE.encode(json)
    }

    /// User and password, from the explicit fields or the `auth` pair.
    fn user_password(&self) -> Option<(String, String)> {
        if !self.username.is_empty() {
            return Some((self.username.clone(), self.password.clone()));
        }
        let pair = base64::engine::general_purpose::STANDARD
            .decode(self.auth.trim())
            .ok()?;
        let pair = String::from_utf8(pair).ok()?;
        let (user, password) = pair.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    }

    pub(crate) fn registry_auth(&self) -> RegistryAuth {
        if !self.registry_token.is_empty() {
            return RegistryAuth::Bearer(self.registry_token.clone());
        }
        match self.user_password() {
            Some((user, password)) => RegistryAuth::Basic(user, password),
            None => RegistryAuth::Anonymous,
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self.registry_auth(), RegistryAuth::Anonymous)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
