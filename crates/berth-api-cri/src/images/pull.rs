//! PullImage with the kubelet's registry credentials, through the engine's pull (mirrors,
//! insecure registries and certs.d as for `docker pull`).

use berth_engine::images::{Credentials, PullOptions, Reporter};
use tonic::{Request, Response, Status};

use super::{name_of, Images};
use crate::error::{self, RequestError};
use crate::proto::{AuthConfig, PullImageRequest, PullImageResponse};

pub(super) async fn pull_image(
    images: &Images,
    request: Request<PullImageRequest>,
) -> Result<Response<PullImageResponse>, Status> {
    let request = request.into_inner();
    // Only the default handler exists; the proto wants an unknown one rejected.
    let handler = request
        .image
        .as_ref()
        .map(|s| s.runtime_handler.clone())
        .unwrap_or_default();
    if !handler.is_empty() {
        return Err(RequestError::UnknownHandler(handler).into());
    }
    let name = name_of(request.image, "PullImage")?;
    let credentials = request
        .auth
        .map(credentials)
        .transpose()?
        .unwrap_or_default();
    let opts = PullOptions {
        platform: None,
        credentials,
    };
    let id = images
        .engine
        .pull_image(&name, opts, Reporter::none())
        .await
        .map_err(error::engine)?;
    // The image id: what Image.id says for the same image (the proto requires it).
    Ok(Response::new(PullImageResponse {
        image_ref: id.to_string(),
    }))
}

/// The CRI's AuthConfig is Docker's, field for field, except the identity token.
fn credentials(auth: AuthConfig) -> Result<Credentials, RequestError> {
    let usable =
        !auth.username.is_empty() || !auth.auth.is_empty() || !auth.registry_token.is_empty();
    // Anything else sent alongside is used; an identity token alone would pull anonymously
    // and fail later with a confusing 401.
    if !auth.identity_token.is_empty() && !usable {
        return Err(RequestError::IdentityToken);
    }
    Ok(Credentials {
        username: auth.username,
        password: auth.password,
        auth: auth.auth,
        server_address: auth.server_address,
        registry_token: auth.registry_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_fields_map_onto_credentials() {
        let c = credentials(AuthConfig {
            username: "u".into(),
            password: "p".into(),
            auth: "dTpw".into(),
            server_address: "reg.example:5000".into(),
            identity_token: String::new(),
            registry_token: "tok".into(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                c.username.as_str(),
                c.password.as_str(),
                c.auth.as_str(),
                c.server_address.as_str(),
                c.registry_token.as_str()
            ),
            ("u", "p", "dTpw", "reg.example:5000", "tok")
        );
    }

    #[test]
    fn an_identity_token_alone_is_refused() {
        let only_token = AuthConfig {
            identity_token: "refresh".into(),
            ..Default::default()
        };
        assert!(matches!(
            credentials(only_token),
            Err(RequestError::IdentityToken)
        ));
        let with_password = AuthConfig {
            username: "u".into(),
            password: "p".into(),
            identity_token: "refresh".into(),
            ..Default::default()
        };
        assert!(credentials(with_password).is_ok());
    }
}
