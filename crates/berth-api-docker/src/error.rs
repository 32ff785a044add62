//! Engine errors become Docker's error responses: `{"message": "..."}` with the status code
//! dockerd uses for that kind of failure.

use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use berth_types::ErrorKind;

/// A Docker-style error body with its status.
pub fn message(
    status: StatusCode,
    text: impl Into<String>,
) -> (StatusCode, Json<serde_json::Value>) {
    (status, Json(serde_json::json!({ "message": text.into() })))
}

pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What every handler returns on failure.
#[derive(Debug)]
pub enum ApiError {
    Engine(berth_engine::Error),
    /// The request itself is malformed (bad query parameter, bad JSON body).
    BadRequest(String),
}

impl From<berth_engine::Error> for ApiError {
    fn from(e: berth_engine::Error) -> Self {
        Self::Engine(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Engine(e) => {
                let status = status_of(e.kind());
                if status.is_server_error() {
                    tracing::error!(error = %e, "request failed");
                }
                message(status, e.to_string()).into_response()
            }
            Self::BadRequest(text) => message(StatusCode::BAD_REQUEST, text).into_response(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Endpoints Berth does not serve: a clear 501, never a silent success.
pub async fn not_implemented(method: Method, uri: Uri) -> Response {
    message(
        StatusCode::NOT_IMPLEMENTED,
        format!("berthd does not implement {method} {}", uri.path()),
    )
    .into_response()
}
