//! One repository on one endpoint with one set of credentials: the requests a pull or push
//! makes, each error naming the registry and what was asked.

use berth_types::Digest;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, TryStreamExt};
use oci_client::client::BlobResponse;
use oci_client::secrets::RegistryAuth;
use oci_client::{Reference, RegistryOperation};
use sha2::{Digest as _, Sha256};

use crate::manifest::{media, Descriptor, Manifest, Platform, ResolvedManifest};
use crate::{Credentials, Endpoint, Error, Result};

/// A blob download: the bytes from the requested offset on, or from 0 when the server ignored
/// the `Range` request (`resumed` false).
pub struct BlobStream {
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
    pub resumed: bool,
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("resumed", &self.resumed)
            .finish_non_exhaustive()
    }
}

/// A manifest or index as the registry serves it.
#[derive(Debug, Clone)]
pub struct RawManifest {
    pub bytes: Vec<u8>,
    pub digest: Digest,
    pub media_type: String,
}

/// Docker's `DistributionInspect`: the descriptor of what a reference names in the registry,
/// and the platforms it serves.
#[derive(Debug, Clone)]
pub struct Distribution {
    pub descriptor: Descriptor,
    pub platforms: Vec<Platform>,
}

pub struct Session {
    client: oci_client::Client,
    endpoint: Endpoint,
    repository: String,
    auth: RegistryAuth,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session for `repository` (the path inside the registry, e.g. `library/busybox`).
    pub fn new(endpoint: Endpoint, repository: &str, credentials: &Credentials) -> Result<Self> {
        Ok(Self {
            client: endpoint.client()?,
            repository: repository.to_string(),
            auth: credentials.registry_auth(),
            endpoint,
        })
    }

    /// [`Session::new`], then [`Session::authenticate`]: a session ready to pull (or push).
    pub async fn authenticated(
        endpoint: Endpoint,
        repository: &str,
        credentials: &Credentials,
        push: bool,
    ) -> Result<Self> {
        let session = Self::new(endpoint, repository, credentials)?;
        session.authenticate(push).await?;
        Ok(session)
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn reference(&self, tag_or_digest: &str) -> Reference {
        if tag_or_digest.contains(':') {
            Reference::with_digest(
                self.endpoint.host.clone(),
                self.repository.clone(),
                tag_or_digest.to_string(),
            )
        } else {
            Reference::with_tag(
                self.endpoint.host.clone(),
                self.repository.clone(),
                tag_or_digest.to_string(),
            )
        }
    }

    /// Any reference into the repository, for blob requests (only registry and path count).
    fn repo_ref(&self) -> Reference {
        self.reference("latest")
    }

    fn err(
        &self,
        what: impl Into<String>,
    ) -> impl FnOnce(oci_client::errors::OciDistributionError) -> Error + '_ {
        let what = what.into();
        move |e| Error::registry(&self.endpoint.host, what, e)
    }

    /// Answers the registry's challenge (basic, or a bearer token for the scope of `op`) so
    /// that refused credentials fail here, with a clear message.
    pub async fn authenticate(&self, push: bool) -> Result<()> {
        let op = if push {
            RegistryOperation::Push
        } else {
            RegistryOperation::Pull
        };
        self.client
            .auth(&self.repo_ref(), &self.auth, op)
            .await
            .map(drop)
            .map_err(self.err(format!("authenticate for {}", self.repository)))
    }

    /// `POST /auth`: whether the registry takes these credentials. A bearer challenge is
    /// answered by the token server (which checks them); a basic one is tried on a request.
    pub async fn check_login(&self) -> Result<()> {
        self.authenticate(false).await?;
        match self
            .client
            .list_tags(&self.repo_ref(), &self.auth, Some(1), None)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if crate::error::not_found(&e) => Ok(()),
            Err(e) => Err(self.err("login")(e)),
        }
    }

    async fn fetch_manifest(&self, tag_or_digest: &str) -> Result<(Vec<u8>, Digest)> {
        let name = format!("{}/{}:{tag_or_digest}", self.endpoint.host, self.repository);
        let (bytes, digest) = self
            .client
            .pull_manifest_raw(&self.reference(tag_or_digest), &self.auth, media::ACCEPTED)
            .await
            .map_err(|e| {
                if crate::error::not_found(&e) {
                    Error::ManifestUnknown {
                        reference: name.clone(),
                    }
                } else {
                    Error::registry(&self.endpoint.host, format!("manifest {name}"), e)
                }
            })?;
        let computed = sha256(&bytes);
        if digest != computed.as_str() {
            return Err(Error::DigestMismatch {
                what: format!("manifest {name}"),
                expected: digest.parse()?,
                actual: computed,
            });
        }
        Ok((bytes.to_vec(), computed))
    }

    /// The manifest or index served for `tag_or_digest`, byte for byte (digest checked),
    /// with its media type.
    pub async fn raw_manifest(&self, tag_or_digest: &str) -> Result<RawManifest> {
        let (bytes, digest) = self.fetch_manifest(tag_or_digest).await?;
        let name = format!("{}/{}", self.endpoint.host, self.repository);
        let media_type = match Manifest::parse(&name, &bytes)? {
            Manifest::Image { media_type, .. } | Manifest::Index { media_type, .. } => media_type,
        };
        Ok(RawManifest {
            bytes,
            digest,
            media_type,
        })
    }

    /// What `tag_or_digest` names, with its platforms: an index's from its entries (those
    /// without one left out), an image's from its config blob.
    pub async fn distribution(&self, tag_or_digest: &str) -> Result<Distribution> {
        let (bytes, digest) = self.fetch_manifest(tag_or_digest).await?;
        let name = format!("{}/{}", self.endpoint.host, self.repository);
        let (media_type, platforms) = match Manifest::parse(&name, &bytes)? {
            Manifest::Index {
                media_type,
                manifests,
            } => (
                media_type,
                manifests.into_iter().filter_map(|m| m.platform).collect(),
            ),
            Manifest::Image {
                media_type, config, ..
            } => {
                let config_bytes = self.blob_bytes(&config).await?;
                let platform = serde_json::from_slice::<Platform>(&config_bytes).map_err(|e| {
                    Error::BadManifest {
                        reference: format!("{name}@{}", config.digest),
                        reason: format!("image config without a platform: {e}"),
                    }
                })?;
                (media_type, vec![platform])
            }
        };
        Ok(Distribution {
            descriptor: Descriptor {
                media_type,
                digest,
                size: bytes.len() as u64,
                urls: None,
                platform: None,
            },
            platforms,
        })
    }

    /// Fetches the image manifest for `tag_or_digest`, choosing `platform` from an index.
    pub async fn resolve(
        &self,
        tag_or_digest: &str,
        platform: &Platform,
    ) -> Result<ResolvedManifest> {
        let name = format!("{}/{}", self.endpoint.host, self.repository);
        let (mut bytes, mut digest) = self.fetch_manifest(tag_or_digest).await?;
        let mut manifest = Manifest::parse(&name, &bytes)?;
        let mut index_digest = None;
        if let Some(entry) = manifest.select(&name, platform)? {
            let entry_digest = entry.digest.clone();
            index_digest = Some(digest);
            (bytes, digest) = self.fetch_manifest(entry_digest.as_str()).await?;
            if digest != entry_digest {
                return Err(Error::DigestMismatch {
                    what: format!("manifest {name}@{entry_digest}"),
                    expected: entry_digest,
                    actual: digest,
                });
            }
            manifest = Manifest::parse(&name, &bytes)?;
        }
        match manifest {
            Manifest::Image {
                media_type,
                config,
                layers,
            } => Ok(ResolvedManifest {
                bytes,
                digest,
                media_type,
                config,
                layers,
                index_digest,
            }),
            Manifest::Index { media_type, .. } => Err(Error::BadManifest {
                reference: name,
                reason: format!("an index ({media_type}) lists another index"),
            }),
        }
    }

    /// A small blob (an image config) in memory, its digest checked.
    pub async fn blob_bytes(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(desc.size as usize);
        self.client
            .pull_blob(&self.repo_ref(), desc.digest.as_str(), &mut out)
            .await
            .map_err(self.err(format!("blob {}", desc.digest)))?;
        Ok(out)
    }

    /// Streams blob `digest` from byte `offset` (`Range`), for a resumed download.
    pub async fn blob(&self, digest: &Digest, offset: u64) -> Result<BlobStream> {
        let response = self
            .client
            .pull_blob_stream_partial(&self.repo_ref(), digest.as_str(), offset, None)
            .await
            .map_err(self.err(format!("blob {digest}")))?;
        let (stream, resumed) = match response {
            BlobResponse::Full(s) => (s.stream, false),
            BlobResponse::Partial(s) => (s.stream, offset > 0),
        };
        Ok(BlobStream { stream, resumed })
    }

    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool> {
        self.client
            .blob_exists(&self.repo_ref(), digest.as_str())
            .await
            .map_err(self.err(format!("blob {digest}")))
    }

    /// Cross-repository mount of `digest` from `from_repository` on the same registry.
    pub async fn mount(&self, digest: &Digest, from_repository: &str) -> Result<()> {
        let source = Reference::with_tag(
            self.endpoint.host.clone(),
            from_repository.to_string(),
            "latest".into(),
        );
        self.client
            .mount_blob(&self.repo_ref(), &source, digest.as_str())
            .await
            .map_err(self.err(format!("mount {digest} from {from_repository}")))
    }

    /// Uploads a blob in one streamed request (monolithic PUT after POST).
    pub async fn push_blob<S>(&self, digest: &Digest, size: u64, data: S) -> Result<()>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + 'static,
    {
        self.client
            .push_blob_stream(
                &self.repo_ref(),
                data.map_err(oci_client::errors::OciDistributionError::IoError),
                digest.as_str(),
                Some(size),
            )
            .await
            .map(drop)
            .map_err(self.err(format!("upload {digest}")))
    }

    pub async fn push_manifest(
        &self,
        tag_or_digest: &str,
        bytes: Vec<u8>,
        media_type: &str,
    ) -> Result<()> {
        let content_type = media_type.parse().map_err(|_| Error::UnsupportedManifest {
            reference: self.repository.clone(),
            media_type: media_type.to_string(),
        })?;
        self.client
            .push_manifest_raw(&self.reference(tag_or_digest), bytes, content_type)
            .await
            .map(drop)
            .map_err(self.err(format!("manifest {}:{tag_or_digest}", self.repository)))
    }
}

fn sha256(bytes: &[u8]) -> Digest {
    Digest::sha256_from_bytes(&Sha256::digest(bytes).into())
}
