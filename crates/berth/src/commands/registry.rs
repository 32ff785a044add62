//! `pull`, `push`, `login`, `logout`: the daemon talks to the registry; this side finds the
//! stored credentials (sent as `X-Registry-Auth`), shows per-layer progress bars, and keeps
//! logins in config.json.

use std::io::Read;

use anyhow::{bail, Context, Result};
use bollard::auth::DockerCredentials;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;
use serde_json::json;

use crate::auth;
use crate::cli::{LoginArgs, LogoutArgs, ManifestInspectArgs, PullArgs, PushArgs};
use crate::client::Client;
use crate::progress::{JsonProgress, Message};

/// Renders a progress stream; the last status line is the result.
async fn show<S>(stream: S, quiet: bool) -> Result<()>
where
    S: futures_util::Stream<Item = Result<Message>>,
{
    let mut progress = JsonProgress::new(quiet);
    let mut stream = std::pin::pin!(stream);
    while let Some(m) = stream.next().await {
        if let Err(e) = progress.update(&m?) {
            progress.finish();
            bail!("{e}");
        }
    }
    progress.finish();
    Ok(())
}

pub async fn pull(c: &Client, a: PullArgs) -> Result<()> {
    let creds = auth::lookup(&auth::registry_of(&a.image));
    let opts = CreateImageOptions {
        from_image: Some(a.image.clone()),
        platform: a.platform.clone().unwrap_or_default(),
        ..Default::default()
    };
    let stream = c.api.create_image(Some(opts), None, creds);
    show(stream.map(|m| Ok(Message::from(m?))), a.quiet).await?;
    // Last, with or without -q: the fully qualified name, as docker prints it.
    println!("{}", full_reference(&a.image));
    Ok(())
}

/// `busybox` → `docker.io/library/busybox:latest`; the name as given if it does not parse (the
/// daemon has accepted it by now, so that is its business).
fn full_reference(image: &str) -> String {
    image
        .parse::<berth_types::Reference>()
        .map_or_else(|_| image.to_string(), |r| r.with_default_tag().to_string())
}

/// Read without bollard, whose push model drops the layer ids the bars are keyed by.
pub async fn push(c: &Client, a: PushArgs) -> Result<()> {
    let header = auth::lookup(&auth::registry_of(&a.image))
        .map(|creds| auth::header(&creds))
        .transpose()?;
    let (name, tag) = super::image::split_reference(&a.image);
    let query = tag.map(|t| format!("?tag={t}")).unwrap_or_default();
    let lines = c
        .request_lines(
            hyper::Method::POST,
            &format!("/images/{name}/push{query}"),
            &crate::client::registry_auth_header(header.as_deref()),
            crate::client::full_body(bytes::Bytes::new()),
        )
        .await?;
    let messages = lines.filter_map(|line| async move {
        match line {
            Ok(l) if l.trim_ascii().is_empty() => None,
            Ok(l) => Some(Message::from_json(&l).context("invalid progress from the daemon")),
            Err(e) => Some(Err(e)),
        }
    });
    show(messages, a.quiet).await
}

pub async fn login(c: &Client, a: LoginArgs) -> Result<()> {
    let registry = auth::normalize_server(a.server.as_deref());
    let password = match (a.password, a.password_stdin) {
        (Some(_), true) => bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => p,
        (None, true) => {
            let mut p = String::new();
            std::io::stdin()
                .read_to_string(&mut p)
                .context("read the password from stdin")?;
            p.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => bail!("a password is required (-p or --password-stdin)"),
    };
    let Some(username) = a.username else {
        bail!("a username is required (-u)");
    };
    let creds = DockerCredentials {
        username: Some(username.clone()),
        password: Some(password.clone()),
        serveraddress: Some(registry.clone()),
        ..Default::default()
    };
    c.request_json(
        hyper::Method::POST,
        "/auth",
        Some(json!({
            "username": creds.username, "password": creds.password,
            "serveraddress": creds.serveraddress,
        })),
    )
    .await?;
    let path = auth::store(&registry, &username, &password)?;
    eprintln!("Credentials saved in {}", path.display());
    println!("Login Succeeded");
    Ok(())
}

pub fn logout(a: LogoutArgs) -> Result<()> {
    let registry = auth::normalize_server(a.server.as_deref());
    if auth::erase(&registry)? {
        println!("Removing login credentials for {registry}");
    } else {
        println!("Not logged in to {registry}");
    }
    Ok(())
}

/// `berth manifest inspect`: the daemon fetches the manifest with the stored credentials; it
/// is printed indented, as `docker manifest inspect` does.
pub async fn manifest_inspect(c: &Client, a: ManifestInspectArgs) -> Result<()> {
    let header = auth::lookup(&auth::registry_of(&a.image))
        .map(|creds| auth::header(&creds))
        .transpose()?;
    let path = format!("/distribution/{}/manifest", a.image);
    let manifest = c
        .request_json_with(hyper::Method::GET, &path, None, header.as_deref())
        .await?;
    println!("{}", serde_json::to_string_pretty(&manifest)?);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
