//! Connecting to berthd and turning API errors into docker-style messages and exit codes.

use std::fmt;

use anyhow::{Context, Result};
use bollard::errors::Error as ApiError;
use bollard::{ClientVersion, Docker};

/// Where berthd listens unless `-H` or `BERTH_HOST` say otherwise.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";

/// The API version berthd serves; bollard's default is newer and berthd refuses newer clients.
pub const API_VERSION: ClientVersion = ClientVersion {
    major_version: 1,
    minor_version: 44,
};

/// No per-request timeout in practice: like the docker CLI, waiting on the daemon (a long
/// `load`, `wait`, `logs -f`) is the user's call. bollard times out only until headers arrive.
const REQUEST_TIMEOUT_SECS: u64 = 24 * 3600;

/// The API connection plus the address it came from (for error messages).
#[derive(Clone)]
pub struct Client {
    pub api: Docker,
    pub host: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Client({})", self.host)
    }
}

/// Resolves the daemon address: `-H/--host`, then `BERTH_HOST` (both via clap), then the default.
pub fn resolve_host(flag: Option<&str>) -> String {
    flag.filter(|h| !h.is_empty())
        .unwrap_or(DEFAULT_HOST)
        .to_string()
}

impl Client {
    pub fn connect(host: &str) -> Result<Self> {
        let path = host
            .strip_prefix("unix://")
            .with_context(|| format!("-H {host}: only unix:// sockets are supported"))?;
        let api = Docker::connect_with_socket(path, REQUEST_TIMEOUT_SECS, &API_VERSION)
            .with_context(|| format!("cannot connect to berthd at {host}"))?;
        Ok(Self {
            api,
            host: host.to_string(),
        })
    }

    pub fn socket_path(&self) -> &str {
        self.host.trim_start_matches("unix://")
    }
}

impl Client {
    /// `GET path` returning the daemon's JSON exactly as sent. Used where docker itself prints
    /// the raw object (`inspect`) or where bollard's typed model follows a newer API version
    /// than berthd serves (`system df`); everything else goes through bollard's typed calls.
    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.request_json(hyper::Method::GET, path, None).await
    }

    /// A JSON request by hand, for endpoints bollard lacks (`POST /auth`).
    pub async fn request_json(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value> {
        self.request_json_with(method, path, body, None).await
    }

    /// `request_json` with an `X-Registry-Auth` header.
    pub async fn request_json_with(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<serde_json::Value>,
        registry_auth: Option<&str>,
    ) -> Result<serde_json::Value> {
        use http_body_util::BodyExt;
        let body = body
            .map(|b| serde_json::to_vec(&b).unwrap_or_default())
            .unwrap_or_default();
        let body = self
            .send(
                method,
                path,
                &registry_auth_header(registry_auth),
                full_body(body),
            )
            .await?
            .collect()
            .await
            .context("read API response")?
            .to_bytes();
        serde_json::from_slice(&body).context("invalid JSON from the daemon")
    }

    /// A request answered with lines of JSON (a progress stream), read as they come: for
    /// streams whose bollard model lacks fields berthd sends (push progress has no `id` there)
    /// or requests bollard cannot make (a build's extension parameters). `headers` come on top
    /// of the JSON content type.
    pub async fn request_lines(
        &self,
        method: hyper::Method,
        path: &str,
        headers: &[(&'static str, String)],
        body: RequestBody,
    ) -> Result<impl futures_util::Stream<Item = Result<Vec<u8>>>> {
        use http_body_util::BodyExt;
        let body = self.send(method, path, headers, body).await?;
        Ok(futures_util::stream::unfold(
            (body, Vec::new(), false),
            |(mut body, mut buf, mut done)| async move {
                loop {
                    if let Some(end) = buf.iter().position(|&b| b == b'\n') {
                        let line: Vec<u8> = buf.drain(..=end).collect();
                        return Some((Ok(line), (body, buf, done)));
                    }
                    if done {
                        // The last line may lack its newline.
                        let rest = std::mem::take(&mut buf);
                        return (!rest.is_empty()).then_some((Ok(rest), (body, buf, true)));
                    }
                    match body.frame().await {
                        None => done = true,
                        Some(Ok(frame)) => {
                            if let Ok(data) = frame.into_data() {
                                buf.extend_from_slice(&data);
                            }
                        }
                        Some(Err(e)) => {
                            let e = anyhow::Error::new(e).context("read API response");
                            return Some((Err(e), (body, Vec::new(), true)));
                        }
                    }
                }
            },
        ))
    }

    /// Sends one request by hand and returns the body of a successful answer; any other
    /// answer is the daemon's error message.
    async fn send(
        &self,
        method: hyper::Method,
        path: &str,
        headers: &[(&'static str, String)],
        body: RequestBody,
    ) -> Result<hyper::body::Incoming> {
        use http_body_util::BodyExt;
        let stream = tokio::net::UnixStream::connect(self.socket_path())
            .await
            .map_err(|err| ApiError::IOError { err })?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .context("API handshake")?;
        tokio::spawn(conn);
        let v = API_VERSION;
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("/v{}.{}{path}", v.major_version, v.minor_version))
            .header(hyper::header::HOST, "berthd");
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let req = req.body(body).context("build request")?;
        let resp = sender.send_request(req).await.context("API request")?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp.into_body());
        }
        let body = resp
            .into_body()
            .collect()
            .await
            .context("read API response")?
            .to_bytes();
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
        Err(ApiError::DockerResponseServerError {
            status_code: status.as_u16(),
            message,
        }
        .into())
    }
}

/// The body of a hand-made request: bytes at hand, or a stream produced while it is sent.
pub type RequestBody = http_body_util::combinators::UnsyncBoxBody<bytes::Bytes, std::io::Error>;

pub fn full_body(bytes: impl Into<bytes::Bytes>) -> RequestBody {
    use http_body_util::BodyExt;
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The `X-Registry-Auth` header, when there are credentials to send.
pub fn registry_auth_header(auth: Option<&str>) -> Vec<(&'static str, String)> {
    auth.map(|a| ("X-Registry-Auth", a.to_string()))
        .into_iter()
        .collect()
}

/// A non-zero exit that has already been reported (or needs only `message`): the container's
/// exit status, a usage error, a partial failure of a multi-object command.
#[derive(Debug)]
pub struct Exit {
    pub code: i32,
    pub message: Option<String>,
}

impl Exit {
    pub fn code(code: i32) -> anyhow::Error {
        anyhow::Error::new(Self {
            code,
            message: None,
        })
    }

    pub fn with(code: i32, message: impl Into<String>) -> anyhow::Error {
        anyhow::Error::new(Self {
            code,
            message: Some(message.into()),
        })
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{m}"),
            None => write!(f, "exit status {}", self.code),
        }
    }
}

impl std::error::Error for Exit {}

/// The HTTP status of a daemon error, if `e` is one.
pub fn status_of(e: &anyhow::Error) -> Option<u16> {
    e.chain().find_map(|c| match c.downcast_ref::<ApiError>() {
        Some(ApiError::DockerResponseServerError { status_code, .. }) => Some(*status_code),
        _ => None,
    })
}

/// The daemon's own message, if `e` is a daemon error.
pub fn daemon_message(e: &anyhow::Error) -> Option<String> {
    e.chain().find_map(|c| match c.downcast_ref::<ApiError>() {
        Some(ApiError::DockerResponseServerError { message, .. }) => Some(message.clone()),
        _ => None,
    })
}

fn is_connect_error(e: &ApiError) -> bool {
    match e {
        ApiError::SocketNotFoundError(_) => true,
        ApiError::IOError { err } => matches!(
            err.kind(),
            std::io::ErrorKind::NotFound
                | std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::PermissionDenied
        ),
        ApiError::HyperLegacyError { err } => err.is_connect(),
        _ => false,
    }
}

/// The one-line message docker would print for `e`.
pub fn describe(e: &anyhow::Error) -> String {
    for cause in e.chain() {
        if let Some(api) = cause.downcast_ref::<ApiError>() {
            if let ApiError::DockerResponseServerError { message, .. } = api {
                return format!("Error response from daemon: {}", message.trim_end());
            }
            // A failure reported inside a progress stream (`load`, `pull`, `push`): docker
            // prints the daemon's message as it is.
            if let ApiError::DockerStreamError { error } = api {
                return error.trim_end().to_string();
            }
            if is_connect_error(api) {
                return format!(
                    "Cannot connect to the Berth daemon ({e}). Is berthd running? \
                     (set -H or BERTH_HOST to choose another daemon)"
                );
            }
        }
    }
    format!("Error: {e:#}")
}

/// docker's `run`/`start` mapping of a failed start to 125/126/127 (cli/command/container/run.go).
pub fn start_error_code(message: &str) -> i32 {
    if message.contains("executable file not found")
        || message.contains("no such file or directory")
        || message.contains("not found in $PATH")
    {
        127
    } else if message.contains("permission denied") || message.contains("is a directory") {
        126
    } else {
        125
    }
}

/// Wraps `e` so that it prints like `describe` and exits with `code`.
pub fn exit_with(e: anyhow::Error, code: i32) -> anyhow::Error {
    Exit::with(code, describe(&e))
}

#[cfg(test)]
mod tests;
